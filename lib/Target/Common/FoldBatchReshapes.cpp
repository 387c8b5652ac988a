//===- FoldBatchReshapes.cpp - attention over unmerged batch dimensions ---===//
//
// Exporters merge attention's batch and heads ([b, h, t, d] -> [b*h, t, d])
// for a 3-D matmul. Merging a KV-cache view (strided: its length is the
// cache's capacity) would copy it at every step; the contraction instead
// runs over the unmerged dimensions and reads the view in place.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Common/Passes.h"

#include "quantc/Target/Common/BatchLoops.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_FOLDBATCHRESHAPES
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// Whether every dimension that `reassociation` merges is read by `map` as
/// a batch loop of the contraction `op`.
bool mergesOnlyBatches(linalg::GenericOp op, AffineMap map,
                       ArrayRef<ReassociationIndices> reassociation) {
  for (auto [i, group] : llvm::enumerate(reassociation))
    if (group.size() > 1) {
      auto dim = dyn_cast<AffineDimExpr>(map.getResult(i));
      if (!dim || !quantc::isBatchLoop(op, dim.getPosition()))
        return false;
    }
  return true;
}

/// A contraction whose batch dimension is a merge of several (attention's
/// batch x heads, reshaped by the exporter) runs over them unmerged
/// instead: upstream's fold of a collapse_shape operand or expand_shape
/// result into the loop nest. A KV-cache view is then read in place
/// through its strides rather than copied to be merged, and the microkernel
/// loops over the extra batch dimension. Rows and the reduction stay merged
/// (one long kernel call).
bool foldsIntoContraction(OpOperand *operand) {
  if (auto op = dyn_cast<linalg::GenericOp>(operand->getOwner())) {
    auto collapse = operand->get().getDefiningOp<tensor::CollapseShapeOp>();
    return collapse && linalg::isaContractionOpInterface(op) &&
           mergesOnlyBatches(op, op.getMatchingIndexingMap(operand),
                             collapse.getReassociationIndices());
  }
  auto expand = dyn_cast<tensor::ExpandShapeOp>(operand->getOwner());
  auto op = operand->get().getDefiningOp<linalg::GenericOp>();
  return expand && op && linalg::isaContractionOpInterface(op) &&
         mergesOnlyBatches(
             op,
             op.getIndexingMapMatchingResult(cast<OpResult>(operand->get())),
             expand.getReassociationIndices());
}

struct FoldBatchReshapesPass
    : quantc::impl::FoldBatchReshapesBase<FoldBatchReshapesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      foldsIntoContraction);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
