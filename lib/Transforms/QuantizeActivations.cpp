//===- QuantizeActivations.cpp - qc-quantize-activations: int8 inputs -----===//
//
// Puts a quantize/dequantize pair on the input of each selected qc.linear,
// so that the layer reads its input rounded to B-bit integers:
// - dynamic: qc.quantize_dynamic <per_token> (symmetric, scale max|x|/(2^(B-1)-1)
//   per row, computed at run time) and qc.dequantize_dynamic;
// - static: qc.quantize to !quant.uniform<iB:f32, s> with one scale for the
//   tensor, s = (max over channels of the calibration absmax) / (2^(B-1)-1),
//   and qc.dequantize; channels qc-split-outliers set to 0 do not count.
// Targets lower the pair as it stands (qc-to-linalg) or fuse it with the
// layer into an integer product (CPU: 8-bit codes with 8-bit per-channel
// weights become one int8 x int8 kernel call).
//
//===----------------------------------------------------------------------===//

#include "LayerSelection.h"

#include "QC/IR/QC.h"
#include "quantc/Transforms/Passes.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace quantc {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONS
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

struct QuantizeActivationsPass
    : quantc::impl::QuantizeActivationsBase<QuantizeActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    if (failed(run(module, error))) {
      emitError(module.getLoc()) << "qc-quantize-activations: " << error;
      signalPassFailure();
    }
  }

  LogicalResult run(ModuleOp module, std::string &error) {
    if (mode != "dynamic" && mode != "static") {
      error = "mode must be 'dynamic' or 'static', not '" + mode + "'";
      return failure();
    }
    if (bits < 2 || bits > 8) {
      error = llvm::formatv("bits must be 2 to 8, not {0}", bits.getValue());
      return failure();
    }
    SmallVector<qc::LinearOp> selected = selectLayers(
        module, layers, exclude,
        [](qc::LinearOp op) {
          return !op.getInput().getDefiningOp<qc::DequantizeOp>() &&
                 !op.getInput().getDefiningOp<qc::DequantizeDynamicOp>();
        },
        error);
    if (selected.empty())
      return failure();
    const double top = double((1 << (bits - 1)) - 1);

    // Static: each layer's input absmax per channel from the statistics.
    llvm::StringMap<std::vector<float>> absmax;
    if (mode == "static") {
      std::string path = statisticsPath(module, stats);
      if (path.empty()) {
        error = "mode=static needs stats=FILE (or qc-calibrate before it)";
        return failure();
      }
      StatisticsFile file;
      if (!openModelStatistics(module, path, file, error))
        return failure();
      if (!file.absmaxByLayer(absmax, error))
        return failure();
    }

    llvm::errs() << llvm::formatv("quantize-activations: {0}, {1} bits, {2} "
                                  "layers\n",
                                  mode == "static" ? "static per tensor"
                                                   : "dynamic per token",
                                  bits.getValue(), selected.size());
    OpBuilder b(&getContext());
    for (qc::LinearOp op : selected) {
      std::string name = op->getAttrOfType<StringAttr>("layer").str();
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value x = op.getInput();
      auto xType = cast<RankedTensorType>(x.getType());
      Type f = xType.getElementType();
      Type codes = b.getIntegerType(bits);
      Value xq;
      if (mode == "dynamic") {
        SmallVector<int64_t> scaleShape(xType.getShape());
        scaleShape.back() = 1;
        auto q = qc::QuantizeDynamicOp::create(
            b, loc, RankedTensorType::get(xType.getShape(), codes),
            RankedTensorType::get(scaleShape, f), Type(), x,
            qc::ActGranularity::PerToken, /*affine=*/false);
        xq = qc::DequantizeDynamicOp::create(b, loc, xType, q.getCodes(),
                                             q.getScales(), Value());
      } else {
        auto it = absmax.find(name);
        if (it == absmax.end()) {
          error = "layer '" + name + "' has no calibration statistics";
          return failure();
        }
        // The channels qc-split-outliers took out are 0 here.
        std::vector<float> channels = it->second;
        if (auto split = x.getDefiningOp<qc::SplitColumnsOp>())
          for (int64_t c : split.getColumns())
            if (c < int64_t(channels.size()))
              channels[size_t(c)] = 0.0f;
        float m = channels.empty()
                      ? 0.0f
                      : *std::max_element(channels.begin(), channels.end());
        // A layer whose input was zero throughout calibration: any scale
        // rounds it to 0; 1 keeps the type valid.
        double scale = m > 0 ? m / top : 1.0;
        auto element = quant::UniformQuantizedType::get(
            quant::QuantizationFlags::Signed, codes, f, scale, 0,
            -(int64_t(1) << (bits - 1)), (int64_t(1) << (bits - 1)) - 1);
        Value q = qc::QuantizeOp::create(
            b, loc, RankedTensorType::get(xType.getShape(), element), x);
        xq = qc::DequantizeOp::create(b, loc, xType, q);
        llvm::errs() << llvm::formatv("  {0}: scale {1:e3}\n", name, scale);
      }
      op.getInputMutable().set(xq);
    }
    return success();
  }
};

} // namespace
