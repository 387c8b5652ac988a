//===- DequantizeConstants.cpp - the reference lowering of qc.qconstant ---===//

#include "QC/IR/QConstant.h"
#include "quantc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace quantc {
#define GEN_PASS_DEF_DEQUANTIZECONSTANTS
#include "quantc/Conversion/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {
struct DequantizeConstantsPass
    : quantc::impl::DequantizeConstantsBase<DequantizeConstantsPass> {
  void runOnOperation() override {
    SmallVector<qc::QConstantOp> constants;
    getOperation().walk([&](qc::QConstantOp op) { constants.push_back(op); });
    for (qc::QConstantOp op : constants) {
      numerics::QuantizedMatrix q = readQConstant(op);
      std::vector<float> values = numerics::dequantizeMatrix(q);
      OpBuilder b(op);
      std::string name = "dequantized";
      if (auto codes = dyn_cast<DenseResourceElementsAttr>(op.getCodes()))
        name = codes.getRawHandle().getKey().str() + "_dequantized";
      ElementsAttr value = resourceBlob(
          name, {q.k, q.n}, b.getF32Type(),
          ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                         values.size() * sizeof(float)));
      auto constant =
          arith::ConstantOp::create(b, op.getLoc(), cast<TypedAttr>(value));
      op.getResult().replaceAllUsesWith(constant);
      op.erase();
    }
  }
};

} // namespace
