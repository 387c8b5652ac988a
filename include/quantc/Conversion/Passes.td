//===- Passes.td - quantc conversion passes ----------------*- tablegen -*-===//

#ifndef QUANTC_CONVERSION_PASSES_TD
#define QUANTC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QcToLinalg : Pass<"qc-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower float qc ops to upstream linalg, tensor and arith";
  let description = [{
    Rewrites `qc.linear` with a float weight as one `linalg.generic`
    contraction over the input's leading dimensions, N and K (plus a
    broadcast bias), and drops
    `qc.observe` (statistics are only recorded by the calibration pipeline).
    Quantized weights are rejected here: targets call their fused kernels,
    or lower them with `qc-dequantize-constants` first.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::tensor::TensorDialect"
  ];
}

def DequantizeConstants : Pass<"qc-dequantize-constants", "mlir::ModuleOp"> {
  let summary = "Replace quantized constants with the f32 weights they stand "
                "for (the reference lowering)";
  let description = [{
    Replaces every `qc.qconstant` used as a `qc.linear` weight with an f32
    `arith.constant` holding its dequantized K x N matrix, computed by
    quantc's reference numerics: exactly the values a quantized kernel must
    reproduce. This is how targets without a fused dequantize-matmul kernel
    for a format run it (the weights then take f32 space in the artifact).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // QUANTC_CONVERSION_PASSES_TD
