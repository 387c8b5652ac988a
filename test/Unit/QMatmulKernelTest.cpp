//===- QMatmulKernelTest.cpp - quantized-weight matmul vs the reference ---===//
//
// The kernel's product against float64 over the weight quantc's reference
// numerics decode (numerics::dequantizeMatrix): every integer width, both
// symmetric and affine codes, per channel and per group (a shorter last
// group too), f32/f16/bf16 scales, few rows (channel dot products) and many
// (decoded tiles), accumulating or overwriting C.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"
#include "quantc/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *data, size_t size) {
  auto *p = static_cast<int8_t *>(const_cast<void *>(data));
  return {p, p, 0, {static_cast<int64_t>(size)}, {1}};
}

void check(int bits, bool symmetric, int64_t group, ScaleType scaleType,
           int64_t m, int64_t k, int64_t n, bool init) {
  Format f;
  f.bits = bits;
  f.symmetric = symmetric;
  f.granularity = group ? Granularity::PerGroup : Granularity::PerChannel;
  f.groupSize = group;
  f.scaleType = scaleType;
  ASSERT_EQ(f.validate(), "");
  std::mt19937 rng(bits * 1000 + m * 10 + group);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(k * n), x(m * k), out(m * n);
  for (float &v : w)
    v = u(rng);
  for (float &v : x)
    v = u(rng);
  for (float &v : out)
    v = init ? std::nanf("") : u(rng);
  std::vector<float> start = out;
  QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
  std::vector<float> ref = dequantizeMatrix(q);

  // Scales as stored (the reference holds them as float).
  std::vector<uint8_t> stored;
  for (float s : q.scales) {
    if (scaleType == ScaleType::F32) {
      const auto *p = reinterpret_cast<const uint8_t *>(&s);
      stored.insert(stored.end(), p, p + 4);
    } else {
      uint16_t h = scaleType == ScaleType::F16 ? floatToHalf(s) : floatToBF16(s);
      stored.push_back(h & 255);
      stored.push_back(h >> 8);
    }
  }
  qc_memref2d_f32 va{x.data(), x.data(), 0, {m, k}, {k, 1}};
  qc_memref2d_f32 vc{out.data(), out.data(), 0, {m, n}, {n, 1}};
  qc_memref1d_i8 codes = bytes(q.codes.data(), q.codes.size());
  qc_memref1d_i8 scales = bytes(stored.data(), stored.size());
  qc_memref1d_i8 zeros = bytes(q.zeroPoints.data(), q.zeroPoints.size());
  int64_t flags = (symmetric ? QC_QMATMUL_SYMMETRIC : 0) |
                  (scaleType == ScaleType::F16 ? QC_QMATMUL_SCALE_F16 : 0) |
                  (scaleType == ScaleType::BF16 ? QC_QMATMUL_SCALE_BF16 : 0) |
                  (init ? QC_QMATMUL_INIT : 0);
  _mlir_ciface_quantc_qmatmul_f32(&va, &codes, &scales, &zeros, &vc, k, n,
                                  bits, group, flags);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = init ? 0.0 : start[i * n + j], mag = std::fabs(want);
      for (int64_t p = 0; p < k; ++p) {
        double t = double(x[i * k + p]) * ref[p * n + j];
        want += t;
        mag += std::fabs(t);
      }
      ASSERT_LE(std::fabs(out[i * n + j] - want), 1e-5 * mag + 1e-6)
          << "int" << bits << (symmetric ? " sym" : " affine") << " group "
          << group << " m " << m << " at " << i << "," << j;
    }
}

TEST(QMatmulKernel, EveryWidthBothPaths) {
  for (int bits = 2; bits <= 8; ++bits)
    for (bool symmetric : {false, true})
      for (int64_t m : {1, 3, 30})
        check(bits, symmetric, 32, ScaleType::F32, m, 96, 70, false);
}

TEST(QMatmulKernel, GroupsScalesAndInit) {
  check(4, false, 0, ScaleType::F16, 2, 100, 33, true);    // per channel
  check(4, false, 64, ScaleType::F16, 40, 200, 130, true); // 64+64+64+8
  check(3, true, 128, ScaleType::BF16, 1, 300, 9, false);
  check(8, false, 128, ScaleType::F16, 25, 256, 65, true);
  check(8, true, 32, ScaleType::F32, 7, 96, 70, false);    // dot path, 7 rows
  check(4, false, 64, ScaleType::F16, 8, 200, 130, true);  // dot path, 8 rows
}

} // namespace
