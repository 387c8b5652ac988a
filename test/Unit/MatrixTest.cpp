//===- MatrixTest.cpp - weight matrix quantization, every format ----------===//
//
// Checks quantizeMatrix/dequantizeMatrix against properties derived from the
// definitions: scales from each group's range, error at most half a step,
// nearest representable value for non-uniform codes, exact zeros, exact
// outliers.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace quantc::numerics;

namespace {

constexpr int64_t K = 64, N = 12;

std::vector<float> randomMatrix(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(K * N);
  for (float &x : w)
    x = normal(rng);
  w[5 * N + 3] = 0.0f; // an exact zero must survive every format
  return w;
}

Format intFormat(int bits, bool symmetric, Granularity g, int64_t group = 0) {
  Format f;
  f.bits = bits;
  f.symmetric = symmetric;
  f.granularity = g;
  f.groupSize = group;
  return f;
}

/// The K x N indices (k, n) that share parameter `pi`.
std::vector<std::pair<int64_t, int64_t>> members(const QuantizedMatrix &q,
                                                 int64_t pi) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t k = 0; k < q.k; ++k)
    for (int64_t n = 0; n < q.n; ++n)
      if (q.paramIndex(k, n) == pi)
        out.push_back({k, n});
  return out;
}

struct IntCase {
  int bits;
  bool symmetric;
  Granularity granularity;
  int64_t group;
};

class IntFormats : public ::testing::TestWithParam<IntCase> {};

TEST_P(IntFormats, ScalesFollowTheRangeAndErrorIsHalfAStep) {
  IntCase c = GetParam();
  Format f = intFormat(c.bits, c.symmetric, c.granularity, c.group);
  ASSERT_EQ(f.validate(), "");
  std::vector<float> w = randomMatrix(11 + c.bits);
  QuantizedMatrix q = quantizeMatrix(w.data(), K, N, f);
  ASSERT_EQ(q.codes.size(), static_cast<size_t>(N * ((K * c.bits + 7) / 8)));
  const int64_t params = f.scaleChannels(N) * f.groupsPerChannel(K);
  ASSERT_EQ(q.scales.size(), static_cast<size_t>(params));
  ASSERT_EQ(q.zeroPoints.size(), c.symmetric ? 0u : static_cast<size_t>(params));
  std::vector<float> back = dequantizeMatrix(q);
  const float levels = static_cast<float>((1 << c.bits) - 1);
  const float qmax = static_cast<float>((1 << (c.bits - 1)) - 1);
  for (int64_t pi = 0; pi < params; ++pi) {
    float lo = 0, hi = 0;
    auto group = members(q, pi);
    for (auto [k, n] : group) {
      lo = std::min(lo, w[k * N + n]);
      hi = std::max(hi, w[k * N + n]);
    }
    float expected = c.symmetric ? std::max(-lo, hi) / qmax
                                 : (hi - lo) / levels;
    EXPECT_FLOAT_EQ(q.scales[pi], expected) << "group " << pi;
    for (auto [k, n] : group) {
      float x = w[k * N + n], y = back[k * N + n];
      EXPECT_LE(std::fabs(x - y), expected * 0.5f * 1.0001f)
          << "k " << k << " n " << n;
    }
  }
  EXPECT_EQ(back[5 * N + 3], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(
    AllIntegerFormats, IntFormats,
    ::testing::Values(IntCase{8, true, Granularity::PerTensor, 0},
                      IntCase{8, false, Granularity::PerChannel, 0},
                      IntCase{4, true, Granularity::PerGroup, 16},
                      IntCase{4, false, Granularity::PerGroup, 32},
                      IntCase{4, false, Granularity::PerGroup, 24}, // 24+24+16
                      IntCase{3, false, Granularity::PerGroup, 16},
                      IntCase{3, true, Granularity::PerChannel, 0},
                      IntCase{2, false, Granularity::PerGroup, 16},
                      IntCase{2, true, Granularity::PerGroup, 64},
                      IntCase{5, false, Granularity::PerTensor, 0},
                      IntCase{6, true, Granularity::PerGroup, 8},
                      IntCase{7, false, Granularity::PerChannel, 0}),
    [](const ::testing::TestParamInfo<IntCase> &info) {
      const IntCase &c = info.param;
      std::string g = c.granularity == Granularity::PerTensor    ? "tensor"
                      : c.granularity == Granularity::PerChannel ? "channel"
                                                                 : "group" + std::to_string(c.group);
      return "int" + std::to_string(c.bits) +
             (c.symmetric ? "_symmetric_" : "_affine_") + g;
    });

TEST(FloatCodes, EveryElementTakesTheNearestScaledCode) {
  struct Case {
    ElementCode code;
    int bits;
    float maxMagnitude;
  };
  for (Case c : {Case{ElementCode::NF4, 4, 1.0f},
                 Case{ElementCode::FP4E2M1, 4, 6.0f},
                 Case{ElementCode::FP8E4M3, 8, 448.0f},
                 Case{ElementCode::FP8E5M2, 8, 57344.0f}}) {
    Format f;
    f.code = c.code;
    f.bits = c.bits;
    f.granularity = Granularity::PerGroup;
    f.groupSize = 16;
    std::vector<float> w = randomMatrix(5);
    QuantizedMatrix q = quantizeMatrix(w.data(), K, N, f);
    std::vector<float> back = dequantizeMatrix(q);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        float s = q.scales[q.paramIndex(k, n)];
        float x = w[k * N + n], y = back[k * N + n];
        // Best over every code, decoded independently of the encoder.
        float best = INFINITY;
        for (unsigned code = 0; code < (1u << c.bits); ++code) {
          float v = decodeFloatCode(c.code, static_cast<uint8_t>(code)) * s;
          if (std::isfinite(v))
            best = std::min(best, std::fabs(v - x));
        }
        EXPECT_LE(std::fabs(y - x), best * 1.0001f + 1e-7f)
            << codeName(c.code, c.bits) << " k " << k << " n " << n;
      }
    // The largest magnitude of each group maps to the code's largest value.
    for (int64_t pi = 0; pi < N * (K / 16); ++pi) {
      float absMax = 0;
      for (auto [k, n] : members(q, pi))
        absMax = std::max(absMax, std::fabs(w[k * N + n]));
      EXPECT_FLOAT_EQ(q.scales[pi], absMax / c.maxMagnitude);
    }
    EXPECT_EQ(back[5 * N + 3], 0.0f);
  }
}

TEST(ScaleTypes, StoredScalesAreRepresentable) {
  for (ScaleType t : {ScaleType::F16, ScaleType::BF16}) {
    Format f = intFormat(4, false, Granularity::PerGroup, 16);
    f.scaleType = t;
    std::vector<float> w = randomMatrix(9);
    QuantizedMatrix q = quantizeMatrix(w.data(), K, N, f);
    for (float s : q.scales) {
      if (t == ScaleType::F16)
        EXPECT_EQ(halfToFloat(floatToHalf(s)), s);
      else
        EXPECT_EQ(bf16ToFloat(floatToBF16(s)), s);
    }
    // Codes were computed against the stored scale: half a step of it, but
    // an element at the clipped end may lose up to the scale's rounding.
    std::vector<float> back = dequantizeMatrix(q);
    for (int64_t i = 0; i < K * N; ++i) {
      float s = q.scales[q.paramIndex(i / N, i % N)];
      EXPECT_LE(std::fabs(back[i] - w[i]), s * 0.5f + s * 15 * 0.01f);
    }
  }
}

TEST(DoubleQuant, ScaleCodesAndBlockParameters) {
  Format f = intFormat(3, false, Granularity::PerGroup, 16);
  f.scaleBits = 3;
  f.scaleBlock = 16;
  std::vector<float> w = randomMatrix(21);
  QuantizedMatrix q = quantizeMatrix(w.data(), K, N, f);
  Format plain = f;
  plain.scaleBits = 0;
  plain.scaleBlock = 0;
  QuantizedMatrix direct = quantizeMatrix(w.data(), K, N, plain);
  const size_t count = N * (K / 16);
  ASSERT_TRUE(q.scales.empty());
  ASSERT_EQ(q.scaleCodes.size(), count);
  ASSERT_EQ(q.scaleParams.size(), 2 * ((count + 15) / 16));
  std::vector<float> decoded = decodedScales(q);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_LE(q.scaleCodes[i], 7);
    float step = q.scaleParams[2 * (i / 16)];
    float offset = q.scaleParams[2 * (i / 16) + 1];
    EXPECT_FLOAT_EQ(decoded[i], offset + q.scaleCodes[i] * step);
    // Each block's min-max range in 7 steps: within half a step.
    EXPECT_LE(std::fabs(decoded[i] - direct.scales[i]), step * 0.5f * 1.0001f);
  }
  std::vector<float> back = dequantizeMatrix(q);
  EXPECT_EQ(back[5 * N + 3], 0.0f);
}

TEST(Outliers, KeptExactlyAndLeftOutOfTheStatistics) {
  Format f = intFormat(4, true, Granularity::PerGroup, 16);
  f.outliers = true;
  std::vector<float> w = randomMatrix(31);
  std::vector<char> mask(K * N, 0);
  w[7 * N + 2] = 100.0f;
  w[40 * N + 2] = -55.5f;
  w[1 * N + 9] = 33.0f;
  mask[7 * N + 2] = mask[40 * N + 2] = mask[1 * N + 9] = 1;
  std::unique_ptr<bool[]> m(new bool[K * N]);
  for (int64_t i = 0; i < K * N; ++i)
    m[i] = mask[i];
  QuantizedMatrix q = quantizeMatrix(w.data(), K, N, f, m.get());
  ASSERT_EQ(q.outlierOffsets.size(), static_cast<size_t>(N + 1));
  ASSERT_EQ(q.outlierColumns, (std::vector<int32_t>{7, 40, 1}));
  EXPECT_EQ(q.outlierOffsets[2], 0);
  EXPECT_EQ(q.outlierOffsets[3], 2);
  EXPECT_EQ(q.outlierOffsets[N], 3);
  std::vector<float> back = dequantizeMatrix(q);
  EXPECT_EQ(back[7 * N + 2], 100.0f);
  EXPECT_EQ(back[40 * N + 2], -55.5f);
  EXPECT_EQ(back[1 * N + 9], 33.0f);
  // The rest of the outliers' groups kept their fine scale.
  for (int64_t i = 0; i < K * N; ++i) {
    if (mask[i])
      continue;
    float s = q.scales[q.paramIndex(i / N, i % N)];
    EXPECT_LT(s, 1.0f);
    EXPECT_LE(std::fabs(back[i] - w[i]), s * 0.5f * 1.0001f);
  }
}

} // namespace
