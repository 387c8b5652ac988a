//===- Calibration.cpp - layer input statistics through the JIT -----------===//

#include "Calibration.h"

#include "QC/IR/QC.h"
#include "quantc/Execution/Executor.h"
#include "quantc/Target/Common/KvCache.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/raw_ostream.h"

#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

namespace quantc {
#define GEN_PASS_DEF_CALIBRATE
#define GEN_PASS_DEF_CALIBRATEKVCACHE
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

constexpr const char *kOutputPrefix = "quantc.calibration.";

/// One observed value: the input of the layers named.
struct Observed {
  Value value;
  std::vector<std::string> layers;
  int64_t k;
};

/// Windows of the text as the model's inputs: input_ids are its bytes,
/// position_ids count from 0 in each window, KV caches start empty.
FailureOr<std::vector<HostTensor>> feedFor(const Model &model,
                                           const std::string &text,
                                           int64_t first, int64_t batch,
                                           int64_t len, std::string &error) {
  std::vector<HostTensor> feed;
  for (const TensorSignature &sig : model.inputs()) {
    HostTensor t;
    t.dtype = sig.dtype;
    if ((sig.name == "input_ids" || sig.name == "position_ids") &&
        sig.dtype == DType::I64 && sig.shape.size() == 2) {
      t.shape = {batch, len};
      t.data.resize(batch * len * 8);
      for (int64_t i = 0; i < batch * len; ++i)
        t.as<int64_t>()[i] =
            sig.name == "input_ids"
                ? static_cast<unsigned char>(text[first * len + i])
                : i % len;
    } else if (sig.role == QC_ROLE_KV_CACHE && sig.shape.size() == 4 &&
               sig.shape[1] > 0 && sig.shape[3] > 0) {
      t.shape = {batch, sig.shape[1], 0, sig.shape[3]}; // empty past
    } else {
      error = "calibration cannot feed input '" + sig.name + "'";
      return failure();
    }
    feed.push_back(std::move(t));
  }
  return feed;
}

/// The calibration text of `options`, checked: a regular file (a FIFO would
/// block), text (a binary file given by mistake would calibrate on noise
/// without a word), long enough for the windows asked for.
LogicalResult readText(const CalibrationOptions &options, std::string &text,
                       std::string &error) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(options.textPath, status) ||
      status.type() != llvm::sys::fs::file_type::regular_file) {
    error = "calibration text '" + options.textPath +
            "' is not a readable regular file";
    return failure();
  }
  std::ifstream in(options.textPath, std::ios::binary);
  if (!in) {
    error = "cannot open calibration text '" + options.textPath + "'";
    return failure();
  }
  text.assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  size_t control = llvm::count_if(text, [](unsigned char c) {
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f';
  });
  if (text.find('\0') != std::string::npos || control * 100 > text.size()) {
    error = "calibration text '" + options.textPath +
            "' is not text (it holds NUL or control bytes)";
    return failure();
  }
  if (options.windows <= 0 || options.length < 2 || options.batch <= 0 ||
      (int64_t)text.size() < options.windows * options.length) {
    error = "calibration text '" + options.textPath + "' holds " +
            std::to_string(text.size()) + " bytes; " +
            std::to_string(options.windows) + " windows of " +
            std::to_string(options.length) + " need " +
            std::to_string(options.windows * options.length);
    return failure();
  }
  return success();
}

/// Runs the text's windows through `model` a batch at a time, handing each
/// batch's outputs to `use`.
LogicalResult
runWindows(Model &model, const std::string &text,
           const CalibrationOptions &options, const std::string &what,
           llvm::function_ref<void(const std::vector<HostTensor> &)> use,
           std::string &error) {
  for (int64_t w0 = 0; w0 < options.windows; w0 += options.batch) {
    int64_t batch = std::min(options.batch, options.windows - w0);
    auto feed = feedFor(model, text, w0, batch, options.length, error);
    if (failed(feed))
      return failure();
    std::string why;
    auto outputs = model.run(*feed, why);
    if (failed(outputs)) {
      error = "calibration run failed: " + why;
      return failure();
    }
    use(*outputs);
    if (options.progress)
      options.progress(what + std::to_string(w0 + batch) + "/" +
                       std::to_string(options.windows) + " windows");
  }
  return success();
}

/// Runs the text through a copy of `module` that returns `observed` values,
/// and hands their statistics to `sink`.
LogicalResult
observe(ModuleOp module, ArrayRef<Observed> observed, const std::string &text,
        const CalibrationOptions &options, const std::string &runName,
        const std::function<bool(LayerStatistics &, std::string &)> &sink,
        std::string &error) {
  IRMapping mapping;
  OwningOpRef<ModuleOp> copy =
      cast<ModuleOp>(module.getOperation()->clone(mapping));
  auto main = copy->lookupSymbol<func::FuncOp>("main");
  auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
  Builder b(copy->getContext());
  for (auto [i, o] : llvm::enumerate(observed)) {
    if (failed(main.insertResult(
            main.getNumResults(), o.value.getType(),
            b.getDictionaryAttr(b.getNamedAttr(
                "onnx.name",
                b.getStringAttr(kOutputPrefix + std::to_string(i)))))))
      return failure();
    ret->insertOperands(ret->getNumOperands(), mapping.lookup(o.value));
  }
  if (options.progress)
    options.progress(runName + "compiling the model with " +
                     std::to_string(observed.size()) + " observed inputs");
  std::unique_ptr<Executor> executor = createExecutor(options.device, error);
  if (!executor)
    return failure();
  auto model = executor->compile(std::move(copy));
  if (failed(model)) {
    error = "cannot compile the model for calibration";
    return failure();
  }
  std::vector<size_t> outputOf(observed.size());
  for (size_t o = 0; o < (*model)->outputs().size(); ++o) {
    StringRef name = (*model)->outputs()[o].name;
    unsigned i;
    if (name.consume_front(kOutputPrefix) && !name.getAsInteger(10, i))
      outputOf[i] = o;
  }

  std::vector<numerics::InputStatistics> acc;
  for (const Observed &o : observed)
    acc.emplace_back(o.k);
  auto accumulate = [&](const std::vector<HostTensor> &outputs) {
    for (size_t i = 0; i < observed.size(); ++i) {
      const HostTensor &x = outputs[outputOf[i]];
      acc[i].add(x.as<float>(), x.numElements() / observed[i].k);
    }
  };
  if (failed(runWindows(**model, text, options, runName, accumulate, error)))
    return failure();
  for (size_t i = 0; i < observed.size(); ++i) {
    LayerStatistics s;
    s.layers = observed[i].layers;
    s.k = observed[i].k;
    s.samples = acc[i].samples();
    s.absmax = acc[i].absmax();
    s.mean = acc[i].mean();
    s.hessian = acc[i].hessian();
    acc[i] = numerics::InputStatistics(0); // free it before the next
    if (!sink(s, error))
      return failure();
  }
  return success();
}

} // namespace

LogicalResult quantc::calibrate(
    ModuleOp module, const CalibrationOptions &options,
    const std::function<bool(LayerStatistics &, std::string &)> &sink,
    std::string &error) {
  LayerSelection filter(options.layers, options.exclude, outputHeads(module));
  if (!filter.error().empty()) {
    error = filter.error();
    return failure();
  }
  std::string text;
  if (failed(readText(options, text, error)))
    return failure();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main) {
    error = "the module has no function 'main'";
    return failure();
  }
  // Selected layers with an f32 weight, grouped by the value they read.
  llvm::MapVector<Value, Observed> byValue;
  main.walk([&](qc::LinearOp op) {
    if (!op.getLayer() || !filter.selects(*op.getLayer()) ||
        !op.getWeight().getDefiningOp<arith::ConstantOp>())
      return;
    Observed &o = byValue[op.getInput()];
    o.value = op.getInput();
    // K from the weight: exporters leave the input's last dimension
    // dynamic at times (OPT's and Phi's attention output, reshaped).
    o.k = cast<ShapedType>(op.getWeight().getType()).getDimSize(0);
    o.layers.push_back(op.getLayer()->str());
  });
  if (byValue.empty()) {
    error = "no layer to calibrate matches " + filter.describe();
    return failure();
  }
  // Runs of values whose accumulators and activations fit the budget.
  std::vector<std::vector<Observed>> runs(1);
  int64_t used = 0;
  for (auto &entry : byValue) {
    int64_t k = entry.second.k,
            bytes = 12 * k * k + 4 * options.batch * options.length * k;
    if (!runs.back().empty() && used + bytes > options.memoryBudget) {
      runs.emplace_back();
      used = 0;
    }
    runs.back().push_back(entry.second);
    used += bytes;
  }
  for (auto [i, run] : llvm::enumerate(runs)) {
    std::string name = runs.size() == 1
                           ? "calibration: "
                           : "calibration run " + std::to_string(i + 1) + "/" +
                                 std::to_string(runs.size()) + ": ";
    if (failed(observe(module, run, text, options, name, sink, error)))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// qc-calibrate
//===----------------------------------------------------------------------===//

namespace {

struct CalibratePass : quantc::impl::CalibrateBase<CalibratePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const std::string &message) {
      emitError(module.getLoc()) << "qc-calibrate: " << message;
      signalPassFailure();
    };
    if (calib.empty() || stats.empty())
      return fail("needs calib=TEXT and stats=FILE");
    if (memoryMb <= 0)
      return fail("memory-mb must be positive");
    CalibrationOptions options;
    options.textPath = calib;
    options.device = device;
    options.windows = windows;
    options.length = length;
    options.layers.assign(layers.begin(), layers.end());
    options.exclude.assign(exclude.begin(), exclude.end());
    options.memoryBudget = memoryMb * (int64_t(1) << 20);
    options.progress = [](const std::string &line) {
      llvm::errs() << line << "\n";
    };
    std::string error;
    StatisticsWriter writer;
    if (!writer.open(stats, modelFingerprint(module), error))
      return fail(error);
    auto write = [&](LayerStatistics &s, std::string &why) {
      return writer.append(s, why);
    };
    if (failed(calibrate(module, options, write, error)) ||
        !writer.finish(error))
      return fail(error);
    module->setAttr("qc.calibration_stats",
                    StringAttr::get(module.getContext(), stats));
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// qc-calibrate-kv-cache
//===----------------------------------------------------------------------===//

namespace {

/// The range one cache's values are quantized over, per KV head and
/// channel.
struct CacheRange {
  std::string input;
  size_t output = 0; // index among the model's outputs (its present)
  int64_t heads = 0, dim = 0;
  std::vector<float> lo, hi; // [heads][dim]
  std::vector<float> hist;   // [heads][dim][kBins] over [lo, hi]
};

constexpr int64_t kBins = 256;

/// Calls `f(channel, value)` for every value of a present [batch, heads,
/// positions, dim], channel = head * dim + d.
template <typename F> void forEachValue(const HostTensor &t, int64_t dim, F f) {
  const float *v = t.as<float>();
  int64_t rows = t.shape[0] * t.shape[1] * t.shape[2];
  int64_t heads = t.shape[1], positions = t.shape[2];
  for (int64_t r = 0; r < rows; ++r, v += dim) {
    int64_t base = (r / positions % heads) * dim;
    for (int64_t d = 0; d < dim; ++d)
      f(base + d, v[d]);
  }
}

/// The sub-range of [lo, hi] (ends moved inwards in steps of 1/64 of it)
/// whose `bits`-bit codes give the least squared error on the values of
/// `hist` (kBins counts over [lo, hi], each value at its bin's centre):
/// the best shrink of both ends alike, then each end moved around it.
std::pair<float, float> clipRange(float lo, float hi, const float *hist,
                                  int bits) {
  const double top = double((1u << bits) - 1), width = double(hi) - lo;
  auto error = [&](double a, double b) {
    double scale = (b - a) / top, sum = 0;
    for (int64_t k = 0; k < kBins; ++k) {
      if (hist[k] == 0)
        continue;
      double x = lo + (k + 0.5) * width / kBins;
      double code = std::clamp(std::nearbyint((x - a) / scale), 0.0, top);
      double e = x - (a + code * scale);
      sum += hist[k] * e * e;
    }
    return sum;
  };
  auto at = [&](int64_t i, int64_t j) {
    return std::make_pair(lo + i * width / 64, hi - j * width / 64);
  };
  int64_t bestI = 0, bestJ = 0;
  double best = error(lo, hi);
  for (int64_t i = 1; i < 24; ++i)
    if (double e = error(at(i, i).first, at(i, i).second); e < best)
      best = e, bestI = bestJ = i;
  int64_t centreI = bestI, centreJ = bestJ;
  for (int64_t i = std::max<int64_t>(0, centreI - 4); i <= centreI + 4; ++i)
    for (int64_t j = std::max<int64_t>(0, centreJ - 4); j <= centreJ + 4; ++j)
      if (double e = error(at(i, j).first, at(i, j).second); e < best)
        best = e, bestI = i, bestJ = j;
  auto [a, b] = at(bestI, bestJ);
  return {float(a), float(b)};
}

/// Runs the text through `module` (compiled as it is: the caches in f32)
/// and finds, for every cache it returns, the range of its values per KV
/// head and channel; with `bits`, clipped where that lowers the squared
/// error of `bits`-bit codes (a second run over the text, for histograms).
LogicalResult calibrateCacheRanges(ModuleOp module,
                                   const CalibrationOptions &options, int bits,
                                   bool preRope,
                                   std::vector<CacheRange> &ranges,
                                   std::string &error) {
  std::string text;
  if (failed(readText(options, text, error)))
    return failure();
  std::unique_ptr<Executor> executor = createExecutor(options.device, error);
  if (!executor)
    return failure();
  if (options.progress)
    options.progress("KV cache calibration: compiling the model");
  OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
  // Pre-RoPE keys: measured where qc-quantize-kv-cache makes them outputs.
  if (preRope)
    (*copy)->setAttr(quantc::kv::kObservePreRope,
                     UnitAttr::get(module.getContext()));
  auto model = executor->compile(std::move(copy));
  if (failed(model)) {
    error = "cannot compile the model for calibration";
    return failure();
  }
  const std::vector<TensorSignature> &outs = (*model)->outputs();
  for (const TensorSignature &in : (*model)->inputs()) {
    if (in.role != QC_ROLE_KV_CACHE)
      continue;
    auto present = llvm::find_if(
        outs, [&](const TensorSignature &o) { return o.name == in.kvPresent; });
    if (present == outs.end() || in.shape.size() != 4 || in.shape[1] <= 0 ||
        in.shape[3] <= 0 || in.dtype != DType::F32) {
      error = "cache '" + in.name +
              "' is not an f32 [batch, kv_heads, positions, head_dim] with "
              "static kv_heads and head_dim returned as '" +
              in.kvPresent + "'";
      return failure();
    }
    CacheRange r;
    r.input = in.name;
    r.output = present - outs.begin();
    auto preRopeKeys = llvm::find_if(outs, [&](const TensorSignature &o) {
      return o.name == in.kvPresent + quantc::kv::kPreRopeSuffix;
    });
    if (preRopeKeys != outs.end())
      r.output = preRopeKeys - outs.begin();
    r.heads = in.shape[1];
    r.dim = in.shape[3];
    r.lo.assign(r.heads * r.dim, std::numeric_limits<float>::infinity());
    r.hi.assign(r.heads * r.dim, -std::numeric_limits<float>::infinity());
    ranges.push_back(std::move(r));
  }
  if (ranges.empty()) {
    error = "the model has no KV cache (no 'past_key_values.*' input "
            "returned as a 'present.*' output)";
    return failure();
  }
  auto minMax = [&](const std::vector<HostTensor> &outputs) {
    for (CacheRange &r : ranges)
      forEachValue(outputs[r.output], r.dim, [&](int64_t c, float v) {
        r.lo[c] = std::min(r.lo[c], v);
        r.hi[c] = std::max(r.hi[c], v);
      });
  };
  if (failed(runWindows(**model, text, options,
                        "KV cache calibration, ranges: ", minMax, error)))
    return failure();
  if (!bits)
    return success();
  auto histogram = [&](const std::vector<HostTensor> &outputs) {
    for (CacheRange &r : ranges) {
      r.hist.resize(r.heads * r.dim * kBins);
      forEachValue(outputs[r.output], r.dim, [&](int64_t c, float v) {
        float width = r.hi[c] - r.lo[c];
        int64_t k = width > 0 ? int64_t((v - r.lo[c]) / width * kBins) : 0;
        r.hist[c * kBins + std::clamp<int64_t>(k, 0, kBins - 1)] += 1;
      });
    }
  };
  if (failed(runWindows(**model, text, options,
                        "KV cache calibration, histograms: ", histogram,
                        error)))
    return failure();
  for (CacheRange &r : ranges) {
    for (int64_t c = 0; c < r.heads * r.dim; ++c)
      if (r.hi[c] > r.lo[c])
        std::tie(r.lo[c], r.hi[c]) =
            clipRange(r.lo[c], r.hi[c], &r.hist[c * kBins], bits);
    r.hist = {};
  }
  return success();
}

struct CalibrateKvCachePass
    : quantc::impl::CalibrateKvCacheBase<CalibrateKvCachePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    CalibrationOptions options;
    options.textPath = calib;
    options.device = device;
    options.windows = windows;
    options.length = length;
    options.progress = [](const std::string &line) {
      llvm::errs() << line << "\n";
    };
    std::string error;
    std::vector<CacheRange> ranges;
    if (calib.empty())
      error = "needs calib=TEXT";
    else if (bits != 0 && bits != 8 && bits != 4 && bits != 2)
      error = "bits must be 8, 4 or 2 (or 0: no clipping), not " +
              std::to_string(bits);
    if (!error.empty() || failed(calibrateCacheRanges(
                              module, options, bits, preRope, ranges, error))) {
      emitError(module.getLoc()) << "qc-calibrate-kv-cache: " << error;
      return signalPassFailure();
    }
    Builder b(module.getContext());
    SmallVector<NamedAttribute> entries;
    for (const CacheRange &r : ranges) {
      std::vector<float> both(r.lo);
      llvm::append_range(both, r.hi);
      auto type = RankedTensorType::get({2, r.heads, r.dim}, b.getF32Type());
      entries.push_back(b.getNamedAttr(
          r.input, DenseElementsAttr::get(type, ArrayRef<float>(both))));
    }
    module->setAttr(quantc::kv::kRanges, b.getDictionaryAttr(entries));
  }
};

} // namespace
