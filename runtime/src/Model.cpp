//===- Model.cpp - loading and running an artifact folder -----------------===//
//
// An artifact is a folder with manifest.json (target, code files, weights
// table, interface, sizes and checksums), the code for its target and the
// weights blob, memory-mapped read-only. This file checks what every
// artifact has and hands the target's fields and code to the backend of
// its target (Backend.h).
//
//===----------------------------------------------------------------------===//

#include "quantc/runtime.h"
#include "quantc/checksum.h"
#include "Backend.h"
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
  if (device && freeDevice)
    freeDevice(device);
  if (weights && weightsBytes > 0)
    munmap(weights, weightsBytes);
  if (library)
    dlclose(library);
}

using quantc::runtime::fail;
using quantc::runtime::Backend;

namespace {

/// The backends of this build, by target kind.
const Backend *const kBackends[] = {&quantc::runtime::kCpuBackend,
                                    &quantc::runtime::kCudaBackend};

const Backend *findBackend(const std::string &kind) {
  for (const Backend *b : kBackends)
    if (kind == b->kind)
      return b;
  return nullptr;
}

/// "cpu" (comma-separated when there are several).
const std::string &backendNames() {
  static const std::string names = [] {
    std::string out;
    for (const Backend *b : kBackends)
      out += (out.empty() ? "" : ", ") + std::string(b->kind);
    return out;
  }();
  return names;
}

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
  /// A file of the artifact, the object `f` at `where`: a plain name inside
  /// its folder (no '/', so no absolute path and no '..'), with its size and
  /// FNV-1a checksum; `keys` are all the fields it may have.
  bool file(const json &f, const std::string &where,
            std::initializer_list<const char *> keys, std::string &name,
            int64_t &bytes, std::string &checksum) {
    if (!onlyKeys(f, keys, where))
      return false;
    const json *n = get(f, "file", json::value_t::string, where);
    const json *b = get(f, "bytes", json::value_t::number_integer, where);
    const json *c = get(f, "fnv1a64", json::value_t::string, where);
    if (!n || !b || !c || !integer(*b, 0, INT64_MAX, where + ".bytes", bytes))
      return false;
    name = n->get<std::string>();
    checksum = c->get<std::string>();
    if (name.empty() || name == "." || name == ".." ||
        name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
      return failWith(where + ": '" + name +
                      "' is not a file name inside the artifact folder");
    return true;
  }
  /// `object["memory"]`, required: "host" or "device".
  bool memory(const json &object, const std::string &where, qc_memory &out) {
    const json *m = get(object, "memory", json::value_t::string, where);
    if (!m)
      return false;
    if (*m == "host")
      out = QC_MEMORY_HOST;
    else if (*m == "device")
      out = QC_MEMORY_DEVICE;
    else
      return failWith(where + ": memory must be \"host\" or \"device\", not " +
                      m->dump());
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
    qc_tensor_info info{};
    if (!s.onlyKeys(item,
                    {"name", "dtype", "shape", "memory", "role", "kv_axis",
                     "kv_present", "size_from", "kv_format", "kv_part"},
                    where) ||
        !s.memory(item, where, info.memory))
      return false;
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
      const json *format =
          s.get(item, "kv_format", json::value_t::string, where, false);
      const json *part =
          s.get(item, "kv_part", json::value_t::string, where, false);
      if (!s.why.empty())
        return false;
      if (!format != !part)
        return s.failWith(where + ": kv_format and kv_part go together");
      if (part && part->get<std::string>() != "codes" &&
          part->get<std::string>() != "scales" &&
          part->get<std::string>() != "offsets" &&
          part->get<std::string>() != "rope")
        return s.failWith(where +
                          ": kv_part must be codes, scales, offsets or rope");
      if (format) {
        info.kv_format = model.keep(format->get<std::string>().c_str());
        info.kv_part = model.keep(part->get<std::string>().c_str());
      }
      for (int32_t d = 0; d < 2 * info.rank; ++d) {
        if (!s.integer((*from)[d], -1, INT32_MAX, where + ".size_from", value))
          return false;
        (d % 2 ? info.size_dim[d / 2] : info.size_input[d / 2]) = int32_t(value);
      }
    } else if (role != "data") {
      return s.failWith("unknown role '" + role + "'");
    } else if (item.contains("kv_axis") || item.contains("kv_present") ||
               item.contains("size_from") || item.contains("kv_format") ||
               item.contains("kv_part")) {
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

} // namespace

bool quantc::runtime::mapVerified(const Folder &folder,
                                  const std::string &name, int64_t bytes,
                                  const std::string &checksum, void *&data,
                                  std::string &why) {
  const std::string &dir = folder.dir;
  data = nullptr;
  int64_t actual = 0;
  int fd = openInFolder(folder.fd, name, actual, why);
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

namespace {

/// The largest manifest read: far above any model's (a few KiB a layer).
constexpr int64_t kMaxManifestBytes = 64 << 20;

/// Reads the weights table (`weights.tensors`) into `model`: named pieces
/// inside the blob of `blobBytes`, none overlapping another.
bool readWeightsTable(Schema &s, const json &list, int64_t blobBytes,
                      qc_model &model) {
  std::vector<std::pair<int64_t, int64_t>> extents;
  for (size_t i = 0; i < list.size(); ++i) {
    const json &item = list[i];
    std::string where = "weights.tensors[" + std::to_string(i) + "]";
    if (!item.is_object())
      return s.failWith(where + " must be an object");
    if (!s.onlyKeys(item, {"name", "offset", "bytes", "dtype", "shape",
                           "format", "layout", "part"},
                    where))
      return false;
    const json *name = s.get(item, "name", json::value_t::string, where);
    const json *offset = s.get(item, "offset", json::value_t::number_integer, where);
    const json *bytes = s.get(item, "bytes", json::value_t::number_integer, where);
    const json *dtype = s.get(item, "dtype", json::value_t::string, where);
    const json *shape = s.get(item, "shape", json::value_t::array, where);
    const json *format = s.get(item, "format", json::value_t::string, where);
    const json *layout = s.get(item, "layout", json::value_t::string, where);
    const json *part =
        s.get(item, "part", json::value_t::string, where, /*required=*/false);
    if (!name || !offset || !bytes || !dtype || !shape || !format || !layout ||
        !s.why.empty())
      return false;
    qc_weight_info info{};
    if (!s.integer(*offset, 0, blobBytes, where + ".offset", info.offset) ||
        !s.integer(*bytes, 0, blobBytes - info.offset, where + ".bytes",
                   info.bytes))
      return s.failWith(s.why + " (the blob has " + std::to_string(blobBytes) +
                        " bytes)");
    for (const json &d : *shape)
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        return s.failWith(where + ".shape must hold sizes");
    info.name = model.keep(name->get<std::string>().c_str());
    info.format = model.keep(format->get<std::string>().c_str());
    info.layout = model.keep(layout->get<std::string>().c_str());
    info.part = part ? model.keep(part->get<std::string>().c_str()) : nullptr;
    model.weightsTable.push_back(info);
    extents.push_back({info.offset, info.offset + info.bytes});
  }
  std::sort(extents.begin(), extents.end());
  for (size_t i = 1; i < extents.size(); ++i)
    if (extents[i].first < extents[i - 1].second)
      return s.failWith("weights.tensors: two pieces overlap at byte " +
                        std::to_string(extents[i].first));
  return true;
}

/// The message for a manifest of another format version.
std::string versionMismatch(int64_t version) {
  std::string v = std::to_string(version),
              ours = std::to_string(QC_ARTIFACT_VERSION);
  if (version < QC_ARTIFACT_VERSION)
    return "compiled by an older quantc (artifact format " + v +
           "; this runtime reads format " + ours +
           "): compile the model again with this quantc";
  return "compiled by a newer quantc (artifact format " + v +
         "; this runtime reads format " + ours +
         "): load it with that quantc's runtime";
}

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
  const quantc::runtime::Folder folder{dirfd, dir};

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
  if (!format || *format != "quantc-artifact" || !version) {
    why = dir + "/manifest.json: not a quantc artifact manifest";
    return nullptr;
  }
  int64_t v = 0;
  if (!s.integer(*version, 0, INT32_MAX, "version", v))
    return bad();
  if (v != QC_ARTIFACT_VERSION) {
    why = dir + ": " + versionMismatch(v);
    return nullptr;
  }
  if (!s.onlyKeys(manifest, {"format", "version", "id", "target", "code",
                             "weights", "inputs", "outputs"},
                  "manifest"))
    return bad();
  const json *id = s.get(manifest, "id", json::value_t::string, "manifest");
  const json *target =
      s.get(manifest, "target", json::value_t::object, "manifest");
  const json *code = s.get(manifest, "code", json::value_t::array, "manifest");
  const json *weights =
      s.get(manifest, "weights", json::value_t::object, "manifest");
  const json *inputs = s.get(manifest, "inputs", json::value_t::array, "manifest");
  const json *outputs =
      s.get(manifest, "outputs", json::value_t::array, "manifest");
  if (!id || !target || !code || !weights || !inputs || !outputs)
    return bad();
  const json *kind = s.get(*target, "kind", json::value_t::string, "target");
  if (!kind)
    return bad();

  // The code files: plain names in the folder, each with a kind for the
  // backend (opened by the backend, checked byte for byte first).
  std::vector<quantc::runtime::CodeFile> codeFiles;
  for (size_t i = 0; i < code->size(); ++i) {
    std::string where = "code[" + std::to_string(i) + "]";
    const json &item = (*code)[i];
    if (!item.is_object()) {
      s.failWith(where + " must be an object");
      return bad();
    }
    quantc::runtime::CodeFile f;
    const json *k = s.get(item, "kind", json::value_t::string, where);
    if (!k || !s.file(item, where, {"kind", "file", "bytes", "fnv1a64"},
                      f.name, f.bytes, f.checksum))
      return bad();
    f.kind = k->get<std::string>();
    codeFiles.push_back(f);
  }
  std::string weightsName, weightsSum;
  int64_t weightsBytes;
  qc_memory weightsMemory;
  const json *table =
      s.get(*weights, "tensors", json::value_t::array, "weights");
  if (!s.file(*weights, "weights",
              {"file", "bytes", "fnv1a64", "memory", "tensors"}, weightsName,
              weightsBytes, weightsSum) ||
      !s.memory(*weights, "weights", weightsMemory) || !table)
    return bad();
  auto model = std::make_unique<qc_model>();
  if (!readInfos(s, *inputs, "inputs", model->inputs, *model) ||
      !readInfos(s, *outputs, "outputs", model->outputs, *model) ||
      !checkKvConvention(*model, s.why) ||
      !readWeightsTable(s, *table, weightsBytes, *model))
    return bad();

  // The target's backend, and memory it can hold.
  model->backend = findBackend(kind->get<std::string>());
  if (!model->backend) {
    why = dir + ": an artifact for target '" + kind->get<std::string>() +
          "': this runtime has no backend for it (it has: " + backendNames() +
          ")";
    return nullptr;
  }
  if (!model->backend->hasDeviceMemory) {
    std::string onDevice = weightsMemory == QC_MEMORY_DEVICE ? "weights" : "";
    for (const auto *list : {&model->inputs, &model->outputs})
      for (const qc_tensor_info &info : *list)
        if (onDevice.empty() && info.memory == QC_MEMORY_DEVICE)
          onDevice = std::string("tensor '") + info.name + "'";
    if (!onDevice.empty()) {
      why = dir + "/manifest.json: " + onDevice + " in device memory, but "
            "the " + model->backend->kind + " target has only host memory";
      return nullptr;
    }
  }
  // Weights: mapped read-only, size and checksum as the manifest says
  // (before the backend loads: a GPU backend copies them to its device).
  if (!quantc::runtime::mapVerified(folder, weightsName, weightsBytes,
                                    weightsSum, model->weights, why))
    return nullptr;
  model->weightsBytes = model->weights ? weightsBytes : 0;
  if (!model->backend->load(*model, *target, codeFiles, manifest, folder, why))
    return nullptr;
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

const char *qc_runtime_backends(void) { return backendNames().c_str(); }

const char *qc_model_target(const qc_model *m) { return m->backend->kind; }

size_t qc_model_num_weights(const qc_model *m) { return m->weightsTable.size(); }

const qc_weight_info *qc_model_weight(const qc_model *m, size_t i) {
  return i < m->weightsTable.size() ? &m->weightsTable[i] : nullptr;
}

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
  model->backend = &quantc::runtime::kCpuBackend;
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
  for (size_t i = 0; i < m.inputs.size(); ++i)
    if (inputs[i].memory != m.inputs[i].memory)
      return fail(error, errorSize, "input '%s' must be in %s memory",
                  m.inputs[i].name,
                  m.inputs[i].memory == QC_MEMORY_HOST ? "host" : "device");
  return m.backend->invoke(m, inputs, outputs, error, errorSize);
}
