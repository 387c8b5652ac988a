//===- QcToLinalg.cpp - float qc ops to upstream linalg -------------------===//

#include "quantc/Conversion/Passes.h"
#include "quantc/Conversion/QcToLinalg.h"
#include "QcToLinalgPatterns.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_QCTOLINALG
#include "quantc/Conversion/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

Value quantc::buildColumnwise(
    OpBuilder &b, Location loc, Value y, Value column, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto type = cast<RankedTensorType>(y.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap last =
      AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{y, column}, ValueRange{init},
             ArrayRef<AffineMap>{id, last, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, combine(nb, l, a[0], a[1]));
             })
      .getResult(0);
}

Value quantc::buildBiasAdd(OpBuilder &b, Location loc, Value y, Value bias,
                           Value init) {
  return buildColumnwise(
      b, loc, y, bias, init, [](OpBuilder &nb, Location l, Value v, Value c) {
        return arith::AddFOp::create(nb, l, v, c).getResult();
      });
}

Value quantc::buildLinearContraction(OpBuilder &b, Location loc, Value x,
                                    int64_t n, Value weight,
                                    const WeightAt &weightAt) {
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  Type element = xType.getElementType();
  int64_t lead = xType.getRank() - 1; // loops: lead..., n, k
  int64_t loops = lead + 2;

  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < lead; ++i)
    dims.push_back(tensor::getMixedSize(b, loc, x, i));
  dims.push_back(b.getIndexAttr(n));
  Value zero =
      arith::ConstantOp::create(b, loc, element, b.getZeroAttr(element));
  Value init = tensor::EmptyOp::create(b, loc, dims, element);
  Value acc = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
                  .getResult(0);

  SmallVector<AffineExpr> xExprs, outExprs;
  for (int64_t i = 0; i < lead; ++i) {
    xExprs.push_back(getAffineDimExpr(i, ctx));
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  AffineExpr nDim = getAffineDimExpr(lead, ctx),
             kDim = getAffineDimExpr(lead + 1, ctx);
  xExprs.push_back(kDim);
  outExprs.push_back(nDim);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xExprs, ctx)};
  if (weight) {
    inputs.push_back(weight);
    maps.push_back(AffineMap::get(loops, 0, {kDim, nDim}, ctx));
  }
  maps.push_back(AffineMap::get(loops, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, acc.getType(), inputs, ValueRange{acc}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value w = weight ? a[1]
                                : weightAt(nb, l,
                                           linalg::IndexOp::create(nb, l, lead + 1),
                                           linalg::IndexOp::create(nb, l, lead));
               Value p = arith::MulFOp::create(nb, l, a[0], w);
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a.back(), p).getResult());
             })
      .getResult(0);
}

Value quantc::finishLinear(OpBuilder &b, Location loc, qc::LinearOp op,
                           Value y) {
  if (Value bias = op.getBias())
    y = buildBiasAdd(b, loc, y, bias, /*init=*/y);
  Type resultType = op.getResult().getType();
  if (y.getType() != resultType)
    y = tensor::CastOp::create(b, loc, resultType, y);
  return y;
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
    Value y = buildLinearContraction(rewriter, op.getLoc(), op.getInput(),
                                     op.getOutputDim(), op.getWeight(), {});
    rewriter.replaceOp(op, finishLinear(rewriter, op.getLoc(), op, y));
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
    populateQuantizedLinearPatterns(patterns);
    populateActivationQuantizationPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    // Static quantizations whose dequantizations were lowered.
    getOperation()->walk([](qc::QuantizeOp op) {
      if (op->use_empty())
        op.erase();
    });
    // What is left of qc has no float lowering (kernel calls a target put
    // in are already lowered: they bufferize and become calls).
    WalkResult r = getOperation()->walk([](Operation *op) {
      if (isa<qc::QuantizeOp>(op)) {
        op->emitError() << "'qc.quantize' lowers only where qc.dequantize "
                           "reads it (a !quant.uniform tensor has no buffer "
                           "form)";
        return WalkResult::interrupt();
      }
      if (isa<qc::QCDialect>(op->getDialect()) && !isa<qc::UKernelOp>(op)) {
        op->emitError() << "'" << op->getName()
                        << "' has no lowering to linalg yet";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
