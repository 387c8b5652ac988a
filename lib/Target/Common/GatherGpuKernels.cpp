//===- GatherGpuKernels.cpp - one device module, nothing left on the host -===//

#include "quantc/Target/Common/KvCache.h"
#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace quantc {
#define GEN_PASS_DEF_GATHERGPUKERNELS
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {
/// The one device module the GPU targets compile.
constexpr const char *kKernelModule = "quantc_kernels";

/// Whether `op`, on the host, reads or writes tensor data (which lives in
/// device memory; the KV caches' length, `quantc.kv_length`, stays in host
/// memory).
bool touchesData(func::FuncOp main, Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    if (auto arg = dyn_cast<BlockArgument>(load.getMemRef());
        arg && arg.getOwner()->getParentOp() == main &&
        main.getArgAttr(arg.getArgNumber(), quantc::kv::kLength))
      return false;
  if (isa<linalg::LinalgOp, scf::ParallelOp, memref::GetGlobalOp>(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::any_of(list, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()) &&
           e.getValue() && isa<BaseMemRefType>(e.getValue().getType());
  });
}

struct GatherGpuKernelsPass
    : quantc::impl::GatherGpuKernelsBase<GatherGpuKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      module.emitError("the module has no function 'main'");
      return signalPassFailure();
    }

    // Nothing that touches data may stay on the host: name the first such
    // op (what the target could not put on the device).
    WalkResult walk =
        main.walk([&](Operation *op) {
          if (op->getParentOfType<gpu::GPUModuleOp>() || !touchesData(main, op))
            return WalkResult::advance();
          op->emitError("'")
              << op->getName()
              << "' would run on the host: the GPU target has no device "
                 "lowering for it";
          return WalkResult::interrupt();
        });
    if (walk.wasInterrupted())
      return signalPassFailure();

    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    OpBuilder b(modules.front());
    auto gathered = gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModule);
    SymbolTable table(gathered);
    DenseMap<Attribute, SymbolRefAttr> renamed;
    for (gpu::GPUModuleOp old : modules) {
      for (gpu::GPUFuncOp fn :
           llvm::make_early_inc_range(old.getOps<gpu::GPUFuncOp>())) {
        // Outlined modules hold one kernel each and have unique names.
        std::string name = old.getName().str();
        auto oldRef = SymbolRefAttr::get(
            old.getNameAttr(), {FlatSymbolRefAttr::get(fn.getNameAttr())});
        // 16-byte aligned workgroup memory: kernels read it in vectors
        // (the CUDA tensor-core kernel's staged x).
        for (unsigned i = 0; i < fn.getNumWorkgroupAttributions(); ++i)
          if (!fn.getWorkgroupAttributionAttr(i, "llvm.align"))
            fn.setWorkgroupAttributionAttr(
                i, "llvm.align", IntegerAttr::get(IntegerType::get(ctx, 64), 16));
        fn->remove();
        fn.setName(name);
        table.insert(fn);
        renamed[oldRef] =
            SymbolRefAttr::get(StringAttr::get(ctx, kKernelModule),
                               {FlatSymbolRefAttr::get(ctx, fn.getName())});
      }
      if (llvm::any_of(old.getBody()->getOperations(), [](Operation &op) {
            return !op.hasTrait<OpTrait::IsTerminator>();
          })) {
        old.emitError("a kernel module with more than kernels in it");
        return signalPassFailure();
      }
      old.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      if (SymbolRefAttr to = renamed.lookup(launch.getKernel()))
        launch.setKernelAttr(to);
    });
  }
};
} // namespace
