//===- Passes.h - CPU target passes -----------------------------*- C++ -*-===//

#ifndef QUANTC_TARGET_CPU_PASSES_H
#define QUANTC_TARGET_CPU_PASSES_H

#include "mlir/Pass/Pass.h"

namespace quantc {

/// Unit attribute on the module: quantized linear layers may round up to 8
/// rows of activations to int8 (per 128 elements) and multiply in integers
/// (AVX-512 VNNI), as ONNX Runtime's MatMulNBits accuracy_level 4 does.
/// Set by `quantc compile --int8-activations`.
constexpr const char *kInt8ActivationsAttr = "quantc.int8_activations";

#define GEN_PASS_DECL
#include "quantc/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantc/Target/CPU/Passes.h.inc"

} // namespace quantc

#endif // QUANTC_TARGET_CPU_PASSES_H
