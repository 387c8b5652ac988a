/*===- kernels.h - CPU microkernels called from generated code ----*- C -*-===*
 *
 * Plain C, no MLIR or LLVM: compiled code calls these through MLIR's C
 * interface for memrefs (a pointer to a descriptor per argument); the JIT
 * and the runtime both link them.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QUANTC_KERNELS_H
#define QUANTC_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The descriptor of memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>. */
typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} qc_memref3d_f32;

/* Flags of quantc_matmul_f32. */
enum {
  QC_MATMUL_INIT = 1,        /* C = A x B: C's previous values are not read */
  QC_MATMUL_TRANSPOSED_B = 2 /* B is given as [batch or 1, N, K] */
};

/* C[b] += A[b] x B[b or 0]: A is [batch, M, K], B is [batch or 1, K, N]
 * (one B shared by every batch when its batch size is 1; [.., N, K] with
 * QC_MATMUL_TRANSPOSED_B), C is [batch, M, N]. Rows may have any stride;
 * the fast paths need unit column strides. */
void _mlir_ciface_quantc_matmul_f32(qc_memref3d_f32 *a, qc_memref3d_f32 *b,
                                    qc_memref3d_f32 *c, int64_t flags);

/* The descriptor of memref<?x?xf32, strided<[?, ?], offset: ?>>. */
typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} qc_memref2d_f32;

/* The descriptor of memref<?xi8> (raw bytes of a weight's stored pieces). */
typedef struct {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} qc_memref1d_i8;

/* Flags of quantc_qmatmul_f32: the kind of codes and of scales. */
enum {
  QC_QMATMUL_SYMMETRIC = 1,
  QC_QMATMUL_SCALE_F16 = 2,
  QC_QMATMUL_SCALE_BF16 = 4,
  QC_QMATMUL_INIT = 8, /* C = A x W, C's previous values not read */
  /* Up to 8 rows may be quantized to int8 (per 128 elements, scale
   * max|x|/127) and dotted in integers (AVX-512 VNNI), as ONNX Runtime's
   * MatMulNBits accuracy_level 4 and llama.cpp do; ignored where the CPU,
   * the bit width (4 or 8) or the group size (a multiple of 128) do not
   * allow it. */
  QC_QMATMUL_INT8_ACT = 16,
  /* Codes index `table` (2^bits f32 values: NF4, FP4); always symmetric. */
  QC_QMATMUL_CODEBOOK = 32,
  /* 8-bit codes are FP8 bit patterns (E4M3 without infinities, E5M2). */
  QC_QMATMUL_FP8_E4M3 = 64,
  QC_QMATMUL_FP8_E5M2 = 128,
  /* Scales are double-quantized: `scales` holds C x G unsigned 8-bit codes,
   * `scaleParams` an f32 (step, offset) pair for each `scaleBlock`
   * consecutive scales; a scale is offset + code * step, rounded to the
   * scale type. */
  QC_QMATMUL_DOUBLE_QUANT = 256
};

/* C (+)= A x W, A [M, K] and C [M, N] row-major (unit column stride), with
 * W a K x N quantized weight in the layout of qc.qconstant (N rows of K
 * codes packed little-endian at `bits` bits: integers, FP8 bit patterns or
 * indices into `table`; C x G scales (f32, f16 or bf16 bit patterns, or
 * double-quantized codes with `scaleParams`); affine: C x G unsigned zero
 * points, one byte each), `group` input elements per scale (0: one per
 * channel). `table` and `scaleParams` are read only with their flags.
 * W is never materialized: panels of it are decoded into cache as the
 * product needs them. */
void _mlir_ciface_quantc_qmatmul_f32(
    qc_memref2d_f32 *a, qc_memref1d_i8 *codes, qc_memref1d_i8 *scales,
    qc_memref1d_i8 *zeros, qc_memref1d_i8 *table, qc_memref1d_i8 *scaleParams,
    qc_memref2d_f32 *c, int64_t k, int64_t n, int64_t bits, int64_t group,
    int64_t scaleBlock, int64_t flags);

/* W8A8: C (+)= A x W with A's rows quantized to int8 and multiplied in
 * integers. W is K x N with 8-bit integer codes, one scale (f32, f16 or
 * bf16 by the flags) and, unless QC_QMATMUL_SYMMETRIC, one unsigned zero
 * point per channel, in qc.qconstant's layout. `factors`: empty, or K f32
 * that A's columns are multiplied by (in f32) before quantization
 * (SmoothQuant's 1/s). act_scale > 0: every row is quantized with it and
 * the zero point act_zero (-128..127): round half to even of x / s, plus
 * act_zero, clamped to [-128, 127]; else each row with its own scale,
 * max|x|/127, and act_zero must be 0. The result is s_x s_w sum q_x (q_w -
 * z_w): the product of x's codes as they are, so with act_zero != 0 it
 * holds act_zero s_x times W's column sums too, which the caller takes off
 * (a constant per channel). Sums are exact in int32 for K <= 65536. */
void _mlir_ciface_quantc_qmatmul_i8(qc_memref2d_f32 *a, qc_memref1d_i8 *codes,
                                    qc_memref1d_i8 *scales,
                                    qc_memref1d_i8 *zeros,
                                    qc_memref1d_i8 *factors, qc_memref2d_f32 *c,
                                    int64_t k, int64_t n, float act_scale,
                                    int64_t flags, int64_t act_zero);

/* W8A8 with LLM.int8()'s split: the `count` input columns listed in
 * `columns` (int32, increasing) are left out of A's quantization (as 0)
 * and multiplied in f32 by `fp` (f32, N x count: channel j's weights of the
 * listed columns), added to each output as it is written (the columns
 * taken after the factors apply). W's codes at
 * those columns are not read for them (0 in what qc-split-outliers
 * writes). */
void _mlir_ciface_quantc_qmatmul_i8_split(
    qc_memref2d_f32 *a, qc_memref1d_i8 *codes, qc_memref1d_i8 *scales,
    qc_memref1d_i8 *zeros, qc_memref1d_i8 *factors, qc_memref1d_i8 *columns,
    qc_memref1d_i8 *fp, qc_memref2d_f32 *c, int64_t k, int64_t n,
    float act_scale, int64_t flags, int64_t count, int64_t act_zero);

/* A KV cache of one layer as quantc stores it: for each batch row b and
 * KV head h, `capacity` token rows of `row_bytes` bytes, token t of (b, h)
 * at codes + ((b * kv_heads + h) * capacity + t) * row_bytes. A row holds
 * the head's `dim` values as:
 * - bits 32: f32 values (no scales);
 * - bits 8: one unsigned code a byte;
 * - bits 4 and 2: blocks of 16 bytes, 32 (4-bit) or 64 (2-bit) codes a
 *   block: byte i of a block holds codes i, i + 16, (i + 32, i + 48) from
 *   its low bits up, so that masks and shifts of 16 bytes give 16
 *   consecutive codes; the last block is padded with zero codes.
 * A value is scale * code + offset, with (scale, offset):
 * - per token (QC_KV_PER_TOKEN): for each token and group of `group`
 *   consecutive values along dim, at [(b * kv_heads + h) * capacity + t]
 *   [dim / group] of `scale` and `offset`; the codes span the group's
 *   [min, max] (written by quantc_kv_append);
 * - per channel: fixed (calibrated) ones, [h][dim] of `scale` and `offset`,
 *   shared by every batch row and token; codes are clamped to their range.
 * FP8 (QC_KV_E4M3, with bits 8 and per token): each byte is an OCP FP8
 * E4M3 number (sign, 4 exponent bits of bias 7, 3 mantissa bits; no
 * infinities, 0x7f/0xff NaN, never written) and a value is scale * e4m3 +
 * offset, with scale the group's max |x| / 448 and offset 0 (kept so that
 * the layout is that of int8 caches). */
enum { QC_KV_PER_TOKEN = 1, QC_KV_E4M3 = 2 };

typedef struct {
  uint8_t *codes;
  float *scale, *offset;
  int64_t batch, kv_heads, capacity, dim, row_bytes, group;
  int32_t bits, flags;
} qc_kv_cache;

/* Bytes of one token row of a cache of `bits` (32, 8, 4, 2) and `dim`
 * (inline: the compiler lays caches out with it too). */
static inline int64_t quantc_kv_row_bytes(int32_t bits, int64_t dim) {
  switch (bits) {
  case 32:
    return 4 * dim;
  case 8:
    return dim;
  case 4:
    return (dim + 31) / 32 * 16;
  case 2:
    return (dim + 63) / 64 * 16;
  default:
    return 0;
  }
}

/* Writes x ([batch, kv_heads, count, dim], f32, dense) at positions
 * [at, at + count) of the cache (quantized, with each token's scales where
 * they are per token). */
void quantc_kv_append(const qc_kv_cache *cache, const float *x, int64_t at,
                      int64_t count);

/* The attention products over positions [0, length) of the cache, for
 * queries of `heads` heads (a multiple of kv_heads: query head i reads KV
 * head i / (heads / kv_heads)) and `rows` rows each, dense:
 * scores[b, i, r, t] = sum_d q[b, i, r, d] key[b, h, t, d];
 * out[b, i, r, d] = sum_t p[b, i, r, t] value[b, h, t, d]. The cache is
 * decoded in registers, never into memory. With AVX-512 VNNI, scores of
 * an integer cache (per-channel scales, or one scale a token) multiply
 * codes by the query row rounded to 16 bits, in steps of
 * max_d |q_d scale_d| / 32639 (per channel; scale_d = 1 per token): the
 * products are exact int32 sums, against codes taken about their middle
 * 2^(bits-1). Likewise values of 8- and 4-bit caches: each block of 128
 * tokens' weights p_t (times the token's scale, per token) is rounded to
 * 16 bits, in steps of the block's max |weight| / 32767. */
void quantc_kv_scores(const qc_kv_cache *keys, const float *q, int64_t heads,
                      int64_t rows, int64_t length, float *scores);
void quantc_kv_values(const qc_kv_cache *values, const float *p, int64_t heads,
                      int64_t rows, int64_t length, float *out);

/* Keys stored before RoPE (quantc compile --kv-pre-rope): the table of
 * each position's rotation, `table` + (b * capacity + t) * 2 * dim holding
 * the `dim` cosines of (batch row b, position t), then the `dim` sines, as
 * the model computed them; RoPE rotates the first `rotary` values of a
 * head (rotate_half: value d < rotary / 2 pairs with d + rotary / 2). */
typedef struct {
  const float *table;
  int64_t capacity, rotary;
} qc_kv_rope;

/* quantc_kv_scores against keys rotated at their positions:
 * key'[d] = key[d] cos[d] - key[d + half] sin[d] for d < half,
 * key[d] cos[d] + key[d - half] sin[d] for half <= d < rotary, key[d]
 * beyond; each token's key decoded and rotated once, in a buffer of one
 * row, for every query row that reads it. */
void quantc_kv_scores_rope(const qc_kv_cache *keys, const qc_kv_rope *rope,
                           const float *q, int64_t heads, int64_t rows,
                           int64_t length, float *scores);

/* The descriptor of memref<?x?xi8, strided<[?, ?], offset: ?>>. */
typedef struct {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} qc_memref2d_i8;

/* The KV-cache kernels as compiled code calls them (qc.ukernel ops of
 * qc-quantize-kv-cache, after quantc-lower-ukernels): every buffer as the
 * 2-D view of its rows, the cache's shape as scalars. `codes` is
 * [batch * kv_heads * capacity, row_bytes], `scale` and `offset` are
 * [batch * kv_heads * capacity, dim / group] (per token) or [kv_heads,
 * dim] (per channel); x, q and p are
 * the dense [batch, heads, rows, ...] tensors of quantc_kv_append,
 * quantc_kv_scores and quantc_kv_values with heads = kv_heads (the query
 * heads of a KV head stacked as its rows). */
void _mlir_ciface_quantc_kv_append(qc_memref2d_f32 *x, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t at);
/* The write of a cache with fixed per-channel scales (flags 0): `scale`
 * and `offset` are [kv_heads, dim], read only. */
void _mlir_ciface_quantc_kv_append_fixed(
    qc_memref2d_f32 *x, qc_memref2d_f32 *scale, qc_memref2d_f32 *offset,
    qc_memref2d_i8 *codes, int64_t batch, int64_t kv_heads, int64_t capacity,
    int64_t dim, int64_t bits, int64_t group, int64_t flags, int64_t at);
void _mlir_ciface_quantc_kv_scores(qc_memref2d_f32 *q, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset,
                                   qc_memref2d_f32 *scores, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t length);
void _mlir_ciface_quantc_kv_values(qc_memref2d_f32 *p, qc_memref2d_i8 *codes,
                                   qc_memref2d_f32 *scale,
                                   qc_memref2d_f32 *offset,
                                   qc_memref2d_f32 *out, int64_t batch,
                                   int64_t kv_heads, int64_t capacity,
                                   int64_t dim, int64_t bits, int64_t group,
                                   int64_t flags, int64_t length);
/* Scores against keys stored before RoPE: `rope` is the table of
 * qc_kv_rope, [batch * capacity, 2 * dim]. */
void _mlir_ciface_quantc_kv_scores_rope(
    qc_memref2d_f32 *q, qc_memref2d_i8 *codes, qc_memref2d_f32 *scale,
    qc_memref2d_f32 *offset, qc_memref2d_f32 *rope, qc_memref2d_f32 *scores,
    int64_t batch, int64_t kv_heads, int64_t capacity, int64_t dim,
    int64_t bits, int64_t group, int64_t flags, int64_t length,
    int64_t rotary);

/* An unranked memref: the rank and a pointer to a ranked descriptor. */
typedef struct {
  int64_t rank;
  void *descriptor;
} qc_unranked_memref;

/* memref.copy between strided views (the symbol MLIR's lowering calls). */
void memrefCopy(int64_t elem_size, qc_unranked_memref *src,
                qc_unranked_memref *dst);

/* Name of the instruction set the matmul dispatches to ("avx512f",
 * "avx2+fma" or "generic"): the widest the CPU has, or a narrower one named
 * by the environment variable QUANTC_MATMUL_ISA. */
const char *quantc_matmul_isa(void);

#ifdef __cplusplus
}
#endif

#endif /* QUANTC_KERNELS_H */
