//===- KvCacheTest.cpp - quantized KV caches vs a float64 reference -------===//
//
// quantc_kv_append writes the layout kernels.h documents: this test decodes
// it on its own (codes by their documented bit positions, scale * code +
// offset) and checks that each value is within half a step of what was
// written; then quantc_kv_scores / quantc_kv_values against float64
// products over the values so decoded. Covers f32, 8-, 4- and 2-bit
// caches, FP8 E4M3 ones (each byte the one the compiler's E4M3 codec,
// lib/Numerics, gives x / scale: nearest, ties to even; scale the group's
// max |x| / 448),
// per-token scales (one group a token, groups of 32) and
// per-channel ones, head dims that are not a multiple of 16 or of a block,
// grouped-query heads, several query rows, lengths over several work items,
// and tokens appended in several calls. test/Runtime/kernel-isas.test runs
// it with each instruction set (below AVX-512: the portable loops).
//
//===----------------------------------------------------------------------===//

#include "quantc/Numerics/Scalar.h"
#include "quantc/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

struct Config {
  int bits;
  bool perToken;
  int64_t group; // per token; 0: the head dimension
  int64_t dim, heads, kvHeads, rows, length;
  bool e4m3 = false; // FP8 E4M3 bytes (bits 8, per token)
};

/// A cache with its storage, filled with `length` random tokens appended
/// as a prefill of 5 and then one at a time.
struct Cache {
  qc_kv_cache c{};
  std::vector<uint8_t> codes;
  std::vector<float> scale, offset;
  std::vector<float> written; // [batch, kv_heads, length, dim]

  Cache(const Config &cfg, int64_t batch, std::mt19937 &rng) {
    c.batch = batch;
    c.kv_heads = cfg.kvHeads;
    c.capacity = cfg.length + 7;
    c.dim = cfg.dim;
    c.bits = cfg.bits;
    c.row_bytes = quantc_kv_row_bytes(cfg.bits, cfg.dim);
    c.flags =
        (cfg.perToken ? QC_KV_PER_TOKEN : 0) | (cfg.e4m3 ? QC_KV_E4M3 : 0);
    c.group = cfg.group ? cfg.group : cfg.dim;
    codes.assign(size_t(batch * cfg.kvHeads * c.capacity * c.row_bytes), 0xAB);
    c.codes = codes.data();
    std::normal_distribution<float> normal(0.0f, 1.0f);
    if (cfg.perToken) {
      size_t n = size_t(batch * cfg.kvHeads * c.capacity * (cfg.dim / c.group));
      scale.assign(n, -1.0f);
      offset.assign(n, -1.0f);
    } else {
      // Calibrated per-channel ranges: channel d spans about [-m_d, m_d]
      // around its mean; written values fall outside now and then.
      for (int64_t h = 0; h < cfg.kvHeads; ++h)
        for (int64_t d = 0; d < cfg.dim; ++d) {
          float m = 1.0f + float(d % 7), mean = 0.25f * float(d % 3);
          scale.push_back(2 * m / float((1 << (cfg.bits % 32)) - 1));
          offset.push_back(mean - m);
        }
    }
    c.scale = scale.data();
    c.offset = offset.data();
    written.resize(size_t(batch * cfg.kvHeads * cfg.length * cfg.dim));
    for (size_t i = 0; i < written.size(); ++i) {
      int64_t d = int64_t(i) % cfg.dim;
      // Channel 3 is an outlier channel (keys have them); channel 5 is
      // tiny (FP8: subnormal E4M3 numbers beside channel 3's).
      written[i] = normal(rng) * (d == 3   ? 20.0f
                                  : d == 5 ? 1e-3f
                                           : 1.0f + float(d % 7) / 3);
    }
    for (int64_t at = 0; at < cfg.length;) {
      int64_t count = at == 0 ? std::min<int64_t>(5, cfg.length) : 1;
      std::vector<float> step(size_t(batch * cfg.kvHeads * count * cfg.dim));
      for (int64_t bh = 0; bh < batch * cfg.kvHeads; ++bh)
        for (int64_t t = 0; t < count; ++t)
          std::copy_n(&written[size_t((bh * cfg.length + at + t) * cfg.dim)],
                      cfg.dim, &step[size_t((bh * count + t) * cfg.dim)]);
      quantc_kv_append(&c, step.data(), at, count);
      at += count;
    }
  }

  const uint8_t *row(int64_t b, int64_t h, int64_t t) const {
    return codes.data() + ((b * c.kv_heads + h) * c.capacity + t) * c.row_bytes;
  }

  /// Code d of a packed row as kernels.h lays it out.
  unsigned code(const uint8_t *row, int64_t d) const {
    if (c.bits == 8)
      return row[d];
    int64_t per = 128 / c.bits, block = d / per, i = d % per;
    return (row[block * 16 + i % 16] >> (i / 16 * c.bits)) &
           ((1u << c.bits) - 1);
  }

  /// Value d of token t of KV head (b, h): scale * code + offset, the
  /// scale (its step), and |scale * code| + |offset| (the size of what the
  /// kernels add: they sum the two parts apart).
  struct Value {
    double value, step, size;
    double centered; // code - 2^(bits - 1)
  };
  Value value(int64_t b, int64_t h, int64_t t, int64_t d) const {
    const uint8_t *row = this->row(b, h, t);
    if (c.bits == 32) {
      float v;
      std::memcpy(&v, row + 4 * d, 4);
      return {v, 0.0, std::fabs(v), 0.0};
    }
    size_t at = c.flags & QC_KV_PER_TOKEN
                    ? size_t(((b * c.kv_heads + h) * c.capacity + t) *
                                 (c.dim / c.group) +
                             d / c.group)
                    : size_t(h * c.dim + d);
    if (c.flags & QC_KV_E4M3) {
      double scaled =
          double(scale[at]) * quantc::numerics::decodeFP8E4M3(row[d]);
      return {scaled + double(offset[at]), double(scale[at]),
              std::fabs(scaled) + std::fabs(double(offset[at])), 0.0};
    }
    double scaled = double(scale[at]) * code(row, d);
    return {scaled + double(offset[at]), double(scale[at]),
            std::fabs(scaled) + std::fabs(double(offset[at])),
            double(code(row, d)) - double(1 << (c.bits - 1))};
  }
};

class KvCacheTest : public ::testing::TestWithParam<Config> {};

TEST_P(KvCacheTest, AppendRoundsEachValueToItsStep) {
  const Config cfg = GetParam();
  std::mt19937 rng(7);
  const int64_t batch = 2;
  Cache cache(cfg, batch, rng);
  const float top = float((1 << (cfg.bits % 32)) - 1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < cfg.kvHeads; ++h)
      for (int64_t t = 0; t < cfg.length; ++t)
        for (int64_t d = 0; d < cfg.dim; ++d) {
          double x = cache.written[size_t(
              ((b * cfg.kvHeads + h) * cfg.length + t) * cfg.dim + d)];
          auto [v, step, size, centered] = cache.value(b, h, t, d);
          if (cfg.e4m3) {
            // scale = the group's max |x| / 448; x / scale rounded to the
            // nearest E4M3 number.
            int64_t g = cfg.group ? cfg.group : cfg.dim, first = d / g * g;
            double top8 = 0;
            for (int64_t e = first; e < first + g; ++e)
              top8 = std::max(
                  top8, std::fabs(double(cache.written[size_t(
                            ((b * cfg.kvHeads + h) * cfg.length + t) * cfg.dim +
                            e)])));
            ASSERT_NEAR(step, top8 / 448, 1e-6 * top8 / 448);
            ASSERT_EQ(cache.row(b, h, t)[d],
                      quantc::numerics::encodeFP8E4M3(float(x) / float(step)))
                << "b " << b << " h " << h << " t " << t << " d " << d;
            continue;
          }
          if (cfg.bits != 32 && !cfg.perToken) {
            // Per channel: clamped to the calibrated range first.
            double lo = cache.offset[size_t(h * cfg.dim + d)];
            x = std::clamp(x, lo, lo + double(top) * step);
          }
          ASSERT_NEAR(v, x, step * (0.5 + 1e-5) + 1e-6 * std::fabs(x))
              << "b " << b << " h " << h << " t " << t << " d " << d;
        }
}

TEST_P(KvCacheTest, ProductsMatchFloat64) {
  const Config cfg = GetParam();
  std::mt19937 rng(11);
  const int64_t batch = 2, share = cfg.heads / cfg.kvHeads;
  Cache cache(cfg, batch, rng);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(size_t(batch * cfg.heads * cfg.rows * cfg.dim));
  std::vector<float> p(size_t(batch * cfg.heads * cfg.rows * cfg.length));
  for (float &x : q)
    x = normal(rng);
  // Attention-like weights: mostly small, every 17th token 50 times more.
  for (size_t i = 0; i < p.size(); ++i)
    p[i] = std::fabs(normal(rng)) / float(cfg.length) * (i % 17 ? 1 : 50);
  std::vector<float> scores(size_t(batch * cfg.heads * cfg.rows * cfg.length),
                            NAN);
  std::vector<float> out(size_t(batch * cfg.heads * cfg.rows * cfg.dim), NAN);
  quantc_kv_scores(&cache.c, q.data(), cfg.heads, cfg.rows, cfg.length,
                   scores.data());
  quantc_kv_values(&cache.c, p.data(), cfg.heads, cfg.rows, cfg.length,
                   out.data());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < cfg.heads; ++i)
      for (int64_t r = 0; r < cfg.rows; ++r) {
        int64_t h = i / share, row = (b * cfg.heads + i) * cfg.rows + r;
        // The kernels' contract (kernels.h): the query row may be rounded
        // to 16 bits, steps of max_d |q_d scale_d| / 32639 (per-channel
        // scales; 1 per token), taken against each code about its middle.
        double top = 0;
        for (int64_t d = 0; d < cfg.dim; ++d)
          top = std::max(
              top, std::fabs(q[size_t(row * cfg.dim + d)]) *
                       (cfg.perToken ? 1.0 : cache.value(b, h, 0, d).step));
        const double half = 0.5 * top / 32639;
        for (int64_t t = 0; t < cfg.length; ++t) {
          double sum = 0, size = 0, rounding = 0;
          for (int64_t d = 0; d < cfg.dim; ++d) {
            double x = q[size_t(row * cfg.dim + d)];
            Cache::Value v = cache.value(b, h, t, d);
            sum += x * v.value;
            size += std::fabs(x) * v.size;
            rounding +=
                half * std::fabs(v.centered) * (cfg.perToken ? v.step : 1.0);
          }
          ASSERT_NEAR(scores[size_t(row * cfg.length + t)], sum,
                      1e-5 * size + rounding + 1e-30)
              << "scores b " << b << " head " << i << " row " << r << " t "
              << t;
        }
        // The contract for p v: each block of 128 tokens' weights p_t
        // (times the token's scale) may be rounded to 16 bits, steps of
        // the block's max |w| / 32767, against codes about their middle.
        std::vector<double> halfStep(size_t(cfg.length));
        for (int64_t t0 = 0; t0 < cfg.length; t0 += 128) {
          double top = 0;
          int64_t t1 = std::min(cfg.length, t0 + 128);
          for (int64_t t = t0; t < t1; ++t)
            top = std::max(
                top, std::fabs(p[size_t(row * cfg.length + t)]) *
                         (cfg.perToken ? cache.value(b, h, t, 0).step : 1.0));
          for (int64_t t = t0; t < t1; ++t)
            halfStep[size_t(t)] = 0.5 * top / 32767;
        }
        for (int64_t d = 0; d < cfg.dim; ++d) {
          double sum = 0, size = 0, rounding = 0;
          for (int64_t t = 0; t < cfg.length; ++t) {
            double x = p[size_t(row * cfg.length + t)];
            Cache::Value v = cache.value(b, h, t, d);
            sum += x * v.value;
            size += std::fabs(x) * v.size;
            rounding += halfStep[size_t(t)] * std::fabs(v.centered) *
                        (cfg.perToken ? 1.0 : v.step);
          }
          ASSERT_NEAR(out[size_t(row * cfg.dim + d)], sum,
                      1e-5 * size + rounding + 1e-30)
              << "values b " << b << " head " << i << " row " << r << " d "
              << d;
        }
      }
}

// Keys stored before RoPE: scores against each token's decoded key rotated
// at its position (rotate_half over the first `rotary` values), in float64
// from the decoded values, for the whole head and half of it rotated.
TEST_P(KvCacheTest, RopeScoresMatchFloat64) {
  const Config cfg = GetParam();
  std::mt19937 rng(13);
  const int64_t batch = 2, share = cfg.heads / cfg.kvHeads;
  Cache cache(cfg, batch, rng);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> angle(-3.2f, 3.2f);
  std::vector<float> q(size_t(batch * cfg.heads * cfg.rows * cfg.dim));
  for (float &x : q)
    x = normal(rng);
  // Any cosines and sines (the kernel takes them as the model made them).
  std::vector<float> table(size_t(batch * cache.c.capacity * 2 * cfg.dim));
  for (size_t i = 0; i < table.size(); ++i)
    table[i] = i / cfg.dim % 2 ? std::sin(angle(rng)) : std::cos(angle(rng));
  for (int64_t rotary : {cfg.dim, cfg.dim / 2 / 2 * 2}) {
    qc_kv_rope rope{table.data(), cache.c.capacity, rotary};
    std::vector<float> scores(
        size_t(batch * cfg.heads * cfg.rows * cfg.length), NAN);
    quantc_kv_scores_rope(&cache.c, &rope, q.data(), cfg.heads, cfg.rows,
                          cfg.length, scores.data());
    const int64_t half = rotary / 2;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < cfg.length; ++t) {
        const float *cs = &table[size_t((b * cache.c.capacity + t) * 2 * cfg.dim)];
        const float *sn = cs + cfg.dim;
        for (int64_t i = 0; i < cfg.heads; ++i) {
          int64_t h = i / share;
          std::vector<double> key(size_t(cfg.dim)), size(size_t(cfg.dim));
          for (int64_t d = 0; d < cfg.dim; ++d) {
            Cache::Value v = cache.value(b, h, t, d);
            if (d >= rotary) {
              key[size_t(d)] = v.value, size[size_t(d)] = v.size;
              continue;
            }
            int64_t pair = d < half ? d + half : d - half;
            Cache::Value w = cache.value(b, h, t, pair);
            double sign = d < half ? -1.0 : 1.0;
            key[size_t(d)] = v.value * cs[d] + sign * w.value * sn[d];
            size[size_t(d)] =
                v.size * std::fabs(cs[d]) + w.size * std::fabs(sn[d]);
          }
          for (int64_t r = 0; r < cfg.rows; ++r) {
            int64_t row = (b * cfg.heads + i) * cfg.rows + r;
            double sum = 0, bound = 0;
            for (int64_t d = 0; d < cfg.dim; ++d) {
              double x = q[size_t(row * cfg.dim + d)];
              sum += x * key[size_t(d)];
              bound += std::fabs(x) * size[size_t(d)];
            }
            ASSERT_NEAR(scores[size_t(row * cfg.length + t)], sum,
                        1e-5 * bound + 1e-30)
                << "rotary " << rotary << " b " << b << " head " << i
                << " row " << r << " t " << t;
          }
        }
      }
  }
}

/// Appends the 16 values `x` as one token of a one-head, one-group 8-bit
/// cache with `flags` into `codes`, `scale` and `offset`.
void appendOneToken(const std::vector<float> &x, int32_t flags,
                    std::vector<uint8_t> &codes, float &scale, float &offset) {
  qc_kv_cache c{};
  c.codes = codes.data();
  c.scale = &scale;
  c.offset = &offset;
  c.batch = c.kv_heads = c.capacity = 1;
  c.dim = c.group = c.row_bytes = 16;
  c.bits = 8;
  c.flags = flags;
  quantc_kv_append(&c, x.data(), 0, 1);
}

// Values halfway between E4M3 numbers (the head's max 448 makes the scale
// 1): normal and subnormal ties go to the even mantissa, as the compiler's
// codec rounds them; beyond 448 saturates.
TEST(KvCacheE4M3, TiesToEvenAndSaturation) {
  std::vector<float> x = {448.0f,         1.0625f, -1.1875f, 0.0029296875f,
                          -0.0048828125f, 240.0f,  17.0f,    0.0f};
  x.resize(16, 0.5f);
  x[15] = -448.0f;
  std::vector<uint8_t> codes(16, 0xAB);
  float scale = -1, offset = -1;
  appendOneToken(x, QC_KV_PER_TOKEN | QC_KV_E4M3, codes, scale, offset);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(offset, 0.0f);
  // 1.0625 -> 1 (0x38), -1.1875 -> -1.25 (0xba), 1.5 * 2^-9 -> 2^-8
  // (0x02), -2.5 * 2^-9 -> -2^-8 (0x82), 240 -> 0x77, 17 -> 16 (0x58).
  const uint8_t expected[8] = {0x7e, 0x38, 0xba, 0x02, 0x82, 0x77, 0x58, 0x00};
  for (int d = 0; d < 16; ++d) {
    EXPECT_EQ(codes[size_t(d)], quantc::numerics::encodeFP8E4M3(x[size_t(d)]))
        << "d " << d;
    if (d < 8) {
      EXPECT_EQ(codes[size_t(d)], expected[d]) << "d " << d;
    }
  }
}

// A NaN among a token's values (a broken layer upstream) is written as
// code 0 -- the group's minimum, or E4M3 zero -- and leaves the token's
// scale and offset those of its other values.
TEST(KvCacheNaN, WrittenAsCodeZero) {
  for (int32_t flags :
       {int32_t(QC_KV_PER_TOKEN), QC_KV_PER_TOKEN | QC_KV_E4M3}) {
    std::vector<float> x(16);
    for (int d = 0; d < 16; ++d)
      x[size_t(d)] = float(d) - 4.0f; // -4 .. 11
    x[5] = NAN;
    std::vector<uint8_t> codes(16, 0xAB);
    float scale = -1, offset = -1;
    appendOneToken(x, flags, codes, scale, offset);
    EXPECT_EQ(codes[5], 0) << "flags " << flags;
    if (flags & QC_KV_E4M3) {
      EXPECT_EQ(scale, 11.0f / 448) << "flags " << flags;
      EXPECT_EQ(offset, 0.0f);
    } else {
      EXPECT_EQ(scale, 15.0f / 255) << "flags " << flags;
      EXPECT_EQ(offset, -4.0f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, KvCacheTest,
    ::testing::Values(
        // bits, per token, group, dim, heads, kv heads, rows, length
        Config{32, false, 0, 128, 4, 4, 1, 300},
        Config{32, false, 0, 80, 8, 2, 3, 37},
        Config{8, true, 0, 128, 4, 4, 1, 300},
        Config{8, true, 32, 64, 8, 2, 3, 530},
        Config{8, false, 0, 80, 6, 3, 2, 40},
        Config{8, true, 0, 72, 4, 2, 1, 9}, // dim not whole vectors
        Config{4, true, 0, 128, 8, 2, 1, 600},
        Config{4, true, 32, 96, 4, 4, 5, 70},
        Config{4, false, 0, 80, 4, 1, 2, 33},
        Config{2, true, 0, 128, 4, 4, 1, 90},
        Config{2, true, 32, 64, 8, 4, 6, 20},
        Config{2, false, 0, 100, 2, 2, 1, 17},
        Config{8, true, 0, 128, 8, 2, 1, 300, true},
        Config{8, true, 32, 64, 4, 4, 3, 40, true},
        Config{8, true, 0, 72, 4, 2, 2, 9, true})); // dim not whole vectors

} // namespace
