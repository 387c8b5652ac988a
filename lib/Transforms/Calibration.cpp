//===- Calibration.cpp - layer Hessians through the JIT, GPTQ per layer ---===//

#include "quantc/Transforms/Calibration.h"

#include "LayerSelection.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Target/CPU/Jit.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"

#include <Eigen/Dense>

#include <chrono>
#include <fstream>
#include <iterator>

using namespace mlir;
using namespace quantc;

namespace {

constexpr const char *kOutputPrefix = "quantc.calibration.";

/// The layers `options` selects.
LayerSelection selectionOf(const CalibrationOptions &o) {
  return LayerSelection(o.layers, o.exclude);
}

/// The selected layers with an f32 constant weight.
SmallVector<qc::LinearOp> selectedLayers(func::FuncOp main,
                                         const LayerSelection &filter) {
  SmallVector<qc::LinearOp> out;
  main.walk([&](qc::LinearOp op) {
    if (op.getLayer() && filter.selects(*op.getLayer()) &&
        op.getWeight().getDefiningOp<arith::ConstantOp>())
      out.push_back(op);
  });
  return out;
}

} // namespace

FailureOr<Hessians> quantc::collectHessians(ModuleOp module,
                                            const CalibrationOptions &options,
                                            std::string &error) {
  LayerSelection filter = selectionOf(options);
  if (!filter.error().empty()) {
    error = filter.error();
    return failure();
  }
  std::ifstream in(options.textPath, std::ios::binary);
  if (!in) {
    error = "cannot open calibration text '" + options.textPath + "'";
    return failure();
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (options.windows <= 0 || options.length < 2 ||
      (int64_t)text.size() < options.windows * options.length) {
    error = "calibration text '" + options.textPath + "' holds " +
            std::to_string(text.size()) + " bytes; " +
            std::to_string(options.windows) + " windows of " +
            std::to_string(options.length) + " need " +
            std::to_string(options.windows * options.length);
    return failure();
  }

  // A copy of the model that also returns each selected layer's input.
  OwningOpRef<ModuleOp> copy = module.clone();
  auto main = copy->lookupSymbol<func::FuncOp>("main");
  if (!main) {
    error = "the module has no function 'main'";
    return failure();
  }
  SmallVector<qc::LinearOp> layers = selectedLayers(main, filter);
  if (layers.empty()) {
    error = "no layer to calibrate matches the layer patterns";
    return failure();
  }
  llvm::MapVector<Value, std::vector<std::string>> inputs;
  for (qc::LinearOp op : layers)
    inputs[op.getInput()].push_back(op.getLayer()->str());
  auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
  Builder b(copy->getContext());
  for (auto [i, entry] : llvm::enumerate(inputs)) {
    unsigned at = main.getNumResults();
    if (failed(main.insertResult(
            at, entry.first.getType(),
            b.getDictionaryAttr(b.getNamedAttr(
                "onnx.name",
                b.getStringAttr(kOutputPrefix + std::to_string(i)))))))
      return failure();
    ret->insertOperands(ret->getNumOperands(), entry.first);
  }
  if (options.progress)
    options.progress("calibration: compiling the fp32 model with " +
                     std::to_string(inputs.size()) + " observed inputs");
  auto model = JitModel::compile(std::move(copy));
  if (failed(model)) {
    error = "cannot compile the model for calibration";
    return failure();
  }

  std::vector<std::shared_ptr<LayerHessian>> stats(inputs.size());
  for (auto &s : stats)
    s = std::make_shared<LayerHessian>();
  std::map<std::string, size_t> outputOf;
  for (size_t o = 0; o < (*model)->outputs().size(); ++o) {
    const std::string &name = (*model)->outputs()[o].name;
    if (StringRef(name).starts_with(kOutputPrefix))
      outputOf[name] = o;
  }
  for (int64_t w0 = 0; w0 < options.windows; w0 += options.batch) {
    int64_t batch = std::min(options.batch, options.windows - w0),
            len = options.length;
    std::vector<HostTensor> feed;
    for (const TensorSignature &sig : (*model)->inputs()) {
      HostTensor t;
      t.dtype = sig.dtype;
      if ((sig.name == "input_ids" || sig.name == "position_ids") &&
          sig.dtype == DType::I64 && sig.shape.size() == 2) {
        t.shape = {batch, len};
        t.data.resize(batch * len * 8);
        for (int64_t i = 0; i < batch * len; ++i)
          t.as<int64_t>()[i] =
              sig.name == "input_ids"
                  ? static_cast<unsigned char>(text[w0 * len + i])
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
    std::string why;
    auto outputs = (*model)->run(feed, why);
    if (failed(outputs)) {
      error = "calibration run failed: " + why;
      return failure();
    }
    for (size_t i = 0; i < stats.size(); ++i) {
      const HostTensor &x =
          (*outputs)[outputOf[kOutputPrefix + std::to_string(i)]];
      int64_t k = x.shape.back(), rows = x.numElements() / k;
      LayerHessian &s = *stats[i];
      if (s.h.empty()) {
        s.k = k;
        s.h.assign(k * k, 0.0);
      }
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                     Eigen::RowMajor>>
          xm(x.as<float>(), rows, k);
      Eigen::MatrixXf xtx = xm.transpose() * xm;
      Eigen::Map<Eigen::MatrixXd> h(s.h.data(), k, k);
      h += xtx.cast<double>();
      s.samples += rows;
    }
    if (options.progress)
      options.progress("calibration: " + std::to_string(w0 + batch) + "/" +
                       std::to_string(options.windows) + " windows");
  }
  Hessians result;
  for (auto [i, entry] : llvm::enumerate(inputs)) {
    LayerHessian &s = *stats[i];
    for (double &v : s.h)
      v *= 2.0 / static_cast<double>(s.samples);
    for (const std::string &layer : entry.second)
      result[layer] = stats[i];
  }
  return result;
}

FailureOr<std::vector<LayerReport>> quantc::gptqQuantizeModule(
    ModuleOp module, const Hessians &hessians, const std::string &format,
    const numerics::GptqOptions &options,
    const std::function<void(const LayerReport &)> &progress,
    std::string &error) {
  MLIRContext *ctx = module.getContext();
  auto formatAttr = dyn_cast_or_null<qc::FormatAttr>(
      parseAttribute("#qc.format<" + format + ">", ctx));
  if (!formatAttr) {
    error = "'" + format + "' is not a #qc.format body";
    return failure();
  }
  numerics::Format f = qc::toNumericsFormat(formatAttr);
  std::vector<LayerReport> reports;
  SmallVector<qc::LinearOp> layers;
  module.walk([&](qc::LinearOp op) {
    if (op.getLayer() && hessians.count(op.getLayer()->str()) &&
        op.getWeight().getDefiningOp<arith::ConstantOp>())
      layers.push_back(op);
  });
  for (qc::LinearOp op : layers) {
    auto start = std::chrono::steady_clock::now();
    auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
    auto type = cast<RankedTensorType>(constant.getType());
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    std::string layer = op.getLayer()->str();
    const LayerHessian &hs = *hessians.at(layer);
    FailureOr<std::vector<float>> w =
        floatValues(cast<ElementsAttr>(constant.getValue()));
    if (failed(w) || hs.k != k) {
      error = "layer '" + layer + "': weight and calibration statistics do "
              "not match (statistics from another model?)";
      return failure();
    }
    numerics::QuantizedMatrix q;
    std::string why;
    if (!numerics::gptqQuantize(w->data(), k, n, f, hs.h.data(), options, q,
                                why)) {
      error = "layer '" + layer + "': " + why;
      return failure();
    }
    // ||(W - W')X||^2 / ||WX||^2 = tr(D^T H D) / tr(W^T H W).
    std::vector<float> wq = numerics::dequantizeMatrix(q);
    Eigen::Map<const Eigen::MatrixXd> h(hs.h.data(), k, k);
    Eigen::MatrixXd wm(k, n), dm(k, n);
    for (int64_t i = 0; i < k * n; ++i) {
      wm(i / n, i % n) = (*w)[i];
      dm(i / n, i % n) = (*w)[i] - wq[i];
    }
    LayerReport r;
    r.layer = layer;
    r.k = k;
    r.n = n;
    r.outputError = (dm.transpose() * h * dm).trace() /
                    (wm.transpose() * h * wm).trace();
    OpBuilder b(op);
    auto qtype = qc::QWeightType::get(ctx, k, n, formatAttr);
    op.getWeightMutable().assign(
        buildQConstant(b, constant.getLoc(), qtype, q, layer));
    if (constant->use_empty())
      constant->erase();
    r.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (progress)
      progress(r);
    reports.push_back(r);
  }
  return reports;
}

FailureOr<std::vector<LayerReport>> quantc::gptqQuantizeModel(
    ModuleOp module, const CalibrationOptions &calibration,
    const std::string &format, const numerics::GptqOptions &options,
    bool trueSequential,
    const std::function<void(const LayerReport &)> &progress,
    std::string &error) {
  if (!trueSequential) {
    auto hessians = collectHessians(module, calibration, error);
    if (failed(hessians))
      return failure();
    return gptqQuantizeModule(module, *hessians, format, options, progress,
                              error);
  }
  // Stages: the selected layers grouped by the value they read, in order.
  LayerSelection filter = selectionOf(calibration);
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!filter.error().empty() || !main) {
    error = main ? filter.error() : "the module has no function 'main'";
    return failure();
  }
  llvm::MapVector<Value, std::vector<std::string>> stages;
  for (qc::LinearOp op : selectedLayers(main, filter))
    stages[op.getInput()].push_back(op.getLayer()->str());
  std::vector<std::vector<std::string>> order;
  for (auto &entry : stages)
    order.push_back(entry.second);
  if (order.empty()) {
    error = "no layer to calibrate matches the layer patterns";
    return failure();
  }
  std::vector<LayerReport> reports;
  for (auto [i, layers] : llvm::enumerate(order)) {
    CalibrationOptions stage = calibration;
    stage.layers = layers; // exact names: no glob characters in them
    stage.exclude.clear();
    if (calibration.progress)
      calibration.progress("GPTQ stage " + std::to_string(i + 1) + "/" +
                           std::to_string(order.size()) + ": " +
                           llvm::join(layers, ", "));
    auto hessians = collectHessians(module, stage, error);
    if (failed(hessians))
      return failure();
    auto done = gptqQuantizeModule(module, *hessians, format, options,
                                   progress, error);
    if (failed(done))
      return failure();
    reports.insert(reports.end(), done->begin(), done->end());
  }
  return reports;
}
