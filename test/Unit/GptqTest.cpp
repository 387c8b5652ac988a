//===- GptqTest.cpp - GPTQ against round-to-nearest ------------------------===//
//
// With white inputs (H = I) there is nothing to trade between columns:
// GPTQ must give round-to-nearest's codes exactly. With correlated inputs
// it must give a smaller output error ||X (W - W')|| than round-to-nearest,
// with and without act-order. Inputs never seen get zero weight.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Gptq.h"
#include "quantc/Numerics/Scalar.h"

#include <gtest/gtest.h>

#include <algorithm>
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

//===----------------------------------------------------------------------===//
// Blocked GPTQ against the plain algorithm
//===----------------------------------------------------------------------===//

namespace {

/// The inverse of a symmetric positive definite K x K matrix by Gauss-Jordan
/// elimination in float64 (no pivoting needed for SPD).
std::vector<double> inverse(std::vector<double> a, int64_t k) {
  std::vector<double> inv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    inv[i * k + i] = 1.0;
  for (int64_t c = 0; c < k; ++c) {
    double p = a[c * k + c];
    for (int64_t j = 0; j < k; ++j) {
      a[c * k + j] /= p;
      inv[c * k + j] /= p;
    }
    for (int64_t r = 0; r < k; ++r) {
      if (r == c)
        continue;
      double f = a[r * k + c];
      for (int64_t j = 0; j < k; ++j) {
        a[r * k + j] -= f * a[c * k + j];
        inv[r * k + j] -= f * inv[c * k + j];
      }
    }
  }
  return inv;
}

/// GPTQ as first written (OBQ order, no blocks, no Cholesky): quantize one
/// column, spread its error over every later column through the current
/// inverse Hessian, then remove that column from the inverse. The grid is
/// the same min-max grid of the scalar numerics; groups take their
/// parameters from the (updated) weights when their first column comes,
/// or, with act-order, from the original weights (static groups).
/// Returns the dequantized weight, K x N row-major.
std::vector<float> plainGptq(const std::vector<float> &weight, int64_t k,
                             int64_t n, const Format &f,
                             const std::vector<double> &hessian,
                             double damping, bool actOrder) {
  const int64_t groupLen = f.granularity == Granularity::PerGroup ? f.groupSize : k;
  const int64_t groups = (k + groupLen - 1) / groupLen;
  auto params = [&](const std::vector<double> &column, int64_t from,
                    int64_t count) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < count; ++i) {
      lo = std::min(lo, float(column[from + i]));
      hi = std::max(hi, float(column[from + i]));
    }
    IntParams p = affineParams(lo, hi, f.bits);
    p.scale = roundToScaleType(p.scale, f.scaleType);
    return p;
  };
  std::vector<int64_t> order(k);
  for (int64_t i = 0; i < k; ++i)
    order[i] = i;
  if (actOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return hessian[a * k + a] > hessian[b * k + b];
    });
  // Everything in quantization order: W[channel][position], H permuted.
  std::vector<std::vector<double>> w(n, std::vector<double>(k));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t i = 0; i < k; ++i)
      w[c][i] = weight[order[i] * n + c];
  std::vector<double> h(k * k);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += hessian[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      h[i * k + j] = hessian[order[i] * k + order[j]] + (i == j ? damping * mean : 0);
  std::vector<double> hinv = inverse(h, k);

  std::vector<IntParams> group(n * groups);
  if (actOrder)
    for (int64_t c = 0; c < n; ++c) {
      std::vector<double> original(k);
      for (int64_t i = 0; i < k; ++i)
        original[i] = weight[i * n + c];
      for (int64_t g = 0; g < groups; ++g)
        group[c * groups + g] =
            params(original, g * groupLen, std::min(groupLen, k - g * groupLen));
    }
  std::vector<float> out(k * n);
  for (int64_t q = 0; q < k; ++q) {
    int64_t original = order[q], g = original / groupLen;
    for (int64_t c = 0; c < n; ++c) {
      if (!actOrder && original % groupLen == 0)
        group[c * groups + g] =
            params(w[c], q, std::min(groupLen, k - g * groupLen));
      IntParams p = group[c * groups + g];
      int32_t code = quantizeInt(float(w[c][q]), p, f.minCode(), f.maxCode());
      float wq = dequantizeInt(code, p);
      out[original * n + c] = wq;
      double err = (w[c][q] - wq) / hinv[q * k + q];
      for (int64_t j = q + 1; j < k; ++j)
        w[c][j] -= err * hinv[q * k + j];
    }
    // Remove q from the inverse (the OBS update).
    double d = hinv[q * k + q];
    std::vector<double> row(hinv.begin() + q * k, hinv.begin() + (q + 1) * k);
    for (int64_t i = q; i < k; ++i)
      for (int64_t j = q; j < k; ++j)
        hinv[i * k + j] -= row[i] * row[j] / d;
  }
  return out;
}

} // namespace

// The blocked form (lazy updates between blocks, U from one Cholesky) is the
// same algorithm: to rounding it gives the plain form's weights, whatever
// the block size (one block, several, a partial last one), the group size
// (dividing K or not) and the order. A dropped or misplaced update term
// changes most of the weights after the first block.
TEST(Gptq, BlockedEqualsPlainColumnByColumn) {
  constexpr int64_t k = 160, n = 12;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(k * n);
  for (float &x : w)
    x = g(rng);
  // Correlated inputs over k channels.
  std::normal_distribution<double> gd(0.0, 1.0);
  std::vector<double> mix(6 * k), h(k * k, 0.0);
  for (double &v : mix)
    v = gd(rng);
  for (int64_t s = 0; s < 600; ++s) {
    std::vector<double> x(k);
    double f[6];
    for (double &v : f)
      v = gd(rng);
    for (int64_t i = 0; i < k; ++i) {
      x[i] = 0.3 * gd(rng) * (1.0 + (i % 7));
      for (int j = 0; j < 6; ++j)
        x[i] += f[j] * mix[j * k + i];
    }
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += 2.0 * x[i] * x[j] / 600;
  }
  for (int bits : {2, 3, 4})
    for (int64_t groupSize : {int64_t(0), int64_t(32), int64_t(48)})
      for (bool actOrder : {false, true})
        for (int64_t block : {int64_t(16), int64_t(64), int64_t(1000)}) {
          Format f = int4Group(groupSize);
          f.bits = bits;
          f.scaleType = ScaleType::F32;
          GptqOptions o;
          o.damping = 0.01;
          o.blockSize = block;
          o.actOrder = actOrder;
          QuantizedMatrix q;
          std::string error;
          ASSERT_TRUE(gptqQuantize(w.data(), k, n, f, h.data(), o, q, error))
              << error;
          std::vector<float> blocked = dequantizeMatrix(q);
          std::vector<float> plain =
              plainGptq(w, k, n, f, h, o.damping, actOrder);
          // Rounding can flip a code that sits on a grid boundary; any
          // such flip then propagates, so allow a few, not many.
          int64_t differ = 0;
          for (int64_t i = 0; i < k * n; ++i)
            differ += std::fabs(blocked[i] - plain[i]) > 1e-5f;
          EXPECT_LE(differ, k * n / 200)
              << bits << " bits, group " << groupSize << ", act-order "
              << actOrder << ", block " << block << ": " << differ << " of "
              << k * n << " weights differ";
        }
}
