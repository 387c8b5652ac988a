//===- QCOps.cpp - verifiers of the qc operations -------------------------===//

#include "QC/IR/QC.h"
#include "quantc/Numerics/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace quantc;
using namespace quantc::qc;

#define GET_OP_CLASSES
#include "QC/IR/QCOps.cpp.inc"

namespace {

/// The tensor type an operand or attribute should have (for diagnostics).
RankedTensorType describe(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

/// Checks that a stored piece of a quantized constant has exactly `shape`
/// and `elementType`.
LogicalResult checkPiece(Operation *op, StringRef name, ElementsAttr piece,
                         ArrayRef<int64_t> shape, Type elementType) {
  ShapedType type = piece.getShapedType();
  if (type.getShape() != shape || type.getElementType() != elementType)
    return op->emitOpError() << "'" << name << "' must be "
                             << describe(shape, elementType) << ", not "
                             << type;
  return success();
}

/// Checks that an optional piece is given exactly when `expected` holds.
LogicalResult checkPresence(Operation *op, StringRef name, Attribute piece,
                            bool expected, StringRef because) {
  if (bool(piece) == expected)
    return success();
  return op->emitOpError() << (expected ? "needs '" : "must not have '")
                           << name << "' " << because;
}

/// Two dimensions agree unless both are known and differ.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

} // namespace

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

int64_t LinearOp::getInputDim() {
  if (auto q = dyn_cast<QWeightType>(getWeight().getType()))
    return q.getInputDim();
  return cast<RankedTensorType>(getWeight().getType()).getDimSize(0);
}

int64_t LinearOp::getOutputDim() {
  if (auto q = dyn_cast<QWeightType>(getWeight().getType()))
    return q.getOutputDim();
  return cast<RankedTensorType>(getWeight().getType()).getDimSize(1);
}

LogicalResult LinearOp::verify() {
  auto inputType = getInput().getType();
  auto resultType = getResult().getType();
  Type elementType = inputType.getElementType();
  if (inputType.getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  if (auto w = dyn_cast<RankedTensorType>(getWeight().getType())) {
    if (!w.hasStaticShape())
      return emitOpError("weight must have a static shape, not ") << w;
    if (w.getElementType() != elementType)
      return emitOpError("weight element type ")
             << w.getElementType() << " differs from the input's "
             << elementType;
  }
  int64_t k = getInputDim(), n = getOutputDim();
  int64_t inputK = inputType.getShape().back();
  if (!compatible(inputK, k))
    return emitOpError("input's last dimension (")
           << inputK << ") does not match the weight's input dimension (" << k
           << ")";
  if (resultType.getElementType() != elementType)
    return emitOpError("result element type ")
           << resultType.getElementType() << " differs from the input's "
           << elementType;
  if (resultType.getRank() != inputType.getRank())
    return emitOpError("result rank ")
           << resultType.getRank() << " differs from the input rank "
           << inputType.getRank();
  for (int64_t i = 0; i + 1 < inputType.getRank(); ++i)
    if (!compatible(inputType.getDimSize(i), resultType.getDimSize(i)))
      return emitOpError("result dimension ")
             << i << " (" << resultType.getDimSize(i)
             << ") does not match the input's (" << inputType.getDimSize(i)
             << ")";
  if (resultType.getShape().back() != n)
    return emitOpError("result's last dimension (")
           << resultType.getShape().back()
           << ") must be the weight's output dimension (" << n << ")";
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getElementType() != elementType ||
        !compatible(biasType.getDimSize(0), n))
      return emitOpError("bias must be ")
             << describe({n}, elementType) << ", not " << biasType;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QConstantOp
//===----------------------------------------------------------------------===//

LogicalResult QConstantOp::verify() {
  QWeightType type = getType();
  FormatAttr format = type.getFormat();
  numerics::Format f = toNumericsFormat(format);
  const int64_t k = type.getInputDim(), n = type.getOutputDim();
  const int64_t channels = f.scaleChannels(n), groups = f.groupsPerChannel(k);
  Builder b(getContext());
  Type i8 = b.getI8Type(), i32 = b.getI32Type();

  if (failed(checkPiece(*this, "codes", getCodes(), type.getCodesShape(), i8)))
    return failure();
  Type scaleElement = format.isDoubleQuantized() ? i8 : format.getScaleType();
  if (failed(checkPiece(*this, "scales", getScales(), {channels, groups},
                        scaleElement)))
    return failure();

  if (failed(checkPresence(*this, "scale_params", getScaleParamsAttr(),
                           format.isDoubleQuantized(),
                           "(the format's scales are double-quantized)")))
    return failure();
  if (auto params = getScaleParamsAttr()) {
    int64_t blocks = (channels * groups + f.scaleBlock - 1) / f.scaleBlock;
    if (failed(checkPiece(*this, "scale_params", params, {blocks, 2},
                          b.getF32Type())))
      return failure();
  }

  if (failed(checkPresence(*this, "zero_points", getZeroPointsAttr(),
                           format.hasZeroPoint(),
                           "(the format is affine)")))
    return failure();
  if (auto zeros = getZeroPointsAttr())
    if (failed(checkPiece(*this, "zero_points", zeros, {channels, groups}, i8)))
      return failure();

  StringRef because = "(outliers in the format)";
  if (failed(checkPresence(*this, "outlier_offsets", getOutlierOffsetsAttr(),
                           f.outliers, because)) ||
      failed(checkPresence(*this, "outlier_columns", getOutlierColumnsAttr(),
                           f.outliers, because)) ||
      failed(checkPresence(*this, "outlier_values", getOutlierValuesAttr(),
                           f.outliers, because)))
    return failure();
  if (!f.outliers)
    return success();
  ElementsAttr columns = getOutlierColumnsAttr();
  if (columns.getShapedType().getRank() != 1)
    return emitOpError("'outlier_columns' must be a 1-D tensor of i32, not ")
           << columns.getShapedType();
  int64_t nnz = columns.getShapedType().getDimSize(0);
  if (failed(checkPiece(*this, "outlier_offsets", getOutlierOffsetsAttr(),
                        {n + 1}, i32)) ||
      failed(checkPiece(*this, "outlier_columns", columns, {nnz}, i32)) ||
      failed(checkPiece(*this, "outlier_values", getOutlierValuesAttr(),
                        {nnz}, b.getF16Type())))
    return failure();
  // Inline CSR indices are small enough to check in full; resources are
  // checked where they are read.
  if (auto offsets = dyn_cast<DenseIntElementsAttr>(getOutlierOffsetsAttr())) {
    int64_t previous = 0, i = 0;
    for (const APInt &v : offsets.getValues<APInt>()) {
      int64_t o = v.getSExtValue();
      if ((i == 0 && o != 0) || o < previous || o > nnz ||
          (i == n && o != nnz))
        return emitOpError("'outlier_offsets' must rise from 0 to the "
                           "number of outliers (")
               << nnz << "); entry " << i << " is " << o;
      previous = o;
      ++i;
    }
  }
  if (auto cols = dyn_cast<DenseIntElementsAttr>(columns)) {
    int64_t i = 0;
    for (const APInt &v : cols.getValues<APInt>()) {
      if (v.getSExtValue() < 0 || v.getSExtValue() >= k)
        return emitOpError("outlier column ")
               << v.getSExtValue() << " (entry " << i
               << ") is outside the input dimension " << k;
      ++i;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Static quantize / dequantize
//===----------------------------------------------------------------------===//

/// Checks that `quantized` expresses `floatType` and, per axis, fits `shape`.
static LogicalResult verifyQuantizedType(Operation *op, Type quantized,
                                         Type floatType,
                                         ArrayRef<int64_t> shape) {
  auto q = cast<quant::QuantizedType>(quantized);
  if (q.getExpressedType() != floatType)
    return op->emitOpError("quantized type expresses ")
           << q.getExpressedType() << " but the float side is " << floatType;
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(quantized)) {
    int64_t dim = axis.getQuantizedDimension();
    if (dim >= static_cast<int64_t>(shape.size()))
      return op->emitOpError("quantized dimension ")
             << dim << " is outside a tensor of rank " << shape.size();
    int64_t scales = static_cast<int64_t>(axis.getScales().size());
    if (!compatible(shape[dim], scales))
      return op->emitOpError("quantized dimension ")
             << dim << " has size " << shape[dim] << " but " << scales
             << " scales";
  }
  return success();
}

LogicalResult QuantizeOp::verify() {
  return verifyQuantizedType(*this, getResult().getType().getElementType(),
                             getInput().getType().getElementType(),
                             getInput().getType().getShape());
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantizedType(*this, getInput().getType().getElementType(),
                             getResult().getType().getElementType(),
                             getResult().getType().getShape());
}

//===----------------------------------------------------------------------===//
// Dynamic quantize / dequantize
//===----------------------------------------------------------------------===//

/// Zero points, when given, have the scales' shape and the codes' type.
static LogicalResult verifyZeroPoints(Operation *op, Value zeros,
                                      RankedTensorType scalesType,
                                      Type codesElement) {
  if (!zeros)
    return success();
  auto zerosType = cast<RankedTensorType>(zeros.getType());
  if (zerosType.getShape() != scalesType.getShape() ||
      zerosType.getElementType() != codesElement)
    return op->emitOpError("zero points must be ")
           << describe(scalesType.getShape(), codesElement) << ", not "
           << zerosType;
  return success();
}

LogicalResult QuantizeDynamicOp::verify() {
  auto inputType = getInput().getType();
  auto codesType = getCodes().getType();
  auto scalesType = getScales().getType();
  ArrayRef<int64_t> shape = inputType.getShape();
  if (inputType.getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  if (failed(verifyCompatibleShape(codesType.getShape(), shape)))
    return emitOpError("codes shape must match the input's");
  unsigned width = codesType.getElementType().getIntOrFloatBitWidth();
  if (width < 2 || width > 8)
    return emitOpError("codes must have 2 to 8 bits, not ") << width;
  // Scales keep the input's rank, reduced dimensions of size 1.
  SmallVector<int64_t> expected(shape.begin(), shape.end());
  int64_t last = inputType.getRank() - 1;
  for (int64_t i = 0; i <= last; ++i) {
    bool reduced = false;
    switch (getGranularity()) {
    case ActGranularity::PerTensor:
      reduced = true;
      break;
    case ActGranularity::PerToken:
      reduced = i == last;
      break;
    case ActGranularity::PerChannel:
      reduced = i != last;
      break;
    }
    if (reduced)
      expected[i] = 1;
  }
  if (scalesType.getRank() != inputType.getRank() ||
      failed(verifyCompatibleShape(scalesType.getShape(), expected)))
    return emitOpError("scales of ")
           << stringifyActGranularity(getGranularity()) << " quantization must be "
           << describe(expected, scalesType.getElementType()) << ", not "
           << scalesType;
  if (bool(getZeroPoints()) != getAffine())
    return emitOpError(getAffine() ? "affine quantization needs a zero-point "
                                     "result"
                                   : "symmetric quantization has no zero "
                                     "points; add 'affine'");
  return verifyZeroPoints(*this, getZeroPoints(), scalesType,
                          codesType.getElementType());
}

LogicalResult SplitColumnsOp::verify() {
  auto inputType = getInput().getType();
  if (inputType.getRank() < 1 || inputType.isDynamicDim(inputType.getRank() - 1))
    return emitOpError("input must have a static last dimension");
  const int64_t k = inputType.getShape().back();
  ArrayRef<int64_t> columns = getColumns();
  if (columns.empty())
    return emitOpError("needs at least one column");
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] < 0 || columns[i] >= k)
      return emitOpError("column ") << columns[i] << " is outside [0, " << k
                                    << ")";
    if (i > 0 && columns[i] <= columns[i - 1])
      return emitOpError("columns must be strictly increasing");
  }
  if (getRest().getType() != inputType)
    return emitOpError("rest must have the input's type ") << inputType;
  SmallVector<int64_t> shape(inputType.getShape());
  shape.back() = int64_t(columns.size());
  auto outliersType = getOutliers().getType();
  if (outliersType.getElementType() != inputType.getElementType() ||
      failed(verifyCompatibleShape(outliersType.getShape(), shape)))
    return emitOpError("outliers must be ")
           << describe(shape, inputType.getElementType()) << ", not "
           << outliersType;
  return success();
}

LogicalResult DequantizeDynamicOp::verify() {
  auto codesType = getCodes().getType();
  auto scalesType = getScales().getType();
  auto resultType = getResult().getType();
  if (failed(verifyCompatibleShape(resultType.getShape(),
                                   codesType.getShape())))
    return emitOpError("result shape must match the codes'");
  if (scalesType.getRank() != codesType.getRank())
    return emitOpError("scales must have the codes' rank ")
           << codesType.getRank();
  for (int64_t i = 0; i < codesType.getRank(); ++i)
    if (scalesType.getDimSize(i) != 1 &&
        !compatible(scalesType.getDimSize(i), codesType.getDimSize(i)))
      return emitOpError("scales dimension ")
             << i << " (" << scalesType.getDimSize(i)
             << ") is neither 1 nor the codes' (" << codesType.getDimSize(i)
             << ")";
  return verifyZeroPoints(*this, getZeroPoints(), scalesType,
                          codesType.getElementType());
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

LogicalResult ObserveOp::verify() {
  if (getLayer().empty())
    return emitOpError("needs a non-empty layer name");
  if (getInput().getType().getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  if (getStats() == Statistics::None)
    return emitOpError("must record at least one statistic");
  return success();
}

//===----------------------------------------------------------------------===//
// UKernelOp
//===----------------------------------------------------------------------===//

LogicalResult UKernelOp::verify() {
  if (getFn().empty())
    return emitOpError("needs a kernel name");
  if (getOutputs().empty())
    return emitOpError("needs at least one outs operand");
  bool tensors = isa<RankedTensorType>(getOutputs().front().getType());
  for (Value out : getOutputs())
    if (isa<RankedTensorType>(out.getType()) != tensors)
      return emitOpError("outs must be all tensors or all buffers");
  if (!tensors && !getResults().empty())
    return emitOpError("on buffers has no results");
  if (tensors && getResults().getTypes() != getOutputs().getTypes())
    return emitOpError("results must have the types of the outs tensors");
  for (Value in : getInputs())
    if (isa<RankedTensorType>(in.getType()) != tensors)
      return emitOpError("ins must be ")
             << (tensors ? "tensors" : "buffers") << " like its outs";
  return success();
}

void UKernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // On tensors the op is pure; on buffers it reads ins and reads and writes
  // outs (a kernel may accumulate into them).
  for (OpOperand &in : getInputsMutable())
    if (isa<MemRefType>(in.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &in,
                           SideEffects::DefaultResource::get());
  for (OpOperand &out : getOutputsMutable())
    if (isa<MemRefType>(out.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &out,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &out,
                           SideEffects::DefaultResource::get());
    }
}

bool UKernelOp::bufferizesToMemoryRead(OpOperand &,
                                       const bufferization::AnalysisState &) {
  return true; // conservatively, outs too (a kernel may accumulate)
}

bool UKernelOp::bufferizesToMemoryWrite(OpOperand &operand,
                                        const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
UKernelOp::getAliasingValues(OpOperand &operand,
                             const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand))
    return {};
  return {{getTiedOpResult(&operand), bufferization::BufferRelation::Equivalent,
           /*isDefinite=*/true}};
}

LogicalResult
UKernelOp::bufferize(RewriterBase &rewriter,
                     const bufferization::BufferizationOptions &options,
                     bufferization::BufferizationState &state) {
  auto buffer = [&](Value v) -> FailureOr<Value> {
    if (!isa<TensorType>(v.getType()))
      return v;
    return bufferization::getBuffer(rewriter, v, options, state);
  };
  SmallVector<Value> ins, outs;
  for (Value v : getInputs()) {
    FailureOr<Value> b = buffer(v);
    if (failed(b))
      return failure();
    ins.push_back(*b);
  }
  for (Value v : getOutputs()) {
    FailureOr<Value> b = buffer(v);
    if (failed(b))
      return failure();
    outs.push_back(*b);
  }
  rewriter.setInsertionPoint(*this);
  auto call = UKernelOp::create(rewriter, getLoc(), TypeRange{}, getFn(), ins,
                                outs, getScalars());
  call->setDiscardableAttrs((*this)->getDiscardableAttrDictionary());
  bufferization::replaceOpWithBufferizedValues(rewriter, *this, outs);
  return success();
}
