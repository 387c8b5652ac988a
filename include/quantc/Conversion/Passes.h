//===- Passes.h - quantc conversion passes ----------------------*- C++ -*-===//

#ifndef QUANTC_CONVERSION_PASSES_H
#define QUANTC_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace quantc {

#define GEN_PASS_DECL
#include "quantc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantc/Conversion/Passes.h.inc"

} // namespace quantc

#endif // QUANTC_CONVERSION_PASSES_H
