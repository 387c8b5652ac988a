// Quantized-weight matmul kernel (quantc_qmatmul_f32) against the machine's
// read bandwidth and against quantc's own f32 kernel on the same shapes,
// measured in the same run: W4 g128 and W8 g128 (affine, f16 scales) weights
// quantized with the reference numerics; weight GB/s counts the packed bytes
// (codes, scales, zero points) a call reads.
//   qmatmul_bench [threads]
#include "limits.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"
#include "quantc/kernels.h"

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *p, size_t n) {
  auto *q = static_cast<int8_t *>(const_cast<void *>(p));
  return {q, q, 0, {static_cast<int64_t>(n)}, {1}};
}

template <typename F> double best(F f) {
  f();
  double t = 1e9;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    f();
    t = std::min(t, now() - t0);
  }
  return t;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1)
    omp_set_num_threads(atoi(argv[1]));
  double bw = read_gbs();
  printf("kernel isa %s, %d threads; read bandwidth %.1f GB/s\n\n",
         quantc_matmul_isa(), omp_get_max_threads(), bw);
  printf("| shape (M x K x N) | format | time (ms) | weight GB/s | of bandwidth "
         "| f32 kernel (ms) | f32 / quantized time |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  const int64_t shapes[][3] = {{1, 4096, 14336}, {2, 4096, 14336},
                               {4, 4096, 14336}, {8, 4096, 14336},
                               {1, 14336, 4096}, {8, 14336, 4096},
                               {512, 4096, 4096}};
  for (int bits : {4, 8}) {
    for (const auto &s : shapes) {
      int64_t m = s[0], k = s[1], n = s[2];
      std::vector<float> w(k * n), a(m * k), c(m * n);
      for (int64_t i = 0; i < k * n; ++i)
        w[i] = static_cast<float>((i * 7919) % 201 - 100) * 0.01f;
      for (int64_t i = 0; i < m * k; ++i)
        a[i] = static_cast<float>(i % 7) * 0.1f;
      Format f;
      f.bits = bits;
      f.symmetric = false;
      f.granularity = Granularity::PerGroup;
      f.groupSize = 128;
      f.scaleType = ScaleType::F16;
      QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
      std::vector<uint16_t> scales;
      for (float x : q.scales)
        scales.push_back(floatToHalf(x));
      qc_memref2d_f32 va{a.data(), a.data(), 0, {m, k}, {k, 1}};
      qc_memref2d_f32 vc{c.data(), c.data(), 0, {m, n}, {n, 1}};
      qc_memref1d_i8 vcodes = bytes(q.codes.data(), q.codes.size());
      qc_memref1d_i8 vscales = bytes(scales.data(), scales.size() * 2);
      qc_memref1d_i8 vzeros = bytes(q.zeroPoints.data(), q.zeroPoints.size());
      double tq = best([&] {
        _mlir_ciface_quantc_qmatmul_f32(&va, &vcodes, &vscales, &vzeros, &vc, k,
                                        n, bits, 128,
                                        QC_QMATMUL_INIT | QC_QMATMUL_SCALE_F16);
      });
      qc_memref3d_f32 fa{a.data(), a.data(), 0, {1, m, k}, {m * k, k, 1}};
      qc_memref3d_f32 fw{w.data(), w.data(), 0, {1, k, n}, {k * n, n, 1}};
      qc_memref3d_f32 fc{c.data(), c.data(), 0, {1, m, n}, {m * n, n, 1}};
      double tf = best([&] {
        _mlir_ciface_quantc_matmul_f32(&fa, &fw, &fc, QC_MATMUL_INIT);
      });
      double packed = q.codes.size() + scales.size() * 2.0 + q.zeroPoints.size();
      double gbs = packed / tq / 1e9;
      printf("| %lld x %lld x %lld | W%d g128 | %.2f | %.1f | %.0f%% | %.2f | "
             "%.2f |\n",
             (long long)m, (long long)k, (long long)n, bits, tq * 1e3, gbs,
             100 * gbs / bw, tf * 1e3, tf / tq);
    }
  }
  return 0;
}
