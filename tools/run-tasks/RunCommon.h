//===- RunCommon.h - what quant-run and qc-run do alike ---------*- C++ -*-===//

#ifndef QUANTC_TOOLS_RUN_TASKS_RUNCOMMON_H
#define QUANTC_TOOLS_RUN_TASKS_RUNCOMMON_H

#include "quantc/Execution/Model.h"

#include <string>
#include <vector>

namespace quantc {

/// Splits an --input argument: "NAME=FILE" names the input (for formats
/// that carry no name) unless a file of that whole name exists.
void splitInputArgument(const std::string &argument, std::string &name,
                        std::string &file);

/// Puts `tensor`, read from `file` as the `position`-th --input, in the
/// slot of `inputs` it belongs to: the input called `name`, else by
/// position. Empty string on success, else why not.
std::string placeInput(const std::vector<TensorSignature> &signature,
                       size_t position, const std::string &name,
                       const std::string &file, HostTensor tensor,
                       std::vector<HostTensor> &inputs,
                       std::vector<bool> &given);

/// "missing input 'NAME'" for the first input not given; empty if none.
std::string missingInput(const std::vector<TensorSignature> &signature,
                         const std::vector<bool> &given);

/// "logits: f32[1x8x256] first values: ..." for stdout.
std::string summarize(const std::string &name, const HostTensor &tensor);

/// The file name of an output in a folder (ONNX value names may hold '/').
std::string outputFileName(const std::string &name, const std::string &ext);

} // namespace quantc

#endif // QUANTC_TOOLS_RUN_TASKS_RUNCOMMON_H
