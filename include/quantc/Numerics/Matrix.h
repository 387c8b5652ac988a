//===- Matrix.h - reference quantization of weight matrices -----*- C++ -*-===//
//
// Round-to-nearest quantization of a K x N weight (row-major, ONNX MatMul B
// layout) into the stored pieces of a `qc.qconstant`, and back. This is the
// reference every target's kernels and every pass are checked against.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_NUMERICS_MATRIX_H
#define QUANTC_NUMERICS_MATRIX_H

#include "quantc/Numerics/Format.h"

#include <cstdint>
#include <vector>

namespace quantc::numerics {

/// The stored pieces of a quantized K x N matrix, laid out as `qc.qconstant`
/// documents (channel-major: one row per output column n).
struct QuantizedMatrix {
  int64_t k = 0, n = 0;
  Format format;
  /// N rows of format.rowBytes(K) packed codes.
  std::vector<uint8_t> codes;
  /// C x G scales rounded to the scale type, as float (empty when double
  /// quantized).
  std::vector<float> scales;
  /// Double quantization: C x G scale codes and M x 2 (scale, offset).
  std::vector<uint8_t> scaleCodes;
  std::vector<float> scaleParams;
  /// Affine only: C x G zero points.
  std::vector<uint8_t> zeroPoints;
  /// Outliers, CSR over channels.
  std::vector<int32_t> outlierOffsets, outlierColumns;
  std::vector<uint16_t> outlierValues; // f16 bit patterns

  /// Scale and zero point that apply to element (kk, nn).
  int64_t paramIndex(int64_t kk, int64_t nn) const;
};

/// Quantizes `weight` (K x N, row-major) to `format` by round-to-nearest.
/// With an outlier format, the elements where `outlierMask` (K x N) is true
/// are kept apart as f16 and left out of the group statistics.
/// `format` and the shape must be valid (Format::validate/validateShape).
QuantizedMatrix quantizeMatrix(const float *weight, int64_t k, int64_t n,
                               const Format &format,
                               const bool *outlierMask = nullptr);

/// The C x G scales in effect: `scales`, or decoded from the double-quantized
/// codes as offset + code * step, rounded to the scale type.
std::vector<float> decodedScales(const QuantizedMatrix &q);

/// The K x N float matrix a quantized matrix stands for.
std::vector<float> dequantizeMatrix(const QuantizedMatrix &q);

/// Scales as qc.qconstant and the kernels store them: f32 bytes as they
/// are, f16/bf16 as 16-bit patterns, little-endian.
std::vector<uint8_t> storedScaleBytes(const std::vector<float> &scales,
                                      ScaleType type);

/// Rounds scales (count values) to B-bit affine codes in blocks of `block`,
/// filling codes and (scale, offset) pairs; returns the decoded scales.
std::vector<float> doubleQuantizeScales(const std::vector<float> &scales,
                                        int bits, int64_t block,
                                        std::vector<uint8_t> &codes,
                                        std::vector<float> &params);

} // namespace quantc::numerics

#endif // QUANTC_NUMERICS_MATRIX_H
