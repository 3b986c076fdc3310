//===- MgpuWrappers.cpp - The host ABI of MLIR's GPU lowering -------------===//
//
// Host code from bregman-gpu-pipeline (gpu-to-llvm, LLVM 22) calls these
// mgpu* functions to load kernel modules and launch them. Debian ships no
// libmlir_cuda_runtime.so, so the runtime provides them, on top of the
// dlopen'ed driver: the primary context of device 0 is retained once and
// made current around each call. A failure is recorded (see
// bregman_cuda_take_error) and printed; the ABI itself has no error channel.
// Addresses are intptr_t where MLIR's index type is used.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"

#include <cstdio>
#include <mutex>
#include <string>

using namespace bregman::runtime::cuda;

namespace {

std::mutex errorMutex;
std::string firstError;

void record(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (firstError.empty())
    firstError = message;
  std::fprintf(stderr, "bregman: %s\n", message.c_str());
}

bool check(const char *call, CUresult result) {
  if (result == CUDA_SUCCESS)
    return true;
  record(describe(call, result));
  return false;
}

/// Makes device 0's primary context current for the scope.
class ScopedContext {
public:
  ScopedContext() {
    std::string reason;
    d = driver(&reason);
    if (!d) {
      record(reason);
      return;
    }
    static CUcontext context = [&]() -> CUcontext {
      CUdevice device = 0;
      CUcontext ctx = nullptr;
      if (check("cuDeviceGet", d->cuDeviceGet(&device, 0)))
        check("cuDevicePrimaryCtxRetain",
              d->cuDevicePrimaryCtxRetain(&ctx, device));
      return ctx;
    }();
    // Every call that cannot run says so (not only the first one).
    if (!context) {
      record("no CUDA context (device 0 could not be initialised)");
      return;
    }
    ok = check("cuCtxPushCurrent", d->cuCtxPushCurrent_v2(context));
  }
  ~ScopedContext() {
    if (ok) {
      CUcontext popped = nullptr;
      check("cuCtxPopCurrent", d->cuCtxPopCurrent_v2(&popped));
    }
  }
  const Driver *d = nullptr;
  bool ok = false;
};

} // namespace

extern "C" {

/// The first CUDA failure since the last call, or an empty string (the
/// returned pointer stays valid until the next call).
const char *bregman_cuda_take_error() {
  static thread_local std::string taken;
  std::lock_guard<std::mutex> lock(errorMutex);
  taken = firstError;
  firstError.clear();
  return taken.c_str();
}

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  ScopedContext s;
  CUmodule module = nullptr;
  if (s.ok)
    check("cuModuleLoadData", s.d->cuModuleLoadData(&module, data));
  return module;
}

// PTX text (format=isa): the driver JIT-compiles it for the device.
void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  ScopedContext s;
  if (s.ok && module)
    check("cuModuleUnload", s.d->cuModuleUnload(static_cast<CUmodule>(module)));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  ScopedContext s;
  CUfunction function = nullptr;
  if (s.ok && module)
    check("cuModuleGetFunction",
          s.d->cuModuleGetFunction(&function, static_cast<CUmodule>(module),
                                   name));
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  ScopedContext s;
  if (!s.ok)
    return;
  if (!function) {
    record("kernel launch skipped: its module or function failed to load");
    return;
  }
  check("cuLaunchKernel",
        s.d->cuLaunchKernel(static_cast<CUfunction>(function), gridX, gridY,
                            gridZ, blockX, blockY, blockZ, smem,
                            static_cast<CUstream>(stream), params, extra));
}

void *mgpuStreamCreate() {
  ScopedContext s;
  CUstream stream = nullptr;
  if (s.ok)
    check("cuStreamCreate", s.d->cuStreamCreate(&stream, /*flags=*/0));
  return stream;
}

void mgpuStreamSynchronize(void *stream) {
  ScopedContext s;
  if (s.ok)
    check("cuStreamSynchronize",
          s.d->cuStreamSynchronize(static_cast<CUstream>(stream)));
}

void mgpuStreamDestroy(void *stream) {
  ScopedContext s;
  if (s.ok)
    check("cuStreamDestroy",
          s.d->cuStreamDestroy_v2(static_cast<CUstream>(stream)));
}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool isHostShared) {
  ScopedContext s;
  CUdeviceptr ptr = 0;
  if (isHostShared) { // host-shared (managed) memory is not used by bregman
    record("gpu.alloc host_shared is not supported by the bregman runtime");
    return nullptr;
  }
  if (s.ok && bytes)
    check("cuMemAlloc", s.d->cuMemAlloc_v2(&ptr, bytes));
  return reinterpret_cast<void *>(ptr);
}

void mgpuMemFree(void *ptr, void * /*stream*/) {
  ScopedContext s;
  if (s.ok && ptr)
    check("cuMemFree", s.d->cuMemFree_v2(reinterpret_cast<CUdeviceptr>(ptr)));
}

// Synchronous copy: correct with the blocking streams mgpuStreamCreate makes.
void mgpuMemcpy(void *dst, void *src, size_t bytes, void * /*stream*/) {
  ScopedContext s;
  if (s.ok)
    check("cuMemcpy", s.d->cuMemcpy(reinterpret_cast<CUdeviceptr>(dst),
                                    reinterpret_cast<CUdeviceptr>(src), bytes));
}

} // extern "C"

const bregman::runtime::LibrarySymbol *bregman::runtime::gpuLibrarySymbols() {
#define BREGMAN_MGPU(name) {#name, reinterpret_cast<void *>(&name)}
  static const LibrarySymbol symbols[] = {
      BREGMAN_MGPU(mgpuModuleLoad),        BREGMAN_MGPU(mgpuModuleLoadJIT),
      BREGMAN_MGPU(mgpuModuleUnload),      BREGMAN_MGPU(mgpuModuleGetFunction),
      BREGMAN_MGPU(mgpuLaunchKernel),      BREGMAN_MGPU(mgpuStreamCreate),
      BREGMAN_MGPU(mgpuStreamSynchronize), BREGMAN_MGPU(mgpuStreamDestroy),
      BREGMAN_MGPU(mgpuMemAlloc),          BREGMAN_MGPU(mgpuMemFree),
      BREGMAN_MGPU(mgpuMemcpy),            {nullptr, nullptr}};
#undef BREGMAN_MGPU
  return symbols;
}
