//===- Scalar.cpp - reference coding of single values ---------------------===//

#include "quantc/Numerics/Scalar.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace quantc::numerics {

namespace {

uint32_t floatBits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float bitsToFloat(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

/// A small binary float format: sign, `expBits` exponent bits with `bias`,
/// `manBits` mantissa bits, subnormals, and the special codes of its kind.
struct MiniFloat {
  int expBits, manBits, bias;
  enum Specials { None, FN, IEEE } specials;
  // FN (E4M3): only all-ones is NaN, no infinities. IEEE (E5M2): top
  // exponent holds infinities and NaNs. None (E2M1): every code is finite.

  int width() const { return 1 + expBits + manBits; }

  bool isNaNOrInf(uint32_t code) const {
    uint32_t mag = code & ((1u << (width() - 1)) - 1);
    uint32_t expAll = (1u << expBits) - 1;
    uint32_t e = mag >> manBits, m = mag & ((1u << manBits) - 1);
    if (specials == FN)
      return e == expAll && m == (1u << manBits) - 1;
    if (specials == IEEE)
      return e == expAll;
    return false;
  }

  float decode(uint32_t code) const {
    uint32_t signBit = 1u << (width() - 1);
    uint32_t mag = code & (signBit - 1);
    uint32_t e = mag >> manBits, m = mag & ((1u << manBits) - 1);
    float sign = (code & signBit) ? -1.0f : 1.0f;
    uint32_t expAll = (1u << expBits) - 1;
    if (specials == FN && e == expAll && m == (1u << manBits) - 1)
      return std::numeric_limits<float>::quiet_NaN();
    if (specials == IEEE && e == expAll)
      return m ? std::numeric_limits<float>::quiet_NaN()
               : sign * std::numeric_limits<float>::infinity();
    if (e == 0)
      return sign * std::ldexp(static_cast<float>(m), 1 - bias - manBits);
    return sign * std::ldexp(1.0f + std::ldexp(static_cast<float>(m), -manBits),
                             static_cast<int>(e) - bias);
  }

  /// Non-negative finite values, indexed by code; ascending.
  std::vector<float> positiveValues() const {
    std::vector<float> values;
    for (uint32_t c = 0; c < (1u << (width() - 1)); ++c)
      if (!isNaNOrInf(c))
        values.push_back(decode(c));
    return values;
  }

  uint32_t nanCode() const {
    return specials == None ? 0 : (1u << (width() - 1)) - 1;
  }

  /// Nearest code, ties to the even code, saturating at the largest finite
  /// value; positive codes are ascending in value, so code parity is
  /// mantissa parity and "even code" is IEEE's round-half-to-even.
  uint32_t encode(float x, const std::vector<float> &values) const {
    if (std::isnan(x))
      return nanCode();
    uint32_t sign = std::signbit(x) ? 1u << (width() - 1) : 0;
    float a = std::fabs(x);
    auto it = std::upper_bound(values.begin(), values.end(), a);
    if (it == values.end())
      return sign | static_cast<uint32_t>(values.size() - 1);
    uint32_t hi = static_cast<uint32_t>(it - values.begin());
    uint32_t lo = hi - 1; // values[0] == 0 <= a, so hi >= 1
    float dLo = a - values[lo], dHi = values[hi] - a;
    uint32_t code = dLo < dHi ? lo : dHi < dLo ? hi : (lo % 2 == 0 ? lo : hi);
    return sign | code;
  }
};

const MiniFloat kE2M1{2, 1, 1, MiniFloat::None};
const MiniFloat kE4M3{4, 3, 7, MiniFloat::FN};
const MiniFloat kE5M2{5, 2, 15, MiniFloat::IEEE};

const std::vector<float> &valuesOf(const MiniFloat &f) {
  static const std::vector<float> e2m1 = kE2M1.positiveValues();
  static const std::vector<float> e4m3 = kE4M3.positiveValues();
  static const std::vector<float> e5m2 = kE5M2.positiveValues();
  return &f == &kE2M1 ? e2m1 : &f == &kE4M3 ? e4m3 : e5m2;
}

} // namespace

IntParams symmetricParams(float absMax, int bits) {
  float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  return {absMax / qmax, 0};
}

IntParams affineParams(float rmin, float rmax, int bits) {
  rmin = std::min(rmin, 0.0f);
  rmax = std::max(rmax, 0.0f);
  if (rmax == rmin)
    return {0.0f, 0};
  float levels = static_cast<float>((1 << bits) - 1);
  float scale = (rmax - rmin) / levels;
  float zero = std::nearbyint(-rmin / scale);
  zero = std::clamp(zero, 0.0f, levels);
  return {scale, static_cast<int32_t>(zero)};
}

int32_t quantizeInt(float x, IntParams p, int32_t qmin, int32_t qmax) {
  if (p.scale == 0.0f || std::isnan(x))
    return std::clamp(p.zeroPoint, qmin, qmax);
  float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zeroPoint);
  q = std::clamp(q, static_cast<float>(qmin), static_cast<float>(qmax));
  return static_cast<int32_t>(q);
}

const std::array<float, 16> &nf4Table() {
  // QLoRA (Dettmers et al. 2023), appendix E: quantiles of N(0, 1) scaled to
  // [-1, 1], with an exact zero.
  static const std::array<float, 16> table = {
      -1.0f,
      -0.6961928009986877f,
      -0.5250730514526367f,
      -0.39491748809814453f,
      -0.28444138169288635f,
      -0.18477343022823334f,
      -0.09105003625154495f,
      0.0f,
      0.07958029955625534f,
      0.16093020141124725f,
      0.24611230194568634f,
      0.33791524171829224f,
      0.44070982933044434f,
      0.5626170039176941f,
      0.7229568362236023f,
      1.0f};
  return table;
}

uint8_t encodeNF4(float x) {
  if (std::isnan(x))
    return 7; // the zero code
  const auto &t = nf4Table();
  uint8_t best = 0;
  float bestDist = std::numeric_limits<float>::infinity();
  for (uint8_t i = 0; i < 16; ++i) {
    float d = std::fabs(x - t[i]);
    if (d < bestDist || (d == bestDist && i % 2 == 0)) {
      best = i;
      bestDist = d;
    }
  }
  return best;
}

uint8_t encodeFP4E2M1(float x) {
  return static_cast<uint8_t>(kE2M1.encode(x, valuesOf(kE2M1)));
}
float decodeFP4E2M1(uint8_t code) { return kE2M1.decode(code & 15); }
uint8_t encodeFP8E4M3(float x) {
  return static_cast<uint8_t>(kE4M3.encode(x, valuesOf(kE4M3)));
}
float decodeFP8E4M3(uint8_t code) { return kE4M3.decode(code); }
uint8_t encodeFP8E5M2(float x) {
  return static_cast<uint8_t>(kE5M2.encode(x, valuesOf(kE5M2)));
}
float decodeFP8E5M2(uint8_t code) { return kE5M2.decode(code); }

uint16_t floatToHalf(float x) {
  uint32_t f = floatBits(x);
  uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000);
  uint32_t a = f & 0x7fffffff;
  if (a > 0x7f800000)
    return sign | 0x7e00; // NaN
  if (a >= 0x477ff000)    // >= 65520: rounds to infinity
    return sign | 0x7c00;
  if (a < 0x38800000) { // below 2^-14: a half subnormal (or zero)
    // Scaling by 2^24 is exact; the rounding mode is round-half-to-even.
    float m = std::nearbyint(std::fabs(x) * 16777216.0f);
    return sign | static_cast<uint16_t>(m);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits
  // to nearest, ties to even; a carry correctly bumps the exponent.
  a += 0xfff + ((a >> 13) & 1);
  a -= 0x38000000;
  return sign | static_cast<uint16_t>(a >> 13);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0)
    return bitsToFloat(sign) + (sign ? -1.0f : 1.0f) *
                                   std::ldexp(static_cast<float>(m), -24);
  if (e == 31)
    return bitsToFloat(sign | 0x7f800000 | (m << 13));
  return bitsToFloat(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t floatToBF16(float x) {
  uint32_t f = floatBits(x);
  if ((f & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((f >> 16) | 0x40); // quiet NaN
  f += 0x7fff + ((f >> 16) & 1);
  return static_cast<uint16_t>(f >> 16);
}

float bf16ToFloat(uint16_t b) {
  return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

float roundToScaleType(float x, ScaleType type) {
  switch (type) {
  case ScaleType::F32:
    return x;
  case ScaleType::F16: {
    // Saturate: an infinite scale would turn a whole group into garbage.
    float r = halfToFloat(floatToHalf(x));
    return std::isinf(r) ? std::copysign(65504.0f, x) : r;
  }
  case ScaleType::BF16:
    return bf16ToFloat(floatToBF16(x));
  }
  return x;
}

float codeMaxMagnitude(const Format &format) {
  switch (format.code) {
  case ElementCode::Int:
    return static_cast<float>(format.maxCode());
  case ElementCode::NF4:
    return 1.0f;
  case ElementCode::FP4E2M1:
    return 6.0f;
  case ElementCode::FP8E4M3:
    return 448.0f;
  case ElementCode::FP8E5M2:
    return 57344.0f;
  }
  return 1.0f;
}

uint8_t encodeFloatCode(ElementCode code, float x) {
  switch (code) {
  case ElementCode::NF4:
    return encodeNF4(x);
  case ElementCode::FP4E2M1:
    return encodeFP4E2M1(x);
  case ElementCode::FP8E4M3:
    return encodeFP8E4M3(x);
  case ElementCode::FP8E5M2:
    return encodeFP8E5M2(x);
  case ElementCode::Int:
    break;
  }
  return 0;
}

float decodeFloatCode(ElementCode code, uint8_t bits) {
  switch (code) {
  case ElementCode::NF4:
    return decodeNF4(bits);
  case ElementCode::FP4E2M1:
    return decodeFP4E2M1(bits);
  case ElementCode::FP8E4M3:
    return decodeFP8E4M3(bits);
  case ElementCode::FP8E5M2:
    return decodeFP8E5M2(bits);
  case ElementCode::Int:
    break;
  }
  return 0.0f;
}

} // namespace quantc::numerics
