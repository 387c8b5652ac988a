//===- Calibration.h - layer statistics and GPTQ over a model ---*- C++ -*-===//
//
// Calibration runs the model on calibration text (EVAL.md's protocol by
// default) through the executor of a device (Execution/Executor.h; the CPU
// JIT is "cpu") and gathers, for each value read by
// selected qc.linear layers, LayerStatistics; GPTQ then rewrites the layers'
// weights with them. The passes qc-calibrate and qc-gptq are built on these.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TRANSFORMS_CALIBRATION_H
#define QUANTC_TRANSFORMS_CALIBRATION_H

#include "LayerSelection.h"

#include "quantc/Numerics/Gptq.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <string>
#include <vector>

namespace quantc {

struct CalibrationOptions {
  std::string textPath;
  /// The executor that runs the model (registered by the tools).
  std::string device = "cpu";
  /// Windows of `length` bytes from the start of the text, `batch` at a time.
  int64_t windows = 256, length = 256, batch = 16;
  /// Glob patterns of layer names (default: all but the output head), and
  /// ones to skip.
  std::vector<std::string> layers, exclude;
  /// Bytes of accumulators and observed activations held at once: values
  /// beyond it are observed in further runs over the text.
  int64_t memoryBudget = int64_t(4) << 30;
  std::function<void(const std::string &)> progress;
};

/// Runs `module` (left as it is) on the calibration text and hands the
/// statistics of each observed value to `sink`, in program order, as soon
/// as its run is done. Failure with `error` for a text that is missing or
/// too short, a model it cannot feed (inputs other than input_ids,
/// position_ids and KV caches), no layer selected, or a failing sink.
mlir::LogicalResult
calibrate(mlir::ModuleOp module, const CalibrationOptions &options,
          const std::function<bool(LayerStatistics &, std::string &)> &sink,
          std::string &error);

/// Discardable attributes of a qc.linear saying what the passes did to it,
/// read by qc-report: SmoothQuant's alpha (f64), the weight quantization's
/// ||(W - W')X||^2 / ||WX||^2 on the calibration inputs (f64, qc-gptq, and
/// qc-quantize-weights given statistics), GPTQ's seconds (f64).
constexpr const char *kAlphaAttr = "qc.alpha";
constexpr const char *kOutputErrorAttr = "qc.output_error";
constexpr const char *kSecondsAttr = "qc.seconds";

/// One line of the per-layer report.
struct LayerReport {
  std::string layer, format;
  int64_t k = 0, n = 0;
  /// ||(W - W')X||^2 / ||WX||^2 on the calibration inputs.
  double outputError = 0;
  double seconds = 0;
};

/// Replaces the f32 weight of each of `layers` (by name; each has a format
/// in `formats`) that `stats` serves with its GPTQ quantization; failure
/// with `error`.
mlir::FailureOr<std::vector<LayerReport>>
gptqQuantizeLayers(const llvm::StringMap<qc::LinearOp> &layers,
                   const LayerStatistics &stats, const LayerFormats &formats,
                   const numerics::GptqOptions &options,
                   const std::function<void(const LayerReport &)> &progress,
                   std::string &error);

} // namespace quantc

#endif // QUANTC_TRANSFORMS_CALIBRATION_H
