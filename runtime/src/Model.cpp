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

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <climits>
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

using nlohmann::json;

/// Artifacts come from strangers: every field is checked for presence and
/// type before it is read (a wrong type would otherwise throw), and fields
/// quantc does not write are refused, so nothing is silently ignored.
struct Schema {
  std::string why;

  bool failWith(std::string message) {
    why = std::move(message);
    return false;
  }
  bool onlyKeys(const json &object, std::initializer_list<const char *> keys,
                const std::string &where) {
    for (const auto &item : object.items())
      if (std::find_if(keys.begin(), keys.end(), [&](const char *k) {
            return item.key() == k;
          }) == keys.end())
        return failWith(where + ": unknown field '" + item.key() + "'");
    return true;
  }
  /// `object[key]` if it has JSON type `type`, else null with `why` set.
  const json *get(const json &object, const char *key, json::value_t type,
                  const std::string &where, bool required = true) {
    auto it = object.find(key);
    if (it == object.end()) {
      if (required)
        failWith(where + ": missing field '" + key + "'");
      return nullptr;
    }
    bool ok = it->type() == type ||
              (type == json::value_t::number_integer &&
               it->type() == json::value_t::number_unsigned);
    if (!ok) {
      failWith(where + ": field '" + key + "' must be " + typeName(type) +
               ", not " + it->type_name());
      return nullptr;
    }
    return &*it;
  }
  static std::string typeName(json::value_t t) {
    switch (t) {
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    default:
      return "an integer";
    }
  }
  /// An integer in [lo, hi].
  bool integer(const json &v, int64_t lo, int64_t hi, const std::string &where,
               int64_t &out) {
    if (!v.is_number_integer())
      return failWith(where + " must be an integer");
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
      return failWith(where + " is out of range");
    out = v.get<int64_t>();
    if (out < lo || out > hi)
      return failWith(where + " is out of range");
    return true;
  }
  /// A file of the artifact: a plain name inside its folder (no '/', so no
  /// absolute path and no '..'), with its size and FNV-1a checksum.
  bool file(const json &object, const char *key, std::string &name,
            int64_t &bytes, std::string &checksum) {
    const json *f = get(object, key, json::value_t::object, "manifest");
    if (!f || !onlyKeys(*f, {"file", "bytes", "fnv1a64"}, key))
      return false;
    const json *n = get(*f, "file", json::value_t::string, key);
    const json *b = get(*f, "bytes", json::value_t::number_integer, key);
    const json *c = get(*f, "fnv1a64", json::value_t::string, key);
    if (!n || !b || !c || !integer(*b, 0, INT64_MAX, std::string(key) + ".bytes",
                                   bytes))
      return false;
    name = n->get<std::string>();
    checksum = c->get<std::string>();
    if (name.empty() || name == "." || name == ".." ||
        name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
      return failWith(std::string(key) + ": '" + name +
                      "' is not a file name inside the artifact folder");
    return true;
  }
};

/// Reads a list of tensor infos into `model`'s storage; false (with `why`)
/// if malformed.
bool readInfos(Schema &s, const json &list, const char *what,
               std::vector<qc_tensor_info> &out, qc_model &model) {
  for (size_t i = 0; i < list.size(); ++i) {
    const json &item = list[i];
    std::string where = std::string(what) + "[" + std::to_string(i) + "]";
    if (!item.is_object())
      return s.failWith(where + " must be an object");
    if (!s.onlyKeys(item, {"name", "dtype", "shape", "role", "kv_axis",
                           "kv_present", "size_from"},
                    where))
      return false;
    qc_tensor_info info{};
    const json *name = s.get(item, "name", json::value_t::string, where);
    const json *dtype = s.get(item, "dtype", json::value_t::string, where);
    const json *shape = s.get(item, "shape", json::value_t::array, where);
    if (!name || !dtype || !shape)
      return false;
    for (const qc_tensor_info &other : out)
      if (name->get<std::string>() == other.name)
        return s.failWith(where + ": a second tensor named '" +
                          name->get<std::string>() + "'");
    if (qc_dtype_from_name(dtype->get<std::string>().c_str(), &info.dtype) != 0)
      return s.failWith(where + ": unknown dtype '" +
                        dtype->get<std::string>() + "'");
    if (shape->size() > QC_MAX_RANK)
      return s.failWith(where + ": more than " + std::to_string(QC_MAX_RANK) +
                        " dims");
    info.rank = static_cast<int32_t>(shape->size());
    for (int32_t d = 0; d < info.rank; ++d) {
      if (!s.integer((*shape)[d], -1, INT64_MAX, where + ".shape",
                     info.shape[d]))
        return false;
      info.size_input[d] = info.size_dim[d] = -1;
    }
    info.name = model.keep(name->get<std::string>().c_str());
    std::string role = "data";
    if (const json *r = s.get(item, "role", json::value_t::string, where,
                              /*required=*/false))
      role = r->get<std::string>();
    else if (!s.why.empty())
      return false;
    if (role == "kv_length") {
      info.role = QC_ROLE_KV_LENGTH;
    } else if (role == "kv_cache") {
      info.role = QC_ROLE_KV_CACHE;
      const json *axis = item.contains("kv_axis") ? &item["kv_axis"] : nullptr;
      const json *present =
          s.get(item, "kv_present", json::value_t::string, where, false);
      const json *from =
          s.get(item, "size_from", json::value_t::array, where, false);
      if (!s.why.empty())
        return false;
      if (!axis || !present || !from || from->size() != size_t(2 * info.rank))
        return s.failWith("KV cache '" + std::string(info.name) +
                          "' lacks kv_axis, kv_present or size_from");
      int64_t value;
      if (!s.integer(*axis, 0, info.rank - 1, where + ".kv_axis", value))
        return false;
      info.kv_axis = int32_t(value);
      info.kv_present = model.keep(present->get<std::string>().c_str());
      for (int32_t d = 0; d < 2 * info.rank; ++d) {
        if (!s.integer((*from)[d], -1, INT32_MAX, where + ".size_from", value))
          return false;
        (d % 2 ? info.size_dim[d / 2] : info.size_input[d / 2]) = int32_t(value);
      }
    } else if (role != "data") {
      return s.failWith("unknown role '" + role + "'");
    } else if (item.contains("kv_axis") || item.contains("kv_present") ||
               item.contains("size_from")) {
      return s.failWith(where + ": KV cache fields on a data tensor");
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
  for (const qc_tensor_info &info : m.outputs)
    if (info.role != QC_ROLE_DATA) {
      why = "output '" + std::string(info.name) + "' has a role";
      return false;
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

/// A file of the artifact folder, opened without following a symbolic link
/// (so nothing outside the folder) and only if it is a regular file (a FIFO
/// or device would block or never end); `bytes` is its size.
int openInFolder(int dirfd, const std::string &name, int64_t &bytes,
                 std::string &why) {
  int fd = openat(dirfd, name.c_str(),
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = "cannot open " + name + " in the artifact folder: " +
          std::strerror(errno);
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    why = name + " is not a regular file";
    return -1;
  }
  bytes = st.st_size;
  return fd;
}

/// Maps artifact file `name` read-only into `data` (null when empty) if its
/// size and FNV-1a checksum are the manifest's; false with `why` otherwise
/// (nothing left mapped).
bool mapVerified(int dirfd, const std::string &dir, const std::string &name,
                 int64_t bytes, const std::string &checksum, void *&data,
                 std::string &why) {
  data = nullptr;
  int64_t actual = 0;
  int fd = openInFolder(dirfd, name, actual, why);
  if (fd < 0) {
    why = dir + ": " + why;
    return false;
  }
  std::string path = dir + "/" + name;
  if (actual != bytes) {
    close(fd);
    why = path + " has " + std::to_string(actual) +
          " bytes, the manifest says " + std::to_string(bytes);
    return false;
  }
  if (bytes > 0) {
    void *p = mmap(nullptr, size_t(bytes), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      why = "cannot map " + name;
      return false;
    }
    data = p;
  }
  close(fd);
  char hash[17];
  qc_fnv1a64_hex(qc_fnv1a64(QC_FNV1A64_INIT, data, size_t(bytes)), hash);
  if (checksum != hash) {
    why = path + " is corrupt or from another model (checksum " + hash +
          ", manifest says " + checksum + ")";
    if (data)
      munmap(data, size_t(bytes));
    data = nullptr;
    return false;
  }
  return true;
}

/// The largest manifest read: far above any model's (a few KiB a layer).
constexpr int64_t kMaxManifestBytes = 64 << 20;

/// Everything qc_model_load does, with the message in `why`.
qc_model *loadArtifact(const std::string &dir, std::string &why) {
  int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    why = dir + ": cannot open the folder: " + std::strerror(errno);
    return nullptr;
  }
  struct CloseDir {
    int fd;
    ~CloseDir() { close(fd); }
  } closeDir{dirfd};

  // The manifest, checked whole before anything else is opened.
  int64_t manifestBytes = 0;
  int fd = openInFolder(dirfd, "manifest.json", manifestBytes, why);
  if (fd < 0) {
    if (faccessat(dirfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) != 0)
      why = dir + ": no manifest.json (not a quantc artifact)";
    else
      why = dir + ": " + why;
    return nullptr;
  }
  if (manifestBytes > kMaxManifestBytes) {
    close(fd);
    why = dir + "/manifest.json is too large to be a manifest";
    return nullptr;
  }
  std::string text(size_t(manifestBytes), '\0');
  ssize_t got = pread(fd, text.data(), text.size(), 0);
  close(fd);
  json manifest = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (got != manifestBytes || manifest.is_discarded() || !manifest.is_object()) {
    why = dir + "/manifest.json is not valid JSON";
    return nullptr;
  }
  Schema s;
  auto bad = [&]() -> qc_model * {
    why = dir + "/manifest.json: " + s.why;
    return nullptr;
  };
  const json *format = s.get(manifest, "format", json::value_t::string, "manifest");
  const json *version =
      s.get(manifest, "version", json::value_t::number_integer, "manifest");
  if (!format || *format != "quantc-artifact" || !version || *version != 2) {
    why = dir + "/manifest.json: not a version 2 quantc artifact manifest";
    return nullptr;
  }
  if (!s.onlyKeys(manifest, {"format", "version", "id", "target", "cpu",
                             "cpu_features", "library", "weights", "inputs",
                             "outputs"},
                  "manifest"))
    return bad();
  const json *id = s.get(manifest, "id", json::value_t::string, "manifest");
  const json *features =
      s.get(manifest, "cpu_features", json::value_t::array, "manifest");
  const json *inputs = s.get(manifest, "inputs", json::value_t::array, "manifest");
  const json *outputs =
      s.get(manifest, "outputs", json::value_t::array, "manifest");
  if (!id || !features || !inputs || !outputs ||
      !s.get(manifest, "target", json::value_t::string, "manifest") ||
      !s.get(manifest, "cpu", json::value_t::string, "manifest"))
    return bad();
  std::string libName, libSum, weightsName, weightsSum;
  int64_t libBytes, weightsBytes;
  if (!s.file(manifest, "library", libName, libBytes, libSum) ||
      !s.file(manifest, "weights", weightsName, weightsBytes, weightsSum))
    return bad();
  auto model = std::make_unique<qc_model>();
  if (!readInfos(s, *inputs, "inputs", model->inputs, *model) ||
      !readInfos(s, *outputs, "outputs", model->outputs, *model) ||
      !checkKvConvention(*model, s.why))
    return bad();
  for (const json &f : *features)
    if (!f.is_string()) {
      s.failWith("cpu_features must be strings");
      return bad();
    }

  // Code compiled for instructions this CPU lacks would crash: refuse it.
  for (const json &f : *features)
    if (!cpuHas(f.get<std::string>())) {
      why = dir + " was compiled for a CPU with " + f.dump() +
            ", which this one lacks";
      return nullptr;
    }

  // The library: checked byte for byte before the dynamic loader sees it
  // (a truncated file would fault while being mapped).
  std::string libPath = dir + "/" + libName;
  void *code = nullptr;
  if (!mapVerified(dirfd, dir, libName, libBytes, libSum, code, why))
    return nullptr;
  if (code)
    munmap(code, size_t(libBytes));
  // RTLD_NODELETE: the model's OpenMP runtime keeps worker threads; they
  // must outlive qc_model_free, so the library (and its dependencies) are
  // never unmapped under them.
  model->library =
      dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!model->library) {
    why = "cannot load " + libPath + ": " + dlerror();
    return nullptr;
  }
  model->entry =
      reinterpret_cast<qc_entry_fn>(dlsym(model->library, "quantc_main"));
  auto *embedded =
      static_cast<const char *>(dlsym(model->library, "quantc_manifest"));
  if (!model->entry || !embedded) {
    why = libPath + " is not a quantc model library";
    return nullptr;
  }
  // The library carries the manifest it was compiled with (all but its own
  // checksum): id, interface and weights checksum must be this one's, so
  // code never runs with another model's weights or calling convention.
  json own = json::parse(embedded, nullptr, /*allow_exceptions=*/false);
  json expected = manifest;
  expected.erase("library");
  if (own.is_discarded() || !own.is_object() || own != expected) {
    std::string differ;
    for (const auto &item : expected.items())
      if (!own.is_object() || !own.contains(item.key()) ||
          own[item.key()] != item.value())
        differ += (differ.empty() ? "" : ", ") + item.key();
    why = libPath + " belongs to another model (it was compiled with " +
          (differ.empty() ? "other fields" : "another " + differ) +
          " than the manifest says)";
    return nullptr;
  }

  // Weights: mapped read-only, size and checksum as the manifest says.
  if (!mapVerified(dirfd, dir, weightsName, weightsBytes, weightsSum,
                   model->weights, why))
    return nullptr;
  model->weightsBytes = model->weights ? weightsBytes : 0;
  return model.release();
}

} // namespace

extern "C" {

qc_model *qc_model_load(const char *dir, char *error, size_t errorSize) {
  std::string why;
  qc_model *model = nullptr;
  try {
    model = loadArtifact(dir ? dir : "", why);
  } catch (const std::exception &e) {
    // Only a bug would get here (every field is type-checked first); an
    // embedding application still gets an error, not an abort.
    why = std::string(dir ? dir : "") + ": cannot load the artifact: " + e.what();
  }
  if (!model)
    fail(error, errorSize, "%s", why.c_str());
  return model;
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

