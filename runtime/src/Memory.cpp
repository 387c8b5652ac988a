//===- Memory.cpp - the memory compiled models and their outputs use -----===//
//
// Compiled code allocates through quantc_model_alloc/quantc_model_free
// (MLIR's generic allocation functions, renamed by quantc-emit-entry), so
// the runtime knows every buffer a model call holds. A call a run-time check
// stops mid-way (a longjmp out of the model) frees what the model had
// allocated so far instead of leaking it; a call that returns hands its
// surviving buffers (its outputs) to the caller.
//
//===----------------------------------------------------------------------===//

#include "ModelImpl.h"

#include <cstdlib>
#include <mutex>

namespace {

/// Precedes every block; 32 bytes keep malloc's 16-byte alignment.
struct alignas(16) Header {
  quantc::runtime::CallMemory *call; // null: not tracked (or handed over)
  Header *prev, *next;
};

thread_local quantc::runtime::CallMemory *current = nullptr;
thread_local const quantc::runtime::DeviceMemory *deviceMemory = nullptr;

Header *headerOf(void *p) { return static_cast<Header *>(p) - 1; }

} // namespace

namespace quantc::runtime {

/// The blocks a call holds, in a circular list around `head`. Other threads
/// (the model's OpenMP workers) may free blocks of the call: hence the lock.
struct CallMemory {
  std::mutex lock;
  Header head{nullptr, &head, &head};
  CallMemory *outer = current; // the call this one runs inside, if any
};

CallMemory *beginCallMemory() {
  auto *call = new CallMemory();
  current = call;
  return call;
}

void endCallMemory(CallMemory *call, bool keepBlocks) {
  current = call->outer;
  for (Header *h = call->head.next; h != &call->head;) {
    Header *next = h->next;
    h->call = nullptr;
    if (!keepBlocks)
      std::free(h);
    h = next;
  }
  delete call;
}

void *allocate(size_t bytes) {
  auto *h = static_cast<Header *>(std::malloc(sizeof(Header) + bytes));
  if (!h)
    return nullptr;
  h->call = nullptr;
  h->prev = h->next = h;
  return h + 1;
}

void setDeviceMemory(const DeviceMemory *memory) { deviceMemory = memory; }

void release(void *p) {
  if (!p)
    return;
  Header *h = headerOf(p);
  if (CallMemory *call = h->call) {
    std::lock_guard<std::mutex> guard(call->lock);
    h->prev->next = h->next;
    h->next->prev = h->prev;
  }
  std::free(h);
}

} // namespace quantc::runtime

extern "C" {

void *quantc_model_alloc(size_t bytes) {
  if (deviceMemory)
    return deviceMemory->alloc(bytes);
  void *p = quantc::runtime::allocate(bytes);
  quantc::runtime::CallMemory *call = current;
  if (!p) {
    // On the calling thread the call can end with an error; an OpenMP
    // worker cannot leave the model, and null would be written through.
    if (call)
      quantc_check_failed("out of memory");
    std::fprintf(stderr, "quantc: out of memory (%zu bytes)\n", bytes);
    std::abort();
  }
  if (call) {
    Header *h = headerOf(p);
    std::lock_guard<std::mutex> guard(call->lock);
    h->call = call;
    h->next = call->head.next;
    h->prev = &call->head;
    h->next->prev = h;
    call->head.next = h;
  }
  return p;
}

void quantc_model_free(void *p) {
  if (deviceMemory)
    deviceMemory->release(p);
  else
    quantc::runtime::release(p);
}

} // extern "C"
