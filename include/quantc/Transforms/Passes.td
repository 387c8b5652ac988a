//===- Passes.td - quantization passes ---------------------*- tablegen -*-===//

#ifndef QUANTC_TRANSFORMS_PASSES_TD
#define QUANTC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeights : Pass<"qc-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Round-to-nearest weight quantization of qc.linear layers";
  let description = [{
    Replaces the f32 constant weight of each selected `qc.linear` with a
    `qc.qconstant` in `format` (any `#qc.format` body without outliers:
    integer 2..8 bits symmetric or affine, NF4, FP4, FP8; per tensor, per
    channel or per group; double-quantized scales), quantized by
    round-to-nearest with min-max (affine) or absmax (symmetric) scales, as
    quantc's reference numerics define them. Layers are selected by name
    (`layer` attribute) with glob patterns: `layers` picks, `exclude` drops.
    A layer whose shape the format cannot hold (a group size that does not
    divide K) is an error naming it.
  }];
  let options = [
    Option<"format", "format", "std::string",
           /*default=*/"\"int4, affine, group = 128, scale = f16\"",
           "The #qc.format<...> body of the quantized weights">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names to quantize (default: the "
               "transformer blocks, '*.blocks.*')">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to keep in floating point">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

#endif // QUANTC_TRANSFORMS_PASSES_TD
