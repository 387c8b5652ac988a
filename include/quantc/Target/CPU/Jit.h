//===- Jit.h - compile a model for the CPU, run it in process -*- C++ -*-===//
//
// The JIT path (calibration, tests): the model is lowered with the CPU
// pipeline, compiled in memory and called through `quantc_main` with the
// runtime's calling code, like an artifact but without writing one.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_CPU_JIT_H
#define QUANTC_TARGET_CPU_JIT_H

#include "quantc/Execution/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace quantc {

/// Lowers `module` to the LLVM dialect for this CPU (both pipeline stages)
/// and returns the signature of the compiled code, read between them.
mlir::LogicalResult lowerForCpu(mlir::ModuleOp module, bool externalizeWeights,
                                std::vector<TensorSignature> &inputs,
                                std::vector<TensorSignature> &outputs);

/// A model JIT-compiled for this CPU in this process.
class JitModel : public Model {
public:
  /// Lowers `module` (consumed) with the CPU pipeline and JIT-compiles it;
  /// errors go to the context's diagnostics.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::OwningOpRef<mlir::ModuleOp> module);
  ~JitModel() override;

private:
  JitModel() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

/// Registers the CPU JIT as the executor of device "cpu" (Executor.h), so
/// qc-calibrate and qc-gptq can run models; tools call it once at start.
void registerCpuExecutor();

} // namespace quantc

#endif // QUANTC_TARGET_CPU_JIT_H
