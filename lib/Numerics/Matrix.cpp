//===- Matrix.cpp - reference quantization of weight matrices -------------===//

#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Pack.h"
#include "quantc/Numerics/Scalar.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace quantc::numerics {

int64_t QuantizedMatrix::paramIndex(int64_t kk, int64_t nn) const {
  int64_t groups = format.groupsPerChannel(k);
  int64_t channel = format.granularity == Granularity::PerTensor ? 0 : nn;
  int64_t group =
      format.granularity == Granularity::PerGroup ? kk / format.groupSize : 0;
  return channel * groups + group;
}

std::vector<float> doubleQuantizeScales(const std::vector<float> &scales,
                                        int bits, int64_t block,
                                        std::vector<uint8_t> &codes,
                                        std::vector<float> &params) {
  const int64_t count = static_cast<int64_t>(scales.size());
  const float levels = static_cast<float>((1 << bits) - 1);
  codes.assign(scales.size(), 0);
  params.clear();
  std::vector<float> decoded(scales.size());
  for (int64_t start = 0; start < count; start += block) {
    int64_t end = std::min(count, start + block);
    auto [lo, hi] = std::minmax_element(scales.begin() + start,
                                        scales.begin() + end);
    float offset = *lo, step = (*hi - *lo) / levels;
    params.push_back(step);
    params.push_back(offset);
    for (int64_t i = start; i < end; ++i) {
      float c = step == 0.0f ? 0.0f
                             : std::clamp(std::nearbyint((scales[i] - offset) /
                                                         step),
                                          0.0f, levels);
      codes[i] = static_cast<uint8_t>(c);
      decoded[i] = offset + c * step;
    }
  }
  return decoded;
}

QuantizedMatrix quantizeMatrix(const float *weight, int64_t k, int64_t n,
                               const Format &format, const bool *outlierMask) {
  QuantizedMatrix q;
  q.k = k;
  q.n = n;
  q.format = format;
  const bool isInt = format.code == ElementCode::Int;
  const int64_t groups = format.groupsPerChannel(k);
  const int64_t channels = format.scaleChannels(n);
  const bool hasMask = format.outliers && outlierMask;
  auto isOutlier = [&](int64_t kk, int64_t nn) {
    return hasMask && outlierMask[kk * n + nn];
  };

  // First-level parameters from the range of each group's dense elements.
  std::vector<float> scales(channels * groups, 0.0f);
  std::vector<int32_t> zeros(channels * groups, 0);
  const int64_t groupLen =
      format.granularity == Granularity::PerGroup ? format.groupSize : k;
  for (int64_t c = 0; c < channels; ++c) {
    int64_t nBegin = channels == 1 ? 0 : c, nEnd = channels == 1 ? n : c + 1;
    for (int64_t g = 0; g < groups; ++g) {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t nn = nBegin; nn < nEnd; ++nn)
        for (int64_t kk = g * groupLen; kk < std::min((g + 1) * groupLen, k);
             ++kk) {
          if (isOutlier(kk, nn))
            continue;
          lo = std::min(lo, weight[kk * n + nn]);
          hi = std::max(hi, weight[kk * n + nn]);
        }
      float absMax = std::max(-lo, hi);
      IntParams p;
      if (isInt && !format.symmetric)
        p = affineParams(lo, hi, format.bits);
      else
        p = {absMax / codeMaxMagnitude(format), 0};
      scales[c * groups + g] = p.scale;
      zeros[c * groups + g] = p.zeroPoint;
    }
  }

  // Stored scales: optionally double-quantized, then in the scale type.
  if (format.scaleBits != 0)
    scales = doubleQuantizeScales(scales, format.scaleBits, format.scaleBlock,
                                  q.scaleCodes, q.scaleParams);
  for (float &s : scales)
    s = roundToScaleType(s, format.scaleType);
  if (format.scaleBits == 0)
    q.scales = scales;
  if (!format.symmetric)
    q.zeroPoints.assign(zeros.begin(), zeros.end());

  // Codes against the stored scales, one packed row per output channel.
  const int64_t rowBytes = format.rowBytes(k);
  const uint8_t mask = static_cast<uint8_t>((1u << format.bits) - 1);
  q.codes.assign(n * rowBytes, 0);
  std::vector<uint8_t> row(k);
  for (int64_t nn = 0; nn < n; ++nn) {
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t pi = q.paramIndex(kk, nn);
      float x = isOutlier(kk, nn) ? 0.0f : weight[kk * n + nn];
      if (isInt) {
        int32_t code = quantizeInt(x, {scales[pi], zeros[pi]},
                                   format.minCode(), format.maxCode());
        row[kk] = static_cast<uint8_t>(code) & mask;
      } else {
        float scaled = scales[pi] == 0.0f ? 0.0f : x / scales[pi];
        row[kk] = encodeFloatCode(format.code, scaled);
      }
    }
    packCodes(row.data(), k, format.bits, &q.codes[nn * rowBytes]);
  }

  if (format.outliers) {
    q.outlierOffsets.push_back(0);
    for (int64_t nn = 0; nn < n; ++nn) {
      for (int64_t kk = 0; kk < k; ++kk)
        if (isOutlier(kk, nn)) {
          q.outlierColumns.push_back(static_cast<int32_t>(kk));
          q.outlierValues.push_back(floatToHalf(weight[kk * n + nn]));
        }
      q.outlierOffsets.push_back(static_cast<int32_t>(q.outlierColumns.size()));
    }
  }
  return q;
}

std::vector<float> decodedScales(const QuantizedMatrix &q) {
  const Format &f = q.format;
  if (f.scaleBits == 0)
    return q.scales;
  std::vector<float> scales(q.scaleCodes.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    size_t block = i / static_cast<size_t>(f.scaleBlock);
    float step = q.scaleParams[2 * block], offset = q.scaleParams[2 * block + 1];
    scales[i] = roundToScaleType(offset + q.scaleCodes[i] * step, f.scaleType);
  }
  return scales;
}

std::vector<uint8_t> storedScaleBytes(const std::vector<float> &scales,
                                      ScaleType type) {
  std::vector<uint8_t> out;
  for (float s : scales) {
    if (type == ScaleType::F32) {
      uint8_t b[4];
      std::memcpy(b, &s, 4);
      out.insert(out.end(), b, b + 4);
      continue;
    }
    uint16_t h = type == ScaleType::F16 ? floatToHalf(s) : floatToBF16(s);
    out.push_back(h & 255);
    out.push_back(h >> 8);
  }
  return out;
}

std::vector<float> dequantizeMatrix(const QuantizedMatrix &q) {
  const Format &f = q.format;
  const std::vector<float> scales = decodedScales(q);
  const int64_t k = q.k, n = q.n, rowBytes = f.rowBytes(k);
  const bool isInt = f.code == ElementCode::Int;
  std::vector<float> out(k * n);
  std::vector<uint8_t> row(k);
  for (int64_t nn = 0; nn < n; ++nn) {
    unpackCodes(&q.codes[nn * rowBytes], k, f.bits, row.data());
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t pi = q.paramIndex(kk, nn);
      float value;
      if (isInt) {
        int32_t code = f.symmetric ? signExtend(row[kk], f.bits) : row[kk];
        int32_t zero = f.symmetric ? 0 : q.zeroPoints[pi];
        value = dequantizeInt(code, {scales[pi], zero});
      } else {
        value = decodeFloatCode(f.code, row[kk]) * scales[pi];
      }
      out[kk * n + nn] = value;
    }
  }
  for (int64_t nn = 0; f.outliers && nn < n; ++nn)
    for (int32_t i = q.outlierOffsets[nn]; i < q.outlierOffsets[nn + 1]; ++i)
      out[q.outlierColumns[i] * n + nn] = halfToFloat(q.outlierValues[i]);
  return out;
}

} // namespace quantc::numerics
