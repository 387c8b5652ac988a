//===- Scalar.h - reference coding of single values -------------*- C++ -*-===//
//
// Integer quantization parameters and rounding, the NF4 table, FP4/FP8 and
// f16/bf16 conversions. All rounding is round-half-to-even; FP codes
// saturate at their largest finite value.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_NUMERICS_SCALAR_H
#define QUANTC_NUMERICS_SCALAR_H

#include "quantc/Numerics/Format.h"

#include <array>
#include <cstdint>

namespace quantc::numerics {

/// Scale and zero point of one integer quantization group.
struct IntParams {
  float scale = 0.0f;
  int32_t zeroPoint = 0;
};

/// Symmetric parameters: absmax maps to the largest code 2^(bits-1) - 1.
IntParams symmetricParams(float absMax, int bits);
/// Affine parameters for [rmin, rmax] widened to hold 0:
/// S = (rmax - rmin) / (2^bits - 1), Z = round(-rmin / S).
IntParams affineParams(float rmin, float rmax, int bits);
/// round_half_even(x / scale) + zeroPoint, clamped to [qmin, qmax]. A zero
/// scale (a group of zeros) gives the zero point.
int32_t quantizeInt(float x, IntParams p, int32_t qmin, int32_t qmax);
/// (q - zeroPoint) * scale.
inline float dequantizeInt(int32_t q, IntParams p) {
  return static_cast<float>(q - p.zeroPoint) * p.scale;
}

/// The 16 NormalFloat-4 values of QLoRA, ascending, in [-1, 1].
const std::array<float, 16> &nf4Table();
/// Index of the NF4 value nearest to x (ties to the even index).
uint8_t encodeNF4(float x);
inline float decodeNF4(uint8_t code) { return nf4Table()[code & 15]; }

/// Small float codes: bit patterns with sign in the top bit.
uint8_t encodeFP4E2M1(float x);
float decodeFP4E2M1(uint8_t code);
uint8_t encodeFP8E4M3(float x);
float decodeFP8E4M3(uint8_t code);
uint8_t encodeFP8E5M2(float x);
float decodeFP8E5M2(uint8_t code);

/// IEEE half and bfloat16 bit patterns.
uint16_t floatToHalf(float x);
float halfToFloat(uint16_t h);
uint16_t floatToBF16(float x);
float bf16ToFloat(uint16_t b);

/// x rounded to the nearest value of the scale type.
float roundToScaleType(float x, ScaleType type);

/// Largest magnitude the element code represents (before scaling): 1 for
/// NF4, 6 for FP4, 448 for E4M3, 57344 for E5M2, maxCode for Int.
float codeMaxMagnitude(const Format &format);
/// Code of a value already divided by its scale (non-Int codes only).
uint8_t encodeFloatCode(ElementCode code, float x);
/// Value of a non-Int code, before scaling.
float decodeFloatCode(ElementCode code, uint8_t bits);

} // namespace quantc::numerics

#endif // QUANTC_NUMERICS_SCALAR_H
