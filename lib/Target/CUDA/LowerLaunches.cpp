//===- LowerLaunches.cpp - launches into the runtime, the PTX out ---------===//

#include "quantc/Target/CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace quantc {
#define GEN_PASS_DEF_CUDALOWERLAUNCHES
#include "quantc/Target/CUDA/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {
/// The runtime's launch function (runtime/src/CudaBackend.cpp).
constexpr const char *kLaunch = "quantc_cuda_launch";
/// The kernel names, "name\0name\0...\0", indexed by the launches.
constexpr const char *kKernelNames = "quantc_cuda_kernels";

struct CudaLowerLaunchesPass
    : quantc::impl::CudaLowerLaunchesBase<CudaLowerLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // The PTX of the one kernel module.
    SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
    if (binaries.size() > 1) {
      binaries[1].emitError("more than one kernel binary; expected "
                            "quantc-gather-gpu-kernels to have run");
      return signalPassFailure();
    }
    if (!binaries.empty()) {
      ArrayAttr objects = binaries[0].getObjects();
      auto object = objects.size() == 1 ? dyn_cast<gpu::ObjectAttr>(objects[0])
                                        : gpu::ObjectAttr();
      if (!object || object.getFormat() != gpu::CompilationTarget::Assembly) {
        binaries[0].emitError("expected one PTX object (gpu-module-to-binary "
                              "format=isa for one target)");
        return signalPassFailure();
      }
      // A call left unresolved (a libdevice function, without the CUDA
      // toolkit to link) would only fail when the driver loads the module.
      StringRef ptx = object.getObject().getValue();
      if (size_t at = ptx.find(".extern .func"); at != StringRef::npos) {
        StringRef line =
            ptx.substr(at).take_until([](char c) { return c == '\n'; });
        StringRef name = line.take_until([](char c) { return c == '('; })
                             .rtrim()
                             .rsplit(' ')
                             .second;
        if (line.contains(") "))
          name = line.split(") ").second.take_until(
              [](char c) { return c == '(' || c == ' '; });
        binaries[0].emitError("the kernels call '")
            << name
            << "', which is not linked in: math functions need libdevice "
               "from the CUDA toolkit (set CUDA_HOME to it)";
        return signalPassFailure();
      }
      module->setAttr("quantc.cuda_ptx", object.getObject());
      binaries[0].erase();
    }

    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    if (!launches.empty() && !module.lookupSymbol(kLaunch))
      LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kLaunch,
          LLVM::LLVMFunctionType::get(
              voidType, {i64, i64, i64, i64, i64, i64, i64, i32, ptr}));

    llvm::StringMap<int64_t> index;
    std::string names;
    for (gpu::LaunchFuncOp launch : launches) {
      if (!launch.getAsyncDependencies().empty() || launch.getAsyncToken() ||
          launch.hasClusterSize()) {
        launch.emitError("async or clustered launches are not supported");
        return signalPassFailure();
      }
      std::string name = launch.getKernelName().str();
      auto [it, added] = index.try_emplace(name, index.size());
      if (added)
        names += name + '\0';

      Location loc = launch.getLoc();
      auto fn = launch->getParentOfType<LLVM::LLVMFuncOp>();
      if (!fn) {
        launch.emitError("launch outside an LLVM function: lower the host "
                         "code first");
        return signalPassFailure();
      }
      // The arguments' storage and the pointer array, once per launch at
      // the function's entry (launches inside loops reuse them).
      SmallVector<Type> types;
      for (Value v : launch.getKernelOperands())
        types.push_back(v.getType());
      auto argsType = LLVM::LLVMStructType::getLiteral(ctx, types);
      int64_t count = types.size();
      OpBuilder entry = OpBuilder::atBlockBegin(&fn.getBody().front());
      Value one = LLVM::ConstantOp::create(entry, loc, i64, 1);
      Value storage = LLVM::AllocaOp::create(entry, loc, ptr, argsType, one);
      Value slots = LLVM::AllocaOp::create(
          entry, loc, ptr, ptr,
          LLVM::ConstantOp::create(entry, loc, i64,
                                   std::max<int64_t>(count, 1)));

      b.setInsertionPoint(launch);
      for (auto [i, v] : llvm::enumerate(launch.getKernelOperands())) {
        Value field = LLVM::GEPOp::create(
            b, loc, ptr, argsType, storage,
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
        LLVM::StoreOp::create(b, loc, v, field);
        Value slot = LLVM::GEPOp::create(
            b, loc, ptr, ptr, slots,
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
        LLVM::StoreOp::create(b, loc, field, slot);
      }
      auto asI64 = [&](Value v) -> Value {
        if (v.getType() == i64)
          return v;
        return LLVM::ZExtOp::create(b, loc, i64, v);
      };
      Value shared = launch.getDynamicSharedMemorySize();
      if (!shared)
        shared = LLVM::ConstantOp::create(b, loc, i32, 0);
      SmallVector<Value> args = {
          LLVM::ConstantOp::create(b, loc, i64, it->second),
          asI64(launch.getGridSizeX()),
          asI64(launch.getGridSizeY()),
          asI64(launch.getGridSizeZ()),
          asI64(launch.getBlockSizeX()),
          asI64(launch.getBlockSizeY()),
          asI64(launch.getBlockSizeZ()),
          shared,
          slots};
      LLVM::CallOp::create(b, loc, TypeRange{}, kLaunch, args);
      launch.erase();
    }
    if (!launches.empty()) {
      names += '\0';
      b.setInsertionPointToEnd(module.getBody());
      auto type = LLVM::LLVMArrayType::get(b.getI8Type(), names.size());
      LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                             LLVM::Linkage::External, kKernelNames,
                             b.getStringAttr(names));
    }
    // Nothing of the gpu dialect is left for the host's translation.
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};
} // namespace
