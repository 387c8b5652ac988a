//===- Jit.h - compile a model for the host CPU and run it in-process -*- C++ -*-===//
//
// The JIT path (calibration, tests): the model is lowered with the CPU
// pipeline, compiled in memory and called through `quantc_main` with the
// runtime's calling code, like an artifact but without writing one.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_CPU_JIT_H
#define QUANTC_TARGET_CPU_JIT_H

#include "quantc/runtime.h"

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

/// Element types of model inputs and outputs (the runtime's).
enum class DType { F32 = QC_F32, F16 = QC_F16, BF16 = QC_BF16, F64 = QC_F64,
                   I64 = QC_I64, I32 = QC_I32, I16 = QC_I16, I8 = QC_I8,
                   Bool = QC_BOOL };
inline size_t dtypeBytes(DType t) { return qc_dtype_size(qc_dtype(t)); }
inline const char *dtypeName(DType t) { return qc_dtype_name(qc_dtype(t)); }

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

/// The element type and shape (-1 for dynamic sizes) of one input or output
/// of `main`, and its ONNX name when the model came from ONNX.
struct TensorSignature {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

/// Reads `main`'s signature; errors go to the context's diagnostics.
mlir::LogicalResult readSignature(mlir::ModuleOp module,
                                  std::vector<TensorSignature> &inputs,
                                  std::vector<TensorSignature> &outputs);

/// A compiled model that can run: JIT-compiled in this process, or an
/// artifact loaded with the runtime.
class Model {
public:
  virtual ~Model();
  const std::vector<TensorSignature> &inputs() const { return inputSigs; }
  const std::vector<TensorSignature> &outputs() const { return outputSigs; }

  /// Runs the model. Inputs must match the signature (dtype, rank, static
  /// sizes); otherwise `error` says which and the result is failure.
  mlir::FailureOr<std::vector<HostTensor>> run(const std::vector<HostTensor> &in,
                                               std::string &error);

protected:
  /// Calls the compiled code through the runtime.
  virtual int invoke(const qc_tensor *inputs, qc_tensor *outputs,
                     char *error, size_t errorSize) = 0;
  std::vector<TensorSignature> inputSigs, outputSigs;
};

class JitModel : public Model {
public:
  /// Lowers `module` (consumed) with the CPU pipeline and JIT-compiles it;
  /// errors go to the context's diagnostics.
  static mlir::FailureOr<std::unique_ptr<JitModel>>
  compile(mlir::OwningOpRef<mlir::ModuleOp> module);
  ~JitModel() override;

private:
  JitModel() = default;
  int invoke(const qc_tensor *inputs, qc_tensor *outputs, char *error,
             size_t errorSize) override;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  qc_entry_fn entry = nullptr;
  /// The signature as the runtime's calling code takes it (built once).
  std::vector<qc_tensor_info> inputInfos, outputInfos;
};

/// An artifact folder loaded with the runtime (qc_model_load).
class ArtifactModel : public Model {
public:
  /// Loads `dir`; failure with `error` saying why.
  static mlir::FailureOr<std::unique_ptr<ArtifactModel>>
  load(const std::string &dir, std::string &error);
  ~ArtifactModel() override;

private:
  ArtifactModel() = default;
  int invoke(const qc_tensor *inputs, qc_tensor *outputs, char *error,
             size_t errorSize) override;
  qc_model *model = nullptr;
};

} // namespace quantc

#endif // QUANTC_TARGET_CPU_JIT_H
