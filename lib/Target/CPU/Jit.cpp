//===- Jit.cpp - compile a model for the host CPU and run it in-process ---===//

#include "quantc/Target/CPU/Jit.h"
#include "quantc/Execution/Signature.h"
#include "quantc/Execution/Executor.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace quantc;

LogicalResult quantc::lowerForCpu(ModuleOp module, bool externalizeWeights,
                                  std::vector<TensorSignature> &inputs,
                                  std::vector<TensorSignature> &outputs) {
  MLIRContext *ctx = module->getContext();
  prepareCpuContext(ctx);
  PassManager entry(ctx);
  if (failed(buildCpuEntryStage(entry)) || failed(entry.run(module)) ||
      failed(readSignature(module, inputs, outputs)))
    return failure();
  PassManager lowering(ctx);
  return failure(
      failed(buildCpuLoweringStage(lowering, externalizeWeights)) ||
      failed(lowering.run(module)));
}

JitModel::~JitModel() = default;

FailureOr<std::unique_ptr<JitModel>>
JitModel::compile(OwningOpRef<ModuleOp> module) {
  MLIRContext *ctx = module->getContext();
  std::unique_ptr<JitModel> model(new JitModel());
  std::vector<TensorSignature> inputs, outputs;
  if (failed(lowerForCpu(*module, /*externalizeWeights=*/false, inputs,
                         outputs)))
    return failure();

  // Optimized for this CPU, as artifacts are (vectorized for its ISA).
  auto tm = createHostTargetMachine(/*positionIndependent=*/false);
  if (!tm)
    return module->emitError() << "cannot create a target machine: "
                               << llvm::toString(tm.takeError());
  std::string why;
  auto build = [&](Operation *op, llvm::LLVMContext &context) {
    return translateAndOptimize(op, context, **tm, why);
  };
  ExecutionEngineOptions options;
  options.llvmModuleBuilder = build;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(*module, options);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module->emitError() << "JIT compilation failed: " << message;
  }
  model->engine = std::move(*engine);
  // The microkernels the compiled code calls live in this process.
  model->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, auto *fn) {
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                                 llvm::JITSymbolFlags::Exported};
    };
    add("_mlir_ciface_quantc_matmul_f32", &_mlir_ciface_quantc_matmul_f32);
    add("_mlir_ciface_quantc_qmatmul_f32", &_mlir_ciface_quantc_qmatmul_f32);
    add("_mlir_ciface_quantc_qmatmul_i8", &_mlir_ciface_quantc_qmatmul_i8);
    add("_mlir_ciface_quantc_qmatmul_i8_split",
        &_mlir_ciface_quantc_qmatmul_i8_split);
    add("_mlir_ciface_quantc_kv_append", &_mlir_ciface_quantc_kv_append);
    add("_mlir_ciface_quantc_kv_append_fixed",
        &_mlir_ciface_quantc_kv_append_fixed);
    add("_mlir_ciface_quantc_kv_scores", &_mlir_ciface_quantc_kv_scores);
    add("_mlir_ciface_quantc_kv_values", &_mlir_ciface_quantc_kv_values);
    add("memrefCopy", &memrefCopy);
    add("quantc_check_failed", &quantc_check_failed);
    add("quantc_model_alloc", &quantc_model_alloc);
    add("quantc_model_free", &quantc_model_free);
    return symbols;
  });
  // Generate the code now (ORC would do it on the first call).
  auto fn = model->engine->lookup("quantc_main");
  if (!fn) {
    std::string message = llvm::toString(fn.takeError());
    return emitError(UnknownLoc::get(ctx))
           << "JIT compilation failed: " << message;
  }
  std::vector<qc_tensor_info> inInfos, outInfos;
  for (const TensorSignature &sig : inputs)
    inInfos.push_back(toTensorInfo(sig));
  for (const TensorSignature &sig : outputs)
    outInfos.push_back(toTensorInfo(sig));
  qc_model *m = qc_model_create(reinterpret_cast<qc_entry_fn>(*fn),
                                inInfos.data(), inInfos.size(),
                                outInfos.data(), outInfos.size());
  if (!m)
    return emitError(UnknownLoc::get(ctx))
           << "the compiled signature breaks the runtime's KV convention";
  model->adopt(m);
  return model;
}

namespace {
class CpuExecutor : public Executor {
public:
  FailureOr<std::unique_ptr<Model>>
  compile(OwningOpRef<ModuleOp> module) override {
    auto model = JitModel::compile(std::move(module));
    if (failed(model))
      return failure();
    return std::unique_ptr<Model>(std::move(*model));
  }
};
} // namespace

void quantc::registerCpuExecutor() {
  registerExecutor("cpu", [] { return std::make_unique<CpuExecutor>(); });
}
