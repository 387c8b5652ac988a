//===- Executor.h - run a module on a device, for calibration -*- C++ -*-===//
//
// Calibration (qc-calibrate, qc-gptq) needs to run the model it quantizes.
// It asks for an executor by device name ("cpu"; a GPU target adds its
// own), so the quantization passes link no target: each target registers
// its executor, and the tools register the targets they are built with.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_EXECUTION_EXECUTOR_H
#define QUANTC_EXECUTION_EXECUTOR_H

#include "quantc/Execution/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/ADT/StringRef.h"

#include <functional>
#include <memory>
#include <string>

namespace quantc {

class Executor {
public:
  virtual ~Executor();
  /// Compiles `module` (consumed) for the device; errors go to the
  /// context's diagnostics.
  virtual mlir::FailureOr<std::unique_ptr<Model>>
  compile(mlir::OwningOpRef<mlir::ModuleOp> module) = 0;
};

/// Makes `create` the executor of `device` (a later registration of the same
/// name replaces it).
void registerExecutor(llvm::StringRef device,
                      std::function<std::unique_ptr<Executor>()> create);

/// The executor of `device`; null with `error` naming the registered ones.
std::unique_ptr<Executor> createExecutor(llvm::StringRef device,
                                         std::string &error);

} // namespace quantc

#endif // QUANTC_EXECUTION_EXECUTOR_H
