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

struct qc_model {
  std::vector<std::string> names; // storage for the infos' names
  std::vector<qc_tensor_info> inputs, outputs;
  void *library = nullptr;
  qc_entry_fn entry = nullptr;
  void *weights = nullptr;
  int64_t weightsBytes = 0;

  ~qc_model() {
    if (weights && weightsBytes > 0)
      munmap(weights, weightsBytes);
    if (library)
      dlclose(library);
  }
};

namespace {

void report(char *error, size_t size, const char *format, ...) {
  if (!error || !size)
    return;
  va_list args;
  va_start(args, format);
  std::vsnprintf(error, size, format, args);
  va_end(args);
}

/// Reads a list of tensor infos; false (with `why`) if malformed.
bool readInfos(const nlohmann::json &list, std::vector<qc_tensor_info> &out,
               std::vector<std::string> &names, std::string &why) {
  if (!list.is_array()) {
    why = "inputs and outputs must be lists";
    return false;
  }
  for (const auto &item : list) {
    qc_tensor_info info{};
    if (!item.contains("name") || !item.contains("dtype") ||
        !item.contains("shape") || !item["shape"].is_array()) {
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
    for (int32_t d = 0; d < info.rank; ++d)
      info.shape[d] = item["shape"][d].get<int64_t>();
    names.push_back(item["name"].get<std::string>());
    out.push_back(info);
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
    report(error, errorSize, "%s: no manifest.json (not a quantc artifact)",
           dir);
    return nullptr;
  }
  nlohmann::json manifest =
      nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    report(error, errorSize, "%s/manifest.json is not valid JSON", dir);
    return nullptr;
  }
  auto field = [&](const char *key) -> const nlohmann::json * {
    auto it = manifest.find(key);
    return it == manifest.end() ? nullptr : &*it;
  };
  const nlohmann::json *format = field("format"), *version = field("version");
  if (!format || *format != "quantc-artifact" || !version || *version != 1) {
    report(error, errorSize,
           "%s/manifest.json: not a version 1 quantc artifact manifest", dir);
    return nullptr;
  }
  const nlohmann::json *library = field("library"), *weights = field("weights"),
                       *id = field("id");
  if (!library || !library->is_string() || !weights || !weights->is_object() ||
      !id || !id->is_string() || !field("inputs") || !field("outputs")) {
    report(error, errorSize,
           "%s/manifest.json: missing library, weights, id, inputs or outputs",
           dir);
    return nullptr;
  }

  auto model = std::make_unique<qc_model>();
  std::vector<std::string> inNames, outNames;
  std::string why;
  if (!readInfos(*field("inputs"), model->inputs, inNames, why) ||
      !readInfos(*field("outputs"), model->outputs, outNames, why)) {
    report(error, errorSize, "%s/manifest.json: %s", dir, why.c_str());
    return nullptr;
  }
  model->names = inNames;
  model->names.insert(model->names.end(), outNames.begin(), outNames.end());
  for (size_t i = 0; i < model->inputs.size(); ++i)
    model->inputs[i].name = model->names[i].c_str();
  for (size_t i = 0; i < model->outputs.size(); ++i)
    model->outputs[i].name = model->names[inNames.size() + i].c_str();

  // Code compiled for instructions this CPU lacks would crash: refuse it.
  if (const nlohmann::json *features = field("cpu_features"))
    for (const auto &f : *features)
      if (!f.is_string() || !cpuHas(f.get<std::string>())) {
        report(error, errorSize,
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
    report(error, errorSize, "cannot load %s: %s", libPath.c_str(), dlerror());
    return nullptr;
  }
  model->entry =
      reinterpret_cast<qc_entry_fn>(dlsym(model->library, "quantc_main"));
  auto *libId = static_cast<const char *>(
      dlsym(model->library, "quantc_artifact_id"));
  if (!model->entry || !libId) {
    report(error, errorSize, "%s is not a quantc model library",
           libPath.c_str());
    return nullptr;
  }
  if (id->get<std::string>() != libId) {
    report(error, errorSize,
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
    report(error, errorSize, "cannot open %s", weightsPath.c_str());
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size != bytes) {
    close(fd);
    report(error, errorSize, "%s has %lld bytes, the manifest says %lld",
           weightsPath.c_str(), (long long)st.st_size, (long long)bytes);
    return nullptr;
  }
  if (bytes > 0) {
    void *p = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      report(error, errorSize, "cannot map %s", weightsPath.c_str());
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
    report(error, errorSize,
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

int qc_model_run(qc_model *m, const qc_tensor *inputs, size_t nInputs,
                 qc_tensor *outputs, size_t nOutputs, char *error,
                 size_t errorSize) {
  if (nInputs != m->inputs.size() || nOutputs != m->outputs.size()) {
    report(error, errorSize, "the model takes %zu inputs and %zu outputs, "
           "%zu and %zu given", m->inputs.size(), m->outputs.size(), nInputs,
           nOutputs);
    return -1;
  }
  // The blob is mapped even when empty, so the entry always gets it.
  static const char empty = 0;
  return qc_invoke(m->entry, m->inputs.data(), nInputs, inputs,
                   m->outputs.data(), nOutputs, outputs,
                   m->weights ? m->weights : &empty, m->weightsBytes, error,
                   errorSize);
}

} // extern "C"
