//===- FuseElementwise.cpp - one loop nest per chain of elementwise ops ---===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

bool isContraction(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalg::isaContractionOpInterface(linalgOp);
}

/// No division or transcendental function in its body: recomputing it per
/// reader costs less than storing it once and reading it back.
bool cheapToRecompute(Operation *producer) {
  bool cheap = true;
  producer->walk([&](Operation *op) {
    cheap &= !isa<arith::DivFOp, arith::RemFOp>(op) &&
             op->getDialect()->getNamespace() != "math";
  });
  return cheap;
}

/// Fuses an elementwise producer into a consumer generic (also a
/// reduction: softmax's max and sum read the scaled scores, computed on the
/// fly) when every reader of the producer is such a generic, so the
/// producer is never written to memory; each reader recomputes it, which
/// costs less than a pass over memory. Matmuls keep their operands (the
/// microkernel must still recognise them). Upstream's fusion, without its
/// other rewrites such as folding splat constants into bodies.
struct FuseIntoConsumer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    if (isContraction(consumer))
      return failure();
    for (OpOperand &operand : consumer->getOpOperands()) {
      Operation *producer = operand.get().getDefiningOp();
      if (!producer || !linalg::areElementwiseOpsFusable(&operand) ||
          (!producer->hasOneUse() && !cheapToRecompute(producer)) ||
          llvm::range_size(producer->getUsers()) > kMaxReaders ||
          llvm::any_of(producer->getUsers(), [](Operation *user) {
            return !isa<linalg::GenericOp>(user) || isContraction(user);
          }))
        continue;
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        continue;
      // Only the consumer's results move; the producer's other readers keep
      // it until they fuse it too (then it is dead and goes).
      for (OpResult result : consumer->getResults())
        rewriter.replaceAllUsesWith(result,
                                    fused->replacements.lookup(result));
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
  /// A value read by more ops than this is stored once rather than
  /// recomputed by each.
  static constexpr size_t kMaxReaders = 3;
};

/// A generic reading a `linalg.transpose` (its only reader) reads the
/// transpose's input through a permuted indexing map instead: no copy. For
/// attention's K^T the matmul then sees B = K, which the microkernel takes
/// transposed.
struct FoldTransposeIntoGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    for (OpOperand *operand : op.getDpsInputOperands()) {
      auto transpose = operand->get().getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose->hasOneUse())
        continue;
      // result[i] = input[permutation[i]]: input dimension permutation[i]
      // is indexed by what indexed result dimension i.
      AffineMap map = op.getMatchingIndexingMap(operand);
      ArrayRef<int64_t> permutation = transpose.getPermutation();
      SmallVector<AffineExpr> exprs(map.getNumResults());
      for (auto [i, p] : llvm::enumerate(permutation))
        exprs[p] = map.getResult(i);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      maps[operand->getOperandNumber()] =
          AffineMap::get(map.getNumDims(), 0, exprs, op.getContext());
      rewriter.modifyOpInPlace(op, [&] {
        operand->set(transpose.getInput());
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      return success();
    }
    return failure();
  }
};

struct FuseElementwisePass
    : quantc::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseIntoConsumer, FoldTransposeIntoGeneric>(&getContext());
    // Fusion keeps a producer's result as an extra output while it has
    // other readers; once they fused it too, that output is dead: drop it.
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
