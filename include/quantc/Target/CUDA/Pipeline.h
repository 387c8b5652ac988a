//===- Pipeline.h - the CUDA lowering pipeline ------------------*- C++ -*-===//

#ifndef QUANTC_TARGET_CUDA_PIPELINE_H
#define QUANTC_TARGET_CUDA_PIPELINE_H

#include "quantc/Execution/Model.h"

#include "mlir/IR/BuiltinOps.h"

#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace quantc {

/// The GPUs the CUDA target compiles for.
bool isSupportedCudaChip(llvm::StringRef chip);
/// "sm_80, sm_90", for messages.
std::string supportedCudaChips();

/// Adds the passes that take imported qc + tensor IR to host code in the
/// LLVM dialect calling the runtime's CUDA backend, with every kernel in
/// one PTX module (module attribute `quantc.cuda_ptx`) and the weights in
/// the blob (`quantc_main`'s last descriptor, in device memory).
/// `qmatmul`: options of quantc-cuda-qmatmul ("" its defaults; tile
/// choices for benchmarks).
mlir::LogicalResult buildCudaPipeline(mlir::OpPassManager &pm,
                                      llvm::StringRef chip,
                                      llvm::StringRef qmatmul = "");

/// The pipeline's two stages (as for the CPU: read the signature between
/// them).
mlir::LogicalResult buildCudaEntryStage(mlir::OpPassManager &pm);
mlir::LogicalResult buildCudaLoweringStage(mlir::OpPassManager &pm,
                                           llvm::StringRef chip,
                                           llvm::StringRef qmatmul = "");

/// Makes `context` ready for the pipeline: what the CPU needs (the host
/// code) plus the NVVM target and the GPU translations.
void prepareCudaContext(mlir::MLIRContext *context);

/// Runs both stages on `module` for `chip`, reading the signature between.
mlir::LogicalResult lowerForCuda(mlir::ModuleOp module, llvm::StringRef chip,
                                 std::vector<TensorSignature> &inputs,
                                 std::vector<TensorSignature> &outputs,
                                 llvm::StringRef qmatmul = "");

/// Registers `quantc-cuda-pipeline{chip=sm_90 qmatmul=...}` with the pass
/// registry.
void registerCudaPipeline();

} // namespace quantc

#endif // QUANTC_TARGET_CUDA_PIPELINE_H
