//===- QcToLinalgPatterns.h - pieces shared by qc-to-linalg's patterns ----===//

#ifndef QUANTC_LIB_CONVERSION_QCTOLINALGPATTERNS_H
#define QUANTC_LIB_CONVERSION_QCTOLINALGPATTERNS_H

#include "QC/IR/QC.h"

#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace quantc {

/// Weight element (k, n), built inside the contraction's body.
using WeightAt = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                           mlir::Value k, mlir::Value n)>;

/// y[..., n] = sum_k x[..., k] * w[k, n] as one linalg.generic over the
/// input's leading dimensions, n and k (k innermost, the only reduction),
/// with w read from the K x N tensor `weight`, or, when `weight` is null,
/// computed by `weightAt` in the body.
mlir::Value buildLinearContraction(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::Value x, int64_t n, mlir::Value weight,
                                   const WeightAt &weightAt);

/// `y` plus the layer's bias, cast to the layer's result type.
mlir::Value finishLinear(mlir::OpBuilder &b, mlir::Location loc,
                         qc::LinearOp op, mlir::Value y);

/// Quantized qc.linear (any #qc.format) to a contraction decoding the
/// packed weight in its body (QuantizedLinear.cpp).
void populateQuantizedLinearPatterns(mlir::RewritePatternSet &patterns);

/// qc.quantize_dynamic, qc.dequantize_dynamic and qc.dequantize of a
/// qc.quantize to linalg (ActivationQuantization.cpp).
void populateActivationQuantizationPatterns(mlir::RewritePatternSet &patterns);

} // namespace quantc

#endif // QUANTC_LIB_CONVERSION_QCTOLINALGPATTERNS_H
