//===- QcToLinalg.cpp - float qc ops to upstream linalg -------------------===//

#include "quantc/Conversion/Passes.h"
#include "quantc/Conversion/QcToLinalg.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_QCTOLINALG
#include "quantc/Conversion/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

Value quantc::buildBiasAdd(OpBuilder &b, Location loc, Value y, Value bias,
                           Value init) {
  auto type = cast<RankedTensorType>(y.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap column =
      AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{y, bias}, ValueRange{init},
             ArrayRef<AffineMap>{id, column, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a[0], a[1]).getResult());
             })
      .getResult(0);
}

namespace {

/// x[..., K] · W[K, N] + b as one linalg contraction over the leading
/// dimensions, n and k. (Flattening the leading dimensions into a 2-D
/// matmul would leave expand_shapes with several dynamic sizes in a group,
/// which upstream's strided-metadata expansion cannot lower.)
struct LinearToContraction : OpRewritePattern<qc::LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::LinearOp op,
                                PatternRewriter &rewriter) const override {
    if (!isa<RankedTensorType>(op.getWeight().getType()))
      return rewriter.notifyMatchFailure(op, "quantized weight");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = op.getResult().getType();
    Type element = xType.getElementType();
    int64_t lead = xType.getRank() - 1; // loops: lead..., n, k
    int64_t loops = lead + 2;

    SmallVector<OpFoldResult> dims;
    for (int64_t i = 0; i < lead; ++i)
      dims.push_back(tensor::getMixedSize(rewriter, loc, x, i));
    dims.push_back(rewriter.getIndexAttr(resultType.getShape().back()));
    Value zero = arith::ConstantOp::create(rewriter, loc, element,
                                           rewriter.getZeroAttr(element));
    Value init = tensor::EmptyOp::create(rewriter, loc, dims, element);
    Value acc =
        linalg::FillOp::create(rewriter, loc, ValueRange{zero}, ValueRange{init})
            .getResult(0);

    SmallVector<AffineExpr> xExprs, outExprs;
    for (int64_t i = 0; i < lead; ++i) {
      xExprs.push_back(getAffineDimExpr(i, ctx));
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
    AffineExpr n = getAffineDimExpr(lead, ctx), k = getAffineDimExpr(lead + 1, ctx);
    xExprs.push_back(k);
    outExprs.push_back(n);
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xExprs, ctx),
                                   AffineMap::get(loops, 0, {k, n}, ctx),
                                   AffineMap::get(loops, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(loops,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    Value y = linalg::GenericOp::create(
                  rewriter, loc, acc.getType(), ValueRange{x, op.getWeight()},
                  ValueRange{acc}, maps, iterators,
                  [](OpBuilder &b, Location l, ValueRange a) {
                    Value p = arith::MulFOp::create(b, l, a[0], a[1]);
                    linalg::YieldOp::create(
                        b, l, arith::AddFOp::create(b, l, a[2], p).getResult());
                  })
                  .getResult(0);
    if (Value bias = op.getBias())
      y = buildBiasAdd(rewriter, loc, y, bias, init);
    if (y.getType() != resultType)
      y = tensor::CastOp::create(rewriter, loc, resultType, y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct EraseObserve : OpRewritePattern<qc::ObserveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(qc::ObserveOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};

struct QcToLinalgPass : quantc::impl::QcToLinalgBase<QcToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LinearToContraction, EraseObserve>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    // What is left of qc has no float lowering.
    WalkResult r = getOperation()->walk([](Operation *op) {
      // A quantized constant is reported through the linear layer using it.
      if (isa<qc::QConstantOp>(op))
        return WalkResult::advance();
      if (isa<qc::QCDialect>(op->getDialect())) {
        op->emitError() << "'" << op->getName()
                        << "' has no CPU lowering yet (quantized weights and "
                           "activations arrive with the quantization passes)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
