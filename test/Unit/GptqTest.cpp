//===- GptqTest.cpp - GPTQ against round-to-nearest ------------------------===//
//
// With white inputs (H = I) there is nothing to trade between columns:
// GPTQ must give round-to-nearest's codes exactly. With correlated inputs
// it must give a smaller output error ||X (W - W')|| than round-to-nearest,
// with and without act-order. Inputs never seen get zero weight.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Gptq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace quantc::numerics;

namespace {

constexpr int64_t K = 96, N = 24, Samples = 400;

Format int4Group(int64_t group) {
  Format f;
  f.bits = 4;
  f.symmetric = false;
  f.granularity = group ? Granularity::PerGroup : Granularity::PerChannel;
  f.groupSize = group;
  f.scaleType = ScaleType::F16;
  return f;
}

std::vector<float> randomWeight(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(K * N);
  for (float &x : w)
    x = g(rng);
  return w;
}

/// Correlated inputs X (Samples x K): a few shared factors plus noise.
std::vector<double> correlatedInputs(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> x(Samples * K), mix(4 * K);
  for (double &v : mix)
    v = g(rng);
  for (int64_t s = 0; s < Samples; ++s) {
    double f[4] = {g(rng), g(rng), g(rng), g(rng)};
    for (int64_t k = 0; k < K; ++k) {
      double v = 0.3 * g(rng);
      for (int j = 0; j < 4; ++j)
        v += f[j] * mix[j * K + k];
      x[s * K + k] = v;
    }
  }
  return x;
}

std::vector<double> hessianOf(const std::vector<double> &x) {
  std::vector<double> h(K * K, 0.0);
  for (int64_t s = 0; s < Samples; ++s)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j)
        h[i * K + j] += 2.0 * x[s * K + i] * x[s * K + j] / Samples;
  return h;
}

/// ||X (W - W')||^2 / ||X W||^2.
double outputError(const std::vector<double> &x, const std::vector<float> &w,
                   const std::vector<float> &wq) {
  double num = 0, den = 0;
  for (int64_t s = 0; s < Samples; ++s)
    for (int64_t nn = 0; nn < N; ++nn) {
      double y = 0, yq = 0;
      for (int64_t k = 0; k < K; ++k) {
        y += x[s * K + k] * w[k * N + nn];
        yq += x[s * K + k] * wq[k * N + nn];
      }
      num += (y - yq) * (y - yq);
      den += y * y;
    }
  return num / den;
}

TEST(Gptq, WhiteInputsGiveRoundToNearest) {
  std::vector<float> w = randomWeight(1);
  std::vector<double> identity(K * K, 0.0);
  for (int64_t i = 0; i < K; ++i)
    identity[i * K + i] = 1.0;
  for (int64_t group : {0, 32, 40}) {
    Format f = int4Group(group);
    QuantizedMatrix q;
    std::string error;
    ASSERT_TRUE(gptqQuantize(w.data(), K, N, f, identity.data(), {}, q, error))
        << error;
    QuantizedMatrix rtn = quantizeMatrix(w.data(), K, N, f);
    EXPECT_EQ(q.codes, rtn.codes) << "group " << group;
    EXPECT_EQ(q.scales, rtn.scales);
    EXPECT_EQ(q.zeroPoints, rtn.zeroPoints);
  }
}

TEST(Gptq, CorrelatedInputsBeatRoundToNearest) {
  std::vector<float> w = randomWeight(2);
  std::vector<double> x = correlatedInputs(3);
  std::vector<double> h = hessianOf(x);
  for (int64_t group : {0, 32}) {
    Format f = int4Group(group);
    double rtn = outputError(x, w, dequantizeMatrix(quantizeMatrix(w.data(), K, N, f)));
    for (bool actOrder : {false, true}) {
      GptqOptions o;
      o.actOrder = actOrder;
      o.blockSize = 32; // several blocks: the lazy update runs
      QuantizedMatrix q;
      std::string error;
      ASSERT_TRUE(gptqQuantize(w.data(), K, N, f, h.data(), o, q, error));
      double gptq = outputError(x, w, dequantizeMatrix(q));
      EXPECT_LT(gptq, 0.8 * rtn) << "group " << group << " act-order "
                                 << actOrder << ": " << gptq << " vs " << rtn;
    }
  }
}

TEST(Gptq, DeadInputsGetZeroWeightAndOtherFormatsAreRefused) {
  std::vector<float> w = randomWeight(4);
  std::vector<double> h = hessianOf(correlatedInputs(5));
  for (int64_t j = 0; j < K; ++j)
    h[7 * K + j] = h[j * K + 7] = 0.0; // input 7 never seen
  QuantizedMatrix q;
  std::string error;
  ASSERT_TRUE(gptqQuantize(w.data(), K, N, int4Group(32), h.data(), {}, q, error));
  std::vector<float> wq = dequantizeMatrix(q);
  for (int64_t nn = 0; nn < N; ++nn)
    EXPECT_EQ(wq[7 * N + nn], 0.0f);
  Format nf4;
  nf4.code = ElementCode::NF4;
  nf4.bits = 4;
  nf4.granularity = Granularity::PerGroup;
  nf4.groupSize = 32;
  EXPECT_FALSE(gptqQuantize(w.data(), K, N, nf4, h.data(), {}, q, error));
  EXPECT_NE(error.find("integer"), std::string::npos);
}

} // namespace
