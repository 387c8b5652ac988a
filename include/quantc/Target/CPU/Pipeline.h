//===- Pipeline.h - the CPU lowering pipeline -------------------*- C++ -*-===//

#ifndef QUANTC_TARGET_CPU_PIPELINE_H
#define QUANTC_TARGET_CPU_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "llvm/Target/TargetMachine.h"

namespace quantc {

/// Adds the passes that take imported qc + tensor IR to the LLVM dialect for
/// the host CPU (what `quant-opt --quantc-cpu-pipeline` runs). With
/// `externalizeWeights` (artifacts), constants move to a weights blob that
/// `quantc_main` receives as its last descriptor.
mlir::LogicalResult buildCpuPipeline(mlir::OpPassManager &pm,
                                     bool externalizeWeights = false);

/// The pipeline's two stages. After the entry stage (qc to linalg, KV
/// caches appended in place) `main`'s signature is the compiled one: read it
/// there (readSignature), then run the lowering stage.
mlir::LogicalResult buildCpuEntryStage(mlir::OpPassManager &pm);
mlir::LogicalResult buildCpuLoweringStage(mlir::OpPassManager &pm,
                                          bool externalizeWeights = false);

/// Makes `context` ready for the pipeline and code generation: every dialect,
/// the external interface models (bufferization of arith, tensor, linalg,
/// ..., and registerTargetCommonExtensions), the translations to LLVM IR,
/// and the host target.
void prepareCpuContext(mlir::MLIRContext *context);

/// A target machine for this CPU (its features: AVX2/AVX-512 where present),
/// optimizing aggressively. LLVM's vectorizer needs it: without one it
/// assumes no vector registers.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createHostTargetMachine(bool positionIndependent);

/// Translates LLVM-dialect `module` to LLVM IR for `tm`'s target and
/// optimizes it (-O3 with the target's cost model); null with a message in
/// `error` on failure. The one place both the JIT and artifacts get code.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::Operation *module,
                                                   llvm::LLVMContext &context,
                                                   llvm::TargetMachine &tm,
                                                   std::string &error);

/// Registers `quantc-cpu-pipeline` with the pass registry.
void registerCpuPipeline();

} // namespace quantc

#endif // QUANTC_TARGET_CPU_PIPELINE_H
