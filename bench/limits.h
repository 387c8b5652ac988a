/* Limits of this machine measured in the run that reports against them:
 * peak FMA throughput (independent FMA chains) and read bandwidth (summing
 * a 1 GiB buffer, four streams a thread). Shared by the kernel benchmarks. */
#ifndef QUANTC_BENCH_LIMITS_H
#define QUANTC_BENCH_LIMITS_H

#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void) {
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

static inline double peak_gflops(void) {
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

/* 12 independent vpdpbusd chains: 64 int8 products (128 ops) each. */
__attribute__((target("avx512f,avx512vnni"), noinline)) static int
vnni_loop(long n, int seed) {
  __m512i acc[12], x = _mm512_set1_epi32(seed),
                   y = _mm512_set1_epi32(seed ^ 0x01010101);
  for (int r = 0; r < 12; ++r)
    acc[r] = _mm512_set1_epi32(r * seed);
  for (long i = 0; i < n; ++i)
    for (int r = 0; r < 12; ++r)
      acc[r] = _mm512_dpbusd_epi32(acc[r], x, y);
  int s = 0, lanes[16];
  for (int r = 0; r < 12; ++r) {
    _mm512_storeu_si512(lanes, acc[r]);
    s += lanes[0];
  }
  return s;
}

/* Peak int8 multiply-adds of AVX-512 VNNI in GOP/s (0 without it). */
static inline double peak_int8_gops(void) {
  if (!__builtin_cpu_supports("avx512vnni"))
    return 0;
  const long n = 20000000;
  volatile int seed = 0x01020304;
  /* The best of 3: the first run also pays for starting the threads and
   * for the clock ramping up (a single run read 20% below what the W8A8
   * GEMM then sustained). */
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now();
    int sink = 0;
#pragma omp parallel reduction(+ : sink)
    sink += vnni_loop(n, seed);
    double t = now() - t0;
    if (sink == 42)
      printf(" ");
    double gops = omp_get_max_threads() * (double)n * 12 * 64 * 2 / t / 1e9;
    best = gops > best ? gops : best;
  }
  return best;
}

static inline double read_gbs(void) {
  size_t n = (size_t)1 << 28; /* 1 GiB of floats */
  float *a = (float *)aligned_alloc(64, n * sizeof(float));
#pragma omp parallel for
  for (size_t i = 0; i < n; ++i)
    a[i] = 1.0f;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now();
    float s = 0;
    double bytes = 0;
#pragma omp parallel reduction(+ : s, bytes)
    {
      /* Each thread sums its quarter of the buffer as four streams read
       * side by side (as the single-row matmul reads four rows of B): on
       * some CPUs (a 2-core Xeon here) one stream per core leaves half
       * the bandwidth unused. Vector loads into independent sums: bound by
       * memory, not adds. */
      size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
      size_t begin = n * t / nt / 64 * 64, end = n * (t + 1) / nt / 64 * 64;
      size_t quarter = (end - begin) / 4 / 64 * 64;
      v16 acc[4] = {{0}, {0}, {0}, {0}};
      for (size_t i = begin; i < begin + quarter; i += 16) {
        /* Reading ahead, as the kernels do: hardware prefetchers stop at
         * page ends, and fewer misses in flight would understate memory. */
        for (int r = 0; r < 4; ++r) {
          __builtin_prefetch(a + i + r * quarter + 1024);
          acc[r] += *(const v16 *)(a + i + r * quarter);
        }
      }
      for (int r = 0; r < 4; ++r)
        s += acc[r][0];
      bytes += 4.0 * quarter * sizeof(float);
    }
    double t = now() - t0;
    if (s == 0)
      printf(" ");
    if (bytes / t / 1e9 > best)
      best = bytes / t / 1e9;
  }
  free(a);
  return best;
}

#endif /* QUANTC_BENCH_LIMITS_H */
