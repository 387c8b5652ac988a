//===- QCAttrs.cpp - #qc.format and !qc.qweight ---------------------------===//
//
// Custom syntax of the format (shared by the attribute and the inlined form
// in `!qc.qweight`) and its verification through the numerics' rules.
//
//===----------------------------------------------------------------------===//

#include "QC/IR/QC.h"
#include "quantc/Numerics/Format.h"

#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace quantc;
using namespace quantc::qc;

namespace {

numerics::ElementCode toNumerics(ElementCode code) {
  switch (code) {
  case ElementCode::Int:
    return numerics::ElementCode::Int;
  case ElementCode::NF4:
    return numerics::ElementCode::NF4;
  case ElementCode::FP4E2M1:
    return numerics::ElementCode::FP4E2M1;
  case ElementCode::FP8E4M3:
    return numerics::ElementCode::FP8E4M3;
  case ElementCode::FP8E5M2:
    return numerics::ElementCode::FP8E5M2;
  }
  llvm_unreachable("unknown element code");
}

numerics::Granularity toNumerics(Granularity g) {
  switch (g) {
  case Granularity::PerTensor:
    return numerics::Granularity::PerTensor;
  case Granularity::PerChannel:
    return numerics::Granularity::PerChannel;
  case Granularity::PerGroup:
    return numerics::Granularity::PerGroup;
  }
  llvm_unreachable("unknown granularity");
}

/// The scale type as the numerics know it; failure for other types.
FailureOr<numerics::ScaleType> toNumericsScaleType(Type type) {
  if (type.isF32())
    return numerics::ScaleType::F32;
  if (type.isF16())
    return numerics::ScaleType::F16;
  if (type.isBF16())
    return numerics::ScaleType::BF16;
  return failure();
}

numerics::Format makeFormat(ElementCode code, unsigned bits, bool symmetric,
                            Granularity granularity, int64_t groupSize,
                            numerics::ScaleType scaleType, unsigned scaleBits,
                            int64_t scaleBlock, bool outliers) {
  numerics::Format f;
  f.code = toNumerics(code);
  f.bits = static_cast<int>(bits);
  f.symmetric = symmetric;
  f.granularity = toNumerics(granularity);
  f.groupSize = groupSize;
  f.scaleType = scaleType;
  f.scaleBits = static_cast<int>(scaleBits);
  f.scaleBlock = scaleBlock;
  f.outliers = outliers;
  return f;
}

/// Parses `intB` (B in 2..8 is checked by the verifier) or a named code.
ParseResult parseElementCode(AsmParser &parser, ElementCode &code,
                             unsigned &bits) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  if (keyword.consume_front("int")) {
    code = ElementCode::Int;
    if (!keyword.getAsInteger(10, bits))
      return success();
  } else if (auto named = symbolizeElementCode(keyword);
             named && *named != ElementCode::Int) {
    code = *named;
    bits = (code == ElementCode::NF4 || code == ElementCode::FP4E2M1) ? 4 : 8;
    return success();
  }
  return parser.emitError(loc, "expected an element code: intN, nf4, "
                               "fp4_e2m1, fp8_e4m3 or fp8_e5m2");
}

} // namespace

numerics::Format quantc::qc::toNumericsFormat(FormatAttr format) {
  return makeFormat(format.getCode(), format.getBits(), format.getSymmetric(),
                    format.getGranularity(), format.getGroupSize(),
                    *toNumericsScaleType(format.getScaleType()),
                    format.getScaleBits(), format.getScaleBlock(),
                    format.getOutliers());
}

LogicalResult
FormatAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   ElementCode code, unsigned bits, bool symmetric,
                   Granularity granularity, int64_t groupSize, Type scaleType,
                   unsigned scaleBits, int64_t scaleBlock, bool outliers) {
  FailureOr<numerics::ScaleType> st = toNumericsScaleType(scaleType);
  if (failed(st))
    return emitError() << "scale type must be f32, f16 or bf16, not "
                       << scaleType;
  std::string why =
      makeFormat(code, bits, symmetric, granularity, groupSize, *st, scaleBits,
                 scaleBlock, outliers)
          .validate();
  if (!why.empty())
    return emitError() << "invalid quantized format: " << why;
  return success();
}

int64_t FormatAttr::getGroupsPerChannel(int64_t k) const {
  return toNumericsFormat(*this).groupsPerChannel(k);
}

FormatAttr FormatAttr::parseBody(
    AsmParser &parser, function_ref<ParseResult(StringRef)> extra) {
  SMLoc loc = parser.getCurrentLocation();
  ElementCode code;
  unsigned bits = 0;
  if (parseElementCode(parser, code, bits))
    return {};
  std::optional<bool> symmetric;
  std::optional<Granularity> granularity;
  int64_t groupSize = 0, scaleBlock = 0;
  Type scaleType;
  unsigned scaleBits = 0;
  bool outliers = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc optLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    auto once = [&](bool seen) {
      if (seen)
        parser.emitError(optLoc, "'") << key << "' given twice";
      return seen;
    };
    if (key == "symmetric" || key == "affine") {
      if (once(symmetric.has_value()))
        return {};
      symmetric = key == "symmetric";
    } else if (key == "per_tensor" || key == "per_channel" || key == "group") {
      if (once(granularity.has_value()))
        return {};
      granularity = *symbolizeGranularity(key);
      if (key == "group" &&
          (parser.parseEqual() || parser.parseInteger(groupSize)))
        return {};
    } else if (key == "scale") {
      if (once(bool(scaleType)) || parser.parseEqual() ||
          parser.parseType(scaleType))
        return {};
    } else if (key == "double_quant") {
      ElementCode scaleCode;
      SMLoc codeLoc;
      if (once(scaleBits != 0) || parser.parseEqual() || parser.parseLess() ||
          (codeLoc = parser.getCurrentLocation(),
           parseElementCode(parser, scaleCode, scaleBits)))
        return {};
      if (scaleCode != ElementCode::Int) {
        parser.emitError(codeLoc, "double-quantized scales use intN codes");
        return {};
      }
      if (parser.parseComma() || parser.parseKeyword("block") ||
          parser.parseEqual() || parser.parseInteger(scaleBlock) ||
          parser.parseGreater())
        return {};
    } else if (key == "outliers") {
      if (once(outliers))
        return {};
      outliers = true;
    } else if (extra) {
      if (extra(key))
        return {};
    } else {
      parser.emitError(optLoc, "unknown format option '")
          << key
          << "': expected symmetric, affine, per_tensor, per_channel, "
             "group, scale, double_quant or outliers";
      return {};
    }
  }
  if (!granularity) {
    parser.emitError(loc, "format needs a granularity: per_tensor, "
                          "per_channel or group = N");
    return {};
  }
  if (!scaleType)
    scaleType = Float32Type::get(parser.getContext());
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), code, bits, symmetric.value_or(true),
                    *granularity, groupSize, scaleType, scaleBits, scaleBlock,
                    outliers);
}

void FormatAttr::printBody(AsmPrinter &printer) const {
  printer << numerics::codeName(toNumerics(getCode()), getBits());
  if (getCode() == ElementCode::Int)
    printer << (getSymmetric() ? ", symmetric" : ", affine");
  printer << ", " << stringifyGranularity(getGranularity());
  if (getGranularity() == Granularity::PerGroup)
    printer << " = " << getGroupSize();
  printer << ", scale = " << getScaleType();
  if (isDoubleQuantized())
    printer << ", double_quant = <int" << getScaleBits()
            << ", block = " << getScaleBlock() << ">";
  if (getOutliers())
    printer << ", outliers";
}

Attribute FormatAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FormatAttr format = parseBody(parser);
  if (!format || parser.parseGreater())
    return {};
  return format;
}

void FormatAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

//===----------------------------------------------------------------------===//
// LayoutAttr
//===----------------------------------------------------------------------===//

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t tileN, int64_t tileK) {
  if ((tileN == 0) != (tileK == 0) || tileN < 0 || tileK < 0)
    return emitError() << "layout tiles must be positive, not " << tileN
                       << "x" << tileK;
  return success();
}

LayoutAttr LayoutAttr::parseBody(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef kind;
  if (parser.parseKeyword(&kind))
    return {};
  if (kind == "channel_major")
    return getChannelMajor(parser.getContext());
  if (kind != "tiles") {
    parser.emitError(loc, "unknown layout '")
        << kind << "': expected channel_major or tiles<TNxTK>";
    return {};
  }
  SmallVector<int64_t, 2> tile;
  SMLoc tileLoc;
  if (parser.parseLess() || (tileLoc = parser.getCurrentLocation(),
                             parser.parseDimensionList(
                                 tile, /*allowDynamic=*/false,
                                 /*withTrailingX=*/false)) ||
      parser.parseGreater())
    return {};
  if (tile.size() != 2) {
    parser.emitError(tileLoc, "a tile is channels x inputs: expected TNxTK");
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), tile[0], tile[1]);
}

void LayoutAttr::printBody(AsmPrinter &printer) const {
  if (isChannelMajor())
    printer << "channel_major";
  else
    printer << "tiles<" << getTileN() << "x" << getTileK() << ">";
}

Attribute LayoutAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  LayoutAttr layout = parseBody(parser);
  if (!layout || parser.parseGreater())
    return {};
  return layout;
}

void LayoutAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

//===----------------------------------------------------------------------===//
// QWeightType
//===----------------------------------------------------------------------===//

LogicalResult QWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t inputDim, int64_t outputDim,
                                  FormatAttr format, LayoutAttr layout) {
  numerics::Format f = toNumericsFormat(format);
  std::string why = f.validateShape(inputDim, outputDim);
  if (!why.empty())
    return emitError() << "invalid quantized weight: " << why;
  if (!layout || layout.isChannelMajor())
    return success();
  int64_t tn = layout.getTileN(), tk = layout.getTileK();
  if (outputDim % tn != 0 || inputDim % tk != 0)
    return emitError() << "tiles of " << tn << "x" << tk
                       << " (channels x inputs) do not divide a " << inputDim
                       << "x" << outputDim << " weight";
  if (tk * f.bits % 8 != 0)
    return emitError() << "a tile row of " << tk << " " << f.bits
                       << "-bit codes does not end on a byte";
  return success();
}

SmallVector<int64_t> QWeightType::getCodesShape() const {
  numerics::Format f = toNumericsFormat(getFormat());
  int64_t k = getInputDim(), n = getOutputDim();
  LayoutAttr layout = getLayout();
  if (layout.isChannelMajor())
    return {n, f.rowBytes(k)};
  int64_t tn = layout.getTileN(), tk = layout.getTileK();
  return {n / tn, k / tk, tn * tk * f.bits / 8};
}

Type QWeightType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t, 2> dims;
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return {};
  if (dims.size() != 2) {
    parser.emitError(loc, "a quantized weight is a matrix: expected KxN");
    return {};
  }
  if (parser.parseComma())
    return {};
  LayoutAttr layout = LayoutAttr::getChannelMajor(parser.getContext());
  bool sawLayout = false;
  auto parseLayout = [&](StringRef key) -> ParseResult {
    if (key != "layout" || sawLayout)
      return parser.emitError(parser.getCurrentLocation(),
                              sawLayout && key == "layout"
                                  ? "'layout' given twice"
                                  : "unknown quantized weight option '" +
                                        key.str() +
                                        "': expected a format option or "
                                        "layout");
    sawLayout = true;
    if (parser.parseEqual())
      return failure();
    layout = LayoutAttr::parseBody(parser);
    return success(bool(layout));
  };
  FormatAttr format = FormatAttr::parseBody(parser, parseLayout);
  if (!format || parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), dims[0], dims[1], format, layout);
}

void QWeightType::print(AsmPrinter &printer) const {
  printer << "<" << getInputDim() << "x" << getOutputDim() << ", ";
  getFormat().printBody(printer);
  if (!getLayout().isChannelMajor()) {
    printer << ", layout = ";
    getLayout().printBody(printer);
  }
  printer << ">";
}
