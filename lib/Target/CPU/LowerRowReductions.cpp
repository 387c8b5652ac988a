//===- LowerRowReductions.cpp - reductions that keep their accumulator ----===//

#include "quantc/Target/CPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace quantc {
#define GEN_PASS_DEF_LOWERROWREDUCTIONS
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// A generic over buffers whose only reduction is its innermost loop, with
/// one output that does not depend on it.
bool isRowReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1)
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators.back() != utils::IteratorType::reduction)
    return false;
  AffineMap out = op.getIndexingMapsArray().back();
  return out.isProjectedPermutation() &&
         !out.isFunctionOfDim(op.getNumLoops() - 1);
}

/// Indices of `map` at loop indices `ivs`.
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map,
                             ValueRange ivs) {
  SmallVector<Value> indices;
  for (AffineExpr e : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      indices.push_back(ivs[dim.getPosition()]);
      continue;
    }
    indices.push_back(affine::AffineApplyOp::create(
        b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
  }
  return indices;
}

void lower(IRRewriter &rewriter, linalg::GenericOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Value output = op.getDpsInits()[0];
  auto value = [&](OpFoldResult f) {
    return getValueOrCreateConstantIndexOp(rewriter, loc, f);
  };
  // Parallel loops outside, then the reduction carrying the accumulator.
  SmallVector<Value> ivs;
  OpBuilder::InsertionGuard guard(rewriter);
  for (size_t d = 0; d + 1 < ranges.size(); ++d) {
    auto loop = scf::ForOp::create(rewriter, loc, value(ranges[d].offset),
                                   value(ranges[d].size),
                                   value(ranges[d].stride));
    ivs.push_back(loop.getInductionVar());
    rewriter.setInsertionPointToStart(loop.getBody());
  }
  // The output does not depend on the reduction loop: any index does.
  SmallVector<Value> outerIvs = ivs;
  outerIvs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
  SmallVector<Value> outIndices =
      indicesAt(rewriter, loc, maps.back(), outerIvs);
  Value init = memref::LoadOp::create(rewriter, loc, output, outIndices);
  const Range &r = ranges.back();
  auto inner = scf::ForOp::create(
      rewriter, loc, value(r.offset), value(r.size), value(r.stride),
      ValueRange{init},
      [&](OpBuilder &b, Location at, Value iv, ValueRange acc) {
        SmallVector<Value> all = ivs;
        all.push_back(iv);
        IRMapping mapping;
        Block &body = op.getRegion().front();
        for (OpOperand *in : op.getDpsInputOperands()) {
          Value v = memref::LoadOp::create(
              b, at, in->get(),
              indicesAt(b, at, op.getMatchingIndexingMap(in), all));
          mapping.map(body.getArgument(in->getOperandNumber()), v);
        }
        mapping.map(body.getArguments().back(), acc.front());
        for (Operation &inst : body.without_terminator()) {
          if (auto index = dyn_cast<linalg::IndexOp>(inst)) {
            mapping.map(index.getResult(), all[index.getDim()]);
            continue;
          }
          Operation *copy = b.clone(inst, mapping);
          // The combiner may reassociate (a vectorized sum).
          if (isa<arith::AddFOp, arith::MulFOp>(copy) &&
              llvm::is_contained(copy->getOperands(),
                                 mapping.lookup(body.getArguments().back())))
            copy->setAttr(cast<arith::ArithFastMathInterface>(copy)
                              .getFastMathAttrName(),
                          arith::FastMathFlagsAttr::get(
                              b.getContext(), arith::FastMathFlags::reassoc));
        }
        auto yield = cast<linalg::YieldOp>(body.getTerminator());
        scf::YieldOp::create(b, at, mapping.lookup(yield.getOperand(0)));
      });
  memref::StoreOp::create(rewriter, loc, inner.getResult(0), output,
                          outIndices);
}

struct LowerRowReductionsPass
    : quantc::impl::LowerRowReductionsBase<LowerRowReductionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isRowReduction(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      lower(rewriter, op);
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
