//===- MgpuWrappers.cpp - The host ABI of MLIR's GPU lowering -------------===//
//
// Host code from bregman-gpu-pipeline (gpu-to-llvm, LLVM 22) calls these
// mgpu* functions to load kernel modules, allocate, copy and launch. Debian
// ships no libmlir_cuda_runtime.so, so the runtime provides them, on top of
// the dlopen'ed driver (CudaContext.h: primary context of device 0, one
// stream, a block cache). A failure is recorded (bregman_cuda_take_error,
// DeviceMemory::synchronize) and printed; the ABI has no error channel.
//
// Waiting: gpu-async-region puts a call's work on one stream and waits for
// it where the host code would touch results; the host code of our programs
// never touches device memory (breg-gpu-finalize-host checks it), so those
// waits on the runtime's stream are no-ops, and the runtime waits where the
// *caller* reads results (DeviceMemory::copyToHost / synchronize). Kernels,
// copies and cuBLAS calls of successive steps thus queue up back to back.
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "bregman/runtime/CpuLibrary.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

using namespace bregman::runtime::cuda;

namespace {
/// Kernels looked up so far, by module and (constant) name, with their
/// names for messages. `generation` changes whenever a module is unloaded,
/// which empties every thread's own copy (see lookupOnThisThread).
struct FunctionCache {
  std::mutex mutex;
  std::map<std::pair<void *, const char *>, CUfunction> functions;
  std::unordered_map<CUfunction, std::string> names;
  std::atomic<uint64_t> generation{0};
};
FunctionCache &functionCache() {
  static FunctionCache *cache = new FunctionCache; // outlives unload at exit
  return *cache;
}
/// A module's kernels leave the cache with it (its address may be reused).
void forgetFunctionsOf(void *module) {
  FunctionCache &cache = functionCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  for (auto it = cache.functions.begin(); it != cache.functions.end();) {
    if (it->first.first == module) {
      cache.names.erase(it->second);
      it = cache.functions.erase(it);
    } else {
      it = std::next(it);
    }
  }
  cache.generation.fetch_add(1, std::memory_order_release);
}

/// Each thread's copy of the lookups it made, direct-mapped by the (module,
/// name) addresses: the per-launch lookup takes no lock and no hashing
/// beyond a shift (a step launches ~50 kernels, each looked up first). A
/// collision only costs a lookup in the shared cache.
struct ThreadFunctions {
  static constexpr size_t kSlots = 512;
  struct Slot {
    const void *module = nullptr;
    const char *name = nullptr;
    CUfunction function = nullptr;
  };
  uint64_t generation = ~uint64_t(0);
  Slot slots[kSlots];
};
ThreadFunctions::Slot &lookupOnThisThread(void *module, const char *name) {
  static thread_local ThreadFunctions mine;
  uint64_t now = functionCache().generation.load(std::memory_order_acquire);
  if (mine.generation != now) {
    std::fill(std::begin(mine.slots), std::end(mine.slots),
              ThreadFunctions::Slot{});
    mine.generation = now;
  }
  auto bits = reinterpret_cast<uintptr_t>(name) ^
              (reinterpret_cast<uintptr_t>(module) >> 4);
  return mine.slots[(bits ^ (bits >> 9)) % ThreadFunctions::kSlots];
}

/// The name of a kernel looked up before (for messages).
std::string functionName(CUfunction function) {
  FunctionCache &cache = functionCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.names.find(function);
  return it == cache.names.end() ? "?" : it->second;
}

/// On a kernel's first launch (per thread), where the driver tells a
/// kernel's parameters (CUDA 12.4+): the host code must pass as many as the
/// kernel declares, or the kernel would read garbage.
bool parameterCountMatches(const Driver *d, CUfunction function,
                           size_t passed) {
  static thread_local std::unordered_set<CUfunction> checked;
  if (!d->cuFuncGetParamInfo || !checked.insert(function).second)
    return true;
  // CUDA_ERROR_INVALID_VALUE past the last parameter; any other failure of
  // the first query: the driver cannot tell (the check is skipped).
  constexpr CUresult kInvalidValue = 1;
  size_t declared = 0, offset = 0, size = 0;
  CUresult result = CUDA_SUCCESS;
  while (declared < 65536 &&
         (result = d->cuFuncGetParamInfo(function, declared, &offset,
                                         &size)) == CUDA_SUCCESS)
    ++declared;
  if (declared == passed || (declared == 0 && result != kInvalidValue))
    return true;
  recordError("kernel launch refused: " + functionName(function) +
              " declares " + std::to_string(declared) +
              " parameters, the host code passes " + std::to_string(passed));
  return false;
}

/// What an image is, for messages: PTX text, an ELF cubin or a fatbin.
std::string describeImage(const void *data) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  if (bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F')
    return "a cubin";
  if (bytes[0] == 0x50 && bytes[1] == 0xed && bytes[2] == 0x55 &&
      bytes[3] == 0xba)
    return "a fatbin";
  const char *text = static_cast<const char *>(data);
  const char *target = std::strstr(text, ".target ");
  if (!target)
    return "PTX";
  return "PTX for " + std::string(target + 8, std::strcspn(target + 8, " \n,"));
}

/// Advice for the load failures a deployment can fix.
const char *loadAdvice(CUresult result) {
  switch (result) {
  case 209: // CUDA_ERROR_NO_BINARY_FOR_GPU
    return "; the image has no code for this GPU: compile for its chip "
           "(--cuda-chip sm_XY, the device's compute capability)";
  case 218: // CUDA_ERROR_INVALID_PTX
    return "; the driver's PTX compiler rejected the kernels (log above)";
  case 221: // CUDA_ERROR_JIT_COMPILER_NOT_FOUND
    return "; the driver's PTX JIT library (libnvidia-ptxjitcompiler.so.1) "
           "is missing: install it with the driver, or ship cubins (compile "
           "where ptxas and fatbinary are installed)";
  case 222: // CUDA_ERROR_UNSUPPORTED_PTX_VERSION
    return "; the PTX ISA version is newer than this driver's: update the "
           "driver or ship cubins";
  default:
    return "";
  }
}

/// cuModuleLoadDataEx with the JIT's error and info logs: a failure is
/// recorded with the image's kind and the log, so that the caller's first
/// call (or the artifact's load) reports why, not only an error code. (Host
/// code loads its modules from global constructors, which cannot report.)
void *loadModuleWithLog(const Driver *d, void *data) {
  if (!data) {
    recordError("loading a kernel module: no image");
    return nullptr;
  }
  constexpr size_t kLogBytes = 16384;
  std::string errorLog(kLogBytes, '\0'), infoLog(kLogBytes, '\0');
  // CU_JIT_ERROR_LOG_BUFFER(_SIZE_BYTES), CU_JIT_INFO_LOG_BUFFER(_SIZE_BYTES)
  int options[] = {5, 6, 3, 4};
  void *values[] = {errorLog.data(), reinterpret_cast<void *>(kLogBytes),
                    infoLog.data(), reinterpret_cast<void *>(kLogBytes)};
  CUmodule module = nullptr;
  CUresult result = d->cuModuleLoadDataEx(&module, data, 4, options, values);
  if (result == CUDA_SUCCESS)
    return module;
  errorLog.resize(std::strlen(errorLog.c_str()));
  infoLog.resize(std::strlen(infoLog.c_str()));
  std::string message = "loading a kernel module (" + describeImage(data) +
                        "): " + describe("cuModuleLoadDataEx", result) +
                        loadAdvice(result);
  if (!errorLog.empty())
    message += "\nJIT error log:\n" + errorLog;
  if (!infoLog.empty())
    message += "\nJIT info log:\n" + infoLog;
  recordError(message);
  return nullptr;
}
} // namespace

extern "C" {

/// The first CUDA failure since the last call, or an empty string (the
/// returned pointer stays valid until the next call).
const char *bregman_cuda_take_error() {
  static thread_local std::string taken;
  taken = takeError();
  return taken.c_str();
}

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  ScopedContext s;
  if (!s.ok)
    return nullptr;
  return loadModuleWithLog(s.d, data);
}

// PTX text (format=isa): the driver JIT-compiles it for the device.
void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  forgetFunctionsOf(module);
  noteModuleUnloaded();
  ScopedContext s;
  if (s.ok && module)
    check("cuModuleUnload", s.d->cuModuleUnload(static_cast<CUmodule>(module)));
}

// Called before every launch: the driver's lookup is done once per kernel
// (the name is a constant of the host code, so its address is the key), and
// later lookups read this thread's copy without a lock.
void *mgpuModuleGetFunction(void *module, const char *name) {
  ThreadFunctions::Slot &mine = lookupOnThisThread(module, name);
  if (mine.module == module && mine.name == name && mine.function)
    return mine.function;
  FunctionCache &cache = functionCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto key = std::make_pair(module, name);
  if (auto it = cache.functions.find(key); it != cache.functions.end()) {
    mine = {module, name, it->second};
    return it->second;
  }
  ScopedContext s;
  CUfunction function = nullptr;
  if (s.ok && module &&
      check("cuModuleGetFunction",
            s.d->cuModuleGetFunction(&function, static_cast<CUmodule>(module),
                                     name))) {
    cache.functions[key] = function;
    cache.names[function] = name;
    mine = {module, name, function};
  }
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount) {
  // After a failure (a module that did not load, an allocation that
  // returned null), nothing more is launched until the caller has taken it.
  if (errorPending())
    return;
  ScopedContext s;
  if (!s.ok)
    return;
  if (!function) {
    recordError("kernel launch skipped: its module or function failed to load");
    return;
  }
  auto *kernel = static_cast<CUfunction>(function);
  if (!parameterCountMatches(s.d, kernel, paramsCount))
    return;
  countKernelLaunch();
  check("cuLaunchKernel",
        s.d->cuLaunchKernel(static_cast<CUfunction>(function), gridX, gridY,
                            gridZ, blockX, blockY, blockZ, smem,
                            static_cast<CUstream>(stream), params, extra));
}

// Every call gets the runtime's stream.
void *mgpuStreamCreate() { return bregman::runtime::cuda::stream(); }

void mgpuStreamSynchronize(void *s) {
  if (s == bregman::runtime::cuda::stream())
    return; // deferred to the caller (see the file comment)
  ScopedContext scope;
  if (scope.ok)
    check("cuStreamSynchronize",
          scope.d->cuStreamSynchronize(static_cast<CUstream>(s)));
}

void mgpuStreamDestroy(void *s) {
  if (s == bregman::runtime::cuda::stream())
    return;
  ScopedContext scope;
  if (scope.ok)
    check("cuStreamDestroy",
          scope.d->cuStreamDestroy_v2(static_cast<CUstream>(s)));
}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool isHostShared) {
  if (isHostShared) { // host-shared (managed) memory is not used by bregman
    recordError("gpu.alloc host_shared is not supported by the bregman runtime");
    return nullptr;
  }
  return reinterpret_cast<void *>(allocateBlock(bytes ? bytes : 1));
}

void mgpuMemFree(void *ptr, void * /*stream*/) {
  releaseBlock(reinterpret_cast<CUdeviceptr>(ptr));
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *s) {
  if (errorPending())
    return;
  ScopedContext scope;
  if (scope.ok)
    check("cuMemcpyAsync",
          scope.d->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                 reinterpret_cast<CUdeviceptr>(src), bytes,
                                 static_cast<CUstream>(s)));
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
      BREGMAN_MGPU(mgpuMemcpy),            BREGMAN_MGPU(bregman_gpu_sgemm),
      BREGMAN_MGPU(bregman_gpu_conv2d_forward),
      BREGMAN_MGPU(bregman_gpu_conv2d_grad_input),
      BREGMAN_MGPU(bregman_gpu_conv2d_grad_filter),
      {nullptr, nullptr}};
#undef BREGMAN_MGPU
  return symbols;
}
