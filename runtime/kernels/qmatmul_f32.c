/*===- qmatmul_f32.c - f32 activations x integer-quantized weights --------===*
 *
 * The weight stays packed (qc.qconstant's layout: one row of K codes per
 * output channel). Few rows (decode): each channel's codes are decoded a
 * group at a time into a small buffer and dotted with the activations, the
 * zero point folded out through per-group sums of the activations. Many rows
 * (prefill): a panel of channels is decoded into a K x NB f32 tile in cache
 * and multiplied with the f32 microkernel; no step holds the whole matrix
 * in f32. Threads split the channels.
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NB 64      /* channels decoded per tile (prefill) */
#define FEW_ROWS 8 /* rows up to which channels are dotted directly */

typedef struct {
  const uint8_t *codes, *scales, *zeros;
  int64_t k, n, bits, group, groups, rowBytes, flags;
} qweight;

static float scale_at(const qweight *w, int64_t i) {
  if (w->flags & (QC_QMATMUL_SCALE_F16 | QC_QMATMUL_SCALE_BF16)) {
    uint16_t h;
    memcpy(&h, w->scales + 2 * i, 2);
    uint32_t bitsOut;
    if (w->flags & QC_QMATMUL_SCALE_BF16) {
      bitsOut = (uint32_t)h << 16;
    } else { /* IEEE half to single */
      uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31,
               man = h & 1023;
      if (exp == 0) {
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
      }
      bitsOut = exp == 31 ? sign | 0x7f800000u | (man << 13)
                          : sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bitsOut, 4);
    return f;
  }
  float f;
  memcpy(&f, w->scales + 4 * i, 4);
  return f;
}

/* Codes [k0, k0 + len) of channel j as floats (signed for symmetric). */
static void decode_codes(const qweight *w, int64_t j, int64_t k0, int64_t len,
                         float *out) {
  const uint8_t *row = w->codes + j * w->rowBytes;
  int64_t bits = w->bits;
  int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  uint32_t mask = (1u << bits) - 1, sign = 1u << (bits - 1);
  if (bits == 4 && k0 % 2 == 0) {
    for (int64_t i = 0; i < len; ++i) {
      uint32_t byte = row[(k0 + i) >> 1];
      uint32_t code = (i & 1) ? byte >> 4 : byte & 15;
      out[i] = symmetric ? (float)((int32_t)(code ^ 8) - 8) : (float)code;
    }
    return;
  }
  if (bits == 8) {
    for (int64_t i = 0; i < len; ++i)
      out[i] = symmetric ? (float)(int8_t)row[k0 + i] : (float)row[k0 + i];
    return;
  }
  for (int64_t i = 0; i < len; ++i) {
    int64_t bit = (k0 + i) * bits;
    uint32_t word = row[bit >> 3];
    if ((bit & 7) + bits > 8)
      word |= (uint32_t)row[(bit >> 3) + 1] << 8;
    uint32_t code = (word >> (bit & 7)) & mask;
    out[i] = symmetric ? (float)((int32_t)(code ^ sign) - (int32_t)sign)
                       : (float)code;
  }
}

/* One channel of 4-bit codes against one row split into even elements xe
 * and odd ones xo (the low nibble of byte i is element 2i): the sum over
 * groups of scale_g * sum_i (xe[i] lo(b[i]) + xo[i] hi(b[i])), each group
 * `groupPairs` bytes. LANES bytes widen to two vectors of codes per step;
 * one horizontal sum per call. Built per instruction set. */
#define DEFINE_DOT_Q4(NAME, ATTR, LANES, WIDEN)                                \
  typedef float NAME##_vf __attribute__((vector_size(4 * LANES)));             \
  typedef int32_t NAME##_vi __attribute__((vector_size(4 * LANES)));           \
  ATTR static float NAME(const uint8_t *b, const float *xe, const float *xo,   \
                         int64_t pairs, int64_t groupPairs,                    \
                         const float *scales, int symmetric) {                 \
    NAME##_vf total = {0};                                                     \
    float tail = 0;                                                            \
    for (int64_t g0 = 0, g = 0; g0 < pairs; g0 += groupPairs, ++g) {           \
      int64_t end = g0 + groupPairs < pairs ? g0 + groupPairs : pairs;         \
      NAME##_vf acc0 = {0}, acc1 = {0};                                        \
      int64_t i = g0;                                                          \
      for (; i + LANES <= end; i += LANES) {                                   \
        NAME##_vi wide = WIDEN(b + i);                                         \
        NAME##_vi lo = wide & 15, hi = wide >> 4;                              \
        if (symmetric) {                                                       \
          lo = (lo ^ 8) - 8;                                                   \
          hi = (hi ^ 8) - 8;                                                   \
        }                                                                      \
        NAME##_vf e, o;                                                        \
        memcpy(&e, xe + i, sizeof e);                                          \
        memcpy(&o, xo + i, sizeof o);                                          \
        acc0 += e * __builtin_convertvector(lo, NAME##_vf);                    \
        acc1 += o * __builtin_convertvector(hi, NAME##_vf);                    \
      }                                                                        \
      total += (acc0 + acc1) * scales[g];                                      \
      for (; i < end; ++i) {                                                   \
        int32_t lo = b[i] & 15, hi = b[i] >> 4;                                \
        if (symmetric) {                                                       \
          lo = (lo ^ 8) - 8;                                                   \
          hi = (hi ^ 8) - 8;                                                   \
        }                                                                      \
        tail += scales[g] * (xe[i] * lo + xo[i] * hi);                         \
      }                                                                        \
    }                                                                          \
    float sum = tail;                                                          \
    for (int l = 0; l < LANES; ++l)                                            \
      sum += total[l];                                                         \
    return sum;                                                                \
  }

/* LANES bytes zero-extended to LANES 32-bit lanes: one instruction where
 * the instruction set has it (GCC's __builtin_convertvector does not find
 * it and moves bytes one by one). */
typedef int32_t v16i __attribute__((vector_size(64)));
typedef int32_t v8i __attribute__((vector_size(32)));
__attribute__((target("avx512f"))) static inline v16i widen16(const uint8_t *p) {
  return (v16i)_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
}
__attribute__((target("avx2"))) static inline v8i widen8_avx2(const uint8_t *p) {
  return (v8i)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}
typedef int32_t v4i __attribute__((vector_size(16)));
static inline v4i widen4(const uint8_t *p) {
  v4i out = {p[0], p[1], p[2], p[3]};
  return out;
}

#pragma GCC optimize("fp-contract=fast")
DEFINE_DOT_Q4(dot_q4_avx512, __attribute__((target("avx512f"))), 16, widen16)
DEFINE_DOT_Q4(dot_q4_avx2, __attribute__((target("avx2,fma"))), 8, widen8_avx2)
DEFINE_DOT_Q4(dot_q4_generic, , 4, widen4)

/* One channel of 8-bit codes against one row: sum over groups of
 * scale_g * sum_i x[i] code[i] (codes unsigned, or signed when symmetric). */
#define DEFINE_DOT_Q8(NAME, ATTR, LANES, WIDEN_U, WIDEN_S)                     \
  typedef float NAME##_vf __attribute__((vector_size(4 * LANES)));             \
  ATTR static float NAME(const uint8_t *b, const float *x, int64_t k,          \
                         int64_t group, const float *scales, int symmetric) {  \
    NAME##_vf total = {0};                                                     \
    float tail = 0;                                                            \
    for (int64_t g0 = 0, g = 0; g0 < k; g0 += group, ++g) {                    \
      int64_t end = g0 + group < k ? g0 + group : k, i = g0;                   \
      NAME##_vf acc = {0};                                                     \
      for (; i + LANES <= end; i += LANES) {                                   \
        NAME##_vf xv, cv = symmetric                                           \
                               ? __builtin_convertvector(WIDEN_S(b + i),       \
                                                         NAME##_vf)            \
                               : __builtin_convertvector(WIDEN_U(b + i),       \
                                                         NAME##_vf);           \
        memcpy(&xv, x + i, sizeof xv);                                         \
        acc += xv * cv;                                                        \
      }                                                                        \
      total += acc * scales[g];                                                \
      for (; i < end; ++i)                                                     \
        tail += scales[g] * x[i] *                                             \
                (symmetric ? (float)(int8_t)b[i] : (float)b[i]);               \
    }                                                                          \
    float sum = tail;                                                          \
    for (int l = 0; l < LANES; ++l)                                            \
      sum += total[l];                                                         \
    return sum;                                                                \
  }

__attribute__((target("avx512f"))) static inline v16i widen16s(const uint8_t *p) {
  return (v16i)_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p));
}
__attribute__((target("avx2"))) static inline v8i widen8s_avx2(const uint8_t *p) {
  return (v8i)_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
}
static inline v4i widen4s(const uint8_t *p) {
  v4i out = {(int8_t)p[0], (int8_t)p[1], (int8_t)p[2], (int8_t)p[3]};
  return out;
}
DEFINE_DOT_Q8(dot_q8_avx512, __attribute__((target("avx512f"))), 16, widen16,
              widen16s)
DEFINE_DOT_Q8(dot_q8_avx2, __attribute__((target("avx2,fma"))), 8, widen8_avx2,
              widen8s_avx2)
DEFINE_DOT_Q8(dot_q8_generic, , 4, widen4, widen4s)

typedef float (*dot_q8_fn)(const uint8_t *, const float *, int64_t, int64_t,
                           const float *, int);

static dot_q8_fn dot_q8(void) {
  static dot_q8_fn fn;
  if (!fn) {
    const char *isa = quantc_matmul_isa();
    fn = strcmp(isa, "avx512f") == 0    ? dot_q8_avx512
         : strcmp(isa, "avx2+fma") == 0 ? dot_q8_avx2
                                        : dot_q8_generic;
  }
  return fn;
}

typedef float (*dot_q4_fn)(const uint8_t *, const float *, const float *,
                           int64_t, int64_t, const float *, int);

static dot_q4_fn dot_q4(void) {
  static dot_q4_fn fn;
  if (!fn) {
    /* The same choice (and override) as the f32 kernel's. */
    const char *isa = quantc_matmul_isa();
    fn = strcmp(isa, "avx512f") == 0    ? dot_q4_avx512
         : strcmp(isa, "avx2+fma") == 0 ? dot_q4_avx2
                                        : dot_q4_generic;
  }
  return fn;
}

/* The group parameters of channel j: scale and zero point. */
static void params(const qweight *w, int64_t j, int64_t g, float *scale,
                   float *zero) {
  int64_t i = j * w->groups + g;
  *scale = scale_at(w, i);
  *zero = (w->flags & QC_QMATMUL_SYMMETRIC) ? 0.0f : (float)w->zeros[i];
}

/* Few rows: y[r, j] = sum_g scale * (x_g . codes_g - zero * sum(x_g)).
 * 4-bit codes are dotted in place against the rows split into even and odd
 * elements, 8-bit ones against the rows; other widths are decoded a group
 * at a time first. */
static void dot_rows(const qweight *w, const float *a, int64_t lda,
                     float *c, int64_t ldc, int64_t m, int zero) {
  int64_t gl = w->group ? w->group : w->k;
  int nibbles = w->bits == 4 && w->k % 2 == 0 && gl % 2 == 0;
  int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  dot_q4_fn dot = dot_q4();
  dot_q8_fn dot8 = dot_q8();
  float *sums = malloc(sizeof(float) * (size_t)(m * w->groups));
  float *split = nibbles ? malloc(sizeof(float) * (size_t)(m * w->k)) : NULL;
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t g = 0; g < w->groups; ++g) {
      float s = 0;
      for (int64_t p = g * gl; p < (g + 1) * gl && p < w->k; ++p)
        s += a[r * lda + p];
      sums[r * w->groups + g] = s;
    }
    if (nibbles) /* row r: k/2 even elements, then k/2 odd ones */
      for (int64_t p = 0; p < w->k; ++p)
        split[r * w->k + (p & 1) * (w->k / 2) + p / 2] = a[r * lda + p];
  }
#pragma omp parallel if (w->n * w->k > 32768)
  {
    float *codes = malloc(sizeof(float) * (size_t)gl);
    float *scales = malloc(sizeof(float) * (size_t)w->groups);
    float *zeros = malloc(sizeof(float) * (size_t)w->groups);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < w->n; ++j) {
      float acc[FEW_ROWS] = {0};
      const uint8_t *row = w->codes + j * w->rowBytes;
      for (int64_t g = 0; g < w->groups; ++g)
        params(w, j, g, &scales[g], &zeros[g]);
      /* The zero points' share: sum_g scale_g zero_g sum(x_g). */
      for (int64_t r = 0; r < m; ++r)
        for (int64_t g = 0; g < w->groups; ++g)
          acc[r] -= scales[g] * zeros[g] * sums[r * w->groups + g];
      if (nibbles) {
        for (int64_t r = 0; r < m; ++r) {
          const float *xe = split + r * w->k;
          acc[r] += dot(row, xe, xe + w->k / 2, w->k / 2, gl / 2, scales,
                        symmetric);
        }
      } else if (w->bits == 8) {
        for (int64_t r = 0; r < m; ++r)
          acc[r] += dot8(row, a + r * lda, w->k, gl, scales, symmetric);
      } else {
        for (int64_t g = 0; g < w->groups; ++g) {
          int64_t k0 = g * gl, len = w->k - k0 < gl ? w->k - k0 : gl;
          decode_codes(w, j, k0, len, codes);
          for (int64_t r = 0; r < m; ++r) {
            const float *x = a + r * lda + k0;
            float d = 0;
            for (int64_t p = 0; p < len; ++p)
              d += x[p] * codes[p];
            acc[r] += scales[g] * d;
          }
        }
      }
      for (int64_t r = 0; r < m; ++r)
        c[r * ldc + j] = zero ? acc[r] : c[r * ldc + j] + acc[r];
    }
    free(zeros);
    free(scales);
    free(codes);
  }
  free(split);
  free(sums);
}

/* Channels [j0, j0 + cols) decoded into tile[K x NB] (row-major, f32). */
static void decode_tile(const qweight *w, int64_t j0, int64_t cols,
                        float *tile, float *buf) {
  int64_t gl = w->group ? w->group : w->k;
  for (int64_t jj = 0; jj < cols; ++jj)
    for (int64_t g = 0; g < w->groups; ++g) {
      int64_t k0 = g * gl, len = w->k - k0 < gl ? w->k - k0 : gl;
      decode_codes(w, j0 + jj, k0, len, buf);
      float scale, zp;
      params(w, j0 + jj, g, &scale, &zp);
      for (int64_t p = 0; p < len; ++p)
        tile[(k0 + p) * NB + jj] = scale * (buf[p] - zp);
    }
}

void _mlir_ciface_quantc_qmatmul_f32(qc_memref2d_f32 *a, qc_memref1d_i8 *codes,
                                     qc_memref1d_i8 *scales,
                                     qc_memref1d_i8 *zeros, qc_memref2d_f32 *c,
                                     int64_t k, int64_t n, int64_t bits,
                                     int64_t group, int64_t flags) {
  qweight w = {(const uint8_t *)codes->aligned + codes->offset,
               (const uint8_t *)scales->aligned + scales->offset,
               zeros ? (const uint8_t *)zeros->aligned + zeros->offset : NULL,
               k, n, bits, group,
               group ? (k + group - 1) / group : 1,
               (k * bits + 7) / 8, flags};
  int zero = (flags & QC_QMATMUL_INIT) != 0;
  int64_t m = c->sizes[0];
  float *pa = a->aligned + a->offset, *pc = c->aligned + c->offset;
  int64_t lda = a->strides[0], ldc = c->strides[0];
  if (m <= FEW_ROWS) {
    dot_rows(&w, pa, lda, pc, ldc, m, zero);
    return;
  }
  int64_t tiles = (n + NB - 1) / NB;
#pragma omp parallel
  {
    float *tile = aligned_alloc(64, sizeof(float) * (size_t)(k * NB) + 64);
    float *buf = malloc(sizeof(float) * (size_t)(group ? group : k));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      int64_t j0 = t * NB, cols = n - j0 < NB ? n - j0 : NB;
      decode_tile(&w, j0, cols, tile, buf);
      /* The f32 microkernel on this tile (serial: already in a thread). */
      qc_memref3d_f32 va = {pa, pa, 0, {1, m, k}, {m * lda, lda, 1}};
      qc_memref3d_f32 vb = {tile, tile, 0, {1, k, cols}, {k * NB, NB, 1}};
      qc_memref3d_f32 vc = {pc, pc, j0, {1, m, cols}, {m * ldc, ldc, 1}};
      _mlir_ciface_quantc_matmul_f32(&va, &vb, &vc, zero ? QC_MATMUL_INIT : 0);
    }
    free(buf);
    free(tile);
  }
}
