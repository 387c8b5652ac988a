//===- Model.cpp - models run through the runtime -------------------------===//

#include "quantc/Execution/Model.h"

#include <algorithm>

using namespace quantc;
using llvm::failure;
using llvm::FailureOr;
using llvm::LogicalResult;
using llvm::success;

int64_t HostTensor::numElements() const {
  // A zero dimension empties the tensor whatever the others claim (a file
  // may declare [2^62, 4, 0]); the product of the rest may not fit.
  if (std::count(shape.begin(), shape.end(), 0))
    return 0;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

qc_tensor_info quantc::toTensorInfo(const TensorSignature &sig) {
  qc_tensor_info info{};
  info.name = sig.name.c_str();
  info.dtype = qc_dtype(sig.dtype);
  info.rank = static_cast<int32_t>(sig.shape.size());
  info.role = sig.role;
  info.kv_axis = sig.kvAxis;
  info.kv_present = sig.role == QC_ROLE_KV_CACHE ? sig.kvPresent.c_str()
                                                 : nullptr;
  bool quantized = sig.role == QC_ROLE_KV_CACHE && !sig.kvPart.empty();
  info.kv_format = quantized ? sig.kvFormat.c_str() : nullptr;
  info.kv_part = quantized ? sig.kvPart.c_str() : nullptr;
  for (int32_t d = 0; d < info.rank; ++d) {
    info.shape[d] = sig.shape[d];
    bool known = 2 * d + 1 < static_cast<int32_t>(sig.sizeFrom.size());
    info.size_input[d] = known ? sig.sizeFrom[2 * d] : -1;
    info.size_dim[d] = known ? sig.sizeFrom[2 * d + 1] : -1;
  }
  return info;
}

static TensorSignature signatureOf(const qc_tensor_info &info) {
  TensorSignature sig;
  sig.name = info.name;
  sig.dtype = DType(info.dtype);
  sig.shape.assign(info.shape, info.shape + info.rank);
  sig.role = info.role;
  if (info.role == QC_ROLE_KV_CACHE) {
    sig.kvAxis = info.kv_axis;
    sig.kvPresent = info.kv_present ? info.kv_present : "";
    sig.kvFormat = info.kv_format ? info.kv_format : "";
    sig.kvPart = info.kv_part ? info.kv_part : "";
  }
  return sig;
}

Model::~Model() { qc_model_free(model); }

void Model::adopt(qc_model *m) {
  model = m;
  for (size_t i = 0; i < qc_model_num_inputs(m); ++i)
    if (qc_model_input(m, i)->role != QC_ROLE_KV_LENGTH)
      inputSigs.push_back(signatureOf(*qc_model_input(m, i)));
  for (size_t i = 0; i < qc_model_num_outputs(m); ++i)
    outputSigs.push_back(signatureOf(*qc_model_output(m, i)));
  for (size_t i = 0; i < qc_model_num_inputs(m); ++i) {
    const qc_tensor_info &info = *qc_model_input(m, i);
    if (info.role != QC_ROLE_KV_CACHE)
      continue;
    TensorSignature present = signatureOf(info);
    present.name = info.kv_present;
    present.role = QC_ROLE_DATA;
    outputSigs.push_back(present);
  }
}

FailureOr<std::unique_ptr<ArtifactModel>>
ArtifactModel::load(const std::string &dir, std::string &error) {
  char message[512];
  qc_model *m = qc_model_load(dir.c_str(), message, sizeof message);
  if (!m) {
    error = message;
    return failure();
  }
  std::unique_ptr<ArtifactModel> model(new ArtifactModel());
  model->adopt(m);
  return model;
}

/// Views `in` (checked against `sigs`) as runtime tensors.
static LogicalResult toRuntime(const std::vector<HostTensor> &in,
                               const std::vector<TensorSignature> &sigs,
                               std::vector<qc_tensor> &out,
                               std::string &error) {
  if (in.size() != sigs.size()) {
    error = "the model takes " + std::to_string(sigs.size()) + " inputs, " +
            std::to_string(in.size()) + " given";
    return failure();
  }
  out.assign(in.size(), qc_tensor{});
  for (size_t i = 0; i < in.size(); ++i) {
    qc_tensor &t = out[i];
    t.dtype = qc_dtype(in[i].dtype);
    t.rank = static_cast<int32_t>(in[i].shape.size());
    if (t.rank > QC_MAX_RANK) {
      error = "input '" + sigs[i].name + "' has too many dimensions";
      return failure();
    }
    std::copy(in[i].shape.begin(), in[i].shape.end(), t.shape);
    t.data = const_cast<char *>(in[i].data.data());
    if ((int64_t)in[i].data.size() !=
        in[i].numElements() * (int64_t)dtypeBytes(in[i].dtype)) {
      error = "input '" + sigs[i].name + "' holds " +
              std::to_string(in[i].data.size()) + " bytes for " +
              std::to_string(in[i].numElements()) + " elements";
      return failure();
    }
  }
  return success();
}

/// Copies runtime tensors into host memory and releases them.
static std::vector<HostTensor> fromRuntime(std::vector<qc_tensor> &tensors) {
  std::vector<HostTensor> out;
  for (qc_tensor &t : tensors) {
    HostTensor h;
    h.dtype = DType(t.dtype);
    h.shape.assign(t.shape, t.shape + t.rank);
    const char *data = static_cast<const char *>(t.data);
    h.data.assign(data, data + h.numElements() * dtypeBytes(h.dtype));
    qc_tensor_release(&t);
    out.push_back(std::move(h));
  }
  return out;
}

FailureOr<std::vector<HostTensor>>
Model::run(const std::vector<HostTensor> &in, std::string &error) {
  std::vector<qc_tensor> inputs;
  if (failed(toRuntime(in, inputSigs, inputs, error)))
    return failure();
  char message[512];
  size_t compiledOutputs = qc_model_num_outputs(model);
  std::vector<qc_tensor> outputs(outputSigs.size());
  if (!hasKvCache()) {
    if (qc_model_run(model, inputs.data(), inputs.size(), outputs.data(),
                     outputs.size(), message, sizeof message) != 0) {
      error = message;
      return failure();
    }
  } else {
    // The caches go into a session and come back out as the presents.
    std::vector<qc_tensor> data, past;
    for (size_t i = 0; i < inputs.size(); ++i)
      (inputSigs[i].role == QC_ROLE_KV_CACHE ? past : data)
          .push_back(inputs[i]);
    qc_session *s = qc_session_create(model, message, sizeof message);
    bool ok =
        s &&
        qc_session_set_caches(s, past.data(), past.size(), message,
                              sizeof message) == 0 &&
        qc_session_run(s, data.data(), data.size(), outputs.data(),
                       compiledOutputs, message, sizeof message) == 0;
    for (size_t i = 0; ok && i < past.size(); ++i)
      ok = qc_session_get_cache(s, i, &outputs[compiledOutputs + i], message,
                                sizeof message) == 0;
    if (s)
      qc_session_free(s);
    if (!ok) {
      for (qc_tensor &t : outputs)
        qc_tensor_release(&t);
      error = message;
      return failure();
    }
  }
  return fromRuntime(outputs);
}

FailureOr<std::unique_ptr<Session>> Session::create(Model &model,
                                                    std::string &error) {
  char message[512];
  qc_session *s = qc_session_create(model.model, message, sizeof message);
  if (!s) {
    error = message;
    return failure();
  }
  std::unique_ptr<Session> session(new Session());
  session->session = s;
  session->outputCount = qc_model_num_outputs(model.model);
  for (const TensorSignature &sig : model.inputSigs)
    if (sig.role == QC_ROLE_DATA)
      session->inputSigs.push_back(sig);
  return session;
}

Session::~Session() { qc_session_free(session); }

FailureOr<std::vector<HostTensor>>
Session::run(const std::vector<HostTensor> &in, std::string &error) {
  std::vector<qc_tensor> inputs;
  if (failed(toRuntime(in, inputSigs, inputs, error)))
    return failure();
  char message[512];
  std::vector<qc_tensor> outputs(outputCount);
  if (qc_session_run(session, inputs.data(), inputs.size(), outputs.data(),
                     outputs.size(), message, sizeof message) != 0) {
    error = message;
    return failure();
  }
  return fromRuntime(outputs);
}
