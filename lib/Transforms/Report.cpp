//===- Report.cpp - qc-report: the per-layer quantization report ----------===//
//
// What was done to each layer, read from the IR as the passes left it: the
// weight's type, the activation quantization and split on its input, and
// the attributes SmoothQuant and the weight quantizers set (Calibration.h).
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"
#include "LayerSelection.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Transforms/Passes.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <Eigen/Core>

#include <algorithm>
#include <tuple>

namespace quantc {
#define GEN_PASS_DEF_REPORT
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

/// How the layer's input is quantized, the value quantized, and the step
/// of a static quantization (0 for none or dynamic).
std::tuple<std::string, Value, double> activations(qc::LinearOp op) {
  Value x = op.getInput();
  if (auto dq = x.getDefiningOp<qc::DequantizeDynamicOp>()) {
    auto q = dq.getCodes().getDefiningOp<qc::QuantizeDynamicOp>();
    unsigned bits = dq.getCodes().getType().getElementTypeBitWidth();
    std::string what = llvm::formatv("int{0} dynamic {1}", bits,
                                     q && q.getGranularity() ==
                                              qc::ActGranularity::PerTensor
                                         ? "per tensor"
                                         : "per token");
    return {what, q ? q.getInput() : x, 0.0};
  }
  if (auto dq = x.getDefiningOp<qc::DequantizeOp>()) {
    auto t = cast<quant::UniformQuantizedType>(
        dq.getInput().getType().getElementType());
    auto q = dq.getInput().getDefiningOp<qc::QuantizeOp>();
    std::string what =
        llvm::formatv("int{0} static per tensor, scale {1:e3}",
                      t.getStorageTypeIntegralWidth(), t.getScale());
    return {what, q ? q.getInput() : x, t.getScale()};
  }
  return {"f32", x, 0.0};
}

/// The expected relative output error of rounding the layer's input to
/// the static per-tensor step `step`, where the statistics serve it: each
/// input channel's rounding error taken as independent of the others, of
/// variance min(step^2 / 12, E[x_j^2]) (uniform over a step, or the value
/// itself where it rounds to zero), so sum_j var_j ||W'_j||^2 over the
/// output's energy tr(W'^T H W') / 2 (H = 2 X^T X / samples, W' the weight
/// as quantized). Empty where anything is missing.
std::string activationError(qc::LinearOp op, double step, StatisticsFile *file,
                            LayerStatistics &stats, int64_t &loadedRecord,
                            std::string &error) {
  if (!file || !op.getLayer())
    return "";
  int64_t record = file->find(op.getLayer()->str());
  if (record < 0)
    return "";
  if (record != loadedRecord) {
    if (!file->load(size_t(record), stats, error))
      return "";
    loadedRecord = record;
  }
  const int64_t k = stats.k, n = op.getOutputDim();
  if (k != op.getInputDim())
    return "";
  std::vector<float> w;
  if (auto q = op.getWeight().getDefiningOp<qc::QConstantOp>()) {
    w = numerics::dequantizeMatrix(readQConstant(q));
  } else if (auto c = op.getWeight().getDefiningOp<arith::ConstantOp>()) {
    FailureOr<std::vector<float>> v =
        floatValues(cast<ElementsAttr>(c.getValue()));
    if (failed(v))
      return "";
    w = std::move(*v);
  } else {
    return "";
  }
  Eigen::Map<const Eigen::MatrixXd> h(stats.hessian.data(), k, k);
  Eigen::MatrixXd wd =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                     Eigen::RowMajor>>(w.data(), k, n)
          .cast<double>();
  double energy = 0.5 * (wd.transpose() * h * wd).trace();
  double noise = 0;
  for (int64_t j = 0; j < k; ++j)
    noise +=
        std::min(step * step / 12.0, 0.5 * h(j, j)) * wd.row(j).squaredNorm();
  if (!(energy > 0))
    return "";
  return llvm::formatv("{0:e6}", noise / energy).str();
}

std::string attr(qc::LinearOp op, const char *name, const char *style) {
  auto a = op->getAttrOfType<FloatAttr>(name);
  return a ? llvm::formatv(style, a.getValueAsDouble()).str() : "";
}

struct ReportPass : quantc::impl::ReportBase<ReportPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (file.empty()) {
      emitError(module.getLoc()) << "qc-report: needs file=CSV";
      return signalPassFailure();
    }
    // Statistics (the option's, or those qc-calibrate left) give static
    // activations their expected rounding error.
    StatisticsFile statsFile;
    StatisticsFile *statsOrNull = nullptr;
    std::string error;
    if (std::string path = statisticsPath(module, stats); !path.empty()) {
      if (!openModelStatistics(module, path, statsFile, error)) {
        emitError(module.getLoc()) << "qc-report: " << error;
        return signalPassFailure();
      }
      statsOrNull = &statsFile;
    }
    LayerStatistics loaded;
    int64_t loadedRecord = -1;
    std::error_code ec;
    llvm::raw_fd_ostream csv(file, ec);
    if (ec) {
      emitError(module.getLoc())
          << "qc-report: cannot write '" << file << "': " << ec.message();
      return signalPassFailure();
    }
    csv << "layer,k,n,format,alpha,outlier_columns,activations,"
           "relative_output_error,activation_output_error,seconds\n";
    WalkResult result = module.walk([&](qc::LinearOp op) {
      if (!op.getLayer())
        return WalkResult::advance();
      auto qtype = dyn_cast<qc::QWeightType>(op.getWeight().getType());
      auto [acts, x, step] = activations(op);
      std::string actError;
      if (step > 0) {
        actError =
            activationError(op, step, statsOrNull, loaded, loadedRecord, error);
        if (!error.empty()) {
          op.emitError() << "qc-report: " << error;
          return WalkResult::interrupt();
        }
      }
      auto split = x.getDefiningOp<qc::SplitColumnsOp>();
      csv << *op.getLayer() << "," << op.getInputDim() << ","
          << op.getOutputDim() << ",\""
          << (qtype ? formatBody(qtype.getFormat()) : "f32") << "\","
          << attr(op, kAlphaAttr, "{0:f2}") << ","
          << (split && x == split.getRest() ? split.getColumns().size() : 0)
          << ",\"" << acts << "\"," << attr(op, kOutputErrorAttr, "{0:e6}")
          << "," << actError << "," << attr(op, kSecondsAttr, "{0:f3}") << "\n";
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
