//===- LowerUKernels.cpp - bufferized qc.ukernel ops to kernel calls ------===//

#include "quantc/Target/CPU/Passes.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace quantc {
#define GEN_PASS_DEF_LOWERUKERNELS
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// `v` as the kernel ABI takes a buffer: rank at most 2 (leading dimensions
/// merged into rows), dynamic sizes and strides. A buffer whose leading
/// dimensions cannot be merged goes through a dense copy, returned in
/// `dense` (an output's is copied back after the call).
Value asKernelBuffer(OpBuilder &b, Location loc, Value v, Value &dense) {
  auto type = cast<MemRefType>(v.getType());
  int64_t rank = type.getRank();
  if (rank > 2) {
    SmallVector<ReassociationIndices> rows(2);
    for (int64_t i = 0; i + 1 < rank; ++i)
      rows[0].push_back(i);
    rows[1].push_back(rank - 1);
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type, rows)) {
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < rank; ++i)
        if (type.isDynamicDim(i))
          sizes.push_back(memref::DimOp::create(b, loc, v, i));
      dense = memref::AllocOp::create(
          b, loc, MemRefType::get(type.getShape(), type.getElementType()),
          sizes, b.getI64IntegerAttr(64));
      memref::CopyOp::create(b, loc, v, dense);
      v = dense;
    }
    v = memref::CollapseShapeOp::create(b, loc, v, rows);
    rank = 2;
  }
  int64_t d = ShapedType::kDynamic;
  auto abi = MemRefType::get(
      SmallVector<int64_t>(rank, d), type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), d, SmallVector<int64_t>(rank, d)));
  return memref::CastOp::create(b, loc, abi, v);
}

struct LowerUKernelsPass
    : quantc::impl::LowerUKernelsBase<LowerUKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<quantc::qc::UKernelOp> kernels;
    module.walk([&](quantc::qc::UKernelOp op) { kernels.push_back(op); });
    OpBuilder b(&getContext());
    for (quantc::qc::UKernelOp op : kernels)
      if (failed(lower(b, module, op)))
        return signalPassFailure();
  }

  LogicalResult lower(OpBuilder &b, ModuleOp module,
                      quantc::qc::UKernelOp op) {
    if (!isa<MemRefType>(op.getOutputs().front().getType()))
      return op.emitOpError("is still on tensors; run it after bufferization");
    Location loc = op.getLoc();
    b.setInsertionPoint(op);
    SmallVector<Value> args;
    SmallVector<std::pair<Value, Value>> copyBack; // (dense copy, output)
    for (Value v : op.getInputs()) {
      Value dense;
      args.push_back(asKernelBuffer(b, loc, v, dense));
    }
    for (Value v : op.getOutputs()) {
      Value dense;
      args.push_back(asKernelBuffer(b, loc, v, dense));
      if (dense)
        copyBack.push_back({dense, v});
    }
    llvm::append_range(args, op.getScalars());
    auto type = b.getFunctionType(ValueRange(args).getTypes(), {});
    auto fn = module.lookupSymbol<func::FuncOp>(op.getFn());
    if (!fn) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      fn = func::FuncOp::create(b, module.getLoc(), op.getFn(), type);
      fn.setPrivate();
      fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    } else if (fn.getFunctionType() != type) {
      return op.emitOpError("passes ")
             << type << " to '" << op.getFn() << "', which takes "
             << fn.getFunctionType();
    }
    func::CallOp::create(b, loc, fn, args);
    for (auto [dense, out] : copyBack)
      memref::CopyOp::create(b, loc, dense, out);
    op.erase();
    return success();
  }
};

} // namespace
