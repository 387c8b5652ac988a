//===- CpuBackend.cpp - running code compiled for the host CPU ------------===//
//
// The target `{"kind": "cpu", "triple", "cpu", "features"}`: one code file,
// the model's shared library (`host_library`), which carries the manifest
// it was compiled with; tensors and weights in host memory. GPU backends
// load their host code with the same checks (checkHostTarget,
// loadHostLibrary).
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "ModelImpl.h"

#include <dlfcn.h>
#include <sys/mman.h>

using nlohmann::json;

namespace {

/// The architecture this runtime was built for, as LLVM triples name it.
const char *hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

/// True if this CPU has `feature` (one of the names the compiler records).
bool cpuHas(const std::string &f) {
#if defined(__x86_64__)
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
#endif
  return false;
}

bool loadCpu(qc_model &model, const json &target,
             const std::vector<quantc::runtime::CodeFile> &code,
             const json &manifest, const quantc::runtime::Folder &folder,
             std::string &why) {
  const std::string where = folder.dir + "/manifest.json: target";
  for (const auto &item : target.items())
    if (item.key() != "kind" && item.key() != "triple" &&
        item.key() != "cpu" && item.key() != "features") {
      why = where + ": unknown field '" + item.key() + "' for the cpu target";
      return false;
    }
  if (code.size() != 1 || code[0].kind != "host_library") {
    why = folder.dir + "/manifest.json: code: a cpu target has one "
                       "'host_library' and nothing else";
    return false;
  }
  return quantc::runtime::checkHostTarget(target, where, folder, why) &&
         quantc::runtime::loadHostLibrary(model, code[0], manifest, folder,
                                          why);
}

} // namespace

bool quantc::runtime::checkHostTarget(const json &host,
                                      const std::string &where,
                                      const Folder &folder, std::string &why) {
  auto triple = host.find("triple"), cpu = host.find("cpu"),
       features = host.find("features");
  if (triple == host.end() || !triple->is_string() || cpu == host.end() ||
      !cpu->is_string() || features == host.end() || !features->is_array()) {
    why = where + ": host code needs 'triple' and 'cpu' (strings) and "
                  "'features' (a list)";
    return false;
  }
  for (const json &f : *features)
    if (!f.is_string()) {
      why = where + ": features must be strings";
      return false;
    }
  // Code for another architecture or for instructions this CPU lacks would
  // not load or would crash: refuse it.
  std::string tripleText = triple->get<std::string>();
  if (tripleText.substr(0, tripleText.find('-')) != hostArch()) {
    why = folder.dir + " was compiled for " + tripleText + "; this runtime "
          "runs on " + hostArch();
    return false;
  }
  for (const json &f : *features)
    if (!cpuHas(f.get<std::string>())) {
      why = folder.dir + " was compiled for a CPU with " + f.dump() +
            ", which this one lacks";
      return false;
    }
  return true;
}

bool quantc::runtime::loadHostLibrary(qc_model &model, const CodeFile &lib,
                                      const json &manifest,
                                      const Folder &folder, std::string &why) {
  // The library: checked byte for byte before the dynamic loader sees it
  // (a truncated file would fault while being mapped).
  std::string libPath = folder.dir + "/" + lib.name;
  void *bytes = nullptr;
  if (!quantc::runtime::mapVerified(folder, lib.name, lib.bytes, lib.checksum,
                                    bytes, why))
    return false;
  if (bytes)
    munmap(bytes, size_t(lib.bytes));
  // RTLD_NODELETE: the model's OpenMP runtime keeps worker threads; they
  // must outlive qc_model_free, so the library (and its dependencies) are
  // never unmapped under them.
  model.library =
      dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!model.library) {
    why = "cannot load " + libPath + ": " + dlerror();
    return false;
  }
  model.entry =
      reinterpret_cast<qc_entry_fn>(dlsym(model.library, "quantc_main"));
  auto *embedded =
      static_cast<const char *>(dlsym(model.library, "quantc_manifest"));
  if (!model.entry || !embedded) {
    why = libPath + " is not a quantc model library";
    return false;
  }
  // The library carries the manifest it was compiled with, less its
  // `code` (which cannot hold its own checksum): id, target, interface and
  // weights must be this one's, so code never runs with another model's
  // weights or calling convention.
  json own = json::parse(embedded, nullptr, /*allow_exceptions=*/false);
  json expected = manifest;
  expected["code"] = json::array();
  if (own.is_discarded() || !own.is_object() || own != expected) {
    std::string differ;
    for (const auto &item : expected.items())
      if (!own.is_object() || !own.contains(item.key()) ||
          own[item.key()] != item.value())
        differ += (differ.empty() ? "" : ", ") + item.key();
    why = libPath + " belongs to another model (it was compiled with " +
          (differ.empty() ? "other fields" : "another " + differ) +
          " than the manifest says)";
    return false;
  }
  return true;
}

namespace {

int invokeCpu(const qc_model &m, const qc_tensor *inputs, qc_tensor *outputs,
              char *error, size_t errorSize) {
  // The blob is passed even when empty: artifacts always take it.
  static const char empty = 0;
  const void *weights = nullptr;
  if (m.library)
    weights = m.weights ? m.weights : &empty;
  return qc_invoke(m.entry, m.inputs.data(), m.inputs.size(), inputs,
                   m.outputs.data(), m.outputs.size(), outputs, weights,
                   m.weightsBytes, error, errorSize);
}

} // namespace

const quantc::runtime::Backend quantc::runtime::kCpuBackend = {
    "cpu", /*hasDeviceMemory=*/false, loadCpu, invokeCpu, /*buffers=*/nullptr};
