//===- CudaBackend.cpp - running models compiled for NVIDIA GPUs ----------===//
//
// The target `{"kind": "cuda", "gpu": "sm_90", "host": {triple, cpu,
// features}}`: the model's host code in a library (`host_library`, loaded as
// the CPU backend loads its code) and every kernel in one PTX module
// (`ptx`). The CUDA driver is loaded with dlopen("libcuda.so.1") the first
// time a CUDA artifact is loaded, so the runtime builds and runs without
// CUDA; a machine without a driver or a GPU gets an error naming what is
// missing.
//
// A call copies the inputs to the device, runs the host code (whose
// allocations, made through quantc_model_alloc, are stream-ordered device
// allocations and whose launches come here through quantc_cuda_launch, all
// on the model's stream), waits for the stream once, reports the first
// failed device-side check, and copies the outputs back.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "ModelImpl.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <cctype>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

// The driver API, declared here from its documentation (no CUDA headers
// at build time).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76;
constexpr int kJitErrorLogBuffer = 5, kJitErrorLogBufferSize = 6;
constexpr unsigned kStreamNonBlocking = 1;

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*memHostAlloc)(void **, size_t, unsigned);
  CUresult (*memFreeHost)(void *);
  CUresult (*memGetInfo)(size_t *, size_t *);
  CUresult (*getErrorName)(CUresult, const char **);
};

/// "CUDA_ERROR_OUT_OF_MEMORY" for a result (a static string).
const char *errorName(const Driver &d, CUresult r) {
  const char *name = nullptr;
  if (d.getErrorName && d.getErrorName(r, &name) == CUDA_SUCCESS && name)
    return name;
  return "an unknown CUDA error";
}

/// The driver, loaded once; null with `why` when this machine has none.
const Driver *driver(std::string &why) {
  static std::string failure;
  static const Driver *loaded = [&]() -> const Driver * {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure =
          std::string("no CUDA driver on this machine (") + dlerror() + ")";
      return nullptr;
    }
    static Driver d;
    bool complete = true;
    auto get = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
      if (!fn && complete) {
        complete = false;
        failure = std::string("the CUDA driver lacks ") + name +
                  " (a driver for CUDA 11.2 or newer is needed)";
      }
    };
    get(d.init, "cuInit");
    get(d.deviceGetCount, "cuDeviceGetCount");
    get(d.deviceGet, "cuDeviceGet");
    get(d.deviceGetAttribute, "cuDeviceGetAttribute");
    get(d.deviceGetName, "cuDeviceGetName");
    get(d.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    get(d.primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    get(d.ctxSetCurrent, "cuCtxSetCurrent");
    get(d.moduleLoadDataEx, "cuModuleLoadDataEx");
    get(d.moduleUnload, "cuModuleUnload");
    get(d.moduleGetFunction, "cuModuleGetFunction");
    get(d.launchKernel, "cuLaunchKernel");
    get(d.streamCreate, "cuStreamCreate");
    get(d.streamDestroy, "cuStreamDestroy_v2");
    get(d.streamSynchronize, "cuStreamSynchronize");
    get(d.memAlloc, "cuMemAlloc_v2");
    get(d.memFree, "cuMemFree_v2");
    get(d.memAllocAsync, "cuMemAllocAsync");
    get(d.memFreeAsync, "cuMemFreeAsync");
    get(d.memcpy, "cuMemcpy");
    get(d.memcpyHtoD, "cuMemcpyHtoD_v2");
    get(d.memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    get(d.memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    get(d.memHostAlloc, "cuMemHostAlloc");
    get(d.memFreeHost, "cuMemFreeHost");
    get(d.memGetInfo, "cuMemGetInfo_v2");
    get(d.getErrorName, "cuGetErrorName");
    if (!complete)
      return nullptr;
    if (CUresult r = d.init(0); r != CUDA_SUCCESS) {
      failure = std::string("no CUDA device: cuInit failed (") +
                errorName(d, r) + ")";
      return nullptr;
    }
    int count = 0;
    if (d.deviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
      failure = "no CUDA device on this machine";
      return nullptr;
    }
    return &d;
  }();
  if (!loaded)
    why = failure;
  return loaded;
}

/// Device-side checks a call can defer (quantc_check_device) before it
/// must wait for the stream to read them.
constexpr size_t kCheckSlots = 4096;

/// What a loaded CUDA model holds.
struct CudaModel {
  const Driver *d = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  std::vector<CUfunction> kernels;
  std::vector<std::string> kernelNames;
  CUdeviceptr weights = 0;
  unsigned char *checkFlags = nullptr; // pinned, kCheckSlots bytes
  std::mutex calls;                    // one call at a time per model

  ~CudaModel() {
    if (!d)
      return;
    d->ctxSetCurrent(context);
    if (stream)
      d->streamSynchronize(stream);
    if (weights)
      d->memFree(weights);
    if (checkFlags)
      d->memFreeHost(checkFlags);
    if (stream)
      d->streamDestroy(stream);
    if (module)
      d->moduleUnload(module);
    if (context)
      d->primaryCtxRelease(device);
  }
};

/// The call running on this thread.
struct CudaCall {
  CudaModel *model;
  std::set<CUdeviceptr> blocks;       // device allocations still held
  std::vector<const char *> messages; // of the deferred checks, by slot
  char failure[512];                  // a message for quantc_check_failed
};
thread_local CudaCall *currentCall = nullptr;

/// Stops the running call with a printf-style message (never returns: it
/// jumps back to the call's start, so callers hold no C++ objects).
[[noreturn]] __attribute__((format(printf, 2, 3))) void
stopCall(CudaCall &call, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(call.failure, sizeof call.failure, format, args);
  va_end(args);
  quantc_check_failed(call.failure);
  std::abort(); // quantc_check_failed does not return
}

void *deviceAlloc(size_t bytes) {
  CudaCall &call = *currentCall;
  const Driver &d = *call.model->d;
  CUdeviceptr p = 0;
  // Zero-size buffers still get a distinct address.
  if (CUresult r = d.memAllocAsync(&p, bytes ? bytes : 1, call.model->stream);
      r != CUDA_SUCCESS) {
    size_t free = 0, total = 0;
    d.memGetInfo(&free, &total);
    stopCall(call,
             "out of device memory: cuMemAllocAsync of %zu bytes failed (%s; "
             "%zu bytes free)",
             bytes, errorName(d, r), free);
  }
  call.blocks.insert(p);
  return reinterpret_cast<void *>(p);
}

void deviceRelease(void *p) {
  CudaCall &call = *currentCall;
  auto ptr = reinterpret_cast<CUdeviceptr>(p);
  if (!p || !call.blocks.erase(ptr))
    return;
  call.model->d->memFreeAsync(ptr, call.model->stream);
}

const quantc::runtime::DeviceMemory kDeviceMemory = {deviceAlloc,
                                                     deviceRelease};

/// "sm_90" -> 90; -1 if malformed.
int smNumber(const std::string &chip) {
  if (chip.size() != 5 || chip.compare(0, 3, "sm_") != 0 ||
      !std::isdigit(static_cast<unsigned char>(chip[3])) ||
      !std::isdigit(static_cast<unsigned char>(chip[4])))
    return -1;
  return std::stoi(chip.substr(3));
}

bool loadCuda(qc_model &model, const json &target,
              const std::vector<quantc::runtime::CodeFile> &code,
              const json &manifest, const quantc::runtime::Folder &folder,
              std::string &why) {
  const std::string where = folder.dir + "/manifest.json: target";
  for (const auto &item : target.items())
    if (item.key() != "kind" && item.key() != "gpu" && item.key() != "host") {
      why = where + ": unknown field '" + item.key() + "' for the cuda target";
      return false;
    }
  auto gpu = target.find("gpu"), host = target.find("host");
  if (gpu == target.end() || !gpu->is_string() || host == target.end() ||
      !host->is_object()) {
    why = where + ": a cuda target needs 'gpu' (a string such as \"sm_90\") "
                  "and 'host' (an object)";
    return false;
  }
  for (const auto &item : host->items())
    if (item.key() != "triple" && item.key() != "cpu" &&
        item.key() != "features") {
      why = where + ".host: unknown field '" + item.key() + "'";
      return false;
    }
  int sm = smNumber(gpu->get<std::string>());
  if (sm < 0) {
    why = where + ": gpu must be sm_XY, not " + gpu->dump();
    return false;
  }
  const quantc::runtime::CodeFile *library = nullptr, *ptx = nullptr;
  for (const auto &f : code) {
    bool known = f.kind == "host_library" || f.kind == "ptx";
    auto &slot = f.kind == "ptx" ? ptx : library;
    if (!known || slot) {
      why = folder.dir + "/manifest.json: code: a cuda target has one "
                         "'host_library' and one 'ptx', nothing else";
      return false;
    }
    slot = &f;
  }
  if (!library || !ptx) {
    why = folder.dir + "/manifest.json: code: a cuda target has one "
                       "'host_library' and one 'ptx'";
    return false;
  }
  if (!quantc::runtime::checkHostTarget(*host, where + ".host", folder, why))
    return false;

  // The files before the device: a bad artifact is reported as such on
  // any machine.
  void *ptxText = nullptr;
  if (!quantc::runtime::mapVerified(folder, ptx->name, ptx->bytes,
                                    ptx->checksum, ptxText, why))
    return false;
  std::string ptxCopy(static_cast<const char *>(ptxText),
                      static_cast<size_t>(ptx->bytes));
  if (ptxText)
    munmap(ptxText, size_t(ptx->bytes));
  if (!quantc::runtime::loadHostLibrary(model, *library, manifest, folder, why))
    return false;
  auto *names =
      static_cast<const char *>(dlsym(model.library, "quantc_cuda_kernels"));

  const Driver *d = driver(why);
  if (!d) {
    why = folder.dir + " needs a CUDA GPU: " + why;
    return false;
  }
  auto cuda = std::make_unique<CudaModel>();
  cuda->d = d;
  auto failed = [&](const char *what, CUresult r) {
    why = folder.dir + ": " + what + " failed (" + errorName(*d, r) + ")";
    return false;
  };
  if (CUresult r = d->deviceGet(&cuda->device, 0); r != CUDA_SUCCESS)
    return failed("cuDeviceGet(0)", r);
  int major = 0, minor = 0;
  d->deviceGetAttribute(&major, kComputeCapabilityMajor, cuda->device);
  d->deviceGetAttribute(&minor, kComputeCapabilityMinor, cuda->device);
  if (major * 10 + minor < sm) {
    char name[256] = "?";
    d->deviceGetName(name, sizeof name, cuda->device);
    why = folder.dir + " was compiled for " + gpu->get<std::string>() +
          "; CUDA device 0 (" + name + ") is sm_" + std::to_string(major) +
          std::to_string(minor);
    return false;
  }
  if (CUresult r = d->primaryCtxRetain(&cuda->context, cuda->device);
      r != CUDA_SUCCESS)
    return failed("cuDevicePrimaryCtxRetain", r);
  d->ctxSetCurrent(cuda->context);

  // The kernels: PTX compiled by the driver for this GPU.
  std::vector<char> log(8192, 0);
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {log.data(), reinterpret_cast<void *>(log.size())};
  if (CUresult r = d->moduleLoadDataEx(&cuda->module, ptxCopy.c_str(), 2,
                                       options, values);
      r != CUDA_SUCCESS) {
    why = folder.dir + "/" + ptx->name + ": the CUDA driver cannot load it (" +
          errorName(*d, r) + ")" +
          (log[0] ? std::string(": ") + log.data() : "");
    return false;
  }
  for (const char *n = names; n && *n; n += std::strlen(n) + 1) {
    CUfunction fn = nullptr;
    if (d->moduleGetFunction(&fn, cuda->module, n) != CUDA_SUCCESS) {
      why = folder.dir + "/" + ptx->name + " lacks the kernel '" + n +
            "' the host code launches";
      return false;
    }
    cuda->kernels.push_back(fn);
    cuda->kernelNames.push_back(n);
  }
  if (CUresult r = d->streamCreate(&cuda->stream, kStreamNonBlocking);
      r != CUDA_SUCCESS)
    return failed("cuStreamCreate", r);
  if (CUresult r = d->memHostAlloc(reinterpret_cast<void **>(&cuda->checkFlags),
                                   kCheckSlots, 0);
      r != CUDA_SUCCESS)
    return failed("cuMemHostAlloc", r);

  // The weights, once, in device memory.
  size_t bytes = static_cast<size_t>(std::max<int64_t>(model.weightsBytes, 1));
  if (CUresult r = d->memAlloc(&cuda->weights, bytes); r != CUDA_SUCCESS) {
    why = folder.dir +
          ": out of device memory for the weights (cuMemAlloc of " +
          std::to_string(bytes) + " bytes: " + errorName(*d, r) + ")";
    return false;
  }
  if (model.weightsBytes > 0)
    if (CUresult r = d->memcpyHtoD(cuda->weights, model.weights,
                                   size_t(model.weightsBytes));
        r != CUDA_SUCCESS)
      return failed("copying the weights to the device (cuMemcpyHtoD)", r);
  model.device = cuda.release();
  model.freeDevice = [](void *p) { delete static_cast<CudaModel *>(p); };
  return true;
}

int invokeCuda(const qc_model &m, const qc_tensor *inputs, qc_tensor *outputs,
               char *error, size_t errorSize) {
  using quantc::runtime::fail;
  auto &cuda = *static_cast<CudaModel *>(m.device);
  const Driver &d = *cuda.d;
  if (quantc::runtime::checkInputs(m.inputs.data(), m.inputs.size(), inputs,
                                   error, errorSize))
    return -1;
  std::lock_guard<std::mutex> one(cuda.calls);
  d.ctxSetCurrent(cuda.context);

  CudaCall call{&cuda, {}, {}, {}};
  currentCall = &call;
  quantc::runtime::setDeviceMemory(&kDeviceMemory);
  // Frees what the call still holds and leaves the device call state.
  auto finish = [&] {
    for (CUdeviceptr p : call.blocks)
      d.memFreeAsync(p, cuda.stream);
    d.streamSynchronize(cuda.stream);
    quantc::runtime::setDeviceMemory(nullptr);
    currentCall = nullptr;
  };

  // Host inputs to the device (copies: the caller's memory stays
  // untouched; the stream orders them before the kernels). Device inputs (a
  // session's KV caches) and the caches' length, which the host code reads,
  // are passed as they are.
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const qc_tensor &t = inputs[i];
    if (m.inputs[i].memory == QC_MEMORY_DEVICE ||
        m.inputs[i].role == QC_ROLE_KV_LENGTH) {
      descriptors.push_back(
          quantc::runtime::descriptor(t.data, t.rank, t.shape));
      continue;
    }
    size_t bytes = size_t(qc_tensor_num_elements(&t)) * qc_dtype_size(t.dtype);
    CUdeviceptr p = 0;
    if (CUresult r = d.memAllocAsync(&p, bytes ? bytes : 1, cuda.stream);
        r != CUDA_SUCCESS) {
      finish();
      return fail(error, errorSize,
                  "out of device memory for input '%s' (%zu bytes: %s)",
                  m.inputs[i].name, bytes, errorName(d, r));
    }
    call.blocks.insert(p);
    if (bytes)
      if (CUresult r = d.memcpyHtoDAsync(p, t.data, bytes, cuda.stream);
          r != CUDA_SUCCESS) {
        finish();
        return fail(error, errorSize, "copying input '%s' to the device: %s",
                    m.inputs[i].name, errorName(d, r));
      }
    descriptors.push_back(quantc::runtime::descriptor(
        reinterpret_cast<void *>(p), t.rank, t.shape));
  }
  int64_t weightsSize[1] = {m.weightsBytes};
  descriptors.push_back(quantc::runtime::descriptor(
      reinterpret_cast<void *>(cuda.weights), 1, weightsSize));
  std::vector<int64_t> results(
      quantc::runtime::resultWords(m.outputs.data(), m.outputs.size()), 0);
  std::vector<void *> pointers; // the results' struct first, if any
  if (!m.outputs.empty())
    pointers.push_back(results.data());
  for (auto &desc : descriptors)
    pointers.push_back(desc.data());

  if (quantc::runtime::callChecked(m.entry, pointers.data(), error,
                                   errorSize)) {
    finish();
    return -1;
  }
  // Outputs back to the host: each result's span of its buffer, then dense.
  std::vector<std::vector<char>> spans(m.outputs.size());
  size_t at = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    int32_t rank = m.outputs[i].rank;
    const int64_t *shape = &results[at + 3], *strides = &results[at + 3 + rank];
    size_t bytes = qc_dtype_size(m.outputs[i].dtype);
    int64_t last = 0, n = 1;
    for (int32_t k = 0; k < rank; ++k) {
      last += (shape[k] - 1) * strides[k];
      n *= shape[k];
    }
    if (n > 0) {
      spans[i].resize(size_t(last + 1) * bytes);
      CUdeviceptr from = CUdeviceptr(results[at + 1]) + results[at + 2] * bytes;
      if (CUresult r = d.memcpyDtoHAsync(spans[i].data(), from, spans[i].size(),
                                         cuda.stream);
          r != CUDA_SUCCESS) {
        finish();
        return fail(error, errorSize, "copying output '%s' back: %s",
                    m.outputs[i].name, errorName(d, r));
      }
    }
    at += 3 + 2 * rank;
  }
  CUresult done = d.streamSynchronize(cuda.stream);
  std::vector<const char *> messages = call.messages;
  finish();
  if (done != CUDA_SUCCESS)
    return fail(error, errorSize, "running the model on the GPU failed (%s)",
                errorName(d, done));
  for (size_t slot = 0; slot < messages.size(); ++slot)
    if (!cuda.checkFlags[slot])
      return fail(error, errorSize, "the model cannot run on these inputs: %s",
                  messages[slot]);

  at = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    int32_t rank = m.outputs[i].rank;
    qc_tensor &t = outputs[i];
    t.dtype = m.outputs[i].dtype;
    t.rank = rank;
    t.memory = QC_MEMORY_HOST;
    std::memcpy(t.shape, &results[at + 3], rank * sizeof(int64_t));
    size_t bytes = qc_dtype_size(t.dtype);
    auto *copy = static_cast<char *>(quantc::runtime::allocate(
        size_t(qc_tensor_num_elements(&t)) * bytes + 1));
    if (!copy)
      return fail(error, errorSize, "out of host memory for output '%s'",
                  m.outputs[i].name);
    if (!spans[i].empty())
      quantc::runtime::copyDense(spans[i].data(), 0, rank, t.shape,
                                 &results[at + 3 + rank], bytes, copy);
    t.data = copy;
    t.owner = copy;
    at += 3 + 2 * rank;
  }
  return 0;
}

void *bufferAlloc(const qc_model &m, size_t bytes) {
  auto &cuda = *static_cast<CudaModel *>(m.device);
  cuda.d->ctxSetCurrent(cuda.context);
  CUdeviceptr p = 0;
  return cuda.d->memAlloc(&p, bytes) == CUDA_SUCCESS
             ? reinterpret_cast<void *>(p)
             : nullptr;
}

void bufferRelease(const qc_model &m, void *p) {
  auto &cuda = *static_cast<CudaModel *>(m.device);
  cuda.d->ctxSetCurrent(cuda.context);
  cuda.d->memFree(reinterpret_cast<CUdeviceptr>(p));
}

bool bufferCopy(const qc_model &m, void *to, const void *from, size_t bytes) {
  auto &cuda = *static_cast<CudaModel *>(m.device);
  cuda.d->ctxSetCurrent(cuda.context);
  // Unified addressing tells host from device pointers.
  return cuda.d->memcpy(reinterpret_cast<CUdeviceptr>(to),
                        reinterpret_cast<CUdeviceptr>(from),
                        bytes) == CUDA_SUCCESS;
}

const quantc::runtime::DeviceBuffers kBuffers = {bufferAlloc, bufferRelease,
                                                 bufferCopy};

} // namespace

extern "C" {

/// Called by compiled host code for each kernel launch (see the pass
/// quantc-cuda-lower-launches).
void quantc_cuda_launch(int64_t kernel, int64_t gx, int64_t gy, int64_t gz,
                        int64_t bx, int64_t by, int64_t bz, int32_t shared,
                        void **params) {
  CudaCall *call = currentCall;
  if (!call) {
    std::fprintf(stderr, "quantc: a CUDA kernel launched outside a model "
                         "call\n");
    std::abort();
  }
  CudaModel &cuda = *call->model;
  if (kernel < 0 || size_t(kernel) >= cuda.kernels.size())
    stopCall(*call, "launch of kernel %lld, which the model does not have",
             (long long)kernel);
  if (gx == 0 || gy == 0 || gz == 0)
    return; // nothing to do (an empty tensor)
  const char *name = cuda.kernelNames[kernel].c_str();
  if (gx < 0 || gy < 0 || gz < 0 || gx > INT32_MAX || gy > 65535 || gz > 65535)
    stopCall(*call,
             "kernel '%s': a grid of %lld x %lld x %lld blocks is beyond "
             "the GPU's",
             name, (long long)gx, (long long)gy, (long long)gz);
  if (CUresult r = cuda.d->launchKernel(
          cuda.kernels[kernel], unsigned(gx), unsigned(gy), unsigned(gz),
          unsigned(bx), unsigned(by), unsigned(bz), unsigned(shared),
          cuda.stream, params, nullptr);
      r != CUDA_SUCCESS)
    stopCall(*call,
             "cuLaunchKernel of '%s' (%lld blocks of %lld threads) failed: %s",
             name, (long long)(gx * gy * gz), (long long)(bx * by * bz),
             errorName(*cuda.d, r));
}

/// Called by compiled host code for a run-time check the device computed
/// (see quantc-map-to-gpu): the flag comes back with the call's other work
/// and a false one is reported when the call ends.
void quantc_check_device(const void *flag, const char *message) {
  CudaCall *call = currentCall;
  if (!call) {
    std::fprintf(stderr, "quantc: a device check outside a model call\n");
    std::abort();
  }
  CudaModel &cuda = *call->model;
  size_t slot = call->messages.size();
  if (slot == kCheckSlots) {
    // All slots in flight: read them now, then start over.
    cuda.d->streamSynchronize(cuda.stream);
    for (size_t i = 0; i < slot; ++i)
      if (!cuda.checkFlags[i])
        stopCall(*call, "%s", call->messages[i]);
    call->messages.clear();
    slot = 0;
  }
  call->messages.push_back(message);
  if (CUresult r = cuda.d->memcpyDtoHAsync(cuda.checkFlags + slot,
                                           reinterpret_cast<CUdeviceptr>(flag),
                                           1, cuda.stream);
      r != CUDA_SUCCESS)
    stopCall(*call, "reading a check's flag (%s) failed: %s", message,
             errorName(*cuda.d, r));
}

} // extern "C"

const quantc::runtime::Backend quantc::runtime::kCudaBackend = {
    "cuda", /*hasDeviceMemory=*/true, loadCuda, invokeCuda, &kBuffers};
