//===- Model.h - compiled models as the runtime runs them -------*- C++ -*-===//
//
// The model-interface types every target shares: a compiled model's
// signature, host tensors, and Model/Session over the runtime's `qc_model`,
// whichever target compiled it (the CPU JIT, an artifact loaded from disk).
// Nothing here needs MLIR or LLVM's libraries (runners on deployment
// machines link only the runtime); Signature.h reads signatures from IR.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_EXECUTION_MODEL_H
#define QUANTC_EXECUTION_MODEL_H

#include "quantc/runtime.h"

#include "llvm/Support/LogicalResult.h" // header-only

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
/// of `main`, and its ONNX name when the model came from ONNX. Inputs that
/// `quantc-kv-cache-in-place` made into runtime-owned caches say so (see
/// qc_tensor_info).
struct TensorSignature {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  qc_role role = QC_ROLE_DATA;
  int32_t kvAxis = -1;
  std::string kvPresent;
  std::string kvFormat, kvPart;  // quantized caches (see qc_tensor_info)
  std::vector<int32_t> sizeFrom; // KV caches: input, dimension per size
};

/// A compiled model that can run: JIT-compiled in this process, or an
/// artifact loaded with the runtime. Both are a runtime `qc_model`.
class Model {
public:
  virtual ~Model();
  /// The source model's view: for a decoder with a KV cache, the past
  /// caches are inputs and the presents outputs (after the others), as in
  /// its ONNX graph; `run` copies them in and out.
  const std::vector<TensorSignature> &inputs() const { return inputSigs; }
  const std::vector<TensorSignature> &outputs() const { return outputSigs; }
  bool hasKvCache() const { return qc_model_has_kv_cache(model); }

  /// Runs the model once. Inputs must match the signature (dtype, rank,
  /// static sizes); otherwise `error` says which and the result is failure.
  llvm::FailureOr<std::vector<HostTensor>> run(const std::vector<HostTensor> &in,
                                               std::string &error);

protected:
  friend class Session;
  /// Takes `m` and fills the signatures from its infos.
  void adopt(qc_model *m);
  qc_model *model = nullptr;
  std::vector<TensorSignature> inputSigs, outputSigs;
};

/// Step-by-step decoding with the KV caches kept by the runtime (no copy of
/// the caches between steps).
class Session {
public:
  /// Fails with `error` for a model without a KV cache.
  static llvm::FailureOr<std::unique_ptr<Session>> create(Model &model,
                                                          std::string &error);
  ~Session();
  /// The inputs a step takes (the model's data inputs, in order).
  const std::vector<TensorSignature> &inputs() const { return inputSigs; }
  /// Runs one step; the outputs are the compiled model's (no presents).
  llvm::FailureOr<std::vector<HostTensor>> run(const std::vector<HostTensor> &in,
                                               std::string &error);
  int64_t length() const { return qc_session_length(session); }
  /// Cache bytes a position takes, and the bytes its buffers hold.
  int64_t cacheBytes(int64_t &allocated) const {
    return qc_session_cache_bytes(session, &allocated);
  }

private:
  Session() = default;
  qc_session *session = nullptr;
  std::vector<TensorSignature> inputSigs;
  size_t outputCount = 0; // the compiled model's outputs
};

/// The runtime's view of a signature entry (pointing into `sig`), for
/// qc_model_create.
qc_tensor_info toTensorInfo(const TensorSignature &sig);

/// An artifact folder loaded with the runtime (qc_model_load).
class ArtifactModel : public Model {
public:
  /// Loads `dir`; failure with `error` saying why.
  static llvm::FailureOr<std::unique_ptr<ArtifactModel>>
  load(const std::string &dir, std::string &error);

private:
  ArtifactModel() = default;
};

} // namespace quantc

#endif // QUANTC_EXECUTION_MODEL_H
