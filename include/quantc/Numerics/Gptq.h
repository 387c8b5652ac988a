//===- Gptq.h - GPTQ weight quantization (reference numerics) --*- C++ -*-===//
//
// GPTQ (Frantar et al., 2022): quantizes a weight column by column, each
// column's rounding error spread onto the columns not yet quantized through
// the inverse Hessian of the layer's inputs, so that ||WX - W'X|| rather
// than ||W - W'|| is small. Plain C++ with Eigen; no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_NUMERICS_GPTQ_H
#define QUANTC_NUMERICS_GPTQ_H

#include "quantc/Numerics/Matrix.h"

#include <string>
#include <vector>

namespace quantc::numerics {

struct GptqOptions {
  /// Added to the Hessian's diagonal, as a fraction of its mean.
  double damping = 0.01;
  /// Columns quantized with eager error feedback before one lazy update of
  /// the remaining columns.
  int64_t blockSize = 128;
  /// Quantize columns in order of decreasing Hessian diagonal; group
  /// parameters are then fixed from the unquantized weight first (static
  /// groups), so groups stay contiguous in the stored layout.
  bool actOrder = false;
};

/// Quantizes `weight` (K x N, row-major, a linear layer's W of y = xW) to an
/// integer `format` (per channel or per group, symmetric or affine, no
/// double quantization or outliers) given `hessian` (K x K, row-major,
/// 2 X^T X / samples of the layer's inputs). Inputs never seen (a zero
/// diagonal) get zero weight. Returns false with `error` for a format it
/// cannot produce.
bool gptqQuantize(const float *weight, int64_t k, int64_t n,
                  const Format &format, const double *hessian,
                  const GptqOptions &options, QuantizedMatrix &result,
                  std::string &error);

/// Running statistics of one layer's inputs, fed a batch of rows at a time:
/// per-channel absmax and mean and the Hessian H = 2 X^T X / samples
/// (X^T X of each batch in f32, accumulated in f64).
class InputStatistics {
public:
  explicit InputStatistics(int64_t k);
  /// `rows` inputs of `k` channels, row-major.
  void add(const float *x, int64_t rows);
  int64_t k() const { return channels; }
  int64_t samples() const { return count; }
  std::vector<float> absmax() const { return max; }
  std::vector<float> mean() const;
  std::vector<double> hessian() const;

private:
  int64_t channels, count = 0;
  std::vector<double> xtx, sum; // xtx: K x K, symmetric
  std::vector<float> max;
};

/// ||(W - W')X||^2 / ||WX||^2 = tr(D^T H D) / tr(W^T H W) for D = W - W',
/// with W, W' K x N row-major and H K x K.
double relativeOutputError(const float *weight, const float *quantized,
                           int64_t k, int64_t n, const double *hessian);

} // namespace quantc::numerics

#endif // QUANTC_NUMERICS_GPTQ_H
