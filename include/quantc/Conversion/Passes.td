//===- Passes.td - quantc conversion passes ----------------*- tablegen -*-===//

#ifndef QUANTC_CONVERSION_PASSES_TD
#define QUANTC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QcToLinalg : Pass<"qc-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower float qc ops to upstream linalg, tensor and arith";
  let description = [{
    Rewrites `qc.linear` as one `linalg.generic` contraction over the
    input's leading dimensions, N and K (K innermost; plus a broadcast bias),
    and drops `qc.observe` (statistics are only recorded by the calibration
    pipeline). A float weight is an operand of the contraction. A quantized
    weight (`qc.qconstant`, any `#qc.format`) is not expanded anywhere: its
    stored pieces become constant tensors (packed codes, scales or
    double-quantized scale codes and their block parameters, zero points) and
    the contraction's body reads and decodes element (k, n) from them, as
    the reference numerics define it (`tensor.extract` of the code's bytes,
    shifts and masks, a table for NF4/FP4/FP8 codes, the group's scale).
    CSR outliers are added to the result by an elementwise op over (rows, n)
    looping over channel n's outliers: x[.., col] * (outlier - dense
    element). Activation quantization lowers as the ops define it:
    `qc.quantize_dynamic` to a reduction (absmax, or min/max) and an
    elementwise pass writing codes, `qc.dequantize_dynamic` to an
    elementwise pass, and `qc.dequantize` of a `qc.quantize` to one
    elementwise pass rounding to the static grid. This is the target-neutral lowering every target starts from;
    a target with a fused kernel for a format takes those layers first
    (CPU: `quantc-quantized-linear-to-ukernel`).
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect",
    "mlir::scf::SCFDialect",
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
    reproduce. A testing reference only (the weights take f32 space): the
    pipelines lower quantized layers with `qc-to-linalg` or a target kernel.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // QUANTC_CONVERSION_PASSES_TD
