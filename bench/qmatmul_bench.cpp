// Quantized-weight matmul kernel (quantc_qmatmul_f32) against the machine's
// read bandwidth, quantc's own f32 kernel and (given their timings) ONNX
// Runtime's MatMulNBits on the same shapes, measured in the same run: W4
// g128 and W8 g128 (affine, f16 scales) weights quantized with the reference
// numerics; weight GB/s counts the packed bytes (codes, scales, zero points)
// a call reads.
//
// GEMV shapes also run with int8 activations (QC_QMATMUL_INT8_ACT, against
// MatMulNBits accuracy_level 4; f32 activations against level 0). Each
// GEMV shape runs twice: "hot", one weight called again and again (it
// stays in the last-level cache when it fits), and "cold", calls cycling
// through copies of the weight that together exceed 1 GiB, so each call
// reads its weight from memory as a large model's decode does.
//
//   qmatmul_bench [threads [ORT_TIMINGS]]
// ORT_TIMINGS: lines "bits m k n accuracy_level copies ms" (bench/qmatmul.sh).
//
//   qmatmul_bench threads --formats
// The non-integer formats against their integer peers, alternating calls of
// the two in one loop (so a drift of the machine's speed hits both): NF4
// (g64, bf16 scales double-quantized to int8 in blocks of 256, as QLoRA
// stores them; and g128 with f16 scales) against int4 g128, FP8 E4M3 per
// channel against int8 per channel; f32 activations, hot and cold.
#include "limits.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"
#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace quantc::numerics;

namespace {

qc_memref1d_i8 bytes(const void *p, size_t n) {
  auto *q = static_cast<int8_t *>(const_cast<void *>(p));
  return {q, q, 0, {static_cast<int64_t>(n)}, {1}};
}

/// Best time of one call over 5 rounds of `calls` calls (after a warm-up).
template <typename F> double best(int calls, F f) {
  for (int i = 0; i < calls; ++i)
    f(i);
  double t = 1e9;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    for (int i = 0; i < calls; ++i)
      f(i);
    t = std::min(t, (now() - t0) / calls);
  }
  return t;
}

/// Copies of `bytes`-sized weights whose sum exceeds 1 GiB (the same
/// formula as bench/qmatmul.sh's for ONNX Runtime).
int coldCopies(double bytes) {
  return static_cast<int>(std::ceil(1073741824.0 / bytes));
}

using Key = std::tuple<int, int64_t, int64_t, int64_t, int, int>;

std::map<Key, double> readOrt(const char *path) {
  std::map<Key, double> out;
  std::ifstream in(path);
  int bits, level, copies;
  int64_t m, k, n;
  double ms;
  while (in >> bits >> m >> k >> n >> level >> copies >> ms)
    out[{bits, m, k, n, level, copies}] = ms;
  return out;
}

/// `value` with two decimals, or n/a for NaN (no ONNX Runtime timing).
std::string cell(double value) {
  if (std::isnan(value))
    return "n/a";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

/// The benchmark's weight (K x N) and activations (M x K): fixed patterns.
void fillInputs(std::vector<float> &w, std::vector<float> &a) {
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>((int64_t(i) * 7919) % 201 - 100) * 0.01f;
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<float>(i % 7) * 0.1f;
}

/// One format's quantized weight and the kernel arguments that read it.
struct Stored {
  QuantizedMatrix q;
  std::vector<uint8_t> scales; // as stored: f32/f16/bf16 bytes or codes
  std::vector<float> table;    // NF4/FP4 values
  int64_t flags = 0;

  Stored(const std::vector<float> &w, int64_t k, int64_t n, const Format &f)
      : q(quantizeMatrix(w.data(), k, n, f)) {
    scales = q.scaleCodes;
    for (uint8_t b : storedScaleBytes(q.scales, f.scaleType))
      scales.push_back(b);
    for (unsigned c = 0; quantc::isCodebook(f) && c < 16; ++c)
      table.push_back(decodeFloatCode(f.code, c));
    flags = QC_QMATMUL_INIT | quantc::qmatmulFormatFlags(f);
  }
  double bytes() const {
    return q.codes.size() + scales.size() + q.zeroPoints.size() +
           q.scaleParams.size() * 4.0;
  }
  void call(qc_memref2d_f32 *a, qc_memref2d_f32 *c) const {
    qc_memref1d_i8 codes = bytes_of(q.codes), sc = bytes_of(scales),
                   zeros = bytes_of(q.zeroPoints),
                   tab = ::bytes(table.data(), table.size() * 4),
                   params = ::bytes(q.scaleParams.data(),
                                    q.scaleParams.size() * 4);
    const Format &f = q.format;
    _mlir_ciface_quantc_qmatmul_f32(
        a, &codes, &sc, &zeros, &tab, &params, c, q.k, q.n, f.bits,
        f.granularity == Granularity::PerGroup ? f.groupSize : 0,
        f.scaleBlock, flags);
  }
  static qc_memref1d_i8 bytes_of(const std::vector<uint8_t> &v) {
    return ::bytes(v.data(), v.size());
  }
};

Format format(ElementCode code, int bits, bool symmetric, int64_t group,
              ScaleType scale, int scaleBits = 0, int64_t scaleBlock = 0) {
  Format f;
  f.code = code;
  f.bits = bits;
  f.symmetric = symmetric;
  f.granularity = group ? Granularity::PerGroup : Granularity::PerChannel;
  f.groupSize = group;
  f.scaleType = scale;
  f.scaleBits = scaleBits;
  f.scaleBlock = scaleBlock;
  return f;
}

/// The --formats table: each format and its integer peer on one shape,
/// their calls alternating; `copies` weights of each (cold: > 1 GiB).
void compareFormats() {
  const int64_t shapes[][3] = {{1, 4096, 14336}, {1, 14336, 4096},
                               {8, 4096, 14336}};
  struct Pair {
    const char *name, *peerName;
    Format f, peer;
  } pairs[] = {
      {"NF4 g64 bf16, scales int8/256", "int4 g128 affine f16",
       format(ElementCode::NF4, 4, true, 64, ScaleType::BF16, 8, 256),
       format(ElementCode::Int, 4, false, 128, ScaleType::F16)},
      {"NF4 g128 f16", "int4 g128 affine f16",
       format(ElementCode::NF4, 4, true, 128, ScaleType::F16),
       format(ElementCode::Int, 4, false, 128, ScaleType::F16)},
      {"FP8 E4M3 per channel f32", "int8 sym per channel f32",
       format(ElementCode::FP8E4M3, 8, true, 0, ScaleType::F32),
       format(ElementCode::Int, 8, true, 0, ScaleType::F32)},
  };
  printf("| shape (M x K x N) | format | peer | weights | format (ms) | "
         "peer (ms) | format / peer |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  for (const auto &s : shapes) {
    int64_t m = s[0], k = s[1], n = s[2];
    std::vector<float> w(k * n), a(m * k), c(m * n);
    fillInputs(w, a);
    qc_memref2d_f32 va{a.data(), a.data(), 0, {m, k}, {k, 1}};
    qc_memref2d_f32 vc{c.data(), c.data(), 0, {m, n}, {n, 1}};
    for (const Pair &p : pairs) {
      for (bool cold : {false, true}) {
        std::vector<Stored> mine, peers;
        mine.emplace_back(w, k, n, p.f);
        peers.emplace_back(w, k, n, p.peer);
        int copies = cold ? coldCopies(mine[0].bytes() + peers[0].bytes()) : 1;
        for (int i = 1; i < copies; ++i) {
          mine.push_back(mine[0]);
          peers.push_back(peers[0]);
        }
        // Hot: 20 calls of the one weight a round, so a round is not one
        // call's few milliseconds (the shared machine's hiccups).
        int calls = cold ? copies : 20;
        double tMine = 1e9, tPeer = 1e9;
        for (int round = 0; round < 6; ++round) {
          double t0 = now();
          for (int i = 0; i < calls; ++i)
            mine[i % copies].call(&va, &vc);
          double t1 = now();
          for (int i = 0; i < calls; ++i)
            peers[i % copies].call(&va, &vc);
          double t2 = now();
          if (round == 0)
            continue; // warm-up
          tMine = std::min(tMine, (t1 - t0) / calls);
          tPeer = std::min(tPeer, (t2 - t1) / calls);
        }
        printf("| %lld x %lld x %lld | %s | %s | %s | %.3f | %.3f | %.2f |\n",
               (long long)m, (long long)k, (long long)n, p.name, p.peerName,
               cold ? "cold" : "hot", tMine * 1e3, tPeer * 1e3, tMine / tPeer);
        fflush(stdout);
      }
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 2 && std::string(argv[2]) == "--formats") {
    omp_set_num_threads(atoi(argv[1]));
    printf("kernel isa %s, %d threads\n\n", quantc_matmul_isa(),
           omp_get_max_threads());
    compareFormats();
    return 0;
  }
  if (argc > 1)
    omp_set_num_threads(atoi(argv[1]));
  std::map<Key, double> ort;
  if (argc > 2)
    ort = readOrt(argv[2]);
  double bw = read_gbs();
  printf("kernel isa %s, %d threads; read bandwidth %.1f GB/s\n\n",
         quantc_matmul_isa(), omp_get_max_threads(), bw);
  printf("| shape (M x K x N) | format | activations | weights | time (ms) | "
         "weight GB/s | of bandwidth | f32 kernel (ms) | f32 / quantized | "
         "ORT MatMulNBits (ms) | ORT / quantized |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  const int64_t shapes[][3] = {{1, 4096, 14336}, {2, 4096, 14336},
                               {4, 4096, 14336}, {8, 4096, 14336},
                               {1, 14336, 4096}, {8, 14336, 4096},
                               {512, 4096, 4096}};
  for (int bits : {4, 8}) {
    for (const auto &s : shapes) {
      int64_t m = s[0], k = s[1], n = s[2];
      std::vector<float> w(k * n), a(m * k), c(m * n);
      fillInputs(w, a);
      Format f;
      f.bits = bits;
      f.symmetric = false;
      f.granularity = Granularity::PerGroup;
      f.groupSize = 128;
      f.scaleType = ScaleType::F16;
      QuantizedMatrix q = quantizeMatrix(w.data(), k, n, f);
      std::vector<uint16_t> scales;
      for (float x : q.scales)
        scales.push_back(floatToHalf(x));
      double packed =
          q.codes.size() + scales.size() * 2.0 + q.zeroPoints.size();
      qc_memref2d_f32 va{a.data(), a.data(), 0, {m, k}, {k, 1}};
      qc_memref2d_f32 vc{c.data(), c.data(), 0, {m, n}, {n, 1}};
      qc_memref3d_f32 fa{a.data(), a.data(), 0, {1, m, k}, {m * k, k, 1}};
      qc_memref3d_f32 fc{c.data(), c.data(), 0, {1, m, n}, {m * n, n, 1}};

      for (bool cold : {false, true}) {
        if (cold && m > 8)
          continue; // a GEMM is bound by arithmetic, not by its weights
        int copies = cold ? coldCopies(k * n * bits / 8.0) : 1;
        // Copies of the packed pieces (and of the f32 weight), so that a
        // cold call finds none of them in cache.
        std::vector<std::vector<uint8_t>> codes(copies, q.codes),
            zeros(copies, q.zeroPoints);
        std::vector<std::vector<uint16_t>> sc(copies, scales);
        auto time = [&](int64_t extra) {
          return best(copies, [&](int i) {
            qc_memref1d_i8 vcodes = bytes(codes[i].data(), codes[i].size());
            qc_memref1d_i8 vscales = bytes(sc[i].data(), sc[i].size() * 2);
            qc_memref1d_i8 vzeros = bytes(zeros[i].data(), zeros[i].size());
            _mlir_ciface_quantc_qmatmul_f32(
                &va, &vcodes, &vscales, &vzeros, nullptr, nullptr, &vc, k, n,
                bits, 128, 0, QC_QMATMUL_INIT | QC_QMATMUL_SCALE_F16 | extra);
          });
        };
        double tq = time(0);
        double tq8 = m <= 8 ? time(QC_QMATMUL_INT8_ACT) : 0;
        codes.clear();
        zeros.clear();
        sc.clear();
        int fcopies = cold ? coldCopies(k * n * 4.0) : 1;
        std::vector<std::vector<float>> fw(fcopies, w);
        double tf = best(fcopies, [&](int i) {
          qc_memref3d_f32 vw{fw[i].data(), fw[i].data(), 0, {1, k, n},
                             {k * n, n, 1}};
          _mlir_ciface_quantc_matmul_f32(&fa, &vw, &fc, QC_MATMUL_INIT);
        });
        for (int level : {0, 4}) {
          double t = level ? tq8 : tq;
          if (t == 0)
            continue;
          double gbs = packed / t / 1e9;
          auto it = ort.find({bits, m, k, n, level, copies});
          double ortMs = it == ort.end() ? NAN : it->second;
          printf("| %lld x %lld x %lld | W%d g128 | %s | %s | %.2f | %.1f | "
                 "%.0f%% | %.2f | %.2f | %s | %s |\n",
                 (long long)m, (long long)k, (long long)n, bits,
                 level ? "int8" : "f32", cold ? "cold" : "hot", t * 1e3, gbs,
                 100 * gbs / bw, tf * 1e3, tf / t,
                 cell(ortMs).c_str(), cell(ortMs / (t * 1e3)).c_str());
        }
        fflush(stdout);
      }
    }
  }
  return 0;
}
