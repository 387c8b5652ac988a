//===- TensorFiles.h - read and write ONNX TensorProto files ----*- C++ -*-===//

#ifndef QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H
#define QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H

#include "NpyFiles.h"

#include <string>

namespace quantc {

/// Reads a serialized onnx.TensorProto (.pb, the format of ONNX's test
/// data); `name` receives its name. Empty string on success, else why not.
std::string readTensorProto(const std::string &path, HostTensor &tensor,
                            std::string &name);
/// Writes `tensor` as a serialized onnx.TensorProto named `name`.
std::string writeTensorProto(const std::string &path, const HostTensor &tensor,
                             const std::string &name);

} // namespace quantc

#endif // QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H
