//===- Jit.h - compile a model for the host CPU and run it in-process -*- C++ -*-===//
//
// The JIT path: calibration and tests run models without writing an
// artifact. `main`'s tensors are passed as dense row-major buffers.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_CPU_JIT_H
#define QUANTC_TARGET_CPU_JIT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace quantc {

/// Element types a model's inputs and outputs may have.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, Bool };
size_t dtypeBytes(DType t);
const char *dtypeName(DType t);

/// A dense row-major tensor in host memory.
struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> data;
  int64_t numElements() const;
  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// The element type and shape (kDynamic for dynamic sizes) of one input or
/// output of `main`, and its ONNX name when the model came from ONNX.
struct TensorSignature {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

class JitModel {
public:
  /// Lowers `module` (consumed) with the CPU pipeline and JIT-compiles it;
  /// errors go to the context's diagnostics.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::OwningOpRef<mlir::ModuleOp> module);
  ~JitModel();

  const std::vector<TensorSignature> &inputs() const { return inputSigs; }
  const std::vector<TensorSignature> &outputs() const { return outputSigs; }

  /// Runs `main`. Inputs must match the signature (dtype, rank, static
  /// sizes); otherwise `error` says which and the result is failure.
  mlir::FailureOr<std::vector<HostTensor>> run(const std::vector<HostTensor> &in,
                                               std::string &error);

private:
  JitModel() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::vector<TensorSignature> inputSigs, outputSigs;
};

} // namespace quantc

#endif // QUANTC_TARGET_CPU_JIT_H
