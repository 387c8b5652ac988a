//===- NpyFiles.h - read and write NumPy .npy files -------------*- C++ -*-===//

#ifndef QUANTC_TOOLS_RUN_TASKS_NPYFILES_H
#define QUANTC_TOOLS_RUN_TASKS_NPYFILES_H

#include "quantc/Execution/Model.h"

#include <string>

namespace quantc {

/// The bytes a tensor of `shape` takes, checked before anything is
/// allocated: at most QC_MAX_RANK dims, none negative, and no more than
/// `available` bytes (what the file holds), so a header that lies about its
/// size is refused instead of overflowing or exhausting memory. Empty string
/// on success, else why not (naming `path`).
std::string checkedTensorBytes(const std::string &path,
                               const std::vector<int64_t> &shape,
                               size_t elementBytes, uint64_t available,
                               size_t &bytes);

/// Reads a NumPy .npy file (format 1.0-3.0, C order, little-endian
/// f32/f16/f64/i64/i32/i16/i8/u8/bool). Empty string on success.
std::string readNpy(const std::string &path, HostTensor &tensor);
/// Writes `tensor` as a NumPy .npy file (format 1.0).
std::string writeNpy(const std::string &path, const HostTensor &tensor);

} // namespace quantc

#endif // QUANTC_TOOLS_RUN_TASKS_NPYFILES_H
