//===- TensorFiles.h - read and write ONNX TensorProto files ----*- C++ -*-===//

#ifndef QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H
#define QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H

#include "quantc/Execution/Model.h"

#include <string>

namespace quantc {

/// Reads a serialized onnx.TensorProto (.pb, the format of ONNX's test
/// data); `name` receives its name. Empty string on success, else why not.
std::string readTensorProto(const std::string &path, HostTensor &tensor,
                            std::string &name);
/// Writes `tensor` as a serialized onnx.TensorProto named `name`.
std::string writeTensorProto(const std::string &path, const HostTensor &tensor,
                             const std::string &name);

/// Reads a NumPy .npy file (format 1.0-3.0, C order, little-endian
/// f32/f16/f64/i64/i32/i16/i8/u8/bool). Empty string on success.
std::string readNpy(const std::string &path, HostTensor &tensor);
/// Writes `tensor` as a NumPy .npy file (format 1.0).
std::string writeNpy(const std::string &path, const HostTensor &tensor);

} // namespace quantc

#endif // QUANTC_TOOLS_QUANT_RUN_TENSORFILES_H
