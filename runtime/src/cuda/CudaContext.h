//===- CudaContext.h - State shared by the CUDA parts of the runtime ------===//
//
// One primary context (device 0), one stream on which every kernel, copy and
// GEMM of the process is issued in order, a cache of device blocks, and the
// first recorded failure. Internal to runtime/src/cuda.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H
#define BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H

#include "bregman/runtime/CudaDriver.h"

#include <string>
#include <vector>

namespace bregman::runtime::cuda {

/// Records `message` as the first failure (if none is pending) and prints it.
void recordError(const std::string &message);
/// Records a failed driver call; returns whether it succeeded.
bool check(const char *call, CUresult result);
/// The first failure recorded since the last call ("" if none).
std::string takeError();

/// Makes device 0's primary context current on this thread (once; it stays
/// current); `ok` is false (and the reason recorded) when there is no driver
/// or device.
class ScopedContext {
public:
  ScopedContext();
  ~ScopedContext();
  const Driver *d = nullptr;
  bool ok = false;
};

/// The stream all work goes on (created on first use, inside a context;
/// non-blocking, so the legacy default stream never waits for it).
CUstream stream();
/// The stream downloads go on when they wait for an event rather than for
/// all work (Buffer reads of a step's results).
CUstream copyStream();

/// Opens one of `names` with dlopen (only the library $`envVar` names, if
/// set); null with "<what> not found (dlopen a, b): <advice> or name it in
/// <envVar>" in `*failure` when none loads. For cuBLAS and cuDNN.
void *openLibrary(const std::string &what,
                  const std::vector<std::string> &names, const char *envVar,
                  const std::string &advice, std::string *failure);

/// Device memory from a cache of freed blocks (exact sizes): blocks are
/// reused in stream order, so no synchronisation is needed to recycle one.
CUdeviceptr allocateBlock(size_t bytes);
void releaseBlock(CUdeviceptr ptr);

} // namespace bregman::runtime::cuda

#endif // BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H
