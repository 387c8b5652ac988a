// One decode step of a LLaMA-7B attention layer (32 heads, head dim 128,
// synthetic weights and cache) over a past of 2048, 8192 and 32768 tokens,
// with the KV cache stored in f32, int8, FP8 E4M3, int4 and int2 (keys
// with per-channel scales, values with per-token scales; FP8 both per
// token: kernels.h's qc_kv_cache), and int8 / int4 with keys stored before
// RoPE (rotated at their positions when read, from a table of cos and sin:
// quantc_kv_scores_rope), against the f32 cache and the machine's read
// bandwidth measured in the same run.
//
// "attention" is what the cache format changes: this token's keys and
// values appended, q k^T, softmax, p v. "layer" adds the four 4096 x 4096
// projections with f32 weights through quantc's matmul kernel (the same
// in every row). Bytes per token count one layer's keys and values,
// scales included, and for pre-RoPE keys a 32nd of the table's 1 KiB a
// token (a model shares it between its layers, LLaMA-7B's 32; each
// layer's scores read it all).
//
// With fewer KV heads (grouped-query attention, e.g. 8 as Llama-3-8B), each
// KV head serves 32 / kv_heads query heads.
//
//   kv_cache_bench [threads [kv_heads [lengths...]]]
#include "limits.h"
#include "quantc/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int64_t kHeads = 32, kDim = 128, kModel = kHeads * kDim;
/// KV heads: 32 (LLaMA-7B), or fewer for grouped-query attention.
int64_t kvHeads = kHeads;

/// Keys (per-channel scales; per token in FP8) and values (per token) of
/// one layer.
struct LayerCache {
  int bits;
  bool fp8; // FP8 E4M3 bytes (bits 8)
  qc_kv_cache k{}, v{};
  std::vector<float> rope; // pre-RoPE keys: [capacity][cos, sin of kDim]
  std::vector<uint8_t> kCodes, vCodes;
  std::vector<float> kScale, kOffset, vScale, vOffset;

  LayerCache(int bits, int64_t capacity, bool fp8 = false, bool preRope = false)
      : bits(bits), fp8(fp8) {
    // LLaMA's angles: position t, pair d: t / 10000^(2d / 128).
    for (int64_t t = 0; preRope && t < capacity; ++t)
      for (int part = 0; part < 2; ++part)
        for (int64_t d = 0; d < kDim; ++d) {
          double angle =
              double(t) * std::pow(10000.0, -2.0 * double(d % 64) / kDim);
          rope.push_back(float(part ? std::sin(angle) : std::cos(angle)));
        }
    for (qc_kv_cache *c : {&k, &v}) {
      c->batch = 1;
      c->kv_heads = kvHeads;
      c->capacity = capacity;
      c->dim = kDim;
      c->bits = bits;
      c->row_bytes = quantc_kv_row_bytes(bits, kDim);
      c->group = kDim;
    }
    v.flags = QC_KV_PER_TOKEN | (fp8 ? QC_KV_E4M3 : 0);
    if (fp8)
      k.flags = v.flags;
    kCodes.resize(size_t(kvHeads * capacity * k.row_bytes));
    vCodes.resize(kCodes.size());
    k.codes = kCodes.data();
    v.codes = vCodes.data();
    // Keys: calibrated ranges [-4, 4] per channel; values: one (scale,
    // offset) a token.
    kScale.assign(size_t(kvHeads * kDim), 8.0f / float((1 << (bits % 32)) - 1));
    kOffset.assign(size_t(kvHeads * kDim), -4.0f);
    if (fp8) {
      kScale.assign(size_t(kvHeads * capacity), 0.0f);
      kOffset.assign(kScale.size(), 0.0f);
    }
    vScale.resize(size_t(kvHeads * capacity));
    vOffset.resize(vScale.size());
    k.scale = kScale.data();
    k.offset = kOffset.data();
    v.scale = vScale.data();
    v.offset = vOffset.data();
  }

  /// Bytes of one token's keys and values, scales included.
  double bytesPerToken() const {
    double codes = 2.0 * kvHeads * double(k.row_bytes);
    int scaled = bits == 32 ? 0 : fp8 ? 2 : 1; // caches with token scales
    double table = rope.empty() ? 0 : 2.0 * kDim * sizeof(float) / 32;
    return codes + scaled * kvHeads * 2 * sizeof(float) + table;
  }
};

/// Fills positions [0, length) with random keys and values.
void fill(LayerCache &c, int64_t length, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t block = 256;
  std::vector<float> x(size_t(kvHeads * block * kDim));
  for (int64_t at = 0; at < length; at += block) {
    int64_t count = std::min(block, length - at);
    for (float &e : x)
      e = normal(rng);
    quantc_kv_append(&c.k, x.data(), at, count);
    quantc_kv_append(&c.v, x.data(), at, count);
  }
}

qc_memref3d_f32 matrix(float *p, int64_t rows, int64_t cols) {
  return {p, p, 0, {1, rows, cols}, {rows * cols, cols, 1}};
}

struct Step {
  std::vector<float> x, q, kNew, vNew, scores, out, y;
  std::vector<std::vector<float>> weights; // q, k, v, o: [4096, 4096]
};

void softmax(Step &s, int64_t length) {
  const float scale = 1.0f / std::sqrt(float(kDim));
#pragma omp parallel for
  for (int64_t h = 0; h < kHeads; ++h) {
    float *row = s.scores.data() + h * length, top = -INFINITY, sum = 0;
    for (int64_t t = 0; t < length; ++t)
      top = std::max(top, row[t] * scale);
    for (int64_t t = 0; t < length; ++t)
      sum += row[t] = std::exp(row[t] * scale - top);
    for (int64_t t = 0; t < length; ++t)
      row[t] /= sum;
  }
}

/// This token's attention at position `at` (the past is [0, at)); with
/// `matmul`, an f32 cache read by quantc's f32 matmul kernel (batched over
/// heads, k^T as a transposed B), as compiled models read it today.
void attention(LayerCache &c, Step &s, int64_t at, bool matmul = false) {
  quantc_kv_append(&c.k, s.kNew.data(), at, 1);
  quantc_kv_append(&c.v, s.vNew.data(), at, 1);
  const int64_t length = at + 1;
  if (!matmul) {
    qc_kv_rope rope{c.rope.data(), c.k.capacity, kDim};
    if (c.rope.empty())
      quantc_kv_scores(&c.k, s.q.data(), kHeads, 1, length, s.scores.data());
    else
      quantc_kv_scores_rope(&c.k, &rope, s.q.data(), kHeads, 1, length,
                            s.scores.data());
    softmax(s, length);
    quantc_kv_values(&c.v, s.scores.data(), kHeads, 1, length, s.out.data());
    return;
  }
  // Batched over KV heads, each one's query heads stacked as rows (as
  // quantc-fold-repeat-kv has compiled models do).
  const int64_t share = kHeads / kvHeads;
  auto view = [](float *p, int64_t rows, int64_t cols, int64_t stride) {
    return qc_memref3d_f32{p, p, 0, {kvHeads, rows, cols}, {stride, cols, 1}};
  };
  auto *keys = reinterpret_cast<float *>(c.k.codes);
  auto *values = reinterpret_cast<float *>(c.v.codes);
  qc_memref3d_f32 q = view(s.q.data(), share, kDim, share * kDim);
  qc_memref3d_f32 k = view(keys, length, kDim, c.k.capacity * kDim);
  qc_memref3d_f32 scores = view(s.scores.data(), share, length, share * length);
  _mlir_ciface_quantc_matmul_f32(&q, &k, &scores,
                                 QC_MATMUL_INIT | QC_MATMUL_TRANSPOSED_B);
  softmax(s, length);
  qc_memref3d_f32 v = view(values, length, kDim, c.v.capacity * kDim);
  qc_memref3d_f32 out = view(s.out.data(), share, kDim, share * kDim);
  _mlir_ciface_quantc_matmul_f32(&scores, &v, &out, QC_MATMUL_INIT);
}

/// Projection i (q, k, v, o): k and v have kvHeads x 128 outputs.
void project(Step &s, int i, float *in, float *out) {
  int64_t n = i == 1 || i == 2 ? kvHeads * kDim : kModel;
  qc_memref3d_f32 a = matrix(in, 1, kModel);
  qc_memref3d_f32 w = matrix(s.weights[size_t(i)].data(), kModel, n);
  qc_memref3d_f32 c = matrix(out, 1, n);
  _mlir_ciface_quantc_matmul_f32(&a, &w, &c, QC_MATMUL_INIT);
}

void layer(LayerCache &c, Step &s, int64_t at, bool matmul) {
  project(s, 0, s.x.data(), s.q.data());
  project(s, 1, s.x.data(), s.kNew.data());
  project(s, 2, s.x.data(), s.vNew.data());
  attention(c, s, at, matmul);
  project(s, 3, s.out.data(), s.y.data());
}

template <typename F> double best(F f) {
  f();
  double t = 1e9;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    f();
    t = std::min(t, now() - t0);
  }
  return t;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1)
    omp_set_num_threads(atoi(argv[1]));
  if (argc > 2)
    kvHeads = atoll(argv[2]);
  if (kvHeads <= 0 || kHeads % kvHeads != 0) {
    fprintf(stderr, "kv_heads must divide %lld\n", (long long)kHeads);
    return 1;
  }
  std::vector<int64_t> lengths = {2048, 8192, 32768};
  if (argc > 3) {
    lengths.clear();
    for (int i = 3; i < argc; ++i)
      lengths.push_back(atoll(argv[i]));
  }
  const double gbs = read_gbs();
  printf("LLaMA-7B attention decode step (32 heads x 128, %lld KV heads), %d "
         "threads, kernels %s; read bandwidth %.1f GB/s\n",
         (long long)kvHeads, omp_get_max_threads(), quantc_matmul_isa(), gbs);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Step s;
  s.x.resize(size_t(kModel));
  for (float &e : s.x)
    e = normal(rng);
  s.weights.resize(4);
  for (auto &w : s.weights) {
    w.resize(size_t(kModel * kModel));
    for (float &e : w)
      e = normal(rng) * 0.02f;
  }
  s.q.resize(size_t(kModel));
  s.kNew.resize(size_t(kModel));
  s.vNew.resize(size_t(kModel));
  s.out.resize(size_t(kModel));
  s.y.resize(size_t(kModel));
  printf("| past | cache | bytes/token | attention ms | vs f32 | of bandwidth "
         "| layer ms | vs f32 |\n|---|---|---|---|---|---|---|---|\n");
  for (int64_t past : lengths) {
    s.scores.resize(size_t(kHeads * (past + 1)));
    double f32Attention = 0, f32Layer = 0;
    // bits 0: the f32 cache through the matmul kernel (the peer); -8:
    // FP8 E4M3; 108 and 104: int8 and int4 with pre-RoPE keys.
    for (int bits : {0, 32, 8, -8, 4, 2, 108, 104}) {
      const bool matmul = bits == 0, preRope = bits > 100;
      LayerCache c(matmul ? 32 : std::abs(bits) % 100, past + 1, bits == -8,
                   preRope);
      fill(c, past, rng);
      project(s, 0, s.x.data(), s.q.data());
      project(s, 1, s.x.data(), s.kNew.data());
      project(s, 2, s.x.data(), s.vNew.data());
      double ta = best([&] { attention(c, s, past, matmul); });
      double tl = best([&] { layer(c, s, past, matmul); });
      if (matmul)
        f32Attention = ta, f32Layer = tl;
      // The floor: reading the cache once at the measured bandwidth.
      double floor = c.bytesPerToken() * double(past + 1) / (gbs * 1e9);
      std::string name =
          matmul       ? "f32, matmul kernel"
          : bits == 32 ? "f32, kv kernels"
          : bits == -8 ? "fp8 e4m3"
          : preRope    ? "int" + std::to_string(bits % 100) + ", pre-RoPE keys"
                       : "int" + std::to_string(bits);
      printf("| %lld | %s | %.0f | %.3f | %.2fx | %.0f%% | %.3f | %.2fx |\n",
             (long long)past, name.c_str(), c.bytesPerToken(), ta * 1e3,
             f32Attention / ta, 100.0 * floor / ta, tl * 1e3, f32Layer / tl);
    }
  }
  return 0;
}
