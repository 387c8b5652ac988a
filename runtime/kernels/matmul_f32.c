/*===- matmul_f32.c - f32 batched matmul microkernel ----------------------===*
 *
 * Register-blocked C += A x B on row-major operands: a 6 x (2 vectors)
 * block of C stays in vector registers while k runs, reading two vectors of
 * a row of B and broadcasting one element of A per row. With enough rows
 * (prefill), B is first packed, a block of K x NC at a time, into panels of
 * two vectors' width laid out k-major, so the block kernel reads B
 * sequentially from cache (unpacked rows a power of two apart fall into few
 * cache sets); the threads pack a block together, then take blocks of rows
 * as they finish the last (a dynamic schedule: on a shared machine one core
 * may run slower, and an equal split would wait for it). That
 * path also packs A, 48 rows at a time, into tiles read k-major from one
 * pointer, and its tiles are 12 rows where registers allow (AVX-512: 24
 * accumulators of 32), so a step of k costs 14 loads for 24 FMAs.
 * With few rows (decode) packing would cost as much as the product, so B is
 * read in place, K split into blocks. One body, built per instruction set
 * with GCC vector extensions and target attributes, chosen once at run
 * time (OpenMP threads; OMP_NUM_THREADS sets how many).
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"

#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MR 6
#define KC 256        /* K blocks where B is read in place */
#define PACK_KC 512   /* packed: K in equal blocks of at most this many */
#define NC 1024       /* columns of a packed block: PACK_KC x NC = 2 MiB */
#define PACK_ROWS 24  /* fewer rows than this: B is read in place */
#define PACK_GROUP 48 /* rows of A packed at once: 48 x PACK_KC = 96 KiB */

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* Scalar C[i0.., j0..] += A x B for the edges of the matrix. */
static void edge_block(const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc, int64_t rows,
                       int64_t cols, int64_t k, int zero) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float acc = zero ? 0.0f : c[i * ldc + j];
      for (int64_t p = 0; p < k; ++p)
        acc += a[i * lda + p] * b[p * ldb + j];
      c[i * ldc + j] = acc;
    }
}

/* NAME##_block: C[rows x vecs*LANES] += A[rows x k] B[k x vecs*LANES] for
 * rows <= MR and vecs <= 2, the block in registers (inlined with constant
 * rows and vecs for full tiles). A full block, NR = two vectors wide, keeps
 * 12 independent accumulators. */
#define DEFINE_MATRIX_KERNEL(NAME, ATTR, VEC, LANES, PMR)                      \
  enum { NAME##_NR = 2 * LANES, NAME##_ROW_VECS = LANES == 16 ? 16 : 8 };      \
  ATTR static inline __attribute__((always_inline)) void NAME##_block(         \
      const float *a, int64_t lda, const float *b, int64_t ldb, float *c,      \
      int64_t ldc, int64_t k, int rows, int vecs, int zero) {                  \
    VEC acc[MR][2];                                                            \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < vecs; ++v)                                           \
        acc[r][v] = zero ? (VEC){0} : *(const VEC *)(c + r * ldc + v * LANES); \
    for (int64_t p = 0; p < k; ++p) {                                          \
      VEC bv[2];                                                               \
      for (int v = 0; v < vecs; ++v)                                           \
        bv[v] = *(const VEC *)(b + p * ldb + v * LANES);                       \
      for (int r = 0; r < rows; ++r) {                                         \
        VEC av = a[r * lda + p] - (VEC){0};                                    \
        for (int v = 0; v < vecs; ++v)                                         \
          acc[r][v] += av * bv[v];                                             \
      }                                                                        \
    }                                                                          \
    for (int r = 0; r < rows; ++r)                                             \
      for (int v = 0; v < vecs; ++v)                                           \
        *(VEC *)(c + r * ldc + v * LANES) = acc[r][v];                         \
  }                                                                            \
  /* C[1 x VECS*LANES] (+)= a[1 x k] B: the row of C in registers for all   \
   * of k, B read a whole row segment (VECS vectors, contiguous) at a time,   \
   * which the hardware prefetchers stream better than the block kernel's   \
   * two vectors per row (decode: weights read once). */                     \
  ATTR static inline __attribute__((always_inline)) void NAME##_row_block(    \
      const float *a, const float *b, int64_t ldb, float *c, int64_t k,        \
      int vecs, int zero) {                                                    \
    VEC acc[NAME##_ROW_VECS];                                                  \
    for (int v = 0; v < vecs; ++v)                                             \
      acc[v] = zero ? (VEC){0} : *(const VEC *)(c + v * LANES);                \
    for (int64_t p = 0; p < k; ++p) {                                          \
      VEC av = a[p] - (VEC){0};                                                \
      for (int v = 0; v < vecs; ++v)                                           \
        acc[v] += av * *(const VEC *)(b + p * ldb + v * LANES);                \
    }                                                                          \
    for (int v = 0; v < vecs; ++v)                                             \
      *(VEC *)(c + v * LANES) = acc[v];                                        \
  }                                                                            \
  ATTR static void NAME##_row(const float *a, const float *b, int64_t ldb,     \
                              float *c, int64_t n, int64_t k, int zero) {      \
    enum { W = NAME##_ROW_VECS * LANES };                                      \
    int64_t j = 0;                                                             \
    for (; j + W <= n; j += W)                                                 \
      NAME##_row_block(a, b + j, ldb, c + j, k, NAME##_ROW_VECS, zero);        \
    for (; j + LANES <= n; j += LANES)                                         \
      NAME##_row_block(a, b + j, ldb, c + j, k, 1, zero);                      \
    if (j < n)                                                                 \
      edge_block(a, k, b + j, ldb, c + j, n, 1, n - j, k, zero);               \
  }                                                                            \
  /* out[0:n] = a[0:k] x B[0:k, 0:n], B read row after row, four rows at a  \
   * time, each from start to end: plain sequential streams (one thread's    \
   * share of the rows of a single-row product). out stays in L1/L2. */       \
  ATTR static void NAME##_rows(const float *a, const float *b, int64_t ldb,    \
                               float *out, int64_t n, int64_t k) {             \
    int64_t nVec = n - n % LANES;                                              \
    memset(out, 0, (size_t)n * sizeof(float));                                 \
    int64_t p = 0;                                                             \
    for (; p + 4 <= k; p += 4) {                                               \
      const float *b0 = b + p * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb,           \
                  *b3 = b2 + ldb;                                              \
      VEC a0 = a[p] - (VEC){0}, a1 = a[p + 1] - (VEC){0},                      \
          a2 = a[p + 2] - (VEC){0}, a3 = a[p + 3] - (VEC){0};                  \
      for (int64_t j = 0; j < nVec; j += LANES)                                \
        *(VEC *)(out + j) += a0 * *(const VEC *)(b0 + j) +                     \
                             a1 * *(const VEC *)(b1 + j) +                     \
                             a2 * *(const VEC *)(b2 + j) +                     \
                             a3 * *(const VEC *)(b3 + j);                      \
      for (int64_t j = nVec; j < n; ++j)                                       \
        out[j] += a[p] * b0[j] + a[p + 1] * b1[j] + a[p + 2] * b2[j] +         \
                  a[p + 3] * b3[j];                                            \
    }                                                                          \
    for (; p < k; ++p) {                                                       \
      VEC ap = a[p] - (VEC){0};                                                \
      for (int64_t j = 0; j < nVec; j += LANES)                                \
        *(VEC *)(out + j) += ap * *(const VEC *)(b + p * ldb + j);             \
      for (int64_t j = nVec; j < n; ++j)                                       \
        out[j] += a[p] * b[p * ldb + j];                                       \
    }                                                                          \
  }                                                                            \
  ATTR static void NAME(const float *a, int64_t lda, const float *b,           \
                        int64_t ldb, float *c, int64_t ldc, int64_t m,         \
                        int64_t n, int64_t k, int zeroC) {                     \
    enum { NR = NAME##_NR };                                                   \
    if (m == 1) {                                                              \
      NAME##_row(a, b, ldb, c, n, k, zeroC);                                   \
      return;                                                                  \
    }                                                                          \
    for (int64_t pc = 0; pc < k; pc += KC) {                                   \
      int64_t kc = k - pc < KC ? k - pc : KC;                                  \
      int zero = zeroC && pc == 0;                                             \
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
                         2, zero);                                             \
          else                                                                 \
            NAME##_block(ai, lda, b + pc * ldb + j, ldb, ci + j, ldc, kc,      \
                         rows, 2, zero);                                       \
        }                                                                      \
        if (nFull < nVec)                                                      \
          NAME##_block(ai, lda, b + pc * ldb + nFull, ldb, ci + nFull, ldc,    \
                       kc, rows, 1, zero);                                     \
      }                                                                        \
      nFull = nVec;                                                            \
      if (nFull < n)                                                           \
        edge_block(a + pc, lda, b + pc * ldb + nFull, ldb, c + nFull, ldc, m,  \
                   n - nFull, kc, zero);                                       \
    }                                                                          \
  }                                                                            \
  /* Panels [q0, q1) of B[k x n] (row stride ldb), each k x NR, k-major,     \
   * zero beyond column n. */                                                  \
  ATTR static void NAME##_pack(const float *b, int64_t ldb, float *bp,         \
                               int64_t k, int64_t n, int64_t q0, int64_t q1) { \
    enum { NR = NAME##_NR };                                                   \
    for (int64_t q = q0; q < q1; ++q) {                                        \
      int64_t j0 = q * NR, cols = n - j0 < NR ? n - j0 : NR;                   \
      float *dst = bp + q * k * NR;                                            \
      for (int64_t p = 0; p < k; ++p) {                                        \
        const float *src = b + p * ldb + j0;                                   \
        if (cols == NR) {                                                      \
          *(VEC *)(dst + p * NR) = *(const VEC *)src;                          \
          *(VEC *)(dst + p * NR + LANES) = *(const VEC *)(src + LANES);        \
        } else {                                                               \
          for (int64_t j = 0; j < NR; ++j)                                     \
            dst[p * NR + j] = j < cols ? src[j] : 0.0f;                        \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }                                                                            \
  /* Rows [0, rows) of A (row stride lda), k columns, into ap: tiles of   \
   * PMR rows, each k-major (PMR floats a step; rows past `rows` zero), so  \
   * the panel kernel broadcasts A from one pointer at constant offsets.    */ \
  ATTR static void NAME##_pack_a(const float *a, int64_t lda, float *ap,      \
                                 int64_t rows, int64_t k) {                   \
    for (int64_t i = 0; i < rows; i += PMR) {                                 \
      float *dst = ap + i * k;                                                \
      for (int r = 0; r < PMR; ++r) {                                         \
        const float *src = a + (i + r) * lda;                                 \
        for (int64_t p = 0; p < k; ++p)                                       \
          dst[p * PMR + r] = i + r < rows ? src[p] : 0.0f;                    \
      }                                                                       \
    }                                                                         \
  }                                                                           \
  /* C[PMR x NR] += one packed tile of A x one packed panel of B: the tile  \
   * in 2 * PMR vector registers (AVX-512: 24 of 32) while k runs.          */ \
  ATTR static inline __attribute__((always_inline)) void NAME##_panel(        \
      const float *ap, const float *bp, float *c, int64_t ldc, int64_t k,     \
      int zero) {                                                             \
    VEC acc[PMR][2];                                                          \
    for (int r = 0; r < PMR; ++r) {                                           \
      acc[r][0] = zero ? (VEC){0} : *(const VEC *)(c + r * ldc);              \
      acc[r][1] = zero ? (VEC){0} : *(const VEC *)(c + r * ldc + LANES);      \
    }                                                                         \
    for (int64_t p = 0; p < k; ++p) {                                         \
      VEC b0 = *(const VEC *)(bp + p * 2 * LANES);                            \
      VEC b1 = *(const VEC *)(bp + p * 2 * LANES + LANES);                    \
      for (int r = 0; r < PMR; ++r) {                                         \
        VEC av = ap[p * PMR + r] - (VEC){0};                                  \
        acc[r][0] += av * b0;                                                 \
        acc[r][1] += av * b1;                                                 \
      }                                                                       \
    }                                                                         \
    for (int r = 0; r < PMR; ++r) {                                           \
      *(VEC *)(c + r * ldc) = acc[r][0];                                      \
      *(VEC *)(c + r * ldc + LANES) = acc[r][1];                              \
    }                                                                         \
  }                                                                           \
  /* C[m x n] += A[m x k] x B, B packed (k x n, all its panels; k <=       \
   * PACK_KC). A is packed PACK_GROUP rows at a time into `ap` (L2-resident); \
   * for each group, panels outside, row tiles inside: a panel (k x NR)      \
   * is read by the group's tiles one after another.                        */ \
  ATTR static void NAME##_packed(const float *a, int64_t lda, const float *bp, \
                                 float *ap, float *c, int64_t ldc, int64_t m,  \
                                 int64_t n, int64_t k, int zero) {             \
    enum { NR = NAME##_NR };                                                   \
    int64_t panels = (n + NR - 1) / NR;                                        \
    for (int64_t i0 = 0; i0 < m; i0 += PACK_GROUP) {                           \
      int64_t rows = m - i0 < PACK_GROUP ? m - i0 : PACK_GROUP;                \
      NAME##_pack_a(a + i0 * lda, lda, ap, rows, k);                           \
      for (int64_t q = 0; q < panels; ++q) {                                   \
        const float *panel = bp + q * k * NR;                                  \
        int64_t cols = n - q * NR < NR ? n - q * NR : NR;                      \
        for (int64_t i = 0; i < rows; i += PMR) {                              \
          int64_t tileRows = rows - i < PMR ? rows - i : PMR;                  \
          float *ci = c + (i0 + i) * ldc + q * NR;                             \
          if (cols == NR && tileRows == PMR) {                                 \
            NAME##_panel(ap + i * k, panel, ci, ldc, k, zero);                 \
            continue;                                                          \
          }                                                                    \
          /* An edge: through a full tile on the stack. */                    \
          float tile[PMR * NR] __attribute__((aligned(64)));                   \
          for (int r = 0; r < PMR; ++r)                                        \
            for (int j = 0; j < NR; ++j)                                       \
              tile[r * NR + j] =                                               \
                  !zero && r < tileRows && j < cols ? ci[r * ldc + j] : 0.0f;  \
          NAME##_panel(ap + i * k, panel, tile, NR, k, 0);                     \
          for (int r = 0; r < tileRows; ++r)                                   \
            for (int j = 0; j < cols; ++j)                                     \
              ci[r * ldc + j] = tile[r * NR + j];                              \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }                                                                            \
  /* C[m x n] (+)= A[m x k] x Bt[n x k]^T: a row of A against four rows of    \
   * Bt at a time, both contiguous (decode against a transposed cache). */     \
  ATTR static void NAME##_dot(const float *a, int64_t lda, const float *bt,    \
                              int64_t ldbt, float *c, int64_t ldc, int64_t m,  \
                              int64_t n, int64_t k, int zero) {                \
    int64_t kVec = k - k % LANES;                                              \
    for (int64_t i = 0; i < m; ++i) {                                          \
      const float *ai = a + i * lda;                                           \
      for (int64_t j = 0; j < n; j += 4) {                                     \
        int cols = n - j < 4 ? (int)(n - j) : 4;                               \
        VEC acc[4] = {{0}, {0}, {0}, {0}};                                     \
        for (int64_t p = 0; p < kVec; p += LANES) {                            \
          VEC av = *(const VEC *)(ai + p);                                     \
          for (int q = 0; q < cols; ++q)                                       \
            acc[q] += av * *(const VEC *)(bt + (j + q) * ldbt + p);            \
        }                                                                      \
        for (int q = 0; q < cols; ++q) {                                       \
          float sum = 0;                                                       \
          for (int l = 0; l < LANES; ++l)                                      \
            sum += acc[q][l];                                                  \
          for (int64_t p = kVec; p < k; ++p)                                   \
            sum += ai[p] * bt[(j + q) * ldbt + p];                             \
          float *out = c + i * ldc + j + q;                                    \
          *out = zero ? sum : *out + sum;                                      \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }

/* FMA contraction of a*b+c is what makes these fast. A row's element is
 * splat as `x - (VEC){0}` (exact: x - 0 is x), which compiles to one
 * broadcast load; `(VEC){0} + x` is not an identity (-0 + 0 = +0), so it
 * would cost an add and a shuffle on the FMA ports per row. */
#pragma GCC optimize("fp-contract=fast")
DEFINE_MATRIX_KERNEL(matmul_avx512, __attribute__((target("avx512f"))), v16,
                     16, 12)
DEFINE_MATRIX_KERNEL(matmul_avx2, __attribute__((target("avx2,fma"))), v8, 8,
                     6)
DEFINE_MATRIX_KERNEL(matmul_generic, , v8, 8, 6)

/* One instruction set's kernels. */
typedef struct {
  void (*inPlace)(const float *, int64_t, const float *, int64_t, float *,
                  int64_t, int64_t, int64_t, int64_t, int);
  void (*pack)(const float *, int64_t, float *, int64_t, int64_t, int64_t,
               int64_t);
  void (*packed)(const float *, int64_t, const float *, float *, float *,
                 int64_t, int64_t, int64_t, int64_t, int);
  void (*dot)(const float *, int64_t, const float *, int64_t, float *, int64_t,
              int64_t, int64_t, int64_t, int);
  void (*rows)(const float *, const float *, int64_t, float *, int64_t,
               int64_t);
  int64_t nr;
  const char *isa;
} kernels;

#define KERNELS(NAME, ISA)                                                     \
  {NAME, NAME##_pack, NAME##_packed, NAME##_dot, NAME##_rows, NAME##_NR, ISA}

static kernels select_kernels(void) {
  static const kernels k512 = KERNELS(matmul_avx512, "avx512f"),
                       k2 = KERNELS(matmul_avx2, "avx2+fma"),
                       kGeneric = KERNELS(matmul_generic, "generic");
  __builtin_cpu_init();
  /* QUANTC_MATMUL_ISA=avx2 or generic picks a narrower kernel (tests). */
  const char *want = getenv("QUANTC_MATMUL_ISA");
  int allow512 = !want || strcmp(want, "avx512f") == 0;
  int allow2 = allow512 || strcmp(want, "avx2+fma") == 0 ||
               strcmp(want, "avx2") == 0;
  if (allow512 && __builtin_cpu_supports("avx512f"))
    return k512;
  if (allow2 && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return k2;
  return kGeneric;
}

static const kernels *kernel(void) {
  static kernels chosen;
  static int done;
  if (!done) {
    chosen = select_kernels();
    done = 1;
  }
  return &chosen;
}

const char *quantc_matmul_isa(void) { return kernel()->isa; }

/* Blocks of C one thread computes when B is read in place: rows of MR
 * micro-rows, columns of NB (a multiple of every kernel's NR), so decode
 * (M = 1) still splits across threads. */
#define MB (8 * MR)
#define NB 256

/* B's element (p, j) of batch bi, for either layout. */
typedef struct {
  const float *base;
  int64_t batchStride, rowStride, colStride; /* of the [K, N] view */
  int shared, transposed;
} bview;

static bview view_of(const qc_memref3d_f32 *b, int transposed) {
  bview v = {b->aligned + b->offset, b->strides[0],
             transposed ? b->strides[2] : b->strides[1],
             transposed ? b->strides[1] : b->strides[2], b->sizes[0] == 1,
             transposed};
  return v;
}

static const float *batch_of(const bview *v, int64_t bi) {
  return v->base + (v->shared ? 0 : bi * v->batchStride);
}

/* Scalar C (+)= A x B for operands of any strides (never the fast path). */
static void strided_matmul(const qc_memref3d_f32 *a, const bview *b,
                           qc_memref3d_f32 *c, int zero) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2];
#pragma omp parallel for schedule(static) if (batch * m * n * k > 32768)
  for (int64_t bi = 0; bi < batch; ++bi) {
    const float *pa = a->aligned + a->offset + bi * a->strides[0];
    const float *pb = batch_of(b, bi);
    float *pc = c->aligned + c->offset + bi * c->strides[0];
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = zero ? 0.0f : pc[i * c->strides[1] + j * c->strides[2]];
        for (int64_t p = 0; p < k; ++p)
          acc += pa[i * a->strides[1] + p * a->strides[2]] *
                 pb[p * b->rowStride + j * b->colStride];
        pc[i * c->strides[1] + j * c->strides[2]] = acc;
      }
  }
}

/* Few rows: B read in place (dot products for a transposed B), tasks of
 * MB x nb blocks of C, nb at most NB and chosen so that every thread gets
 * as many columns of one batch (a 384-wide decode layer: 2 x 192, not
 * 256 + 128). */
static void in_place_matmul(const kernels *kn, const qc_memref3d_f32 *a,
                            const bview *b, qc_memref3d_f32 *c, int zero) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2], threads = omp_get_max_threads();
  int64_t perThread = (n + threads * NB - 1) / (threads * NB);
  int64_t nb = (n + threads * perThread - 1) / (threads * perThread);
  nb = (nb + 31) / 32 * 32; /* whole panels of every kernel */
  int64_t rowBlocks = (m + MB - 1) / MB, colBlocks = (n + nb - 1) / nb;
  int64_t tasks = batch * rowBlocks * colBlocks;
#pragma omp parallel for schedule(static) if (tasks > 1 && m * n * k > 32768)
  for (int64_t task = 0; task < tasks; ++task) {
    int64_t bi = task / (rowBlocks * colBlocks);
    int64_t i0 = (task / colBlocks) % rowBlocks * MB;
    int64_t j0 = task % colBlocks * nb;
    int64_t rows = m - i0 < MB ? m - i0 : MB;
    int64_t cols = n - j0 < nb ? n - j0 : nb;
    const float *pa =
        a->aligned + a->offset + bi * a->strides[0] + i0 * a->strides[1];
    float *pc = c->aligned + c->offset + bi * c->strides[0] +
                i0 * c->strides[1] + j0;
    const float *pb = batch_of(b, bi);
    if (b->transposed)
      kn->dot(pa, a->strides[1], pb + j0 * b->colStride, b->colStride, pc,
              c->strides[1], rows, cols, k, zero);
    else
      kn->inPlace(pa, a->strides[1], pb + j0, b->rowStride, pc, c->strides[1],
                  rows, cols, k, zero);
  }
}

/* One row of A against one row-major B (decode through a linear layer):
 * each thread takes a contiguous share of B's rows and streams it start to
 * end into a partial row of C, then the partials are summed. Splitting the
 * columns instead has every thread read a short piece of every row, which
 * prefetchers follow worse (2-core Xeon, 1 x 4096 x 14336: 83% of the
 * measured read bandwidth with column blocks, see docs/BENCHMARKS.md).
 * Returns 0 (nothing done) where the partials cannot be allocated. */
static int split_k_row(const kernels *kn, const float *a, const bview *b,
                       float *c, int64_t n, int64_t k, int zero) {
  int64_t threads = omp_get_max_threads();
  if (threads > k)
    threads = k > 0 ? k : 1;
  int64_t stride = (n + 15) / 16 * 16; /* each partial on its own lines */
  float *partial =
      aligned_alloc(64, (size_t)(threads * stride) * sizeof(float));
  if (!partial)
    return 0;
#pragma omp parallel num_threads(threads) if (n * k > 32768)
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t k0 = k * t / nt, k1 = k * (t + 1) / nt;
    kn->rows(a + k0, b->base + k0 * b->rowStride, b->rowStride,
             partial + t * stride, n, k1 - k0);
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      float sum = zero ? 0.0f : c[j];
      for (int64_t u = 0; u < nt; ++u)
        sum += partial[u * stride + j];
      c[j] = sum;
    }
  }
  free(partial);
  return 1;
}

/* Panels [q0, q1) of the k x n block of B at (p0, j0) into bp. */
static void pack_block(const kernels *kn, const bview *b, const float *pb,
                       int64_t p0, int64_t j0, float *bp, int64_t k,
                       int64_t n, int64_t q0, int64_t q1) {
  if (!b->transposed) {
    kn->pack(pb + p0 * b->rowStride + j0, b->rowStride, bp, k, n, q0, q1);
    return;
  }
  /* Transposed: each row of Bt is a column of the panel. */
  int64_t nr = kn->nr;
  for (int64_t q = q0; q < q1; ++q) {
    float *dst = bp + q * k * nr;
    for (int64_t j = 0; j < nr; ++j) {
      int64_t col = q * nr + j;
      const float *src = pb + (j0 + col) * b->colStride + p0;
      for (int64_t p = 0; p < k; ++p)
        dst[p * nr + j] = col < n ? src[p] : 0.0f;
    }
  }
}

/* The packed path's buffers for one call: packed B (one block, or one a
 * thread where each batch has its own B) and a packed A group a thread. */
typedef struct {
  float *b, *a;
  int64_t bFloats; /* one block of B: PACK_KC x NC, whole panels */
} scratch;

static float *a_group_of(const scratch *s) {
  return s->a + (int64_t)omp_get_thread_num() * PACK_GROUP * PACK_KC;
}

/* K in equal blocks of at most PACK_KC (384 stays one block, not 256 +
 * 128: fewer passes over C and fewer packing rounds): the block length. */
static int64_t k_block(int64_t k) {
  int64_t blocks = (k + PACK_KC - 1) / PACK_KC;
  return (k + blocks - 1) / blocks;
}

/* Many rows, one B for all of them: the threads pack each block of B
 * together, then split the rows (of every batch) between them. */
static void shared_packed_matmul(const kernels *kn, const qc_memref3d_f32 *a,
                                 const bview *b, qc_memref3d_f32 *c,
                                 const scratch *s, int zero) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2], nr = kn->nr, kb = k_block(k);
  int64_t rowBlocks = (m + MB - 1) / MB, tasks = batch * rowBlocks;
#pragma omp parallel if (m * n * k > 32768)
  for (int64_t jc = 0; jc < n; jc += NC) {
    int64_t nc = n - jc < NC ? n - jc : NC, panels = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < k; pc += kb) {
      int64_t kc = k - pc < kb ? k - pc : kb;
#pragma omp for schedule(dynamic)
      for (int64_t q = 0; q < panels; ++q)
        pack_block(kn, b, b->base, pc, jc, s->b, kc, nc, q, q + 1);
#pragma omp for schedule(dynamic)
      for (int64_t task = 0; task < tasks; ++task) {
        int64_t bi = task / rowBlocks, i0 = task % rowBlocks * MB;
        int64_t rows = m - i0 < MB ? m - i0 : MB;
        kn->packed(a->aligned + a->offset + bi * a->strides[0] +
                       i0 * a->strides[1] + pc,
                   a->strides[1], s->b, a_group_of(s),
                   c->aligned + c->offset + bi * c->strides[0] +
                       i0 * c->strides[1] + jc,
                   c->strides[1], rows, nc, kc, zero && pc == 0);
      }
    }
  }
}

/* Many rows, a B per batch (attention): each thread packs and multiplies
 * whole batches into its own block of B. */
static void batched_packed_matmul(const kernels *kn, const qc_memref3d_f32 *a,
                                  const bview *b, qc_memref3d_f32 *c,
                                  const scratch *s, int zero) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2], nr = kn->nr, kb = k_block(k);
#pragma omp parallel for schedule(dynamic) if (batch * m * n * k > 32768)
  for (int64_t bi = 0; bi < batch; ++bi) {
    float *mine = s->b + (int64_t)omp_get_thread_num() * s->bFloats;
    for (int64_t jc = 0; jc < n; jc += NC) {
      int64_t nc = n - jc < NC ? n - jc : NC, panels = (nc + nr - 1) / nr;
      for (int64_t pc = 0; pc < k; pc += kb) {
        int64_t kc = k - pc < kb ? k - pc : kb;
        pack_block(kn, b, batch_of(b, bi), pc, jc, mine, kc, nc, 0, panels);
        kn->packed(a->aligned + a->offset + bi * a->strides[0] + pc,
                   a->strides[1], mine, a_group_of(s),
                   c->aligned + c->offset + bi * c->strides[0] + jc,
                   c->strides[1], m, nc, kc, zero && pc == 0);
      }
    }
  }
}

void _mlir_ciface_quantc_matmul_f32(qc_memref3d_f32 *a, qc_memref3d_f32 *b,
                                    qc_memref3d_f32 *c, int64_t flags) {
  const kernels *kn = kernel();
  int zero = (flags & QC_MATMUL_INIT) != 0;
  bview bv = view_of(b, (flags & QC_MATMUL_TRANSPOSED_B) != 0);
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = a->sizes[2];
  if (batch == 0 || m == 0 || n == 0)
    return;
  /* The fast paths read rows of A, C and (either layout of) B contiguously. */
  int64_t bInner = bv.transposed ? bv.rowStride : bv.colStride;
  if (a->strides[2] != 1 || bInner != 1 || c->strides[2] != 1 || k == 0) {
    strided_matmul(a, &bv, c, zero);
    return;
  }
  if (batch == 1 && m == 1 && !bv.transposed &&
      split_k_row(kn, a->aligned + a->offset, &bv, c->aligned + c->offset, n,
                  k, zero))
    return;
  if (m < PACK_ROWS) {
    in_place_matmul(kn, a, &bv, c, zero);
    return;
  }
  int64_t threads = omp_get_max_threads();
  scratch s = {NULL, NULL, PACK_KC * ((NC + kn->nr - 1) / kn->nr * kn->nr)};
  int64_t bFloats = (bv.shared ? 1 : threads) * s.bFloats;
  s.b = aligned_alloc(
      64, (size_t)(bFloats + threads * PACK_GROUP * PACK_KC) * sizeof(float));
  if (!s.b) {
    in_place_matmul(kn, a, &bv, c, zero);
    return;
  }
  s.a = s.b + bFloats;
  if (bv.shared)
    shared_packed_matmul(kn, a, &bv, c, &s, zero);
  else
    batched_packed_matmul(kn, a, &bv, c, &s, zero);
  free(s.b);
}
