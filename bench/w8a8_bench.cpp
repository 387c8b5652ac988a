// W8A8 kernel (quantc_qmatmul_i8: rows quantized to int8 per row, int8 x
// int8 in int32, per-channel int8 weights) against, in the same run: the
// machine's int8 VNNI peak (independent vpdpbusd chains), quantc's f32
// kernel on the f32 weight, quantc's int8-weight kernel with f32
// activations, and (given their timings) ONNX Runtime running ORT's own
// dynamic quantization of the product (DynamicQuantizeLinear +
// MatMulInteger; bench/w8a8.sh builds and times it).
//
//   w8a8_bench [threads [ORT_TIMINGS]]
// ORT_TIMINGS: lines "m k n ms" (bench/w8a8.sh).
#include "limits.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *p, size_t n) {
  auto *q = static_cast<int8_t *>(const_cast<void *>(p));
  return {q, q, 0, {static_cast<int64_t>(n)}, {1}};
}

/// Best time of one call over 5 rounds of `calls` calls (after a warm-up).
template <typename F> double best(int calls, F f) {
  for (int i = 0; i < calls; ++i)
    f();
  double t = 1e9;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    for (int i = 0; i < calls; ++i)
      f();
    t = std::min(t, (now() - t0) / calls);
  }
  return t;
}

std::string cell(double value) {
  if (std::isnan(value))
    return "n/a";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1)
    omp_set_num_threads(atoi(argv[1]));
  std::map<std::tuple<int64_t, int64_t, int64_t>, double> ort;
  if (argc > 2) {
    std::ifstream in(argv[2]);
    int64_t m, k, n;
    double ms;
    while (in >> m >> k >> n >> ms)
      ort[{m, k, n}] = ms;
  }
  double peak = peak_int8_gops();
  printf("kernel isa %s, %d threads; int8 VNNI peak %.0f GOP/s\n\n",
         quantc_matmul_isa(), omp_get_max_threads(), peak);
  printf("| shape (M x K x N) | W8A8 (ms) | GOP/s | of int8 peak | "
         "f32 kernel (ms) | f32 / W8A8 | W8 f32-act (ms) | W8 / W8A8 | "
         "ORT dyn. quant (ms) | ORT / W8A8 |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  // The shapes, then smallllama's prefill of 16 x 256 tokens (K of
  // 384 and 1024: where the per-output work around the products counts).
  const int64_t shapes[][3] = {{512, 4096, 14336}, {512, 4096, 4096},
                               {8, 4096, 14336},   {1, 4096, 14336},
                               {4096, 384, 1024},  {4096, 1024, 384}};
  for (const auto &s : shapes) {
    int64_t m = s[0], k = s[1], n = s[2];
    std::vector<float> w(k * n), a(m * k), c(m * n);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>((int64_t(i) * 7919) % 201 - 100) * 0.01f;
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
    Format f;
    f.bits = 8;
    f.symmetric = true;
    f.granularity = Granularity::PerChannel;
    f.scaleType = ScaleType::F32;
    QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
    qc_memref1d_i8 codes = bytes(q.codes.data(), q.codes.size()),
                   scales = bytes(q.scales.data(), q.scales.size() * 4),
                   none = bytes(nullptr, 0);
    qc_memref2d_f32 va{a.data(), a.data(), 0, {m, k}, {k, 1}};
    qc_memref2d_f32 vc{c.data(), c.data(), 0, {m, n}, {n, 1}};
    const int64_t flags = QC_QMATMUL_INIT | quantc::qmatmulFormatFlags(f);
    int calls = m > 8 ? 2 : 20;
    double t8 = best(calls, [&] {
      _mlir_ciface_quantc_qmatmul_i8(&va, &codes, &scales, &scales, &none,
                                     &vc, k, n, 0.0f, flags, 0);
    });
    double tw8 = best(calls, [&] {
      _mlir_ciface_quantc_qmatmul_f32(&va, &codes, &scales, &scales, nullptr,
                                      nullptr, &vc, k, n, 8, 0, 0, flags);
    });
    qc_memref3d_f32 fa{a.data(), a.data(), 0, {1, m, k}, {m * k, k, 1}};
    qc_memref3d_f32 fw{w.data(), w.data(), 0, {1, k, n}, {k * n, n, 1}};
    qc_memref3d_f32 fc{c.data(), c.data(), 0, {1, m, n}, {m * n, n, 1}};
    double tf = best(calls, [&] {
      _mlir_ciface_quantc_matmul_f32(&fa, &fw, &fc, QC_MATMUL_INIT);
    });
    double gops = 2.0 * m * k * n / t8 / 1e9;
    auto it = ort.find({m, k, n});
    double ortMs = it == ort.end() ? NAN : it->second;
    printf("| %lld x %lld x %lld | %.3f | %.0f | %s | %.3f | %.2f | %.3f | "
           "%.2f | %s | %s |\n",
           (long long)m, (long long)k, (long long)n, t8 * 1e3, gops,
           peak > 0 ? (std::to_string(int(100 * gops / peak)) + "%").c_str()
                    : "n/a",
           tf * 1e3, tf / t8, tw8 * 1e3, tw8 / t8, cell(ortMs).c_str(),
           cell(ortMs / (t8 * 1e3)).c_str());
    fflush(stdout);
  }
  return 0;
}
