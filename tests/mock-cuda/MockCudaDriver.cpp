//===- MockCudaDriver.cpp - A stand-in libcuda.so.1 for runtime tests -----===//
//
// CI has no GPU, so the runtime's CUDA host logic (driver loading, device
// probe, context, module load, kernel lookup cache, launches, device memory,
// copies, error messages) runs against this library, put first on
// LD_LIBRARY_PATH by the tests in tests/mock-cuda. "Device" memory is host
// memory; kernels are accepted and not run (their results are whatever the
// buffers held). BREGMAN_MOCK_CUDA_FAIL=<entry point> makes that entry
// point fail with CUDA_ERROR_LAUNCH_FAILED, to check the messages.
// Only the entry points the runtime uses (CudaSymbols.def) exist.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
using CUresult = int;
using CUdeviceptr = unsigned long long;
constexpr CUresult kSuccess = 0, kLaunchFailed = 719, kInvalidValue = 1;

bool failing(const char *name) {
  const char *fail = std::getenv("BREGMAN_MOCK_CUDA_FAIL");
  return fail && std::strcmp(fail, name) == 0;
}
int modules = 0, launches = 0;
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
  *value = attribute == 75 ? 9 : 0; // compute capability 9.0
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *) { return kSuccess; }
CUresult cuModuleLoadData(void **module, const void *image) {
  MOCK_ENTRY(cuModuleLoadData)
  // The runtime hands over PTX text (format=isa).
  if (!image || std::strstr(static_cast<const char *>(image), ".entry") == nullptr)
    return kInvalidValue;
  *module = reinterpret_cast<void *>(static_cast<intptr_t>(++modules));
  return kSuccess;
}
CUresult cuModuleUnload(void *) { return kSuccess; }
CUresult cuModuleGetFunction(void **function, void *module, const char *) {
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
  *ptr = reinterpret_cast<CUdeviceptr>(std::calloc(1, bytes));
  return kSuccess;
}
CUresult cuMemFree_v2(CUdeviceptr ptr) {
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
                               : "CUDA_ERROR_UNKNOWN";
  return kSuccess;
}
CUresult cuGetErrorString(CUresult r, const char **text) {
  *text = r == kLaunchFailed    ? "unspecified launch failure"
          : r == kInvalidValue ? "invalid argument"
                               : "unknown error";
  return kSuccess;
}
} // extern "C"
