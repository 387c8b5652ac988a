//===- ConcatValueBounds.cpp - sizes of tensor.concat for value bounds ----===//
//
// Upstream (LLVM 22) gives tensor.concat no ValueBoundsOpInterface, so a
// size computed through a Concat (Phi's partial rotary: rotated and kept
// halves concatenated) cannot be related to the graph's inputs, and the KV
// cache pass could not size a cache from them. A concat's size along its
// axis is the sum of its operands'; along every other axis, its first
// operand's (the verifier makes them agree).
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;

namespace {
struct ConcatValueBounds
    : public ValueBoundsOpInterface::ExternalModel<ConcatValueBounds,
                                                   tensor::ConcatOp> {
  void populateBoundsForShapedValueDim(Operation *op, Value value, int64_t dim,
                                       ValueBoundsConstraintSet &cstr) const {
    auto concat = cast<tensor::ConcatOp>(op);
    if (dim != static_cast<int64_t>(concat.getDim())) {
      cstr.bound(value)[dim] == cstr.getExpr(concat.getInputs()[0], dim);
      return;
    }
    AffineExpr sum = getAffineConstantExpr(0, op->getContext());
    for (Value input : concat.getInputs())
      sum = sum + cstr.getExpr(input, dim);
    cstr.bound(value)[dim] == sum;
  }
};
} // namespace

void quantc::registerTargetCommonExtensions(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ConcatOp::attachInterface<ConcatValueBounds>(*ctx);
  });
}
