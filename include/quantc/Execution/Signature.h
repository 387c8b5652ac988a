//===- Signature.h - a compiled model's signature, read from IR -*- C++ -*-===//

#ifndef QUANTC_EXECUTION_SIGNATURE_H
#define QUANTC_EXECUTION_SIGNATURE_H

#include "quantc/Execution/Model.h"

#include "mlir/IR/BuiltinOps.h"

namespace quantc {

/// Reads `main`'s signature (after a pipeline's entry stage); errors go to
/// the context's diagnostics.
mlir::LogicalResult readSignature(mlir::ModuleOp module,
                                  std::vector<TensorSignature> &inputs,
                                  std::vector<TensorSignature> &outputs);

} // namespace quantc

#endif // QUANTC_EXECUTION_SIGNATURE_H
