//===- Model.cpp - loading and running an artifact folder -----------------===//
//
// An artifact is a folder with manifest.json (inputs, outputs, file names,
// sizes and checksums), the model's shared library (entry `quantc_main`,
// and `quantc_artifact_id`, which must equal the manifest's `id`) and the
// weights blob, memory-mapped read-only.
//
//===----------------------------------------------------------------------===//

#include "quantc/runtime.h"
#include "quantc/checksum.h"
#include "ModelImpl.h"

#include <nlohmann/json.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

qc_model::~qc_model() {
  if (weights && weightsBytes > 0)
    munmap(weights, weightsBytes);
  if (library)
    dlclose(library);
}

using quantc::runtime::fail;

namespace {

/// Reads a list of tensor infos into `model`'s storage; false (with `why`)
/// if malformed.
bool readInfos(const nlohmann::json &list, std::vector<qc_tensor_info> &out,
               qc_model &model, std::string &why) {
  if (!list.is_array()) {
    why = "inputs and outputs must be lists";
    return false;
  }
  for (const auto &item : list) {
    qc_tensor_info info{};
    if (!item.is_object() || !item.contains("name") ||
        !item["name"].is_string() || !item.contains("dtype") ||
        !item["dtype"].is_string() || !item.contains("shape") ||
        !item["shape"].is_array()) {
      why = "a tensor entry lacks name, dtype or shape";
      return false;
    }
    std::string dtype = item["dtype"].get<std::string>();
    if (qc_dtype_from_name(dtype.c_str(), &info.dtype) != 0) {
      why = "unknown dtype '" + dtype + "'";
      return false;
    }
    if (item["shape"].size() > QC_MAX_RANK) {
      why = "a tensor has more than " + std::to_string(QC_MAX_RANK) + " dims";
      return false;
    }
    info.rank = static_cast<int32_t>(item["shape"].size());
    for (int32_t d = 0; d < info.rank; ++d) {
      if (!item["shape"][d].is_number_integer()) {
        why = "a shape holds something other than integers";
        return false;
      }
      info.shape[d] = item["shape"][d].get<int64_t>();
      info.size_input[d] = info.size_dim[d] = -1;
    }
    info.name = model.keep(item["name"].get<std::string>().c_str());
    std::string role = item.value("role", std::string("data"));
    if (role == "kv_length") {
      info.role = QC_ROLE_KV_LENGTH;
    } else if (role == "kv_cache") {
      info.role = QC_ROLE_KV_CACHE;
      const auto &from = item.value("size_from", nlohmann::json());
      if (!item.contains("kv_axis") || !item["kv_axis"].is_number_integer() ||
          !item.contains("kv_present") || !item["kv_present"].is_string() ||
          !from.is_array() || from.size() != size_t(2 * info.rank)) {
        why = "KV cache '" + std::string(info.name) +
              "' lacks kv_axis, kv_present or size_from";
        return false;
      }
      info.kv_axis = item["kv_axis"].get<int32_t>();
      info.kv_present = model.keep(item["kv_present"].get<std::string>().c_str());
      for (int32_t d = 0; d < info.rank; ++d) {
        if (!from[2 * d].is_number_integer() ||
            !from[2 * d + 1].is_number_integer()) {
          why = "size_from holds something other than integers";
          return false;
        }
        info.size_input[d] = from[2 * d].get<int32_t>();
        info.size_dim[d] = from[2 * d + 1].get<int32_t>();
      }
    } else if (role != "data") {
      why = "unknown role '" + role + "'";
      return false;
    }
    out.push_back(info);
  }
  return true;
}

/// True if the KV conventions of `m` are consistent (sizes come from data
/// inputs that exist, one length input when there are caches).
bool checkKvConvention(const qc_model &m, std::string &why) {
  int caches = 0, lengths = 0;
  for (const qc_tensor_info &info : m.inputs) {
    lengths += info.role == QC_ROLE_KV_LENGTH;
    if (info.role == QC_ROLE_KV_LENGTH &&
        (info.dtype != QC_I64 || info.rank != 0)) {
      why = "the KV length input must be a 0-d i64";
      return false;
    }
    if (info.role != QC_ROLE_KV_CACHE)
      continue;
    ++caches;
    if (info.kv_axis < 0 || info.kv_axis >= info.rank) {
      why = "KV cache '" + std::string(info.name) + "' has no such axis";
      return false;
    }
    for (int32_t d = 0; d < info.rank; ++d) {
      int32_t k = info.size_input[d], j = info.size_dim[d];
      bool dynamic = d == info.kv_axis || info.shape[d] < 0;
      if (!dynamic)
        continue;
      if (k < 0 || size_t(k) >= m.inputs.size() ||
          m.inputs[k].role != QC_ROLE_DATA || j < 0 || j >= m.inputs[k].rank) {
        why = "KV cache '" + std::string(info.name) +
              "': size_from does not name a data input's dimension";
        return false;
      }
    }
  }
  if ((caches > 0) != (lengths == 1) || lengths > 1) {
    why = "a model with KV caches needs exactly one KV length input";
    return false;
  }
  return true;
}

/// True if this CPU has `feature` (one of the names the compiler records).
bool cpuHas(const std::string &f) {
  __builtin_cpu_init();
#define QC_FEATURE(name)                                                       \
  if (f == name)                                                               \
    return __builtin_cpu_supports(name);
  QC_FEATURE("sse4.2")
  QC_FEATURE("avx")
  QC_FEATURE("avx2")
  QC_FEATURE("fma")
  QC_FEATURE("f16c")
  QC_FEATURE("avx512f")
  QC_FEATURE("avx512bw")
  QC_FEATURE("avx512vl")
  QC_FEATURE("avx512dq")
  QC_FEATURE("avx512vnni")
#undef QC_FEATURE
  return false;
}

} // namespace

extern "C" {

qc_model *qc_model_load(const char *dir, char *error, size_t errorSize) {
  std::string base = std::string(dir) + "/";
  std::ifstream in(base + "manifest.json");
  if (!in) {
    fail(error, errorSize, "%s: no manifest.json (not a quantc artifact)",
           dir);
    return nullptr;
  }
  nlohmann::json manifest =
      nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    fail(error, errorSize, "%s/manifest.json is not valid JSON", dir);
    return nullptr;
  }
  auto field = [&](const char *key) -> const nlohmann::json * {
    auto it = manifest.find(key);
    return it == manifest.end() ? nullptr : &*it;
  };
  const nlohmann::json *format = field("format"), *version = field("version");
  if (!format || *format != "quantc-artifact" || !version || *version != 1) {
    fail(error, errorSize,
           "%s/manifest.json: not a version 1 quantc artifact manifest", dir);
    return nullptr;
  }
  const nlohmann::json *library = field("library"), *weights = field("weights"),
                       *id = field("id");
  if (!library || !library->is_string() || !weights || !weights->is_object() ||
      !id || !id->is_string() || !field("inputs") || !field("outputs")) {
    fail(error, errorSize,
           "%s/manifest.json: missing library, weights, id, inputs or outputs",
           dir);
    return nullptr;
  }

  auto model = std::make_unique<qc_model>();
  std::string why;
  if (!readInfos(*field("inputs"), model->inputs, *model, why) ||
      !readInfos(*field("outputs"), model->outputs, *model, why) ||
      !checkKvConvention(*model, why)) {
    fail(error, errorSize, "%s/manifest.json: %s", dir, why.c_str());
    return nullptr;
  }

  // Code compiled for instructions this CPU lacks would crash: refuse it.
  if (const nlohmann::json *features = field("cpu_features"))
    for (const auto &f : *features)
      if (!f.is_string() || !cpuHas(f.get<std::string>())) {
        fail(error, errorSize,
               "%s was compiled for a CPU with %s, which this one lacks", dir,
               f.dump().c_str());
        return nullptr;
      }

  // Code: the library must be the one the manifest was written with.
  std::string libPath = base + library->get<std::string>();
  // RTLD_NODELETE: the model's OpenMP runtime keeps worker threads; they
  // must outlive qc_model_free, so the library (and its dependencies) are
  // never unmapped under them.
  model->library =
      dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!model->library) {
    fail(error, errorSize, "cannot load %s: %s", libPath.c_str(), dlerror());
    return nullptr;
  }
  model->entry =
      reinterpret_cast<qc_entry_fn>(dlsym(model->library, "quantc_main"));
  auto *libId = static_cast<const char *>(
      dlsym(model->library, "quantc_artifact_id"));
  if (!model->entry || !libId) {
    fail(error, errorSize, "%s is not a quantc model library",
           libPath.c_str());
    return nullptr;
  }
  if (id->get<std::string>() != libId) {
    fail(error, errorSize,
           "%s belongs to another model (id %s, manifest says %s)",
           libPath.c_str(), libId, id->get<std::string>().c_str());
    return nullptr;
  }

  // Weights: mapped read-only, size and checksum as the manifest says.
  std::string weightsPath =
      base + weights->value("file", std::string("weights.bin"));
  int64_t bytes = weights->value("bytes", int64_t(-1));
  std::string checksum = weights->value("fnv1a64", std::string());
  int fd = open(weightsPath.c_str(), O_RDONLY);
  if (fd < 0) {
    fail(error, errorSize, "cannot open %s", weightsPath.c_str());
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size != bytes) {
    close(fd);
    fail(error, errorSize, "%s has %lld bytes, the manifest says %lld",
           weightsPath.c_str(), (long long)st.st_size, (long long)bytes);
    return nullptr;
  }
  if (bytes > 0) {
    void *p = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      fail(error, errorSize, "cannot map %s", weightsPath.c_str());
      return nullptr;
    }
    model->weights = p;
    model->weightsBytes = bytes;
  }
  close(fd);
  char actual[17];
  qc_fnv1a64_hex(qc_fnv1a64(QC_FNV1A64_INIT, model->weights,
                            static_cast<size_t>(bytes)),
                 actual);
  if (checksum != actual) {
    fail(error, errorSize,
           "%s is corrupt or from another model (checksum %s, manifest "
           "says %s)",
           weightsPath.c_str(), actual, checksum.c_str());
    return nullptr;
  }
  return model.release();
}

void qc_model_free(qc_model *model) { delete model; }

size_t qc_model_num_inputs(const qc_model *m) { return m->inputs.size(); }
size_t qc_model_num_outputs(const qc_model *m) { return m->outputs.size(); }
const qc_tensor_info *qc_model_input(const qc_model *m, size_t i) {
  return i < m->inputs.size() ? &m->inputs[i] : nullptr;
}
const qc_tensor_info *qc_model_output(const qc_model *m, size_t i) {
  return i < m->outputs.size() ? &m->outputs[i] : nullptr;
}

qc_model *qc_model_create(qc_entry_fn entry, const qc_tensor_info *inputs,
                          size_t nInputs, const qc_tensor_info *outputs,
                          size_t nOutputs) {
  auto model = std::make_unique<qc_model>();
  model->entry = entry;
  auto copy = [&](const qc_tensor_info *from, size_t n,
                  std::vector<qc_tensor_info> &to) {
    for (size_t i = 0; i < n; ++i) {
      qc_tensor_info info = from[i];
      info.name = model->keep(info.name);
      info.kv_present = model->keep(info.kv_present);
      to.push_back(info);
    }
  };
  copy(inputs, nInputs, model->inputs);
  copy(outputs, nOutputs, model->outputs);
  std::string why;
  if (!checkKvConvention(*model, why))
    return nullptr;
  return model.release();
}

int qc_model_has_kv_cache(const qc_model *m) {
  for (const qc_tensor_info &info : m->inputs)
    if (info.role == QC_ROLE_KV_CACHE)
      return 1;
  return 0;
}

int qc_model_run(qc_model *m, const qc_tensor *inputs, size_t nInputs,
                 qc_tensor *outputs, size_t nOutputs, char *error,
                 size_t errorSize) {
  if (qc_model_has_kv_cache(m)) {
    fail(error, errorSize, "the model keeps a KV cache: run it through a "
           "session (qc_session_create)");
    return -1;
  }
  if (nInputs != m->inputs.size() || nOutputs != m->outputs.size()) {
    fail(error, errorSize, "the model takes %zu inputs and %zu outputs, "
           "%zu and %zu given", m->inputs.size(), m->outputs.size(), nInputs,
           nOutputs);
    return -1;
  }
  return quantc::runtime::invokeModel(*m, inputs, outputs, error, errorSize);
}

} // extern "C"

int quantc::runtime::invokeModel(const qc_model &m, const qc_tensor *inputs,
                                 qc_tensor *outputs, char *error,
                                 size_t errorSize) {
  // The blob is passed even when empty: artifacts always take it.
  static const char empty = 0;
  const void *weights = nullptr;
  if (m.library)
    weights = m.weights ? m.weights : &empty;
  return qc_invoke(m.entry, m.inputs.data(), m.inputs.size(), inputs,
                   m.outputs.data(), m.outputs.size(), outputs, weights,
                   m.weightsBytes, error, errorSize);
}

