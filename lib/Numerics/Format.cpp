//===- Format.cpp - rules of quantized weight formats ---------------------===//

#include "quantc/Numerics/Format.h"

namespace quantc::numerics {

std::string codeName(ElementCode code, int bits) {
  switch (code) {
  case ElementCode::Int:
    return "int" + std::to_string(bits);
  case ElementCode::NF4:
    return "nf4";
  case ElementCode::FP4E2M1:
    return "fp4_e2m1";
  case ElementCode::FP8E4M3:
    return "fp8_e4m3";
  case ElementCode::FP8E5M2:
    return "fp8_e5m2";
  }
  return "?";
}

std::string Format::validate() const {
  int requiredBits = 0;
  switch (code) {
  case ElementCode::Int:
    if (bits < 2 || bits > 8)
      return "integer codes must have 2 to 8 bits, not " +
             std::to_string(bits);
    break;
  case ElementCode::NF4:
  case ElementCode::FP4E2M1:
    requiredBits = 4;
    break;
  case ElementCode::FP8E4M3:
  case ElementCode::FP8E5M2:
    requiredBits = 8;
    break;
  }
  if (requiredBits && bits != requiredBits)
    return codeName(code, bits) + " codes have " +
           std::to_string(requiredBits) + " bits";
  if (code != ElementCode::Int && !symmetric)
    return codeName(code, bits) + " codes are symmetric: no zero point";
  if (granularity == Granularity::PerGroup && groupSize <= 0)
    return "group size must be positive, not " + std::to_string(groupSize);
  if (granularity != Granularity::PerGroup && groupSize != 0)
    return "a group size needs group granularity";
  if (scaleBits != 0 && (scaleBits < 2 || scaleBits > 8))
    return "double-quantized scales must have 2 to 8 bits, not " +
           std::to_string(scaleBits);
  if (scaleBits != 0 && scaleBlock <= 0)
    return "double-quantization block must be positive, not " +
           std::to_string(scaleBlock);
  if (scaleBits == 0 && scaleBlock != 0)
    return "a scale block needs double-quantized scales";
  return "";
}

std::string Format::validateShape(int64_t k, int64_t n) const {
  if (k <= 0 || n <= 0)
    return "weight dimensions must be positive, not " + std::to_string(k) +
           "x" + std::to_string(n);
  return "";
}

int64_t Format::groupsPerChannel(int64_t k) const {
  // The last group is shorter when g does not divide K (as in GPTQ).
  return granularity == Granularity::PerGroup
             ? (k + groupSize - 1) / groupSize
             : 1;
}

int64_t Format::scaleChannels(int64_t n) const {
  return granularity == Granularity::PerTensor ? 1 : n;
}

int32_t Format::minCode() const {
  if (code == ElementCode::Int && symmetric)
    return -((1 << (bits - 1)) - 1);
  return 0;
}

int32_t Format::maxCode() const {
  if (code == ElementCode::Int && symmetric)
    return (1 << (bits - 1)) - 1;
  return (1 << bits) - 1;
}

} // namespace quantc::numerics
