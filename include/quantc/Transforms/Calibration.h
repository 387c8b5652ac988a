//===- Calibration.h - layer statistics and GPTQ over a model ---*- C++ -*-===//
//
// Calibration runs the fp32 model through the CPU JIT on calibration text
// (EVAL.md's protocol by default) and gathers, for each selected qc.linear,
// the Hessian of its inputs H = 2 X^T X / samples. GPTQ then rewrites each
// layer's weight with it.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TRANSFORMS_CALIBRATION_H
#define QUANTC_TRANSFORMS_CALIBRATION_H

#include "quantc/Numerics/Gptq.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quantc {

struct CalibrationOptions {
  std::string textPath;
  /// Windows of `length` bytes from the start of the text, `batch` at a time.
  int64_t windows = 256, length = 256, batch = 16;
  /// Glob patterns of layer names (default *.blocks.*), and ones to skip.
  std::vector<std::string> layers, exclude;
  std::function<void(const std::string &)> progress;
};

/// The Hessian of one layer's inputs (K x K, row-major); layers that read
/// the same value (q, k and v) share it.
struct LayerHessian {
  int64_t k = 0, samples = 0;
  std::vector<double> h;
};
using Hessians = std::map<std::string, std::shared_ptr<LayerHessian>>;

/// Runs `module` (left as it is) on the calibration text; failure with
/// `error` for a text that is missing or too short, or a model it cannot
/// feed (inputs other than input_ids, position_ids and KV caches).
mlir::FailureOr<Hessians> collectHessians(mlir::ModuleOp module,
                                          const CalibrationOptions &options,
                                          std::string &error);

/// One line of the per-layer report.
struct LayerReport {
  std::string layer;
  int64_t k = 0, n = 0;
  /// ||(W - W')X||^2 / ||WX||^2 on the calibration inputs.
  double outputError = 0;
  double seconds = 0;
};

/// Replaces the weight of every layer in `hessians` with its GPTQ
/// quantization in `format` (a #qc.format body); failure with `error`.
mlir::FailureOr<std::vector<LayerReport>>
gptqQuantizeModule(mlir::ModuleOp module, const Hessians &hessians,
                   const std::string &format,
                   const numerics::GptqOptions &options,
                   const std::function<void(const LayerReport &)> &progress,
                   std::string &error);

/// GPTQ over the whole model. With `trueSequential`, layers go in stages of
/// those reading the same input (q, k and v; gate and up), in program
/// order, each stage calibrated on the outputs of the stages quantized
/// before it (one calibration run per stage); otherwise every layer is
/// calibrated once on the fp32 model.
mlir::FailureOr<std::vector<LayerReport>>
gptqQuantizeModel(mlir::ModuleOp module, const CalibrationOptions &calibration,
                  const std::string &format,
                  const numerics::GptqOptions &options, bool trueSequential,
                  const std::function<void(const LayerReport &)> &progress,
                  std::string &error);

} // namespace quantc

#endif // QUANTC_TRANSFORMS_CALIBRATION_H
