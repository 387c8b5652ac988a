//===- W8A8KernelTest.cpp - int8 x int8 matmul vs a float64 reference -----===//
//
// quantc_qmatmul_i8 against float64 over the weight quantc's reference
// numerics decode (numerics::dequantizeMatrix) and activations quantized
// here as the kernel's contract states (per row: scale max|x|/127; static:
// one scale and zero point, clamped to [-128, 127], the codes multiplied as
// they are). Covers both code kinds, f32/f16/bf16
// scales, K not a multiple of 4 or 64, decode (few rows) and prefill (many
// rows, a short last block of rows and channels), accumulating or not,
// and the split kernel (LLM.int8(): listed columns stay f32).
// test/Runtime/kernel-isas.test runs it with each instruction set (below
// AVX-512 VNNI: the portable loop).
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"
#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *data, size_t size) {
  auto *p = static_cast<int8_t *>(const_cast<void *>(data));
  return {p, p, 0, {static_cast<int64_t>(size)}, {1}};
}

/// Row x as int8 codes times their scale: round-half-even(x / s) plus the
/// zero point, clamped.
std::vector<double> quantizedRow(const float *x, int64_t k, float staticScale,
                                 int32_t zero) {
  float s = staticScale;
  if (s <= 0) {
    float top = 0;
    for (int64_t i = 0; i < k; ++i)
      top = std::max(top, std::fabs(x[i]));
    s = top / 127.0f;
  }
  std::vector<double> out(k, 0.0);
  for (int64_t i = 0; s > 0 && i < k; ++i) {
    double q = std::nearbyint(x[i] / s) + zero;
    out[i] = std::min(127.0, std::max(-128.0, q)) * double(s);
  }
  return out;
}

/// With `columns`, the split kernel: those columns of x are left out of the
/// quantization (0 there) and multiplied by the unquantized weights. With
/// `scaled`, x's columns are multiplied by factors (f32) first.
void check(bool symmetric, ScaleType scaleType, int64_t m, int64_t k, int64_t n,
           bool init, float staticScale,
           const std::vector<int32_t> &columns = {}, bool scaled = false,
           int32_t zero = 0) {
  Format f;
  f.bits = 8;
  f.symmetric = symmetric;
  f.granularity = Granularity::PerChannel;
  f.scaleType = scaleType;
  ASSERT_EQ(f.validate(), "");
  std::mt19937 rng(m * 31 + k * 7 + n + symmetric);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(k * n), x(m * k), out(m * n);
  for (float &v : w)
    v = u(rng) + (symmetric ? 0.0f : 0.5f);
  for (float &v : x)
    v = u(rng) * 3.0f; // static scale 0.02: some values clamp
  for (int64_t i = 0; i < m && !columns.empty(); ++i)
    x[i * k + columns[0]] *= 40.0f; // an outlier the scales must not see
  for (float &v : out)
    v = init ? std::nanf("") : u(rng);
  std::vector<float> factors(scaled ? k : 0);
  for (float &v : factors)
    v = std::exp2(u(rng) * 4.0f); // 1/16 .. 16
  qc_memref1d_i8 vfactors = bytes(factors.data(), factors.size() * 4);
  std::vector<float> start = out;
  QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
  std::vector<float> ref = dequantizeMatrix(q);
  std::vector<uint8_t> stored = storedScaleBytes(q.scales, scaleType);
  qc_memref2d_f32 va{x.data(), x.data(), 0, {m, k}, {k, 1}};
  qc_memref2d_f32 vc{out.data(), out.data(), 0, {m, n}, {n, 1}};
  qc_memref1d_i8 codes = bytes(q.codes.data(), q.codes.size());
  qc_memref1d_i8 scales = bytes(stored.data(), stored.size());
  qc_memref1d_i8 zeros = bytes(q.zeroPoints.data(), q.zeroPoints.size());
  int64_t flags = quantc::qmatmulFormatFlags(f) | (init ? QC_QMATMUL_INIT : 0);
  const int64_t count = int64_t(columns.size());
  std::vector<float> fp(n * count); // channel-major
  for (int64_t j = 0; j < n; ++j)
    for (int64_t t = 0; t < count; ++t)
      fp[j * count + t] = w[columns[t] * n + j];
  if (count) {
    qc_memref1d_i8 vcolumns = bytes(columns.data(), count * 4);
    qc_memref1d_i8 vfp = bytes(fp.data(), fp.size() * 4);
    _mlir_ciface_quantc_qmatmul_i8_split(&va, &codes, &scales, &zeros,
                                         &vfactors, &vcolumns, &vfp, &vc, k, n,
                                         staticScale, flags, count, zero);
  } else {
    _mlir_ciface_quantc_qmatmul_i8(&va, &codes, &scales, &zeros, &vfactors, &vc,
                                   k, n, staticScale, flags, zero);
  }
  for (int64_t i = 0; i < m; ++i) {
    std::vector<float> row(x.begin() + i * k, x.begin() + (i + 1) * k);
    for (int64_t p = 0; scaled && p < k; ++p)
      row[p] *= factors[p]; // in f32, as the kernel and the IR multiply
    std::vector<float> rest = row;
    for (int32_t c : columns)
      rest[c] = 0.0f;
    std::vector<double> xq = quantizedRow(rest.data(), k, staticScale, zero);
    for (int64_t j = 0; j < n; ++j) {
      double want = init ? 0.0 : start[i * n + j], mag = std::fabs(want);
      for (int64_t p = 0; p < k; ++p) {
        double t = xq[p] * ref[p * n + j];
        want += t;
        mag += std::fabs(t);
      }
      for (int32_t c : columns) {
        double t = double(row[c]) * double(w[c * n + j]);
        want += t;
        mag += std::fabs(t);
      }
      ASSERT_LE(std::fabs(out[i * n + j] - want), 2e-6 * mag + 1e-6)
          << (symmetric ? "sym" : "affine") << " m " << m << " k " << k
          << " static " << staticScale << " zero " << zero << " at " << i << ","
          << j;
    }
  }
}

/// out = one row x times symmetric per-channel codes (N x K bytes) with f32
/// scales, not accumulating.
void oneRow(std::vector<float> &x, const void *codes, std::vector<float> &sc,
            std::vector<float> &out, float actScale, int64_t zero) {
  const int64_t k = int64_t(x.size()), n = int64_t(out.size());
  qc_memref2d_f32 va{x.data(), x.data(), 0, {1, k}, {k, 1}};
  qc_memref2d_f32 vc{out.data(), out.data(), 0, {1, n}, {n, 1}};
  qc_memref1d_i8 vcodes = bytes(codes, size_t(k * n));
  qc_memref1d_i8 vscales = bytes(sc.data(), sc.size() * 4);
  qc_memref1d_i8 none = bytes(nullptr, 0);
  _mlir_ciface_quantc_qmatmul_i8(&va, &vcodes, &vscales, &vscales, &none, &vc,
                                 k, n, actScale,
                                 QC_QMATMUL_SYMMETRIC | QC_QMATMUL_INIT, zero);
}

TEST(W8A8, DynamicPerRow) {
  for (bool symmetric : {true, false})
    for (int64_t m : {1, 3, 8, 9, 17, 40})
      check(symmetric, ScaleType::F32, m, 200, 45, m % 2 == 1, 0.0f);
}

TEST(W8A8, StaticScaleClamps) {
  for (int64_t m : {1, 8, 20})
    check(true, ScaleType::F16, m, 130, 33, true, 0.02f);
}

TEST(W8A8, OddShapesAndScaleTypes) {
  check(true, ScaleType::BF16, 2, 7, 3, true, 0.0f);    // K < 64, not % 4
  check(false, ScaleType::F16, 11, 257, 65, false, 0.0f); // tails everywhere
  check(true, ScaleType::F32, 64, 512, 96, true, 0.0f);   // full tiles only
}

TEST(W8A8, LongRowsFinishInInt64) {
  // K past 32767: dot - z sum may leave int32, so the GEMM's outputs are
  // finished one at a time in int64 instead of 16 channels a step.
  check(false, ScaleType::F32, 9, 32800, 37, true, 0.0f);
  check(true, ScaleType::F32, 9, 32800, 5, false, 0.0f);
}

TEST(W8A8, ColumnFactors) {
  // SmoothQuant's 1/s applied by the kernel before quantizing: dynamic and
  // static, few and many rows, with LLM.int8()'s columns too.
  for (int64_t m : {1, 8, 9, 33}) {
    check(true, ScaleType::F32, m, 131, 37, true, 0.0f, {}, true);
    check(false, ScaleType::F16, m, 200, 45, false, 0.05f, {}, true);
    check(true, ScaleType::F32, m, 131, 37, true, 0.0f, {0, 64}, true);
  }
}

TEST(W8A8, SplitColumnsStayFloat) {
  // LLM.int8(): an outlier column 40x the rest, first and last columns, a
  // column in the K tail; few and many rows, dynamic and static scales.
  for (bool symmetric : {true, false})
    for (int64_t m : {1, 5, 8, 9, 33}) {
      check(symmetric, ScaleType::F32, m, 131, 37, m % 2 == 1, 0.0f,
            {0, 7, 64, 130});
      check(symmetric, ScaleType::F16, m, 131, 37, true, 0.02f, {3});
    }
}

TEST(W8A8, StaticZeroPoint) {
  // An asymmetric static activation (a QDQ model's): round(x / s) + z,
  // clamped, both ends of the zero point's range and odd ones (whose ties
  // would round the other way if z were added before rounding); with
  // factors, LLM.int8()'s columns (which quantize to z), few and many rows.
  for (int32_t zero : {-128, -37, 5, 127})
    for (int64_t m : {1, 8, 9, 33}) {
      check(true, ScaleType::F16, m, 130, 33, true, 0.02f, {}, false, zero);
      check(false, ScaleType::F32, m, 200, 45, false, 0.05f, {}, true, zero);
      check(true, ScaleType::F32, m, 131, 37, true, 0.02f, {3, 64}, false,
            zero);
    }
}

TEST(W8A8, ZeroPointAddedAfterRounding) {
  // x / s = i + 1/2 exactly: half to even first, then z (odd here); z added
  // first would round every other tie the other way. Channel j reads x_j
  // alone (one-hot codes, scale 1), so out[j] = s * q_j.
  const int64_t k = 48, n = 48;
  const float s = 0.25f;
  const int32_t zero = 5;
  std::vector<float> x(k), out(n);
  for (int64_t i = 0; i < k; ++i)
    x[i] = (float(i - 24) + 0.5f) * s;
  std::vector<int8_t> codes(k * n, 0);
  for (int64_t j = 0; j < n; ++j)
    codes[j * k + j] = 1;
  std::vector<float> sc(n, 1.0f);
  oneRow(x, codes.data(), sc, out, s, zero);
  for (int64_t j = 0; j < n; ++j) {
    double half = double(j - 24) + 0.5;
    double even = std::floor(half) + (int64_t(std::floor(half)) % 2 != 0);
    EXPECT_EQ(out[j], float((even + zero) * s)) << "x / s = " << half;
  }
}

TEST(W8A8, ZeroRowGivesZero) {
  // A row of zeros has scale 0: its outputs are exactly zero (no 0/0).
  const int64_t k = 64, n = 16;
  std::vector<float> x(k, 0.0f), out(n, 1.0f);
  std::vector<uint8_t> codes(k * n, 3);
  std::vector<float> sc(n, 0.5f);
  oneRow(x, codes.data(), sc, out, 0.0f, 0);
  for (float v : out)
    EXPECT_EQ(v, 0.0f);
}

} // namespace
