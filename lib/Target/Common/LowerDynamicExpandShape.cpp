//===- LowerDynamicExpandShape.cpp - reshapes upstream cannot expand -----===//
//
// `memref.expand_shape` with more than one dynamic size in one reassociation
// group (a Reshape of [b*h*s*d] into [b, h, s, d] with b and s unknown)
// crashes LLVM 22's expand-strided-metadata (llvm/llvm-project#186830: it
// assumes at most one). Such an expand is a view of the same memory with
// row-major strides inside each group, so it is written here as
// memref.reinterpret_cast of its source's base buffer, which every later
// pass handles. Other expands are left to upstream.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace quantc {
#define GEN_PASS_DEF_LOWERDYNAMICEXPANDSHAPE
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

bool hasGroupWithDynamicSizes(memref::ExpandShapeOp op) {
  MemRefType type = op.getResultType();
  for (const ReassociationIndices &group : op.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) { return type.isDynamicDim(d); }) > 1)
      return true;
  return false;
}

/// `a * b` folding constants, as an OpFoldResult.
OpFoldResult multiply(OpBuilder &b, Location loc, OpFoldResult x,
                      OpFoldResult y) {
  std::optional<int64_t> cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return b.getIndexAttr(*cx * *cy);
  if (cx == 1)
    return y;
  if (cy == 1)
    return x;
  return arith::MulIOp::create(b, loc, getValueOrCreateConstantIndexOp(b, loc, x),
                               getValueOrCreateConstantIndexOp(b, loc, y))
      .getResult();
}

struct LowerDynamicExpandShapePass
    : quantc::impl::LowerDynamicExpandShapeBase<LowerDynamicExpandShapePass> {
  void runOnOperation() override {
    SmallVector<memref::ExpandShapeOp> expands;
    getOperation().walk([&](memref::ExpandShapeOp op) {
      if (hasGroupWithDynamicSizes(op))
        expands.push_back(op);
    });
    for (memref::ExpandShapeOp op : expands)
      if (failed(lower(op)))
        return signalPassFailure();
  }

  LogicalResult lower(memref::ExpandShapeOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MemRefType type = op.getResultType();
    auto [typeStrides, typeOffset] = type.getStridesAndOffset();
    auto metadata =
        memref::ExtractStridedMetadataOp::create(b, loc, op.getSrc());
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(type.getRank());
    for (auto [source, group] : llvm::enumerate(op.getReassociationIndices())) {
      OpFoldResult stride = metadata.getStrides()[source];
      for (int64_t d : llvm::reverse(group)) {
        strides[d] = stride;
        stride = multiply(b, loc, stride, sizes[d]);
      }
    }
    // The type's static strides must appear as constants (the verifier
    // compares them); they agree with the computed ones by construction.
    for (auto [i, s] : llvm::enumerate(typeStrides))
      if (!ShapedType::isDynamic(s))
        strides[i] = b.getIndexAttr(s);
    for (auto [i, s] : llvm::enumerate(type.getShape()))
      if (!ShapedType::isDynamic(s))
        sizes[i] = b.getIndexAttr(s);
    OpFoldResult offset = metadata.getOffset();
    if (!ShapedType::isDynamic(typeOffset))
      offset = b.getIndexAttr(typeOffset);
    auto cast = memref::ReinterpretCastOp::create(
        b, loc, type, metadata.getBaseBuffer(), offset, sizes, strides);
    op.replaceAllUsesWith(cast.getResult());
    op.erase();
    return success();
  }
};

} // namespace
