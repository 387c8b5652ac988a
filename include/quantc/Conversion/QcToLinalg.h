//===- QcToLinalg.h - pieces of qc.linear's lowering other targets reuse ---===//

#ifndef QUANTC_CONVERSION_QCTOLINALG_H
#define QUANTC_CONVERSION_QCTOLINALG_H

#include "mlir/IR/Builders.h"

namespace quantc {

/// `y[..., n] + bias[n]` as an elementwise linalg op written into `init`
/// (which may be `y` itself): a layer's bias after its product.
mlir::Value buildBiasAdd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value y,
                         mlir::Value bias, mlir::Value init);

} // namespace quantc

#endif // QUANTC_CONVERSION_QCTOLINALG_H
