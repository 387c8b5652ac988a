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
  // What the CPU backend loaded (GPU backends use the library for their
  // host code, and keep their own state in `device`).
  void *library = nullptr;
  void *device = nullptr;
  void (*freeDevice)(void *) = nullptr;
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

/// What every backend does to call compiled code (Invoke.cpp): check the
/// inputs against the interface (dtype, rank, sizes and memory); build a memref descriptor {allocated, aligned, offset, sizes,
/// strides} of dense row-major data; size the results' descriptors; and
/// call the entry so that a run-time check failing inside returns here:
/// -1 with "the model cannot run on these inputs: <message>".
int checkInputs(const qc_tensor_info *inInfo, size_t nIn,
                const qc_tensor *inputs, char *error, size_t errorSize);
std::vector<int64_t> descriptor(void *data, int32_t rank, const int64_t *shape);
size_t resultWords(const qc_tensor_info *outInfo, size_t nOut);
int callChecked(qc_entry_fn entry, void **pointers, char *error,
                size_t errorSize);
/// Copies the elements of a strided view (`base` + `offset` elements,
/// `strides` in elements of `bytes`) densely to `out`.
void copyDense(const char *base, int64_t offset, int32_t rank,
               const int64_t *shape, const int64_t *strides, size_t bytes,
               char *out);

/// Where compiled code's allocations go while a GPU backend runs a call on
/// this thread (Memory.cpp; null, the default: host memory).
struct DeviceMemory {
  void *(*alloc)(size_t bytes); // never returns null: stops the call
  void (*release)(void *p);
};
void setDeviceMemory(const DeviceMemory *memory);

/// Calls `m`'s code through its backend (with its weights, for artifacts).
int invokeModel(const qc_model &m, const qc_tensor *inputs,
                qc_tensor *outputs, char *error, size_t errorSize);
} // namespace quantc::runtime

#endif // QUANTC_RUNTIME_MODELIMPL_H
