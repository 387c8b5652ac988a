//===- ArtifactLoadFuzzer.cpp - libFuzzer target: the artifact loader -----===//
//
// Any bytes as manifest.json of a folder that also holds a small weights
// blob and a "model.so" that is not a library: qc_model_load must refuse
// with a message (schema, paths, sizes, checksums, target backends, CPU
// features, the weights table, the dynamic loader's error), never crash,
// hang or open a file outside the folder. The seeds name both files with
// their true checksums, so the fuzzer reaches every check before code would
// run (cuda.json: a target without a backend here).
//
//===----------------------------------------------------------------------===//

#include "quantc/runtime.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

static void writeFile(const std::string &path, const void *data, size_t size) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string dir = [] {
    char pattern[] = "/tmp/quantc-fuzz-artifact-XXXXXX";
    const char *made = mkdtemp(pattern);
    if (!made)
      std::abort();
    std::string d = made;
    // The seeds' checksums are of exactly these bytes.
    writeFile(d + "/weights.bin", "quantc fuzz weights, 64 bytes long............................!!", 64);
    writeFile(d + "/model.so", "not an ELF file", 15);
    return d;
  }();
  writeFile(dir + "/manifest.json", data, size);
  char error[512];
  if (qc_model *m = qc_model_load(dir.c_str(), error, sizeof error))
    qc_model_free(m);
  return 0;
}
