//===- RepackWeights.cpp - quantized weights in a target's layout ---------===//

#include "QC/IR/QConstant.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace quantc {
#define GEN_PASS_DEF_REPACKWEIGHTS
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

struct RepackWeightsPass
    : quantc::impl::RepackWeightsBase<RepackWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto target = dyn_cast_or_null<qc::LayoutAttr>(
        parseAttribute("#qc.layout<" + layout + ">", ctx));
    if (!target) {
      emitError(module.getLoc())
          << "qc-repack-weights: layout='" << layout
          << "' is not a layout: expected channel_major or tiles<TNxTK>";
      return signalPassFailure();
    }
    SmallVector<qc::QConstantOp> weights;
    module.walk([&](qc::QConstantOp op) { weights.push_back(op); });
    for (qc::QConstantOp op : weights)
      repack(op, target);
  }

  void repack(qc::QConstantOp op, qc::LayoutAttr target) {
    auto type = cast<qc::QWeightType>(op.getType());
    if (type.getLayout() == target)
      return;
    auto keep = [&] {
      return op.emitRemark() << "kept in layout "
                             << type.getLayout() << ": ";
    };
    if (failed(qc::QWeightType::verifyInvariants(
            keep, type.getInputDim(), type.getOutputDim(), type.getFormat(),
            target)))
      return;
    qc::QWeightType newType = type.withLayout(target);
    std::string name = "codes";
    if (auto blob = dyn_cast<DenseResourceElementsAttr>(op.getCodes()))
      name = blob.getRawHandle().getKey().str();
    std::vector<char> codes =
        relayoutCodes(storedBytes(op.getCodes()), type, target);
    OpBuilder b(op);
    auto repacked = qc::QConstantOp::create(
        b, op.getLoc(), newType,
        resourceBlob(name, newType.getCodesShape(), b.getI8Type(), codes),
        op.getScales(), op.getScaleParamsAttr(), op.getZeroPointsAttr(),
        op.getOutlierOffsetsAttr(), op.getOutlierColumnsAttr(),
        op.getOutlierValuesAttr());
    op.replaceAllUsesWith(repacked.getResult());
    op.erase();
  }
};

} // namespace
