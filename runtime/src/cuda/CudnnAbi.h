//===- CudnnAbi.h - The part of cuDNN's C ABI bregman uses ------*- C++ -*-===//
//
// cuDNN is opened with dlopen, so no cuDNN header is needed to build: the
// handle and descriptor types, the enum values, the algorithm-performance
// struct and the signature of every entry point used are declared here,
// ABI-compatible with cudnn_*_v9.h. Shared by the runtime (Cudnn.cpp) and the
// stand-in cuDNN of tests/mock-cuda, which defines the descriptor structs and
// is checked against these signatures. Internal to runtime/src/cuda.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDA_CUDNNABI_H
#define BREGMAN_RUNTIME_CUDA_CUDNNABI_H

#include "bregman/runtime/CudaDriver.h"

#include <cstddef>

// The entry points are declared with types from this namespace; linkage is C,
// so only the layout of what they pass matters.
namespace bregman::runtime::cuda::cudnn {

// Opaque to the runtime; the mock defines them.
struct cudnnContext;
struct cudnnTensorStruct;
struct cudnnFilterStruct;
struct cudnnConvolutionStruct;

using Status = int;
using Handle = struct cudnnContext *;
using TensorDesc = struct cudnnTensorStruct *;
using FilterDesc = struct cudnnFilterStruct *;
using ConvDesc = struct cudnnConvolutionStruct *;

constexpr Status kSuccess = 0, kBadParam = 3;
// cudnnTensorFormat_t, cudnnDataType_t, cudnnConvolutionMode_t,
// cudnnMathType_t, cudnnDeterminism_t.
constexpr int kNchw = 0, kFloat = 0, kCrossCorrelation = 1, kFmaMath = 3,
              kDeterministic = 1;
// CUDNN_TENSOR_OP_MATH: tensor cores allowed, on f32 data as TF32 (A100 and
// later). Not CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION (2), which may also
// convert f32 tensors down to f16 (a 5-bit exponent: overflows).
constexpr int kTensorOpMath = 1;

/// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (same layout).
struct AlgoPerf {
  int algo;
  Status status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
};

// The entry points, by cuDNN's name without the "cudnn" prefix.
using GetVersionFn = size_t (*)(); // also GetCudartVersion
using CreateFn = Status (*)(Handle *);
using SetStreamFn = Status (*)(Handle, CUstream);
using GetErrorStringFn = const char *(*)(Status);
using CreateTensorDescriptorFn = Status (*)(TensorDesc *);
using SetTensor4dDescriptorFn = Status (*)(TensorDesc, int format, int type,
                                           int n, int c, int h, int w);
using CreateFilterDescriptorFn = Status (*)(FilterDesc *);
using SetFilter4dDescriptorFn = Status (*)(FilterDesc, int type, int format,
                                           int k, int c, int h, int w);
using CreateConvolutionDescriptorFn = Status (*)(ConvDesc *);
using SetConvolution2dDescriptorFn = Status (*)(ConvDesc, int padH, int padW,
                                                int strideH, int strideW,
                                                int dilH, int dilW, int mode,
                                                int type);
using SetConvolutionGroupCountFn = Status (*)(ConvDesc, int);
using SetConvolutionMathTypeFn = Status (*)(ConvDesc, int);
using GetForwardAlgorithmFn = Status (*)(Handle, TensorDesc x, FilterDesc w,
                                         ConvDesc, TensorDesc y, int requested,
                                         int *returned, AlgoPerf *);
using GetForwardWorkspaceSizeFn = Status (*)(Handle, TensorDesc, FilterDesc,
                                             ConvDesc, TensorDesc, int algo,
                                             size_t *);
using ConvolutionForwardFn = Status (*)(Handle, const void *alpha, TensorDesc,
                                        const void *x, FilterDesc,
                                        const void *w, ConvDesc, int algo,
                                        void *workspace, size_t,
                                        const void *beta, TensorDesc, void *y);
using GetBackwardDataAlgorithmFn = Status (*)(Handle, FilterDesc w,
                                              TensorDesc dy, ConvDesc,
                                              TensorDesc dx, int requested,
                                              int *returned, AlgoPerf *);
using GetBackwardDataWorkspaceSizeFn = Status (*)(Handle, FilterDesc,
                                                  TensorDesc, ConvDesc,
                                                  TensorDesc, int algo,
                                                  size_t *);
using ConvolutionBackwardDataFn = Status (*)(Handle, const void *alpha,
                                             FilterDesc, const void *w,
                                             TensorDesc, const void *dy,
                                             ConvDesc, int algo,
                                             void *workspace, size_t,
                                             const void *beta, TensorDesc,
                                             void *dx);
using GetBackwardFilterAlgorithmFn = Status (*)(Handle, TensorDesc x,
                                                TensorDesc dy, ConvDesc,
                                                FilterDesc dw, int requested,
                                                int *returned, AlgoPerf *);
using GetBackwardFilterWorkspaceSizeFn = Status (*)(Handle, TensorDesc,
                                                    TensorDesc, ConvDesc,
                                                    FilterDesc, int algo,
                                                    size_t *);
using ConvolutionBackwardFilterFn = Status (*)(Handle, const void *alpha,
                                               TensorDesc, const void *x,
                                               TensorDesc, const void *dy,
                                               ConvDesc, int algo,
                                               void *workspace, size_t,
                                               const void *beta, FilterDesc,
                                               void *dw);

} // namespace bregman::runtime::cuda::cudnn

#endif // BREGMAN_RUNTIME_CUDA_CUDNNABI_H
