//===- Passes.h - passes every target runs ----------------------*- C++ -*-===//
//
// The model-interface conventions every target keeps (the `quantc_main`
// entry, runtime-owned KV caches, weights in a blob, run-time checks) and
// the graph-level rewrites that do not depend on the hardware (elementwise
// fusion, grouped-query attention without repeated K/V, batch reshapes).
// A target's Pipeline.cpp puts them around its own passes.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_COMMON_PASSES_H
#define QUANTC_TARGET_COMMON_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace quantc {

#define GEN_PASS_DECL
#include "quantc/Target/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantc/Target/Common/Passes.h.inc"

/// The interface models quantc adds to upstream dialects (the value bounds
/// of tensor.concat, which the KV cache pass needs); every target's context
/// and quant-opt register them.
void registerTargetCommonExtensions(mlir::DialectRegistry &registry);

} // namespace quantc

#endif // QUANTC_TARGET_COMMON_PASSES_H
