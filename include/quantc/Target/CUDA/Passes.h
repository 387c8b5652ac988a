//===- Passes.h - passes of the CUDA target ---------------------*- C++ -*-===//

#ifndef QUANTC_TARGET_CUDA_PASSES_H
#define QUANTC_TARGET_CUDA_PASSES_H

#include "mlir/Pass/Pass.h"

namespace quantc {

#define GEN_PASS_DECL
#include "quantc/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantc/Target/CUDA/Passes.h.inc"

} // namespace quantc

#endif // QUANTC_TARGET_CUDA_PASSES_H
