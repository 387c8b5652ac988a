//===- QuantizeWeights.cpp - round-to-nearest weights of qc.linear --------===//

#include "QC/IR/QConstant.h"
#include "Calibration.h"
#include "LayerSelection.h"
#include "quantc/Numerics/Gptq.h"
#include "quantc/Transforms/Passes.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace quantc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

struct QuantizeWeightsPass
    : quantc::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    LayerFormats formats(ctx, format, layerFormats,
                         {layers.begin(), layers.end()},
                         {exclude.begin(), exclude.end()}, outputHeads(module));
    if (!formats.error().empty()) {
      emitError(module.getLoc()) << "qc-quantize-weights: " << formats.error();
      return signalPassFailure();
    }
    for (qc::FormatAttr f : formats.all())
      if (qc::toNumericsFormat(f).outliers) {
        emitError(module.getLoc())
            << "qc-quantize-weights: round-to-nearest does not choose "
               "outliers, and no quantc pass chooses them yet";
        return signalPassFailure();
      }
    // With statistics: each layer's output error, one record (Hessian) in
    // memory at a time (layers reading one value are adjacent).
    StatisticsFile file;
    std::string error;
    if (!stats.empty() && !openModelStatistics(module, stats, file, error)) {
      emitError(module.getLoc()) << "qc-quantize-weights: " << error;
      return signalPassFailure();
    }
    LayerStatistics loaded;
    int64_t loadedRecord = -1;
    bool selected = false;
    WalkResult result = module.walk([&](qc::LinearOp op) {
      StringRef layer = op.getLayer() ? *op.getLayer() : StringRef();
      qc::FormatAttr formatAttr = formats.formatOf(layer);
      if (!formatAttr)
        return WalkResult::advance();
      selected = true;
      auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
      if (!constant)
        return WalkResult::advance(); // already quantized, or not constant
      auto type = cast<RankedTensorType>(constant.getType());
      int64_t k = type.getDimSize(0), n = type.getDimSize(1);
      numerics::Format f = qc::toNumericsFormat(formatAttr);
      if (std::string why = f.validateShape(k, n); !why.empty()) {
        op.emitError() << "layer '" << layer << "' (" << k << " x " << n
                       << ") cannot be stored as " << formatAttr << ": "
                       << why;
        return WalkResult::interrupt();
      }
      FailureOr<std::vector<float>> weight =
          floatValues(cast<ElementsAttr>(constant.getValue()));
      if (failed(weight)) {
        op.emitError() << "layer '" << layer << "': weight is not f32";
        return WalkResult::interrupt();
      }
      numerics::QuantizedMatrix q =
          numerics::quantizeMatrix(weight->data(), k, n, f);
      if (int64_t record = stats.empty() ? -1 : file.find(layer.str());
          record >= 0) {
        if (record != loadedRecord &&
            !file.load(size_t(record), loaded, error)) {
          op.emitError() << "qc-quantize-weights: " << error;
          return WalkResult::interrupt();
        }
        loadedRecord = record;
        if (loaded.k != k) {
          op.emitError() << "qc-quantize-weights: layer '" << layer
                         << "': weight and calibration statistics do not "
                            "match (statistics from another model?)";
          return WalkResult::interrupt();
        }
        std::vector<float> wq = numerics::dequantizeMatrix(q);
        op->setAttr(kOutputErrorAttr,
                    FloatAttr::get(Float64Type::get(ctx),
                                   numerics::relativeOutputError(
                                       weight->data(), wq.data(), k, n,
                                       loaded.hessian.data())));
      }
      OpBuilder b(op);
      auto qtype = qc::QWeightType::get(ctx, k, n, formatAttr);
      qc::QConstantOp quantized =
          buildQConstant(b, constant.getLoc(), qtype, q, layer.empty() ? "w" : layer);
      op.getWeightMutable().assign(quantized);
      if (constant->use_empty())
        constant->erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    // Quantization was asked for: quantizing nothing is a mistake to report.
    if (!selected) {
      emitError(module.getLoc())
          << "qc-quantize-weights: no qc.linear layer matches "
          << formats.describe();
      signalPassFailure();
    }
  }
};

} // namespace
