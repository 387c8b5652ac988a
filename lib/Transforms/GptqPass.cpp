//===- GptqPass.cpp - qc-gptq: GPTQ over the layers of a model ------------===//

#include "Calibration.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <utility>

namespace quantc {
#define GEN_PASS_DEF_GPTQ
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

FailureOr<std::vector<LayerReport>> quantc::gptqQuantizeLayers(
    const llvm::StringMap<qc::LinearOp> &layers, const LayerStatistics &stats,
    const LayerFormats &formats, const numerics::GptqOptions &options,
    const std::function<void(const LayerReport &)> &progress,
    std::string &error) {
  std::vector<LayerReport> reports;
  for (const std::string &layer : stats.layers) {
    auto it = layers.find(layer);
    if (it == layers.end())
      continue;
    qc::LinearOp op = it->second;
    auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
    if (!constant)
      continue; // quantized already
    qc::FormatAttr format = formats.formatOf(layer);
    auto start = std::chrono::steady_clock::now();
    auto type = cast<RankedTensorType>(constant.getType());
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    FailureOr<std::vector<float>> w =
        floatValues(cast<ElementsAttr>(constant.getValue()));
    if (failed(w)) {
      error = "layer '" + layer + "': its weight holds no f32 data (a blob "
              "elided when the module was printed?)";
      return failure();
    }
    if (stats.k != k) {
      error = "layer '" + layer + "': weight and calibration statistics do "
              "not match (statistics from another model?)";
      return failure();
    }
    numerics::QuantizedMatrix q;
    std::string why;
    if (!numerics::gptqQuantize(w->data(), k, n,
                                qc::toNumericsFormat(format),
                                stats.hessian.data(), options, q, why)) {
      error = "layer '" + layer + "': " + why;
      return failure();
    }
    std::vector<float> wq = numerics::dequantizeMatrix(q);
    LayerReport r;
    r.layer = layer;
    r.format = formatBody(format);
    r.k = k;
    r.n = n;
    r.outputError = numerics::relativeOutputError(w->data(), wq.data(), k, n,
                                                  stats.hessian.data());
    OpBuilder b(op);
    auto qtype = qc::QWeightType::get(op.getContext(), k, n, format);
    op.getWeightMutable().assign(
        buildQConstant(b, constant.getLoc(), qtype, q, layer));
    if (constant->use_empty())
      constant->erase();
    r.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    Type f64 = b.getF64Type();
    op->setAttr(kOutputErrorAttr, FloatAttr::get(f64, r.outputError));
    op->setAttr(kSecondsAttr, FloatAttr::get(f64, r.seconds));
    if (progress)
      progress(r);
    reports.push_back(r);
  }
  return reports;
}

//===----------------------------------------------------------------------===//
// qc-gptq
//===----------------------------------------------------------------------===//

namespace {

struct GptqPass : quantc::impl::GptqBase<GptqPass> {
  using Base::Base;

  /// Bad options fail the pipeline before any pass runs (before a
  /// calibration that would take minutes).
  LogicalResult initialize(MLIRContext *ctx) override {
    if (block <= 0 || !(damp >= 0))
      return emitError(UnknownLoc::get(ctx))
             << "qc-gptq: block must be positive and damp not negative";
    LayerFormats formats(ctx, format, layerFormats,
                         {layers.begin(), layers.end()},
                         {exclude.begin(), exclude.end()});
    if (!formats.error().empty())
      return emitError(UnknownLoc::get(ctx)) << "qc-gptq: " << formats.error();
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &message) {
      emitError(module.getLoc()) << "qc-gptq: " << message;
      signalPassFailure();
    };
    LayerFormats formats(&getContext(), format, layerFormats,
                         {layers.begin(), layers.end()},
                         {exclude.begin(), exclude.end()}, outputHeads(module));
    if (!formats.error().empty())
      return fail(formats.error());
    // block and damp were checked in initialize().
    numerics::GptqOptions options;
    options.damping = damp;
    options.blockSize = block;
    options.actOrder = actOrder;

    // The layers to quantize (named, with an f32 weight and a format), and
    // their names by the value they read, in program order.
    llvm::StringMap<qc::LinearOp> selected;
    llvm::MapVector<Value, std::vector<std::string>> byInput;
    module.walk([&](qc::LinearOp op) {
      if (op.getLayer() && formats.formatOf(*op.getLayer()) &&
          op.getWeight().getDefiningOp<arith::ConstantOp>()) {
        selected[*op.getLayer()] = op;
        byInput[op.getInput()].push_back(op.getLayer()->str());
      }
    });
    if (selected.empty())
      return fail("no qc.linear layer with an f32 weight matches " +
                  formats.describe());

    bool header = false;
    auto progress = [&](const LayerReport &r) {
      if (!std::exchange(header, true))
        llvm::errs() << llvm::formatv(
            "{0,-24} {1,13}  {2,-38} {3,10} {4,8}\n", "layer", "K x N",
            "format", "rel. error", "seconds");
      llvm::errs() << llvm::formatv(
          "{0,-24} {1,13}  {2,-38} {3,10:e2} {4,8:f2}\n", r.layer,
          std::to_string(r.k) + " x " + std::to_string(r.n), r.format,
          r.outputError, r.seconds);
    };
    std::string error;
    if (failed(trueSequential ? runTrueSequential(selected, byInput, formats,
                                                  options, progress, error)
                              : runFromFile(selected, byInput, formats,
                                            options, progress, error)))
      return fail(error);
  }

  /// Every layer from one statistics file, one record in memory at a time.
  LogicalResult
  runFromFile(const llvm::StringMap<qc::LinearOp> &selected,
              const llvm::MapVector<Value, std::vector<std::string>> &byInput,
              const LayerFormats &formats,
              const numerics::GptqOptions &options,
              const std::function<void(const LayerReport &)> &progress,
              std::string &error) {
    ModuleOp module = getOperation();
    std::string path = statisticsPath(module, stats);
    if (path.empty()) {
      error = "needs stats=FILE (or qc-calibrate before it), or "
              "true-sequential with calib=TEXT";
      return failure();
    }
    StatisticsFile file;
    if (!openModelStatistics(module, path, file, error))
      return failure();
    for (auto &entry : byInput)
      for (const std::string &layer : entry.second)
        if (file.find(layer) < 0) {
          error = "calibration statistics '" + path + "' hold nothing for "
                  "layer '" + layer + "' (calibrate it, or exclude it)";
          return failure();
        }
    for (size_t record = 0; record < file.size(); ++record) {
      if (llvm::none_of(file.layersOf(record), [&](const std::string &l) {
            return selected.contains(l);
          }))
        continue;
      LayerStatistics s;
      if (!file.load(record, s, error) ||
          failed(gptqQuantizeLayers(selected, s, formats, options, progress,
                                    error)))
        return failure();
    }
    return success();
  }

  /// Stages of layers reading one value, in program order, each calibrated
  /// with the stages before it already quantized.
  LogicalResult
  runTrueSequential(
      const llvm::StringMap<qc::LinearOp> &selected,
      const llvm::MapVector<Value, std::vector<std::string>> &byInput,
      const LayerFormats &formats, const numerics::GptqOptions &options,
      const std::function<void(const LayerReport &)> &progress,
      std::string &error) {
    ModuleOp module = getOperation();
    if (calib.empty()) {
      error = "true-sequential needs calib=TEXT";
      return failure();
    }
    for (auto [i, entry] : llvm::enumerate(byInput)) {
      const std::vector<std::string> &stage = entry.second;
      CalibrationOptions c;
      c.textPath = calib;
      c.device = device;
      c.windows = windows;
      c.layers = stage; // exact names: no glob characters in them
      c.progress = [&](const std::string &line) {
        llvm::errs() << "stage " << i + 1 << "/" << byInput.size() << ": "
                     << line << "\n";
      };
      auto quantize = [&](LayerStatistics &s, std::string &why) {
        return succeeded(
            gptqQuantizeLayers(selected, s, formats, options, progress, why));
      };
      if (failed(calibrate(module, c, quantize, error)))
        return failure();
    }
    return success();
  }
};

} // namespace
