//===- QcToLinalg.cpp - float qc ops to upstream linalg -------------------===//

#include "quantc/Conversion/Passes.h"

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

namespace {

/// x[..., K] · W[K, N] + b as a 2-D linalg.matmul on the input flattened to
/// [M, K], M the product of the leading dimensions.
struct LinearToMatmul : OpRewritePattern<qc::LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto weightType = dyn_cast<RankedTensorType>(op.getWeight().getType());
    if (!weightType)
      return rewriter.notifyMatchFailure(op, "quantized weight");
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = op.getResult().getType();
    Type element = xType.getElementType();
    int64_t rank = xType.getRank(), n = weightType.getDimSize(1);

    // Flatten to [M, K]; a vector input becomes one row.
    Value rows = x;
    if (rank == 1) {
      rows = tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get({1, xType.getDimSize(0)}, element),
          x, ArrayRef<ReassociationIndices>{{0, 1}},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                                 rewriter.getIndexAttr(xType.getDimSize(0))});
    } else if (rank > 2) {
      ReassociationIndices lead;
      for (int64_t i = 0; i + 1 < rank; ++i)
        lead.push_back(i);
      rows = tensor::CollapseShapeOp::create(
          rewriter, loc, x,
          ArrayRef<ReassociationIndices>{lead, {rank - 1}});
    }
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, rows, 0);
    Value zero = arith::ConstantOp::create(rewriter, loc, element,
                                           rewriter.getZeroAttr(element));
    Value init = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{m, rewriter.getIndexAttr(n)},
        element);
    Value acc =
        linalg::FillOp::create(rewriter, loc, ValueRange{zero}, ValueRange{init})
            .getResult(0);
    Value y = linalg::MatmulOp::create(rewriter, loc, ValueRange{rows,
                                                                 op.getWeight()},
                                       ValueRange{acc})
                  .getResult(0);
    if (Value bias = op.getBias()) {
      MLIRContext *ctx = rewriter.getContext();
      AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
      AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
      y = linalg::GenericOp::create(
              rewriter, loc, y.getType(), ValueRange{y, bias}, ValueRange{init},
              ArrayRef<AffineMap>{id, col, id},
              ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                            utils::IteratorType::parallel},
              [](OpBuilder &b, Location l, ValueRange a) {
                linalg::YieldOp::create(
                    b, l, arith::AddFOp::create(b, l, a[0], a[1]).getResult());
              })
              .getResult(0);
    }

    // Back to the input's leading dimensions.
    Value result;
    if (rank == 2) {
      result = y;
    } else if (rank == 1) {
      result = tensor::CollapseShapeOp::create(
          rewriter, loc, y, ArrayRef<ReassociationIndices>{{0, 1}});
    } else {
      SmallVector<OpFoldResult> dims;
      for (int64_t i = 0; i + 1 < rank; ++i)
        dims.push_back(tensor::getMixedSize(rewriter, loc, x, i));
      dims.push_back(rewriter.getIndexAttr(n));
      ReassociationIndices lead;
      for (int64_t i = 0; i + 1 < rank; ++i)
        lead.push_back(i);
      SmallVector<int64_t> shape;
      for (OpFoldResult d : dims)
        shape.push_back(getConstantIntValue(d).value_or(ShapedType::kDynamic));
      result = tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get(shape, element), y,
          ArrayRef<ReassociationIndices>{lead, {rank - 1}}, dims);
    }
    if (result.getType() != resultType)
      result = tensor::CastOp::create(rewriter, loc, resultType, result);
    rewriter.replaceOp(op, result);
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
    patterns.add<LinearToMatmul, EraseObserve>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    // What is left of qc has no float lowering.
    WalkResult r = getOperation()->walk([](Operation *op) {
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
