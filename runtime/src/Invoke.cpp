//===- Invoke.cpp - calling compiled code with memref descriptors ---------===//
//
// Compiled models take and return MLIR memref descriptors
// {allocated, aligned, offset, sizes[rank], strides[rank]} (all 8-byte
// fields) through `quantc_main(void **)`. This is the one place that builds
// them from qc_tensors and turns the returned ones back.
//
//===----------------------------------------------------------------------===//

#include "ModelImpl.h"

#include <csetjmp>
#include <cstdarg>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using quantc::runtime::fail;

namespace {

/// Compiled models allocate their activations with malloc on every run.
/// glibc would hand large blocks back to the OS on free and fault them in
/// again next run (a fifth of a prefill's time); keeping them in the heap
/// lets the next run reuse them. Done once, before the first call.
void keepLargeAllocations() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
#endif
}

} // namespace

std::vector<int64_t> quantc::runtime::descriptor(void *data, int32_t rank,
                                                 const int64_t *shape) {
  std::vector<int64_t> d;
  auto ptr = reinterpret_cast<int64_t>(data);
  d.push_back(ptr);
  d.push_back(ptr);
  d.push_back(0);
  d.insert(d.end(), shape, shape + rank);
  std::vector<int64_t> strides(rank);
  int64_t stride = 1;
  for (int32_t i = rank; i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  d.insert(d.end(), strides.begin(), strides.end());
  return d;
}

namespace {

/// Where a failed run-time check of the running model returns to (one
/// model call per thread at a time: the checks run on the calling thread,
/// outside the model's parallel loops).
thread_local jmp_buf *checkTarget = nullptr;
thread_local const char *checkMessage = nullptr;

} // namespace

int quantc::runtime::checkInputs(const qc_tensor_info *inInfo, size_t nIn,
                                 const qc_tensor *inputs, char *error,
                                 size_t errorSize) {
  for (size_t i = 0; i < nIn; ++i) {
    const qc_tensor_info &info = inInfo[i];
    const qc_tensor &t = inputs[i];
    if (t.dtype != info.dtype)
      return fail(error, errorSize, "input '%s' must be %s, not %s", info.name,
                  qc_dtype_name(info.dtype), qc_dtype_name(t.dtype));
    if (t.rank != info.rank)
      return fail(error, errorSize, "input '%s' must have rank %d, not %d",
                  info.name, info.rank, t.rank);
    for (int32_t d = 0; d < t.rank; ++d)
      if (t.shape[d] < 0 || (info.shape[d] >= 0 && info.shape[d] != t.shape[d]))
        return fail(error, errorSize,
                    "input '%s' dimension %d must be %lld, not %lld", info.name,
                    d, (long long)info.shape[d], (long long)t.shape[d]);
    if (!t.data && qc_tensor_num_elements(&t) > 0)
      return fail(error, errorSize, "input '%s' has no data", info.name);
    if (t.memory != info.memory)
      return fail(error, errorSize, "input '%s' must be in %s memory",
                  info.name, info.memory == QC_MEMORY_HOST ? "host" : "device");
  }
  return 0;
}

size_t quantc::runtime::resultWords(const qc_tensor_info *outInfo,
                                    size_t nOut) {
  size_t words = 0;
  for (size_t i = 0; i < nOut; ++i)
    words += 3 + 2 * outInfo[i].rank;
  return words;
}

void quantc::runtime::copyDense(const char *base, int64_t offset,
                                 int32_t rank, const int64_t *shape,
                                 const int64_t *strides, size_t bytes,
                                 char *out) {
  int64_t n = 1;
  for (int32_t d = 0; d < rank; ++d)
    n *= shape[d];
  std::vector<int64_t> index(rank, 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t linear = offset;
    for (int32_t d = 0; d < rank; ++d)
      linear += index[d] * strides[d];
    std::memcpy(out + e * bytes, base + linear * bytes, bytes);
    for (int32_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
}

int quantc::runtime::callChecked(qc_entry_fn entry, void **pointers,
                                 char *error, size_t errorSize) {
  jmp_buf target;
  jmp_buf *outer = checkTarget;
  checkTarget = &target;
  if (setjmp(target) != 0) {
    checkTarget = outer;
    return fail(error, errorSize, "the model cannot run on these inputs: %s",
                checkMessage);
  }
  entry(pointers);
  checkTarget = outer;
  return 0;
}

extern "C" {

/// Called by compiled code when a run-time check fails (see the pass
/// quantc-lower-checks): the call ends here, back in qc_invoke, which frees
/// the buffers the model had allocated.
void quantc_check_failed(const char *message) {
  checkMessage = message;
  if (checkTarget)
    longjmp(*checkTarget, 1);
  std::fprintf(stderr, "quantc: %s (outside a model call)\n", message);
  std::abort();
}

size_t qc_dtype_size(qc_dtype t) {
  switch (t) {
  case QC_F64:
  case QC_I64:
    return 8;
  case QC_F32:
  case QC_I32:
    return 4;
  case QC_F16:
  case QC_BF16:
  case QC_I16:
    return 2;
  case QC_I8:
  case QC_BOOL:
    return 1;
  }
  return 1;
}

static const char *const kNames[] = {"f32", "f16", "bf16", "f64", "i64",
                                     "i32", "i16", "i8",   "bool"};

const char *qc_dtype_name(qc_dtype t) {
  return static_cast<unsigned>(t) < 9 ? kNames[t] : "?";
}

int qc_dtype_from_name(const char *name, qc_dtype *dtype) {
  for (int i = 0; i < 9; ++i)
    if (std::strcmp(name, kNames[i]) == 0) {
      *dtype = static_cast<qc_dtype>(i);
      return 0;
    }
  return -1;
}

int64_t qc_tensor_num_elements(const qc_tensor *t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t->rank; ++i)
    n *= t->shape[i];
  return n;
}

void qc_tensor_release(qc_tensor *t) {
  if (t && t->owner) {
    quantc::runtime::release(t->owner);
    t->owner = nullptr;
    t->data = nullptr;
  }
}

int qc_invoke(qc_entry_fn entry, const qc_tensor_info *inInfo, size_t nIn,
              const qc_tensor *inputs, const qc_tensor_info *outInfo,
              size_t nOut, qc_tensor *outputs, const void *weights,
              int64_t weightsBytes, char *error, size_t errorSize) {
  keepLargeAllocations();
  if (quantc::runtime::checkInputs(inInfo, nIn, inputs, error, errorSize))
    return -1;
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < nIn; ++i)
    descriptors.push_back(quantc::runtime::descriptor(
        inputs[i].data, inputs[i].rank, inputs[i].shape));
  if (weights) {
    int64_t size[1] = {weightsBytes};
    descriptors.push_back(
        quantc::runtime::descriptor(const_cast<void *>(weights), 1, size));
  }
  std::vector<int64_t> results(quantc::runtime::resultWords(outInfo, nOut), 0);
  // MLIR's C interface takes the results' struct first, unless there is
  // none (a model whose only outputs are its KV caches, kept in place).
  std::vector<void *> pointers;
  if (nOut > 0)
    pointers.push_back(results.data());
  for (auto &d : descriptors)
    pointers.push_back(d.data());
  quantc::runtime::CallMemory *memory = quantc::runtime::beginCallMemory();
  int status =
      quantc::runtime::callChecked(entry, pointers.data(), error, errorSize);
  quantc::runtime::endCallMemory(memory, /*keepBlocks=*/status == 0);
  if (status)
    return status;

  size_t at = 0;
  for (size_t i = 0; i < nOut; ++i) {
    int32_t rank = outInfo[i].rank;
    qc_tensor &t = outputs[i];
    t.dtype = outInfo[i].dtype;
    t.rank = rank;
    t.memory = QC_MEMORY_HOST;
    auto *allocated = reinterpret_cast<char *>(results[at]);
    auto *aligned = reinterpret_cast<char *>(results[at + 1]);
    int64_t offset = results[at + 2];
    const int64_t *strides = &results[at + 3 + rank];
    std::memcpy(t.shape, &results[at + 3], rank * sizeof(int64_t));
    size_t bytes = qc_dtype_size(t.dtype);
    // Compiled code hands over each result's allocation; take it as it is
    // when dense, else copy it dense.
    bool dense = true;
    int64_t expect = 1;
    for (int32_t d = rank; d-- > 0;) {
      dense &= t.shape[d] == 1 || strides[d] == expect;
      expect *= t.shape[d];
    }
    if (dense) {
      t.data = aligned + offset * bytes;
      t.owner = allocated;
    } else {
      int64_t n = qc_tensor_num_elements(&t);
      char *copy = static_cast<char *>(quantc::runtime::allocate(n * bytes + 1));
      quantc::runtime::copyDense(aligned, offset, rank, t.shape, strides,
                                 bytes, copy);
      quantc::runtime::release(allocated);
      t.data = copy;
      t.owner = copy;
    }
    at += 3 + 2 * rank;
  }
  return 0;
}

} // extern "C"
