//===- QConstant.cpp - qc.qconstant <-> reference numerics ----------------===//

#include "QC/IR/QConstant.h"

#include "quantc/Numerics/Scalar.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;
using namespace quantc;

FailureOr<std::vector<float>> quantc::floatValues(ElementsAttr value) {
  auto type = dyn_cast<ShapedType>(value.getType());
  if (!type || !type.getElementType().isF32())
    return failure();
  std::vector<float> out(type.getNumElements());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    ArrayRef<char> raw = resource.getData();
    if (raw.size() != out.size() * sizeof(float))
      return failure();
    std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return failure();
  llvm::copy(dense.getValues<float>(), out.begin());
  return out;
}

ElementsAttr quantc::resourceBlob(StringRef name, ArrayRef<int64_t> shape,
                                  Type element, ArrayRef<char> bytes) {
  size_t align = std::max<size_t>(element.getIntOrFloatBitWidth() / 8, 1);
  return DenseResourceElementsAttr::get(
      RankedTensorType::get(shape, element), name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, align));
}

ElementsAttr quantc::floatBlob(StringRef name, RankedTensorType type,
                               ArrayRef<float> values) {
  return resourceBlob(name, type.getShape(), type.getElementType(),
                      ArrayRef<char>(reinterpret_cast<const char *>(
                                         values.data()),
                                     values.size() * sizeof(float)));
}

namespace {
template <typename T> ArrayRef<char> bytesOf(const std::vector<T> &v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                        v.size() * sizeof(T));
}

/// Moves codes between the channel-major layout and `tiles` of `type`:
/// byte t of tile row (channel n, tile column j) is byte j*T + t of channel
/// n's row, T = TK * B / 8 (tile rows end on bytes, the verifier checks).
template <typename T>
std::vector<T> moveTiles(const std::vector<T> &in, qc::QWeightType type,
                         qc::LayoutAttr tiles, bool toTiles) {
  int64_t bits = type.getFormat().getBits();
  int64_t k = type.getInputDim(), n = type.getOutputDim();
  int64_t tn = tiles.getTileN(), tk = tiles.getTileK();
  int64_t rowBytes = tk * bits / 8, tilesAlongK = k / tk;
  std::vector<T> out(in.size());
  for (int64_t c = 0; c < n; ++c)
    for (int64_t j = 0; j < tilesAlongK; ++j) {
      int64_t neutral = c * tilesAlongK * rowBytes + j * rowBytes;
      int64_t tiled = ((c / tn) * tilesAlongK + j) * tn * rowBytes +
                      (c % tn) * rowBytes;
      const T *from = in.data() + (toTiles ? neutral : tiled);
      std::copy(from, from + rowBytes,
                out.data() + (toTiles ? tiled : neutral));
    }
  return out;
}
} // namespace

std::vector<char> quantc::relayoutCodes(const std::vector<char> &codes,
                                        qc::QWeightType from,
                                        qc::LayoutAttr to) {
  std::vector<char> neutral =
      from.getLayout().isChannelMajor()
          ? codes
          : moveTiles(codes, from, from.getLayout(), /*toTiles=*/false);
  return to.isChannelMajor() ? neutral
                             : moveTiles(neutral, from, to, /*toTiles=*/true);
}

qc::QConstantOp quantc::buildQConstant(OpBuilder &b, Location loc,
                                       qc::QWeightType type,
                                       const numerics::QuantizedMatrix &q,
                                       StringRef name) {
  const numerics::Format &f = q.format;
  int64_t channels = f.scaleChannels(q.n), groups = f.groupsPerChannel(q.k);
  Type i8 = b.getI8Type();
  Type scaleType = type.getFormat().getScaleType();
  std::string base = name.str();
  std::vector<uint8_t> laidOut =
      type.getLayout().isChannelMajor()
          ? q.codes
          : moveTiles(q.codes, type, type.getLayout(), /*toTiles=*/true);
  ElementsAttr codes = resourceBlob(base + "_codes", type.getCodesShape(), i8,
                                    bytesOf(laidOut));
  ElementsAttr scales, params, zeros;
  if (f.scaleBits > 0) {
    scales = resourceBlob(base + "_scales", {channels, groups}, i8,
                          bytesOf(q.scaleCodes));
    int64_t blocks = static_cast<int64_t>(q.scaleParams.size()) / 2;
    params = resourceBlob(base + "_scale_params", {blocks, 2}, b.getF32Type(),
                          bytesOf(q.scaleParams));
  } else {
    scales = resourceBlob(
        base + "_scales", {channels, groups}, scaleType,
        bytesOf(numerics::storedScaleBytes(q.scales, f.scaleType)));
  }
  if (!f.symmetric)
    zeros = resourceBlob(base + "_zero_points", {channels, groups}, i8,
                         bytesOf(q.zeroPoints));
  return qc::QConstantOp::create(b, loc, type, codes, scales, params, zeros,
                                 ElementsAttr(), ElementsAttr(), ElementsAttr());
}

std::vector<char> quantc::storedBytes(ElementsAttr value) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    ArrayRef<char> raw = resource.getData();
    return std::vector<char>(raw.begin(), raw.end());
  }
  auto dense = cast<DenseElementsAttr>(value);
  size_t width =
      std::max<size_t>(dense.getElementType().getIntOrFloatBitWidth() / 8, 1);
  std::vector<char> out;
  ArrayRef<char> raw = dense.getRawData();
  for (int64_t i = 0; i < dense.getNumElements(); ++i) {
    size_t at = dense.isSplat() ? 0 : i * width;
    out.insert(out.end(), raw.begin() + at, raw.begin() + at + width);
  }
  return out;
}

namespace {
template <typename T> std::vector<T> as(const std::vector<char> &bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}
} // namespace

numerics::QuantizedMatrix quantc::readQConstant(qc::QConstantOp op) {
  auto type = cast<qc::QWeightType>(op.getType());
  numerics::QuantizedMatrix q;
  q.k = type.getInputDim();
  q.n = type.getOutputDim();
  q.format = qc::toNumericsFormat(type.getFormat());
  q.codes = as<uint8_t>(relayoutCodes(
      storedBytes(op.getCodes()), type,
      qc::LayoutAttr::getChannelMajor(op.getContext())));
  std::vector<char> scales = storedBytes(op.getScales());
  if (q.format.scaleBits > 0) {
    q.scaleCodes = as<uint8_t>(scales);
    q.scaleParams = as<float>(storedBytes(*op.getScaleParams()));
  } else if (q.format.scaleType == numerics::ScaleType::F32) {
    q.scales = as<float>(scales);
  } else {
    for (uint16_t h : as<uint16_t>(scales))
      q.scales.push_back(q.format.scaleType == numerics::ScaleType::F16
                             ? numerics::halfToFloat(h)
                             : numerics::bf16ToFloat(h));
  }
  if (auto zeros = op.getZeroPoints())
    q.zeroPoints = as<uint8_t>(storedBytes(*zeros));
  if (auto offsets = op.getOutlierOffsets()) {
    q.outlierOffsets = as<int32_t>(storedBytes(*offsets));
    q.outlierColumns = as<int32_t>(storedBytes(*op.getOutlierColumns()));
    q.outlierValues = as<uint16_t>(storedBytes(*op.getOutlierValues()));
  }
  return q;
}

std::string quantc::layoutName(qc::LayoutAttr layout) {
  if (layout.isChannelMajor())
    return "channel_major";
  return "tiles<" + std::to_string(layout.getTileN()) + "x" +
         std::to_string(layout.getTileK()) + ">";
}

void quantc::recordPackedPiece(Operation *module, Attribute value,
                               qc::QWeightType type, StringRef part) {
  Builder b(module->getContext());
  std::string format;
  llvm::raw_string_ostream(format) << type.getFormat();
  SmallVector<Attribute> pieces;
  if (auto known = module->getAttrOfType<ArrayAttr>(kPackedPiecesAttr)) {
    // A weight two layers read is recorded once.
    for (auto piece : known.getAsRange<DictionaryAttr>())
      if (piece.get("value") == value)
        return;
    pieces.assign(known.begin(), known.end());
  }
  pieces.push_back(b.getDictionaryAttr(
      {b.getNamedAttr("value", value),
       b.getNamedAttr("format", b.getStringAttr(format)),
       b.getNamedAttr("layout",
                      b.getStringAttr(layoutName(type.getLayout()))),
       b.getNamedAttr("part", b.getStringAttr(part))}));
  module->setAttr(kPackedPiecesAttr, b.getArrayAttr(pieces));
}
