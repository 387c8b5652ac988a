//===- ActivationQuantization.cpp - qc activation (de)quantization to linalg
//===//
//
// The target-neutral lowering of activation quantization, exactly as the ops
// define it (round half to even, clamped to the code range):
// - qc.quantize_dynamic: one reduction over the dimensions a scale spans
//   (absmax, or min and max widened to hold 0), then an elementwise pass
//   writing the codes;
// - qc.dequantize_dynamic: (codes - zero points) * scales, broadcast along
//   the scales' dimensions of size 1;
// - qc.dequantize of a qc.quantize (static scales in the !quant.uniform
//   type, per tensor or per axis): one elementwise pass computing the
//   rounded value directly. A !quant.uniform tensor has no buffer form, so
//   a qc.quantize read by anything else is left for qc-to-linalg to reject;
// - qc.split_columns: a masked copy and a gather of the listed columns.
//
//===----------------------------------------------------------------------===//

#include "QcToLinalgPatterns.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace quantc;

namespace {

/// The map reading a tensor of `type` inside loops over `rank` dimensions:
/// dimensions of size 1 that the loops' `shape` does not have stay at 0.
AffineMap broadcastMap(RankedTensorType type, ArrayRef<int64_t> shape,
                       MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < type.getRank(); ++i)
    exprs.push_back(type.getDimSize(i) == 1 && shape[i] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(i, ctx));
  return AffineMap::get(type.getRank(), 0, exprs, ctx);
}

/// An empty tensor of `type` whose dynamic sizes come from `like` (same
/// rank; a dynamic dimension of `type` is one `like` has).
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                Value like) {
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::EmptyOp::create(b, loc, type, sizes);
}

Value floatConst(OpBuilder &b, Location loc, Type type, double v) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, v));
}

/// clamp(v, lo, hi) for floats.
Value clampF(OpBuilder &b, Location loc, Value v, double lo, double hi) {
  Type t = v.getType();
  v = arith::MaximumFOp::create(b, loc, v, floatConst(b, loc, t, lo));
  return arith::MinimumFOp::create(b, loc, v, floatConst(b, loc, t, hi));
}

/// x / s rounded half to even; 0 where s is 0 (an all-zero slice).
Value roundedRatio(OpBuilder &b, Location loc, Value x, Value s) {
  Type t = x.getType();
  Value zero = floatConst(b, loc, t, 0.0);
  Value q = math::RoundEvenOp::create(
      b, loc, arith::DivFOp::create(b, loc, x, s));
  Value isZero =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, s, zero);
  return arith::SelectOp::create(b, loc, isZero, zero, q);
}

struct LowerQuantizeDynamic : OpRewritePattern<qc::QuantizeDynamicOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::QuantizeDynamicOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto scalesType = cast<RankedTensorType>(op.getScales().getType());
    auto codesType = cast<RankedTensorType>(op.getCodes().getType());
    Type f = xType.getElementType();
    if (scalesType.getElementType() != f)
      return b.notifyMatchFailure(op, "scales of another float type");
    const int64_t rank = xType.getRank();
    const unsigned bits = codesType.getElementType().getIntOrFloatBitWidth();
    const bool affine = op.getAffine();

    // Per slice: absmax, or min and max (both start at 0: the range holds 0).
    SmallVector<utils::IteratorType> iterators;
    for (int64_t i = 0; i < rank; ++i)
      iterators.push_back(scalesType.getDimSize(i) == 1 &&
                                  xType.getDimSize(i) != 1
                              ? utils::IteratorType::reduction
                              : utils::IteratorType::parallel);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap toScale = broadcastMap(scalesType, xType.getShape(), ctx);
    // (One op built per statement: the order of function arguments'
    // evaluation, and so of the ops in the IR, differs between compilers.)
    Value zero = floatConst(b, loc, f, 0.0);
    Value empty = emptyLike(b, loc, scalesType, x);
    Value zeros =
        linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
            .getResult(0);
    SmallVector<Value> inits(affine ? 2 : 1, zeros);
    SmallVector<AffineMap> maps(1 + inits.size(), toScale);
    maps[0] = id;
    auto range = linalg::GenericOp::create(
        b, loc, TypeRange(SmallVector<Type>(inits.size(), scalesType)),
        ValueRange{x}, inits, maps, iterators,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          if (affine) {
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::MinimumFOp::create(nb, l, a[1], a[0]),
                           arith::MaximumFOp::create(nb, l, a[2], a[0])});
            return;
          }
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::MaximumFOp::create(
                  nb, l, a[1], math::AbsFOp::create(nb, l, a[0]))});
        });

    // Scales (and zero points) from the range.
    const double top = affine ? double((1u << bits) - 1)
                              : double((1u << (bits - 1)) - 1);
    Type zType = codesType.getElementType();
    SmallVector<Type> paramTypes = {scalesType};
    SmallVector<Value> paramInits = {emptyLike(b, loc, scalesType, x)};
    if (affine) {
      auto zerosType = cast<RankedTensorType>(op.getZeroPoints().getType());
      paramTypes.push_back(zerosType);
      paramInits.push_back(emptyLike(b, loc, zerosType, x));
    }
    AffineMap scaleId = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto params = linalg::GenericOp::create(
        b, loc, paramTypes, range.getResults(), paramInits,
        SmallVector<AffineMap>(range.getNumResults() + paramInits.size(),
                               scaleId),
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          if (!affine) {
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::DivFOp::create(
                    nb, l, a[0], floatConst(nb, l, f, top))});
            return;
          }
          Value width = arith::SubFOp::create(nb, l, a[1], a[0]);
          Value s =
              arith::DivFOp::create(nb, l, width, floatConst(nb, l, f, top));
          Value z = clampF(nb, l,
                           roundedRatio(nb, l,
                                        arith::NegFOp::create(nb, l, a[0]), s),
                           0.0, top);
          linalg::YieldOp::create(
              nb, l, ValueRange{s, arith::FPToUIOp::create(nb, l, zType, z)});
        });
    Value scales = params.getResult(0);
    Value zeroPoints = affine ? params.getResult(1) : Value();

    // The codes.
    SmallVector<Value> ins = {x, scales};
    SmallVector<AffineMap> codeMaps = {id, toScale};
    if (affine) {
      ins.push_back(zeroPoints);
      codeMaps.push_back(toScale);
    }
    codeMaps.push_back(id);
    Value codes =
        linalg::GenericOp::create(
            b, loc, codesType, ins,
            ValueRange{emptyLike(b, loc, codesType, x)}, codeMaps,
            SmallVector<utils::IteratorType>(rank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value q = roundedRatio(nb, l, a[0], a[1]);
              if (!affine) {
                q = clampF(nb, l, q, -top, top);
                linalg::YieldOp::create(
                    nb, l, ValueRange{arith::FPToSIOp::create(nb, l, zType, q)});
                return;
              }
              q = arith::AddFOp::create(nb, l, q,
                                        arith::UIToFPOp::create(nb, l, f, a[2]));
              q = clampF(nb, l, q, 0.0, top);
              linalg::YieldOp::create(
                  nb, l, ValueRange{arith::FPToUIOp::create(nb, l, zType, q)});
            })
            .getResult(0);
    SmallVector<Value> results = {codes, scales};
    if (affine)
      results.push_back(zeroPoints);
    b.replaceOp(op, results);
    return success();
  }
};

struct LowerDequantizeDynamic : OpRewritePattern<qc::DequantizeDynamicOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::DequantizeDynamicOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto codesType = cast<RankedTensorType>(op.getCodes().getType());
    auto scalesType = cast<RankedTensorType>(op.getScales().getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Type f = resultType.getElementType();
    if (scalesType.getElementType() != f)
      return b.notifyMatchFailure(op, "scales of another float type");
    const int64_t rank = codesType.getRank();
    const bool affine = bool(op.getZeroPoints());
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap toScale = broadcastMap(scalesType, codesType.getShape(), ctx);
    SmallVector<Value> ins = {op.getCodes(), op.getScales()};
    SmallVector<AffineMap> maps = {id, toScale};
    if (affine) {
      ins.push_back(op.getZeroPoints());
      maps.push_back(toScale);
    }
    maps.push_back(id);
    Value x =
        linalg::GenericOp::create(
            b, loc, resultType, ins,
            ValueRange{emptyLike(b, loc, resultType, op.getCodes())}, maps,
            SmallVector<utils::IteratorType>(rank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value c = affine ? Value(arith::UIToFPOp::create(nb, l, f, a[0]))
                               : Value(arith::SIToFPOp::create(nb, l, f, a[0]));
              if (affine)
                c = arith::SubFOp::create(
                    nb, l, c, arith::UIToFPOp::create(nb, l, f, a[2]));
              linalg::YieldOp::create(
                  nb, l, ValueRange{arith::MulFOp::create(nb, l, c, a[1])});
            })
            .getResult(0);
    b.replaceOp(op, x);
    return success();
  }
};

/// qc.dequantize(qc.quantize(x)): (clamp(round(x / s) + z) - z) * s, with s
/// and z per tensor or along the type's axis.
struct LowerQuantizeDequantize : OpRewritePattern<qc::DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::DequantizeOp op,
                                PatternRewriter &b) const override {
    auto quantize = op.getInput().getDefiningOp<qc::QuantizeOp>();
    if (!quantize)
      return b.notifyMatchFailure(op, "not reading a qc.quantize");
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = quantize.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Type f = xType.getElementType();
    if (resultType.getElementType() != f)
      return b.notifyMatchFailure(op, "another float type out than in");
    auto q = cast<quant::QuantizedType>(
        cast<RankedTensorType>(op.getInput().getType()).getElementType());
    const double lo = double(q.getStorageTypeMin()),
                 hi = double(q.getStorageTypeMax());
    const int64_t rank = xType.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<Value> ins = {x};
    SmallVector<AffineMap> maps = {id};
    std::optional<std::pair<double, double>> single; // (scale, zero point)
    if (auto t = dyn_cast<quant::UniformQuantizedType>(q)) {
      single = {t.getScale(), double(t.getZeroPoint())};
    } else if (auto t = dyn_cast<quant::UniformQuantizedPerAxisType>(q)) {
      // Scales and zero points along the axis, as constant vectors.
      SmallVector<float> s(t.getScales().begin(), t.getScales().end()),
          z(t.getZeroPoints().begin(), t.getZeroPoints().end());
      auto vec = RankedTensorType::get({int64_t(s.size())}, b.getF32Type());
      ins.push_back(arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vec, ArrayRef<float>(s))));
      ins.push_back(arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vec, ArrayRef<float>(z))));
      AffineMap axis = AffineMap::get(
          rank, 0, getAffineDimExpr(t.getQuantizedDimension(), ctx));
      maps.push_back(axis);
      maps.push_back(axis);
    } else {
      return b.notifyMatchFailure(op, "not a uniform quantized type");
    }
    maps.push_back(id);
    Value y =
        linalg::GenericOp::create(
            b, loc, resultType, ins,
            ValueRange{emptyLike(b, loc, resultType, x)}, maps,
            SmallVector<utils::IteratorType>(rank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value s, z;
              if (single) {
                s = floatConst(nb, l, f, single->first);
                z = floatConst(nb, l, f, single->second);
              } else {
                s = a[1], z = a[2];
                if (f != nb.getF32Type()) {
                  s = arith::TruncFOp::create(nb, l, f, s);
                  z = arith::TruncFOp::create(nb, l, f, z);
                }
              }
              Value v = arith::AddFOp::create(
                  nb, l, roundedRatio(nb, l, a[0], s), z);
              v = arith::SubFOp::create(nb, l, clampF(nb, l, v, lo, hi), z);
              linalg::YieldOp::create(
                  nb, l, ValueRange{arith::MulFOp::create(nb, l, v, s)});
            })
            .getResult(0);
    b.replaceOp(op, y); // qc-to-linalg erases the qc.quantize left unread
    return success();
  }
};

/// qc.split_columns: `rest` selects 0 where a constant mask over the last
/// dimension marks a column; `outliers` gathers the columns through a
/// constant index table.
struct LowerSplitColumns : OpRewritePattern<qc::SplitColumnsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::SplitColumnsOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    const int64_t rank = xType.getRank(), k = xType.getShape().back();
    ArrayRef<int64_t> columns = op.getColumns();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap last = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx));
    auto parallel =
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);

    SmallVector<bool> marked(k, false);
    for (int64_t c : columns)
      marked[c] = true;
    Value mask = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({k}, b.getI1Type()),
                               ArrayRef<bool>(marked)));
    Type f = xType.getElementType();
    Value rest =
        linalg::GenericOp::create(
            b, loc, xType, ValueRange{x, mask},
            ValueRange{emptyLike(b, loc, xType, x)},
            SmallVector<AffineMap>{id, last, id}, parallel,
            [&](OpBuilder &nb, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  nb, l,
                  ValueRange{arith::SelectOp::create(
                      nb, l, a[1], floatConst(nb, l, f, 0.0), a[0])});
            })
            .getResult(0);

    auto outType = cast<RankedTensorType>(op.getOutliers().getType());
    Value table = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            RankedTensorType::get({int64_t(columns.size())}, b.getIndexType()),
            ArrayRef<int64_t>(columns)));
    Value outliers =
        linalg::GenericOp::create(
            b, loc, outType, ValueRange{table},
            ValueRange{emptyLike(b, loc, outType, x)},
            SmallVector<AffineMap>{last, id}, parallel,
            [&](OpBuilder &nb, Location l, ValueRange a) {
              SmallVector<Value> at;
              for (int64_t i = 0; i + 1 < rank; ++i)
                at.push_back(linalg::IndexOp::create(nb, l, i));
              at.push_back(a[0]);
              linalg::YieldOp::create(
                  nb, l, ValueRange{tensor::ExtractOp::create(nb, l, x, at)});
            })
            .getResult(0);
    b.replaceOp(op, ValueRange{rest, outliers});
    return success();
  }
};

} // namespace

void quantc::populateActivationQuantizationPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerQuantizeDynamic, LowerDequantizeDynamic,
               LowerQuantizeDequantize, LowerSplitColumns>(patterns.getContext());
}
