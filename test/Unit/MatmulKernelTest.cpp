//===- MatmulKernelTest.cpp - the f32 matmul microkernel vs float64 -------===//
//
// Every edge of the register blocking (rows below a tile, column tails below one
// vector, between one and two vectors), K across its cache blocks, batches
// with shared or per-batch B, strided rows, both ways of reading B (in
// place for few rows, packed for many), against a float64
// reference: relative error within 1e-5 of the row's magnitude.
//
//===----------------------------------------------------------------------===//

#include "quantc/kernels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

struct Case {
  int64_t batch, m, k, n;
  bool sharedB;
  int64_t padA, padC; // extra elements per row (strided rows)
};

/// C += A x B, or with `init` C = A x B (C starts as NaN: never read);
/// with `transposed` B is passed as [batch, N, K].
void check(const Case &c, bool init = false, bool transposed = false) {
  std::mt19937 rng(static_cast<unsigned>(c.m * 131 + c.n * 7 + c.k));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  int64_t lda = c.k + c.padA, ldc = c.n + c.padC;
  int64_t bBatch = c.sharedB ? 1 : c.batch;
  std::vector<float> a(c.batch * c.m * lda), b(bBatch * c.k * c.n),
      out(c.batch * c.m * ldc);
  for (float &x : a)
    x = u(rng);
  for (float &x : b)
    x = u(rng);
  for (float &x : out)
    x = u(rng); // the kernel accumulates into C
  std::vector<float> start = out;
  if (init)
    for (int64_t bi = 0; bi < c.batch; ++bi)
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j)
          out[bi * c.m * ldc + i * ldc + j] = std::nanf("");
  qc_memref3d_f32 va{a.data(), a.data(), 0, {c.batch, c.m, c.k},
                     {c.m * lda, lda, 1}};
  std::vector<float> bt(b.size());
  for (int64_t bi = 0; bi < bBatch; ++bi)
    for (int64_t p = 0; p < c.k; ++p)
      for (int64_t j = 0; j < c.n; ++j)
        bt[bi * c.k * c.n + j * c.k + p] = b[bi * c.k * c.n + p * c.n + j];
  qc_memref3d_f32 vb{b.data(), b.data(), 0, {bBatch, c.k, c.n},
                     {c.k * c.n, c.n, 1}};
  if (transposed)
    vb = {bt.data(), bt.data(), 0, {bBatch, c.n, c.k}, {c.k * c.n, c.k, 1}};
  qc_memref3d_f32 vc{out.data(), out.data(), 0, {c.batch, c.m, c.n},
                     {c.m * ldc, ldc, 1}};
  _mlir_ciface_quantc_matmul_f32(
      &va, &vb, &vc,
      (init ? QC_MATMUL_INIT : 0) | (transposed ? QC_MATMUL_TRANSPOSED_B : 0));
  for (int64_t bi = 0; bi < c.batch; ++bi)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        const float *pb = b.data() + (c.sharedB ? 0 : bi * c.k * c.n);
        double ref = init ? 0.0 : start[bi * c.m * ldc + i * ldc + j];
        double mag = std::fabs(ref);
        for (int64_t p = 0; p < c.k; ++p) {
          double t = double(a[bi * c.m * lda + i * lda + p]) * pb[p * c.n + j];
          ref += t;
          mag += std::fabs(t);
        }
        double got = out[bi * c.m * ldc + i * ldc + j];
        ASSERT_LE(std::fabs(got - ref), 1e-5 * mag + 1e-6)
            << "batch " << c.batch << " m " << c.m << " k " << c.k << " n "
            << c.n << " at " << bi << "," << i << "," << j;
      }
  // Padding between rows is never written.
  for (int64_t bi = 0; bi < c.batch; ++bi)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = c.n; j < ldc; ++j)
        ASSERT_EQ(out[bi * c.m * ldc + i * ldc + j],
                  start[bi * c.m * ldc + i * ldc + j]);
}

TEST(MatmulKernel, EveryBlockEdge) {
  for (int64_t m : {1, 2, 5, 6, 7, 13, 49})
    for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 70, 688})
      check({1, m, 37, n, true, 0, 0});
}

TEST(MatmulKernel, KAcrossCacheBlocks) {
  for (int64_t k : {1, 255, 256, 257, 700})
    check({1, 9, k, 40, true, 0, 0});
  // Packed (30 rows, B shared or per batch): K in equal blocks of at most
  // 512, the last one ragged for 1100 (367 + 367 + 366).
  for (int64_t k : {384, 512, 513, 1100}) {
    check({1, 30, k, 40, true, 0, 0});
    check({2, 30, k, 40, false, 0, 0}, true);
  }
}

// One row against one B (decode): the threads split K, each streaming its
// rows of B into a partial row, then sum; K not a multiple of four or of
// the thread count, N with a tail, accumulate and init, one thread and more.
TEST(MatmulKernel, SingleRowSplitsK) {
  int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (int64_t k : {5, 1001})
      for (int64_t n : {70, 333}) {
        check({1, 1, k, n, true, 0, 0});
        check({1, 1, k, n, true, 0, 0}, /*init=*/true);
      }
  }
  omp_set_num_threads(before);
}

TEST(MatmulKernel, BatchesAndStrides) {
  check({3, 5, 20, 33, false, 0, 0});  // attention-like: B per batch
  check({4, 12, 16, 64, true, 0, 0});  // one B for every batch
  check({2, 7, 19, 21, false, 3, 5}); // rows with padding
}

// 24 rows and more take the packed path: panels of B at every column edge,
// K and N across their cache blocks (256, 1024), shared and per-batch B.
TEST(MatmulKernel, PackedPanels) {
  for (int64_t m : {24, 25, 30, 61})
    for (int64_t n : {1, 15, 16, 17, 32, 33, 70})
      check({1, m, 29, n, true, 0, 0});
  check({1, 40, 300, 1030, true, 0, 0}); // K and N beyond one block
  check({3, 31, 257, 45, false, 2, 3});  // B per batch, padded rows
  check({2, 26, 64, 40, true, 1, 0});    // shared B, two batches
  check({2, 110, 300, 45, false, 3, 1}); // A packed in groups of 48 rows
}

// C = A x B never reads C, on every path (in place, packed, strided).
TEST(MatmulKernel, InitOverwritesC) {
  for (int64_t m : {1, 7, 24, 61})
    for (int64_t k : {0, 3, 300})
      check({1, m, k, 37, true, 0, 0}, /*init=*/true);
  check({3, 31, 257, 45, false, 2, 3}, /*init=*/true);
}

// B given transposed ([N, K], attention's keys): dot products for few rows,
// a transposing pack for many, with and without init.
TEST(MatmulKernel, TransposedB) {
  for (int64_t m : {1, 3, 24, 50})
    for (int64_t n : {1, 5, 33, 300})
      check({2, m, 37, n, false, 0, 0}, false, /*transposed=*/true);
  check({1, 30, 300, 40, true, 1, 2}, /*init=*/true, /*transposed=*/true);
  check({3, 2, 64, 17, false, 0, 0}, /*init=*/true, /*transposed=*/true);
}

TEST(MatmulKernel, ReportsItsInstructionSet) {
  std::string isa = quantc_matmul_isa();
  EXPECT_TRUE(isa == "avx512f" || isa == "avx2+fma" || isa == "generic") << isa;
}

} // namespace
