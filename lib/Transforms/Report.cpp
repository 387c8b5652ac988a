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
#include "quantc/Transforms/Passes.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace quantc {
#define GEN_PASS_DEF_REPORT
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

/// How the layer's input is quantized, and the value quantized.
std::pair<std::string, Value> activations(qc::LinearOp op) {
  Value x = op.getInput();
  if (auto dq = x.getDefiningOp<qc::DequantizeDynamicOp>()) {
    auto q = dq.getCodes().getDefiningOp<qc::QuantizeDynamicOp>();
    unsigned bits = dq.getCodes().getType().getElementTypeBitWidth();
    std::string what = llvm::formatv("int{0} dynamic {1}", bits,
                                     q && q.getGranularity() ==
                                              qc::ActGranularity::PerTensor
                                         ? "per tensor"
                                         : "per token");
    return {what, q ? q.getInput() : x};
  }
  if (auto dq = x.getDefiningOp<qc::DequantizeOp>()) {
    auto t = cast<quant::UniformQuantizedType>(
        dq.getInput().getType().getElementType());
    auto q = dq.getInput().getDefiningOp<qc::QuantizeOp>();
    std::string what =
        llvm::formatv("int{0} static per tensor, scale {1:e3}",
                      t.getStorageTypeIntegralWidth(), t.getScale());
    return {what, q ? q.getInput() : x};
  }
  return {"f32", x};
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
    std::error_code ec;
    llvm::raw_fd_ostream csv(file, ec);
    if (ec) {
      emitError(module.getLoc())
          << "qc-report: cannot write '" << file << "': " << ec.message();
      return signalPassFailure();
    }
    csv << "layer,k,n,format,alpha,outlier_columns,activations,"
           "relative_output_error,seconds\n";
    module.walk([&](qc::LinearOp op) {
      if (!op.getLayer())
        return;
      auto qtype = dyn_cast<qc::QWeightType>(op.getWeight().getType());
      auto [acts, x] = activations(op);
      auto split = x.getDefiningOp<qc::SplitColumnsOp>();
      csv << *op.getLayer() << "," << op.getInputDim() << ","
          << op.getOutputDim() << ",\""
          << (qtype ? formatBody(qtype.getFormat()) : "f32") << "\","
          << attr(op, kAlphaAttr, "{0:f2}") << ","
          << (split && x == split.getRest() ? split.getColumns().size() : 0)
          << ",\"" << acts << "\"," << attr(op, kOutputErrorAttr, "{0:e6}")
          << "," << attr(op, kSecondsAttr, "{0:f3}") << "\n";
    });
  }
};

} // namespace
