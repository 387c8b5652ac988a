//===- Pipeline.h - the CPU lowering pipeline -------------------*- C++ -*-===//

#ifndef QUANTC_TARGET_CPU_PIPELINE_H
#define QUANTC_TARGET_CPU_PIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace quantc {

/// Adds the passes that take imported qc + tensor IR to the LLVM dialect for
/// the host CPU (what `quant-opt --quantc-cpu-pipeline` runs).
mlir::LogicalResult buildCpuPipeline(mlir::OpPassManager &pm);

/// Registers `quantc-cpu-pipeline` with the pass registry.
void registerCpuPipeline();

} // namespace quantc

#endif // QUANTC_TARGET_CPU_PIPELINE_H
