//===- QcToLinalg.h - pieces of qc.linear's lowering other targets reuse ---===//

#ifndef QUANTC_CONVERSION_QCTOLINALG_H
#define QUANTC_CONVERSION_QCTOLINALG_H

#include "mlir/IR/Builders.h"

namespace quantc {

/// `combine(y[..., n], column[n])` as an elementwise linalg op written into
/// `init` (which may be `y` itself).
mlir::Value buildColumnwise(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value y, mlir::Value column,
    mlir::Value init,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::Value, mlir::Value)>
        combine);

/// `y[..., n] + bias[n]` into `init`: a layer's bias after its product.
mlir::Value buildBiasAdd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value y,
                         mlir::Value bias, mlir::Value init);

} // namespace quantc

#endif // QUANTC_CONVERSION_QCTOLINALG_H
