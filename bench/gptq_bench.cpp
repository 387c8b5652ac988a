// GPTQ wall time for one layer: statistics accumulated from `tokens`
// calibration inputs (as qc-calibrate does, in batches of 2048 rows), then
// GPTQ (W4 g128, act-order), beside round to nearest of the same layer and
// the machine's FMA peak measured in this run.
//
//   gptq_bench [K N TOKENS]     (default 4096 4096 262144 = 128 x 2048)
//
// The inputs are synthetic but correlated like a transformer's: each
// channel mixes its neighbours, and a few channels carry large outliers.

#include "limits.h"

#include "quantc/Numerics/Format.h"
#include "quantc/Numerics/Gptq.h"
#include "quantc/Numerics/Matrix.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace quantc::numerics;

int main(int argc, char **argv) {
  int64_t k = argc > 1 ? std::atol(argv[1]) : 4096;
  int64_t n = argc > 2 ? std::atol(argv[2]) : 4096;
  int64_t tokens = argc > 3 ? std::atol(argv[3]) : 128 * 2048;
  const int64_t batch = 2048;
  if (k <= 0 || n <= 0 || tokens < batch) {
    std::fprintf(stderr, "usage: gptq_bench [K N TOKENS>=2048]\n");
    return 1;
  }
  double peak = peak_gflops();
  std::printf("GPTQ of one %lld x %lld layer, %lld calibration tokens, %d "
              "threads; FMA peak measured: %.0f GFLOP/s f32\n",
              (long long)k, (long long)n, (long long)tokens,
              omp_get_max_threads(), peak);

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(batch * k), noise(batch * k);
  InputStatistics stats(k);
  double tStats = 0;
  for (int64_t done = 0; done < tokens; done += batch) {
    for (float &v : noise)
      v = normal(rng);
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t c = 0; c < k; ++c) {
        float v = noise[r * k + c] + 0.6f * noise[r * k + (c + 1) % k] +
                  0.3f * noise[r * k + (c + 7) % k];
        x[r * k + c] = c % 512 == 3 ? 20.0f * v : v; // outlier channels
      }
    double t0 = now();
    stats.add(x.data(), batch);
    tStats += now() - t0;
    std::fprintf(stderr, "\rstatistics: %lld/%lld tokens",
                 (long long)(done + batch), (long long)tokens);
  }
  std::fprintf(stderr, "\n");
  std::vector<double> h = stats.hessian();

  std::vector<float> w(k * n);
  std::normal_distribution<float> weights(0.0f, 0.02f);
  for (float &v : w)
    v = weights(rng);
  Format f;
  f.bits = 4;
  f.symmetric = false;
  f.granularity = Granularity::PerGroup;
  f.groupSize = 128;
  f.scaleType = ScaleType::F16;

  double t0 = now();
  QuantizedMatrix rtn = quantizeMatrix(w.data(), k, n, f);
  double tRtn = now() - t0;
  GptqOptions options;
  options.actOrder = true;
  QuantizedMatrix gptq;
  std::string error;
  t0 = now();
  if (!gptqQuantize(w.data(), k, n, f, h.data(), options, gptq, error)) {
    std::fprintf(stderr, "gptq_bench: %s\n", error.c_str());
    return 1;
  }
  double tGptq = now() - t0;
  std::vector<float> wr = dequantizeMatrix(rtn), wg = dequantizeMatrix(gptq);
  double eRtn = relativeOutputError(w.data(), wr.data(), k, n, h.data());
  double eGptq = relativeOutputError(w.data(), wg.data(), k, n, h.data());

  // Work, counted as 2 flops a multiply-add: X^T X as a full product
  // (tokens k^2); GPTQ about k^3 / 2 (Cholesky k^3 / 3, triangular inverse
  // k^3 / 6) plus n k^2 / 2 (error feedback), in f64.
  double fStats = 2.0 * tokens * k * k / 1e9;
  double fGptq = 2.0 * ((double)k * k * k / 2 + (double)n * k * k / 2) / 1e9;
  std::printf("| step | seconds | GFLOP | GFLOP/s | of f32 peak | rel. output "
              "error |\n|---|---|---|---|---|---|\n");
  std::printf("| statistics (X^T X, f32) | %.2f | %.0f | %.0f | %.2f | |\n",
              tStats, fStats, fStats / tStats, fStats / tStats / peak);
  std::printf("| GPTQ (f64) | %.2f | %.0f | %.0f | %.2f | %.3e |\n", tGptq,
              fGptq, fGptq / tGptq, fGptq / tGptq / peak, eGptq);
  std::printf("| round to nearest | %.3f | | | | %.3e |\n", tRtn, eRtn);
  std::printf("GPTQ / RTN: %.0fx the time, %.2fx the output error\n",
              tGptq / tRtn, eGptq / eRtn);
  return 0;
}
