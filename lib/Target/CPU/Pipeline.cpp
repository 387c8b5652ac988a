//===- Pipeline.cpp - the CPU lowering pipeline, in one place -------------===//

#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Conversion/Passes.h"
#include "quantc/Target/CPU/Passes.h"
#include "quantc/Target/Common/Passes.h"

#include "QC/IR/QC.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;

// Entry conventions first: after these, main's signature is the one the
// compiled code takes (KV caches become runtime-owned buffers).
static constexpr const char *kEntry =
    "quantc-mark-entry,"
    "quantc-quantized-linear-to-ukernel,"
    "qc-to-linalg,"
    "canonicalize,"
    "quantc-kv-cache-in-place,"
    "quantc-fuse-elementwise,"
    "quantc-fold-repeat-kv,"
    "quantc-fold-batch-reshapes,"
    // Only where the module asks (`quantc compile --kv-bits`).
    "qc-quantize-kv-cache,"
    "quantc-fuse-attention,"
    "resolve-shaped-type-result-dims,"
    "canonicalize";
// Tensors are bufferized across function boundaries with identity layouts
// (the calling convention of the JIT and the runtime: dense row-major
// buffers), then everything goes to LLVM. Kept as text so the pipeline a
// user reads here is exactly what runs.
static constexpr const char *kToBuffers =
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "quantc-kv-cache-drop-results,"
    "quantc-lower-ukernels,"
    "quantc-matmul-to-ukernel,";
// Artifacts read their weights from the blob the runtime maps.
static constexpr const char *kExternalize = "quantc-externalize-weights,";
static constexpr const char *kToLLVM =
    "buffer-deallocation-pipeline,"
    "convert-bufferization-to-memref,"
    "quantc-lower-checks,"
    "quantc-parallelize-linalg,"
    "quantc-lower-row-reductions,"
    "func.func(convert-linalg-to-loops),"
    "quantc-approximate-math,"
    "convert-math-to-funcs,"
    // Intrinsics first (fma, floor: they vectorize), libm for the rest.
    "convert-math-to-llvm,"
    "convert-math-to-libm,"
    "lower-affine,"
    "convert-scf-to-cf,"
    "quantc-lower-dynamic-expand-shape,"
    "expand-strided-metadata,"
    "lower-affine,"
    // Buffers through the runtime's allocator (renamed by emit-entry).
    "finalize-memref-to-llvm{use-generic-functions},"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-func-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-openmp-to-llvm,"
    "reconcile-unrealized-casts,"
    "quantc-emit-entry";

/// The textual pipeline names passes, so they must be registered (once).
static void registerPipelinePasses() {
  static const bool done = [] {
    registerAllPasses();
    quantc::registerConversionPasses();
    quantc::registerTargetCommonPasses();
    quantc::registerCPUPasses();
    return true;
  }();
  (void)done;
}

void quantc::prepareCpuContext(MLIRContext *context) {
  static const bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerTargetCommonExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  registry.insert<qc::QCDialect>();
  context->appendDialectRegistry(registry);
}

LogicalResult quantc::buildCpuEntryStage(OpPassManager &pm) {
  registerPipelinePasses();
  return parsePassPipeline(kEntry, pm);
}

/// The passes after the entry stage, as text.
static std::string loweringText(bool externalizeWeights) {
  std::string text = kToBuffers;
  if (externalizeWeights)
    text += kExternalize;
  return text + kToLLVM;
}

LogicalResult quantc::buildCpuLoweringStage(OpPassManager &pm,
                                            bool externalizeWeights) {
  registerPipelinePasses();
  return parsePassPipeline(loweringText(externalizeWeights), pm);
}

LogicalResult quantc::buildCpuPipeline(OpPassManager &pm,
                                       bool externalizeWeights) {
  registerPipelinePasses();
  return parsePassPipeline(
      std::string(kEntry) + "," + loweringText(externalizeWeights), pm);
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
quantc::createHostTargetMachine(bool positionIndependent) {
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  if (positionIndependent)
    builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return builder->createTargetMachine();
}

std::unique_ptr<llvm::Module>
quantc::translateAndOptimize(Operation *module, llvm::LLVMContext &context,
                             llvm::TargetMachine &tm, std::string &error) {
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  llvmModule->setTargetTriple(tm.getTargetTriple());
  llvmModule->setDataLayout(tm.createDataLayout());
  // LLVM keeps to 256-bit vectors on AVX-512 CPUs unless told otherwise;
  // the elementwise loops (exp, norms) are compute-bound and gain from 512.
  if (tm.getTargetFeatureString().contains("+avx512f"))
    for (llvm::Function &f : *llvmModule)
      f.addFnAttr("prefer-vector-width", "512");
  if (llvm::Error e = makeOptimizingTransformer(3, 0, &tm)(llvmModule.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(e));
    return nullptr;
  }
  return llvmModule;
}

void quantc::registerCpuPipeline() {
  registerPipelinePasses();
  PassPipelineRegistration<>(
      "quantc-cpu-pipeline",
      "Lower imported qc + tensor IR to the LLVM dialect for the host CPU",
      [](OpPassManager &pm) { (void)buildCpuPipeline(pm); });
}
