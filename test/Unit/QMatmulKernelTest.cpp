//===- QMatmulKernelTest.cpp - quantized-weight matmul vs the reference ---===//
//
// The kernel's product against float64 over the weight quantc's reference
// numerics decode (numerics::dequantizeMatrix): every integer width, both
// symmetric and affine codes, NF4/FP4 (a table of values) and FP8 codes,
// double-quantized scales, per channel and per group (a shorter last
// group too), f32/f16/bf16 scales, few rows (channel dot products, in
// tiles of channels on AVX-512) and many (decoded panels), accumulating or
// overwriting C.
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"
#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <random>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *data, size_t size) {
  auto *p = static_cast<int8_t *>(const_cast<void *>(data));
  return {p, p, 0, {static_cast<int64_t>(size)}, {1}};
}

/// Whether the kernel quantizes activations for this call (QC_QMATMUL_INT8_ACT
/// on a CPU with AVX-512 VNNI, 4 or 8 bits, blocks of 128 inside groups).
bool int8Activations(int bits, int64_t group, int64_t m, int64_t k) {
  __builtin_cpu_init();
  return std::string(quantc_matmul_isa()) == "avx512f" &&
         __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bw") && (bits == 4 || bits == 8) &&
         m <= 8 && k % 128 == 0 && (group ? group : k) % 128 == 0;
}

/// Row x as the kernel's int8 activations stand for it: per 128 elements,
/// round(x * 127 / max|x|) * max|x| / 127.
std::vector<float> int8Row(const float *x, int64_t k) {
  std::vector<float> out(k);
  for (int64_t b = 0; b < k; b += 128) {
    float top = 0;
    for (int64_t i = b; i < b + 128; ++i)
      top = std::max(top, std::fabs(x[i]));
    float inv = top > 0 ? 127.0f / top : 0.0f;
    for (int64_t i = b; i < b + 128; ++i)
      out[i] = std::nearbyint(x[i] * inv) * (top / 127.0f);
  }
  return out;
}

Format intFormat(int bits, bool symmetric, int64_t group, ScaleType scaleType) {
  Format f;
  f.bits = bits;
  f.symmetric = symmetric;
  f.granularity = group ? Granularity::PerGroup : Granularity::PerChannel;
  f.groupSize = group;
  f.scaleType = scaleType;
  return f;
}

void check(const Format &f, int64_t m, int64_t k, int64_t n, bool init,
           bool int8Act = false) {
  ASSERT_EQ(f.validate(), "");
  const int bits = f.bits;
  const bool symmetric = f.symmetric;
  const int64_t group = f.granularity == Granularity::PerGroup ? f.groupSize : 0;
  const ScaleType scaleType = f.scaleType;
  std::mt19937 rng(bits * 1000 + m * 10 + group + int(f.code) * 7);
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

  // Scales as stored (the reference holds them as float), or their codes.
  std::vector<uint8_t> stored = q.scaleCodes;
  for (uint8_t b : storedScaleBytes(q.scales, scaleType))
    stored.push_back(b);
  qc_memref2d_f32 va{x.data(), x.data(), 0, {m, k}, {k, 1}};
  qc_memref2d_f32 vc{out.data(), out.data(), 0, {m, n}, {n, 1}};
  qc_memref1d_i8 codes = bytes(q.codes.data(), q.codes.size());
  qc_memref1d_i8 scales = bytes(stored.data(), stored.size());
  qc_memref1d_i8 zeros = bytes(q.zeroPoints.data(), q.zeroPoints.size());
  // NF4/FP4 codes index the table of their values.
  std::vector<float> values;
  for (unsigned c = 0; quantc::isCodebook(f) && c < 16; ++c)
    values.push_back(decodeFloatCode(f.code, c));
  qc_memref1d_i8 table = bytes(values.data(), values.size() * 4);
  qc_memref1d_i8 params =
      bytes(q.scaleParams.data(), q.scaleParams.size() * 4);
  int64_t flags = quantc::qmatmulFormatFlags(f) |
                  (init ? QC_QMATMUL_INIT : 0) |
                  (int8Act ? QC_QMATMUL_INT8_ACT : 0);
  // With int8 activations the product is exact for the rounded rows.
  std::vector<float> xs = x;
  if (int8Act && int8Activations(bits, group, m, k))
    for (int64_t i = 0; i < m; ++i) {
      std::vector<float> row = int8Row(&x[i * k], k);
      std::copy(row.begin(), row.end(), xs.begin() + i * k);
    }
  _mlir_ciface_quantc_qmatmul_f32(&va, &codes, &scales, &zeros, &table,
                                  &params, &vc, k, n, bits, group,
                                  f.scaleBlock, flags);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = init ? 0.0 : start[i * n + j], mag = std::fabs(want);
      for (int64_t p = 0; p < k; ++p) {
        double t = double(xs[i * k + p]) * ref[p * n + j];
        want += t;
        mag += std::fabs(t);
      }
      ASSERT_LE(std::fabs(out[i * n + j] - want), 1e-5 * mag + 1e-6)
          << codeName(f.code, bits) << (symmetric ? " sym" : " affine")
          << " group " << group << " dq " << f.scaleBits << " m " << m
          << " at " << i << "," << j;
    }
}

void check(int bits, bool symmetric, int64_t group, ScaleType scaleType,
           int64_t m, int64_t k, int64_t n, bool init, bool int8Act = false) {
  check(intFormat(bits, symmetric, group, scaleType), m, k, n, init, int8Act);
}

Format floatFormat(ElementCode code, int64_t group, ScaleType scaleType,
                   int scaleBits = 0, int64_t scaleBlock = 0) {
  Format f = intFormat(code == ElementCode::FP8E4M3 ||
                               code == ElementCode::FP8E5M2
                           ? 8
                           : 4,
                       true, group, scaleType);
  f.code = code;
  f.scaleBits = scaleBits;
  f.scaleBlock = scaleBlock;
  return f;
}

TEST(QMatmulKernel, EveryWidthBothPaths) {
  for (int bits = 2; bits <= 8; ++bits)
    for (bool symmetric : {false, true})
      for (int64_t m : {1, 3, 30})
        check(bits, symmetric, 32, ScaleType::F32, m, 96, 70, false);
}

TEST(QMatmulKernel, Int8Activations) {
  // Exact for the int8-rounded rows where the CPU has VNNI (else the flag
  // is ignored and the rows stay f32): both widths, both code kinds, every
  // row count of the dot path, per channel and grouped, f16/f32 scales.
  for (int bits : {4, 8})
    for (bool symmetric : {false, true})
      for (int64_t m : {1, 2, 5, 8})
        check(bits, symmetric, 128, ScaleType::F16, m, 512, 67, m != 5, true);
  check(4, false, 0, ScaleType::F32, 3, 384, 40, true, true);   // per channel
  check(4, true, 256, ScaleType::BF16, 1, 512, 16, true, true); // g256
  check(4, false, 64, ScaleType::F16, 2, 256, 16, true, true);  // g64: f32 path
  check(4, false, 128, ScaleType::F16, 9, 256, 16, true, true); // 9 rows: tiles
}

TEST(QMatmulKernel, Int8ActivationsStayClose) {
  // The rounding of the activations moves a product by well under 1%.
  const int64_t k = 1024, n = 256;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(k * n), x(k), y32(n), y8(n);
  for (float &v : w)
    v = normal(rng) * 0.02f;
  for (float &v : x)
    v = normal(rng);
  Format f;
  f.bits = 4;
  f.symmetric = false;
  f.granularity = Granularity::PerGroup;
  f.groupSize = 128;
  QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
  qc_memref1d_i8 codes = bytes(q.codes.data(), q.codes.size());
  qc_memref1d_i8 scales = bytes(q.scales.data(), q.scales.size() * 4);
  qc_memref1d_i8 zeros = bytes(q.zeroPoints.data(), q.zeroPoints.size());
  qc_memref1d_i8 none = bytes(nullptr, 0);
  qc_memref2d_f32 va{x.data(), x.data(), 0, {1, k}, {k, 1}};
  double diff = 0, norm = 0;
  for (bool int8 : {false, true}) {
    std::vector<float> &y = int8 ? y8 : y32;
    qc_memref2d_f32 vc{y.data(), y.data(), 0, {1, n}, {n, 1}};
    _mlir_ciface_quantc_qmatmul_f32(
        &va, &codes, &scales, &zeros, &none, &none, &vc, k, n, 4, 128, 0,
        QC_QMATMUL_INIT | (int8 ? QC_QMATMUL_INT8_ACT : 0));
  }
  for (int64_t j = 0; j < n; ++j) {
    diff += (y8[j] - y32[j]) * double(y8[j] - y32[j]);
    norm += y32[j] * double(y32[j]);
  }
  EXPECT_LT(std::sqrt(diff / norm), 0.01);
}

TEST(QMatmulKernel, FourBitTiles) {
  // 4-bit codes, f32 activations (on AVX-512: table lookups over tiles of
  // 16/m channels, the last few a channel at a time): every row count of
  // the dot path, both code kinds, grouped (g128, g32) and per channel.
  for (bool symmetric : {false, true})
    for (int64_t m : {1, 2, 3, 5, 8})
      check(4, symmetric, 128, ScaleType::F16, m, 512, 67, m != 3);
  check(4, false, 0, ScaleType::BF16, 4, 384, 40, true); // per channel
  check(4, true, 32, ScaleType::F32, 1, 256, 33, false); // g32
  // A last group that is short and not a multiple of 32 elements (the
  // tiles read its tail through a zeroed copy): 688 = 5 x 128 + 48 (tiny-
  // llama's down projection), 200 = 3 x 64 + 8, 100 per channel.
  for (int64_t m : {1, 3, 8}) {
    check(4, false, 128, ScaleType::F16, m, 688, 35, true);
    check(4, true, 64, ScaleType::BF16, m, 200, 17, false);
    check(4, true, 0, ScaleType::F32, m, 100, 20, true);
  }
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

TEST(QMatmulKernel, FloatCodes) {
  // NF4 and FP4 (table lookups: in tiles on AVX-512 where K and the group
  // allow, else decoded a group at a time) and FP8 (bit patterns widened in
  // vectors): few rows and many, grouped and per channel, K that the tile
  // path takes (512) and that it does not (200).
  for (int64_t m : {1, 3, 8, 30}) {
    check(floatFormat(ElementCode::NF4, 64, ScaleType::BF16), m, 512, 67,
          m != 3);
    check(floatFormat(ElementCode::FP4E2M1, 32, ScaleType::F16), m, 200, 33,
          true);
    check(floatFormat(ElementCode::FP8E4M3, 0, ScaleType::F32), m, 200, 70,
          m != 8);
    check(floatFormat(ElementCode::FP8E5M2, 128, ScaleType::F16), m, 512, 19,
          true);
  }
  check(floatFormat(ElementCode::NF4, 0, ScaleType::F16), 2, 200, 40, true);
}

TEST(QMatmulKernel, DoubleQuantizedScales) {
  // Scales stored as codes with a (step, offset) per block, rounded to the
  // scale type: QLoRA's NF4 (int8 codes, block 256; here 6 blocks with the
  // last one short), an FP8 and an integer format with small blocks.
  for (int64_t m : {1, 5, 30})
    check(floatFormat(ElementCode::NF4, 64, ScaleType::BF16, 8, 256), m, 512,
          190, true);
  check(floatFormat(ElementCode::FP8E4M3, 32, ScaleType::F16, 4, 8), 2, 200,
        33, true);
  Format affine = intFormat(4, false, 32, ScaleType::F16);
  affine.scaleBits = 8;
  affine.scaleBlock = 16;
  check(affine, 1, 512, 40, false);
  check(affine, 20, 512, 40, true);
}
