//===- FoldRepeatKv.cpp - grouped-query attention without copying K and V -===//
//
// Grouped-query attention graphs repeat each K/V head for `rep` query heads
// (ONNX: Unsqueeze, Expand, Reshape): a broadcast that copies the whole KV
// cache at every decode step. Instead, the query heads of one K/V head are
// stacked as rows:
//
//   C[b, h, s, n] = sum_k Y[b, h, s, k] X[b, h, k or n, ...],
//   X = collapse([b, kvh, rep, L, D] <- broadcast(E[b, kvh, 1, L, D]))
//
// becomes the same contraction over Y viewed as [b, kvh, rep * s, k] and E
// viewed as [b, kvh, L, D], its result viewed back as [b, h, s, n]: only
// reshapes of contiguous data, and a matmul with rep times the rows.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_FOLDREPEATKV
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// The source E [b, kvh, 1, L, D] of `value` if it is
/// collapse([[0], [1, 2], [3], [4]], broadcast of E along dim 2).
Value repeatedSource(Value value, int64_t &kvHeads, int64_t &rep) {
  auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getSrcType().getRank() != 5 ||
      collapse.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}})
    return {};
  auto broadcast = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!broadcast || broadcast.getNumDpsInputs() != 1 ||
      broadcast.getNumDpsInits() != 1 ||
      broadcast.getNumParallelLoops() != 5 || broadcast.getNumLoops() != 5)
    return {};
  auto yield = cast<linalg::YieldOp>(broadcast.getBody()->getTerminator());
  if (yield.getNumOperands() != 1 ||
      yield.getOperand(0) != broadcast.getBody()->getArgument(0))
    return {};
  MLIRContext *ctx = value.getContext();
  AffineExpr d0, d1, d2, d3, d4;
  bindDims(ctx, d0, d1, d2, d3, d4);
  auto zero = getAffineConstantExpr(0, ctx);
  SmallVector<AffineMap> maps = broadcast.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(5, 0, {d0, d1, zero, d3, d4}, ctx) ||
      !maps[1].isIdentity())
    return {};
  Value source = broadcast.getDpsInputOperand(0)->get();
  auto sourceType = cast<RankedTensorType>(source.getType());
  auto outType = cast<RankedTensorType>(broadcast.getResult(0).getType());
  if (sourceType.getDimSize(2) != 1 || outType.isDynamicDim(1) ||
      outType.isDynamicDim(2))
    return {};
  kvHeads = outType.getDimSize(1);
  rep = outType.getDimSize(2);
  return source;
}

/// `value` [b, kvh * rep, s, n] viewed as [b, kvh, rep * s, n].
Value stackHeads(OpBuilder &b, Location loc, Value value, int64_t kvHeads,
                 int64_t rep) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> split{sizes[0], b.getIndexAttr(kvHeads),
                                  b.getIndexAttr(rep), sizes[2], sizes[3]};
  SmallVector<int64_t> splitShape{type.getDimSize(0), kvHeads, rep,
                                  type.getDimSize(2), type.getDimSize(3)};
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(splitShape, type.getElementType()), value,
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}}, split);
  return tensor::CollapseShapeOp::create(
      b, loc, expanded,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
}

/// `value` [b, kvh, rep * s, n] viewed back as `type` [b, kvh * rep, s, n],
/// `rows` being s.
Value unstackHeads(OpBuilder &b, Location loc, Value value,
                   RankedTensorType type, OpFoldResult rows, int64_t kvHeads,
                   int64_t rep) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  SmallVector<OpFoldResult> split{sizes[0], sizes[1], b.getIndexAttr(rep),
                                  rows, sizes[3]};
  SmallVector<int64_t> splitShape{type.getDimSize(0), kvHeads, rep,
                                  type.getDimSize(2), type.getDimSize(3)};
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(splitShape, type.getElementType()), value,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}}, split);
  Value collapsed = tensor::CollapseShapeOp::create(
      b, loc, expanded,
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  if (collapsed.getType() != type)
    collapsed = tensor::CastOp::create(b, loc, type, collapsed);
  return collapsed;
}

struct FoldRepeatedOperand : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        !linalg::isaContractionOpInterface(op))
      return failure();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    for (unsigned xi = 0; xi < 2; ++xi) {
      int64_t kvHeads = 0, rep = 0;
      Value source = repeatedSource(op.getDpsInputOperand(xi)->get(), kvHeads,
                                    rep);
      if (!source)
        continue;
      unsigned yi = 1 - xi;
      AffineMap mx = maps[xi], my = maps[yi], mo = maps[2];
      if (mx.getNumResults() != 4 || my.getNumResults() != 4 ||
          mo.getNumResults() != 4 || !mx.isProjectedPermutation() ||
          !my.isProjectedPermutation() || !mo.isProjectedPermutation())
        continue;
      // Batch and head loops shared by all three; the other operand's and
      // the result's dim 2 is one loop the repeated operand does not use.
      unsigned batch = mx.getDimPosition(0), head = mx.getDimPosition(1),
               rows = my.getDimPosition(2);
      if (my.getDimPosition(0) != batch || mo.getDimPosition(0) != batch ||
          my.getDimPosition(1) != head || mo.getDimPosition(1) != head ||
          mo.getDimPosition(2) != rows ||
          mx.isFunctionOfDim(rows))
        continue;
      Location loc = op.getLoc();
      Value y = op.getDpsInputOperand(yi)->get(),
            init = op.getDpsInitOperand(0)->get();
      auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
      OpFoldResult rowCount = tensor::getMixedSize(rewriter, loc, y, 2);
      Value x = tensor::CollapseShapeOp::create(
          rewriter, loc, source,
          SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
      Value ys = stackHeads(rewriter, loc, y, kvHeads, rep);
      Value inits = stackHeads(rewriter, loc, init, kvHeads, rep);
      SmallVector<Value> inputs(2);
      inputs[xi] = x;
      inputs[yi] = ys;
      auto stacked = linalg::GenericOp::create(
          rewriter, loc, TypeRange{inits.getType()}, inputs, ValueRange{inits},
          maps, op.getIteratorTypesArray());
      rewriter.inlineRegionBefore(op.getRegion(), stacked.getRegion(),
                                  stacked.getRegion().begin());
      rewriter.replaceOp(op, unstackHeads(rewriter, loc, stacked.getResult(0),
                                          resultType, rowCount, kvHeads, rep));
      return success();
    }
    return failure();
  }
};

struct FoldRepeatKvPass
    : quantc::impl::FoldRepeatKvBase<FoldRepeatKvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldRepeatedOperand>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
