//===- NumericsTest.cpp - scalar coding against independent values --------===//
//
// Expected values here are derived from the definitions (IEEE bit layouts,
// the QLoRA construction of NF4, the quantization formulas), never from the
// code under test.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Format.h"
#include "quantc/Numerics/Pack.h"
#include "quantc/Numerics/Scalar.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace quantc::numerics;

namespace {

//===--- integers ---------------------------------------------------------===//

TEST(IntQuant, SymmetricInt8MapsAbsMaxTo127AndZeroToZero) {
  const float absMax = 3.7f;
  IntParams p = symmetricParams(absMax, 8);
  EXPECT_FLOAT_EQ(p.scale, absMax / 127.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  EXPECT_EQ(quantizeInt(absMax, p, -127, 127), 127);
  EXPECT_EQ(quantizeInt(-absMax, p, -127, 127), -127);
  EXPECT_EQ(quantizeInt(0.0f, p, -127, 127), 0);
  EXPECT_EQ(dequantizeInt(0, p), 0.0f);
}

TEST(IntQuant, AffineUint8UsesMinMaxRange) {
  const float rmin = -1.5f, rmax = 4.0f;
  IntParams p = affineParams(rmin, rmax, 8);
  const float s = (rmax - rmin) / 255.0f;
  EXPECT_FLOAT_EQ(p.scale, s);
  EXPECT_EQ(p.zeroPoint, static_cast<int>(std::lround(-rmin / s)));
  EXPECT_EQ(quantizeInt(rmin, p, 0, 255), 0);
  EXPECT_EQ(quantizeInt(rmax, p, 0, 255), 255);
  // Zero is exactly representable: it maps to Z and back to 0.
  EXPECT_EQ(quantizeInt(0.0f, p, 0, 255), p.zeroPoint);
  EXPECT_EQ(dequantizeInt(p.zeroPoint, p), 0.0f);
}

TEST(IntQuant, AffineRangeIsWidenedToHoldZero) {
  IntParams p = affineParams(2.0f, 10.0f, 4);
  EXPECT_FLOAT_EQ(p.scale, 10.0f / 15.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  IntParams n = affineParams(-8.0f, -1.0f, 4);
  EXPECT_FLOAT_EQ(n.scale, 8.0f / 15.0f);
  EXPECT_EQ(n.zeroPoint, 15);
}

TEST(IntQuant, RoundsHalfToEvenAndClamps) {
  IntParams unit{1.0f, 0};
  EXPECT_EQ(quantizeInt(2.5f, unit, -127, 127), 2);
  EXPECT_EQ(quantizeInt(3.5f, unit, -127, 127), 4);
  EXPECT_EQ(quantizeInt(-2.5f, unit, -127, 127), -2);
  EXPECT_EQ(quantizeInt(-0.5f, unit, -127, 127), 0);
  EXPECT_EQ(quantizeInt(1000.0f, unit, -7, 7), 7);
  EXPECT_EQ(quantizeInt(-1000.0f, unit, -7, 7), -7);
  EXPECT_EQ(quantizeInt(std::numeric_limits<float>::infinity(), unit, 0, 15),
            15);
}

TEST(IntQuant, ZeroScaleGivesZeroPoint) {
  EXPECT_EQ(quantizeInt(5.0f, symmetricParams(0.0f, 4), -7, 7), 0);
  IntParams z = affineParams(0.0f, 0.0f, 4);
  EXPECT_EQ(quantizeInt(5.0f, z, 0, 15), z.zeroPoint);
}

TEST(IntQuant, RoundTripErrorIsAtMostHalfAStepInsideTheRange) {
  std::mt19937 rng(7);
  for (int bits = 2; bits <= 8; ++bits) {
    std::uniform_real_distribution<float> range(-5.0f, 5.0f);
    float a = range(rng), b = range(rng);
    float lo = std::min(a, b), hi = std::max(a, b);
    for (bool symmetric : {true, false}) {
      IntParams p = symmetric
                        ? symmetricParams(std::max(-lo, hi), bits)
                        : affineParams(lo, hi, bits);
      int qmin = symmetric ? -((1 << (bits - 1)) - 1) : 0;
      int qmax = symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
      std::uniform_real_distribution<float> inside(std::min(lo, 0.0f),
                                                   std::max(hi, 0.0f));
      for (int i = 0; i < 2000; ++i) {
        float x = inside(rng);
        float y = dequantizeInt(quantizeInt(x, p, qmin, qmax), p);
        // Half a step, plus float rounding of x / S and (q - Z) * S.
        EXPECT_LE(std::fabs(y - x), p.scale * 0.5f * (1 + 1e-5f) + 1e-6f)
            << "bits " << bits << " symmetric " << symmetric << " x " << x;
      }
    }
  }
}

//===--- NF4 --------------------------------------------------------------===//

/// Inverse of the standard normal CDF by bisection on erfc, in double.
double normalQuantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    double cdf = 0.5 * std::erfc(-mid / std::sqrt(2.0));
    (cdf < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

TEST(NF4, TableIsTheQLoRAQuantileConstruction) {
  // QLoRA: 8 positive quantiles of N(0,1) at linspace(delta, 1/2, 9)[:-1]
  // and 7 negative at linspace(delta, 1/2, 8)[:-1], delta = 0.9677083, plus
  // an exact zero, normalized by the largest.
  const double delta = 0.9677083;
  std::vector<double> values = {0.0};
  for (int i = 0; i < 8; ++i)
    values.push_back(normalQuantile(delta + (0.5 - delta) * i / 8.0));
  for (int i = 0; i < 7; ++i)
    values.push_back(-normalQuantile(delta + (0.5 - delta) * i / 7.0));
  std::sort(values.begin(), values.end());
  const double top = values.back();
  const auto &table = nf4Table();
  ASSERT_EQ(values.size(), table.size());
  for (size_t i = 0; i < table.size(); ++i)
    EXPECT_NEAR(table[i], values[i] / top, 2e-6) << "entry " << i;
  EXPECT_EQ(table[7], 0.0f);
}

TEST(NF4, EncodesToNearestAndRoundTrips) {
  const auto &t = nf4Table();
  for (uint8_t c = 0; c < 16; ++c)
    EXPECT_EQ(encodeNF4(t[c]), c);
  EXPECT_EQ(encodeNF4(5.0f), 15);
  EXPECT_EQ(encodeNF4(-5.0f), 0);
  EXPECT_EQ(encodeNF4(0.03f), 7);
  EXPECT_EQ(encodeNF4(0.05f), 8);
}

//===--- small floats -----------------------------------------------------===//

/// Value of a sign/exponent/mantissa code by the IEEE-style definition.
double fieldValue(unsigned code, int expBits, int manBits, int bias) {
  int width = 1 + expBits + manBits;
  bool negative = code >> (width - 1) & 1;
  unsigned e = code >> manBits & ((1u << expBits) - 1);
  unsigned m = code & ((1u << manBits) - 1);
  double v = e == 0 ? std::ldexp(m, 1 - bias - manBits)
                    : std::ldexp(1.0 + std::ldexp(m, -manBits), e - bias);
  return negative ? -v : v;
}

TEST(FP8, E4M3MaxIs448AndHasNoInfinity) {
  EXPECT_EQ(decodeFP8E4M3(0x7e), 448.0f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(1e9f)), 448.0f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(
                std::numeric_limits<float>::infinity())),
            448.0f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(-500.0f)), -448.0f);
  for (unsigned c = 0; c < 256; ++c) {
    float v = decodeFP8E4M3(static_cast<uint8_t>(c));
    EXPECT_FALSE(std::isinf(v)) << c;
    EXPECT_EQ(std::isnan(v), (c & 0x7f) == 0x7f) << c;
  }
}

TEST(FP8, E5M2MaxIs57344) {
  EXPECT_EQ(decodeFP8E5M2(0x7b), 57344.0f);
  EXPECT_EQ(decodeFP8E5M2(encodeFP8E5M2(1e9f)), 57344.0f);
  EXPECT_EQ(decodeFP8E5M2(encodeFP8E5M2(-1e9f)), -57344.0f);
  EXPECT_TRUE(std::isinf(decodeFP8E5M2(0x7c)));
}

TEST(FP8, EveryFiniteCodeDecodesByDefinitionAndRoundTrips) {
  for (unsigned c = 0; c < 256; ++c) {
    uint8_t code = static_cast<uint8_t>(c);
    if ((c & 0x7f) != 0x7f) {
      EXPECT_EQ(decodeFP8E4M3(code), fieldValue(c, 4, 3, 7)) << c;
      EXPECT_EQ(encodeFP8E4M3(decodeFP8E4M3(code)), code) << c;
    }
    if ((c & 0x7c) != 0x7c) {
      EXPECT_EQ(decodeFP8E5M2(code), fieldValue(c, 5, 2, 15)) << c;
      EXPECT_EQ(encodeFP8E5M2(decodeFP8E5M2(code)), code) << c;
    }
  }
}

TEST(FP8, RoundsHalfToEven) {
  // E4M3 around 1: step 1/8. 1.0625 lies between 1.0 (even mantissa) and
  // 1.125 (odd); 1.1875 between 1.125 (odd) and 1.25 (even).
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(1.0625f)), 1.0f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(1.1875f)), 1.25f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(1.07f)), 1.125f);
  // Smallest subnormal 2^-9: half of it ties to zero, a bit more rounds up.
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(std::ldexp(1.0f, -10))), 0.0f);
  EXPECT_EQ(decodeFP8E4M3(encodeFP8E4M3(std::ldexp(1.1f, -10))),
            std::ldexp(1.0f, -9));
  // E5M2 around 1: step 1/4; 1.125 ties to 1.0, 1.375 to 1.5.
  EXPECT_EQ(decodeFP8E5M2(encodeFP8E5M2(1.125f)), 1.0f);
  EXPECT_EQ(decodeFP8E5M2(encodeFP8E5M2(1.375f)), 1.5f);
}

TEST(FP4, E2M1ValuesAndRounding) {
  const float expected[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (unsigned c = 0; c < 16; ++c) {
    float v = expected[c & 7] * ((c & 8) ? -1.0f : 1.0f);
    EXPECT_EQ(decodeFP4E2M1(static_cast<uint8_t>(c)), v) << c;
    EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(v)), v) << c;
  }
  EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(100.0f)), 6.0f);
  EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(2.5f)), 2.0f); // tie to even
  EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(3.5f)), 4.0f); // tie to even
  EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(5.0f)), 4.0f); // tie to even
  EXPECT_EQ(decodeFP4E2M1(encodeFP4E2M1(0.25f)), 0.0f);
}

//===--- f16 / bf16 -------------------------------------------------------===//

TEST(Half, KnownBitPatterns) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);  // ties up to infinity
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // min subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000); // tie to even 0
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002); // 1.5 ulp -> 2
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00); // tie, even
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02); // tie, even
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST(Half, EveryFiniteHalfRoundTrips) {
  for (unsigned h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00)
      continue;
    uint16_t code = static_cast<uint16_t>(h);
    EXPECT_EQ(halfToFloat(code), fieldValue(h, 5, 10, 15)) << h;
    EXPECT_EQ(floatToHalf(halfToFloat(code)), code) << h;
  }
}

TEST(BF16, RoundsHalfToEven) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + std::ldexp(3.0f, -8))),
            1.0f + std::ldexp(1.0f, -6));
  EXPECT_EQ(bf16ToFloat(floatToBF16(3.0f)), 3.0f);
}

TEST(ScaleType, F16SaturatesInsteadOfOverflowing) {
  EXPECT_EQ(roundToScaleType(1e6f, ScaleType::F16), 65504.0f);
  EXPECT_EQ(roundToScaleType(0.1f, ScaleType::F32), 0.1f);
  EXPECT_EQ(roundToScaleType(0.1f, ScaleType::F16), halfToFloat(0x2e66));
}

//===--- packing ----------------------------------------------------------===//

TEST(Pack, LayoutIsLittleEndianBitStream) {
  const uint8_t codes[4] = {0x1, 0x2, 0x3, 0xf};
  uint8_t out[2];
  packCodes(codes, 4, 4, out);
  EXPECT_EQ(out[0], 0x21);
  EXPECT_EQ(out[1], 0xf3);
  const uint8_t three[3] = {0b101, 0b011, 0b110};
  uint8_t packed3[2];
  packCodes(three, 3, 3, packed3);
  // Stream bits: 101 | 011 << 3 | 110 << 6 = 0b110'011'101.
  EXPECT_EQ(packed3[0], 0b10011101);
  EXPECT_EQ(packed3[1], 0b1);
}

TEST(Pack, LosslessForEveryCodeAtEveryOffset) {
  std::mt19937 rng(3);
  for (int bits = 1; bits <= 8; ++bits) {
    for (int64_t count : {1, 2, 3, 7, 8, 9, 63, 256, 1001}) {
      std::vector<uint8_t> codes(count);
      for (int64_t i = 0; i < count; ++i) // every code, shifted by offset
        codes[i] = static_cast<uint8_t>((i + rng() % 2) % (1 << bits));
      std::vector<uint8_t> packed((count * bits + 7) / 8);
      packCodes(codes.data(), count, bits, packed.data());
      std::vector<uint8_t> back(count);
      unpackCodes(packed.data(), count, bits, back.data());
      EXPECT_EQ(back, codes) << "bits " << bits << " count " << count;
    }
  }
}

TEST(Pack, SignExtension) {
  EXPECT_EQ(signExtend(0b111, 3), -1);
  EXPECT_EQ(signExtend(0b100, 3), -4);
  EXPECT_EQ(signExtend(0b011, 3), 3);
  EXPECT_EQ(signExtend(0x81, 8), -127);
}

//===--- formats ----------------------------------------------------------===//

TEST(Format, RejectsWhatCannotBeStored) {
  Format f;
  f.bits = 9;
  EXPECT_NE(f.validate(), "");
  f.bits = 4;
  EXPECT_EQ(f.validate(), "");
  f.code = ElementCode::NF4;
  f.symmetric = false;
  EXPECT_NE(f.validate(), "");
  f.symmetric = true;
  f.granularity = Granularity::PerGroup;
  f.groupSize = 0;
  EXPECT_NE(f.validate(), "");
  f.groupSize = 128;
  EXPECT_EQ(f.validate(), "");
  EXPECT_EQ(f.validateShape(256, 8), "");
  // A group size that does not divide K leaves a shorter last group.
  EXPECT_EQ(f.validateShape(200, 8), "");
  EXPECT_EQ(f.groupsPerChannel(200), 2);
  EXPECT_NE(f.validateShape(0, 8), "");
  f.scaleBits = 8;
  EXPECT_NE(f.validate(), ""); // needs a block
  f.scaleBlock = 256;
  EXPECT_EQ(f.validate(), "");
}

} // namespace
