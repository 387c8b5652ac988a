/* The f32 matmul microkernel against the machine's limits measured in the
 * same run: peak FMA throughput (independent FMA chains) and read bandwidth
 * (summing a 1 GiB buffer). GEMM shapes are compared with the FLOP peak,
 * GEMV shapes (a few rows, weights read once) with the bandwidth.
 *   matmul_bench [threads]   (OMP_NUM_THREADS also works) */
#include "limits.h"
#include "quantc/kernels.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static qc_memref3d_f32 view(float *p, int64_t b, int64_t r, int64_t c) {
  qc_memref3d_f32 m = {p, p, 0, {b, r, c}, {r * c, c, 1}};
  return m;
}

static double run(int64_t m, int64_t k, int64_t n, double *seconds) {
  float *a = calloc(m * k, 4), *w = calloc(k * n, 4), *c = calloc(m * n, 4);
  for (int64_t i = 0; i < m * k; ++i) a[i] = (float)(i % 7) * 0.1f;
  for (int64_t i = 0; i < k * n; ++i) w[i] = (float)(i % 5) * 0.1f;
  qc_memref3d_f32 va = view(a, 1, m, k), vw = view(w, 1, k, n),
                  vc = view(c, 1, m, n);
  _mlir_ciface_quantc_matmul_f32(&va, &vw, &vc, 0);
  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    double t0 = now();
    _mlir_ciface_quantc_matmul_f32(&va, &vw, &vc, 0);
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  free(a), free(w), free(c);
  *seconds = best;
  return 2.0 * m * k * n / best / 1e9;
}

int main(int argc, char **argv) {
  if (argc > 1)
    omp_set_num_threads(atoi(argv[1]));
  double peak = peak_gflops(), bw = read_gbs();
  printf("kernel isa %s, %d threads; measured peak %.1f GFLOP/s, read "
         "bandwidth %.1f GB/s\n\n",
         quantc_matmul_isa(), omp_get_max_threads(), peak, bw);
  printf("| shape (M x K x N) | time (ms) | GFLOP/s | of peak | weight GB/s | of bandwidth |\n");
  printf("| --- | --- | --- | --- | --- | --- |\n");
  const int64_t shapes[][3] = {{1, 4096, 14336},  {2, 4096, 14336},
                               {4, 4096, 14336},  {8, 4096, 14336},
                               {1, 14336, 4096},  {8, 14336, 4096},
                               {512, 4096, 4096}, {512, 4096, 14336}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
    double t;
    double gf = run(shapes[s][0], shapes[s][1], shapes[s][2], &t);
    double gbs = shapes[s][1] * shapes[s][2] * 4.0 / t / 1e9;
    printf("| %lld x %lld x %lld | %.2f | %.1f | %.0f%% | %.1f | %.0f%% |\n",
           (long long)shapes[s][0], (long long)shapes[s][1],
           (long long)shapes[s][2], t * 1e3, gf, 100 * gf / peak, gbs,
           100 * gbs / bw);
  }
  return 0;
}
