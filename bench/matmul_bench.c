/* The f32 matmul microkernel against the machine's limits measured in the
 * same run: peak FMA throughput (independent FMA chains) and read bandwidth
 * (summing a 1 GiB buffer). GEMM shapes are compared with the FLOP peak,
 * GEMV shapes (a few rows, weights read once) with the bandwidth.
 *   matmul_bench [threads]   (OMP_NUM_THREADS also works) */
#include "quantc/kernels.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef float v16 __attribute__((vector_size(64)));

/* 12 independent FMA chains (distinct starts, so none can be merged). */
__attribute__((target("avx512f,fma"), noinline)) static float
fma_loop(long n, float seed) {
  v16 acc[12], x = (v16){0} + seed, y = (v16){0} + (1.0f - seed);
  for (int r = 0; r < 12; ++r)
    acc[r] = (v16){0} + (float)r * seed;
  for (long i = 0; i < n; ++i)
    for (int r = 0; r < 12; ++r)
      acc[r] = acc[r] * x + y;
  float s = 0;
  for (int r = 0; r < 12; ++r)
    s += acc[r][0];
  return s;
}

static double peak_gflops(void) {
  const long n = 20000000;
  volatile float seed = 0.9999f;
  double t0 = now();
  float sink = 0;
#pragma omp parallel reduction(+ : sink)
  sink += fma_loop(n, seed);
  double t = now() - t0;
  if (sink == 42.0f)
    printf(" ");
  return omp_get_max_threads() * (double)n * 12 * 16 * 2 / t / 1e9;
}

static double read_gbs(void) {
  size_t n = (size_t)1 << 28; /* 1 GiB of floats */
  float *a = aligned_alloc(64, n * sizeof(float));
#pragma omp parallel for
  for (size_t i = 0; i < n; ++i)
    a[i] = 1.0f;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now();
    float s = 0;
#pragma omp parallel reduction(+ : s)
    {
      /* Vector loads into independent sums: bound by memory, not adds. */
      v16 acc[4] = {{0}, {0}, {0}, {0}};
#pragma omp for
      for (size_t i = 0; i < n; i += 64)
        for (int r = 0; r < 4; ++r)
          acc[r] += *(const v16 *)(a + i + 16 * r);
      for (int r = 0; r < 4; ++r)
        s += acc[r][0];
    }
    double t = now() - t0;
    if (s == 0)
      printf(" ");
    if (n * 4.0 / t / 1e9 > best)
      best = n * 4.0 / t / 1e9;
  }
  free(a);
  return best;
}

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
