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

#define MR 6
#define NR 16
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

/* NAME##_block: C[rows x NR] += A[rows x k] B[k x NR] for rows <= MR, the
 * block in registers (inlined with rows = MR for full tiles). */
#define DEFINE_MATRIX_KERNEL(NAME, ATTR, VEC, LANES)                           \
  ATTR static inline __attribute__((always_inline)) void NAME##_block(         \
      const float *a, int64_t lda, const float *b, int64_t ldb, float *c,      \
      int64_t ldc, int64_t k, int rows) {                                      \
    enum { V = NR / LANES };                                                   \
    VEC acc[MR][V];                                                            \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < V; ++v)                                              \
        acc[r][v] = *(const VEC *)(c + r * ldc + v * LANES);                   \
    for (int64_t p = 0; p < k; ++p) {                                          \
      VEC bv[V];                                                               \
      for (int v = 0; v < V; ++v)                                              \
        bv[v] = *(const VEC *)(b + p * ldb + v * LANES);                       \
      for (int r = 0; r < rows; ++r) {                                         \
        VEC av = (VEC){0} + a[r * lda + p];                                    \
        for (int v = 0; v < V; ++v)                                            \
          acc[r][v] += av * bv[v];                                             \
      }                                                                        \
    }                                                                          \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < V; ++v)                                              \
        *(VEC *)(c + r * ldc + v * LANES) = acc[r][v];                         \
  }                                                                            \
  ATTR static void NAME(const float *a, int64_t lda, const float *b,           \
                        int64_t ldb, float *c, int64_t ldc, int64_t m,         \
                        int64_t n, int64_t k) {                                \
    for (int64_t pc = 0; pc < k; pc += KC) {                                   \
      int64_t kc = k - pc < KC ? k - pc : KC;                                  \
      int64_t nFull = n - n % NR;                                              \
      for (int64_t i = 0; i < m; i += MR) {                                    \
        int rows = m - i < MR ? (int)(m - i) : MR;                             \
        for (int64_t j = 0; j < nFull; j += NR) {                              \
          if (rows == MR)                                                      \
            NAME##_block(a + i * lda + pc, lda, b + pc * ldb + j, ldb,         \
                         c + i * ldc + j, ldc, kc, MR);                        \
          else                                                                 \
            NAME##_block(a + i * lda + pc, lda, b + pc * ldb + j, ldb,         \
                         c + i * ldc + j, ldc, kc, rows);                      \
        }                                                                      \
      }                                                                        \
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
  if (__builtin_cpu_supports("avx512f")) {
    *isa = "avx512f";
    return matmul_avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
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
 * NB (a multiple of NR), so decode (M = 1) still splits across threads. */
#define MB (8 * MR)
#define NB (16 * NR)

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
