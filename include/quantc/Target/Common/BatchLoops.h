//===- BatchLoops.h - the batch loops of a contraction ----------*- C++ -*-===//

#ifndef QUANTC_TARGET_COMMON_BATCHLOOPS_H
#define QUANTC_TARGET_COMMON_BATCHLOOPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace quantc {

/// Whether loop `d` of a contraction is a batch loop: parallel and
/// indexing every operand (attention's batch and heads).
inline bool isBatchLoop(mlir::linalg::GenericOp op, unsigned d) {
  if (op.getIteratorTypesArray()[d] != mlir::utils::IteratorType::parallel)
    return false;
  return llvm::all_of(op.getIndexingMapsArray(), [&](mlir::AffineMap map) {
    return map.isFunctionOfDim(d);
  });
}

/// Whether `op` has a batch loop (a product of two activations, such as
/// attention's Q K^T, rather than a linear layer's).
inline bool hasBatchLoop(mlir::linalg::GenericOp op) {
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d)
    if (isBatchLoop(op, d))
      return true;
  return false;
}

} // namespace quantc

#endif // QUANTC_TARGET_COMMON_BATCHLOOPS_H
