//===- Backend.h - what a target's backend does (runtime-internal) --------===//
//
// The loader (Model.cpp) checks what every artifact has (schema, files in
// the folder, interface, weights table) and maps the weights; the backend of
// the manifest's `target.kind` checks the target's own fields, loads the
// code objects and runs them. One backend per target; the CPU's is in
// CpuBackend.cpp, GPU targets add theirs to the table in Model.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_RUNTIME_BACKEND_H
#define QUANTC_RUNTIME_BACKEND_H

#include "quantc/runtime.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace quantc::runtime {

/// An entry of the manifest's `code` list: a file of the folder, checked
/// for name, size and checksum by the loader's schema but not yet opened.
struct CodeFile {
  std::string kind; // "host_library"; GPU targets: their modules
  std::string name;
  int64_t bytes = 0;
  std::string checksum;
};

/// The artifact folder being loaded.
struct Folder {
  int fd;          // opened O_DIRECTORY
  std::string dir; // as the caller named it (for messages)
};

/// Buffers a session keeps in the backend's device memory (its KV caches,
/// when the manifest puts them there). Called outside model calls.
struct DeviceBuffers {
  /// Null when out of memory.
  void *(*alloc)(const qc_model &model, size_t bytes);
  void (*release)(const qc_model &model, void *p);
  /// Copies `bytes` between any two of host and device memory; false on
  /// failure.
  bool (*copy)(const qc_model &model, void *to, const void *from,
               size_t bytes);
};

struct Backend {
  /// The manifest's `target.kind` this backend runs.
  const char *kind;
  /// Whether tensors may live in device memory (else all are host).
  bool hasDeviceMemory;
  /// Checks `target` (the manifest's object, its kind already matched) and
  /// the code files, and loads the code into `model`. `manifest` is the
  /// whole manifest, for code that carries its own copy. False with `why`.
  bool (*load)(qc_model &model, const nlohmann::json &target,
               const std::vector<CodeFile> &code,
               const nlohmann::json &manifest, const Folder &folder,
               std::string &why);
  /// Runs the loaded code on `inputs` (the model's inputs, checked to be
  /// in the memory the manifest says), filling `outputs`.
  int (*invoke)(const qc_model &model, const qc_tensor *inputs,
                qc_tensor *outputs, char *error, size_t errorSize);
  /// Device buffers for sessions; null for a backend with host memory only.
  const DeviceBuffers *buffers;
};

/// The CPU backend (CpuBackend.cpp): in-process code and artifacts for the
/// host CPU.
extern const Backend kCpuBackend;

/// The CUDA backend (CudaBackend.cpp): host code in a library, kernels in
/// PTX, run through the CUDA driver loaded at run time.
extern const Backend kCudaBackend;

/// For every backend's host code: `host` holds `triple`, `cpu` and
/// `features` (the code's architecture must be this CPU's, its features
/// this CPU's); `where` names the object in messages.
bool checkHostTarget(const nlohmann::json &host, const std::string &where,
                     const Folder &folder, std::string &why);
/// Verifies and loads the model library `lib` into `model` (library, entry)
/// and checks that the manifest it carries is `manifest` less `code`.
bool loadHostLibrary(qc_model &model, const CodeFile &lib,
                     const nlohmann::json &manifest, const Folder &folder,
                     std::string &why);

/// Maps `name` of the folder read-only into `data` (null when empty) if its
/// size and FNV-1a checksum are `bytes` and `checksum`; false with `why`
/// otherwise (nothing left mapped).
bool mapVerified(const Folder &folder, const std::string &name, int64_t bytes,
                 const std::string &checksum, void *&data, std::string &why);

} // namespace quantc::runtime

#endif // QUANTC_RUNTIME_BACKEND_H
