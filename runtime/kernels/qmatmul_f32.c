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

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NB 64      /* channels decoded per tile (prefill) */
#define FEW_ROWS 4 /* rows up to which channels are dotted directly */

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

/* The group parameters of channel j: scale and zero point. */
static void params(const qweight *w, int64_t j, int64_t g, float *scale,
                   float *zero) {
  int64_t i = j * w->groups + g;
  *scale = scale_at(w, i);
  *zero = (w->flags & QC_QMATMUL_SYMMETRIC) ? 0.0f : (float)w->zeros[i];
}

/* Few rows: y[r, j] = sum_g scale * (x_g . codes_g - zero * sum(x_g)). */
static void dot_rows(const qweight *w, const float *a, int64_t lda,
                     float *c, int64_t ldc, int64_t m, int zero) {
  int64_t gl = w->group ? w->group : w->k;
  float *sums = malloc(sizeof(float) * (size_t)(m * w->groups));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t g = 0; g < w->groups; ++g) {
      float s = 0;
      for (int64_t p = g * gl; p < (g + 1) * gl && p < w->k; ++p)
        s += a[r * lda + p];
      sums[r * w->groups + g] = s;
    }
#pragma omp parallel if (w->n * w->k > 32768)
  {
    float *codes = malloc(sizeof(float) * (size_t)gl);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < w->n; ++j) {
      float acc[FEW_ROWS] = {0};
      for (int64_t g = 0; g < w->groups; ++g) {
        int64_t k0 = g * gl, len = w->k - k0 < gl ? w->k - k0 : gl;
        decode_codes(w, j, k0, len, codes);
        float scale, zp;
        params(w, j, g, &scale, &zp);
        for (int64_t r = 0; r < m; ++r) {
          const float *x = a + r * lda + k0;
          float d = 0;
          for (int64_t p = 0; p < len; ++p)
            d += x[p] * codes[p];
          acc[r] += scale * (d - zp * sums[r * w->groups + g]);
        }
      }
      for (int64_t r = 0; r < m; ++r)
        c[r * ldc + j] = zero ? acc[r] : c[r * ldc + j] + acc[r];
    }
    free(codes);
  }
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
