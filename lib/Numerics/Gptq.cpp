//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//

#include "quantc/Numerics/Gptq.h"
#include "quantc/Numerics/Pack.h"
#include "quantc/Numerics/Scalar.h"

#include <Eigen/Dense>

#include <algorithm>
#include <numeric>

namespace quantc::numerics {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

/// Scale (rounded to the scale type) and zero point of one group of one
/// channel, from its values' range, as quantizeMatrix computes them.
IntParams groupParams(const double *values, int64_t count,
                      const Format &f) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, static_cast<float>(values[i]));
    hi = std::max(hi, static_cast<float>(values[i]));
  }
  IntParams p = f.symmetric
                    ? IntParams{std::max(-lo, hi) / codeMaxMagnitude(f), 0}
                    : affineParams(lo, hi, f.bits);
  p.scale = roundToScaleType(p.scale, f.scaleType);
  return p;
}

/// L^-1 of a lower-triangular L, its column blocks solved in parallel
/// (Eigen's triangular solve runs on one thread); block b of L^-1 only
/// needs the trailing part of L.
Matrix lowerInverse(const Matrix &l) {
  const int64_t k = l.rows(), width = 64;
  Matrix inv = Matrix::Zero(k, k);
#pragma omp parallel for schedule(dynamic)
  for (int64_t b0 = 0; b0 < k; b0 += width) {
    int64_t cols = std::min(width, k - b0), rows = k - b0;
    Matrix block = Matrix::Identity(rows, cols);
    l.block(b0, b0, rows, rows)
        .triangularView<Eigen::Lower>()
        .solveInPlace(block);
    inv.block(b0, b0, rows, cols) = block;
  }
  return inv;
}

} // namespace

bool gptqQuantize(const float *weight, int64_t k, int64_t n,
                  const Format &f, const double *hessian,
                  const GptqOptions &options, QuantizedMatrix &result,
                  std::string &error) {
  if (f.code != ElementCode::Int || f.scaleBits != 0 || f.outliers ||
      f.granularity == Granularity::PerTensor) {
    error = "GPTQ produces integer per-channel or per-group formats without "
            "double quantization or outliers";
    return false;
  }
  if (std::string why = f.validateShape(k, n); !why.empty()) {
    error = why;
    return false;
  }
  const int64_t groupLen =
      f.granularity == Granularity::PerGroup ? f.groupSize : k;
  const int64_t groups = f.groupsPerChannel(k);

  // W as channels x inputs; H over inputs.
  Matrix w(n, k), h(k, k);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t nn = 0; nn < n; ++nn)
      w(nn, kk) = weight[kk * n + nn];
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      h(i, j) = hessian[i * k + j];
  // Dead inputs: never seen, so nothing to preserve; keep H invertible.
  for (int64_t i = 0; i < k; ++i)
    if (h(i, i) == 0) {
      h(i, i) = 1;
      w.col(i).setZero();
    }

  // Group parameters: fixed up front with act-order (static groups), else
  // computed from the updated weights when a group's first column comes.
  std::vector<IntParams> params(n * groups);
  auto setGroup = [&](const Matrix &from, int64_t g, int64_t column0) {
    int64_t len = std::min(groupLen, k - g * groupLen);
    std::vector<double> values(len);
    for (int64_t nn = 0; nn < n; ++nn) {
      for (int64_t i = 0; i < len; ++i)
        values[i] = from(nn, column0 + i);
      params[nn * groups + g] = groupParams(values.data(), len, f);
    }
  };
  std::vector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (options.actOrder) {
    for (int64_t g = 0; g < groups; ++g)
      setGroup(w, g, g * groupLen);
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h(a, a) > h(b, b);
    });
    Matrix wp(n, k), hp(k, k);
    for (int64_t i = 0; i < k; ++i) {
      wp.col(i) = w.col(perm[i]);
      for (int64_t j = 0; j < k; ++j)
        hp(i, j) = h(perm[i], perm[j]);
    }
    w.swap(wp);
    h.swap(hp);
  }

  // Damping, then the upper Cholesky factor U of H^-1 (H^-1 = U^T U) from
  // one Cholesky: with J the reversal permutation, J H J = L L^T gives
  // H^-1 = (J L^-1 J)^T (J L^-1 J), and J L^-1 J is upper triangular.
  h.diagonal().array() += options.damping * h.diagonal().mean();
  Eigen::LLT<Matrix> llt(h.reverse());
  if (llt.info() != Eigen::Success) {
    error = "the damped Hessian is not positive definite";
    return false;
  }
  Matrix u = lowerInverse(llt.matrixL()).reverse();
  std::vector<int32_t> codes(k * n); // [original column][channel]
  const int32_t qmin = f.minCode(), qmax = f.maxCode();
  for (int64_t i1 = 0; i1 < k; i1 += options.blockSize) {
    int64_t i2 = std::min(i1 + options.blockSize, k), count = i2 - i1;
    Matrix err(n, count);
    for (int64_t i = 0; i < count; ++i) {
      int64_t column = i1 + i, original = perm[column];
      int64_t g = original / groupLen;
      if (!options.actOrder && original % groupLen == 0) {
        // The group's columns past this block have not had its lazy
        // update yet: its parameters must see what the columns quantized
        // so far in this block owe them (as unblocked GPTQ would), else a
        // group size that does not divide the block size gets parameters
        // of stale weights.
        int64_t len = std::min(groupLen, k - column);
        Matrix current = w.block(0, column, n, len);
        int64_t past = std::max<int64_t>(0, column + len - i2);
        if (past > 0 && i > 0)
          current.rightCols(past).noalias() -=
              err.leftCols(i) * u.block(i1, i2, i, past);
        setGroup(current, g, 0);
      }
      double d = u(column, column);
      for (int64_t nn = 0; nn < n; ++nn) {
        IntParams p = params[nn * groups + g];
        int32_t code = quantizeInt(static_cast<float>(w(nn, column)), p,
                                   qmin, qmax);
        codes[original * n + nn] = code;
        err(nn, i) = (w(nn, column) - dequantizeInt(code, p)) / d;
      }
      // Eager feedback inside the block.
      w.block(0, column + 1, n, i2 - column - 1).noalias() -=
          err.col(i) * u.block(column, column + 1, 1, i2 - column - 1);
    }
    // Lazy batched update of the columns after the block.
    if (i2 < k)
      w.block(0, i2, n, k - i2).noalias() -=
          err * u.block(i1, i2, count, k - i2);
  }

  // The stored pieces, as quantizeMatrix lays them out.
  QuantizedMatrix &q = result;
  q = QuantizedMatrix();
  q.k = k;
  q.n = n;
  q.format = f;
  q.scales.resize(n * groups);
  if (!f.symmetric)
    q.zeroPoints.resize(n * groups);
  for (int64_t i = 0; i < n * groups; ++i) {
    q.scales[i] = params[i].scale;
    if (!f.symmetric)
      q.zeroPoints[i] = static_cast<uint8_t>(params[i].zeroPoint);
  }
  const int64_t rowBytes = f.rowBytes(k);
  const uint8_t mask = static_cast<uint8_t>((1u << f.bits) - 1);
  q.codes.assign(n * rowBytes, 0);
  std::vector<uint8_t> row(k);
  for (int64_t nn = 0; nn < n; ++nn) {
    for (int64_t kk = 0; kk < k; ++kk)
      row[kk] = static_cast<uint8_t>(codes[kk * n + nn]) & mask;
    packCodes(row.data(), k, f.bits, &q.codes[nn * rowBytes]);
  }
  return true;
}

InputStatistics::InputStatistics(int64_t k)
    : channels(k), xtx(k * k, 0.0), sum(k, 0.0), max(k, 0.0f) {}

void InputStatistics::add(const float *x, int64_t rows) {
  using RowMajor =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> xm(x, rows, channels);
  Eigen::MatrixXf batch = xm.transpose() * xm;
  Eigen::Map<Matrix> acc(xtx.data(), channels, channels);
  acc.triangularView<Eigen::Lower>() += batch.cast<double>();
  Eigen::Map<Eigen::ArrayXf> m(max.data(), channels);
  m = m.max(xm.cwiseAbs().colwise().maxCoeff().array().transpose());
  Eigen::Map<Eigen::ArrayXd>(sum.data(), channels) +=
      xm.colwise().sum().cast<double>().array().transpose();
  count += rows;
}

std::vector<float> InputStatistics::mean() const {
  std::vector<float> out(channels);
  for (int64_t i = 0; i < channels; ++i)
    out[i] = static_cast<float>(sum[i] / count);
  return out;
}

std::vector<double> InputStatistics::hessian() const {
  std::vector<double> h(channels * channels);
  for (int64_t i = 0; i < channels; ++i)
    for (int64_t j = 0; j <= i; ++j)
      h[i * channels + j] = h[j * channels + i] =
          2.0 * xtx[j * channels + i] / count; // lower triangle, col-major
  return h;
}

double relativeOutputError(const float *weight, const float *quantized,
                           int64_t k, int64_t n, const double *hessian) {
  Eigen::Map<const Matrix> h(hessian, k, k); // symmetric: either order
  Matrix w(k, n), d(k, n);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      w(i, j) = weight[i * n + j];
      d(i, j) = weight[i * n + j] - quantized[i * n + j];
    }
  return (h * d).cwiseProduct(d).sum() / (h * w).cwiseProduct(w).sum();
}

} // namespace quantc::numerics
