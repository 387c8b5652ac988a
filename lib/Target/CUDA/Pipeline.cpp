//===- Pipeline.cpp - the CUDA lowering pipeline, in one place ------------===//

#include "quantc/Target/CUDA/Pipeline.h"
#include "quantc/Conversion/Passes.h"
#include "quantc/Execution/Signature.h"
#include "quantc/Target/CPU/Passes.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Target/CUDA/Passes.h"
#include "quantc/Target/Common/KvCache.h"
#include "quantc/Target/Common/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;

// As the CPU's entry stage: quantized linear layers in the formats of the
// GPU's fused kernel become its call (quantc-cuda-qmatmul writes the
// kernel), the others go through qc-to-linalg's dequantizing contraction.
static constexpr const char *kEntry = "quantc-mark-entry,"
                                      "quantc-quantized-linear-to-ukernel{gpu},"
                                      "qc-to-linalg,"
                                      "canonicalize,"
                                      "quantc-kv-cache-in-place,"
                                      "quantc-fuse-elementwise,"
                                      "quantc-fold-repeat-kv,"
                                      "quantc-fold-batch-reshapes,"
                                      "resolve-shaped-type-result-dims,"
                                      "canonicalize";
// Buffers, every constant in the blob (kernels cannot read host globals),
// then each loop nest to a kernel; the host keeps sizes, allocations and
// launches.
static constexpr const char *kToKernels =
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "quantc-kv-cache-drop-results,"
    "quantc-externalize-weights{min-bytes=1},"
    "buffer-deallocation-pipeline,"
    "convert-bufferization-to-memref,"
    "quantc-lower-checks,"
    "quantc-approximate-math,"
    "quantc-map-to-gpu,"
    "convert-parallel-loops-to-gpu,"
    "quantc-cuda-qmatmul{QMATMUL},"
    "gpu-kernel-outlining,"
    "quantc-gather-gpu-kernels,"
    "lower-affine,"
    "convert-scf-to-cf,";
// Kernels through NVVM (math the approximations left calls libdevice);
// the host as on the CPU.
static constexpr const char *kToLLVM =
    "gpu.module(convert-nvgpu-to-nvvm,convert-gpu-to-nvvm),"
    "quantc-lower-dynamic-expand-shape,"
    "expand-strided-metadata,"
    "lower-affine,"
    "finalize-memref-to-llvm{use-generic-functions},"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-func-to-llvm,"
    "convert-cf-to-llvm,"
    "gpu-to-llvm,"
    "reconcile-unrealized-casts,";

static void registerPipelinePasses() {
  static const bool done = [] {
    registerAllPasses();
    quantc::registerConversionPasses();
    quantc::registerTargetCommonPasses();
    quantc::registerCPUPasses();
    quantc::registerCUDAPasses();
    return true;
  }();
  (void)done;
}

bool quantc::isSupportedCudaChip(llvm::StringRef chip) {
  return chip == "sm_80" || chip == "sm_90";
}

std::string quantc::supportedCudaChips() { return "sm_80, sm_90"; }

/// The CUDA toolkit whose libdevice kernels link against when they call a
/// math function left unapproximated: $CUDA_HOME if set, else
/// /usr/local/cuda; none if it has no libdevice (such a kernel is then an
/// error naming the function: quantc-cuda-lower-launches).
static std::string toolkitPath() {
  const char *home = std::getenv("CUDA_HOME");
  std::string dir = home && *home ? home : "/usr/local/cuda";
  return llvm::sys::fs::exists(dir + "/nvvm/libdevice/libdevice.10.bc") ? dir
                                                                        : "";
}

static std::string loweringText(llvm::StringRef chip, llvm::StringRef qmatmul) {
  std::string text = kToKernels;
  size_t at = text.find("QMATMUL");
  text.replace(at, 7, qmatmul.str());
  text += "nvvm-attach-target{chip=" + chip.str() + " O=3},";
  text += kToLLVM;
  std::string toolkit = toolkitPath();
  text += "gpu-module-to-binary{format=isa" +
          (toolkit.empty() ? std::string() : " toolkit=" + toolkit) + "},";
  text += "quantc-cuda-lower-launches,quantc-emit-entry";
  return text;
}

void quantc::prepareCudaContext(MLIRContext *context) {
  prepareCpuContext(context);
  DialectRegistry registry;
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  context->appendDialectRegistry(registry);
}

LogicalResult quantc::buildCudaEntryStage(OpPassManager &pm) {
  registerPipelinePasses();
  return parsePassPipeline(kEntry, pm);
}

LogicalResult quantc::buildCudaLoweringStage(OpPassManager &pm,
                                             llvm::StringRef chip,
                                             llvm::StringRef qmatmul) {
  registerPipelinePasses();
  return parsePassPipeline(loweringText(chip, qmatmul), pm);
}

LogicalResult quantc::buildCudaPipeline(OpPassManager &pm, llvm::StringRef chip,
                                        llvm::StringRef qmatmul) {
  registerPipelinePasses();
  return parsePassPipeline(
      std::string(kEntry) + "," + loweringText(chip, qmatmul), pm);
}

LogicalResult quantc::lowerForCuda(ModuleOp module, llvm::StringRef chip,
                                   std::vector<TensorSignature> &inputs,
                                   std::vector<TensorSignature> &outputs,
                                   llvm::StringRef qmatmul) {
  MLIRContext *ctx = module->getContext();
  if (module->hasAttr(quantc::kv::kQuantRequest))
    return module.emitError()
           << "quantized KV caches (" << quantc::kv::kQuantRequest
           << ") run on the cpu target only, not cuda";
  prepareCudaContext(ctx);
  PassManager entry(ctx);
  if (failed(buildCudaEntryStage(entry)) || failed(entry.run(module)) ||
      failed(readSignature(module, inputs, outputs)))
    return failure();
  PassManager lowering(ctx);
  return failure(failed(buildCudaLoweringStage(lowering, chip, qmatmul)) ||
                 failed(lowering.run(module)));
}

namespace {
struct CudaPipelineOptions : PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("the GPU: sm_80 or sm_90"),
                           llvm::cl::init("sm_90")};
  Option<std::string> qmatmul{
      *this, "qmatmul",
      llvm::cl::desc("options of quantc-cuda-qmatmul (tile choices)"),
      llvm::cl::init("")};
};
} // namespace

void quantc::registerCudaPipeline() {
  registerPipelinePasses();
  // Registered by hand so that a chip this target does not know is an
  // error, not an empty pipeline.
  registerPassPipeline(
      "quantc-cuda-pipeline",
      "Lower imported qc + tensor IR to host LLVM code launching PTX kernels",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        CudaPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (!isSupportedCudaChip(options.chip))
          return errorHandler("quantc-cuda-pipeline: chip must be one of " +
                              supportedCudaChips() + ", not '" +
                              options.chip + "'");
        return buildCudaPipeline(pm, options.chip, options.qmatmul);
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(CudaPipelineOptions());
      });
}
