//===- ModelImpl.h - what a loaded model holds (runtime-internal) ---------===//

#ifndef QUANTC_RUNTIME_MODELIMPL_H
#define QUANTC_RUNTIME_MODELIMPL_H

#include "quantc/runtime.h"

#include <cstdarg>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

namespace quantc::runtime {
struct Backend;
}

struct qc_model {
  std::deque<std::string> strings; // storage for the infos' strings
  std::vector<qc_tensor_info> inputs, outputs;
  std::vector<qc_weight_info> weightsTable;
  const quantc::runtime::Backend *backend = nullptr;
  // What the CPU backend loaded (GPU backends will add their handles).
  void *library = nullptr;
  qc_entry_fn entry = nullptr;
  void *weights = nullptr;
  int64_t weightsBytes = 0;

  /// Keeps a copy of `s` for an info to point to.
  const char *keep(const char *s) {
    return s ? strings.emplace_back(s).c_str() : nullptr;
  }
  ~qc_model();
};

namespace quantc::runtime {
/// Writes a printf-style message to `error`; returns -1.
inline int fail(char *error, size_t size, const char *format, ...) {
  if (error && size) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(error, size, format, args);
    va_end(args);
  }
  return -1;
}

/// The memory of model calls and their outputs (Memory.cpp): every block
/// compiled code allocates on the calling thread between beginCallMemory
/// and endCallMemory belongs to that call. endCallMemory hands the blocks
/// still held to their new owner (`keepBlocks`: a call's outputs) or frees
/// them (a call a check stopped).
struct CallMemory;
CallMemory *beginCallMemory();
void endCallMemory(CallMemory *call, bool keepBlocks);
/// Blocks that release() frees, as compiled code's are: outputs the
/// runtime copies, KV-cache snapshots.
void *allocate(size_t bytes);
void release(void *p);

/// Calls `m`'s code through its backend (with its weights, for artifacts).
int invokeModel(const qc_model &m, const qc_tensor *inputs,
                qc_tensor *outputs, char *error, size_t errorSize);
} // namespace quantc::runtime

#endif // QUANTC_RUNTIME_MODELIMPL_H
