//===- MockCudaDriver.cpp - A stand-in libcuda.so.1 for runtime tests -----===//
//
// CI has no GPU, so the runtime's CUDA host logic (driver loading, device
// probe, context, module load, kernel lookup cache, launches, device memory,
// copies, error messages) runs against this library, put first on
// LD_LIBRARY_PATH by the tests in tests/mock-cuda. "Device" memory is host
// memory; kernels are accepted and not run (their results are whatever the
// buffers held). BREGMAN_MOCK_CUDA_FAIL=<entry point> makes that entry
// point fail with CUDA_ERROR_LAUNCH_FAILED, to check the messages
// (cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX with a JIT error log).
// Stricter than a permissive stand-in where it is cheap: modules are PTX
// (for a chip no newer than the device's, BREGMAN_MOCK_CUDA_CC=M.N, 9.0 by
// default), a cubin or a fatbin; functions must be `.entry` names of the
// PTX; frees must be of live blocks; BREGMAN_MOCK_CUDA_FAIL_ALLOC=N and
// BREGMAN_MOCK_CUDA_MEMORY=BYTES inject out-of-memory failures.
// Only the entry points the runtime uses (CudaSymbols.def) exist.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace {
using CUresult = int;
using CUdeviceptr = unsigned long long;
constexpr CUresult kSuccess = 0, kLaunchFailed = 719, kInvalidValue = 1,
                   kOutOfMemory = 2, kInvalidPtx = 218, kNotFound = 500;

/// A loaded module: its PTX text (for the names of its kernels).
struct Module {
  std::string ptx;
  bool binary = false;
};

bool failing(const char *name) {
  const char *fail = std::getenv("BREGMAN_MOCK_CUDA_FAIL");
  return fail && std::strcmp(fail, name) == 0;
}
int modules = 0, launches = 0;
/// Writes `text` into the JIT log buffer among `options` (`which`: 5 for
/// the error log, 3 for the info log; the size follows as option which+1).
void writeJitLog(unsigned count, const int *options, void **values, int which,
                 const std::string &text) {
  char *buffer = nullptr;
  size_t size = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (options[i] == which)
      buffer = static_cast<char *>(values[i]);
    if (options[i] == which + 1)
      size = reinterpret_cast<uintptr_t>(values[i]);
  }
  if (buffer && size > 0)
    std::snprintf(buffer, size, "%s", text.c_str());
}

/// Device memory: live blocks and their sizes, the allocations so far, and
/// the limits of failure injection.
struct Memory {
  std::map<CUdeviceptr, size_t> live;
  size_t liveBytes = 0;
  long allocations = 0;
};
Memory &memory() {
  static Memory *m = new Memory;
  return *m;
}
/// BREGMAN_MOCK_CUDA_FAIL_ALLOC=N: the Nth cuMemAlloc fails (out of
/// memory); BREGMAN_MOCK_CUDA_MEMORY=BYTES: allocations beyond that many
/// live bytes fail.
bool allocationFails(size_t bytes) {
  Memory &m = memory();
  ++m.allocations;
  if (const char *nth = std::getenv("BREGMAN_MOCK_CUDA_FAIL_ALLOC"))
    if (m.allocations == std::atol(nth))
      return true;
  if (const char *limit = std::getenv("BREGMAN_MOCK_CUDA_MEMORY"))
    return m.liveBytes + bytes > std::strtoull(limit, nullptr, 10);
  return false;
}
} // namespace

#define MOCK_ENTRY(name)                                                       \
  if (failing(#name))                                                          \
    return kLaunchFailed;

extern "C" {
CUresult cuInit(unsigned) { MOCK_ENTRY(cuInit) return kSuccess; }
CUresult cuDeviceGetCount(int *n) {
  *n = 1;
  return kSuccess;
}
CUresult cuDeviceGet(int *d, int) {
  *d = 0;
  return kSuccess;
}
CUresult cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, len, "bregman mock GPU");
  return kSuccess;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  // Compute capability 9.0, or BREGMAN_MOCK_CUDA_CC=M.N.
  int major = 9, minor = 0;
  if (const char *cc = std::getenv("BREGMAN_MOCK_CUDA_CC"))
    std::sscanf(cc, "%d.%d", &major, &minor);
  *value = attribute == 75 ? major : attribute == 76 ? minor : 0;
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *) { return kSuccess; }
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned count,
                            int *options, void **values) {
  if (failing("cuModuleLoadDataEx")) {
    writeJitLog(count, options, values, 5,
                "ptxas application ptx input, line 1; fatal : mock JIT failure");
    return kInvalidPtx;
  }
  // PTX text (format=isa) with its kernels' names; a cubin or fatbin (ELF
  // or fatbin magic) is accepted as is.
  if (!image)
    return kInvalidValue;
  const char *text = static_cast<const char *>(image);
  bool binary = std::memcmp(text, "\x7f" "ELF", 4) == 0 ||
                std::memcmp(text, "\x50\xed\x55\xba", 4) == 0;
  if (!binary && std::strstr(text, ".entry") == nullptr)
    return kInvalidValue;
  if (!binary)
    if (const char *target = std::strstr(text, ".target sm_")) {
      // PTX for a newer chip than the device's is refused, as the JIT does.
      int chip = std::atoi(target + 11), major = 0, minor = 0;
      cuDeviceGetAttribute(&major, 75, 0);
      cuDeviceGetAttribute(&minor, 76, 0);
      if (chip > major * 10 + minor) {
        writeJitLog(count, options, values, 5,
                    "ptxas fatal : SM version specified by .target is higher "
                    "than default SM version assumed");
        return kInvalidPtx;
      }
    }
  auto *loaded = new Module;
  loaded->ptx = binary ? "" : text;
  loaded->binary = binary;
  *module = loaded;
  ++modules;
  return kSuccess;
}
CUresult cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return kSuccess;
}
/// Functions are the PTX's `.entry` names (any name in a binary image).
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  auto *loaded = static_cast<Module *>(module);
  if (!loaded || !name)
    return kInvalidValue;
  if (!loaded->binary &&
      loaded->ptx.find(".entry " + std::string(name) + "(") == std::string::npos)
    return kNotFound;
  *function = module;
  return kSuccess;
}
CUresult cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned,
                        unsigned, unsigned, unsigned, void *, void **,
                        void **) {
  MOCK_ENTRY(cuLaunchKernel)
  ++launches;
  return kSuccess;
}
CUresult cuStreamCreate(void **stream, unsigned) {
  static int s;
  *stream = &s;
  return kSuccess;
}
CUresult cuStreamSynchronize(void *) {
  MOCK_ENTRY(cuStreamSynchronize)
  return kSuccess;
}
CUresult cuStreamDestroy_v2(void *) { return kSuccess; }
CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  MOCK_ENTRY(cuMemAlloc)
  if (bytes == 0)
    return kInvalidValue;
  if (allocationFails(bytes))
    return kOutOfMemory;
  *ptr = reinterpret_cast<CUdeviceptr>(std::calloc(1, bytes));
  memory().live[*ptr] = bytes;
  memory().liveBytes += bytes;
  return kSuccess;
}
CUresult cuMemFree_v2(CUdeviceptr ptr) {
  auto it = memory().live.find(ptr);
  if (it == memory().live.end())
    return kInvalidValue;
  memory().liveBytes -= it->second;
  memory().live.erase(it);
  std::free(reinterpret_cast<void *>(ptr));
  return kSuccess;
}
CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void *) {
  return cuMemcpy(dst, src, bytes);
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes,
                              void *) {
  MOCK_ENTRY(cuMemcpyHtoDAsync)
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return kSuccess;
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  std::memcpy(dst, reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes,
                              void *) {
  MOCK_ENTRY(cuMemcpyDtoHAsync)
  std::memcpy(dst, reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuEventCreate(void **event, unsigned) {
  *event = new int(0);
  return kSuccess;
}
CUresult cuEventRecord(void *, void *) { return kSuccess; }
CUresult cuEventDestroy_v2(void *event) {
  delete static_cast<int *>(event);
  return kSuccess;
}
CUresult cuStreamWaitEvent(void *, void *, unsigned) { return kSuccess; }
CUresult cuMemHostRegister_v2(void *, size_t, unsigned) { return kSuccess; }
CUresult cuMemHostUnregister(void *) { return kSuccess; }
CUresult cuGetErrorName(CUresult r, const char **name) {
  *name = r == kLaunchFailed    ? "CUDA_ERROR_LAUNCH_FAILED"
          : r == kInvalidValue ? "CUDA_ERROR_INVALID_VALUE"
          : r == kOutOfMemory  ? "CUDA_ERROR_OUT_OF_MEMORY"
          : r == kInvalidPtx   ? "CUDA_ERROR_INVALID_PTX"
          : r == kNotFound     ? "CUDA_ERROR_NOT_FOUND"
                               : "CUDA_ERROR_UNKNOWN";
  return kSuccess;
}
CUresult cuGetErrorString(CUresult r, const char **text) {
  *text = r == kLaunchFailed    ? "unspecified launch failure"
          : r == kInvalidValue ? "invalid argument"
          : r == kOutOfMemory  ? "out of memory"
          : r == kInvalidPtx   ? "a PTX JIT compilation failed"
          : r == kNotFound     ? "named symbol not found"
                               : "unknown error";
  return kSuccess;
}
} // extern "C"
