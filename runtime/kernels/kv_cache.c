/*===- kv_cache.c - quantized KV caches and the attention products over them =*
 *
 * The layout is kernels.h's (qc_kv_cache). Writing quantizes each new token
 * once; reading decodes codes in registers inside the two attention
 * products, with the scales taken out of the inner loop:
 * - per-channel keys: q_d * scale_d is folded into the query once, and
 *   sum_d q_d offset_d is one constant per query row;
 * - per-token values: p_t * scale_t multiplies the codes, and
 *   sum_t p_t offset_t is added to each output of the group once.
 * On AVX-512 a KV head's query rows (grouped-query heads, several
 * positions) are served from one read of its cache, decoded to f32; with
 * VNNI, integer caches with one scale a token or per-channel scales are
 * multiplied as integers instead (q k^T: vpdpbusd against the query rounded
 * to 16 bits; p v: vpdpwssd against 16-bit weights, 8- and 4-bit codes),
 * which keeps them near the memory bandwidth. Elsewhere a portable loop
 * computes the same sums.
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 4      /* query rows sharing one decode of the cache */
#define MAX_DIM 512 /* head dimensions the AVX-512 paths take */
#define CHUNK 256   /* tokens of a scores work item */
#define AHEAD 4096  /* bytes read ahead of the token being decoded */

static uint8_t *token_row(const qc_kv_cache *c, int64_t b, int64_t h,
                          int64_t t) {
  return c->codes + ((b * c->kv_heads + h) * c->capacity + t) * c->row_bytes;
}

/* Index of token t's first (scale, offset) of head (b, h), per token. */
static int64_t token_scales(const qc_kv_cache *c, int64_t b, int64_t h,
                            int64_t t) {
  return ((b * c->kv_heads + h) * c->capacity + t) * (c->dim / c->group);
}

/* Code d of a row (kernels.h: 16-byte blocks of 32 or 64 codes). */
static unsigned get_code(const uint8_t *row, int bits, int64_t d) {
  if (bits == 8)
    return row[d];
  int64_t per = 128 / bits, i = d % per;
  return (row[d / per * 16 + i % 16] >> (i / 16 * bits)) & ((1u << bits) - 1);
}

static void put_code(uint8_t *row, int bits, int64_t d, unsigned code) {
  if (bits == 8) {
    row[d] = (uint8_t)code;
    return;
  }
  int64_t per = 128 / bits, i = d % per;
  row[d / per * 16 + i % 16] |= (uint8_t)(code << (i / 16 * bits));
}

/* FP8 E4M3 (kernels.h): the byte of the number nearest x, ties to even,
 * |x| clamped to 448; and its value. With a = q 2^(e-3), q the mantissa
 * with its leading 1 (8..16) or without (subnormals, e = -6: 0..8), the
 * byte is (e + 6) * 8 + q: a carry of q into 16 is the next exponent. */
static uint8_t e4m3_encode(float x) {
  uint8_t sign = signbit(x) ? 0x80 : 0;
  float a = fabsf(x);
  if (!(a > 0))
    return sign;
  if (a >= 448)
    return sign | 0x7e;
  int e;
  frexpf(a, &e); /* a in [2^(e-1), 2^e) */
  e = e - 1 < -6 ? -6 : e - 1;
  return sign | (uint8_t)((e + 6) * 8 + (int)nearbyintf(ldexpf(a, 3 - e)));
}

static float e4m3_decode(uint8_t byte) {
  int e = (byte >> 3) & 15, m = byte & 7;
  float a = e ? ldexpf((float)(8 + m), e - 10) : ldexpf((float)m, -9);
  return byte & 0x80 ? -a : a;
}

static float value_at(const qc_kv_cache *c, const uint8_t *row, int64_t s,
                      int64_t h, int64_t d) {
  if (c->bits == 32)
    return ((const float *)row)[d];
  float q = (c->flags & QC_KV_E4M3) ? e4m3_decode(row[d])
                                    : (float)get_code(row, c->bits, d);
  if (c->flags & QC_KV_PER_TOKEN) {
    int64_t g = s + d / c->group;
    return c->scale[g] * q + c->offset[g];
  }
  return c->scale[h * c->dim + d] * (float)q + c->offset[h * c->dim + d];
}

/* round((x - offset) / scale) clamped to the codes, 0 where scale is 0 or
 * x is NaN (a NaN converted to unsigned is undefined; E4M3 writes 0 too). */
static unsigned encode(float x, float scale, float offset, float top) {
  if (!(scale > 0))
    return 0;
  float v = nearbyintf((x - offset) / scale);
  return (unsigned)(!(v >= 0) ? 0 : v > top ? top : v);
}

void quantc_kv_append(const qc_kv_cache *c, const float *x, int64_t at,
                      int64_t count) {
  const int64_t heads = c->batch * c->kv_heads, dim = c->dim;
  const float top = (float)((1u << (c->bits & 31)) - 1);
#pragma omp parallel for schedule(static) if (heads * count * dim > 65536)
  for (int64_t u = 0; u < heads * count; ++u) {
    int64_t bh = u / count, t = at + u % count;
    int64_t b = bh / c->kv_heads, h = bh % c->kv_heads;
    const float *src = x + u * dim;
    uint8_t *row = token_row(c, b, h, t);
    if (c->bits == 32) {
      memcpy(row, src, (size_t)dim * sizeof(float));
      continue;
    }
    memset(row, 0, (size_t)c->row_bytes);
    if (!(c->flags & QC_KV_PER_TOKEN)) {
      const float *scale = c->scale + h * dim, *offset = c->offset + h * dim;
      for (int64_t d = 0; d < dim; ++d)
        put_code(row, c->bits, d, encode(src[d], scale[d], offset[d], top));
      continue;
    }
    int64_t s = token_scales(c, b, h, t);
    for (int64_t g = 0; g < dim / c->group; ++g) {
      const float *v = src + g * c->group;
      if (c->flags & QC_KV_E4M3) {
        float top8 = 0;
        for (int64_t d = 0; d < c->group; ++d)
          top8 = fmaxf(top8, fabsf(v[d]));
        float scale = top8 / 448;
        c->scale[s + g] = scale;
        c->offset[s + g] = 0;
        for (int64_t d = 0; d < c->group; ++d)
          row[g * c->group + d] = scale > 0 ? e4m3_encode(v[d] / scale) : 0;
        continue;
      }
      float lo = v[0], hi = v[0];
      for (int64_t d = 1; d < c->group; ++d) {
        lo = fminf(lo, v[d]);
        hi = fmaxf(hi, v[d]);
      }
      float scale = (hi - lo) / top;
      c->scale[s + g] = scale;
      c->offset[s + g] = lo;
      for (int64_t d = 0; d < c->group; ++d)
        put_code(row, c->bits, g * c->group + d, encode(v[d], scale, lo, top));
    }
  }
}

/* ---- portable ---------------------------------------------------------- */

static void scores_generic(const qc_kv_cache *k, const float *q, int64_t heads,
                           int64_t rows, int64_t length, float *scores) {
  const int64_t share = heads / k->kv_heads, dim = k->dim;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < k->batch; ++b)
    for (int64_t i = 0; i < heads; ++i) {
      int64_t h = i / share;
      for (int64_t r = 0; r < rows; ++r) {
        const float *qr = q + ((b * heads + i) * rows + r) * dim;
        float *out = scores + ((b * heads + i) * rows + r) * length;
        for (int64_t t = 0; t < length; ++t) {
          const uint8_t *row = token_row(k, b, h, t);
          int64_t s =
              (k->flags & QC_KV_PER_TOKEN) ? token_scales(k, b, h, t) : 0;
          float sum = 0;
          for (int64_t d = 0; d < dim; ++d)
            sum += qr[d] * value_at(k, row, s, h, d);
          out[t] = sum;
        }
      }
    }
}

static void values_generic(const qc_kv_cache *v, const float *p, int64_t heads,
                           int64_t rows, int64_t length, float *out) {
  const int64_t share = heads / v->kv_heads, dim = v->dim;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < v->batch; ++b)
    for (int64_t i = 0; i < heads; ++i) {
      int64_t h = i / share;
      for (int64_t r = 0; r < rows; ++r) {
        const float *pr = p + ((b * heads + i) * rows + r) * length;
        float *o = out + ((b * heads + i) * rows + r) * dim;
        memset(o, 0, (size_t)dim * sizeof(float));
        for (int64_t t = 0; t < length; ++t) {
          const uint8_t *row = token_row(v, b, h, t);
          int64_t s =
              (v->flags & QC_KV_PER_TOKEN) ? token_scales(v, b, h, t) : 0;
          for (int64_t d = 0; d < dim; ++d)
            o[d] += pr[t] * value_at(v, row, s, h, d);
        }
      }
    }
}

/* ---- AVX-512 ----------------------------------------------------------- */

/* The bodies below are instantiated for each kind of row: its bits (32, 8,
 * 4, 2), or KV_E4M3 for FP8 bytes. */
#define KV_E4M3 (-8)
static int row_kind(const qc_kv_cache *c) {
  return (c->flags & QC_KV_E4M3) ? KV_E4M3 : c->bits;
}
/* What the bodies multiply a token's scale by: decode16 gives E4M3 bytes
 * as f16 numbers, which are the E4M3 values / 256 (exponent bias 15, not
 * 7). */
#define KV_GAIN(kind) ((kind) == KV_E4M3 ? 256.0f : 1.0f)

/* Values j*16 .. j*16+15 of a row as f32 (codes as they are; E4M3 bytes
 * / 256); `lanes` masks the row's end for f32 and 8-bit rows (packed rows
 * are padded). */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline __m512
decode16(const uint8_t *row, int bits, int64_t j, __mmask16 lanes) {
  switch (bits) {
  /* Masked loads only at the row's end (a masked byte load is slow on
   * some CPUs: measured, int8 then trailed int4). */
  case 32:
    return lanes == 0xffff
               ? _mm512_loadu_ps((const float *)row + j * 16)
               : _mm512_maskz_loadu_ps(lanes, (const float *)row + j * 16);
  case 8:
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
        lanes == 0xffff ? _mm_loadu_si128((const __m128i *)(row + j * 16))
                        : _mm_maskz_loadu_epi8(lanes, row + j * 16)));
  case KV_E4M3: {
    /* s eeee mmm -> the f16 s 0eeee mmm0000000 (vcvtph2ps converts):
     * sign-extended and shifted, bits 15 and 14 hold s; bit 14 cleared. */
    __m256i h = _mm256_slli_epi16(
        _mm256_cvtepi8_epi16(
            lanes == 0xffff ? _mm_loadu_si128((const __m128i *)(row + j * 16))
                            : _mm_maskz_loadu_epi8(lanes, row + j * 16)),
        7);
    return _mm512_cvtph_ps(
        _mm256_and_si256(h, _mm256_set1_epi16((short)0xbfff)));
  }
  case 4: {
    __m128i block = _mm_loadu_si128((const __m128i *)(row + j / 2 * 16));
    block = _mm_and_si128(_mm_srli_epi16(block, (int)(j % 2) * 4),
                          _mm_set1_epi8(0x0f));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(block));
  }
  default: {
    __m128i block = _mm_loadu_si128((const __m128i *)(row + j / 4 * 16));
    block = _mm_and_si128(_mm_srli_epi16(block, (int)(j % 4) * 2),
                          _mm_set1_epi8(0x03));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(block));
  }
  }
}

/* A head's token rows are contiguous: each of its cache lines is asked for
 * AHEAD bytes before it is decoded (one stream a core leaves much of the
 * memory bandwidth unused otherwise; prefetches past the buffer are
 * harmless). */
static inline void read_ahead(const uint8_t *row, int64_t row_bytes) {
  for (int64_t at = 0; at < row_bytes; at += 64)
    _mm_prefetch((const char *)(row + AHEAD + at), _MM_HINT_T0);
}

static __mmask16 tail_lanes(int64_t dim, int64_t j) {
  int64_t left = dim - j * 16;
  return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* The query rows of one KV head, prepared: per channel, q * scale (zero
 * past dim) and sum_d q offset; per token, q and its sum over each group. */
typedef struct {
  float q[ROWS][MAX_DIM] __attribute__((aligned(64)));
  float sums[ROWS][MAX_DIM / 16];
  float constant[ROWS];
} prepared_rows;

static void prepare(const qc_kv_cache *k, int64_t h, const float *const *q,
                    int count, prepared_rows *out) {
  const int64_t dim = k->dim, padded = (dim + 15) / 16 * 16;
  for (int r = 0; r < count; ++r) {
    memset(out->q[r], 0, (size_t)padded * sizeof(float));
    out->constant[r] = 0;
    for (int64_t d = 0; d < dim; ++d) {
      if (k->bits == 32 || (k->flags & QC_KV_PER_TOKEN)) {
        out->q[r][d] = q[r][d];
      } else {
        out->q[r][d] = q[r][d] * k->scale[h * dim + d];
        out->constant[r] += q[r][d] * k->offset[h * dim + d];
      }
    }
    if (k->bits != 32 && (k->flags & QC_KV_PER_TOKEN))
      for (int64_t g = 0; g < dim / k->group; ++g) {
        float sum = 0;
        for (int64_t d = 0; d < k->group; ++d)
          sum += q[r][g * k->group + d];
        out->sums[r][g] = sum;
      }
  }
}

/* v[i] = sum of a[i]'s lanes, for 16 vectors: halves added pairwise
 * (256-bit, 128-bit, 64-bit, 32-bit apart), four rounds of shuffles, and
 * one permutation to put the sums in order. */
__attribute__((target("avx512f"))) static inline __m512
sum_lanes16(const __m512 *a) {
  __m512 x[8], y[4], z[2];
  for (int i = 0; i < 8; ++i)
    x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xee));
  for (int i = 0; i < 4; ++i)
    y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xdd));
  for (int i = 0; i < 2; ++i)
    z[i] = _mm512_add_ps(_mm512_unpacklo_ps(y[2 * i], y[2 * i + 1]),
                         _mm512_unpackhi_ps(y[2 * i], y[2 * i + 1]));
  __m512 w = _mm512_add_ps(
      _mm512_castpd_ps(
          _mm512_unpacklo_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]))),
      _mm512_castpd_ps(
          _mm512_unpackhi_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]))));
  /* w's lane 4 (i % 4) + i / 4 holds the sum of a[i]. */
  const __m512i order =
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, w);
}

/* scores of `count` (<= ROWS) query rows against tokens [t0, t1) of KV head
 * (b, h): each token's products summed as a vector, 16 tokens' vectors
 * summed at once. `bits` is a constant where this is inlined. */
__attribute__((target("avx512f,avx512bw,avx512vl"),
               always_inline)) static inline void
scores_body(const qc_kv_cache *k, int64_t b, int64_t h, const prepared_rows *pr,
            int64_t t0, int64_t t1, float *const *scores, const int count,
            const int bits) {
  const int64_t dim = k->dim, chunks = (dim + 15) / 16;
  const int64_t groups =
      (bits != 32 && (k->flags & QC_KV_PER_TOKEN)) ? dim / k->group : 0;
  const int64_t per_group = groups ? k->group / 16 : 0;
  /* One group a token: its scale multiplies its sum, not each value (the
   * 16 tokens' scales are consecutive). */
  const int token_scale = groups == 1;
  __m512 block[ROWS][16];
  for (int64_t base = t0; base < t1; base += 16) {
    int64_t n = t1 - base < 16 ? t1 - base : 16;
    for (int64_t i = 0; i < 16; ++i) {
      /* Two chains a row (even and odd chunks): half the latency. */
      __m512 acc[ROWS][2];
      for (int r = 0; r < count; ++r)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
      if (i < n) {
        const uint8_t *row = token_row(k, b, h, base + i);
        read_ahead(row, k->row_bytes);
        const float *scale =
            groups ? k->scale + token_scales(k, b, h, base + i) : NULL;
        /* Per-token groups: each group's codes times its scale. */
        for (int64_t g = 0, j = 0; j < chunks; ++g) {
          const __m512 s = _mm512_set1_ps(
              groups && !token_scale ? scale[g] * KV_GAIN(bits) : 1.0f);
          for (int64_t end = groups && !token_scale ? j + per_group : chunks;
               j < end; ++j) {
            __m512 c = decode16(row, bits, j, tail_lanes(dim, j));
            if (groups && !token_scale)
              c = _mm512_mul_ps(c, s);
            for (int r = 0; r < count; ++r)
              acc[r][j % 2] = _mm512_fmadd_ps(_mm512_load_ps(pr->q[r] + j * 16),
                                              c, acc[r][j % 2]);
          }
        }
      }
      for (int r = 0; r < count; ++r)
        block[r][i] = _mm512_add_ps(acc[r][0], acc[r][1]);
    }
    __mmask16 lanes = (__mmask16)((1u << n) - 1);
    const __m512 scales =
        token_scale
            ? _mm512_mul_ps(_mm512_maskz_loadu_ps(
                                lanes, k->scale + token_scales(k, b, h, base)),
                            _mm512_set1_ps(KV_GAIN(bits)))
            : _mm512_set1_ps(1.0f);
    for (int r = 0; r < count; ++r) {
      __m512 sums = _mm512_fmadd_ps(sum_lanes16(block[r]), scales,
                                    _mm512_set1_ps(pr->constant[r]));
      _mm512_mask_storeu_ps(scores[r] + base, lanes, sums);
      for (int64_t i = 0; groups && i < n; ++i) {
        const float *offset = k->offset + token_scales(k, b, h, base + i);
        for (int64_t g = 0; g < groups; ++g)
          scores[r][base + i] += offset[g] * pr->sums[r][g];
      }
    }
  }
}

/* out (count rows of dim) = sum over t < length of p[r][t] value[t]. */
__attribute__((target("avx512f,avx512bw,avx512vl"),
               always_inline)) static inline void
values_body(const qc_kv_cache *v, int64_t b, int64_t h, const float *const *p,
            int64_t length, float *const *out, const int count,
            const int bits) {
  const int64_t dim = v->dim, chunks = (dim + 15) / 16;
  const int per_token = bits != 32 && (v->flags & QC_KV_PER_TOKEN);
  const int64_t groups = per_token ? dim / v->group : 1;
  const int64_t per_group = per_token ? v->group / 16 : chunks;
  __m512 acc[ROWS][MAX_DIM / 16];
  float offsets[ROWS][MAX_DIM / 16], mass[ROWS];
  for (int r = 0; r < count; ++r) {
    for (int64_t j = 0; j < chunks; ++j)
      acc[r][j] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g)
      offsets[r][g] = 0;
    mass[r] = 0;
  }
  for (int64_t t = 0; t < length; ++t) {
    const uint8_t *row = token_row(v, b, h, t);
    read_ahead(row, v->row_bytes);
    const float *scale = per_token ? v->scale + token_scales(v, b, h, t) : NULL;
    const float *offset =
        per_token ? v->offset + token_scales(v, b, h, t) : NULL;
    for (int r = 0; r < count; ++r) {
      mass[r] += p[r][t];
      if (per_token)
        for (int64_t g = 0; g < groups; ++g)
          offsets[r][g] += p[r][t] * offset[g];
    }
    for (int64_t g = 0, j = 0; j < chunks; ++g) {
      __m512 w[ROWS];
      for (int r = 0; r < count; ++r)
        w[r] = _mm512_set1_ps(per_token ? p[r][t] * scale[g] * KV_GAIN(bits)
                                        : p[r][t]);
      for (int64_t end = j + per_group; j < end; ++j) {
        __m512 c = decode16(row, bits, j, tail_lanes(dim, j));
        for (int r = 0; r < count; ++r)
          acc[r][j] = _mm512_fmadd_ps(w[r], c, acc[r][j]);
      }
    }
  }
  for (int r = 0; r < count; ++r)
    for (int64_t j = 0; j < chunks; ++j) {
      __m512 y = acc[r][j];
      __mmask16 lanes = tail_lanes(dim, j);
      if (per_token) {
        y = _mm512_add_ps(y, _mm512_set1_ps(offsets[r][j / per_group]));
      } else if (bits != 32) {
        /* Per channel: scale_d sum_t p_t c_td + offset_d sum_t p_t. */
        const float *scale = v->scale + h * dim + j * 16;
        const float *offset = v->offset + h * dim + j * 16;
        y = _mm512_fmadd_ps(
            y, _mm512_maskz_loadu_ps(lanes, scale),
            _mm512_mul_ps(_mm512_set1_ps(mass[r]),
                          _mm512_maskz_loadu_ps(lanes, offset)));
      }
      _mm512_mask_storeu_ps(out[r] + j * 16, lanes, y);
    }
}

/* ---- AVX-512 VNNI: integer q k^T ---------------------------------------- */

/* Bytes of a row's coefficients: [64-byte piece][extraction][64]. */
#define INT_BYTES MAX_DIM /* at most one coefficient a code, 64-byte pieces */

/* The query rows of one KV head as 16-bit integers (per row, scale
 * max|q'| / 32639, q' the query times per-channel scales), each split in
 * two signed bytes, q16 = 256 hi + lo, so that vpdpbusd (unsigned codes x
 * signed bytes) multiplies them exactly; laid out as the codes come out of
 * a 64-byte load of a row: extraction e of a piece holds the codes at bits
 * [e * bits, (e + 1) * bits) of each byte. */
typedef struct {
  int8_t hi[ROWS][INT_BYTES] __attribute__((aligned(64)));
  int8_t lo[ROWS][INT_BYTES] __attribute__((aligned(64)));
  /* mid sum(q16) of each int32 lane of the products (taken off in int32,
   * before anything is rounded); q16's scale; sum_d q_d (offset_d + mid
   * scale_d) (per channel); sum_d q_d (per token). */
  int32_t middle[ROWS][16] __attribute__((aligned(64)));
  float scale[ROWS], constant[ROWS], sum[ROWS];
} int_rows;

/* The code index at bits [e * bits, ...) of byte `at` of a row, or -1. */
static int64_t code_index(int bits, int64_t dim, int64_t at, int e) {
  int64_t d = bits == 8 ? at : at / 16 * (128 / bits) + e * 16 + at % 16;
  return d < dim ? d : -1;
}

static void prepare_int(const qc_kv_cache *k, int64_t h, const float *const *q,
                        int count, int_rows *out) {
  const int64_t dim = k->dim, pieces = (k->row_bytes + 63) / 64;
  const int per_byte = 8 / k->bits, per_token = k->flags & QC_KV_PER_TOKEN;
  float scaled[MAX_DIM];
  for (int r = 0; r < count; ++r) {
    float top = 0, constant = 0, sum = 0;
    for (int64_t d = 0; d < dim; ++d) {
      scaled[d] = per_token ? q[r][d] : q[r][d] * k->scale[h * dim + d];
      if (!per_token)
        constant += q[r][d] * k->offset[h * dim + d];
      sum += q[r][d];
      top = fmaxf(top, fabsf(scaled[d]));
    }
    float scale = top / 32639.0f;
    memset(out->middle[r], 0, sizeof(out->middle[r]));
    for (int64_t m = 0; m < pieces; ++m)
      for (int e = 0; e < per_byte; ++e)
        for (int64_t j = 0; j < 64; ++j) {
          int64_t d = code_index(k->bits, dim, m * 64 + j, e);
          int32_t v =
              d >= 0 && scale > 0 ? (int32_t)nearbyintf(scaled[d] / scale) : 0;
          int32_t lo = ((v + 128) & 255) - 128;
          int64_t at = (m * per_byte + e) * 64 + j;
          out->lo[r][at] = (int8_t)lo;
          out->hi[r][at] = (int8_t)((v - lo) / 256);
          out->middle[r][j / 4] += v * (1 << (k->bits - 1));
        }
    /* The codes are taken about their middle, c - mid (value = scale
     * (c - mid) + offset + mid scale): q16's rounding then weighs only
     * |c - mid|, not c. */
    const float mid = (float)(1 << (k->bits - 1));
    out->scale[r] = scale;
    if (!per_token)
      for (int64_t d = 0; d < dim; ++d)
        constant += q[r][d] * mid * k->scale[h * dim + d];
    out->constant[r] = constant;
    out->sum[r] = sum;
  }
}

/* scores of `count` query rows against tokens [t0, t1) of KV head (b, h),
 * per-channel scales or one per-token scale a row: sum_d q16_d c_td
 * exactly in int32 lanes, then as the float path. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"),
               always_inline)) static inline void
scores_int_body(const qc_kv_cache *k, int64_t b, int64_t h, const int_rows *pi,
                int64_t t0, int64_t t1, float *const *scores, const int count,
                const int bits) {
  const int64_t pieces = (k->row_bytes + 63) / 64;
  const int per_byte = 8 / bits, per_token = k->flags & QC_KV_PER_TOKEN;
  const __m512i mask = _mm512_set1_epi8((char)((1 << bits) - 1));
  /* A piece past the end of the buffer is loaded masked (codes past a
   * row's end meet zero coefficients). */
  const uint8_t *end =
      k->codes + k->batch * k->kv_heads * k->capacity * k->row_bytes;
  __m512 block[ROWS][16];
  for (int64_t base = t0; base < t1; base += 16) {
    int64_t n = t1 - base < 16 ? t1 - base : 16;
    for (int64_t i = 0; i < 16; ++i) {
      __m512i hi[ROWS], lo[ROWS];
      for (int r = 0; r < count; ++r)
        hi[r] = lo[r] = _mm512_setzero_si512();
      if (i < n) {
        const uint8_t *row = token_row(k, b, h, base + i);
        read_ahead(row, k->row_bytes);
        for (int64_t m = 0; m < pieces; ++m) {
          const uint8_t *at = row + m * 64;
          __m512i bytes = at + 64 <= end
                              ? _mm512_loadu_si512((const void *)at)
                              : _mm512_maskz_loadu_epi8(
                                    (__mmask64)((1ull << (end - at)) - 1), at);
          for (int e = 0; e < per_byte; ++e) {
            __m512i c =
                bits == 8 ? bytes
                          : _mm512_and_si512(_mm512_srli_epi16(bytes, e * bits),
                                             mask);
            int64_t off = (m * per_byte + e) * 64;
            for (int r = 0; r < count; ++r) {
              hi[r] = _mm512_dpbusd_epi32(hi[r], c,
                                          _mm512_load_si512(pi->hi[r] + off));
              lo[r] = _mm512_dpbusd_epi32(lo[r], c,
                                          _mm512_load_si512(pi->lo[r] + off));
            }
          }
        }
      }
      for (int r = 0; r < count; ++r)
        block[r][i] = _mm512_cvtepi32_ps(_mm512_sub_epi32(
            _mm512_add_epi32(_mm512_slli_epi32(hi[r], 8), lo[r]),
            _mm512_load_si512(pi->middle[r])));
    }
    __mmask16 lanes = (__mmask16)((1u << n) - 1);
    int64_t s = per_token ? token_scales(k, b, h, base) : 0;
    __m512 scale = per_token ? _mm512_maskz_loadu_ps(lanes, k->scale + s)
                             : _mm512_set1_ps(1.0f);
    __m512 offset = per_token ? _mm512_maskz_loadu_ps(lanes, k->offset + s)
                              : _mm512_setzero_ps();
    if (per_token) /* offset + mid scale */
      offset = _mm512_fmadd_ps(scale, _mm512_set1_ps((float)(1 << (bits - 1))),
                               offset);
    for (int r = 0; r < count; ++r) {
      __m512 dot =
          _mm512_mul_ps(sum_lanes16(block[r]), _mm512_set1_ps(pi->scale[r]));
      __m512 y = per_token
                     ? _mm512_fmadd_ps(
                           dot, scale,
                           _mm512_mul_ps(offset, _mm512_set1_ps(pi->sum[r])))
                     : _mm512_add_ps(dot, _mm512_set1_ps(pi->constant[r]));
      _mm512_mask_storeu_ps(scores[r] + base, lanes, y);
    }
  }
}

/* ---- AVX-512 VNNI: integer p v ------------------------------------------ */

#define BLOCK 128 /* tokens whose int32 sums stay below 2^31 */

/* out (count rows) = sum over t < length of p[r][t] value[t] for 8- and
 * 4-bit codes, per-channel scales or one scale a token: the weights
 * w_t = p_t (times the token's scale) of each block of BLOCK tokens rounded
 * to 16 bits (steps of the block's max |w| / 32767), two tokens' codes
 * interleaved as 16-bit pairs and multiplied with vpdpwssd, exact in int32;
 * each block's sums are taken about the codes' middle and scaled into f32.
 * A 64-byte piece of codes (one extraction of a 4-bit piece) comes out as
 * four vectors whose lane 4L + j is the piece's byte 16L + 4k + j. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"),
               always_inline)) static inline void
values_int_body(const qc_kv_cache *v, int64_t b, int64_t h,
                const float *const *p, int64_t length, float *const *out,
                const int count, const int bits) {
  const int64_t dim = v->dim, pieces = (v->row_bytes + 63) / 64;
  const int per_byte = 8 / bits, per_token = v->flags & QC_KV_PER_TOKEN;
  const int64_t sets = pieces * per_byte * 4;
  const int32_t mid = 1 << (bits - 1);
  const __m512i mask = _mm512_set1_epi8((char)((1 << bits) - 1));
  const __m512i zero = _mm512_setzero_si512();
  const uint8_t *end =
      v->codes + v->batch * v->kv_heads * v->capacity * v->row_bytes;
  __m512i acc[ROWS][MAX_DIM / 16];
  __m512 sums[ROWS][MAX_DIM / 16];
  float exact[ROWS]; /* sum_t p_t (offset_t + mid scale_t), or sum_t p_t */
  for (int r = 0; r < count; ++r) {
    for (int64_t i = 0; i < sets; ++i)
      sums[r][i] = _mm512_setzero_ps();
    exact[r] = 0;
  }
  for (int64_t t0 = 0; t0 < length; t0 += BLOCK) {
    int64_t t1 = t0 + BLOCK < length ? t0 + BLOCK : length;
    int16_t w[ROWS][BLOCK + 1];
    float step[ROWS];
    int64_t total[ROWS]; /* sum of the block's w */
    for (int r = 0; r < count; ++r) {
      float top = 0, weight[BLOCK]; /* the block's p_t (times scale_t) */
      for (int64_t t = t0; t < t1; ++t) {
        float x = p[r][t];
        if (per_token) {
          int64_t s = token_scales(v, b, h, t);
          exact[r] += x * (v->offset[s] + (float)mid * v->scale[s]);
          x *= v->scale[s];
        } else {
          exact[r] += x;
        }
        weight[t - t0] = x;
        top = fmaxf(top, fabsf(x));
      }
      step[r] = top / 32767.0f;
      total[r] = 0;
      for (int64_t t = t0; t < t1; ++t) {
        float x = weight[t - t0];
        int16_t q = step[r] > 0 ? (int16_t)nearbyintf(x / step[r]) : 0;
        w[r][t - t0] = q;
        total[r] += q;
      }
      w[r][t1 - t0] = 0; /* an odd block's last pair */
      for (int64_t i = 0; i < sets; ++i)
        acc[r][i] = zero;
    }
    for (int64_t t = t0; t < t1; t += 2) {
      const uint8_t *row0 = token_row(v, b, h, t);
      /* An odd block's last token pairs with itself, weighted 0. */
      const uint8_t *row1 = t + 1 < t1 ? token_row(v, b, h, t + 1) : row0;
      read_ahead(row0, 2 * v->row_bytes);
      __m512i pair[ROWS];
      for (int r = 0; r < count; ++r)
        pair[r] = _mm512_set1_epi32(
            (int32_t)((uint32_t)(uint16_t)w[r][t - t0] |
                      ((uint32_t)(uint16_t)w[r][t + 1 - t0] << 16)));
      for (int64_t m = 0; m < pieces; ++m) {
        __m512i a, c;
        const uint8_t *at0 = row0 + m * 64, *at1 = row1 + m * 64;
        a = at0 + 64 <= end ? _mm512_loadu_si512((const void *)at0)
                            : _mm512_maskz_loadu_epi8(
                                  (__mmask64)((1ull << (end - at0)) - 1), at0);
        c = at1 + 64 <= end ? _mm512_loadu_si512((const void *)at1)
                            : _mm512_maskz_loadu_epi8(
                                  (__mmask64)((1ull << (end - at1)) - 1), at1);
        for (int e = 0; e < per_byte; ++e) {
          __m512i x0 =
              bits == 8
                  ? a
                  : _mm512_and_si512(_mm512_srli_epi16(a, e * bits), mask);
          __m512i x1 =
              bits == 8
                  ? c
                  : _mm512_and_si512(_mm512_srli_epi16(c, e * bits), mask);
          __m512i lo = _mm512_unpacklo_epi8(x0, x1);
          __m512i hi = _mm512_unpackhi_epi8(x0, x1);
          __m512i words[4] = {
              _mm512_unpacklo_epi8(lo, zero), _mm512_unpackhi_epi8(lo, zero),
              _mm512_unpacklo_epi8(hi, zero), _mm512_unpackhi_epi8(hi, zero)};
          int64_t set = (m * per_byte + e) * 4;
          for (int k = 0; k < 4; ++k)
            for (int r = 0; r < count; ++r)
              acc[r][set + k] =
                  _mm512_dpwssd_epi32(acc[r][set + k], words[k], pair[r]);
        }
      }
    }
    /* sum_t w16_t (c - mid) = the lanes - mid sum_t w16_t, exact. */
    for (int r = 0; r < count; ++r) {
      __m512i middle = _mm512_set1_epi32((int32_t)(total[r] * mid));
      __m512 s = _mm512_set1_ps(step[r]);
      for (int64_t i = 0; i < sets; ++i)
        sums[r][i] = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][i], middle)), s,
            sums[r][i]);
    }
  }
  /* Lane 4L + j of set (piece, extraction, k) is byte 16L + 4k + j of the
   * piece: the value at that code index. */
  for (int r = 0; r < count; ++r) {
    float lanes[MAX_DIM / 16][16];
    for (int64_t i = 0; i < sets; ++i)
      _mm512_storeu_ps(lanes[i], sums[r][i]);
    for (int64_t i = 0; i < sets; ++i) {
      int64_t m = i / (4 * per_byte), e = i / 4 % per_byte, k = i % 4;
      for (int l = 0; l < 16; ++l) {
        int64_t d =
            code_index(bits, dim, m * 64 + l / 4 * 16 + 4 * k + l % 4, (int)e);
        if (d < 0)
          continue;
        out[r][d] = per_token ? lanes[i][l] + exact[r]
                              : v->scale[h * dim + d] *
                                        (lanes[i][l] + (float)mid * exact[r]) +
                                    v->offset[h * dim + d] * exact[r];
      }
    }
  }
}

/* The bodies above with `bits` (and one query row, decode's usual case)
 * constant, so that the compiler picks each decode and unrolls each row
 * loop. */
#define KV_DISPATCH(body, c, count, ...)                                       \
  do {                                                                         \
    if ((count) == 1) {                                                        \
      switch ((c)->bits) {                                                     \
      case 32:                                                                 \
        body(__VA_ARGS__, 1, 32);                                              \
        break;                                                                 \
      case 8:                                                                  \
        body(__VA_ARGS__, 1, 8);                                               \
        break;                                                                 \
      case 4:                                                                  \
        body(__VA_ARGS__, 1, 4);                                               \
        break;                                                                 \
      default:                                                                 \
        body(__VA_ARGS__, 1, 2);                                               \
      }                                                                        \
    } else {                                                                   \
      switch ((c)->bits) {                                                     \
      case 32:                                                                 \
        body(__VA_ARGS__, count, 32);                                          \
        break;                                                                 \
      case 8:                                                                  \
        body(__VA_ARGS__, count, 8);                                           \
        break;                                                                 \
      case 4:                                                                  \
        body(__VA_ARGS__, count, 4);                                           \
        break;                                                                 \
      default:                                                                 \
        body(__VA_ARGS__, count, 2);                                           \
      }                                                                        \
    }                                                                          \
  } while (0)

/* KV_DISPATCH of the float bodies, which decode E4M3 rows too. */
#define KV_DISPATCH_FLOAT(body, c, count, ...)                                 \
  do {                                                                         \
    if (row_kind(c) != KV_E4M3)                                                \
      KV_DISPATCH(body, c, count, __VA_ARGS__);                                \
    else if ((count) == 1)                                                     \
      body(__VA_ARGS__, 1, KV_E4M3);                                           \
    else                                                                       \
      body(__VA_ARGS__, count, KV_E4M3);                                       \
  } while (0)

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
scores_rows_avx512(const qc_kv_cache *k, int64_t b, int64_t h,
                   const prepared_rows *pr, int count, int64_t t0, int64_t t1,
                   float *const *scores) {
  KV_DISPATCH_FLOAT(scores_body, k, count, k, b, h, pr, t0, t1, scores);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static void
scores_rows_int(const qc_kv_cache *k, int64_t b, int64_t h, const int_rows *pi,
                int count, int64_t t0, int64_t t1, float *const *scores) {
  KV_DISPATCH(scores_int_body, k, count, k, b, h, pi, t0, t1, scores);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static void
values_rows_int(const qc_kv_cache *v, int64_t b, int64_t h,
                const float *const *p, int count, int64_t length,
                float *const *out) {
  if (count == 1) {
    if (v->bits == 8)
      values_int_body(v, b, h, p, length, out, 1, 8);
    else
      values_int_body(v, b, h, p, length, out, 1, 4);
  } else if (v->bits == 8) {
    values_int_body(v, b, h, p, length, out, count, 8);
  } else {
    values_int_body(v, b, h, p, length, out, count, 4);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
values_rows_avx512(const qc_kv_cache *v, int64_t b, int64_t h,
                   const float *const *p, int count, int64_t length,
                   float *const *out) {
  KV_DISPATCH_FLOAT(values_body, v, count, v, b, h, p, length, out);
}

/* The AVX-512 paths take head dims up to MAX_DIM and per-token groups of
 * whole vectors. */
static int use_avx512(const qc_kv_cache *c) {
  static int cpu = -1;
  if (cpu < 0)
    cpu = strcmp(quantc_matmul_isa(), "avx512f") == 0 &&
          __builtin_cpu_supports("avx512bw");
  return cpu && c->dim <= MAX_DIM &&
         (c->bits == 32 || !(c->flags & QC_KV_PER_TOKEN) || c->group % 16 == 0);
}

/* Integer products: AVX-512 VNNI, one scale a token or per channel (p v:
 * 8- and 4-bit codes). */
static int use_int(const qc_kv_cache *c) {
  static int cpu = -1;
  if (cpu < 0)
    cpu = __builtin_cpu_supports("avx512vnni");
  return cpu && c->bits != 32 && !(c->flags & QC_KV_E4M3) &&
         (!(c->flags & QC_KV_PER_TOKEN) || c->group == c->dim);
}

/* Where row n of the query (or probability, or output) rows served by
 * one KV head starts, for query heads [i0, i0 + share): head i0 + n / rows,
 * position n % rows, rows of `width`. */
static int64_t group_row(int64_t b, int64_t heads, int64_t i0, int64_t rows,
                         int64_t n, int64_t width) {
  return ((b * heads + i0 + n / rows) * rows + n % rows) * width;
}

void quantc_kv_scores(const qc_kv_cache *k, const float *q, int64_t heads,
                      int64_t rows, int64_t length, float *scores) {
  if (!use_avx512(k)) {
    scores_generic(k, q, heads, rows, length, scores);
    return;
  }
  const int64_t share = heads / k->kv_heads, n = share * rows;
  const int64_t blocks = (n + ROWS - 1) / ROWS; /* of query rows a KV head */
  const int64_t heads_kv = k->batch * k->kv_heads;
  const int integer = use_int(k);
  /* Each block of query rows prepared once, for every work item. */
  size_t size = integer ? sizeof(int_rows) : sizeof(prepared_rows);
  char *prepared = aligned_alloc(64, (size_t)(heads_kv * blocks) * size);
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < heads_kv * blocks; ++u) {
    int64_t b = u / blocks / k->kv_heads, h = u / blocks % k->kv_heads;
    int64_t r0 = u % blocks * ROWS;
    int count = n - r0 < ROWS ? (int)(n - r0) : ROWS;
    const float *qs[ROWS];
    for (int r = 0; r < count; ++r)
      qs[r] = q + group_row(b, heads, h * share, rows, r0 + r, k->dim);
    if (integer)
      prepare_int(k, h, qs, count, (int_rows *)(prepared + (size_t)u * size));
    else
      prepare(k, h, qs, count, (prepared_rows *)(prepared + (size_t)u * size));
  }
  const int64_t chunks = (length + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < heads_kv * chunks; ++u) {
    int64_t bh = u / chunks, t0 = u % chunks * CHUNK;
    int64_t b = bh / k->kv_heads, h = bh % k->kv_heads;
    int64_t t1 = t0 + CHUNK < length ? t0 + CHUNK : length;
    for (int64_t r0 = 0; r0 < n; r0 += ROWS) {
      int count = n - r0 < ROWS ? (int)(n - r0) : ROWS;
      float *ss[ROWS];
      for (int r = 0; r < count; ++r)
        ss[r] = scores + group_row(b, heads, h * share, rows, r0 + r, length);
      const char *at = prepared + (size_t)(bh * blocks + r0 / ROWS) * size;
      if (integer)
        scores_rows_int(k, b, h, (const int_rows *)at, count, t0, t1, ss);
      else
        scores_rows_avx512(k, b, h, (const prepared_rows *)at, count, t0, t1,
                           ss);
    }
  }
  free(prepared);
}

void quantc_kv_values(const qc_kv_cache *v, const float *p, int64_t heads,
                      int64_t rows, int64_t length, float *out) {
  if (!use_avx512(v)) {
    values_generic(v, p, heads, rows, length, out);
    return;
  }
  const int64_t share = heads / v->kv_heads, n = share * rows;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t bh = 0; bh < v->batch * v->kv_heads; ++bh)
    for (int64_t r0 = 0; r0 < n; r0 += ROWS) {
      int64_t b = bh / v->kv_heads, h = bh % v->kv_heads;
      int count = n - r0 < ROWS ? (int)(n - r0) : ROWS;
      const float *ps[ROWS];
      float *os[ROWS];
      for (int r = 0; r < count; ++r) {
        ps[r] = p + group_row(b, heads, h * share, rows, r0 + r, length);
        os[r] = out + group_row(b, heads, h * share, rows, r0 + r, v->dim);
      }
      if (use_int(v) && (v->bits == 8 || v->bits == 4))
        values_rows_int(v, b, h, ps, count, length, os);
      else
        values_rows_avx512(v, b, h, ps, count, length, os);
    }
}

/* ---- keys stored before RoPE ------------------------------------------- */

static void key_row_generic(const qc_kv_cache *k, int64_t b, int64_t h,
                            int64_t t, float *out) {
  const uint8_t *row = token_row(k, b, h, t);
  int64_t s = (k->flags & QC_KV_PER_TOKEN) ? token_scales(k, b, h, t) : 0;
  for (int64_t d = 0; d < k->dim; ++d)
    out[d] = value_at(k, row, s, h, d);
}

/* Scores of tokens [t0, t1) of KV head (b, h) for its query heads: each
 * key decoded into `key`, rotated to its position, then dotted with every
 * query row. */
static void rope_scores_generic(const qc_kv_cache *k, const qc_kv_rope *rope,
                                const float *q, int64_t heads, int64_t rows,
                                int64_t length, float *scores, int64_t b,
                                int64_t h, int64_t t0, int64_t t1, float *key) {
  const int64_t dim = k->dim, share = heads / k->kv_heads;
  const int64_t half = rope->rotary / 2;
  for (int64_t t = t0; t < t1; ++t) {
    key_row_generic(k, b, h, t, key);
    const float *cs = rope->table + (b * rope->capacity + t) * 2 * dim;
    const float *sn = cs + dim;
    for (int64_t d = 0; d < half; ++d) {
      float lo = key[d], hi = key[d + half];
      key[d] = lo * cs[d] - hi * sn[d];
      key[d + half] = hi * cs[d + half] + lo * sn[d + half];
    }
    for (int64_t n = 0; n < share * rows; ++n) {
      const float *qr = q + group_row(b, heads, h * share, rows, n, dim);
      float sum = 0;
      for (int64_t d = 0; d < dim; ++d)
        sum += qr[d] * key[d];
      scores[group_row(b, heads, h * share, rows, n, length) + t] = sum;
    }
  }
}

/* The same on AVX-512, in registers, for tokens [t0, t1) of every KV head
 * of batch row b, token by token (its cos and sin, 1 KiB at head dim 128,
 * then come from L1 for every head): each key decoded and scaled, vector j
 * of the rotated part paired with vector j + rotary / 32, then dotted with
 * the head's query rows (rotary a multiple of 32). */
__attribute__((target("avx512f,avx512bw,avx512vl"),
               always_inline)) static inline void
rope_scores_body(const qc_kv_cache *k, const qc_kv_rope *rope, const float *q,
                 int64_t heads, int64_t rows, int64_t length, float *scores,
                 int64_t b, int64_t t0, int64_t t1, const int kind) {
  const int64_t dim = k->dim, chunks = (dim + 15) / 16, full = dim / 16;
  const int64_t share = heads / k->kv_heads, n = share * rows;
  const int64_t pairs = rope->rotary / 32;
  const int per_token = kind != 32 && (k->flags & QC_KV_PER_TOKEN);
  const __mmask16 tail = tail_lanes(dim, full);
  __m512 key[MAX_DIM / 16];
  for (int64_t t = t0; t < t1; ++t) {
    const float *cs = rope->table + (b * rope->capacity + t) * 2 * dim;
    const float *sn = cs + dim;
    for (int64_t h = 0; h < k->kv_heads; ++h) {
      const uint8_t *row = token_row(k, b, h, t);
      read_ahead(row, k->row_bytes);
      const int64_t at = per_token ? token_scales(k, b, h, t) : h * dim;
      for (int64_t j = 0; j < chunks; ++j) {
        __mmask16 lanes = j < full ? (__mmask16)0xffff : tail;
        __m512 c = decode16(row, kind, j, lanes);
        if (per_token) {
          int64_t g = at + j * 16 / k->group;
          c = _mm512_fmadd_ps(c, _mm512_set1_ps(k->scale[g] * KV_GAIN(kind)),
                              _mm512_set1_ps(k->offset[g]));
        } else if (kind != 32) {
          c = _mm512_fmadd_ps(
              c, _mm512_maskz_loadu_ps(lanes, k->scale + at + j * 16),
              _mm512_maskz_loadu_ps(lanes, k->offset + at + j * 16));
        }
        key[j] = c;
      }
      for (int64_t j = 0; j < pairs; ++j) {
        __m512 lo = key[j], hi = key[j + pairs];
        key[j] = _mm512_fnmadd_ps(hi, _mm512_loadu_ps(sn + j * 16),
                                  _mm512_mul_ps(lo, _mm512_loadu_ps(cs + j * 16)));
        key[j + pairs] = _mm512_fmadd_ps(
            lo, _mm512_loadu_ps(sn + (j + pairs) * 16),
            _mm512_mul_ps(hi, _mm512_loadu_ps(cs + (j + pairs) * 16)));
      }
      /* The KV head's query rows are consecutive. */
      const int64_t first = (b * heads + h * share) * rows;
      for (int64_t r = 0; r < n; ++r) {
        const float *qr = q + (first + r) * dim;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t j = 0; j < full; ++j)
          acc = _mm512_fmadd_ps(_mm512_loadu_ps(qr + j * 16), key[j], acc);
        if (full < chunks)
          acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, qr + full * 16),
                                key[full], acc);
        scores[(first + r) * length + t] = _mm512_reduce_add_ps(acc);
      }
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
rope_scores_avx512(const qc_kv_cache *k, const qc_kv_rope *rope, const float *q,
                   int64_t heads, int64_t rows, int64_t length, float *scores,
                   int64_t b, int64_t t0, int64_t t1) {
  switch (row_kind(k)) {
#define ROPE_KIND(kind)                                                        \
  case kind:                                                                   \
    rope_scores_body(k, rope, q, heads, rows, length, scores, b, t0, t1, kind); \
    break;
    ROPE_KIND(32)
    ROPE_KIND(8)
    ROPE_KIND(KV_E4M3)
    ROPE_KIND(4)
    ROPE_KIND(2)
#undef ROPE_KIND
  }
}

/* Work items of 256 tokens of one batch row, every KV head inside. */
#define ROPE_CHUNK 256

void quantc_kv_scores_rope(const qc_kv_cache *k, const qc_kv_rope *rope,
                           const float *q, int64_t heads, int64_t rows,
                           int64_t length, float *scores) {
  const int fast = use_avx512(k) && rope->rotary % 32 == 0;
  const int64_t chunks = (length + ROPE_CHUNK - 1) / ROPE_CHUNK;
#pragma omp parallel
  {
    float *key = aligned_alloc(
        64, (size_t)((k->dim + 15) / 16 + 1) * 16 * sizeof(float));
#pragma omp for schedule(static)
    for (int64_t u = 0; u < k->batch * chunks; ++u) {
      int64_t b = u / chunks, t0 = u % chunks * ROPE_CHUNK;
      int64_t t1 = t0 + ROPE_CHUNK < length ? t0 + ROPE_CHUNK : length;
      if (fast)
        rope_scores_avx512(k, rope, q, heads, rows, length, scores, b, t0, t1);
      else
        for (int64_t h = 0; h < k->kv_heads; ++h)
          rope_scores_generic(k, rope, q, heads, rows, length, scores, b, h,
                              t0, t1, key);
    }
    free(key);
  }
}

/* ---- the C interface of compiled code ---------------------------------- */

static qc_kv_cache cache_of(qc_memref2d_i8 *codes, qc_memref2d_f32 *scale,
                            qc_memref2d_f32 *offset, int64_t batch,
                            int64_t kv_heads, int64_t capacity, int64_t dim,
                            int64_t bits, int64_t group, int64_t flags) {
  qc_kv_cache c = {(uint8_t *)(codes->aligned + codes->offset),
                   scale->aligned + scale->offset,
                   offset->aligned + offset->offset,
                   batch,
                   kv_heads,
                   capacity,
                   dim,
                   quantc_kv_row_bytes((int32_t)bits, dim),
                   group,
                   (int32_t)bits,
                   (int32_t)flags};
  return c;
}

/* The rows of a 2-D view, dense: the view itself, or a copy (`*copy`, to be
 * freed; filled from the view when `read`). */
static float *dense_rows(qc_memref2d_f32 *m, int read, float **copy) {
  float *base = m->aligned + m->offset;
  int64_t rows = m->sizes[0], cols = m->sizes[1];
  *copy = NULL;
  if (m->strides[1] == 1 && (rows <= 1 || m->strides[0] == cols))
    return base;
  *copy = malloc((size_t)(rows * cols + 1) * sizeof(float));
  if (read)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        (*copy)[r * cols + c] = base[r * m->strides[0] + c * m->strides[1]];
  return *copy;
}

static void write_back(qc_memref2d_f32 *m, const float *copy) {
  if (!copy)
    return;
  float *base = m->aligned + m->offset;
  for (int64_t r = 0; r < m->sizes[0]; ++r)
    for (int64_t c = 0; c < m->sizes[1]; ++c)
      base[r * m->strides[0] + c * m->strides[1]] = copy[r * m->sizes[1] + c];
}

void _mlir_ciface_quantc_kv_append(qc_memref2d_f32 *x, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t at) {
  qc_kv_cache c = cache_of(codes, scale, offset, batch, kv_heads, capacity, dim,
                           bits, group, flags);
  float *copy;
  const float *rows = dense_rows(x, 1, &copy);
  int64_t count = batch * kv_heads > 0 ? x->sizes[0] / (batch * kv_heads) : 0;
  quantc_kv_append(&c, rows, at, count);
  free(copy);
}

void _mlir_ciface_quantc_kv_append_fixed(
    qc_memref2d_f32 *x, qc_memref2d_f32 *scale, qc_memref2d_f32 *offset,
    qc_memref2d_i8 *codes, int64_t batch, int64_t kv_heads, int64_t capacity,
    int64_t dim, int64_t bits, int64_t group, int64_t flags, int64_t at) {
  _mlir_ciface_quantc_kv_append(x, codes, scale, offset, batch, kv_heads,
                                capacity, dim, bits, group, flags, at);
}

/* q k^T (`values` 0) or p v (1) of rows `in` into `out`, dense or not. */
static void attend(int values, qc_memref2d_f32 *in, qc_memref2d_i8 *codes,
                   qc_memref2d_f32 *scale, qc_memref2d_f32 *offset,
                   qc_memref2d_f32 *out, int64_t batch, int64_t kv_heads,
                   int64_t capacity, int64_t dim, int64_t bits, int64_t group,
                   int64_t flags, int64_t length) {
  qc_kv_cache c = cache_of(codes, scale, offset, batch, kv_heads, capacity, dim,
                           bits, group, flags);
  float *in_copy, *out_copy;
  const float *rows = dense_rows(in, 1, &in_copy);
  float *o = dense_rows(out, 0, &out_copy);
  int64_t per_head =
      batch * kv_heads > 0 ? in->sizes[0] / (batch * kv_heads) : 0;
  if (values)
    quantc_kv_values(&c, rows, kv_heads, per_head, length, o);
  else
    quantc_kv_scores(&c, rows, kv_heads, per_head, length, o);
  write_back(out, out_copy);
  free(in_copy);
  free(out_copy);
}

void _mlir_ciface_quantc_kv_scores(qc_memref2d_f32 *q, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset,
                                   qc_memref2d_f32 *scores, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t length) {
  attend(0, q, codes, scale, offset, scores, batch, kv_heads, capacity, dim,
         bits, group, flags, length);
}

void _mlir_ciface_quantc_kv_values(qc_memref2d_f32 *p, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset,
                                   qc_memref2d_f32 *out, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t length) {
  attend(1, p, codes, scale, offset, out, batch, kv_heads, capacity, dim, bits,
         group, flags, length);
}

void _mlir_ciface_quantc_kv_scores_rope(
    qc_memref2d_f32 *q, qc_memref2d_i8 *codes, qc_memref2d_f32 *scale,
    qc_memref2d_f32 *offset, qc_memref2d_f32 *rope, qc_memref2d_f32 *scores,
    int64_t batch, int64_t kv_heads, int64_t capacity, int64_t dim,
    int64_t bits, int64_t group, int64_t flags, int64_t length,
    int64_t rotary) {
  qc_kv_cache c = cache_of(codes, scale, offset, batch, kv_heads, capacity, dim,
                           bits, group, flags);
  float *in_copy, *out_copy, *table_copy;
  const float *rows = dense_rows(q, 1, &in_copy);
  float *o = dense_rows(scores, 0, &out_copy);
  qc_kv_rope r = {dense_rows(rope, 1, &table_copy),
                  batch > 0 ? rope->sizes[0] / batch : 0, rotary};
  int64_t per_head =
      batch * kv_heads > 0 ? q->sizes[0] / (batch * kv_heads) : 0;
  quantc_kv_scores_rope(&c, &r, rows, kv_heads, per_head, length, o);
  write_back(scores, out_copy);
  free(in_copy);
  free(out_copy);
  free(table_copy);
}
