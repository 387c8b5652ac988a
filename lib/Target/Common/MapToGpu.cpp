//===- MapToGpu.cpp - every loop nest of main onto GPU blocks and threads -===//

#include "quantc/Target/Common/KvCache.h"
#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

#include <numeric>

namespace quantc {
#define GEN_PASS_DEF_MAPTOGPU
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {
/// The runtime function of a deferred device check (runtime/src/Cuda*.cpp).
constexpr const char *kCheckDevice = "quantc_check_device";

/// Outermost scf.parallel ops of `fn` not yet mapped.
SmallVector<scf::ParallelOp> outermostParallels(func::FuncOp fn) {
  SmallVector<scf::ParallelOp> out;
  fn.walk([&](scf::ParallelOp op) {
    if (!op->getParentOfType<scf::ParallelOp>() &&
        !op->hasAttr(gpu::getMappingAttrName()))
      out.push_back(op);
  });
  return out;
}

/// `%v = memref.load %flag[] : memref<i1>; %f = arith.xori %v, true;
/// scf.if %f { llvm.call @quantc_check_failed(%message) }` (a lowered
/// cf.assert on a flag kernels computed) becomes
/// `llvm.call @quantc_check_device(%flag pointer, %message)`.
LogicalResult deferDeviceChecks(ModuleOp module, func::FuncOp main) {
  SmallVector<scf::IfOp> checks;
  main.walk([&](scf::IfOp op) {
    auto negated = op.getCondition().getDefiningOp<arith::XOrIOp>();
    if (!negated || op.elseBlock() ||
        op.thenBlock()->getOperations().size() < 2)
      return;
    // The message's address, the call, the terminator.
    auto call =
        dyn_cast<LLVM::CallOp>(op.thenBlock()->getTerminator()->getPrevNode());
    auto load = negated.getLhs().getDefiningOp<memref::LoadOp>();
    if (!call || call.getCallee() != "quantc_check_failed" || !load ||
        load.getMemRefType().getRank() != 0 || !negated->hasOneUse())
      return;
    checks.push_back(op);
  });
  if (checks.empty())
    return success();
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  if (!module.lookupSymbol(kCheckDevice)) {
    OpBuilder b(module.getBodyRegion());
    LLVM::LLVMFuncOp::create(
        b, module.getLoc(), kCheckDevice,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, ptr}));
  }
  for (scf::IfOp check : checks) {
    auto negated = check.getCondition().getDefiningOp<arith::XOrIOp>();
    auto load = negated.getLhs().getDefiningOp<memref::LoadOp>();
    auto call =
        cast<LLVM::CallOp>(check.thenBlock()->getTerminator()->getPrevNode());
    OpBuilder b(check);
    Location loc = check.getLoc();
    IRMapping map;
    Value message = call.getArgOperands()[0];
    if (Operation *def = message.getDefiningOp(); def && check->isAncestor(def))
      message = b.clone(*def, map)->getResult(0);
    Value address = memref::ExtractAlignedPointerAsIndexOp::create(
        b, loc, load.getMemRef());
    Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    Value flag = LLVM::IntToPtrOp::create(b, loc, ptr, asInt);
    LLVM::CallOp::create(b, loc, TypeRange{}, kCheckDevice,
                         ValueRange{flag, message});
    check.erase();
    negated.erase();
    if (load->use_empty())
      load.erase();
  }
  return success();
}

/// Moves `op` into a one-trip scf.parallel (one device thread).
void wrapInOneThread(RewriterBase &rewriter, Operation *op) {
  rewriter.setInsertionPoint(op);
  Location loc = op->getLoc();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto single = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
  rewriter.moveOpBefore(op, single.getBody()->getTerminator());
}

/// The KV caches' length (`quantc.kv_length`) sizes the views of the
/// caches, so the host reads it: it stays in host memory (the runtime's
/// convention). Where device code reads it too, a device copy made at the
/// start of the call serves those reads.
LogicalResult keepLengthOnHost(RewriterBase &rewriter, func::FuncOp main) {
  for (BlockArgument arg : main.getArguments()) {
    if (!main.getArgAttr(arg.getArgNumber(), quantc::kv::kLength))
      continue;
    auto type = dyn_cast<MemRefType>(arg.getType());
    SmallVector<OpOperand *> deviceUses;
    for (OpOperand &use : arg.getUses()) {
      auto load = dyn_cast<memref::LoadOp>(use.getOwner());
      if (!load || load->getParentOp() != main.getOperation())
        deviceUses.push_back(&use);
    }
    if (deviceUses.empty())
      continue;
    if (!type || type.getRank() != 0)
      return main.emitError("the KV length must be a 0-d buffer");
    rewriter.setInsertionPointToStart(&main.getBody().front());
    Location loc = main.getLoc();
    Value value = memref::LoadOp::create(rewriter, loc, arg);
    Value copy = memref::AllocOp::create(rewriter, loc, type);
    linalg::FillOp::create(rewriter, loc, value, copy);
    for (OpOperand *use : deviceUses)
      use->set(copy);
    main.walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      memref::DeallocOp::create(rewriter, loc, copy);
    });
  }
  return success();
}

struct MapToGpuPass : quantc::impl::MapToGpuBase<MapToGpuPass> {
  using MapToGpuBase::MapToGpuBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (blockSize < 1 || blockSize > 1024) {
      module.emitError("block-size must be in [1, 1024], not ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      module.emitError("the module has no function 'main'");
      return signalPassFailure();
    }
    if (failed(deferDeviceChecks(module, main)))
      return signalPassFailure();

    IRRewriter rewriter(ctx);
    if (failed(keepLengthOnHost(rewriter, main)))
      return signalPassFailure();
    // A store of one value (a scalar the host computed) runs on one device
    // thread: the buffer is in device memory.
    SmallVector<memref::StoreOp> stores;
    main.walk([&](memref::StoreOp op) {
      if (!op->getParentOfType<linalg::LinalgOp>() &&
          !op->getParentOfType<scf::ParallelOp>())
        stores.push_back(op);
    });
    for (memref::StoreOp store : stores)
      wrapInOneThread(rewriter, store);

    // Copies become kernels like any other linalg op.
    SmallVector<memref::CopyOp> copies;
    main.walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      linalg::CopyOp::create(rewriter, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      rewriter.eraseOp(copy);
    }

    SmallVector<linalg::LinalgOp> linalgOps;
    main.walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<linalg::LinalgOp>())
        linalgOps.push_back(op);
    });
    for (linalg::LinalgOp op : linalgOps) {
      if (!op.hasPureBufferSemantics()) {
        op->emitError("linalg op on tensors left after bufferization");
        return signalPassFailure();
      }
      // Without a parallel loop the op would lower to host code: one
      // device thread runs it instead.
      if (op.getNumParallelLoops() == 0)
        wrapInOneThread(rewriter, op);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op->emitError("cannot lower this op to loops for the GPU");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }

    // One dimension per nest (innermost fastest: coalesced accesses), then
    // blocks of `blockSize` threads.
    for (scf::ParallelOp loop : outermostParallels(main)) {
      if (loop.getNumLoops() == 1)
        continue;
      std::vector<unsigned> all(loop.getNumLoops());
      std::iota(all.begin(), all.end(), 0u);
      collapseParallelLoops(rewriter, loop, {all});
    }
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto mapping = [&](gpu::Processor processor) {
      return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                                  identity);
    };
    for (scf::ParallelOp loop : outermostParallels(main)) {
      auto [blocks, threads] =
          scf::tileParallelLoop(loop, {blockSize}, /*noMinMaxBounds=*/true);
      if (failed(
              gpu::setMappingAttr(blocks, {mapping(gpu::Processor::BlockX)})) ||
          failed(
              gpu::setMappingAttr(threads, {mapping(gpu::Processor::ThreadX)})))
        return signalPassFailure();
    }
    // Parallel loops nested in a thread (a reduction's inner parallel
    // dimensions) run sequentially in it.
    main.walk([&](scf::ParallelOp loop) {
      if (loop->hasAttr(gpu::getMappingAttrName()))
        return;
      SmallVector<gpu::ParallelLoopDimMappingAttr> sequential(
          loop.getNumLoops(), mapping(gpu::Processor::Sequential));
      (void)gpu::setMappingAttr(loop, sequential);
    });
  }
};
} // namespace
