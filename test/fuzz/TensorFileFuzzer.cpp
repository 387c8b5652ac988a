//===- TensorFileFuzzer.cpp - libFuzzer target: .npy and .pb readers ------===//
//
// Any bytes as a NumPy .npy file and as a serialized onnx.TensorProto:
// quant-run's readers must return a tensor or a message, never crash or
// allocate what the file does not hold.
//
//===----------------------------------------------------------------------===//

#include "../../tools/quant-run/TensorFiles.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path =
      "/tmp/quantc-fuzz-tensor-" + std::to_string(getpid());
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  quantc::HostTensor tensor;
  std::string name;
  (void)quantc::readNpy(path, tensor);
  (void)quantc::readTensorProto(path, tensor, name);
  return 0;
}
