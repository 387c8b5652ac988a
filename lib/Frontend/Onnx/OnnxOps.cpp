//===- OnnxOps.cpp - one mapping per ONNX operator ------------------------===//
//
// Each function maps the importer's current node to upstream tensor IR (or
// qc.linear). Ops on small integer tensors whose elements the importer knows
// (shape arithmetic) compute those elements with folding instead.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <array>
#include <climits>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace quantc::onnx;

namespace {

using Mapping = LogicalResult (*)(Importer &);

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

Type elementTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

/// Checks and normalizes an axis of a tensor of `rank`.
FailureOr<int64_t> axisOf(Importer &im, int64_t axis, int64_t rank) {
  int64_t a = normalizeAxis(axis, rank);
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    return im.error() << "axis " << axis << " is out of range for rank "
                      << rank;
  return a;
}

/// The node's `axis` attribute (or `dflt`), checked and normalized.
FailureOr<int64_t> axisAttr(Importer &im, int64_t dflt, int64_t rank) {
  return axisOf(im, im.attrInt("axis", dflt), rank);
}

Value i64(Importer &im, int64_t v) {
  return arith::ConstantOp::create(im.builder(), im.loc(),
                                   im.builder().getI64IntegerAttr(v));
}

Value toIndex(Importer &im, Value v) {
  if (v.getType().isIndex())
    return v;
  return im.builder().createOrFold<arith::IndexCastOp>(
      im.loc(), im.builder().getIndexType(), v);
}

Value toI64(Importer &im, Value v) {
  if (v.getType().isInteger(64))
    return v;
  if (v.getType().isIndex())
    return im.builder().createOrFold<arith::IndexCastOp>(
        im.loc(), im.builder().getI64Type(), v);
  return im.builder().createOrFold<arith::ExtSIOp>(
      im.loc(), im.builder().getI64Type(), v);
}

/// True if `v` is computed from constants only (a weight, possibly cast or
/// transposed in the graph).
bool isConstantDerived(Value v) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (!isa<linalg::LinalgOp, tensor::EmptyOp, tensor::CastOp>(op))
    return false;
  return llvm::all_of(op->getOperands(), isConstantDerived);
}

/// A scalar of the operand's element type read from a rank-0 or single-
/// element tensor operand.
Value scalarOperand(Importer &im, int i) {
  if (auto elements = im.inputElements(i))
    return elements->front();
  Value t = im.input(i);
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<Value> zeros(
      type.getRank(),
      arith::ConstantIndexOp::create(im.builder(), im.loc(), 0));
  return tensor::ExtractOp::create(im.builder(), im.loc(), t, zeros);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

enum class Bin { Add, Sub, Mul, Div, Max, Min, And, Or, Xor,
                 Eq, Lt, Le, Gt, Ge, Mod, FMod };

bool isComparison(Bin k) {
  return k == Bin::Eq || k == Bin::Lt || k == Bin::Le || k == Bin::Gt ||
         k == Bin::Ge;
}

Value binaryScalar(OpBuilder &b, Location loc, Bin kind, Value x, Value y,
                   bool isUnsigned) {
  if (isa<FloatType>(x.getType())) {
    switch (kind) {
    case Bin::Add: return b.createOrFold<arith::AddFOp>(loc, x, y);
    case Bin::Sub: return b.createOrFold<arith::SubFOp>(loc, x, y);
    case Bin::Mul: return b.createOrFold<arith::MulFOp>(loc, x, y);
    case Bin::Div: return b.createOrFold<arith::DivFOp>(loc, x, y);
    case Bin::Max: return b.createOrFold<arith::MaximumFOp>(loc, x, y);
    case Bin::Min: return b.createOrFold<arith::MinimumFOp>(loc, x, y);
    case Bin::Mod:
    case Bin::FMod: return b.createOrFold<arith::RemFOp>(loc, x, y);
    case Bin::Eq: return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, x, y);
    case Bin::Lt: return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, y);
    case Bin::Le: return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OLE, x, y);
    case Bin::Gt: return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, y);
    case Bin::Ge: return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, x, y);
    default: break;
    }
    return {};
  }
  using P = arith::CmpIPredicate;
  switch (kind) {
  case Bin::Add: return b.createOrFold<arith::AddIOp>(loc, x, y);
  case Bin::Sub: return b.createOrFold<arith::SubIOp>(loc, x, y);
  case Bin::Mul: return b.createOrFold<arith::MulIOp>(loc, x, y);
  case Bin::Div:
    return isUnsigned ? b.createOrFold<arith::DivUIOp>(loc, x, y)
                      : b.createOrFold<arith::DivSIOp>(loc, x, y);
  case Bin::FMod:
    return isUnsigned ? b.createOrFold<arith::RemUIOp>(loc, x, y)
                      : b.createOrFold<arith::RemSIOp>(loc, x, y);
  case Bin::Mod: {
    if (isUnsigned)
      return b.createOrFold<arith::RemUIOp>(loc, x, y);
    // ONNX's integer Mod takes the divisor's sign (like Python's %).
    Value r = b.createOrFold<arith::RemSIOp>(loc, x, y);
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(x.getType()));
    Value rNeg = b.createOrFold<arith::CmpIOp>(loc, P::slt, r, zero);
    Value yNeg = b.createOrFold<arith::CmpIOp>(loc, P::slt, y, zero);
    Value fix = b.createOrFold<arith::AndIOp>(
        loc, b.createOrFold<arith::CmpIOp>(loc, P::ne, r, zero),
        b.createOrFold<arith::XOrIOp>(loc, rNeg, yNeg));
    return b.createOrFold<arith::SelectOp>(
        loc, fix, b.createOrFold<arith::AddIOp>(loc, r, y), r);
  }
  case Bin::Max:
    return isUnsigned ? b.createOrFold<arith::MaxUIOp>(loc, x, y)
                      : b.createOrFold<arith::MaxSIOp>(loc, x, y);
  case Bin::Min:
    return isUnsigned ? b.createOrFold<arith::MinUIOp>(loc, x, y)
                      : b.createOrFold<arith::MinSIOp>(loc, x, y);
  case Bin::And: return b.createOrFold<arith::AndIOp>(loc, x, y);
  case Bin::Or: return b.createOrFold<arith::OrIOp>(loc, x, y);
  case Bin::Xor: return b.createOrFold<arith::XOrIOp>(loc, x, y);
  case Bin::Eq: return b.createOrFold<arith::CmpIOp>(loc, P::eq, x, y);
  case Bin::Lt: return b.createOrFold<arith::CmpIOp>(loc, isUnsigned ? P::ult : P::slt, x, y);
  case Bin::Le: return b.createOrFold<arith::CmpIOp>(loc, isUnsigned ? P::ule : P::sle, x, y);
  case Bin::Gt: return b.createOrFold<arith::CmpIOp>(loc, isUnsigned ? P::ugt : P::sgt, x, y);
  case Bin::Ge: return b.createOrFold<arith::CmpIOp>(loc, isUnsigned ? P::uge : P::sge, x, y);
  }
  return {};
}

/// Elementwise on known elements: same length, or one side of length 1.
std::optional<SmallVector<Value>>
zipElements(ArrayRef<SmallVector<Value>> lists,
            function_ref<Value(ArrayRef<Value>)> fn) {
  size_t n = 1;
  for (const auto &l : lists)
    n = std::max(n, l.size());
  for (const auto &l : lists)
    if (l.size() != n && l.size() != 1)
      return std::nullopt;
  SmallVector<Value> out;
  for (size_t i = 0; i < n; ++i) {
    SmallVector<Value> args;
    for (const auto &l : lists)
      args.push_back(l.size() == 1 ? l[0] : l[i]);
    out.push_back(fn(args));
  }
  return out;
}

/// Pow: the result has the base's type; the exponent may have another.
LogicalResult powOp(Importer &im) {
  if (im.numInputs() != 2)
    return im.error() << "expects 2 operands, got " << im.numInputs();
  Type element = im.inputEntry(0).elementType;
  bool expUnsigned = im.inputEntry(1).isUnsigned;
  // x^2 and x^0.5 are common in normalizations: exact and cheap.
  std::optional<double> exponent;
  DenseFPElementsAttr e;
  if (isa<FloatType>(element) && matchPattern(im.input(1), m_Constant(&e)) &&
      e.isSplat())
    exponent = e.getSplatValue<APFloat>().convertToDouble();
  if (exponent && *exponent != 2.0 && *exponent != 0.5)
    exponent.reset();
  SmallVector<Value> operands = {im.input(0)};
  if (!exponent)
    operands.push_back(im.input(1));
  Value result = im.tb().map(
      operands, element,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        if (exponent)
          return *exponent == 2.0
                     ? arith::MulFOp::create(nb, nloc, a[0], a[0]).getResult()
                     : math::SqrtOp::create(nb, nloc, a[0]).getResult();
        TensorBuilder sb(nb, nloc);
        if (isa<FloatType>(element))
          return math::PowFOp::create(
              nb, nloc, a[0], sb.convertScalar(a[1], element, expUnsigned));
        // Integer base: an integer power of the base's type.
        return math::IPowIOp::create(
            nb, nloc, a[0], sb.convertScalar(a[1], element, expUnsigned));
      });
  im.setResult(0, result, im.inputEntry(0).isUnsigned);
  return success();
}

LogicalResult binary(Importer &im, Bin kind) {
  if (im.numInputs() != 2)
    return im.error() << "expects 2 operands, got " << im.numInputs();
  Type element = im.inputEntry(0).elementType;
  if (element != im.inputEntry(1).elementType)
    return im.error() << "operand element types differ: " << element << " and "
                      << im.inputEntry(1).elementType;
  bool isUnsigned = im.inputEntry(0).isUnsigned;
  Type resultElement = isComparison(kind) ? im.builder().getI1Type() : element;
  OpBuilder &b = im.builder();
  Location loc = im.loc();

  // Shape arithmetic on known elements.
  auto lhs = im.inputElements(0), rhs = im.inputElements(1);
  if (lhs && rhs) {
    bool scalar = im.inputEntry(0).isScalar && im.inputEntry(1).isScalar;
    auto out = zipElements({*lhs, *rhs}, [&](ArrayRef<Value> a) -> Value {
      // A size never equals a negative constant (the -1 of Reshape/Expand).
      if (kind == Bin::Eq) {
        for (int s = 0; s < 2; ++s) {
          std::optional<int64_t> c = getConstantIntValue(a[1 - s]);
          if (c && *c < 0 && Importer::isKnownNonNegative(a[s]))
            return arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
        }
      }
      return binaryScalar(b, loc, kind, a[0], a[1], isUnsigned);
    });
    if (out) {
      im.setResultElements(0, *out, scalar, resultElement);
      return success();
    }
  }

  Value result = im.tb().map(
      {im.input(0), im.input(1)}, resultElement,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return binaryScalar(nb, nloc, kind, a[0], a[1], isUnsigned);
      });
  im.setResult(0, result, isUnsigned && !isComparison(kind));
  return success();
}

/// Max, Min, Sum and Mean take any number of operands.
LogicalResult variadic(Importer &im, Bin kind) {
  if (im.numInputs() < 1)
    return im.error() << "expects at least one operand";
  if (im.numInputs() == 1) {
    im.setResult(0, im.input(0));
    return success();
  }
  Value acc = im.input(0);
  bool isUnsigned = im.inputEntry(0).isUnsigned;
  for (int i = 1; i < im.numInputs(); ++i)
    acc = im.tb().map({acc, im.input(i)}, elementTypeOf(acc),
                      [&](OpBuilder &nb, Location nloc, ValueRange a) {
                        return binaryScalar(nb, nloc, kind, a[0], a[1],
                                            isUnsigned);
                      });
  im.setResult(0, acc);
  return success();
}

enum class Un { Neg, Sqrt, Exp, Log, Tanh, Erf, Relu, Sigmoid, Abs,
                Reciprocal, Not, Floor, Ceil, Sin, Cos, Identity };

LogicalResult unary(Importer &im, Un kind) {
  if (im.numInputs() != 1)
    return im.error() << "expects 1 operand, got " << im.numInputs();
  Type element = im.inputEntry(0).elementType;
  bool isFloat = isa<FloatType>(element);
  if (kind == Un::Identity) {
    const Imported &in = im.inputEntry(0);
    if (in.elements)
      im.setResultElements(0, *in.elements, in.isScalar, in.elementType);
    else
      im.setResult(0, in.tensor, in.isUnsigned);
    return success();
  }
  bool intOk = kind == Un::Neg || kind == Un::Abs || kind == Un::Not ||
               kind == Un::Relu;
  if (!isFloat && !intOk)
    return im.error() << "expects a floating-point operand, not " << element;
  if (kind == Un::Neg && !isFloat) {
    if (auto elements = im.inputElements(0)) {
      SmallVector<Value> out;
      for (Value v : *elements)
        out.push_back(binaryScalar(im.builder(), im.loc(), Bin::Sub,
                                   im.tb().scalar(element, 0), v, false));
      im.setResultElements(0, out, im.inputEntry(0).isScalar, element);
      return success();
    }
  }
  Value result = im.tb().map(
      {im.input(0)}, element,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value x = a[0];
        TensorBuilder sb(nb, nloc);
        switch (kind) {
        case Un::Neg:
          return isFloat ? arith::NegFOp::create(nb, nloc, x).getResult()
                         : arith::SubIOp::create(nb, nloc,
                                                 sb.scalar(element, 0), x)
                               .getResult();
        case Un::Sqrt: return math::SqrtOp::create(nb, nloc, x);
        case Un::Exp: return math::ExpOp::create(nb, nloc, x);
        case Un::Log: return math::LogOp::create(nb, nloc, x);
        case Un::Tanh: return math::TanhOp::create(nb, nloc, x);
        case Un::Erf: return math::ErfOp::create(nb, nloc, x);
        case Un::Floor: return math::FloorOp::create(nb, nloc, x);
        case Un::Ceil: return math::CeilOp::create(nb, nloc, x);
        case Un::Sin: return math::SinOp::create(nb, nloc, x);
        case Un::Cos: return math::CosOp::create(nb, nloc, x);
        case Un::Abs:
          return isFloat ? math::AbsFOp::create(nb, nloc, x).getResult()
                         : math::AbsIOp::create(nb, nloc, x).getResult();
        case Un::Relu:
          return isFloat ? arith::MaximumFOp::create(nb, nloc, x,
                                                     sb.scalar(element, 0))
                               .getResult()
                         : arith::MaxSIOp::create(nb, nloc, x,
                                                  sb.scalar(element, 0))
                               .getResult();
        case Un::Sigmoid: {
          Value e = math::ExpOp::create(nb, nloc,
                                        arith::NegFOp::create(nb, nloc, x));
          Value one = sb.scalar(element, 1);
          return arith::DivFOp::create(
              nb, nloc, one, arith::AddFOp::create(nb, nloc, one, e));
        }
        case Un::Reciprocal:
          return arith::DivFOp::create(nb, nloc, sb.scalar(element, 1), x);
        case Un::Not:
          return arith::XOrIOp::create(
              nb, nloc, x,
              arith::ConstantOp::create(nb, nloc, nb.getBoolAttr(true)));
        case Un::Identity:
          break;
        }
        return x;
      });
  im.setResult(0, result);
  return success();
}

/// IsNaN, IsInf: float tests with a bool result.
LogicalResult isNaNOrInfOp(Importer &im, bool nan) {
  Type element = im.inputEntry(0).elementType;
  if (!isa<FloatType>(element))
    return im.error() << "expects a floating-point operand, not " << element;
  bool negative = im.attrInt("detect_negative", 1),
       positive = im.attrInt("detect_positive", 1);
  auto fe = cast<FloatType>(element);
  Value result = im.tb().map(
      {im.input(0)}, im.builder().getI1Type(),
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        if (nan)
          return arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::UNO,
                                       a[0], a[0]);
        auto inf = [&](bool neg) {
          return arith::ConstantOp::create(
              nb, nloc, nb.getFloatAttr(fe, APFloat::getInf(fe.getFloatSemantics(), neg)));
        };
        Value isPos = arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                            a[0], inf(false));
        Value isNeg = arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                            a[0], inf(true));
        Value no = arith::ConstantOp::create(nb, nloc, nb.getBoolAttr(false));
        return arith::OrIOp::create(nb, nloc, positive ? isPos : no,
                                    negative ? isNeg : no);
      });
  im.setResult(0, result);
  return success();
}

LogicalResult whereOp(Importer &im) {
  if (im.numInputs() != 3)
    return im.error() << "expects 3 operands, got " << im.numInputs();
  auto c = im.inputElements(0), x = im.inputElements(1), y = im.inputElements(2);
  if (c && x && y) {
    OpBuilder &b = im.builder();
    auto out = zipElements({*c, *x, *y}, [&](ArrayRef<Value> a) -> Value {
      return b.createOrFold<arith::SelectOp>(im.loc(), a[0], a[1], a[2]);
    });
    if (out) {
      bool scalar = im.inputEntry(0).isScalar && im.inputEntry(1).isScalar &&
                    im.inputEntry(2).isScalar;
      im.setResultElements(0, *out, scalar, im.inputEntry(1).elementType);
      return success();
    }
  }
  Value result = im.tb().map(
      {im.input(0), im.input(1), im.input(2)}, im.inputEntry(1).elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::SelectOp::create(nb, nloc, a[0], a[1], a[2]);
      });
  im.setResult(0, result);
  return success();
}

LogicalResult castOp(Importer &im) {
  const auto *to = im.typedAttr("to", ::onnx::AttributeProto::INT);
  Type target = to ? im.elementType(static_cast<int32_t>(to->i())) : Type();
  if (!target)
    return im.error() << "unsupported target type of Cast";
  bool toUnsigned = to->i() == ::onnx::TensorProto::UINT8 ||
                    to->i() == ::onnx::TensorProto::UINT16 ||
                    to->i() == ::onnx::TensorProto::UINT32 ||
                    to->i() == ::onnx::TensorProto::UINT64;
  bool fromUnsigned = im.inputEntry(0).isUnsigned;
  if (auto elements = im.inputElements(0); elements && isa<IntegerType>(target)) {
    SmallVector<Value> out;
    TensorBuilder sb(im.builder(), im.loc());
    for (Value v : *elements)
      out.push_back(sb.convertScalar(v, target, fromUnsigned));
    im.setResultElements(0, out, im.inputEntry(0).isScalar, target);
    return success();
  }
  Value result = im.tb().map({im.input(0)}, target,
                             [&](OpBuilder &nb, Location nloc, ValueRange a) {
                               return TensorBuilder(nb, nloc).convertScalar(
                                   a[0], target, fromUnsigned);
                             });
  im.setResult(0, result, toUnsigned);
  return success();
}

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

LogicalResult constantOp(Importer &im) {
  OpBuilder &b = im.builder();
  std::string name = im.node().output(0);
  Value result;
  if (const auto *a = im.typedAttr("value", ::onnx::AttributeProto::TENSOR)) {
    FailureOr<ElementsAttr> attr = im.tensorAttr(a->t(), name);
    if (failed(attr))
      return failure();
    result = arith::ConstantOp::create(b, im.loc(), cast<TypedAttr>(*attr));
  } else if (const auto *a = im.typedAttr("value_float", ::onnx::AttributeProto::FLOAT)) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    result = arith::ConstantOp::create(
        b, im.loc(), DenseElementsAttr::get(type, a->f()));
  } else if (const auto *a = im.typedAttr("value_floats", ::onnx::AttributeProto::FLOATS)) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getF32Type());
    result = arith::ConstantOp::create(
        b, im.loc(), DenseElementsAttr::get(type, ArrayRef<float>(v)));
  } else if (const auto *a = im.typedAttr("value_int", ::onnx::AttributeProto::INT)) {
    auto type = RankedTensorType::get({}, b.getI64Type());
    result = arith::ConstantOp::create(
        b, im.loc(), DenseElementsAttr::get(type, (int64_t)a->i()));
  } else if (const auto *a = im.typedAttr("value_ints", ::onnx::AttributeProto::INTS)) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
    result = arith::ConstantOp::create(
        b, im.loc(), DenseElementsAttr::get(type, ArrayRef<int64_t>(v)));
  } else {
    return im.error() << "only tensor, float and int constants are supported";
  }
  im.setResult(0, result);
  return success();
}

LogicalResult shapeOp(Importer &im) {
  Value in = im.input(0);
  int64_t rank = cast<RankedTensorType>(in.getType()).getRank();
  int64_t start = normalizeAxis(im.attrInt("start", 0), rank);
  int64_t end = im.attr("end") ? normalizeAxis(im.attrInt("end", rank), rank)
                               : rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<Value> elements;
  SmallVector<OpFoldResult> dims = im.tb().dims(in);
  for (OpFoldResult d : ArrayRef(dims).slice(start, end - start)) {
    if (std::optional<int64_t> c = getConstantIntValue(d))
      elements.push_back(i64(im, *c));
    else
      elements.push_back(toI64(im, cast<Value>(d)));
  }
  im.setResultElements(0, elements, false, im.builder().getI64Type());
  return success();
}

/// Sizes given as i64 scalars (a shape operand) as OpFoldResults.
SmallVector<OpFoldResult> asSizes(Importer &im, ArrayRef<Value> elements) {
  SmallVector<OpFoldResult> out;
  for (Value v : elements) {
    if (std::optional<int64_t> c = getConstantIntValue(v))
      out.push_back(im.builder().getIndexAttr(*c));
    else
      out.push_back(toIndex(im, v));
  }
  return out;
}

LogicalResult constantOfShapeOp(Importer &im) {
  auto shape = im.inputElements(0);
  if (!shape)
    return im.error() << "the shape must be computable from the graph's "
                         "shapes";
  OpBuilder &b = im.builder();
  Attribute value = b.getZeroAttr(b.getF32Type());
  if (const auto *a = im.typedAttr("value", ::onnx::AttributeProto::TENSOR)) {
    FailureOr<ElementsAttr> attr = im.tensorAttr(a->t(), "value");
    if (failed(attr))
      return failure();
    if (attr->getNumElements() != 1)
      return im.error() << "value must hold one element";
    value = *attr->value_begin<Attribute>();
  }
  auto typed = cast<TypedAttr>(value);
  SmallVector<OpFoldResult> dims = asSizes(im, *shape);
  // A short constant integer vector stays known elementwise.
  if (dims.size() == 1 && isa<IntegerType>(typed.getType())) {
    std::optional<int64_t> n = getConstantIntValue(dims[0]);
    if (n && *n <= 64) {
      SmallVector<Value> elements(
          *n, arith::ConstantOp::create(b, im.loc(), typed));
      im.setResultElements(0, elements, false, typed.getType());
      return success();
    }
  }
  Value scalar = arith::ConstantOp::create(b, im.loc(), typed);
  im.setResult(0, im.tb().filled(dims, scalar));
  return success();
}

LogicalResult rangeOp(Importer &im) {
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  Value start = scalarOperand(im, 0), limit = scalarOperand(im, 1),
        delta = scalarOperand(im, 2);
  Type element = start.getType();
  Value count;
  if (isa<FloatType>(element)) {
    Value span = arith::SubFOp::create(b, loc, limit, start);
    Value steps = math::CeilOp::create(
        b, loc, arith::DivFOp::create(b, loc, span, delta));
    count = arith::FPToSIOp::create(b, loc, b.getI64Type(), steps);
  } else {
    Value span = b.createOrFold<arith::SubIOp>(loc, limit, start);
    count = toI64(im, b.createOrFold<arith::CeilDivSIOp>(loc, span, delta));
  }
  count = b.createOrFold<arith::MaxSIOp>(loc, count, i64(im, 0));
  SmallVector<OpFoldResult> dims = asSizes(im, {count});
  Value init = im.tb().empty(dims, element);
  MLIRContext *ctx = b.getContext();
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
          [&](OpBuilder &nb, Location nloc, ValueRange) {
            Value i = linalg::IndexOp::create(nb, nloc, 0);
            Value r;
            if (isa<FloatType>(element)) {
              Value fi = arith::UIToFPOp::create(
                  nb, nloc, element,
                  arith::IndexCastUIOp::create(nb, nloc, nb.getI64Type(), i));
              r = arith::AddFOp::create(
                  nb, nloc, start, arith::MulFOp::create(nb, nloc, fi, delta));
            } else {
              Value ii = arith::IndexCastOp::create(nb, nloc, element, i);
              r = arith::AddIOp::create(
                  nb, nloc, start, arith::MulIOp::create(nb, nloc, ii, delta));
            }
            linalg::YieldOp::create(nb, nloc, r);
          })
          .getResult(0);
  im.setResult(0, result);
  return success();
}

/// Axes of Unsqueeze/Squeeze/Reduce*: an attribute before the opset that
/// made them an operand.
FailureOr<std::optional<SmallVector<int64_t>>> axesOperand(Importer &im,
                                                           int operand) {
  if (auto a = im.attrInts("axes"))
    return std::optional<SmallVector<int64_t>>(*a);
  if (!im.hasInput(operand))
    return std::optional<SmallVector<int64_t>>();
  FailureOr<SmallVector<int64_t>> axes = im.constantInts(operand, "axes");
  if (failed(axes))
    return failure();
  return std::optional<SmallVector<int64_t>>(*axes);
}

LogicalResult unsqueezeOp(Importer &im) {
  auto axes = axesOperand(im, 1);
  if (failed(axes) || !*axes)
    return failed(axes) ? failure() : im.error() << "needs axes";
  int64_t outRank = im.inputRank(0) + (*axes)->size();
  SmallVector<int64_t> sorted;
  for (int64_t a : **axes) {
    FailureOr<int64_t> n = axisOf(im, a, outRank);
    if (failed(n))
      return failure();
    sorted.push_back(*n);
  }
  llvm::sort(sorted);
  const Imported &in = im.inputEntry(0);
  if (in.elements && outRank == 1) {
    im.setResultElements(0, *in.elements, false, in.elementType);
    return success();
  }
  im.setResult(0, im.tb().expandUnitDims(im.input(0), sorted), in.isUnsigned);
  return success();
}

LogicalResult squeezeOp(Importer &im) {
  auto axes = axesOperand(im, 1);
  if (failed(axes))
    return failure();
  int64_t rank = im.inputRank(0);
  const Imported &in = im.inputEntry(0);
  if (in.elements && rank == 1 && in.elements->size() == 1) {
    im.setResultElements(0, *in.elements, true, in.elementType);
    return success();
  }
  Value input = im.input(0);
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> sorted;
  if (*axes) {
    for (int64_t a : **axes) {
      FailureOr<int64_t> n = axisOf(im, a, rank);
      if (failed(n))
        return failure();
      if (!type.isDynamicDim(*n) && type.getDimSize(*n) != 1)
        return im.error() << "cannot squeeze dimension " << *n << " of size "
                          << type.getDimSize(*n);
      sorted.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      if (type.getDimSize(i) == 1)
        sorted.push_back(i);
  }
  llvm::sort(sorted);
  // Dynamic dimensions being squeezed are 1 by the model's contract.
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t a : sorted)
    shape[a] = 1;
  auto unitType = RankedTensorType::get(shape, type.getElementType());
  if (unitType != type)
    input = tensor::CastOp::create(im.builder(), im.loc(), unitType, input);
  im.setResult(0, im.tb().collapseUnitDims(input, sorted), in.isUnsigned);
  return success();
}

LogicalResult concatOp(Importer &im) {
  int64_t rank = im.inputRank(0);
  FailureOr<int64_t> axis = axisAttr(im, 0, rank);
  if (failed(axis))
    return failure();
  if (rank == 1) {
    SmallVector<Value> all;
    bool known = true;
    for (int i = 0; i < im.numInputs() && known; ++i) {
      auto e = im.inputElements(i);
      known = e.has_value();
      if (known)
        all.append(e->begin(), e->end());
    }
    if (known && (int64_t)all.size() <= 64) {
      im.setResultElements(0, all, false, im.inputEntry(0).elementType);
      return success();
    }
  }
  SmallVector<Value> inputs;
  TensorBuilder tb = im.tb();
  SmallVector<OpFoldResult> first = tb.dims(im.input(0));
  for (int i = 0; i < im.numInputs(); ++i) {
    Value v = im.input(i);
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() != rank)
      return im.error() << "operand " << i << " has rank " << type.getRank()
                        << ", operand 0 has " << rank;
    // Off the concatenation axis every operand has operand 0's sizes.
    SmallVector<OpFoldResult> sizes = tb.dims(v);
    for (int64_t d = 0; d < rank; ++d) {
      if (d == *axis)
        continue;
      std::optional<int64_t> a = getConstantIntValue(first[d]),
                             c = getConstantIntValue(sizes[d]);
      if (a && c && *a != *c)
        return im.error() << "operand " << i << " has size " << *c
                          << " in dimension " << d << ", operand 0 has " << *a;
      tb.requireEqual(first[d], sizes[d],
                      "concatenated operands differ off the axis");
    }
    inputs.push_back(v);
  }
  im.setResult(0, tensor::ConcatOp::create(im.builder(), im.loc(), *axis,
                                           inputs));
  return success();
}

LogicalResult reshapeOp(Importer &im) {
  auto target = im.inputElements(1);
  if (!target)
    return im.error() << "the target shape must be computable from the "
                         "graph's shapes";
  bool allowZero = im.attrInt("allowzero", 0) != 0;
  const Imported &in = im.inputEntry(0);
  // Reshaping known elements between rank 0 and 1 keeps them known.
  if (in.elements && target->size() <= 1) {
    std::optional<int64_t> n =
        target->empty() ? 1 : getConstantIntValue(target->front());
    if (n && (*n == -1 || *n == (int64_t)in.elements->size())) {
      im.setResultElements(0, *in.elements, target->empty(), in.elementType);
      return success();
    }
  }
  Value input = im.input(0);
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  SmallVector<OpFoldResult> inDims = im.tb().dims(input);
  SmallVector<OpFoldResult> dims = asSizes(im, *target);
  int inferred = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    std::optional<int64_t> c = getConstantIntValue(dims[i]);
    if (c && *c == 0 && !allowZero) {
      if (i >= inDims.size())
        return im.error() << "target dimension " << i
                          << " copies an input dimension that does not exist";
      dims[i] = inDims[i];
    } else if (c && *c == -1) {
      if (inferred >= 0)
        return im.error() << "more than one target dimension is -1";
      inferred = static_cast<int>(i);
    } else if (c && *c < 0) {
      return im.error() << "target dimension " << i << " is " << *c;
    }
  }
  if (inferred >= 0) {
    // -1 is (input elements) / (other target sizes); dynamic sizes present
    // on both sides cancel, so [b, s, 8] -> [b, s, 2, -1] infers a static 4.
    int64_t totalStatic = 1, knownStatic = 1;
    SmallVector<Value> totalDynamic, knownDynamic;
    for (OpFoldResult d : inDims) {
      if (std::optional<int64_t> c = getConstantIntValue(d))
        totalStatic *= *c;
      else
        totalDynamic.push_back(cast<Value>(d));
    }
    for (size_t i = 0; i < dims.size(); ++i) {
      if ((int)i == inferred)
        continue;
      if (std::optional<int64_t> c = getConstantIntValue(dims[i])) {
        knownStatic *= *c;
        continue;
      }
      Value v = cast<Value>(dims[i]);
      auto *it = llvm::find_if(totalDynamic,
                               [&](Value t) { return TensorBuilder::sameSize(t, v); });
      if (it != totalDynamic.end())
        totalDynamic.erase(it);
      else
        knownDynamic.push_back(v);
    }
    Value total = arith::ConstantIndexOp::create(b, loc, totalStatic);
    for (Value v : totalDynamic)
      total = b.createOrFold<arith::MulIOp>(loc, total, v);
    Value known = arith::ConstantIndexOp::create(b, loc, knownStatic);
    for (Value v : knownDynamic)
      known = b.createOrFold<arith::MulIOp>(loc, known, v);
    dims[inferred] = getAsOpFoldResult(
        b.createOrFold<arith::DivUIOp>(loc, total, known));
  }
  im.setResult(0, im.tb().reshape(input, dims), in.isUnsigned);
  return success();
}

LogicalResult flattenOp(Importer &im) {
  Value input = im.input(0);
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  int64_t axis = normalizeAxis(im.attrInt("axis", 1), rank);
  if (axis < 0 || axis > rank)
    return im.error() << "axis " << im.attrInt("axis", 1)
                      << " is out of range for rank " << rank;
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  SmallVector<OpFoldResult> inDims = im.tb().dims(input);
  Value outer = arith::ConstantIndexOp::create(b, loc, 1), inner = outer;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) = b.createOrFold<arith::MulIOp>(
        loc, i < axis ? outer : inner, im.tb().index(inDims[i]));
  im.setResult(0, im.tb().reshape(input, {getAsOpFoldResult(outer),
                                          getAsOpFoldResult(inner)}));
  return success();
}

LogicalResult expandOp(Importer &im) {
  auto target = im.inputElements(1);
  if (!target)
    return im.error() << "the target shape must be computable from the "
                         "graph's shapes";
  Value input = im.input(0);
  SmallVector<OpFoldResult> inDims = im.tb().dims(input);
  SmallVector<OpFoldResult> shape = asSizes(im, *target);
  int64_t rank = std::max<int64_t>(inDims.size(), shape.size());
  SmallVector<OpFoldResult> out;
  for (int64_t j = 0; j < rank; ++j) {
    int64_t ki = j - (rank - (int64_t)inDims.size());
    int64_t ks = j - (rank - (int64_t)shape.size());
    OpFoldResult a = ki >= 0 ? inDims[ki] : im.builder().getIndexAttr(1);
    OpFoldResult s = ks >= 0 ? shape[ks] : im.builder().getIndexAttr(1);
    std::optional<int64_t> ca = getConstantIntValue(a),
                           cs = getConstantIntValue(s);
    if (ca && *ca == 1)
      out.push_back(s);
    else if (cs && *cs == 1)
      out.push_back(a);
    else if (ca && cs && *ca != *cs)
      return im.error() << "cannot expand dimension of size " << *ca
                        << " to " << *cs;
    else
      out.push_back(ca ? a : s);
  }
  im.setResult(0, im.tb().broadcastTo(input, out));
  return success();
}

/// ONNX allows indices in [-s, s): anything else is an error when the
/// model runs, checked over all of `idx` before the gather (which clamps as
/// well, so that it never reads outside the table). `sizes` holds s: one
/// size for every index, or one per position of the last dimension
/// (GatherND's index tuples).
void requireIndicesInRange(Importer &im, Value idx, ArrayRef<Value> sizes,
                           StringRef message) {
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  MLIRContext *ctx = b.getContext();
  auto idxType = cast<RankedTensorType>(idx.getType());
  int64_t ri = idxType.getRank();
  Type it = idxType.getElementType();
  SmallVector<Value> limits;
  for (Value size : sizes)
    limits.push_back(arith::IndexCastOp::create(b, loc, it, size));
  auto flagType = RankedTensorType::get({}, b.getI1Type());
  Value allOk =
      linalg::FillOp::create(
          b, loc,
          ValueRange{arith::ConstantOp::create(b, loc, b.getBoolAttr(true))},
          ValueRange{tensor::EmptyOp::create(b, loc, flagType, ValueRange{})})
          .getResult(0);
  SmallVector<utils::IteratorType> all(ri, utils::IteratorType::reduction);
  Value ok =
      linalg::GenericOp::create(
          b, loc, flagType, ValueRange{idx}, ValueRange{allOk},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(ri, ctx),
                              AffineMap::get(ri, 0, {}, ctx)},
          all,
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Value size = limits[0];
            if (limits.size() > 1) {
              Value pos = linalg::IndexOp::create(nb, nloc, ri - 1);
              for (size_t j = 1; j < limits.size(); ++j)
                size = arith::SelectOp::create(
                    nb, nloc,
                    arith::CmpIOp::create(
                        nb, nloc, arith::CmpIPredicate::eq, pos,
                        arith::ConstantIndexOp::create(nb, nloc, j)),
                    limits[j], size);
            }
            Value negSize = arith::SubIOp::create(
                nb, nloc,
                arith::ConstantOp::create(nb, nloc, nb.getZeroAttr(it)), size);
            Value lo = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::sge,
                                             a[0], negSize);
            Value hi = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::slt,
                                             a[0], size);
            Value inRange = arith::AndIOp::create(nb, nloc, lo, hi);
            linalg::YieldOp::create(
                nb, nloc,
                arith::AndIOp::create(nb, nloc, inRange, a[1]).getResult());
          })
          .getResult(0);
  im.tb().require(tensor::ExtractOp::create(b, loc, ok, ValueRange{}), message);
}

/// Index `raw` (an integer) into a dimension of `size`: negative values
/// count from the end, then clamped into [0, size).
Value wrapAndClampIndex(OpBuilder &b, Location loc, Value raw, Value size) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, loc, neg,
                              arith::AddIOp::create(b, loc, i, size), i);
  Value last = arith::SubIOp::create(b, loc, size,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  return arith::MaxSIOp::create(b, loc, zero,
                                arith::MinSIOp::create(b, loc, i, last));
}

LogicalResult gatherOp(Importer &im) {
  int64_t rank = im.inputRank(0);
  FailureOr<int64_t> axis = axisAttr(im, 0, rank);
  if (failed(axis))
    return failure();
  // Picking from known elements (Shape -> Gather).
  auto data = im.inputElements(0), indices = im.inputElements(1);
  if (data && indices && rank == 1) {
    SmallVector<Value> out;
    for (Value idx : *indices) {
      std::optional<int64_t> c = getConstantIntValue(idx);
      if (!c)
        break;
      int64_t k = *c < 0 ? *c + (int64_t)data->size() : *c;
      if (k < 0 || k >= (int64_t)data->size())
        return im.error() << "index " << *c << " is out of range for "
                          << data->size() << " elements";
      out.push_back((*data)[k]);
    }
    if (out.size() == indices->size()) {
      im.setResultElements(0, out, im.inputEntry(1).isScalar,
                           im.inputEntry(0).elementType);
      return success();
    }
  }
  Value table = im.input(0), idx = im.input(1);
  auto idxType = cast<RankedTensorType>(idx.getType());
  if (!isa<IntegerType>(idxType.getElementType()))
    return im.error() << "indices must be integers";
  SmallVector<OpFoldResult> tableDims = im.tb().dims(table);
  SmallVector<OpFoldResult> idxDims = im.tb().dims(idx);
  SmallVector<OpFoldResult> outDims(tableDims.begin(),
                                    tableDims.begin() + *axis);
  outDims.append(idxDims.begin(), idxDims.end());
  outDims.append(tableDims.begin() + *axis + 1, tableDims.end());
  int64_t ri = idxType.getRank(), ro = outDims.size();
  MLIRContext *ctx = im.builder().getContext();
  SmallVector<AffineExpr> idxExprs;
  for (int64_t k = 0; k < ri; ++k)
    idxExprs.push_back(getAffineDimExpr(*axis + k, ctx));
  Type element = elementTypeOf(table);
  Value init = im.tb().empty(outDims, element);
  Value axisSize = im.tb().index(tableDims[*axis]);
  requireIndicesInRange(im, idx, {axisSize}, "Gather index out of range");
  Value result =
      linalg::GenericOp::create(
          im.builder(), im.loc(), init.getType(), ValueRange{idx},
          ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(ro, 0, idxExprs, ctx),
                              AffineMap::getMultiDimIdentityMap(ro, ctx)},
          SmallVector<utils::IteratorType>(ro, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Value i = wrapAndClampIndex(nb, nloc, a[0], axisSize);
            SmallVector<Value> coords;
            for (int64_t d = 0; d < *axis; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nloc, d));
            coords.push_back(i);
            for (int64_t d = *axis + 1; d < rank; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nloc, d - 1 + ri));
            linalg::YieldOp::create(
                nb, nloc, tensor::ExtractOp::create(nb, nloc, table, coords)
                              .getResult());
          })
          .getResult(0);
  im.setResult(0, result, im.inputEntry(0).isUnsigned);
  return success();
}

/// GatherND: for data of rank r and indices [..., k], each index tuple
/// (the last dimension) picks a slice of rank r - batch_dims - k; the first
/// batch_dims dimensions of both walk together.
LogicalResult gatherNDOp(Importer &im) {
  Value data = im.input(0), idx = im.input(1);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto idxType = cast<RankedTensorType>(idx.getType());
  if (!isa<IntegerType>(idxType.getElementType()))
    return im.error() << "indices must be integers";
  int64_t r = dataType.getRank(), q = idxType.getRank();
  int64_t batch = im.attrInt("batch_dims", 0);
  if (batch < 0 || batch >= std::min(r, q))
    return im.error() << "batch_dims " << batch << " must be in [0, "
                      << std::min(r, q) << ")";
  int64_t k = idxType.getDimSize(q - 1);
  if (ShapedType::isDynamic(k) || k < 1 || k > r - batch)
    return im.error() << "the last dimension of indices must be a constant "
                         "in [1, "
                      << r - batch << "]";
  SmallVector<OpFoldResult> dataDims = im.tb().dims(data);
  SmallVector<OpFoldResult> idxDims = im.tb().dims(idx);
  for (int64_t d = 0; d < batch; ++d)
    im.tb().requireEqual(dataDims[d], idxDims[d],
                         "GatherND batch dimensions differ");
  SmallVector<OpFoldResult> outDims(idxDims.begin(), idxDims.end() - 1);
  outDims.append(dataDims.begin() + batch + k, dataDims.end());
  SmallVector<Value> sizes;
  for (int64_t j = 0; j < k; ++j)
    sizes.push_back(im.tb().index(dataDims[batch + j]));
  requireIndicesInRange(im, idx, sizes, "GatherND index out of range");
  int64_t ro = outDims.size();
  MLIRContext *ctx = im.builder().getContext();
  Value init = im.tb().empty(outDims, elementTypeOf(data));
  Value result =
      linalg::GenericOp::create(
          im.builder(), im.loc(), init.getType(), ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(ro, ctx)},
          SmallVector<utils::IteratorType>(ro, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nloc, ValueRange) {
            // Output dims: batch, then indices' other dims, then the slice.
            SmallVector<Value> tuple;
            for (int64_t d = 0; d < q - 1; ++d)
              tuple.push_back(linalg::IndexOp::create(nb, nloc, d));
            SmallVector<Value> coords(tuple.begin(), tuple.begin() + batch);
            for (int64_t j = 0; j < k; ++j) {
              SmallVector<Value> at = tuple;
              at.push_back(arith::ConstantIndexOp::create(nb, nloc, j));
              Value raw = tensor::ExtractOp::create(nb, nloc, idx, at);
              coords.push_back(wrapAndClampIndex(nb, nloc, raw, sizes[j]));
            }
            for (int64_t d = q - 1; d < ro; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nloc, d));
            linalg::YieldOp::create(
                nb, nloc,
                tensor::ExtractOp::create(nb, nloc, data, coords).getResult());
          })
          .getResult(0);
  im.setResult(0, result, im.inputEntry(0).isUnsigned);
  return success();
}

/// ScatterND: the data with the slices `updates` holds written (or combined
/// by `reduction`) at the index tuples of `indices` [..., k], in order.
/// A loop nest over the updates, inserting into the copy of the data.
LogicalResult scatterNDOp(Importer &im) {
  Value data = im.input(0), idx = im.input(1), updates = im.input(2);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto idxType = cast<RankedTensorType>(idx.getType());
  auto updType = cast<RankedTensorType>(updates.getType());
  if (!isa<IntegerType>(idxType.getElementType()))
    return im.error() << "indices must be integers";
  if (updType.getElementType() != dataType.getElementType())
    return im.error() << "updates must have the data's element type";
  int64_t r = dataType.getRank(), q = idxType.getRank();
  int64_t k = idxType.getDimSize(q - 1);
  if (ShapedType::isDynamic(k) || k < 1 || k > r)
    return im.error() << "the last dimension of indices must be a constant "
                         "in [1, "
                      << r << "]";
  int64_t u = q - 1 + r - k;
  if (updType.getRank() != u)
    return im.error() << "updates must have rank " << u << ", not "
                      << updType.getRank();
  std::string reduction = im.attrString("reduction", "none");
  Type element = dataType.getElementType();
  bool isFloat = isa<FloatType>(element);
  if (reduction != "none" && reduction != "add" && reduction != "mul" &&
      reduction != "max" && reduction != "min")
    return im.error() << "unsupported reduction '" << reduction << "'";
  SmallVector<OpFoldResult> dataDims = im.tb().dims(data);
  SmallVector<OpFoldResult> idxDims = im.tb().dims(idx);
  SmallVector<OpFoldResult> updDims = im.tb().dims(updates);
  for (int64_t d = 0; d < u; ++d)
    im.tb().requireEqual(updDims[d],
                         d < q - 1 ? idxDims[d] : dataDims[k + d - (q - 1)],
                         "ScatterND updates do not match indices and data");
  SmallVector<Value> sizes;
  for (int64_t j = 0; j < k; ++j)
    sizes.push_back(im.tb().index(dataDims[j]));
  requireIndicesInRange(im, idx, sizes, "ScatterND index out of range");
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> lbs(u, zero), steps(u, one), ubs;
  for (OpFoldResult d : updDims)
    ubs.push_back(im.tb().index(d));
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{data},
      [&](OpBuilder &nb, Location nloc, ValueRange ivs, ValueRange acc) {
        SmallVector<Value> tuple(ivs.begin(), ivs.begin() + (q - 1));
        SmallVector<Value> coords;
        for (int64_t j = 0; j < k; ++j) {
          SmallVector<Value> at = tuple;
          at.push_back(arith::ConstantIndexOp::create(nb, nloc, j));
          Value raw = tensor::ExtractOp::create(nb, nloc, idx, at);
          coords.push_back(wrapAndClampIndex(nb, nloc, raw, sizes[j]));
        }
        coords.append(ivs.begin() + (q - 1), ivs.end());
        Value v = tensor::ExtractOp::create(nb, nloc, updates, ivs);
        if (reduction != "none") {
          Value old = tensor::ExtractOp::create(nb, nloc, acc[0], coords);
          if (reduction == "add")
            v = isFloat ? arith::AddFOp::create(nb, nloc, old, v).getResult()
                        : arith::AddIOp::create(nb, nloc, old, v).getResult();
          else if (reduction == "mul")
            v = isFloat ? arith::MulFOp::create(nb, nloc, old, v).getResult()
                        : arith::MulIOp::create(nb, nloc, old, v).getResult();
          else if (reduction == "max")
            v = isFloat ? arith::MaximumFOp::create(nb, nloc, old, v).getResult()
                        : arith::MaxSIOp::create(nb, nloc, old, v).getResult();
          else
            v = isFloat ? arith::MinimumFOp::create(nb, nloc, old, v).getResult()
                        : arith::MinSIOp::create(nb, nloc, old, v).getResult();
        }
        return SmallVector<Value>{
            tensor::InsertOp::create(nb, nloc, v, acc[0], coords).getResult()};
      });
  im.setResult(0, nest.results.front(), im.inputEntry(0).isUnsigned);
  return success();
}

/// CumSum along a constant axis: out[.., i, ..] sums in[.., j, ..] over
/// j <= i (j < i when exclusive; j >= i, j > i reversed), as a reduction
/// over a second copy of the axis. Quadratic in the axis' length: the
/// exporters' CumSum runs over attention masks and positions (a few
/// thousand at most), where that is cheap and stays one parallel loop.
LogicalResult cumSumOp(Importer &im) {
  Value input = im.input(0);
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  FailureOr<SmallVector<int64_t>> axes = im.constantInts(1, "axis");
  if (failed(axes))
    return failure();
  if (axes->size() != 1)
    return im.error() << "axis must be one value";
  FailureOr<int64_t> axis = axisOf(im, (*axes)[0], rank);
  if (failed(axis))
    return failure();
  bool exclusive = im.attrInt("exclusive", 0), reverse = im.attrInt("reverse", 0);
  Type element = type.getElementType();
  MLIRContext *ctx = im.builder().getContext();
  // Loops: the output's dims, then j (the summed position along the axis).
  SmallVector<AffineExpr> inExprs;
  for (int64_t d = 0; d < rank; ++d)
    inExprs.push_back(getAffineDimExpr(d == *axis ? rank : d, ctx));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  Value init = im.tb().filled(im.tb().dims(input), im.tb().scalar(element, 0));
  arith::CmpIPredicate keep =
      reverse ? (exclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
              : (exclusive ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
  Value result =
      linalg::GenericOp::create(
          im.builder(), im.loc(), init.getType(), ValueRange{input},
          ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(rank + 1, 0, inExprs, ctx),
                              AffineMap::getMultiDimIdentityMap(rank + 1, ctx)
                                  .getMajorSubMap(rank)},
          iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Value j = linalg::IndexOp::create(nb, nloc, rank);
            Value i = linalg::IndexOp::create(nb, nloc, *axis);
            Value in = arith::CmpIOp::create(nb, nloc, keep, j, i);
            Value sum = isa<FloatType>(element)
                            ? arith::AddFOp::create(nb, nloc, a[1], a[0]).getResult()
                            : arith::AddIOp::create(nb, nloc, a[1], a[0]).getResult();
            linalg::YieldOp::create(
                nb, nloc, arith::SelectOp::create(nb, nloc, in, sum, a[1]).getResult());
          })
          .getResult(0);
  im.setResult(0, result, im.inputEntry(0).isUnsigned);
  return success();
}

LogicalResult sliceOp(Importer &im) {
  auto starts = im.inputElements(1), ends = im.inputElements(2);
  if (!starts || !ends)
    return im.error() << "starts and ends must be computable from the "
                         "graph's shapes";
  int64_t rank = im.inputRank(0);
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (im.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> a = im.constantInts(3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (im.hasInput(4)) {
    FailureOr<SmallVector<int64_t>> s = im.constantInts(4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  }
  if (axes.size() != starts->size() || ends->size() != starts->size() ||
      steps.size() != starts->size())
    return im.error() << "starts, ends, axes and steps differ in length";
  // A slice of a shape (today's exporter takes dims as shape[-2:-1]) stays
  // known elementwise, so the Reshape it feeds has a computable target.
  const Imported &entry = im.inputEntry(0);
  if (entry.elements && rank == 1 && axes.size() == 1 && steps[0] > 0) {
    std::optional<int64_t> first = getConstantIntValue((*starts)[0]),
                           last = getConstantIntValue((*ends)[0]);
    if (first && last) {
      auto n = static_cast<int64_t>(entry.elements->size());
      auto clamp = [&](int64_t v) {
        if (v < 0)
          v = v < -n ? 0 : v + n;
        return std::min(v, n);
      };
      SmallVector<Value> picked;
      for (int64_t i = clamp(*first); i < clamp(*last); i += steps[0])
        picked.push_back((*entry.elements)[i]);
      im.setResultElements(0, picked, false, entry.elementType);
      return success();
    }
  }
  Value input = im.input(0);
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  SmallVector<OpFoldResult> dims = im.tb().dims(input);
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes = dims,
      strides(rank, b.getIndexAttr(1));
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = axisOf(im, axes[i], rank);
    if (failed(axis))
      return failure();
    if (steps[i] <= 0)
      return im.error() << "only positive steps are supported, not "
                        << steps[i];
    Value d = toI64(im, im.tb().index(dims[*axis]));
    Value zero = i64(im, 0);
    // ONNX clamps: negative counts from the end, then into [0, dim].
    auto clampIndex = [&](Value v) {
      v = toI64(im, v);
      Value neg = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::slt,
                                                v, zero);
      v = b.createOrFold<arith::SelectOp>(
          loc, neg, b.createOrFold<arith::AddIOp>(loc, v, d), v);
      v = b.createOrFold<arith::MaxSIOp>(loc, v, zero);
      return b.createOrFold<arith::MinSIOp>(loc, v, d);
    };
    Value start = clampIndex((*starts)[i]), end = clampIndex((*ends)[i]);
    Value span = b.createOrFold<arith::SubIOp>(loc, end, start);
    Value size = b.createOrFold<arith::CeilDivSIOp>(loc, span,
                                                    i64(im, steps[i]));
    size = b.createOrFold<arith::MaxSIOp>(loc, size, zero);
    offsets[*axis] = getAsOpFoldResult(toIndex(im, start));
    sizes[*axis] = getAsOpFoldResult(toIndex(im, size));
    strides[*axis] = b.getIndexAttr(steps[i]);
  }
  im.setResult(0, tensor::ExtractSliceOp::create(b, loc, input, offsets, sizes,
                                                 strides),
               im.inputEntry(0).isUnsigned);
  return success();
}

LogicalResult splitOp(Importer &im) {
  Value input = im.input(0);
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  FailureOr<int64_t> axis = axisAttr(im, 0, rank);
  if (failed(axis))
    return failure();
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  SmallVector<OpFoldResult> dims = im.tb().dims(input);
  int outputs = im.node().output_size();
  // Opset 18's num_outputs names the count the outputs already give.
  if (int64_t n = im.attrInt("num_outputs", outputs); n != outputs)
    return im.error() << "num_outputs is " << n << " but the node has "
                      << outputs << " outputs";
  SmallVector<OpFoldResult> sizes;
  std::optional<SmallVector<int64_t>> split = im.attrInts("split");
  if (im.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> s = im.constantInts(1, "split");
    if (failed(s))
      return failure();
    split = *s;
  }
  if (split) {
    if ((int)split->size() != outputs)
      return im.error() << "split has " << split->size() << " sizes for "
                        << outputs << " outputs";
    for (int64_t s : *split)
      sizes.push_back(b.getIndexAttr(s));
  } else {
    Value d = im.tb().index(dims[*axis]);
    Value n = arith::ConstantIndexOp::create(b, loc, outputs);
    Value part = b.createOrFold<arith::CeilDivUIOp>(loc, d, n);
    for (int i = 0; i < outputs; ++i) {
      if (i + 1 < outputs) {
        sizes.push_back(getAsOpFoldResult(part));
        continue;
      }
      Value used = b.createOrFold<arith::MulIOp>(
          loc, part, arith::ConstantIndexOp::create(b, loc, outputs - 1));
      sizes.push_back(
          getAsOpFoldResult(b.createOrFold<arith::SubIOp>(loc, d, used)));
    }
  }
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  for (int i = 0; i < outputs; ++i) {
    SmallVector<OpFoldResult> offs(rank, b.getIndexAttr(0)), szs = dims,
        strides(rank, b.getIndexAttr(1));
    offs[*axis] = getAsOpFoldResult(offset);
    szs[*axis] = sizes[i];
    im.setResult(i, tensor::ExtractSliceOp::create(b, loc, input, offs, szs,
                                                   strides));
    offset = b.createOrFold<arith::AddIOp>(loc, offset,
                                           im.tb().index(sizes[i]));
  }
  return success();
}

LogicalResult transposeOp(Importer &im) {
  Value input = im.input(0);
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  SmallVector<int64_t> perm;
  if (auto p = im.attrInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<int64_t> check(perm);
  llvm::sort(check);
  for (int64_t i = 0; i < (int64_t)check.size(); ++i)
    if (check[i] != i || (int64_t)perm.size() != rank)
      return im.error() << "perm is not a permutation of " << rank
                        << " dimensions";
  im.setResult(0, im.tb().transpose(input, perm), im.inputEntry(0).isUnsigned);
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

enum class Red { Sum, Mean, Max, Min };

FailureOr<SmallVector<int64_t>> reductionAxes(Importer &im, int64_t rank) {
  auto axes = axesOperand(im, 1);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> out;
  if (!*axes || (*axes)->empty()) {
    if (im.attrInt("noop_with_empty_axes", 0))
      return out;
    for (int64_t i = 0; i < rank; ++i)
      out.push_back(i);
    return out;
  }
  for (int64_t a : **axes) {
    FailureOr<int64_t> n = axisOf(im, a, rank);
    if (failed(n))
      return failure();
    out.push_back(*n);
  }
  llvm::sort(out);
  return out;
}

/// Reduces `input` over `axes`, keeping them as unit dimensions unless
/// `keepDims` is false.
Value reduceKeep(Importer &im, Value input, ArrayRef<int64_t> axes, Red kind,
                 bool keepDims = true) {
  Type element = elementTypeOf(input);
  TensorBuilder tb = im.tb();
  bool isFloat = isa<FloatType>(element);
  Value init;
  if (kind == Red::Max || kind == Red::Min) {
    if (isFloat) {
      auto ft = cast<FloatType>(element);
      init = arith::ConstantOp::create(
          im.builder(), im.loc(), element,
          im.builder().getFloatAttr(
              element, APFloat::getInf(ft.getFloatSemantics(),
                                       kind == Red::Max)));
    } else {
      unsigned w = element.getIntOrFloatBitWidth();
      init = arith::ConstantOp::create(
          im.builder(), im.loc(), element,
          im.builder().getIntegerAttr(element, kind == Red::Max
                                                   ? APInt::getSignedMinValue(w)
                                                   : APInt::getSignedMaxValue(w)));
    }
  } else {
    init = tb.scalar(element, 0);
  }
  Value r = tb.reduce(input, axes, init,
                      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                        Bin k = kind == Red::Max   ? Bin::Max
                                : kind == Red::Min ? Bin::Min
                                                   : Bin::Add;
                        return binaryScalar(nb, nloc, k, a[0], a[1], false);
                      },
                      keepDims);
  if (kind != Red::Mean)
    return r;
  // Divide by the number of reduced elements.
  OpBuilder &b = im.builder();
  Location loc = im.loc();
  SmallVector<OpFoldResult> dims = tb.dims(input);
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t a : axes)
    count = b.createOrFold<arith::MulIOp>(loc, count, tb.index(dims[a]));
  Value n = b.createOrFold<arith::IndexCastOp>(loc, b.getI64Type(), count);
  n = tb.convertScalar(n, element, true);
  return tb.map({r}, element, [&](OpBuilder &nb, Location nloc, ValueRange a) {
    return binaryScalar(nb, nloc, Bin::Div, a[0], n, false);
  });
}

LogicalResult reduceOp(Importer &im, Red kind) {
  Value input = im.input(0);
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  FailureOr<SmallVector<int64_t>> axes = reductionAxes(im, rank);
  if (failed(axes))
    return failure();
  if (kind == Red::Mean && !isa<FloatType>(elementTypeOf(input)))
    return im.error() << "ReduceMean needs a floating-point operand";
  im.setResult(0, reduceKeep(im, input, *axes, kind,
                             im.attrInt("keepdims", 1) != 0));
  return success();
}

LogicalResult softmaxOp(Importer &im) {
  Value x = im.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = axisAttr(im, -1, rank);
  if (failed(axis))
    return failure();
  Type element = elementTypeOf(x);
  if (!isa<FloatType>(element))
    return im.error() << "needs a floating-point operand";
  TensorBuilder tb = im.tb();
  // exp(x - max) / sum(exp(x - max)), stable for large logits.
  Value max = reduceKeep(im, x, {*axis}, Red::Max);
  Value e = tb.map({x, max}, element,
                   [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                     return math::ExpOp::create(
                         nb, nloc, arith::SubFOp::create(nb, nloc, a[0], a[1]));
                   });
  Value sum = reduceKeep(im, e, {*axis}, Red::Sum);
  im.setResult(0, tb.map({e, sum}, element,
                         [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                           return arith::DivFOp::create(nb, nloc, a[0], a[1]);
                         }));
  return success();
}

LogicalResult layerNormOp(Importer &im) {
  Value x = im.input(0), scale = im.input(1);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = axisAttr(im, -1, rank);
  if (failed(axis))
    return failure();
  Type element = elementTypeOf(x);
  float epsilon = im.attrFloat("epsilon", 1e-5f);
  SmallVector<int64_t> axes;
  for (int64_t i = *axis; i < rank; ++i)
    axes.push_back(i);
  TensorBuilder tb = im.tb();
  Value mean = reduceKeep(im, x, axes, Red::Mean);
  Value centered = tb.map({x, mean}, element,
                          [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                            return arith::SubFOp::create(nb, nloc, a[0], a[1]);
                          });
  Value squares = tb.map({centered}, element,
                         [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                           return arith::MulFOp::create(nb, nloc, a[0], a[0]);
                         });
  Value variance = reduceKeep(im, squares, axes, Red::Mean);
  Value eps = tb.scalar(element, epsilon);
  Value invStd = tb.map({variance}, element,
                        [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                          Value s = math::SqrtOp::create(
                              nb, nloc, arith::AddFOp::create(nb, nloc, a[0], eps));
                          return arith::DivFOp::create(
                              nb, nloc, TensorBuilder(nb, nloc).scalar(element, 1),
                              s);
                        });
  SmallVector<Value> operands = {centered, invStd, scale};
  if (im.hasInput(2))
    operands.push_back(im.input(2));
  Value y = tb.map(operands, element,
                   [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                     Value r = arith::MulFOp::create(
                         nb, nloc, arith::MulFOp::create(nb, nloc, a[0], a[1]),
                         a[2]);
                     return a.size() > 3 ? arith::AddFOp::create(nb, nloc, r, a[3])
                                         : r;
                   });
  im.setResult(0, y);
  im.setResult(1, mean);
  im.setResult(2, invStd);
  return success();
}

LogicalResult geluOp(Importer &im) {
  Value x = im.input(0);
  Type element = elementTypeOf(x);
  bool tanhApprox = im.attrString("approximate", "none") == "tanh";
  im.setResult(0, im.tb().map({x}, element,
                              [&](OpBuilder &nb, Location nloc,
                                  ValueRange a) -> Value {
    TensorBuilder sb(nb, nloc);
    Value v = a[0];
    Value half = sb.scalar(element, 0.5), one = sb.scalar(element, 1.0);
    Value inner;
    if (tanhApprox) {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value x3 = arith::MulFOp::create(
          nb, nloc, v, arith::MulFOp::create(nb, nloc, v, v));
      Value poly = arith::AddFOp::create(
          nb, nloc, v,
          arith::MulFOp::create(nb, nloc, sb.scalar(element, 0.044715), x3));
      inner = math::TanhOp::create(
          nb, nloc,
          arith::MulFOp::create(nb, nloc,
                                sb.scalar(element, std::sqrt(2.0 / M_PI)),
                                poly));
    } else {
      // 0.5 x (1 + erf(x / sqrt 2))
      inner = math::ErfOp::create(
          nb, nloc,
          arith::MulFOp::create(nb, nloc, v, sb.scalar(element, M_SQRT1_2)));
    }
    return arith::MulFOp::create(
        nb, nloc, arith::MulFOp::create(nb, nloc, half, v),
        arith::AddFOp::create(nb, nloc, one, inner));
  }));
  return success();
}

LogicalResult triluOp(Importer &im) {
  Value x = im.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (rank < 2)
    return im.error() << "needs rank 2 or more";
  Value k = im.hasInput(1) ? toI64(im, scalarOperand(im, 1)) : i64(im, 0);
  bool upper = im.attrInt("upper", 1) != 0;
  Type element = elementTypeOf(x);
  im.setResult(0, im.tb().map({x}, element,
                              [&](OpBuilder &nb, Location nloc,
                                  ValueRange a) -> Value {
    Value i = arith::IndexCastOp::create(
        nb, nloc, nb.getI64Type(), linalg::IndexOp::create(nb, nloc, rank - 2));
    Value j = arith::IndexCastOp::create(
        nb, nloc, nb.getI64Type(), linalg::IndexOp::create(nb, nloc, rank - 1));
    Value diff = arith::SubIOp::create(nb, nloc, j, i);
    Value keep = arith::CmpIOp::create(
        nb, nloc, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
        diff, k);
    return arith::SelectOp::create(nb, nloc, keep, a[0],
                                   TensorBuilder(nb, nloc).scalar(element, 0));
  }));
  return success();
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

/// x · W (+ bias) with a constant weight: the op quantization targets.
/// `v` if it is a 2-D transpose of a constant (a weight stored as [N, K]:
/// Gemm's transB, Transpose before MatMul), as a new constant holding the
/// transposed values, or null. The quantization passes rewrite qc.linear
/// weights that are constants; a transpose op left in between would keep
/// the layer in f32.
Value transposedConstant(Importer &im, Value v) {
  auto transpose = v.getDefiningOp<linalg::TransposeOp>();
  if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
    return Value();
  auto constant = transpose.getInput().getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(transpose.getInput().getType());
  if (!constant || !type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isIntOrFloat() ||
      type.getElementType().getIntOrFloatBitWidth() % 8)
    return Value();
  std::vector<char> in =
      quantc::storedBytes(cast<ElementsAttr>(constant.getValue()));
  const int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  const size_t width = type.getElementType().getIntOrFloatBitWidth() / 8;
  if (in.size() != size_t(rows * cols) * width)
    return Value(); // a splat: left to the generic transpose
  std::vector<char> out(in.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(&out[(c * rows + r) * width], &in[(r * cols + c) * width],
                  width);
  auto outType =
      RankedTensorType::get({cols, rows}, type.getElementType());
  // As the importer stores initializers: weights in resources, small
  // constants inline.
  ElementsAttr value =
      out.size() > 256
          ? ElementsAttr(DenseResourceElementsAttr::get(
                outType, im.layerName() + ".weight",
                HeapAsmResourceBlob::allocateAndCopyWithAlign(
                    ArrayRef<char>(out.data(), out.size()), width)))
          : ElementsAttr(DenseElementsAttr::getFromRawBuffer(
                outType, ArrayRef<char>(out.data(), out.size())));
  return arith::ConstantOp::create(im.builder(), im.loc(), cast<TypedAttr>(value));
}

/// qc.linear of x and `weight`: a K x N f32 constant or a qc.qconstant.
Value linear(Importer &im, Value x, Value weight, Value bias) {
  int64_t n;
  if (auto q = dyn_cast<quantc::qc::QWeightType>(weight.getType())) {
    n = q.getOutputDim();
  } else {
    if (Value folded = transposedConstant(im, weight))
      weight = folded;
    n = cast<RankedTensorType>(weight.getType()).getDimSize(1);
  }
  auto xType = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> dims = im.tb().dims(x);
  dims.back() = im.builder().getIndexAttr(n);
  auto resultType = TensorBuilder::tensorType(dims, xType.getElementType());
  auto op = quantc::qc::LinearOp::create(
      im.builder(), im.loc(), resultType, x, weight, bias,
      im.builder().getStringAttr(im.layerName()));
  return op.getResult();
}

LogicalResult matmulOp(Importer &im) {
  Value a = im.input(0), bMat = im.input(1);
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bMat.getType());
  if (aType.getElementType() != bType.getElementType())
    return im.error() << "operand element types differ: "
                      << aType.getElementType() << " and "
                      << bType.getElementType();
  if (aType.getRank() < 1 || bType.getRank() < 1)
    return im.error() << "operands must have rank 1 or more";
  int64_t k = aType.getShape().back();
  int64_t kb = bType.getRank() == 1 ? bType.getDimSize(0)
                                    : bType.getDimSize(bType.getRank() - 2);
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(kb) && k != kb)
    return im.error() << "inner dimensions differ: " << aType << " times "
                      << bType;
  // B = DequantizeLinear(int8 codes): the layer keeps them (quantizedWeight).
  const WeightBuilder &qweight = im.inputEntry(1).qweight;
  Value q = qweight && aType.getElementType().isF32()
                ? qweight(/*channelsAreRows=*/false)
                : Value();
  if (q) {
    im.setResult(0, linear(im, a, q, Value()));
    return success();
  }
  if (bType.getRank() == 2 && bType.hasStaticShape() &&
      isa<FloatType>(bType.getElementType()) && isConstantDerived(bMat)) {
    im.setResult(0, linear(im, a, bMat, Value()));
    return success();
  }
  // Rank-1 operands: a row vector on the left, a column on the right.
  TensorBuilder tb = im.tb();
  bool vecA = aType.getRank() == 1, vecB = bType.getRank() == 1;
  if (vecA)
    a = tb.expandUnitDims(a, {0});
  if (vecB)
    bMat = tb.expandUnitDims(bMat, {1});
  Value r = tb.matmul(a, bMat);
  int64_t rr = cast<RankedTensorType>(r.getType()).getRank();
  SmallVector<int64_t> drop;
  if (vecA)
    drop.push_back(rr - 2);
  if (vecB)
    drop.push_back(rr - 1);
  im.setResult(0, tb.collapseUnitDims(r, drop));
  return success();
}

LogicalResult gemmOp(Importer &im) {
  Value a = im.input(0), bMat = im.input(1);
  TensorBuilder tb = im.tb();
  bool transA = im.attrInt("transA", 0), transB = im.attrInt("transB", 0);
  float alpha = im.attrFloat("alpha", 1.0f), beta = im.attrFloat("beta", 1.0f);
  // B = DequantizeLinear(int8 codes), N x K with transB: the layer keeps
  // them (quantizedWeight), channels along the rows where B is transposed.
  const WeightBuilder &qweight = im.inputEntry(1).qweight;
  Value q = qweight && !transA && alpha == 1.0f &&
                    cast<RankedTensorType>(a.getType()).getElementType().isF32()
                ? qweight(/*channelsAreRows=*/transB)
                : Value();
  if (transA)
    a = tb.transpose(a, {1, 0});
  if (transB)
    bMat = tb.transpose(bMat, {1, 0});
  Value c = im.hasInput(2) ? im.input(2) : Value();
  auto bType = cast<RankedTensorType>(bMat.getType());
  Type element = bType.getElementType();
  Value r;
  if (q || (alpha == 1.0f && bType.hasStaticShape() &&
            isa<FloatType>(element) && isConstantDerived(bMat))) {
    // A bias of shape [N] (or [1, N]) folds into the linear layer.
    Value bias;
    if (c && beta == 1.0f) {
      auto cType = cast<RankedTensorType>(c.getType());
      if (cType.getRank() == 1 && cType.getDimSize(0) == bType.getDimSize(1))
        bias = c;
      else if (cType.getRank() == 2 && cType.getDimSize(0) == 1 &&
               cType.getDimSize(1) == bType.getDimSize(1))
        bias = tb.collapseUnitDims(c, {0});
    }
    r = linear(im, a, q ? q : bMat, bias);
    if (bias)
      c = Value();
  } else {
    r = tb.matmul(a, bMat);
    if (alpha != 1.0f) {
      Value s = tb.scalar(element, alpha);
      r = tb.map({r}, element, [&](OpBuilder &nb, Location nloc, ValueRange v) {
        return binaryScalar(nb, nloc, Bin::Mul, v[0], s, false);
      });
    }
  }
  if (c) {
    Value s = tb.scalar(element, beta);
    r = tb.map({r, c}, element,
               [&](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
                 Value cc = beta == 1.0f
                                ? v[1]
                                : binaryScalar(nb, nloc, Bin::Mul, v[1], s,
                                               false);
                 return binaryScalar(nb, nloc, Bin::Add, v[0], cc, false);
               });
  }
  im.setResult(0, r);
  return success();
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// Einsum without ellipsis or repeated letters within an operand: one
/// linalg.generic whose loops are the output letters, then the contracted
/// ones.
LogicalResult einsumOp(Importer &im) {
  std::string equation = im.attrString("equation", "");
  equation.erase(std::remove(equation.begin(), equation.end(), ' '),
                 equation.end());
  size_t arrow = equation.find("->");
  if (arrow == std::string::npos || equation.find("...") != std::string::npos)
    return im.error() << "only explicit equations ('ij,jk->ik') without "
                         "'...' are supported, not '"
                      << equation << "'";
  SmallVector<StringRef> terms;
  StringRef(equation).substr(0, arrow).split(terms, ',');
  StringRef out = StringRef(equation).substr(arrow + 2);
  if ((int)terms.size() != im.numInputs())
    return im.error() << "equation has " << terms.size() << " operands, node "
                      << im.numInputs();
  for (char c : equation)
    if (!llvm::isAlpha(c) && c != ',' && c != '-' && c != '>')
      return im.error() << "equation '" << equation
                        << "' holds a character other than letters";
  std::string letters(out);
  for (auto [k, c] : llvm::enumerate(out))
    if (out.find(c, k + 1) != StringRef::npos)
      return im.error() << "repeated letter '" << c << "' in the output '"
                        << out << "'";
  for (char c : out)
    if (llvm::none_of(terms, [&](StringRef t) { return t.contains(c); }))
      return im.error() << "output letter '" << c
                        << "' is in no operand's term";
  for (StringRef t : terms)
    for (char c : t)
      if (letters.find(c) == std::string::npos)
        letters.push_back(c);
  MLIRContext *ctx = im.builder().getContext();
  auto loopOf = [&](char c) { return (int64_t)letters.find(c); };
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<OpFoldResult> sizes(letters.size());
  for (auto [i, t] : llvm::enumerate(terms)) {
    Value v = im.input(i);
    auto type = cast<RankedTensorType>(v.getType());
    if ((int64_t)t.size() != type.getRank())
      return im.error() << "term '" << t << "' does not match operand " << i
                        << " of rank " << type.getRank();
    SmallVector<OpFoldResult> dims = im.tb().dims(v);
    SmallVector<AffineExpr> exprs;
    for (auto [k, c] : llvm::enumerate(t)) {
      if (t.count(c) > 1)
        return im.error() << "repeated letter '" << c << "' in term '" << t
                          << "' is not supported";
      OpFoldResult &size = sizes[loopOf(c)];
      if (size) {
        // A letter's operands agree on its size (checked when it runs
        // where it is dynamic).
        std::optional<int64_t> a = getConstantIntValue(size),
                               b = getConstantIntValue(dims[k]);
        if (a && b && *a != *b)
          return im.error() << "letter '" << c << "' has size " << *a
                            << " and " << *b;
        im.tb().requireEqual(size, dims[k],
                             "einsum operands differ in a letter's size");
      }
      if (!size || getConstantIntValue(dims[k]))
        size = dims[k];
      exprs.push_back(getAffineDimExpr(loopOf(c), ctx));
    }
    inputs.push_back(v);
    maps.push_back(AffineMap::get(letters.size(), 0, exprs, ctx));
  }
  SmallVector<AffineExpr> outExprs;
  SmallVector<OpFoldResult> outDims;
  SmallVector<utils::IteratorType> iterators;
  for (size_t k = 0; k < letters.size(); ++k) {
    bool inOut = k < out.size();
    iterators.push_back(inOut ? utils::IteratorType::parallel
                              : utils::IteratorType::reduction);
    if (inOut) {
      outExprs.push_back(getAffineDimExpr(k, ctx));
      outDims.push_back(sizes[k]);
    }
  }
  maps.push_back(AffineMap::get(letters.size(), 0, outExprs, ctx));
  Type element = elementTypeOf(inputs[0]);
  Value acc = im.tb().filled(outDims, im.tb().scalar(element, 0));
  bool isFloat = isa<FloatType>(element);
  Value r = linalg::GenericOp::create(
                im.builder(), im.loc(), acc.getType(), inputs, ValueRange{acc},
                maps, iterators,
                [&](OpBuilder &nb, Location nloc, ValueRange a) {
                  Value p = a[0];
                  for (size_t i = 1; i + 1 < a.size(); ++i)
                    p = binaryScalar(nb, nloc, Bin::Mul, p, a[i], false);
                  Value sum = isFloat
                                  ? arith::AddFOp::create(nb, nloc, a.back(), p)
                                        .getResult()
                                  : arith::AddIOp::create(nb, nloc, a.back(), p)
                                        .getResult();
                  linalg::YieldOp::create(nb, nloc, sum);
                })
                .getResult(0);
  im.setResult(0, r);
  return success();
}

//===----------------------------------------------------------------------===//
// ONNX quantization operators
//===----------------------------------------------------------------------===//

/// A per-tensor (scalar) or per-axis (1-D) quantization parameter, reshaped
/// to broadcast against a tensor of `rank` along `axis` (only checked, and
/// only normalized, for per-axis parameters).
FailureOr<Value> quantParam(Importer &im, int operand, int64_t rank,
                            int64_t rawAxis) {
  Value p = im.input(operand);
  auto type = cast<RankedTensorType>(p.getType());
  if (type.getRank() == 0 || (type.getRank() == 1 && type.getDimSize(0) == 1))
    return type.getRank() == 0 ? p : im.tb().collapseUnitDims(p, {0});
  if (type.getRank() != 1)
    return im.error() << "block-wise quantization parameters (rank "
                      << type.getRank() << ") are not supported";
  FailureOr<int64_t> axis = axisOf(im, rawAxis, rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> units;
  for (int64_t i = 0; i < rank; ++i)
    if (i != *axis)
      units.push_back(i);
  return im.tb().expandUnitDims(p, units);
}

/// Operand `i` if it is a constant of f32 values.
std::optional<std::vector<float>> constantFloats(Importer &im, int i) {
  auto c = im.input(i).getDefiningOp<arith::ConstantOp>();
  FailureOr<std::vector<float>> v =
      c ? quantc::floatValues(cast<ElementsAttr>(c.getValue()))
        : FailureOr<std::vector<float>>(failure());
  if (failed(v))
    return std::nullopt;
  return *v;
}

/// Zero point operand `i` if it is a constant of 8-bit integers (as
/// unsigned where its ONNX type is); zeros where it is not given.
std::optional<std::vector<int64_t>> constantZeroPoints(Importer &im, int i,
                                                       int64_t count) {
  if (!im.hasInput(i))
    return std::vector<int64_t>(size_t(count), 0);
  const Imported &entry = im.inputEntry(i);
  auto c = im.input(i).getDefiningOp<arith::ConstantOp>();
  if (!c || !entry.elementType.isInteger(8))
    return std::nullopt;
  std::vector<int64_t> out;
  for (char byte : quantc::storedBytes(cast<ElementsAttr>(c.getValue())))
    out.push_back(entry.isUnsigned ? int64_t(uint8_t(byte))
                                   : int64_t(int8_t(byte)));
  return out;
}

/// The codes' zero point if the codes are 8-bit with zero point 0 (int8)
/// or 128 (uint8): both are int8 symmetric codes, q - 128 for uint8.
bool symmetric8(bool isUnsigned, int64_t zeroPoint) {
  return zeroPoint == (isUnsigned ? 128 : 0);
}

/// DequantizeLinear(QuantizeLinear(x, s, z), s, z) with one constant scale
/// and 8-bit codes as qc.quantize + qc.dequantize of x, the form of a static
/// int8 activation that targets execute in int8 (a layer reading it
/// multiplies int8 x int8 on the CPU). uint8 codes are stored as q - 128
/// with zero point z - 128 (the same values). Null where the pair is
/// anything else.
Value quantizedActivation(Importer &im) {
  const Imported &codes = im.inputEntry(0);
  if (!codes.quantizedFrom)
    return Value();
  std::optional<std::vector<float>> scale = constantFloats(im, 1);
  std::optional<std::vector<int64_t>> zero = constantZeroPoints(im, 2, 1);
  if (!scale || scale->size() != 1 || double((*scale)[0]) != codes.quantScale ||
      !zero || zero->size() != 1 || (*zero)[0] != codes.quantZeroPoint)
    return Value();
  Value x = codes.quantizedFrom;
  auto type = cast<RankedTensorType>(x.getType());
  OpBuilder &b = im.builder();
  auto element = quant::UniformQuantizedType::get(
      quant::QuantizationFlags::Signed, b.getI8Type(), type.getElementType(),
      codes.quantScale, codes.quantZeroPoint - (codes.isUnsigned ? 128 : 0),
      -128, 127);
  Value q = quantc::qc::QuantizeOp::create(
      b, im.loc(), RankedTensorType::get(type.getShape(), element), x);
  return quantc::qc::DequantizeOp::create(b, im.loc(), type, q);
}

/// DequantizeLinear of a constant 2-D weight of 8-bit codes with f32 scales
/// per row (axis 0), per column (axis 1) or per tensor and zero points to
/// match: a builder of the int8 per-channel qc.qconstant holding the same
/// values exactly -- symmetric where every zero point is (see symmetric8),
/// else affine (unsigned codes and zero points: int8 ones plus 128). The
/// layer that reads it says which dimension its channels are (MatMul's B,
/// K x N: the columns; Gemm's B with transB: the rows); the builder gives
/// null where the scales run along the other one. Null for anything else.
WeightBuilder quantizedWeight(Importer &im) {
  const Imported &w = im.inputEntry(0);
  auto constant = w.tensor ? w.tensor.getDefiningOp<arith::ConstantOp>()
                           : arith::ConstantOp();
  auto type = constant ? dyn_cast<RankedTensorType>(constant.getType())
                       : RankedTensorType();
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isInteger(8))
    return nullptr;
  const int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  std::optional<std::vector<float>> scales = constantFloats(im, 1);
  if (!scales || scales->empty())
    return nullptr;
  // The dimension the scales run along: -1 for one scale.
  int64_t axis = -1;
  if (scales->size() != 1) {
    axis = im.attrInt("axis", 1);
    axis = axis < 0 ? axis + 2 : axis;
    if ((axis != 0 && axis != 1) ||
        int64_t(scales->size()) != type.getDimSize(axis))
      return nullptr;
  }
  std::optional<std::vector<int64_t>> zeros =
      constantZeroPoints(im, 2, int64_t(scales->size()));
  if (!zeros || zeros->size() != scales->size())
    return nullptr;
  for (float s : *scales)
    if (!std::isfinite(s))
      return nullptr;
  bool isUnsigned = w.isUnsigned;
  std::string name = im.node().input(0);
  auto codes = cast<ElementsAttr>(constant.getValue());
  Location loc = im.loc();
  // Built once per layout, where the codes are (so that it dominates every
  // reader, in nested regions or not).
  auto built = std::make_shared<std::array<Value, 2>>();
  return [=, scales = *scales, zeros = *zeros](bool channelsAreRows) -> Value {
    if (axis != -1 && axis != (channelsAreRows ? 0 : 1))
      return Value();
    Value &cached = (*built)[channelsAreRows];
    if (cached)
      return cached;
    bool symmetric = llvm::all_of(
        zeros, [&](int64_t z) { return symmetric8(isUnsigned, z); });
    std::vector<char> bytes = quantc::storedBytes(codes);
    OpBuilder b(constant);
    b.setInsertionPointAfter(constant);
    MLIRContext *ctx = b.getContext();
    auto format = quantc::qc::FormatAttr::get(
        ctx, quantc::qc::ElementCode::Int, 8, symmetric,
        quantc::qc::Granularity::PerChannel, 0, Float32Type::get(ctx), 0, 0,
        false);
    quantc::numerics::QuantizedMatrix q;
    q.n = channelsAreRows ? rows : cols;
    q.k = channelsAreRows ? cols : rows;
    q.format = quantc::qc::toNumericsFormat(format);
    // Channel-major: row c holds channel c's K codes, two's complement
    // (symmetric) or unsigned (affine).
    const uint8_t flip = (symmetric == isUnsigned) ? 0x80 : 0;
    q.codes.resize(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        int64_t channel = channelsAreRows ? r : c, in = channelsAreRows ? c : r;
        q.codes[size_t(channel * q.k + in)] =
            uint8_t(bytes[size_t(r * cols + c)]) ^ flip;
      }
    for (int64_t c = 0; c < q.n; ++c) {
      size_t at = scales.size() == 1 ? 0 : size_t(c);
      q.scales.push_back(scales[at]);
      if (!symmetric)
        q.zeroPoints.push_back(uint8_t(zeros[at] + (isUnsigned ? 0 : 128)));
    }
    auto qtype = quantc::qc::QWeightType::get(ctx, q.k, q.n, format);
    return cached = quantc::buildQConstant(b, loc, qtype, q, name).getResult();
  };
}

LogicalResult dequantizeLinearOp(Importer &im) {
  if (Value xq = quantizedActivation(im)) {
    im.setResult(0, xq);
    return success();
  }
  Value x = im.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  int64_t axis = im.attrInt("axis", 1);
  FailureOr<Value> scale = quantParam(im, 1, rank, axis);
  if (failed(scale))
    return failure();
  SmallVector<Value> operands = {x, *scale};
  if (im.hasInput(2)) {
    FailureOr<Value> zero = quantParam(im, 2, rank, axis);
    if (failed(zero))
      return failure();
    operands.push_back(*zero);
  }
  bool isUnsigned = im.inputEntry(0).isUnsigned;
  Type element = elementTypeOf(*scale);
  im.setResult(0, im.tb().map(operands, element,
                              [&](OpBuilder &nb, Location nloc,
                                  ValueRange a) -> Value {
    TensorBuilder sb(nb, nloc);
    Type wide = nb.getI32Type();
    Value q = sb.convertScalar(a[0], wide, isUnsigned);
    if (a.size() > 2)
      q = arith::SubIOp::create(nb, nloc, q,
                                sb.convertScalar(a[2], wide, isUnsigned));
    return arith::MulFOp::create(nb, nloc, sb.convertScalar(q, element, false),
                                 a[1]);
  }));
  // A weight in int8 codes: MatMul takes the qc.qconstant (the f32 values
  // above then go unused and are folded away).
  if (Imported *result = im.resultEntry(0))
    result->qweight = quantizedWeight(im);
  return success();
}

/// round_half_even(x / scale) + zero, saturated to the integer type.
Value quantizeScalar(OpBuilder &nb, Location nloc, Value x, Value scale,
                     Value zero, Type intType, bool isUnsigned) {
  TensorBuilder sb(nb, nloc);
  Type f = x.getType();
  Value r = math::RoundEvenOp::create(
      nb, nloc, arith::DivFOp::create(nb, nloc, x, scale));
  if (zero)
    r = arith::AddFOp::create(nb, nloc, r, sb.convertScalar(zero, f, isUnsigned));
  unsigned w = intType.getIntOrFloatBitWidth();
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, w - 1);
  double hi = isUnsigned ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
  r = arith::MaximumFOp::create(nb, nloc, r, sb.scalar(f, lo));
  r = arith::MinimumFOp::create(nb, nloc, r, sb.scalar(f, hi));
  return isUnsigned ? arith::FPToUIOp::create(nb, nloc, intType, r).getResult()
                    : arith::FPToSIOp::create(nb, nloc, intType, r).getResult();
}

LogicalResult quantizeLinearOp(Importer &im) {
  Value x = im.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  int64_t axis = im.attrInt("axis", 1);
  FailureOr<Value> scale = quantParam(im, 1, rank, axis);
  if (failed(scale))
    return failure();
  SmallVector<Value> operands = {x, *scale};
  // The zero point's type is the result's; uint8 without one.
  Type intType = im.builder().getI8Type();
  bool isUnsigned = true;
  if (im.hasInput(2)) {
    FailureOr<Value> zero = quantParam(im, 2, rank, axis);
    if (failed(zero))
      return failure();
    operands.push_back(*zero);
    intType = elementTypeOf(*zero);
    isUnsigned = im.inputEntry(2).isUnsigned;
  }
  im.setResult(0,
               im.tb().map(operands, intType,
                           [&](OpBuilder &nb, Location nloc, ValueRange a) {
                             return quantizeScalar(
                                 nb, nloc, a[0], a[1],
                                 a.size() > 2 ? a[2] : Value(), intType,
                                 isUnsigned);
                           }),
               isUnsigned);
  // One constant f32 scale and 8-bit zero point: remembered for the
  // DequantizeLinear that reads these codes (quantizedActivation).
  std::optional<std::vector<float>> s = constantFloats(im, 1);
  std::optional<std::vector<int64_t>> z = constantZeroPoints(im, 2, 1);
  Imported *result = im.resultEntry(0);
  if (result && s && s->size() == 1 && std::isfinite((*s)[0]) &&
      (*s)[0] > 0 && z && z->size() == 1 && intType.isInteger(8) &&
      cast<RankedTensorType>(x.getType()).getElementType().isF32()) {
    result->quantizedFrom = x;
    result->quantScale = (*s)[0];
    result->quantZeroPoint = (*z)[0];
  }
  return success();
}

/// DynamicQuantizeLinear is qc.quantize_dynamic <per_tensor> affine with
/// uint8 codes: the same min-max range widened to hold 0.
LogicalResult dynamicQuantizeLinearOp(Importer &im) {
  Value x = im.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  OpBuilder &b = im.builder();
  SmallVector<int64_t> ones(type.getRank(), 1);
  auto scalesType = RankedTensorType::get(ones, type.getElementType());
  auto zerosType = RankedTensorType::get(ones, b.getI8Type());
  auto codesType = RankedTensorType::get(type.getShape(), b.getI8Type());
  auto op = quantc::qc::QuantizeDynamicOp::create(
      b, im.loc(), codesType, scalesType, zerosType, x,
      quantc::qc::ActGranularity::PerTensor, /*affine=*/true);
  SmallVector<int64_t> all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  im.setResult(0, op.getCodes(), /*isUnsigned=*/true);
  im.setResult(1, im.tb().collapseUnitDims(op.getScales(), all));
  im.setResult(2, im.tb().collapseUnitDims(op.getZeroPoints(), all), true);
  return success();
}

/// (a - a_zero) x (b - b_zero) accumulated in i32.
FailureOr<Value> integerMatmul(Importer &im, int a, int aZero, int bOp,
                               int bZero) {
  TensorBuilder tb = im.tb();
  Type i32 = im.builder().getI32Type();
  // ONNX defines these on 8-bit integers only (their zero points too);
  // anything else would be silently truncated.
  for (int operand : {a, aZero, bOp, bZero})
    if (operand >= 0 && im.hasInput(operand) &&
        !im.inputEntry(operand).elementType.isInteger(8))
      return im.error() << "operand " << operand << " must be int8 or uint8, not "
                        << im.inputEntry(operand).elementType;
  auto widen = [&](int operand, int zero) -> FailureOr<Value> {
    Value v = im.input(operand);
    bool isUnsigned = im.inputEntry(operand).isUnsigned;
    int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
    SmallVector<Value> operands = {v};
    if (zero >= 0 && im.hasInput(zero)) {
      // A per-column zero point of B runs along its last axis.
      FailureOr<Value> z = quantParam(im, zero, rank, rank - 1);
      if (failed(z))
        return failure();
      operands.push_back(*z);
    }
    return tb.map(operands, i32,
                  [&](OpBuilder &nb, Location nloc, ValueRange x) -> Value {
                    TensorBuilder sb(nb, nloc);
                    Value w = sb.convertScalar(x[0], i32, isUnsigned);
                    if (x.size() > 1)
                      w = arith::SubIOp::create(
                          nb, nloc, w, sb.convertScalar(x[1], i32, isUnsigned));
                    return w;
                  });
  };
  FailureOr<Value> wa = widen(a, aZero), wb = widen(bOp, bZero);
  if (failed(wa) || failed(wb))
    return failure();
  auto ta = cast<RankedTensorType>(wa->getType());
  auto tbt = cast<RankedTensorType>(wb->getType());
  if (ta.getRank() < 2 || tbt.getRank() < 2)
    return im.error() << "operands must have rank 2 or more";
  return tb.matmul(*wa, *wb);
}

LogicalResult matmulIntegerOp(Importer &im) {
  FailureOr<Value> r = integerMatmul(im, 0, 2, 1, 3);
  if (failed(r))
    return failure();
  im.setResult(0, *r);
  return success();
}

LogicalResult qlinearMatmulOp(Importer &im) {
  // a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero
  FailureOr<Value> acc = integerMatmul(im, 0, 2, 3, 5);
  if (failed(acc))
    return failure();
  int64_t rank = cast<RankedTensorType>(acc->getType()).getRank();
  FailureOr<Value> sa = quantParam(im, 1, rank, rank - 1),
                   sb = quantParam(im, 4, rank, rank - 1),
                   sy = quantParam(im, 6, rank, rank - 1),
                   zy = quantParam(im, 7, rank, rank - 1);
  if (failed(sa) || failed(sb) || failed(sy) || failed(zy))
    return failure();
  Type intType = elementTypeOf(*zy);
  bool isUnsigned = im.inputEntry(7).isUnsigned;
  Type f = elementTypeOf(*sa);
  im.setResult(0,
               im.tb().map({*acc, *sa, *sb, *sy, *zy}, intType,
                           [&](OpBuilder &nb, Location nloc,
                               ValueRange a) -> Value {
                             Value real = arith::MulFOp::create(
                                 nb, nloc,
                                 TensorBuilder(nb, nloc).convertScalar(a[0], f,
                                                                       false),
                                 arith::MulFOp::create(nb, nloc, a[1], a[2]));
                             return quantizeScalar(nb, nloc, real, a[3], a[4],
                                                   intType, isUnsigned);
                           }),
               isUnsigned);
  return success();
}

/// The bytes of a constant operand (inline or resource), or failure.
FailureOr<std::vector<char>> constantBytes(Importer &im, int i,
                                           StringRef what) {
  Attribute attr;
  if (!matchPattern(im.input(i), m_Constant(&attr)))
    return im.error() << what << " must be a constant (an initializer)";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    ArrayRef<char> data = resource.getData();
    return std::vector<char>(data.begin(), data.end());
  }
  auto dense = cast<DenseElementsAttr>(attr);
  ArrayRef<char> raw = dense.getRawData();
  size_t bytes = raw.size();
  if (dense.isSplat())
    bytes *= dense.getNumElements();
  std::vector<char> out(bytes);
  for (size_t k = 0; k < bytes; ++k)
    out[k] = raw[k % raw.size()];
  return out;
}

/// com.microsoft MatMulNBits: ONNX Runtime's block-quantized weights map
/// onto qc.qconstant exactly: each column's blocks of packed codes (low
/// nibble first) are quantc's channel rows, scales are per group.
LogicalResult matmulNBitsOp(Importer &im) {
  int64_t k = im.attrInt("K", 0), n = im.attrInt("N", 0);
  int64_t bits = im.attrInt("bits", 4), block = im.attrInt("block_size", 0);
  if (bits != 4 && bits != 8)
    return im.error() << "bits must be 4 or 8, not " << bits;
  if (block <= 0 || k <= 0 || n <= 0 || k % block != 0)
    return im.error() << "K (" << k << ") must be a positive multiple of "
                      << "block_size (" << block << ")";
  if (im.hasInput(4))
    return im.error() << "g_idx (act-order permutation) is not supported";
  int64_t groups = k / block, rowBytes = k * bits / 8;
  FailureOr<std::vector<char>> codes = constantBytes(im, 1, "B");
  FailureOr<std::vector<char>> scaleBytes = constantBytes(im, 2, "scales");
  if (failed(codes) || failed(scaleBytes))
    return failure();
  if ((int64_t)codes->size() != n * rowBytes)
    return im.error() << "B holds " << codes->size() << " bytes, " << n << "x"
                      << k << " " << bits << "-bit codes need "
                      << n * rowBytes;
  Type scaleType = im.inputEntry(2).elementType;
  if (!scaleType.isF32() && !scaleType.isF16())
    return im.error() << "scales must be f32 or f16, not " << scaleType;
  // Zero points: packed like the codes (one row of `groups` per column), or
  // the middle code 2^(bits-1) when absent.
  std::vector<char> zeros(n * groups, static_cast<char>(1 << (bits - 1)));
  if (im.hasInput(3)) {
    if (im.inputEntry(3).elementType != im.builder().getI8Type())
      return im.error() << "only packed uint8 zero points are supported";
    FailureOr<std::vector<char>> packed = constantBytes(im, 3, "zero_points");
    if (failed(packed))
      return failure();
    int64_t zeroRow = (groups * bits + 7) / 8;
    if ((int64_t)packed->size() != n * zeroRow)
      return im.error() << "zero_points holds " << packed->size()
                        << " bytes, expected " << n * zeroRow;
    for (int64_t c = 0; c < n; ++c)
      for (int64_t g = 0; g < groups; ++g) {
        uint8_t byte = (*packed)[c * zeroRow + g * bits / 8];
        zeros[c * groups + g] =
            bits == 8 ? byte : (g % 2 ? byte >> 4 : byte & 15);
      }
  }
  OpBuilder &b = im.builder();
  MLIRContext *ctx = b.getContext();
  auto format = quantc::qc::FormatAttr::get(
      ctx, quantc::qc::ElementCode::Int, bits, /*symmetric=*/false,
      quantc::qc::Granularity::PerGroup, block, scaleType, 0, 0, false);
  auto qtype = quantc::qc::QWeightType::get(ctx, k, n, format);
  std::string base = im.node().input(1);
  auto blob = [&](StringRef suffix, ArrayRef<int64_t> shape, Type element,
                  const std::vector<char> &data) {
    return DenseResourceElementsAttr::get(
        RankedTensorType::get(shape, element), (base + suffix).str(),
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            ArrayRef<char>(data.data(), data.size()),
            std::max<size_t>(element.getIntOrFloatBitWidth() / 8, 1)));
  };
  Type i8 = b.getI8Type();
  auto weight = quantc::qc::QConstantOp::create(
      b, im.loc(), qtype, blob("_codes", {n, rowBytes}, i8, *codes),
      blob("_scales", {n, groups}, scaleType, *scaleBytes), ElementsAttr(),
      blob("_zero_points", {n, groups}, i8, zeros), ElementsAttr(),
      ElementsAttr(), ElementsAttr());
  Value x = im.input(0);
  Value bias = im.hasInput(5) ? im.input(5) : Value();
  SmallVector<OpFoldResult> dims = im.tb().dims(x);
  dims.back() = b.getIndexAttr(n);
  auto resultType = TensorBuilder::tensorType(dims, elementTypeOf(x));
  im.setResult(0, quantc::qc::LinearOp::create(b, im.loc(), resultType, x,
                                               weight, bias,
                                               b.getStringAttr(im.layerName())));
  return success();
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const llvm::StringMap<Mapping> &mappings() {
  static const llvm::StringMap<Mapping> table = {
      {"Add", [](Importer &im) { return binary(im, Bin::Add); }},
      {"Sub", [](Importer &im) { return binary(im, Bin::Sub); }},
      {"Mul", [](Importer &im) { return binary(im, Bin::Mul); }},
      {"Div", [](Importer &im) { return binary(im, Bin::Div); }},
      {"Pow", powOp},
      {"Mod",
       [](Importer &im) {
         // fmod = 1: C's fmod (dividend's sign); 0: the divisor's sign.
         return binary(im, im.attrInt("fmod", 0) ? Bin::FMod : Bin::Mod);
       }},
      {"And", [](Importer &im) { return binary(im, Bin::And); }},
      {"Or", [](Importer &im) { return binary(im, Bin::Or); }},
      {"Xor", [](Importer &im) { return binary(im, Bin::Xor); }},
      {"Equal", [](Importer &im) { return binary(im, Bin::Eq); }},
      {"Less", [](Importer &im) { return binary(im, Bin::Lt); }},
      {"LessOrEqual", [](Importer &im) { return binary(im, Bin::Le); }},
      {"Greater", [](Importer &im) { return binary(im, Bin::Gt); }},
      {"GreaterOrEqual", [](Importer &im) { return binary(im, Bin::Ge); }},
      {"Max", [](Importer &im) { return variadic(im, Bin::Max); }},
      {"Min", [](Importer &im) { return variadic(im, Bin::Min); }},
      {"Sum", [](Importer &im) { return variadic(im, Bin::Add); }},
      {"Neg", [](Importer &im) { return unary(im, Un::Neg); }},
      {"Sqrt", [](Importer &im) { return unary(im, Un::Sqrt); }},
      {"Exp", [](Importer &im) { return unary(im, Un::Exp); }},
      {"Log", [](Importer &im) { return unary(im, Un::Log); }},
      {"Tanh", [](Importer &im) { return unary(im, Un::Tanh); }},
      {"Erf", [](Importer &im) { return unary(im, Un::Erf); }},
      {"Relu", [](Importer &im) { return unary(im, Un::Relu); }},
      {"Sigmoid", [](Importer &im) { return unary(im, Un::Sigmoid); }},
      {"Abs", [](Importer &im) { return unary(im, Un::Abs); }},
      {"Reciprocal", [](Importer &im) { return unary(im, Un::Reciprocal); }},
      {"Not", [](Importer &im) { return unary(im, Un::Not); }},
      {"IsNaN", [](Importer &im) { return isNaNOrInfOp(im, true); }},
      {"IsInf", [](Importer &im) { return isNaNOrInfOp(im, false); }},
      {"Floor", [](Importer &im) { return unary(im, Un::Floor); }},
      {"Ceil", [](Importer &im) { return unary(im, Un::Ceil); }},
      {"Sin", [](Importer &im) { return unary(im, Un::Sin); }},
      {"Cos", [](Importer &im) { return unary(im, Un::Cos); }},
      {"Identity", [](Importer &im) { return unary(im, Un::Identity); }},
      {"Where", whereOp},
      {"Cast", castOp},
      {"Constant", constantOp},
      {"Shape", shapeOp},
      {"ConstantOfShape", constantOfShapeOp},
      {"Range", rangeOp},
      {"Unsqueeze", unsqueezeOp},
      {"Squeeze", squeezeOp},
      {"Concat", concatOp},
      {"Reshape", reshapeOp},
      {"Flatten", flattenOp},
      {"Expand", expandOp},
      {"Gather", gatherOp},
      {"GatherND", gatherNDOp},
      {"CumSum", cumSumOp},
      {"ScatterND", scatterNDOp},
      {"Slice", sliceOp},
      {"Split", splitOp},
      {"Transpose", transposeOp},
      {"ReduceSum", [](Importer &im) { return reduceOp(im, Red::Sum); }},
      {"ReduceMean", [](Importer &im) { return reduceOp(im, Red::Mean); }},
      {"ReduceMax", [](Importer &im) { return reduceOp(im, Red::Max); }},
      {"ReduceMin", [](Importer &im) { return reduceOp(im, Red::Min); }},
      {"Softmax", softmaxOp},
      {"LayerNormalization", layerNormOp},
      {"Gelu", geluOp},
      {"Trilu", triluOp},
      {"MatMul", matmulOp},
      {"Gemm", gemmOp},
      {"Einsum", einsumOp},
      {"DequantizeLinear", dequantizeLinearOp},
      {"QuantizeLinear", quantizeLinearOp},
      {"DynamicQuantizeLinear", dynamicQuantizeLinearOp},
      {"MatMulInteger", matmulIntegerOp},
      {"QLinearMatMul", qlinearMatmulOp},
  };
  return table;
}

} // namespace

/// What a node must give before its mapping runs: operand counts over every
/// form opsets 13-21 define (e.g. Squeeze's axes as attribute or operand),
/// and ranks where an operand of too low a rank has no meaning.
struct Operands {
  int min, max;          // operands given, trailing empty ones dropped
  bool variadic = false; // every operand must be given (no empty names)
  int minRank = 0;       // of every operand in [0, rankedOperands)
  int maxRank = INT_MAX;
  int rankedOperands = 0;
};

const llvm::StringMap<Operands> &operandRules() {
  constexpr int any = INT_MAX;
  static const llvm::StringMap<Operands> table = [] {
    llvm::StringMap<Operands> t;
    for (const char *op :
         {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or", "Xor",
          "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
          "Reshape", "Expand"})
      t[op] = {2, 2};
    for (const char *op :
         {"Neg", "Sqrt", "Exp", "Log", "Tanh", "Erf", "Relu", "Sigmoid",
          "Abs", "Reciprocal", "Not", "Floor", "Ceil", "Sin", "Cos",
          "Identity", "Cast", "Shape", "ConstantOfShape", "Flatten",
          "Transpose", "Gelu", "DynamicQuantizeLinear", "IsNaN", "IsInf"})
      t[op] = {1, 1};
    for (const char *op : {"Max", "Min", "Sum", "Einsum"})
      t[op] = {1, any, true};
    for (const char *op : {"Unsqueeze", "Squeeze", "ReduceSum", "ReduceMean",
                           "ReduceMax", "ReduceMin"})
      t[op] = {1, 2};
    t["Where"] = {3, 3};
    t["Range"] = {3, 3};
    t["Constant"] = {0, 0};
    t["Concat"] = {1, any, true, 1, any, any};
    t["Gather"] = {2, 2, false, 1, any, 1};
    t["GatherND"] = {2, 2, false, 1, any, 2};
    t["CumSum"] = {2, 2, false, 1, any, 1};
    t["ScatterND"] = {3, 3, false, 1, any, 2};
    t["Slice"] = {1, 5, false, 1, any, 1};
    t["Split"] = {1, 2, false, 1, any, 1};
    t["Softmax"] = {1, 1, false, 1, any, 1};
    t["LayerNormalization"] = {2, 3, false, 1, any, 1};
    t["Trilu"] = {1, 2, false, 2, any, 1};
    t["MatMul"] = {2, 2, false, 1, any, 2};
    t["Gemm"] = {2, 3, false, 2, 2, 2};
    t["DequantizeLinear"] = {2, 3};
    t["QuantizeLinear"] = {2, 3};
    t["MatMulInteger"] = {2, 4, false, 1, any, 2};
    t["QLinearMatMul"] = {8, 8};
    t["MatMulNBits"] = {3, 6, false, 2, any, 1};
    return t;
  }();
  return table;
}

/// Checks the current node's operands and outputs against `rules`.
LogicalResult checkOperands(Importer &im, const Operands &rules) {
  const ::onnx::NodeProto &node = im.node();
  int n = im.numInputs();
  if (n < rules.min || n > rules.max) {
    InFlightDiagnostic d = im.error() << "expects ";
    if (rules.min == rules.max)
      d << rules.min;
    else if (rules.max == INT_MAX)
      d << "at least " << rules.min;
    else
      d << rules.min << " to " << rules.max;
    return d << " operands, got " << n;
  }
  for (int i = 0; i < n; ++i)
    if (!im.hasInput(i) && (rules.variadic || i < rules.min))
      return im.error() << "operand " << i << " has no name (it is required)";
  if (node.output_size() == 0 || node.output(0).empty())
    return im.error() << "has no output";
  for (int i = 0; i < std::min(n, rules.rankedOperands); ++i) {
    if (!im.hasInput(i))
      continue;
    int64_t rank = im.inputRank(i);
    if (rank < rules.minRank || rank > rules.maxRank) {
      InFlightDiagnostic d = im.error() << "operand " << i << " has rank "
                                        << rank << "; it needs ";
      if (rules.minRank == rules.maxRank)
        d << "rank " << rules.minRank;
      else
        d << "at least rank " << rules.minRank;
      return d;
    }
  }
  return success();
}

LogicalResult quantc::onnx::importOp(Importer &im) {
  const ::onnx::NodeProto &node = im.node();
  bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
  bool nbits = node.domain() == "com.microsoft" && node.op_type() == "MatMulNBits";
  const auto &table = mappings();
  auto it = table.find(node.op_type());
  if (!nbits && (!defaultDomain || it == table.end()))
    return im.error() << "unsupported operator "
                      << (defaultDomain ? "" : node.domain() + ".")
                      << node.op_type() << " (opset " << im.opset() << ")";
  auto rules = operandRules().find(node.op_type());
  if (rules == operandRules().end())
    return im.error() << "has no operand rules (a quantc bug)";
  if (failed(checkOperands(im, rules->second)))
    return failure();
  return nbits ? matmulNBitsOp(im) : it->second(im);
}
