//===- SplitOutliers.cpp - qc-split-outliers: LLM.int8()'s mixed product --===//
//
// LLM.int8() (Dettmers et al.): a few input channels of a layer carry
// values far larger than the rest (the shared models: one channel of
// smallllama's first down-projection input is ~440x its median). Quantizing
// them with the rest costs every other channel its resolution. Here the
// channels whose calibration absmax exceeds a threshold are split off:
//
//   y = x W + b  ->  y = (x with channels C zeroed) (W with rows C zeroed) + b
//                        + x[..., C] W[C, :]
//
// The first product keeps the layer's name, so weight and activation
// quantization then apply to it alone; the second is an unnamed f32
// qc.linear no pass selects. Targets may fuse the split, both products and
// the sum into one kernel (the CPU's W8A8 kernel does).
//
//===----------------------------------------------------------------------===//

#include "LayerSelection.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Transforms/Passes.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace quantc {
#define GEN_PASS_DEF_SPLITOUTLIERS
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

/// `x + y` of one shape, elementwise, written into `init`.
Value buildAdd(OpBuilder &b, Location loc, Value x, Value y, Value init) {
  auto type = cast<RankedTensorType>(x.getType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{x, y}, ValueRange{init},
             SmallVector<AffineMap>(3, id),
             SmallVector<utils::IteratorType>(type.getRank(),
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l, ValueRange{arith::AddFOp::create(nb, l, a[0], a[1])});
             })
      .getResult(0);
}

struct SplitOutliersPass
    : quantc::impl::SplitOutliersBase<SplitOutliersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    if (failed(run(module, error))) {
      emitError(module.getLoc()) << "qc-split-outliers: " << error;
      signalPassFailure();
    }
  }

  LogicalResult run(ModuleOp module, std::string &error) {
    if (!(threshold > 0)) {
      error = llvm::formatv("threshold must be greater than 0, not {0}",
                            threshold.getValue());
      return failure();
    }
    SmallVector<qc::LinearOp> selected = selectLayers(
        module, layers, exclude, [](qc::LinearOp) { return true; }, error);
    if (selected.empty())
      return failure();
    std::string path = statisticsPath(module, stats);
    if (path.empty()) {
      error = "needs stats=FILE (or qc-calibrate before it)";
      return failure();
    }
    StatisticsFile file;
    if (!openModelStatistics(module, path, file, error))
      return failure();
    llvm::StringMap<std::vector<float>> absmax;
    if (!file.absmaxByLayer(absmax, error))
      return failure();

    int64_t columns = 0, split = 0, layersSplit = 0;
    OpBuilder b(&getContext());
    for (qc::LinearOp op : selected) {
      std::string name = op.getLayer()->str();
      auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
      if (!constant) {
        error = "layer '" + name +
                "' has a quantized or computed weight: split outliers "
                "before quantizing weights";
        return failure();
      }
      if (op.getInput().getDefiningOp<qc::DequantizeOp>() ||
          op.getInput().getDefiningOp<qc::DequantizeDynamicOp>()) {
        error = "layer '" + name +
                "' reads quantized activations: split outliers before "
                "qc-quantize-activations";
        return failure();
      }
      auto it = absmax.find(name);
      if (it == absmax.end()) {
        error = "layer '" + name + "' has no calibration statistics";
        return failure();
      }
      const int64_t k = op.getInputDim();
      if (int64_t(it->second.size()) != k) {
        error = llvm::formatv("layer '{0}' has {1} input channels, its "
                              "statistics {2}",
                              name, k, it->second.size());
        return failure();
      }
      SmallVector<int64_t> outliers;
      for (int64_t j = 0; j < k; ++j)
        if (it->second[j] > threshold)
          outliers.push_back(j);
      columns += k;
      split += int64_t(outliers.size());
      if (outliers.empty())
        continue;
      FailureOr<std::vector<float>> w =
          floatValues(cast<ElementsAttr>(constant.getValue()));
      if (failed(w)) {
        error = "layer '" + name + "': weight is not f32";
        return failure();
      }
      ++layersSplit;
      llvm::errs() << llvm::formatv("  {0}: {1} of {2} input columns in "
                                    "floating point\n",
                                    name, outliers.size(), k);
      splitLayer(b, op, constant, *w, outliers);
    }
    llvm::errs() << llvm::formatv(
        "split-outliers: threshold {0}: {1} of {2} input columns ({3:f3}%) "
        "in floating point, in {4} of {5} layers\n",
        threshold.getValue(), split, columns,
        columns ? 100.0 * double(split) / double(columns) : 0.0, layersSplit,
        selected.size());
    return success();
  }

  /// Rewrites `op` (weight `w`, K x N row-major) as the sum of its product
  /// without the channels `outliers` and the f32 product of those channels.
  void splitLayer(OpBuilder &b, qc::LinearOp op, arith::ConstantOp constant,
                  std::vector<float> w, ArrayRef<int64_t> outliers) {
    std::string name = op.getLayer()->str();
    const int64_t n = op.getOutputDim(), count = int64_t(outliers.size());
    Location loc = op.getLoc();
    b.setInsertionPoint(op);
    auto xType = cast<RankedTensorType>(op.getInput().getType());
    SmallVector<int64_t> outShape(xType.getShape());
    outShape.back() = count;
    // The sum's sizes: the input's, N last (not read from the layer's
    // result: the sum must be its only reader, which targets fusing the
    // split look for).
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(b, loc, op.getInput());
    sizes.back() = b.getIndexAttr(n);
    Value init = tensor::EmptyOp::create(b, loc, sizes, xType.getElementType());
    auto split = qc::SplitColumnsOp::create(
        b, loc, xType, RankedTensorType::get(outShape, xType.getElementType()),
        op.getInput(), outliers);

    std::vector<float> rows(size_t(count * n));
    for (int64_t i = 0; i < count; ++i)
      for (int64_t c = 0; c < n; ++c) {
        float &v = w[size_t(outliers[i] * n + c)];
        rows[size_t(i * n + c)] = v;
        v = 0.0f;
      }
    auto wType = cast<RankedTensorType>(constant.getType());
    Value rest = arith::ConstantOp::create(
        b, constant.getLoc(),
        cast<TypedAttr>(floatBlob(name + ".weight", wType, w)));
    Value fp = arith::ConstantOp::create(
        b, constant.getLoc(),
        cast<TypedAttr>(floatBlob(
            name + ".outlier_weight",
            RankedTensorType::get({count, n}, wType.getElementType()), rows)));
    Type resultType = op.getResult().getType();
    SmallPtrSet<Operation *, 4> readers;
    for (Operation *user : op.getResult().getUsers())
      readers.insert(user);
    op.getInputMutable().assign(split.getRest());
    op.getWeightMutable().assign(rest);
    b.setInsertionPointAfter(op);
    Value product = qc::LinearOp::create(b, loc, resultType, split.getOutliers(),
                                         fp, Value(), StringAttr());
    Value sum = buildAdd(b, loc, op.getResult(), product, init);
    op.getResult().replaceUsesWithIf(sum, [&](OpOperand &use) {
      return readers.contains(use.getOwner());
    });
    if (constant->use_empty())
      constant->erase();
  }
};

} // namespace
