//===- Format.h - description of a quantized weight format ------*- C++ -*-===//
//
// Plain C++ (no MLIR): shared by the qc dialect, the passes, the runtime's
// reference paths and the tests, so the rules of a format live in one place.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_NUMERICS_FORMAT_H
#define QUANTC_NUMERICS_FORMAT_H

#include <cstdint>
#include <string>

namespace quantc::numerics {

/// How one element is coded.
enum class ElementCode { Int, NF4, FP4E2M1, FP8E4M3, FP8E5M2 };
/// Which elements share a scale: all, one output channel, or g consecutive
/// input elements of one output channel.
enum class Granularity { PerTensor, PerChannel, PerGroup };
/// The element type scales are stored in.
enum class ScaleType { F32, F16, BF16 };

/// A quantized weight format; see `#qc.format` for the meaning of each field.
struct Format {
  ElementCode code = ElementCode::Int;
  /// Bits per code: 2..8 for Int, 4 for NF4/FP4, 8 for FP8.
  int bits = 8;
  /// Signed codes without zero point; only Int may be affine.
  bool symmetric = true;
  Granularity granularity = Granularity::PerChannel;
  /// Elements per group along the input dimension (PerGroup only).
  int64_t groupSize = 0;
  ScaleType scaleType = ScaleType::F32;
  /// Bits of the double-quantized scale codes (3..8), 0 when scales are
  /// stored as they are.
  int scaleBits = 0;
  /// Scales sharing one second-level scale and offset (double quant only).
  int64_t scaleBlock = 0;
  /// Sparse f16 outliers (CSR) replace some dense elements.
  bool outliers = false;

  /// An empty string when the fields form a valid format, else why not.
  std::string validate() const;
  /// An empty string when a K x N weight can be stored in this format.
  std::string validateShape(int64_t k, int64_t n) const;
  /// Scales per output channel for input dimension `k`: ceil(k / g) groups,
  /// the last one shorter when g does not divide k.
  int64_t groupsPerChannel(int64_t k) const;
  /// Channels of scales: n, or 1 per tensor.
  int64_t scaleChannels(int64_t n) const;
  /// Bytes of one packed row (channel) of `k` codes.
  int64_t rowBytes(int64_t k) const { return (k * bits + 7) / 8; }
  /// Smallest and largest code value (signed for symmetric Int).
  int32_t minCode() const;
  int32_t maxCode() const;
};

/// Code and granularity spelled as in `#qc.format` (e.g. "int4", "nf4").
std::string codeName(ElementCode code, int bits);

} // namespace quantc::numerics

#endif // QUANTC_NUMERICS_FORMAT_H
