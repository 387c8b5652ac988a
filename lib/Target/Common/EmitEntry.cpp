//===- EmitEntry.cpp - quantc_main(void **), the entry of every model -----===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace quantc {
#define GEN_PASS_DEF_MARKENTRY
#define GEN_PASS_DEF_EMITENTRY
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {
struct MarkEntryPass : quantc::impl::MarkEntryBase<MarkEntryPass> {
  void runOnOperation() override {
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main) {
      getOperation().emitError("the module has no function 'main'");
      return signalPassFailure();
    }
    main->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
    // The caller's inputs are never written: bufferization copies before
    // it would update one in place (KV caches opt back in).
    for (unsigned i = 0; i < main.getNumArguments(); ++i)
      main.setArgAttr(i, "bufferization.writable",
                      BoolAttr::get(&getContext(), false));
  }
};

struct EmitEntryPass : quantc::impl::EmitEntryBase<EmitEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto target = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_main");
    if (!target) {
      module.emitError("no '_mlir_ciface_main': mark main with "
                       "llvm.emit_c_interface before lowering");
      return signalPassFailure();
    }
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(&getContext());
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, "quantc_main",
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(&getContext()),
                                    {ptr}));
    Block *body = entry.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args;
    for (auto [i, type] :
         llvm::enumerate(target.getFunctionType().getParams())) {
      if (!isa<LLVM::LLVMPointerType>(type)) {
        target.emitError("parameter ") << i << " of _mlir_ciface_main is "
                                       << type << ", not a pointer";
        return signalPassFailure();
      }
      Value slot = LLVM::GEPOp::create(
          b, loc, ptr, ptr, body->getArgument(0),
          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    LLVM::CallOp::create(b, loc, target, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});

    // MLIR's generic allocation functions become the runtime's, which
    // track a call's buffers (runtime/src/Memory.cpp).
    for (auto [generic, runtime] :
         {std::pair{"_mlir_memref_to_llvm_alloc", "quantc_model_alloc"},
          std::pair{"_mlir_memref_to_llvm_free", "quantc_model_free"}}) {
      auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(generic);
      if (!fn)
        continue;
      auto name = StringAttr::get(&getContext(), runtime);
      if (failed(SymbolTable::replaceAllSymbolUses(fn, name, module)))
        return signalPassFailure();
      fn.setSymName(runtime);
    }
    if (auto aligned = module.lookupSymbol<LLVM::LLVMFuncOp>(
            "_mlir_memref_to_llvm_aligned_alloc")) {
      aligned.emitError("aligned allocations have no runtime function: "
                        "lower memref.alloc without use-aligned-alloc");
      return signalPassFailure();
    }
  }
};
} // namespace
