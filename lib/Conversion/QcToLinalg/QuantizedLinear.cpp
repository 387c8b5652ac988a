//===- QuantizedLinear.cpp - quantized qc.linear from its packed codes ----===//
//
// The target-neutral lowering of a `qc.linear` whose weight is a
// `qc.qconstant`, for every `#qc.format`: one linalg contraction whose body
// reads the packed codes, scales, zero points and double-quantized scales of
// element (k, n) and decodes them in registers, as the reference numerics
// (lib/Numerics/Matrix.cpp, dequantizeMatrix) define it. No dequantized copy
// of the weight exists, in memory or in the artifact. Sparse outliers (CSR
// over channels) replace the dense element at their position: a second,
// elementwise pass over the result adds x[col] * (outlier - dense) for each.
//
//===----------------------------------------------------------------------===//

#include "QcToLinalgPatterns.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Numerics/Scalar.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace quantc;

namespace {

/// The stored pieces of a quantized weight as tensor constants, and the ops
/// that decode one element of it.
class PackedWeight {
public:
  PackedWeight(OpBuilder &b, Location loc, qc::QConstantOp op) {
    auto type = cast<qc::QWeightType>(op.getType());
    f = qc::toNumericsFormat(type.getFormat());
    k = type.getInputDim();
    layout = type.getLayout();
    groups = f.groupsPerChannel(k);
    // Each piece is recorded so the artifact's weights table can name it.
    Operation *module = op->getParentOfType<ModuleOp>();
    auto constant = [&](Attribute value, StringRef part) -> Value {
      if (module)
        recordPackedPiece(module, value, type, part);
      return arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
    };
    codes = constant(op.getCodes(), "codes");
    scales = constant(op.getScales(), "scales");
    if (auto params = op.getScaleParams())
      scaleParams = constant(*params, "scale_params");
    if (auto zeros = op.getZeroPoints())
      zeroPoints = constant(*zeros, "zero_points");
    if (f.outliers) {
      outlierOffsets = constant(*op.getOutlierOffsets(), "outlier_offsets");
      outlierColumns = constant(*op.getOutlierColumns(), "outlier_columns");
      outlierValues = constant(*op.getOutlierValues(), "outlier_values");
    }
    if (f.code != numerics::ElementCode::Int) {
      // Non-integer codes index the table of the values they stand for.
      SmallVector<float> values;
      for (unsigned c = 0; c < (1u << f.bits); ++c)
        values.push_back(numerics::decodeFloatCode(f.code, c));
      auto tableType =
          RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
      table = constant(DenseElementsAttr::get(tableType, ArrayRef<float>(values)),
                       "table");
    }
  }

  bool hasOutliers() const { return f.outliers; }

  /// Weight element (k, n) as f32 (`kIdx`, `nIdx`: index values).
  Value at(OpBuilder &b, Location loc, Value kIdx, Value nIdx) const {
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    auto int32 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, v, 32).getResult();
    };
    auto byteAt = [&](Value tensor, ValueRange indices) -> Value {
      Value byte = tensor::ExtractOp::create(b, loc, tensor, indices);
      return arith::ExtUIOp::create(b, loc, i32, byte);
    };
    // Byte `i` of channel n's channel-major row, wherever the layout put it:
    // tiles hold TK * B / 8 bytes of TN channels' rows each.
    auto codeByte = [&](Value i) -> Value {
      if (layout.isChannelMajor())
        return byteAt(codes, {nIdx, i});
      Value tn = index(layout.getTileN());
      Value rowBytes = index(layout.getTileK() * f.bits / 8);
      Value within = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc,
                                arith::RemUIOp::create(b, loc, nIdx, tn),
                                rowBytes),
          arith::RemUIOp::create(b, loc, i, rowBytes));
      return byteAt(codes, {arith::DivUIOp::create(b, loc, nIdx, tn),
                            arith::DivUIOp::create(b, loc, i, rowBytes),
                            within});
    };

    // The code: bits [k*B, (k+1)*B) of channel n's packed row.
    Value code;
    if (f.bits == 8) {
      code = codeByte(kIdx);
    } else if (8 % f.bits == 0) {
      int64_t perByte = 8 / f.bits;
      Value byte =
          codeByte(arith::DivUIOp::create(b, loc, kIdx, index(perByte)));
      Value shift = arith::MulIOp::create(
          b, loc,
          arith::IndexCastUIOp::create(
              b, loc, i32,
              arith::RemUIOp::create(b, loc, kIdx, index(perByte))),
          int32(f.bits));
      code = arith::ShRUIOp::create(b, loc, byte, shift);
    } else {
      // A code may straddle two bytes: read both (the second clamped to the
      // row: where it is past the end, the code lies in the first).
      Value bit = arith::MulIOp::create(b, loc, kIdx, index(f.bits));
      Value first = arith::DivUIOp::create(b, loc, bit, index(8));
      Value second = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, first, index(1)),
          index(f.rowBytes(k) - 1));
      Value word = arith::OrIOp::create(
          b, loc, codeByte(first),
          arith::ShLIOp::create(b, loc, codeByte(second), int32(8)));
      Value shift = arith::IndexCastUIOp::create(
          b, loc, i32, arith::RemUIOp::create(b, loc, bit, index(8)));
      code = arith::ShRUIOp::create(b, loc, word, shift);
    }
    code = arith::AndIOp::create(b, loc, code, int32((1 << f.bits) - 1));

    // Which scale (and zero point) applies: channel c, group g.
    Value c = f.granularity == numerics::Granularity::PerTensor ? index(0)
                                                                : nIdx;
    Value g = f.granularity == numerics::Granularity::PerGroup
                  ? arith::DivUIOp::create(b, loc, kIdx, index(f.groupSize))
                        .getResult()
                  : index(0);

    Value value;
    if (f.code != numerics::ElementCode::Int) {
      value = tensor::ExtractOp::create(
          b, loc, table, ValueRange{arith::IndexCastUIOp::create(
                             b, loc, b.getIndexType(), code)});
    } else if (f.symmetric) {
      // B-bit two's complement.
      Value up = arith::ShLIOp::create(b, loc, code, int32(32 - f.bits));
      value = arith::SIToFPOp::create(
          b, loc, f32, arith::ShRSIOp::create(b, loc, up, int32(32 - f.bits)));
    } else {
      Value zero = byteAt(zeroPoints, {c, g});
      value = arith::SIToFPOp::create(
          b, loc, f32, arith::SubIOp::create(b, loc, code, zero));
    }
    return arith::MulFOp::create(b, loc, value, scaleAt(b, loc, c, g));
  }

  /// x[..., n] += sum over channel n's outliers of x[..., col] * (v - dense),
  /// in place on `y` (the dense product): an outlier replaces its element.
  Value addOutliers(OpBuilder &b, Location loc, Value x, Value y) const {
    auto type = cast<RankedTensorType>(y.getType());
    int64_t rank = type.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
    return linalg::GenericOp::create(
               b, loc, type, ValueRange{}, ValueRange{y},
               ArrayRef<AffineMap>{id},
               SmallVector<utils::IteratorType>(
                   rank, utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 SmallVector<Value> at;
                 for (int64_t d = 0; d < rank; ++d)
                   at.push_back(linalg::IndexOp::create(nb, l, d));
                 Value n = at.back();
                 auto offset = [&](Value i) -> Value {
                   return arith::IndexCastOp::create(
                       nb, l, nb.getIndexType(),
                       tensor::ExtractOp::create(nb, l, outlierOffsets, i));
                 };
                 Value one = arith::ConstantIndexOp::create(nb, l, 1);
                 Value begin = offset(n),
                       end = offset(arith::AddIOp::create(nb, l, n, one));
                 auto loop = scf::ForOp::create(
                     nb, l, begin, end, one, ValueRange{args[0]},
                     [&](OpBuilder &fb, Location fl, Value j, ValueRange acc) {
                       Value col = arith::IndexCastOp::create(
                           fb, fl, fb.getIndexType(),
                           tensor::ExtractOp::create(fb, fl, outlierColumns,
                                                     j));
                       Value outlier = arith::ExtFOp::create(
                           fb, fl, fb.getF32Type(),
                           tensor::ExtractOp::create(fb, fl, outlierValues, j)
                               .getResult());
                       Value delta = arith::SubFOp::create(
                           fb, fl, outlier, this->at(fb, fl, col, n));
                       SmallVector<Value> xAt(at.begin(), at.end() - 1);
                       xAt.push_back(col);
                       Value xv = tensor::ExtractOp::create(fb, fl, x, xAt);
                       Value sum = arith::AddFOp::create(
                           fb, fl, acc[0],
                           arith::MulFOp::create(fb, fl, xv, delta));
                       scf::YieldOp::create(fb, fl, sum);
                     });
                 linalg::YieldOp::create(nb, l, loop.getResult(0));
               })
        .getResult(0);
  }

private:
  /// The scale of channel c, group g as f32, rounded to the scale type as
  /// the stored (or double-quantized and decoded) scale is.
  Value scaleAt(OpBuilder &b, Location loc, Value c, Value g) const {
    Type f32 = b.getF32Type();
    if (f.scaleBits == 0) {
      Value s = tensor::ExtractOp::create(b, loc, scales, ValueRange{c, g});
      return s.getType() == f32 ? s : arith::ExtFOp::create(b, loc, f32, s);
    }
    // offset + code * step of the code's block, rounded to the scale type.
    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    Value flat = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, c, index(groups)), g);
    Value block = arith::DivUIOp::create(b, loc, flat, index(f.scaleBlock));
    Value step = tensor::ExtractOp::create(b, loc, scaleParams,
                                           ValueRange{block, index(0)});
    Value offset = tensor::ExtractOp::create(b, loc, scaleParams,
                                             ValueRange{block, index(1)});
    Value code = arith::UIToFPOp::create(
        b, loc, f32, tensor::ExtractOp::create(b, loc, scales, ValueRange{c, g}));
    Value s = arith::AddFOp::create(
        b, loc, offset, arith::MulFOp::create(b, loc, code, step));
    if (f.scaleType == numerics::ScaleType::F32)
      return s;
    Type stored = f.scaleType == numerics::ScaleType::F16
                      ? Type(b.getF16Type())
                      : Type(b.getBF16Type());
    if (f.scaleType == numerics::ScaleType::F16) {
      // Saturated, as the reference does: not an infinite scale.
      Value max = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(65504));
      Value min = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-65504));
      s = arith::MaximumFOp::create(
          b, loc, arith::MinimumFOp::create(b, loc, s, max), min);
    }
    return arith::ExtFOp::create(
        b, loc, f32, arith::TruncFOp::create(b, loc, stored, s).getResult());
  }

  numerics::Format f;
  int64_t k = 0, groups = 0;
  qc::LayoutAttr layout;
  Value codes, scales, scaleParams, zeroPoints, table;
  Value outlierOffsets, outlierColumns, outlierValues;
};

struct QuantizedLinearToContraction : OpRewritePattern<qc::LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qc::LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto weight = op.getWeight().getDefiningOp<qc::QConstantOp>();
    if (!weight)
      return rewriter.notifyMatchFailure(op, "not a quantized constant");
    Location loc = op.getLoc();
    PackedWeight packed(rewriter, loc, weight);
    Value x = op.getInput();
    Value y = buildLinearContraction(
        rewriter, loc, x, op.getOutputDim(), /*weight=*/Value(),
        [&](OpBuilder &b, Location l, Value kIdx, Value nIdx) {
          return packed.at(b, l, kIdx, nIdx);
        });
    if (packed.hasOutliers())
      y = packed.addOutliers(rewriter, loc, x, y);
    rewriter.replaceOp(op, finishLinear(rewriter, loc, op, y));
    if (weight->use_empty())
      rewriter.eraseOp(weight);
    return success();
  }
};

} // namespace

void quantc::populateQuantizedLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizedLinearToContraction>(patterns.getContext());
}
