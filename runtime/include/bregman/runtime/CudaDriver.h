//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// bregman never links libcuda: the driver is opened with dlopen on first use,
// so everything builds, links and runs on machines without it, and says
// "no CUDA driver" / "no CUDA device" instead of failing to load. The few
// driver types are declared here (ABI-compatible with cuda.h), so building
// needs no CUDA toolkit either. One X-macro table lists every symbol used.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDADRIVER_H
#define BREGMAN_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace bregman::runtime::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;

/// The driver entry points bregman uses, resolved with dlsym.
struct Driver {
#define BREGMAN_CU_SYMBOL(name, ...) CUresult (*name)(__VA_ARGS__) = nullptr;
#include "bregman/runtime/CudaSymbols.def"
#undef BREGMAN_CU_SYMBOL
  /// Optional (CUDA 12.4+; null before): a kernel's parameter layout, to
  /// check the host code's parameter count on a kernel's first launch.
  CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t *,
                                 size_t *) = nullptr;
};

/// The driver, loaded and initialised once (cuInit); null when libcuda.so.1
/// or one of its symbols is missing, with the reason in `*reason`.
const Driver *driver(std::string *reason = nullptr);

/// What this machine offers, for `--device` and the GPU tests.
struct DeviceInfo {
  bool available = false;
  std::string reason; // why not, when not available
  int count = 0;
  std::string name;   // of device 0
  int major = 0, minor = 0; // its compute capability
};
DeviceInfo probeDevices();

/// "cuFoo failed: CUDA_ERROR_X (description)".
std::string describe(const char *call, CUresult result);

} // namespace bregman::runtime::cuda

#endif // BREGMAN_RUNTIME_CUDADRIVER_H
