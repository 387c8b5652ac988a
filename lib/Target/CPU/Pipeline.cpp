//===- Pipeline.cpp - the CPU lowering pipeline, in one place -------------===//

#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Conversion/Passes.h"
#include "quantc/Target/CPU/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

// Tensors are bufferized across function boundaries with identity layouts
// (the calling convention of the JIT and the runtime: dense row-major
// buffers), then everything goes to LLVM. Kept as text so the pipeline a
// user reads here is exactly what runs.
static constexpr const char *kCpuPipeline =
    "qc-to-linalg,"
    "canonicalize,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "quantc-matmul-to-ukernel,"
    "buffer-deallocation-pipeline,"
    "convert-bufferization-to-memref,"
    "func.func(convert-linalg-to-loops),"
    "convert-math-to-funcs,"
    "convert-math-to-libm,"
    "lower-affine,"
    "convert-scf-to-cf,"
    "expand-strided-metadata,"
    "lower-affine,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-func-to-llvm,"
    "convert-cf-to-llvm,"
    "reconcile-unrealized-casts";

/// The textual pipeline names passes, so they must be registered (once).
static void registerPipelinePasses() {
  static const bool done = [] {
    registerAllPasses();
    quantc::registerConversionPasses();
    quantc::registerCPUPasses();
    return true;
  }();
  (void)done;
}

LogicalResult quantc::buildCpuPipeline(OpPassManager &pm) {
  registerPipelinePasses();
  return parsePassPipeline(kCpuPipeline, pm);
}

void quantc::registerCpuPipeline() {
  registerPipelinePasses();
  PassPipelineRegistration<>(
      "quantc-cpu-pipeline",
      "Lower imported qc + tensor IR to the LLVM dialect for the host CPU",
      [](OpPassManager &pm) { (void)buildCpuPipeline(pm); });
}
