/*===- qmatmul_i8.c - int8 activations x int8 weights (W8A8) ---------------===*
 *
 * y[r, j] = s_x[r] s_w[j] sum_k q_x[r, k] (q_w[j, k] - z_j): the rows are
 * quantized to int8 here (per row with scale max|x|/127, or with one static
 * scale, clamped to [-128, 127]), the products summed exactly in int32 and
 * the two scales applied once at the end. Weight codes are 8-bit, one scale
 * (and zero point) per channel, in qc.qconstant's layout; symmetric codes
 * are two's complement and are dotted as unsigned with the sign bit flipped
 * (zero point 128), which is what vpdpbusd (unsigned x signed) wants.
 *
 * LLM.int8() (quantc_qmatmul_i8_split): listed input columns stay in f32;
 * rows are quantized without them, the columns' product with their f32
 * weights goes through quantc's f32 GEMM first, and is added where each
 * output is written.
 *
 * On AVX-512 VNNI: few rows (decode) dot each channel's codes in place;
 * many rows (prefill) first pack panels of 32 channels as [K/4][32][4] so
 * that a 4-byte broadcast of a row meets 16 channels in one vpdpbusd, with
 * 8 x 32 int32 accumulators in registers. On AVX2: tiles of 2 rows x 4
 * channels, 16 exact products a vpmaddwd. Elsewhere a
 * portable loop gives the same integers.
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"
#include "stored_scale.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define MR 8   /* rows of a GEMM micro-tile */
#define NR 32  /* channels of a packed panel (two vectors of 16) */
#define FEW 8  /* rows up to which channels are dotted in place */

typedef struct {
  const uint8_t *codes; /* n rows of k bytes */
  float *scales;        /* n, as f32 */
  int32_t *zeros;       /* n: 128 for symmetric codes, else the stored byte */
  int64_t k, n;
  int symmetric;
  /* LLM.int8(): the input columns kept in f32 (their product comes from
   * the f32 GEMM, see qmatmul_i8); count 0 without. */
  const int32_t *columns;
  int64_t count;
  /* SmoothQuant's 1/s where nothing before the layer took it: A's column p
   * is multiplied by factors[p] before it is quantized; NULL without. */
  const float *factors;
} weights;

/* Rows of A as int8, each padded with zeros to kp (a multiple of 64), with
 * each row's scale and sum of codes; with f32 columns, their values
 * (m x count), which the codes hold as 0, and their products with the f32
 * weights (m x n), added as each output is written. */
typedef struct {
  int8_t *q;
  float *scale;
  int32_t *sum;
  int64_t kp;
  float *fp, *fp_product;
} int8_rows;


/* Row x's scale: the static one, or max|x| / 127. */
static float row_scale(const float *x, int64_t k, float static_scale) {
  if (static_scale > 0)
    return static_scale;
  float top = 0;
  for (int64_t p = 0; p < k; ++p)
    top = fmaxf(top, fabsf(x[p]));
  return top / 127.0f;
}

/* Row x as codes: round-half-even(x / s) (a division, as the reference
 * lowering divides; x * (1/s) may round differently) plus the zero point
 * z, clamped to [-128, 127], 0 where s is 0; returns their sum. */
static int32_t quantize_row(const float *x, int64_t k, float s, int32_t z,
                            int8_t *q) {
  int32_t sum = 0;
  for (int64_t p = 0; p < k; ++p) {
    float v = s > 0 ? nearbyintf(x[p] / s) + (float)z : 0.0f;
    v = v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v;
    q[p] = (int8_t)v;
    sum += (int32_t)v;
  }
  return sum;
}

/* x[p] * factors[p] rounded to f32, as the scalar path's copy holds it;
 * x itself where factors is NULL. */
__attribute__((target("avx512f"))) static inline __m512
load_scaled(const float *x, const float *factors, int64_t p, __mmask16 lanes) {
  __m512 v = _mm512_maskz_loadu_ps(lanes, x + p);
  return factors ? _mm512_mul_ps(v, _mm512_maskz_loadu_ps(lanes, factors + p))
                 : v;
}

/* The same on AVX-512, 16 elements a step (the division is IEEE's in
 * every lane, the rounding the current mode's: to nearest even). */
__attribute__((target("avx512f,avx512bw"))) static float
row_scale_avx512(const float *x, const float *factors, int64_t k,
                 float static_scale) {
  if (static_scale > 0)
    return static_scale;
  __m512 top = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p += 16) {
    __mmask16 lanes = k - p >= 16 ? 0xffff : (__mmask16)((1u << (k - p)) - 1);
    top = _mm512_max_ps(top, _mm512_abs_ps(load_scaled(x, factors, p, lanes)));
  }
  return _mm512_reduce_max_ps(top) / 127.0f;
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static int32_t
quantize_row_avx512(const float *x, const float *factors, int64_t k, float s,
                    int32_t z, int8_t *q) {
  if (!(s > 0)) {
    memset(q, 0, (size_t)k);
    return 0;
  }
  /* Clamped to [-128 - z, 127 - z] before rounding (integer bounds: the
   * same as after), then z added: round(x / s) + z, not round(x / s + z),
   * whose ties would go the other way for odd z. */
  const __m512 vs = _mm512_set1_ps(s), lo = _mm512_set1_ps(-128.0f - z),
               hi = _mm512_set1_ps(127.0f - z);
  const __m512i vz = _mm512_set1_epi32(z);
  __m512i sum = _mm512_setzero_si512();
  for (int64_t p = 0; p < k; p += 16) {
    __mmask16 lanes = k - p >= 16 ? 0xffff : (__mmask16)((1u << (k - p)) - 1);
    /* With a static scale nothing read the row before: the loads would
     * wait behind the divisions (measured: 5% of W8A8 static prefill). */
    _mm_prefetch((const char *)(x + p + 128), _MM_HINT_T0);
    __m512 v = _mm512_div_ps(load_scaled(x, factors, p, lanes), vs);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    __m512i c = _mm512_add_epi32(_mm512_cvtps_epi32(v), vz); /* nearest even */
    sum = _mm512_add_epi32(sum, _mm512_maskz_mov_epi32(lanes, c));
    _mm_mask_storeu_epi8(q + p, lanes, _mm512_cvtepi32_epi8(c));
  }
  return _mm512_reduce_add_epi32(sum);
}

static int avx512_available(void) {
  return strcmp(quantc_matmul_isa(), "avx512f") == 0 &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}

static void quantize_rows(const float *a, int64_t lda, int64_t m,
                          const weights *w, float static_scale,
                          int32_t static_zero, int8_rows *rows) {
  const int wide = avx512_available();
  const int64_t k = w->k;
#pragma omp parallel if (m * k > 65536)
  {
    /* A thread's copy of a row, times the factors, with the f32 columns 0
     * (before the scale is taken); without either rows are read in place,
     * and the AVX-512 path multiplies by the factors as it reads. */
    float *masked = w->count || (w->factors && !wide)
                        ? malloc(sizeof(float) * (size_t)k)
                        : NULL;
    const float *factors = masked ? NULL : w->factors;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < m; ++r) {
      const float *x = a + r * lda;
      int8_t *q = rows->q + r * rows->kp;
      if (masked) {
        if (w->factors)
          for (int64_t p = 0; p < k; ++p)
            masked[p] = x[p] * w->factors[p];
        else
          memcpy(masked, x, sizeof(float) * (size_t)k);
        x = masked;
        for (int64_t t = 0; t < w->count; ++t) {
          rows->fp[r * w->count + t] = masked[w->columns[t]];
          masked[w->columns[t]] = 0.0f;
        }
      }
      float s = wide ? row_scale_avx512(x, factors, k, static_scale)
                     : row_scale(x, k, static_scale);
      rows->sum[r] = wide
                         ? quantize_row_avx512(x, factors, k, s, static_zero, q)
                         : quantize_row(x, k, s, static_zero, q);
      memset(q + k, 0, (size_t)(rows->kp - k));
      rows->scale[r] = s;
    }
    free(masked);
  }
}

/* The output: c = s_x s_w (dot - z sum(q_x)), plus the f32 columns'
 * product (so the output is written once). */
static inline float finish(const weights *w, const int8_rows *rows, int64_t r,
                           int64_t j, int32_t dot) {
  int64_t exact = (int64_t)dot - (int64_t)w->zeros[j] * rows->sum[r];
  float v = rows->scale[r] * w->scales[j] * (float)exact;
  return w->count ? v + rows->fp_product[r * w->n + j] : v;
}

static void store(float *c, int64_t ldc, int64_t r, int64_t j, float v,
                  int zero) {
  c[r * ldc + j] = zero ? v : c[r * ldc + j] + v;
}

/*===- portable: the same integers on any CPU ---------------------------===*/

/* dot + sum_{p in [from, k)} (codes[p] ^ flip) q[p]: the portable loop, and
 * the vector paths' last k % 16 products. */
static inline int32_t dot_tail(int32_t dot, const uint8_t *codes,
                               const int8_t *q, int64_t from, int64_t k,
                               uint8_t flip) {
  for (int64_t p = from; p < k; ++p)
    dot += (int32_t)(uint8_t)(codes[p] ^ flip) * q[p];
  return dot;
}

static void gemm_generic(const weights *w, const int8_rows *rows, float *c,
                         int64_t ldc, int64_t m, int zero) {
  const uint8_t flip = w->symmetric ? 0x80 : 0;
#pragma omp parallel for schedule(static) if (m * w->n * w->k > 1 << 20)
  for (int64_t j = 0; j < w->n; ++j) {
    const uint8_t *codes = w->codes + j * w->k;
    for (int64_t r = 0; r < m; ++r) {
      int32_t dot = dot_tail(0, codes, rows->q + r * rows->kp, 0, w->k, flip);
      store(c, ldc, r, j, finish(w, rows, r, j, dot), zero);
    }
  }
}

/*===- AVX-512 VNNI ------------------------------------------------------===*/

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* Few rows: channel j's codes (flipped where symmetric) against every row,
 * 64 bytes a vpdpbusd; the tail masked. (Threads are started outside the
 * target-specific functions: clang's outlined parallel regions do not
 * inherit their target attributes.) */
VNNI static void gemv_channel(const weights *w, const int8_rows *rows,
                              float *c, int64_t ldc, int64_t m, int zero,
                              int64_t j) {
  const __m512i flip = _mm512_set1_epi8(w->symmetric ? (char)0x80 : 0);
  const int64_t full = w->k / 64, tail = w->k % 64;
  const __mmask64 tailMask = tail ? (~0ull >> (64 - tail)) : 0;
  const uint8_t *codes = w->codes + j * w->k;
  __m512i acc[FEW];
  for (int r = 0; r < m; ++r)
    acc[r] = _mm512_setzero_si512();
  for (int64_t b = 0; b < full + (tail != 0); ++b) {
    __m512i u = b < full ? _mm512_loadu_si512(codes + 64 * b)
                         : _mm512_maskz_loadu_epi8(tailMask, codes + 64 * b);
    /* Reading ahead across the end of the channel keeps enough misses in
     * flight (as the f32-activation kernel's tiles do). */
    _mm_prefetch((const char *)codes + 64 * b + 4096, _MM_HINT_T0);
    u = _mm512_xor_si512(u, flip);
    if (b == full) /* the flip must not reach the masked-off bytes */
      u = _mm512_maskz_mov_epi8(tailMask, u);
    for (int r = 0; r < m; ++r)
      acc[r] = _mm512_dpbusd_epi32(
          acc[r], u, _mm512_loadu_si512(rows->q + r * rows->kp + 64 * b));
  }
  for (int r = 0; r < m; ++r)
    store(c, ldc, r, j,
          finish(w, rows, r, j, _mm512_reduce_add_epi32(acc[r])), zero);
}

static void gemv_vnni(const weights *w, const int8_rows *rows, float *c,
                      int64_t ldc, int64_t m, int zero) {
#pragma omp parallel for schedule(static) if (w->n * w->k > 65536)
  for (int64_t j = 0; j < w->n; ++j)
    gemv_channel(w, rows, c, ldc, m, zero, j);
}

/* Channels j0 .. j0+NR-1 (zeros past n) packed as [kp/4][NR][4] unsigned
 * bytes, so one 64-byte load holds 4 consecutive k of 16 channels. */
VNNI static void pack_panel(const weights *w, int64_t j0, int64_t kp,
                            uint8_t *panel) {
  const uint8_t flip = w->symmetric ? 0x80 : 0;
  const uint32_t flip4 = flip * 0x01010101u;
  const int64_t whole = w->k / 4;
  memset(panel, 0, (size_t)(kp * NR));
  for (int t = 0; t < NR && j0 + t < w->n; ++t) {
    const uint8_t *codes = w->codes + (j0 + t) * w->k;
    /* A quad of codes a step (the repacking runs on every call). */
    for (int64_t q = 0; q < whole; ++q) {
      uint32_t four;
      memcpy(&four, codes + 4 * q, 4);
      four ^= flip4;
      memcpy(panel + q * NR * 4 + t * 4, &four, 4);
    }
    for (int64_t p = 4 * whole; p < w->k; ++p)
      panel[(p / 4) * NR * 4 + t * 4 + p % 4] = codes[p] ^ flip;
  }
}

/* Rows r0 .. r0+M-1 against a packed panel: M x 32 int32 sums. */
VNNI __attribute__((always_inline)) static inline void
micro_tile(const int8_rows *rows, int64_t r0, const uint8_t *panel,
           int64_t quads, int32_t *out, const int M) {
  __m512i acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  const int8_t *x = rows->q + r0 * rows->kp;
  for (int64_t q = 0; q < quads; ++q) {
    __m512i b0 = _mm512_loadu_si512(panel + q * NR * 4),
            b1 = _mm512_loadu_si512(panel + q * NR * 4 + 64);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      int32_t four;
      memcpy(&four, x + r * rows->kp + 4 * q, 4);
      __m512i a = _mm512_set1_epi32(four);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], b0, a);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], b1, a);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r) {
    _mm512_storeu_si512(out + r * NR, acc[r][0]);
    _mm512_storeu_si512(out + r * NR + 16, acc[r][1]);
  }
}

VNNI static void micro_tile_full(const int8_rows *rows, int64_t r0,
                                 const uint8_t *panel, int64_t quads,
                                 int32_t *out, int M) {
  if (M == MR)
    micro_tile(rows, r0, panel, quads, out, MR);
  else
    for (int r = 0; r < M; ++r)
      micro_tile(rows, r0 + r, panel, quads, out + r * NR, 1);
}

/* finish() and store() for an M x T tile, 16 channels a step: the same
 * arithmetic in the same order (so the same bits), where dot - z_j sum_r
 * cannot leave int32 (see exact32). At K = 384 the scalar loop cost about
 * as much as the tile's products. */
VNNI static void finish_tile(const weights *w, const int8_rows *rows, float *c,
                             int64_t ldc, int zero, int64_t r0, int M,
                             int64_t j0, int T, const int32_t *out) {
  for (int h = 0; h < NR / 16 && 16 * h < T; ++h) {
    const int64_t j = j0 + 16 * h;
    const int lanes = T - 16 * h < 16 ? T - 16 * h : 16;
    const __mmask16 mask = (__mmask16)((1u << lanes) - 1);
    const __m512i zeros = _mm512_maskz_loadu_epi32(mask, w->zeros + j);
    const __m512 scales = _mm512_maskz_loadu_ps(mask, w->scales + j);
    for (int r = 0; r < M; ++r) {
      const int64_t row = r0 + r;
      __m512i exact = _mm512_sub_epi32(
          _mm512_loadu_si512(out + r * NR + 16 * h),
          _mm512_mullo_epi32(zeros, _mm512_set1_epi32(rows->sum[row])));
      __m512 v = _mm512_mul_ps(
          _mm512_mul_ps(_mm512_set1_ps(rows->scale[row]), scales),
          _mm512_cvtepi32_ps(exact));
      if (w->count)
        v = _mm512_add_ps(
            v, _mm512_maskz_loadu_ps(mask, rows->fp_product + row * w->n + j));
      float *y = c + row * ldc + j;
      if (!zero)
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, y), v);
      _mm512_mask_storeu_ps(y, mask, v);
    }
  }
}

/* Panel p of channels against every block of rows; `panel` is the
 * thread's buffer (packed once, it stays in L2 for all the rows). */
VNNI static void gemm_panel(const weights *w, const int8_rows *rows, float *c,
                            int64_t ldc, int64_t m, int zero, int64_t p,
                            uint8_t *panel) {
  const int64_t j0 = p * NR, quads = rows->kp / 4;
  const int T = (int)(w->n - j0 < NR ? w->n - j0 : NR);
  /* |dot| and |z_j sum_r| are each at most 255 * 128 * k: their difference
   * stays in int32 up to k = 32767 (beyond, finish() takes it in int64). */
  const int exact32 = w->k <= 32767;
  int32_t out[MR * NR];
  pack_panel(w, j0, rows->kp, panel);
  for (int64_t r0 = 0; r0 < m; r0 += MR) {
    int M = (int)(m - r0 < MR ? m - r0 : MR);
    micro_tile_full(rows, r0, panel, quads, out, M);
    if (exact32)
      finish_tile(w, rows, c, ldc, zero, r0, M, j0, T, out);
    else
      for (int r = 0; r < M; ++r)
        for (int t = 0; t < T; ++t)
          store(c, ldc, r0 + r, j0 + t,
                finish(w, rows, r0 + r, j0 + t, out[r * NR + t]), zero);
  }
}

/* Many rows: threads take panels of channels. */
static void gemm_vnni(const weights *w, const int8_rows *rows, float *c,
                      int64_t ldc, int64_t m, int zero) {
  const int64_t panels = (w->n + NR - 1) / NR;
#pragma omp parallel
  {
    uint8_t *panel = aligned_alloc(64, (size_t)(rows->kp * NR));
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < panels; ++p)
      gemm_panel(w, rows, c, ldc, m, zero, p, panel);
    free(panel);
  }
}

/*===- AVX2: 16 exact products a vpmaddwd ---------------------------------===*/

#define AVX2 __attribute__((target("avx2")))

/* One row's codes and one channel's, widened to 16 bits (the channel's
 * flipped where symmetric): 16 exact products summed in pairs by vpmaddwd
 * (vpmaddubsw would saturate at 2 x 255 x 128). */
#define WIDEN_ROW(q) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q)))
#define WIDEN_CODES(p, flips)                                                  \
  _mm256_cvtepu8_epi16(                                                        \
      _mm_xor_si128(_mm_loadu_si128((const __m128i *)(p)), flips))

AVX2 static int32_t hsum_avx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                            _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

/* A tile of RB rows x 4 channels: each widened row serves 4 channels and
 * each widened channel RB rows; the last k % 16 products one at a time. */
#define DEFINE_TILE_AVX2(NAME, RB)                                             \
  AVX2 static void NAME(const weights *w, const int8_rows *rows, float *c,     \
                        int64_t ldc, int zero, int64_t r0, int64_t j) {        \
    const uint8_t flip = w->symmetric ? 0x80 : 0;                              \
    const __m128i flips = _mm_set1_epi8((char)flip);                           \
    const int64_t full = w->k / 16;                                            \
    const uint8_t *cp[4];                                                      \
    const int8_t *xp[RB];                                                      \
    __m256i acc[RB][4];                                                        \
    for (int ch = 0; ch < 4; ++ch)                                             \
      cp[ch] = w->codes + (j + ch) * w->k;                                     \
    for (int r = 0; r < RB; ++r) {                                             \
      xp[r] = rows->q + (r0 + r) * rows->kp;                                   \
      for (int ch = 0; ch < 4; ++ch)                                           \
        acc[r][ch] = _mm256_setzero_si256();                                   \
    }                                                                          \
    for (int64_t b = 0; b < full; ++b) {                                       \
      __m256i x[RB];                                                           \
      for (int r = 0; r < RB; ++r)                                             \
        x[r] = WIDEN_ROW(xp[r] + 16 * b);                                      \
      for (int ch = 0; ch < 4; ++ch) {                                         \
        __m256i u = WIDEN_CODES(cp[ch] + 16 * b, flips);                       \
        for (int r = 0; r < RB; ++r)                                           \
          acc[r][ch] =                                                         \
              _mm256_add_epi32(acc[r][ch], _mm256_madd_epi16(u, x[r]));        \
      }                                                                        \
    }                                                                          \
    for (int r = 0; r < RB; ++r)                                               \
      for (int ch = 0; ch < 4; ++ch) {                                         \
        int32_t dot = dot_tail(hsum_avx2(acc[r][ch]), cp[ch], xp[r],          \
                               full * 16, w->k, flip);                         \
        store(c, ldc, r0 + r, j + ch,                                          \
              finish(w, rows, r0 + r, j + ch, dot), zero);                     \
      }                                                                        \
  }

DEFINE_TILE_AVX2(tile_avx2_1x4, 1)
DEFINE_TILE_AVX2(tile_avx2_2x4, 2)

/* Channels j..j+3 (or the last few: one at a time, as 1-row tiles would
 * need 4 channels) against every row, two rows a tile. */
AVX2 static void channels_avx2(const weights *w, const int8_rows *rows,
                               float *c, int64_t ldc, int64_t m, int zero,
                               int64_t j) {
  if (j + 4 <= w->n) {
    int64_t r = 0;
    for (; r + 2 <= m; r += 2)
      tile_avx2_2x4(w, rows, c, ldc, zero, r, j);
    if (r < m)
      tile_avx2_1x4(w, rows, c, ldc, zero, r, j);
    return;
  }
  const uint8_t flip = w->symmetric ? 0x80 : 0;
  const __m128i flips = _mm_set1_epi8((char)flip);
  const int64_t full = w->k / 16;
  for (int64_t ch = j; ch < w->n; ++ch) {
    const uint8_t *codes = w->codes + ch * w->k;
    for (int64_t r = 0; r < m; ++r) {
      const int8_t *q = rows->q + r * rows->kp;
      __m256i acc = _mm256_setzero_si256();
      for (int64_t b = 0; b < full; ++b)
        acc = _mm256_add_epi32(
            acc, _mm256_madd_epi16(WIDEN_CODES(codes + 16 * b, flips),
                                   WIDEN_ROW(q + 16 * b)));
      int32_t dot = dot_tail(hsum_avx2(acc), codes, q, full * 16, w->k, flip);
      store(c, ldc, r, ch, finish(w, rows, r, ch, dot), zero);
    }
  }
}

static void gemm_avx2(const weights *w, const int8_rows *rows, float *c,
                      int64_t ldc, int64_t m, int zero) {
  const int64_t groups = (w->n + 3) / 4;
#pragma omp parallel for schedule(static) if (m * w->n * w->k > 65536)
  for (int64_t g = 0; g < groups; ++g)
    channels_avx2(w, rows, c, ldc, m, zero, 4 * g);
}

static int avx2_available(void) {
  const char *isa = quantc_matmul_isa();
  return (strcmp(isa, "avx512f") == 0 || strcmp(isa, "avx2+fma") == 0) &&
         __builtin_cpu_supports("avx2");
}

static int vnni_available(void) {
  static int cpu = -1;
  if (cpu < 0)
    cpu = strcmp(quantc_matmul_isa(), "avx512f") == 0 &&
          __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vnni");
  return cpu;
}

static void qmatmul_i8(qc_memref2d_f32 *a, qc_memref1d_i8 *codes,
                       qc_memref1d_i8 *scales, qc_memref1d_i8 *zeros,
                       qc_memref1d_i8 *factors, const int32_t *columns,
                       float *fp, int64_t count, qc_memref2d_f32 *c, int64_t k,
                       int64_t n, float act_scale, int64_t flags,
                       int64_t act_zero) {
  const int64_t m = c->sizes[0], lda = a->strides[0], ldc = c->strides[0];
  const float *pa = a->aligned + a->offset;
  float *pc = c->aligned + c->offset;
  const int zero = (flags & QC_QMATMUL_INIT) != 0;
  if (m == 0 || n == 0)
    return;
  weights w = {(const uint8_t *)(codes->aligned + codes->offset),
               malloc(sizeof(float) * (size_t)n),
               malloc(sizeof(int32_t) * (size_t)n),
               k,
               n,
               (flags & QC_QMATMUL_SYMMETRIC) != 0,
               columns,
               count,
               factors->sizes[0] ? (const float *)(factors->aligned +
                                                   factors->offset)
                                 : NULL};
  const uint8_t *ps = (const uint8_t *)(scales->aligned + scales->offset),
                *pz = (const uint8_t *)(zeros->aligned + zeros->offset);
  for (int64_t j = 0; j < n; ++j) {
    w.scales[j] = stored_scale(ps, j, flags);
    w.zeros[j] = w.symmetric ? 128 : pz[j];
  }
  int8_rows rows = {NULL,
                    malloc(sizeof(float) * (size_t)m),
                    malloc(sizeof(int32_t) * (size_t)m),
                    (k + 63) / 64 * 64,
                    count ? malloc(sizeof(float) * (size_t)(m * count)) : NULL,
                    count ? malloc(sizeof(float) * (size_t)(m * n)) : NULL};
  rows.q = aligned_alloc(64, (size_t)(m * rows.kp) + 64);
  quantize_rows(pa, lda, m, &w, act_scale,
                act_scale > 0 ? (int32_t)act_zero : 0, &rows);
  if (count) { /* the f32 columns' product: quantc's f32 GEMM, B as [N, K] */
    qc_memref3d_f32 fa = {rows.fp, rows.fp, 0, {1, m, count},
                          {m * count, count, 1}},
                    fb = {fp, fp, 0, {1, n, count},
                          {n * count, count, 1}},
                    fc = {rows.fp_product, rows.fp_product, 0, {1, m, n},
                          {m * n, n, 1}};
    _mlir_ciface_quantc_matmul_f32(&fa, &fb, &fc,
                                   QC_MATMUL_INIT | QC_MATMUL_TRANSPOSED_B);
  }
  if (vnni_available()) {
    if (m <= FEW)
      gemv_vnni(&w, &rows, pc, ldc, m, zero);
    else
      gemm_vnni(&w, &rows, pc, ldc, m, zero);
  } else if (avx2_available()) {
    gemm_avx2(&w, &rows, pc, ldc, m, zero);
  } else {
    gemm_generic(&w, &rows, pc, ldc, m, zero);
  }
  free(rows.fp_product);
  free(rows.fp);
  free(rows.q);
  free(rows.sum);
  free(rows.scale);
  free(w.zeros);
  free(w.scales);
}

void _mlir_ciface_quantc_qmatmul_i8(qc_memref2d_f32 *a, qc_memref1d_i8 *codes,
                                    qc_memref1d_i8 *scales,
                                    qc_memref1d_i8 *zeros,
                                    qc_memref1d_i8 *factors, qc_memref2d_f32 *c,
                                    int64_t k, int64_t n, float act_scale,
                                    int64_t flags, int64_t act_zero) {
  qmatmul_i8(a, codes, scales, zeros, factors, NULL, NULL, 0, c, k, n,
             act_scale, flags, act_zero);
}

void _mlir_ciface_quantc_qmatmul_i8_split(
    qc_memref2d_f32 *a, qc_memref1d_i8 *codes, qc_memref1d_i8 *scales,
    qc_memref1d_i8 *zeros, qc_memref1d_i8 *factors, qc_memref1d_i8 *columns,
    qc_memref1d_i8 *fp, qc_memref2d_f32 *c, int64_t k, int64_t n,
    float act_scale, int64_t flags, int64_t count, int64_t act_zero) {
  qmatmul_i8(a, codes, scales, zeros, factors,
             (const int32_t *)(columns->aligned + columns->offset),
             (float *)(fp->aligned + fp->offset), count, c, k, n, act_scale,
             flags, act_zero);
}
