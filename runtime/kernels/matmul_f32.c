/*===- matmul_f32.c - f32 batched matmul microkernel ----------------------===*
 *
 * Register-blocked C += A x B on row-major operands: a 6 x 16 block of C
 * stays in vector registers while k runs, reading 16 contiguous floats of a
 * row of B and broadcasting one element of A per row. B is read in place
 * (the weights of a linear layer are [K, N] row-major already); K is split
 * into blocks so the B rows a block touches stay in cache. One body, built
 * per instruction set with GCC vector extensions and target attributes,
 * chosen once at run time. Blocks of C are spread over threads (OpenMP;
 * OMP_NUM_THREADS sets how many).
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MR 6
#define KC 256

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* Scalar C[i0.., j0..] += A x B for the edges of the matrix. */
static void edge_block(const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc, int64_t rows,
                       int64_t cols, int64_t k) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float acc = c[i * ldc + j];
      for (int64_t p = 0; p < k; ++p)
        acc += a[i * lda + p] * b[p * ldb + j];
      c[i * ldc + j] = acc;
    }
}

/* NAME##_block: C[rows x vecs*LANES] += A[rows x k] B[k x vecs*LANES] for
 * rows <= MR and vecs <= 2, the block in registers (inlined with constant
 * rows and vecs for full tiles). A full block, NR = two vectors wide, keeps
 * 12 independent accumulators. */
#define DEFINE_MATRIX_KERNEL(NAME, ATTR, VEC, LANES)                           \
  enum { NAME##_NR = 2 * LANES };                                              \
  ATTR static inline __attribute__((always_inline)) void NAME##_block(         \
      const float *a, int64_t lda, const float *b, int64_t ldb, float *c,      \
      int64_t ldc, int64_t k, int rows, int vecs) {                            \
    VEC acc[MR][2];                                                            \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < vecs; ++v)                                           \
        acc[r][v] = *(const VEC *)(c + r * ldc + v * LANES);                   \
    for (int64_t p = 0; p < k; ++p) {                                          \
      VEC bv[2];                                                               \
      for (int v = 0; v < vecs; ++v)                                           \
        bv[v] = *(const VEC *)(b + p * ldb + v * LANES);                       \
      for (int r = 0; r < rows; ++r) {                                         \
        VEC av = (VEC){0} + a[r * lda + p];                                    \
        for (int v = 0; v < vecs; ++v)                                         \
          acc[r][v] += av * bv[v];                                             \
      }                                                                        \
    }                                                                          \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < vecs; ++v)                                           \
        *(VEC *)(c + r * ldc + v * LANES) = acc[r][v];                         \
  }                                                                            \
  ATTR static void NAME(const float *a, int64_t lda, const float *b,           \
                        int64_t ldb, float *c, int64_t ldc, int64_t m,         \
                        int64_t n, int64_t k) {                                \
    enum { NR = NAME##_NR };                                                   \
    for (int64_t pc = 0; pc < k; pc += KC) {                                   \
      int64_t kc = k - pc < KC ? k - pc : KC;                                  \
      int64_t nFull = n - n % NR;                                              \
      /* One more block of a single vector where the columns allow. */        \
      int64_t nVec = n - n % LANES;                                            \
      for (int64_t i = 0; i < m; i += MR) {                                    \
        int rows = m - i < MR ? (int)(m - i) : MR;                             \
        const float *ai = a + i * lda + pc;                                    \
        float *ci = c + i * ldc;                                               \
        for (int64_t j = 0; j < nFull; j += NR) {                              \
          if (rows == MR)                                                      \
            NAME##_block(ai, lda, b + pc * ldb + j, ldb, ci + j, ldc, kc, MR,  \
                         2);                                                   \
          else                                                                 \
            NAME##_block(ai, lda, b + pc * ldb + j, ldb, ci + j, ldc, kc,      \
                         rows, 2);                                             \
        }                                                                      \
        if (nFull < nVec)                                                      \
          NAME##_block(ai, lda, b + pc * ldb + nFull, ldb, ci + nFull, ldc,    \
                       kc, rows, 1);                                           \
      }                                                                        \
      nFull = nVec;                                                            \
      if (nFull < n)                                                           \
        edge_block(a + pc, lda, b + pc * ldb + nFull, ldb, c + nFull, ldc, m,  \
                   n - nFull, kc);                                             \
    }                                                                          \
  }

/* FMA contraction of a*b+c is what makes these fast. */
#pragma GCC optimize("fp-contract=fast")
DEFINE_MATRIX_KERNEL(matmul_avx512, __attribute__((target("avx512f"))), v16,
                     16)
DEFINE_MATRIX_KERNEL(matmul_avx2, __attribute__((target("avx2,fma"))), v8, 8)
DEFINE_MATRIX_KERNEL(matmul_generic, , v8, 8)

typedef void (*matmul_fn)(const float *, int64_t, const float *, int64_t,
                          float *, int64_t, int64_t, int64_t, int64_t);

static matmul_fn select_kernel(const char **isa) {
  __builtin_cpu_init();
  /* QUANTC_MATMUL_ISA=avx2 or generic picks a narrower kernel (tests). */
  const char *want = getenv("QUANTC_MATMUL_ISA");
  int allow512 = !want || strcmp(want, "avx512f") == 0;
  int allow2 = allow512 || strcmp(want, "avx2+fma") == 0 ||
               strcmp(want, "avx2") == 0;
  if (allow512 && __builtin_cpu_supports("avx512f")) {
    *isa = "avx512f";
    return matmul_avx512;
  }
  if (allow2 && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma")) {
    *isa = "avx2+fma";
    return matmul_avx2;
  }
  *isa = "generic";
  return matmul_generic;
}

static const char *chosen_isa;
static matmul_fn kernel(void) {
  static matmul_fn fn;
  if (!fn)
    fn = select_kernel(&chosen_isa);
  return fn;
}

const char *quantc_matmul_isa(void) {
  kernel();
  return chosen_isa;
}

/* Blocks of C one thread computes: rows of MR micro-rows, columns of
 * NB (a multiple of every kernel's NR), so decode (M = 1) still splits
 * across threads. */
#define MB (8 * MR)
#define NB 256

void _mlir_ciface_quantc_matmul_f32(qc_memref3d_f32 *a, qc_memref3d_f32 *b,
                                    qc_memref3d_f32 *c) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2];
  int shared = b->sizes[0] == 1;
  int unit = a->strides[2] == 1 && b->strides[2] == 1 && c->strides[2] == 1;
  matmul_fn fn = kernel();
  int64_t rowBlocks = (m + MB - 1) / MB, colBlocks = (n + NB - 1) / NB;
  int64_t tasks = batch * rowBlocks * colBlocks;
#pragma omp parallel for schedule(static) if (tasks > 1 && m * n * k > 32768)
  for (int64_t task = 0; task < tasks; ++task) {
    int64_t bi = task / (rowBlocks * colBlocks);
    int64_t i0 = (task / colBlocks) % rowBlocks * MB;
    int64_t j0 = task % colBlocks * NB;
    int64_t rows = m - i0 < MB ? m - i0 : MB;
    int64_t cols = n - j0 < NB ? n - j0 : NB;
    const float *pa = a->aligned + a->offset + bi * a->strides[0] +
                      i0 * a->strides[1];
    const float *pb = b->aligned + b->offset +
                      (shared ? 0 : bi * b->strides[0]) + j0 * b->strides[2];
    float *pc = c->aligned + c->offset + bi * c->strides[0] +
                i0 * c->strides[1] + j0 * c->strides[2];
    if (unit) {
      fn(pa, a->strides[1], pb, b->strides[1], pc, c->strides[1], rows, cols,
         k);
      continue;
    }
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float acc = pc[i * c->strides[1] + j * c->strides[2]];
        for (int64_t p = 0; p < k; ++p)
          acc += pa[i * a->strides[1] + p * a->strides[2]] *
                 pb[p * b->strides[1] + j * b->strides[2]];
        pc[i * c->strides[1] + j * c->strides[2]] = acc;
      }
  }
}
