//===- CudnnLibraries.h - Finding cuDNN 9 and what it loads by name -*- C++ -*-===//
//
// libcudnn.so.9 is a small shim: the convolutions live in sub-libraries
// (libcudnn_graph, _ops, _cnn, _heuristic, _engines_precompiled,
// _engines_runtime_compiled) that it dlopens by name on the first call, and
// some engines dlopen cuBLASLt. When they are not on the loader's path, cuDNN
// fails later with a bare status. So they are opened here first, by absolute
// path from the folder libcudnn.so.9 came from (RTLD_GLOBAL: cuDNN's own
// dlopen by name then finds them loaded), and a missing one is named with the
// folders searched. Internal to runtime/src/cuda; tested in tests/mock-cuda.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDA_CUDNNLIBRARIES_H
#define BREGMAN_RUNTIME_CUDA_CUDNNLIBRARIES_H

#include <cstddef>
#include <string>
#include <vector>

namespace bregman::runtime::cuda {

/// The cuDNN major version whose ABI CudnnAbi.h declares.
constexpr int kCudnnMajor = 9;

/// The sub-libraries the legacy convolution API needs, in dependency order
/// (each NEEDs libcudnn_graph; cnn needs ops too).
const std::vector<std::string> &cudnnSubLibraries();

struct CudnnLibraries {
  void *main = nullptr; // libcudnn.so.9's handle; null when unusable
  std::string folder;   // where it was found
  std::string version;  // "9.19.0", as cudnnGetVersion() tells
  int cudaMajor = 0;    // of the CUDA runtime cuDNN was built for
  std::string cublasLt; // the file cuBLASLt was opened from, or its name
                        // when the loader's search found it
  std::string failure;  // why cuDNN is unusable, when it is
};

/// Opens cuDNN: the file `path` names (BREGMAN_CUDNN) or, when null,
/// libcudnn.so.9 by the loader's search (LD_LIBRARY_PATH, ldconfig). Checks
/// cudnnGetVersion() (the major must be kCudnnMajor), then opens the
/// sub-libraries from the same folder and cuBLASLt (same folder, the python
/// wheels' nvidia/cublas/lib and nvidia/cu<N>/lib beside nvidia/cudnn/lib,
/// then the loader's search).
CudnnLibraries openCudnn(const char *path);

/// "9.19.0" for cudnnGetVersion()'s 91900 (cuDNN 9's encoding, major *
/// 10000), "8.9.7" for 8907 (cuDNN 8's, major * 1000).
std::string cudnnVersionText(size_t version);
/// The major version in cudnnGetVersion()'s encoding.
int cudnnMajor(size_t version);

} // namespace bregman::runtime::cuda

#endif // BREGMAN_RUNTIME_CUDA_CUDNNLIBRARIES_H
