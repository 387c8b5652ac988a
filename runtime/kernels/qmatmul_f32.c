/*===- qmatmul_f32.c - f32 activations x quantized weights ---------------===*
 *
 * The weight stays packed (qc.qconstant's layout: one row of K codes per
 * output channel; integer, NF4/FP4 or FP8 codes). Few rows (decode): on
 * AVX-512, channels go in tiles of 16/m, 4-bit codes picking their weights
 * from a per-group table and FP8 codes widened to f32 bit patterns (f32
 * activations) or dotted as int8 with VNNI (QC_QMATMUL_INT8_ACT); other
 * cases decode each channel's codes a group at a time into a small buffer
 * dotted with the activations, the zero point folded out through per-group
 * sums of the activations. Many rows (prefill): panels of channels are
 * dequantized (vectorized, threads split the channels) and multiplied by
 * the threaded f32 microkernel as a transposed B; no step holds the whole
 * matrix in f32.
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"
#include "stored_scale.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NB 64 /* fewest channels in a dequantized panel (prefill) */
#define PANEL_FLOATS (2 << 20) /* most floats in one (8 MiB) */
#define FEW_ROWS 8 /* rows up to which channels are dotted directly */

/* At least `bytes`, 64-byte aligned (C11's aligned_alloc wants a size that
 * is a multiple of the alignment). */
static void *alloc64(size_t bytes) {
  return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

typedef struct {
  const uint8_t *codes, *scales, *zeros;
  const float *table;       /* QC_QMATMUL_CODEBOOK: 2^bits values */
  const float *scaleParams; /* QC_QMATMUL_DOUBLE_QUANT: (step, offset) */
  int64_t k, n, bits, group, groups, rowBytes, scaleBlock, flags;
} qweight;

/* Codes that are integers (the int8 and nibble paths read them as such). */
static int integer_codes(const qweight *w) {
  return !(w->flags & (QC_QMATMUL_CODEBOOK | QC_QMATMUL_FP8_E4M3 |
                       QC_QMATMUL_FP8_E5M2));
}

/* Mantissa bits of FP8 codes (3 for E4M3, 2 for E5M2), 0 for others. */
static int fp8_mantissa(const qweight *w) {
  return (w->flags & QC_QMATMUL_FP8_E4M3)   ? 3
         : (w->flags & QC_QMATMUL_FP8_E5M2) ? 2
                                            : 0;
}

/* FP8 code -> f32: the 7 magnitude bits placed under f32's exponent (E4M3:
 * shifted by 20, E5M2 by 21) read 2^(bias - 127) times the value, for
 * subnormal codes too (f32 subnormals then); the caller multiplies by
 * fp8_unit. */
static inline float fp8_scaled(uint32_t code, int mantissa) {
  uint32_t bits = ((code & 0x7F) << (23 - mantissa)) | ((code & 0x80) << 24);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}
static float fp8_unit(int mantissa) {
  return mantissa == 3 ? 0x1p120f : 0x1p112f; /* 2^(127 - bias) */
}

/* x rounded to a half (ties to even), saturated at +-65504 as the
 * reference numerics round stored scales. */
static float round_to_half(float x) {
  if (fabsf(x) >= 65504.0f)
    return copysignf(65504.0f, x);
  int e;
  frexpf(x, &e); /* |x| in [2^(e-1), 2^e) */
  if (e < -13)
    e = -13; /* subnormal halves: a fixed step of 2^-24 */
  float step = ldexpf(1.0f, e - 11);
  return nearbyintf(x / step) * step; /* exact: step is a power of two */
}

/* x rounded to a bf16 (ties to even). */
static float round_to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000u;
  memcpy(&x, &u, 4);
  return x;
}

static float scale_at(const qweight *w, int64_t i) {
  if (w->flags & QC_QMATMUL_DOUBLE_QUANT) {
    const float *p = w->scaleParams + 2 * (i / w->scaleBlock);
    float s = p[1] + (float)w->scales[i] * p[0];
    return (w->flags & QC_QMATMUL_SCALE_F16)    ? round_to_half(s)
           : (w->flags & QC_QMATMUL_SCALE_BF16) ? round_to_bf16(s)
                                                : s;
  }
  return stored_scale(w->scales, i, w->flags);
}

/* Codes [k0, k0 + len) of channel j as floats (signed for symmetric; the
 * values table and FP8 codes stand for). */
static void decode_codes(const qweight *w, int64_t j, int64_t k0, int64_t len,
                         float *out) {
  const uint8_t *row = w->codes + j * w->rowBytes;
  int64_t bits = w->bits;
  int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  uint32_t mask = (1u << bits) - 1, sign = 1u << (bits - 1);
  int mantissa = fp8_mantissa(w);
  if (mantissa) {
    float unit = fp8_unit(mantissa);
    for (int64_t i = 0; i < len; ++i)
      out[i] = fp8_scaled(row[k0 + i], mantissa) * unit;
    return;
  }
  if (w->flags & QC_QMATMUL_CODEBOOK) {
    for (int64_t i = 0; i < len; ++i) {
      int64_t bit = (k0 + i) * bits;
      uint32_t word = row[bit >> 3];
      if ((bit & 7) + bits > 8)
        word |= (uint32_t)row[(bit >> 3) + 1] << 8;
      out[i] = w->table[(word >> (bit & 7)) & mask];
    }
    return;
  }
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
 * scale_g * sum_i x[i] code[i] (codes unsigned, or signed when symmetric;
 * FP8 bit patterns when `mantissa` (their bits) is not 0: read as
 * fp8_scaled values, the scale then carries fp8_unit). */
#define DEFINE_DOT_Q8(NAME, ATTR, LANES, WIDEN_U, WIDEN_S)                     \
  typedef float NAME##_vf __attribute__((vector_size(4 * LANES)));             \
  typedef int32_t NAME##_vi __attribute__((vector_size(4 * LANES)));           \
  ATTR static float NAME(const uint8_t *b, const float *x, int64_t k,          \
                         int64_t group, const float *scales, int symmetric,    \
                         int mantissa) {                                       \
    NAME##_vf total = {0};                                                     \
    float tail = 0, unit = mantissa ? fp8_unit(mantissa) : 1.0f;               \
    const int32_t magnitudeMask =                                              \
        (int32_t)(0x80000000u | (0x7Fu << (23 - (mantissa ? mantissa : 3))));  \
    for (int64_t g0 = 0, g = 0; g0 < k; g0 += group, ++g) {                    \
      int64_t end = g0 + group < k ? g0 + group : k, i = g0;                   \
      NAME##_vf acc = {0};                                                     \
      if (mantissa) {                                                          \
        for (; i + LANES <= end; i += LANES) {                                 \
          /* The sign to bit 31, the magnitude to 20 + ...: fp8_scaled. */   \
          NAME##_vi c = (NAME##_vi)WIDEN_U(b + i) << 24;                       \
          NAME##_vi bitsV = (c >> (mantissa == 3 ? 4 : 3)) & magnitudeMask;    \
          NAME##_vf xv, cv;                                                    \
          memcpy(&cv, &bitsV, sizeof cv);                                      \
          memcpy(&xv, x + i, sizeof xv);                                       \
          acc += xv * cv;                                                      \
        }                                                                      \
      } else {                                                                 \
        for (; i + LANES <= end; i += LANES) {                                 \
          NAME##_vf xv, cv = symmetric                                         \
                                 ? __builtin_convertvector(WIDEN_S(b + i),     \
                                                           NAME##_vf)          \
                                 : __builtin_convertvector(WIDEN_U(b + i),     \
                                                           NAME##_vf);         \
          memcpy(&xv, x + i, sizeof xv);                                       \
          acc += xv * cv;                                                      \
        }                                                                      \
      }                                                                        \
      total += acc * (scales[g] * unit);                                       \
      for (; i < end; ++i)                                                     \
        tail += scales[g] * x[i] *                                             \
                (mantissa    ? fp8_scaled(b[i], mantissa) * unit               \
                 : symmetric ? (float)(int8_t)b[i]                             \
                             : (float)b[i]);                                   \
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
                           const float *, int, int);

typedef float (*dot_q4_fn)(const uint8_t *, const float *, const float *,
                           int64_t, int64_t, const float *, int);

/* The group parameters of channel j: scale and zero point. */
static void params(const qweight *w, int64_t j, int64_t g, float *scale,
                   float *zero) {
  int64_t i = j * w->groups + g;
  *scale = scale_at(w, i);
  *zero = (w->flags & QC_QMATMUL_SYMMETRIC) ? 0.0f : (float)w->zeros[i];
}

/* Channel j's K weights as f32 (scale * (code - zero)) into out[K]: 4- and
 * 8-bit codes in loops the compiler vectorizes (built per instruction set),
 * other widths through decode_codes. */
#define DEFINE_DEQUANTIZE(NAME, ATTR)                                          \
  ATTR static void NAME(const qweight *w, int64_t j, float *out, float *buf) { \
    int64_t gl = w->group ? w->group : w->k;                                   \
    const uint8_t *row = w->codes + j * w->rowBytes;                           \
    int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;                    \
    for (int64_t g = 0; g < w->groups; ++g) {                                  \
      int64_t k0 = g * gl, len = w->k - k0 < gl ? w->k - k0 : gl;             \
      float s, z;                                                              \
      params(w, j, g, &s, &z);                                                 \
      float *o = out + k0;                                                     \
      if (integer_codes(w) && w->bits == 4 && k0 % 2 == 0 && len % 2 == 0) {   \
        const uint8_t *b = row + k0 / 2;                                       \
        int32_t flip = symmetric ? 8 : 0;                                      \
        float zero = symmetric ? 8.0f : z;                                     \
        for (int64_t i = 0; i < len / 2; ++i) {                                \
          o[2 * i] = s * ((float)((b[i] & 15) ^ flip) - zero);                 \
          o[2 * i + 1] = s * ((float)((b[i] >> 4) ^ flip) - zero);             \
        }                                                                      \
      } else if (integer_codes(w) && w->bits == 8) {                           \
        const uint8_t *b = row + k0;                                           \
        int32_t flip = symmetric ? 128 : 0;                                    \
        float zero = symmetric ? 128.0f : z;                                   \
        for (int64_t i = 0; i < len; ++i)                                      \
          o[i] = s * ((float)(b[i] ^ flip) - zero);                            \
      } else {                                                                 \
        decode_codes(w, j, k0, len, buf);                                      \
        for (int64_t p = 0; p < len; ++p)                                      \
          o[p] = s * (buf[p] - z);                                             \
      }                                                                        \
    }                                                                          \
  }
DEFINE_DEQUANTIZE(dequantize_avx512, __attribute__((target("avx512f,avx512bw"))))
DEFINE_DEQUANTIZE(dequantize_avx2, __attribute__((target("avx2,fma"))))
DEFINE_DEQUANTIZE(dequantize_generic, )

typedef void (*dequantize_fn)(const qweight *, int64_t, float *, float *);

/* The kernels of one instruction set, chosen as the f32 kernel's are (and
 * with its override). */
typedef struct {
  dot_q4_fn dot4;
  dot_q8_fn dot8;
  dequantize_fn dequantize;
  int avx512; /* the tiled decode paths below may run */
} isa_kernels;

static const isa_kernels *kernels_for_isa(void) {
  static const isa_kernels k512 = {dot_q4_avx512, dot_q8_avx512,
                                   dequantize_avx512, 1},
                           k2 = {dot_q4_avx2, dot_q8_avx2, dequantize_avx2, 0},
                           generic = {dot_q4_generic, dot_q8_generic,
                                      dequantize_generic, 0};
  static const isa_kernels *chosen;
  if (!chosen) {
    const char *isa = quantc_matmul_isa();
    chosen = strcmp(isa, "avx512f") == 0    ? &k512
             : strcmp(isa, "avx2+fma") == 0 ? &k2
                                            : &generic;
  }
  return chosen;
}

/* Row x (k elements) as its k/2 even elements, then its k/2 odd ones: the
 * low and high nibbles of 4-bit code bytes. */
static void split_row(const float *x, int64_t k, float *out) {
  for (int64_t p = 0; p < k; ++p)
    out[(p & 1) * (k / 2) + p / 2] = x[p];
}

/* Few rows: y[r, j] = sum_g scale * (x_g . codes_g - zero * sum(x_g)).
 * 4-bit codes are dotted in place against the rows split into even and odd
 * elements, 8-bit ones against the rows; other widths are decoded a group
 * at a time first. */
static void dot_rows(const qweight *w, const float *a, int64_t lda,
                     float *c, int64_t ldc, int64_t m, int zero) {
  int64_t gl = w->group ? w->group : w->k;
  int nibbles =
      integer_codes(w) && w->bits == 4 && w->k % 2 == 0 && gl % 2 == 0;
  int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  int bytes = w->bits == 8 && !(w->flags & QC_QMATMUL_CODEBOOK);
  dot_q4_fn dot = kernels_for_isa()->dot4;
  dot_q8_fn dot8 = kernels_for_isa()->dot8;
  float *sums = malloc(sizeof(float) * (size_t)(m * w->groups));
  float *split = nibbles ? malloc(sizeof(float) * (size_t)(m * w->k)) : NULL;
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t g = 0; g < w->groups; ++g) {
      float s = 0;
      for (int64_t p = g * gl; p < (g + 1) * gl && p < w->k; ++p)
        s += a[r * lda + p];
      sums[r * w->groups + g] = s;
    }
    if (nibbles)
      split_row(a + r * lda, w->k, split + r * w->k);
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
      } else if (bytes) {
        for (int64_t r = 0; r < m; ++r)
          acc[r] += dot8(row, a + r * lda, w->k, gl, scales, symmetric,
                         fp8_mantissa(w));
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

/*===- int8 activations: AVX-512 VNNI (QC_QMATMUL_INT8_ACT) ------------===*
 * Each row is quantized to int8 per block of 128 elements (scale
 * max|x|/127; for 4-bit codes the block's 64 even elements come first,
 * then its 64 odd ones, matching the low and high nibbles of its 64 code
 * bytes). A block's codes (unsigned; symmetric ones with the sign bit
 * flipped, i.e. zero point 2^(bits-1)) dot the row's int8 values with
 * vpdpbusd, 64 products an instruction:
 *   y = sum_blocks s_w s_x (codes . xq - z sum(xq)).
 * Channels go in tiles of up to 16 (rows x channels <= 16 accumulators):
 * one transposing reduction, one vector of scales and one of zero-point
 * corrections serve a whole tile, so a small layer (K = 384: three
 * blocks a channel) is not bound by per-channel overhead.
 *===----------------------------------------------------------------------===*/

#define XBLOCK 128
#define TILE 16 /* lanes of a vector: channels x rows of one tile */

/* Channels j0 .. j0+T-1 of `w` against prepared rows (their scales and
 * zero points as tile_params gives them): out[r*T + t], row r, channel
 * j0 + t. */
typedef void (*tile_fn)(const qweight *w, int64_t j0, int T, const void *rows,
                        const float *scales, const float *zeros, float *out);

/* Rows as int8 blocks: codes, each block's scale, and per row and group
 * the sum over its blocks of scale * sum(codes). */
typedef struct {
  const int8_t *xq;
  const float *xs, *zx;
} int8_rows;

static int vnni_usable(const qweight *w, int64_t m) {
  static int cpu = -1;
  if (cpu < 0)
    cpu = kernels_for_isa()->avx512 && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vnni");
  int64_t gl = w->group ? w->group : w->k;
  return cpu && (w->flags & QC_QMATMUL_INT8_ACT) && integer_codes(w) &&
         m <= FEW_ROWS && (w->bits == 4 || w->bits == 8) &&
         w->k % XBLOCK == 0 &&
         gl % XBLOCK == 0;
}

/* Row x as int8 blocks `q`, with each block's scale and sum of values
 * (x * 127/max|x| rounded to nearest even, as lrintf would). */
__attribute__((target("avx512f,avx512bw"))) static void
quantize_row(const float *x, int64_t k, int split, int8_t *q, float *scale,
             int32_t *sum) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30),
                odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t b = 0; b < k / XBLOCK; ++b) {
    __m512 v[8], top = _mm512_setzero_ps();
    for (int i = 0; i < 8; ++i) {
      v[i] = _mm512_loadu_ps(x + b * XBLOCK + 16 * i);
      top = _mm512_max_ps(top, _mm512_abs_ps(v[i]));
    }
    float t = _mm512_reduce_max_ps(top);
    __m512 inv = _mm512_set1_ps(t > 0 ? 127.0f / t : 0.0f);
    __m512i iv[8], total = _mm512_setzero_si512();
    for (int i = 0; i < 8; ++i) {
      iv[i] = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], inv));
      total = _mm512_add_epi32(total, iv[i]);
    }
    int8_t *qb = q + b * XBLOCK;
    for (int i = 0; i < 4; ++i) {
      if (split) { /* elements 32i.. : evens to 16i, odds to 64 + 16i */
        _mm_storeu_si128((__m128i *)(qb + 16 * i),
                         _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(
                             iv[2 * i], even, iv[2 * i + 1])));
        _mm_storeu_si128((__m128i *)(qb + 64 + 16 * i),
                         _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(
                             iv[2 * i], odd, iv[2 * i + 1])));
      } else {
        _mm_storeu_si128((__m128i *)(qb + 32 * i), _mm512_cvtepi32_epi8(iv[2 * i]));
        _mm_storeu_si128((__m128i *)(qb + 32 * i + 16),
                         _mm512_cvtepi32_epi8(iv[2 * i + 1]));
      }
    }
    scale[b] = t / 127.0f;
    sum[b] = _mm512_reduce_add_epi32(total);
  }
}

/* Lane i of the result: the sum of v[i]'s 16 lanes. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
reduce16(const __m512 v[TILE]) {
  __m512 u[8], w[4], x[2];
  for (int i = 0; i < 8; ++i) /* per 128 bits: v2i 0+2, v2i+1 0+2, 1+3, 1+3 */
    u[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                         _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i) /* per 128 bits: v4i .. v4i+3 */
    w[i] = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[2 * i]),
                                            _mm512_castps_pd(u[2 * i + 1]))),
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[2 * i]),
                                            _mm512_castps_pd(u[2 * i + 1]))));
  for (int i = 0; i < 2; ++i) /* 128-bit quarters 0+1 and 2+3 */
    x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88),
                       _mm512_shuffle_f32x4(x[0], x[1], 0xdd));
}

/* Double-quantized scales [i0, i0 + 16) (lanes past the end zero), as
 * scale_at decodes them; one (step, offset) pair where the 16 share a block
 * (the usual case), else per lane. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static __m512
decode_scales16(const qweight *w, int64_t i0, __mmask16 lanes) {
  int64_t b0 = i0 / w->scaleBlock,
          b1 = (i0 + __builtin_popcount(lanes) - 1) / w->scaleBlock;
  __m512 codes = _mm512_cvtepi32_ps(
      _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(lanes, w->scales + i0)));
  __m512 step, offset;
  if (b0 == b1) {
    step = _mm512_set1_ps(w->scaleParams[2 * b0]);
    offset = _mm512_set1_ps(w->scaleParams[2 * b0 + 1]);
  } else {
    float st[16], of[16];
    for (int l = 0; l < 16; ++l) {
      int64_t b = (i0 + l) / w->scaleBlock;
      b = b < b1 ? b : b1; /* lanes past the end: the last block's */
      st[l] = w->scaleParams[2 * b];
      of[l] = w->scaleParams[2 * b + 1];
    }
    step = _mm512_loadu_ps(st);
    offset = _mm512_loadu_ps(of);
  }
  /* offset + code * step: two roundings, as the reference (no FMA). */
  __m512 s = _mm512_add_ps(offset, _mm512_mul_ps(codes, step));
  if (w->flags & QC_QMATMUL_SCALE_F16) {
    s = _mm512_min_ps(_mm512_max_ps(s, _mm512_set1_ps(-65504.0f)),
                      _mm512_set1_ps(65504.0f));
    s = _mm512_cvtph_ps(_mm512_cvtps_ph(s, _MM_FROUND_TO_NEAREST_INT));
  } else if (w->flags & QC_QMATMUL_SCALE_BF16) {
    __m512i u = _mm512_castps_si512(s);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), odd);
    s = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xFFFF0000u)));
  }
  return _mm512_maskz_mov_ps(lanes, s);
}

/* Scales and zero points of channels j0 .. j0+T-1 as floats, [channel]
 * [group] as stored, 16 at a time (symmetric codes: the flipped sign bit's
 * zero point 2^(bits-1)). */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
tile_params(const qweight *w, int64_t j0, int T, float *scales, float *zeros) {
  const int64_t count = T * w->groups, first = j0 * w->groups;
  const int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  for (int64_t i = 0; i < count; i += 16) {
    __mmask16 lanes = count - i >= 16 ? 0xffff : (__mmask16)((1u << (count - i)) - 1);
    __m512 s;
    if (w->flags & QC_QMATMUL_DOUBLE_QUANT)
      s = decode_scales16(w, first + i, lanes);
    else if (w->flags & QC_QMATMUL_SCALE_F16)
      s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, w->scales + 2 * (first + i)));
    else if (w->flags & QC_QMATMUL_SCALE_BF16)
      s = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(
          _mm256_maskz_loadu_epi16(lanes, w->scales + 2 * (first + i))), 16));
    else
      s = _mm512_maskz_loadu_ps(lanes, w->scales + 4 * (first + i));
    __m512 z = symmetric
                   ? _mm512_set1_ps((float)(1 << (w->bits - 1)))
                   : _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                         _mm_maskz_loadu_epi8(lanes, w->zeros + first + i)));
    _mm512_mask_storeu_ps(scales + i, lanes, s);
    _mm512_mask_storeu_ps(zeros + i, lanes, z);
  }
}

/* Channels j0 .. j0+T-1 against M rows (constants where inlined, so that
 * the M x T accumulators stay in registers); out[r*T + t] gets row r,
 * channel j0 + t. */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
dot_vnni_tile(const qweight *w, int64_t j0, const int8_rows *rows,
              const float *scales, const float *zeros, float *out,
              const int M, const int T) {
  const int8_t *xq = rows->xq;
  const float *xs = rows->xs, *zx = rows->zx;
  const int64_t blocks = w->k / XBLOCK,
                perGroup = (w->group ? w->group : w->k) / XBLOCK,
                step = w->bits == 4 ? 64 : 128;
  const __m512i nibble = _mm512_set1_epi8(15);
  const __m512i flip = _mm512_set1_epi8(w->bits == 4 ? (char)0x88 : (char)0x80);
  const int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  __m512 acc[TILE];
#pragma GCC unroll 16
  for (int i = 0; i < TILE; ++i)
    acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t g = b / perGroup;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const uint8_t *codes = w->codes + (j0 + t) * w->rowBytes + b * step;
      /* The same codes of the next tile: hardware prefetchers follow few
       * of a tile's T interleaved streams and stop at page ends; reading a
       * tile ahead keeps enough misses in flight to stream at memory speed
       * (4 KiB ahead, right for one channel at a time, lands in this
       * tile). */
      _mm_prefetch((const char *)codes + T * w->rowBytes, _MM_HINT_T0);
      __m512i c0, c1;
      if (w->bits == 4) {
        __m512i v = _mm512_loadu_si512(codes);
        if (symmetric)
          v = _mm512_xor_si512(v, flip);
        c0 = _mm512_and_si512(v, nibble);
        c1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
      } else {
        c0 = _mm512_loadu_si512(codes);
        c1 = _mm512_loadu_si512(codes + 64);
        if (symmetric) {
          c0 = _mm512_xor_si512(c0, flip);
          c1 = _mm512_xor_si512(c1, flip);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {
        const int8_t *x = xq + r * w->k + b * XBLOCK;
        __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), c0,
                                          _mm512_loadu_si512(x));
        dot = _mm512_dpbusd_epi32(dot, c1, _mm512_loadu_si512(x + 64));
        acc[r * T + t] = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(dot),
            _mm512_set1_ps(scales[t * w->groups + g] * xs[r * blocks + b]),
            acc[r * T + t]);
      }
    }
  }
  /* The zero points' share: sum_g s_w z sum_{b in g} s_x sum(xq_b). */
  float sums[TILE];
  _mm512_storeu_ps(sums, reduce16(acc));
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < T; ++t) {
      float corr = 0;
      for (int64_t g = 0; g < w->groups; ++g)
        corr += scales[t * w->groups + g] * zeros[t * w->groups + g] *
                zx[r * w->groups + g];
      out[r * T + t] = sums[r * T + t] - corr;
    }
}

/* Per row count M (1..8): NAME_M runs a whole tile of T = TILE / M channels
 * through BODY, or one channel (the last few); NAME_by_rows lists them. */
#define TILE_KERNEL(NAME, BODY, ATTR, M)                                       \
  ATTR static void NAME##_##M(const qweight *w, int64_t j0, int T,             \
                              const void *rows, const float *scales,           \
                              const float *zeros, float *out) {                \
    if (T == TILE / M)                                                         \
      BODY(w, j0, rows, scales, zeros, out, M, TILE / M);                      \
    else                                                                       \
      BODY(w, j0, rows, scales, zeros, out, M, 1);                             \
  }
#define TILE_KERNELS(NAME, BODY, ATTR)                                         \
  TILE_KERNEL(NAME, BODY, ATTR, 1)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 2)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 3)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 4)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 5)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 6)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 7)                                             \
  TILE_KERNEL(NAME, BODY, ATTR, 8)                                             \
  static const tile_fn NAME##_by_rows[FEW_ROWS] = {                            \
      NAME##_1, NAME##_2, NAME##_3, NAME##_4,                                  \
      NAME##_5, NAME##_6, NAME##_7, NAME##_8};

TILE_KERNELS(dot_vnni, dot_vnni_tile,
             __attribute__((target("avx512f,avx512bw,avx512vnni"))))

/* The channels in tiles of TILE / m (a short last tile a channel at a
 * time), threads splitting the tiles when the codes are large enough to
 * pay for starting them; `dot` writes a tile's products, which go to C. */
static void over_tiles(const qweight *w, int64_t m, tile_fn dot,
                       const void *rows, float *c, int64_t ldc, int zero) {
  const int64_t tile = TILE / m, tiles = (w->n + tile - 1) / tile;
#pragma omp parallel if (w->n * w->rowBytes > 65536)
  {
    float *scales = malloc(sizeof(float) * TILE * (size_t)w->groups);
    float *zeros = malloc(sizeof(float) * TILE * (size_t)w->groups);
    float out[TILE];
#pragma omp for schedule(static)
    for (int64_t i = 0; i < tiles; ++i) {
      int64_t j0 = i * tile;
      int T = (int)(w->n - j0 < tile ? w->n - j0 : tile);
      for (int64_t j = j0; j < j0 + T; j += T == tile ? tile : 1) {
        int count = T == tile ? T : 1;
        tile_params(w, j, count, scales, zeros);
        dot(w, j, count, rows, scales, zeros, out);
        for (int64_t r = 0; r < m; ++r)
          for (int t = 0; t < count; ++t)
            c[r * ldc + j + t] = zero ? out[r * count + t]
                                      : c[r * ldc + j + t] + out[r * count + t];
      }
    }
    free(zeros);
    free(scales);
  }
}

static void dot_rows_vnni(const qweight *w, const float *a, int64_t lda,
                          float *c, int64_t ldc, int64_t m, int zero) {
  const int64_t blocks = w->k / XBLOCK, groups = w->groups,
                perGroup = blocks / groups;
  int8_t *xq = alloc64((size_t)(m * w->k));
  float *xs = malloc(sizeof(float) * (size_t)(m * blocks));
  int32_t *xsum = malloc(sizeof(int32_t) * (size_t)(m * blocks));
  float *zx = calloc((size_t)(m * groups), sizeof(float));
  for (int64_t r = 0; r < m; ++r) {
    quantize_row(a + r * lda, w->k, w->bits == 4, xq + r * w->k,
                 xs + r * blocks, xsum + r * blocks);
    for (int64_t b = 0; b < blocks; ++b)
      zx[r * groups + b / perGroup] += xs[r * blocks + b] * xsum[r * blocks + b];
  }
  int8_rows rows = {xq, xs, zx};
  over_tiles(w, m, dot_vnni_by_rows[m - 1], &rows, c, ldc, zero);
  free(zx);
  free(xsum);
  free(xs);
  free(xq);
}

/*===- f32 activations, 4-bit codes: AVX-512 table lookups --------------===*
 * A group's 16 possible weights, scale * (code - zero) or scale * table[code]
 * (NF4, FP4), are one vector; the
 * codes (widened to 32-bit lanes, vpermps reading each lane's low 4 bits)
 * pick from it, so a weight costs no conversion and the zero point needs no
 * correction. Rows are split into even and odd elements (the low and high
 * nibbles of a code byte). Channels go in tiles as with int8 activations.
 *===----------------------------------------------------------------------===*/

static int lut_usable(const qweight *w, int64_t m) {
  int64_t gl = w->group ? w->group : w->k;
  /* Integer codes have a vectorized path for every K (dot_q4), which is
   * faster where the tiles' last group is short; table codes have none. */
  int64_t multiple = integer_codes(w) ? 32 : 2;
  return kernels_for_isa()->avx512 && m <= FEW_ROWS && w->bits == 4 &&
         w->k % multiple == 0 && gl % multiple == 0;
}

/* The weights of a short group's last `left` (< 16) code bytes, low and
 * high nibbles (read through a zeroed copy; out of line, so that the
 * tiles' accumulators stay in registers), and the lanes they fill. */
__attribute__((target("avx512f"), noinline)) static __mmask16
lut_tail(const uint8_t *codes, int64_t left, __m512 lut, __m512 *lo,
         __m512 *hi) {
  uint8_t tail[16] = {0};
  memcpy(tail, codes, (size_t)left);
  __m512i wide = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)tail));
  *lo = _mm512_permutexvar_ps(wide, lut);
  *hi = _mm512_permutexvar_ps(_mm512_srli_epi32(wide, 4), lut);
  return (__mmask16)((1u << left) - 1);
}

/* acc[r*T + t] += the weights of code bytes [0, bytes) (a multiple of 16)
 * of one group, picked from `lut`, times the rows' elements from `at` on
 * (low nibbles) and `at + half` (high). Inlined with `bytes` a constant for
 * the usual group sizes, so the loop unrolls. */
__attribute__((target("avx512f"), always_inline)) static inline void
lut_chunks(const uint8_t *codes, int64_t bytes, __m512 lut, const float *split,
           int64_t k, int64_t at, int64_t half, __m512 *acc, const int M,
           const int T, int t) {
#pragma GCC unroll 4
  for (int64_t i = 0; i < bytes; i += 16) {
    __m512i wide =
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i)));
    __m512 lo = _mm512_permutexvar_ps(wide, lut),
           hi = _mm512_permutexvar_ps(_mm512_srli_epi32(wide, 4), lut);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const float *x = split + r * k + at + i;
      acc[r * T + t] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(x), acc[r * T + t]);
      acc[r * T + t] =
          _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + half), acc[r * T + t]);
    }
  }
}

/* Channels j0 .. j0+T-1 against M split rows; out[r*T + t] gets row r,
 * channel j0 + t. */
__attribute__((target("avx512f"), always_inline)) static inline void
dot_lut_tile(const qweight *w, int64_t j0, const float *split,
             const float *scales, const float *zeros, float *out, const int M,
             const int T) {
  const int64_t half = w->k / 2, groupBytes = (w->group ? w->group : w->k) / 2;
  /* Code values: unsigned, or two's complement nibbles when symmetric
   * (whose zero point then is none: tile_params' 8 is for flipped codes). */
  const int symmetric = (w->flags & QC_QMATMUL_SYMMETRIC) != 0;
  const __m512 values =
      (w->flags & QC_QMATMUL_CODEBOOK)
          ? _mm512_loadu_ps(w->table)
      : symmetric ? _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4,
                                   -3, -2, -1)
                  : _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13, 14, 15);
  __m512 acc[TILE];
#pragma GCC unroll 16
  for (int i = 0; i < TILE; ++i)
    acc[i] = _mm512_setzero_ps();
  for (int64_t g = 0; g < w->groups; ++g) {
    const int prefetchEvery = groupBytes >= 64 || ((g * groupBytes) & 63) == 0;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 scale = _mm512_set1_ps(scales[t * w->groups + g]);
      const __m512 lut =
          symmetric ? _mm512_mul_ps(values, scale)
                    : _mm512_mul_ps(_mm512_sub_ps(values, _mm512_set1_ps(
                                                      zeros[t * w->groups + g])),
                                    scale);
      const uint8_t *codes = w->codes + (j0 + t) * w->rowBytes + g * groupBytes;
      /* The next tile's codes (see dot_vnni_tile), once per cache line. */
      if (prefetchEvery)
        _mm_prefetch((const char *)codes + T * w->rowBytes, _MM_HINT_T0);
      /* The last group may be shorter, and not a multiple of 16 bytes:
       * its tail through a zeroed copy, the rows' lanes past it masked. */
      const int64_t bytes =
          half - g * groupBytes < groupBytes ? half - g * groupBytes
                                             : groupBytes;
      /* Groups of 64 (QLoRA's NF4) and 128 with constant trip counts: a
       * group's table and loop cost much next to 32 code bytes. */
      const int64_t at0 = g * groupBytes;
      if (bytes == 32)
        lut_chunks(codes, 32, lut, split, w->k, at0, half, acc, M, T, t);
      else if (bytes == 64)
        lut_chunks(codes, 64, lut, split, w->k, at0, half, acc, M, T, t);
      else
        lut_chunks(codes, bytes & ~(int64_t)15, lut, split, w->k, at0, half,
                   acc, M, T, t);
      const int64_t i = bytes & ~(int64_t)15;
      if (i < bytes) {
        __m512 lo, hi;
        __mmask16 lanes = lut_tail(codes + i, bytes - i, lut, &lo, &hi);
        const int64_t at = g * groupBytes + i;
        for (int r = 0; r < M; ++r) {
          const float *x = split + r * w->k;
          acc[r * T + t] = _mm512_fmadd_ps(
              lo, _mm512_maskz_loadu_ps(lanes, x + at), acc[r * T + t]);
          acc[r * T + t] = _mm512_fmadd_ps(
              hi, _mm512_maskz_loadu_ps(lanes, x + half + at), acc[r * T + t]);
        }
      }
    }
  }
  _mm512_storeu_ps(out, reduce16(acc));
}

TILE_KERNELS(dot_lut, dot_lut_tile, __attribute__((target("avx512f"))))

static void dot_rows_lut(const qweight *w, const float *a, int64_t lda,
                         float *c, int64_t ldc, int64_t m, int zero) {
  float *split = alloc64(sizeof(float) * (size_t)(m * w->k));
  for (int64_t r = 0; r < m; ++r)
    split_row(a + r * lda, w->k, split + r * w->k);
  over_tiles(w, m, dot_lut_by_rows[m - 1], split, c, ldc, zero);
  free(split);
}

static const void *bytes_of(const qc_memref1d_i8 *m) {
  return m ? (const void *)(m->aligned + m->offset) : NULL;
}

/*===- f32 activations, FP8 codes: AVX-512 tiles ------------------------===*
 * Codes widened to 32-bit lanes become f32 bit patterns in three integer
 * operations (fp8_scaled: shift the byte to the top, shift the magnitude
 * down arithmetically so the sign stays, mask); a group's products are
 * summed unscaled, then scaled once. Channels go in tiles as above.
 *===----------------------------------------------------------------------===*/

static int fp8_tiles_usable(const qweight *w, int64_t m) {
  return kernels_for_isa()->avx512 && m <= FEW_ROWS && fp8_mantissa(w);
}

/* A group's last `left` (< 16) codes as fp8_scaled values (zero past them;
 * out of line, so that the tiles' accumulators stay in registers). */
__attribute__((target("avx512f"), noinline)) static __m512
fp8_tail(const uint8_t *codes, int64_t left, int shift, __m512i mask) {
  uint8_t tail[16] = {0};
  memcpy(tail, codes, (size_t)left);
  __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)tail));
  v = _mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(v, 24), shift),
                       mask);
  return _mm512_castsi512_ps(v);
}

/* Channels j0 .. j0+T-1 against M rows (contiguous, K apart); out[r*T + t]
 * gets row r, channel j0 + t. */
__attribute__((target("avx512f"), always_inline)) static inline void
dot_fp8_tile(const qweight *w, int64_t j0, const float *x,
             const float *scales, const float *zeros, float *out, const int M,
             const int T) {
  (void)zeros;
  const int64_t gl = w->group ? w->group : w->k;
  const int mantissa = fp8_mantissa(w), shift = mantissa == 3 ? 4 : 3;
  const __m512i mask =
      _mm512_set1_epi32((int)(0x80000000u | (0x7Fu << (23 - mantissa))));
  const float unit = fp8_unit(mantissa);
  __m512 acc[TILE];
#pragma GCC unroll 16
  for (int i = 0; i < TILE; ++i)
    acc[i] = _mm512_setzero_ps();
  for (int64_t g = 0; g < w->groups; ++g) {
    const int64_t k0 = g * gl, len = w->k - k0 < gl ? w->k - k0 : gl;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const uint8_t *codes = w->codes + (j0 + t) * w->rowBytes + k0;
      _mm_prefetch((const char *)codes + T * w->rowBytes, _MM_HINT_T0);
      __m512 part[FEW_ROWS];
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r)
        part[r] = _mm512_setzero_ps();
      int64_t i = 0;
      for (; i + 16 <= len; i += 16) {
        __m512i v = _mm512_cvtepu8_epi32(
            _mm_loadu_si128((const __m128i *)(codes + i)));
        __m512 wv = _mm512_castsi512_ps(_mm512_and_si512(
            _mm512_srai_epi32(_mm512_slli_epi32(v, 24), shift), mask));
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r)
          part[r] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + r * w->k + k0 + i),
                                    part[r]);
      }
      if (i < len) {
        __mmask16 lanes = (__mmask16)((1u << (len - i)) - 1);
        __m512 wv = fp8_tail(codes + i, len - i, shift, mask);
        for (int r = 0; r < M; ++r)
          part[r] = _mm512_fmadd_ps(
              wv, _mm512_maskz_loadu_ps(lanes, x + r * w->k + k0 + i), part[r]);
      }
      const __m512 scale = _mm512_set1_ps(scales[t * w->groups + g] * unit);
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r)
        acc[r * T + t] = _mm512_fmadd_ps(part[r], scale, acc[r * T + t]);
    }
  }
  _mm512_storeu_ps(out, reduce16(acc));
}

TILE_KERNELS(dot_fp8, dot_fp8_tile, __attribute__((target("avx512f"))))

static void dot_rows_fp8(const qweight *w, const float *a, int64_t lda,
                         float *c, int64_t ldc, int64_t m, int zero) {
  float *rows = alloc64(sizeof(float) * (size_t)(m * w->k));
  for (int64_t r = 0; r < m; ++r)
    memcpy(rows + r * w->k, a + r * lda, sizeof(float) * (size_t)w->k);
  over_tiles(w, m, dot_fp8_by_rows[m - 1], rows, c, ldc, zero);
  free(rows);
}

void _mlir_ciface_quantc_qmatmul_f32(
    qc_memref2d_f32 *a, qc_memref1d_i8 *codes, qc_memref1d_i8 *scales,
    qc_memref1d_i8 *zeros, qc_memref1d_i8 *table, qc_memref1d_i8 *scaleParams,
    qc_memref2d_f32 *c, int64_t k, int64_t n, int64_t bits, int64_t group,
    int64_t scaleBlock, int64_t flags) {
  qweight w = {bytes_of(codes),
               bytes_of(scales),
               bytes_of(zeros),
               bytes_of(table),
               bytes_of(scaleParams),
               k,
               n,
               bits,
               group,
               group ? (k + group - 1) / group : 1,
               (k * bits + 7) / 8,
               scaleBlock,
               flags};
  int zero = (flags & QC_QMATMUL_INIT) != 0;
  int64_t m = c->sizes[0];
  float *pa = a->aligned + a->offset, *pc = c->aligned + c->offset;
  int64_t lda = a->strides[0], ldc = c->strides[0];
  if (vnni_usable(&w, m)) {
    dot_rows_vnni(&w, pa, lda, pc, ldc, m, zero);
    return;
  }
  if (lut_usable(&w, m)) {
    dot_rows_lut(&w, pa, lda, pc, ldc, m, zero);
    return;
  }
  if (fp8_tiles_usable(&w, m)) {
    dot_rows_fp8(&w, pa, lda, pc, ldc, m, zero);
    return;
  }
  if (m <= FEW_ROWS) {
    dot_rows(&w, pa, lda, pc, ldc, m, zero);
    return;
  }
  /* Many rows: panels of channels dequantized (threads split the
   * channels; each channel's codes are contiguous) into a panel x K
   * buffer of at most PANEL_FLOATS, which the threaded f32 microkernel then
   * reads as a transposed B. The matrix is never whole in f32. */
  int64_t panel = PANEL_FLOATS / k;
  panel = panel < NB ? NB : panel > n ? n : panel;
  float *tile = alloc64(sizeof(float) * (size_t)(k * panel) + 64);
  dequantize_fn dequantize = kernels_for_isa()->dequantize;
  for (int64_t j0 = 0; j0 < n; j0 += panel) {
    int64_t cols = n - j0 < panel ? n - j0 : panel;
#pragma omp parallel if (cols * k > 32768)
    {
      float *buf = malloc(sizeof(float) * (size_t)(group ? group : k));
#pragma omp for schedule(static)
      for (int64_t jj = 0; jj < cols; ++jj)
        dequantize(&w, j0 + jj, tile + jj * k, buf);
      free(buf);
    }
    qc_memref3d_f32 va = {pa, pa, 0, {1, m, k}, {m * lda, lda, 1}};
    qc_memref3d_f32 vb = {tile, tile, 0, {1, cols, k}, {cols * k, k, 1}};
    qc_memref3d_f32 vc = {pc, pc, j0, {1, m, cols}, {m * ldc, ldc, 1}};
    _mlir_ciface_quantc_matmul_f32(
        &va, &vb, &vc, (zero ? QC_MATMUL_INIT : 0) | QC_MATMUL_TRANSPOSED_B);
  }
  free(tile);
}
