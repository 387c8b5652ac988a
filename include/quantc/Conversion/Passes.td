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
    Quantized weights are rejected here: their fused kernels are lowered by
    the target pipelines.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::tensor::TensorDialect"
  ];
}

#endif // QUANTC_CONVERSION_PASSES_TD
