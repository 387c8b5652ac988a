//===- Artifact.h - ahead-of-time compilation to an artifact folder -*- C++ -*-===//

#ifndef QUANTC_TARGET_ARTIFACT_H
#define QUANTC_TARGET_ARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <string>

namespace quantc {

struct ArtifactOptions {
  /// "cpu" (the host CPU) or "cuda" (NVIDIA GPUs, with `gpu` the chip).
  std::string target = "cpu";
  std::string gpu = "sm_90";
  /// Options of the CUDA target's quantc-cuda-qmatmul ("": its defaults).
  std::string cudaQmatmul;
  /// The folder to write; replaced if it is an earlier artifact, refused if
  /// it is anything else.
  std::string outputDir;
  /// Called with a line of progress per step.
  std::function<void(const std::string &)> progress;
};

/// Compiles `module` (consumed) for the target into an artifact folder:
/// manifest.json, model.so (entry `quantc_main`: the whole model for the
/// CPU, the host side for a GPU), weights.bin and, for CUDA, kernels.ptx. Written
/// to a temporary folder first, so a failure leaves nothing behind. Errors
/// go to the context's diagnostics.
mlir::LogicalResult writeArtifact(mlir::OwningOpRef<mlir::ModuleOp> module,
                                  const ArtifactOptions &options);

} // namespace quantc

#endif // QUANTC_TARGET_ARTIFACT_H
