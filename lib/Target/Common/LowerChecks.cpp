//===- LowerChecks.cpp - run-time checks that return an error -------------===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace quantc {
#define GEN_PASS_DEF_LOWERCHECKS
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {
/// The runtime function a failed check calls (runtime/src/Invoke.cpp).
constexpr const char *kCheckFailed = "quantc_check_failed";

struct LowerChecksPass : quantc::impl::LowerChecksBase<LowerChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<cf::AssertOp> checks;
    module.walk([&](cf::AssertOp op) { checks.push_back(op); });
    if (checks.empty())
      return;
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    if (!module.lookupSymbol(kCheckFailed)) {
      OpBuilder b(module.getBodyRegion());
      LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kCheckFailed,
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
    }
    // One global per distinct message.
    llvm::StringMap<std::string> names;
    for (cf::AssertOp op : checks) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value failed = arith::XOrIOp::create(
          b, loc, op.getArg(),
          arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
      auto ifOp = scf::IfOp::create(b, loc, failed, /*withElseRegion=*/false);
      b.setInsertionPointToStart(ifOp.thenBlock());
      std::string &name = names[op.getMsg()];
      if (name.empty())
        name = "quantc_check_message_" + std::to_string(names.size() - 1);
      Value message;
      if (auto global = module.lookupSymbol<LLVM::GlobalOp>(name))
        message = LLVM::AddressOfOp::create(b, loc, global);
      else {
        std::string text = op.getMsg().str();
        text.push_back('\0');
        message = LLVM::createGlobalString(loc, b, name, text,
                                           LLVM::Linkage::Internal);
      }
      LLVM::CallOp::create(b, loc, TypeRange{}, kCheckFailed,
                           ValueRange{message});
      op.erase();
    }
  }
};
} // namespace
