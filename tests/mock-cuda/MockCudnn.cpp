//===- MockCudnn.cpp - A stand-in cuDNN for the runtime's convolution calls ===//
//
// Loaded through BREGMAN_CUDNN by tests/mock-cuda (with the mock driver,
// whose "device" memory is host memory): descriptors are recorded and the
// three convolution passes computed by direct loops on the host, NCHW,
// cross-correlation, with stride, symmetric padding, dilation and groups as
// cuDNN defines them. So the test checks that the runtime describes each
// convolution to cuDNN as the CPU path computes it. Its entry points have
// the signatures of CudnnAbi.h, the runtime's declaration of cuDNN's ABI
// (checked at the end), so the two cannot drift apart.
//
//===----------------------------------------------------------------------===//

#include "CudnnAbi.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <type_traits>

using namespace bregman::runtime::cuda;
using namespace bregman::runtime::cuda::cudnn;

// The mock's descriptors: what the runtime sets, kept for the loops below.
struct bregman::runtime::cuda::cudnn::cudnnContext {};
struct bregman::runtime::cuda::cudnn::cudnnTensorStruct {
  int n, c, h, w;
};
struct bregman::runtime::cuda::cudnn::cudnnFilterStruct : cudnnTensorStruct {};
struct bregman::runtime::cuda::cudnn::cudnnConvolutionStruct {
  int padH, padW, strideH, strideW, dilH, dilW, groups = 1, mode;
  int mathType = 0; // CUDNN_DEFAULT_MATH until set
};

namespace {
constexpr Status kOk = kSuccess;
// The math type of the last convolution run (-1: none yet), for the tests.
int lastMathType = -1;
using Tensor4d = cudnnTensorStruct;
using Conv = cudnnConvolutionStruct;
constexpr size_t kWorkspace = 256;

/// Visits every (output, input, weight) index triple of the convolution.
template <typename F>
void forEach(const Tensor4d &x, const Tensor4d &w, const Conv &cv,
             const Tensor4d &y, F visit) {
  int perGroupOut = w.n / cv.groups, perGroupIn = x.c / cv.groups;
  for (int n = 0; n < y.n; ++n)
    for (int f = 0; f < y.c; ++f)
      for (int oh = 0; oh < y.h; ++oh)
        for (int ow = 0; ow < y.w; ++ow)
          for (int ci = 0; ci < perGroupIn; ++ci)
            for (int kh = 0; kh < w.h; ++kh)
              for (int kw = 0; kw < w.w; ++kw) {
                int ih = oh * cv.strideH - cv.padH + kh * cv.dilH;
                int iw = ow * cv.strideW - cv.padW + kw * cv.dilW;
                if (ih < 0 || ih >= x.h || iw < 0 || iw >= x.w)
                  continue;
                int c = (f / perGroupOut) * perGroupIn + ci;
                size_t xi = ((size_t(n) * x.c + c) * x.h + ih) * x.w + iw;
                size_t wi = ((size_t(f) * w.c + ci) * w.h + kh) * w.w + kw;
                size_t yi = ((size_t(n) * y.c + f) * y.h + oh) * y.w + ow;
                visit(xi, wi, yi);
              }
}

size_t count(const Tensor4d &t) { return size_t(t.n) * t.c * t.h * t.w; }

void scale(float *p, size_t n, float beta) {
  for (size_t i = 0; i < n; ++i)
    p[i] = beta == 0.0f ? 0.0f : p[i] * beta;
}

bool consistent(const Tensor4d &x, const Tensor4d &w, const Conv &cv,
                const Tensor4d &y) {
  auto out = [](int in, int pad, int k, int dil, int stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  };
  return x.n == y.n && w.n == y.c && w.c * cv.groups == x.c &&
         y.h == out(x.h, cv.padH, w.h, cv.dilH, cv.strideH) &&
         y.w == out(x.w, cv.padW, w.w, cv.dilW, cv.strideW) && cv.mode == kCrossCorrelation;
}

AlgoPerf oneAlgorithm() {
  return {0, kOk, 0.0f, kWorkspace, kDeterministic, kFmaMath, {0, 0, 0}};
}

const float *f(const void *p) { return static_cast<const float *>(p); }
} // namespace

extern "C" {
/// 91900 (cuDNN 9.19.0), or BREGMAN_MOCK_CUDNN_VERSION's (to test refusals).
size_t cudnnGetVersion() {
  const char *v = std::getenv("BREGMAN_MOCK_CUDNN_VERSION");
  return v ? std::strtoul(v, nullptr, 10) : 91900;
}
size_t cudnnGetCudartVersion() { return 13000; }
/// The mock's own: the math type the last convolution ran with.
int bregman_mock_cudnn_math_type() { return lastMathType; }
Status cudnnCreate(Handle *h) {
  static cudnnContext handle;
  *h = &handle;
  return kOk;
}
Status cudnnSetStream(Handle, CUstream) { return kOk; }
const char *cudnnGetErrorString(Status s) {
  return s == kBadParam ? "CUDNN_STATUS_BAD_PARAM" : "CUDNN_STATUS_(mock)";
}
Status cudnnCreateTensorDescriptor(TensorDesc *d) {
  *d = new Tensor4d{};
  return kOk;
}
Status cudnnSetTensor4dDescriptor(TensorDesc d, int format, int type, int n,
                                  int c, int h, int w) {
  if (format != kNchw || type != kFloat)
    return kBadParam;
  *d = {n, c, h, w};
  return kOk;
}
Status cudnnCreateFilterDescriptor(FilterDesc *d) {
  *d = new cudnnFilterStruct{};
  return kOk;
}
Status cudnnSetFilter4dDescriptor(FilterDesc d, int type, int format, int k,
                                  int c, int h, int w) {
  if (format != kNchw || type != kFloat)
    return kBadParam;
  static_cast<Tensor4d &>(*d) = {k, c, h, w};
  return kOk;
}
Status cudnnCreateConvolutionDescriptor(ConvDesc *d) {
  *d = new Conv{};
  return kOk;
}
Status cudnnSetConvolution2dDescriptor(ConvDesc d, int ph, int pw, int sh,
                                       int sw, int dh, int dw, int mode,
                                       int type) {
  if (type != kFloat)
    return kBadParam;
  d->padH = ph, d->padW = pw, d->strideH = sh, d->strideW = sw;
  d->dilH = dh, d->dilW = dw, d->mode = mode;
  return kOk;
}
Status cudnnSetConvolutionGroupCount(ConvDesc d, int groups) {
  d->groups = groups;
  return kOk;
}
Status cudnnSetConvolutionMathType(ConvDesc d, int mathType) {
  if (mathType < 0 || mathType > kFmaMath)
    return kBadParam;
  d->mathType = mathType;
  return kOk;
}

Status cudnnGetConvolutionForwardAlgorithm_v7(Handle, TensorDesc x,
                                              FilterDesc w, ConvDesc cv,
                                              TensorDesc y, int, int *n,
                                              AlgoPerf *perf) {
  if (!consistent(*x, *w, *cv, *y))
    return kBadParam;
  *n = 1;
  perf[0] = oneAlgorithm();
  return kOk;
}
Status cudnnGetConvolutionBackwardDataAlgorithm_v7(Handle, FilterDesc w,
                                                   TensorDesc dy, ConvDesc cv,
                                                   TensorDesc dx, int, int *n,
                                                   AlgoPerf *perf) {
  return cudnnGetConvolutionForwardAlgorithm_v7(nullptr, dx, w, cv, dy, 1, n,
                                                perf);
}
Status cudnnGetConvolutionBackwardFilterAlgorithm_v7(Handle, TensorDesc x,
                                                     TensorDesc dy, ConvDesc cv,
                                                     FilterDesc dw, int, int *n,
                                                     AlgoPerf *perf) {
  return cudnnGetConvolutionForwardAlgorithm_v7(nullptr, x, dw, cv, dy, 1, n,
                                                perf);
}
Status cudnnGetConvolutionForwardWorkspaceSize(Handle, TensorDesc, FilterDesc,
                                               ConvDesc, TensorDesc, int,
                                               size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}
Status cudnnGetConvolutionBackwardDataWorkspaceSize(Handle, FilterDesc,
                                                    TensorDesc, ConvDesc,
                                                    TensorDesc, int,
                                                    size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}
Status cudnnGetConvolutionBackwardFilterWorkspaceSize(Handle, TensorDesc,
                                                      TensorDesc, ConvDesc,
                                                      FilterDesc, int,
                                                      size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}

// alpha, beta and the data are floats (kFloat descriptors).
Status cudnnConvolutionForward(Handle, const void *alpha, TensorDesc xd,
                               const void *x, FilterDesc wd, const void *w,
                               ConvDesc cv, int, void *ws, size_t wsBytes,
                               const void *beta, TensorDesc yd, void *y) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  float a = *f(alpha), *out = static_cast<float *>(y);
  scale(out, count(*yd), *f(beta));
  forEach(*xd, *wd, *cv, *yd, [&](size_t xi, size_t wi, size_t yi) {
    out[yi] += a * f(x)[xi] * f(w)[wi];
  });
  return kOk;
}
Status cudnnConvolutionBackwardData(Handle, const void *alpha, FilterDesc wd,
                                    const void *w, TensorDesc dyd,
                                    const void *dy, ConvDesc cv, int, void *ws,
                                    size_t wsBytes, const void *beta,
                                    TensorDesc dxd, void *dx) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  float a = *f(alpha), *out = static_cast<float *>(dx);
  scale(out, count(*dxd), *f(beta));
  forEach(*dxd, *wd, *cv, *dyd, [&](size_t xi, size_t wi, size_t yi) {
    out[xi] += a * f(dy)[yi] * f(w)[wi];
  });
  return kOk;
}
Status cudnnConvolutionBackwardFilter(Handle, const void *alpha, TensorDesc xd,
                                      const void *x, TensorDesc dyd,
                                      const void *dy, ConvDesc cv, int,
                                      void *ws, size_t wsBytes,
                                      const void *beta, FilterDesc dwd,
                                      void *dw) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  float a = *f(alpha), *out = static_cast<float *>(dw);
  scale(out, count(*dwd), *f(beta));
  forEach(*xd, *dwd, *cv, *dyd, [&](size_t xi, size_t wi, size_t yi) {
    out[wi] += a * f(x)[xi] * f(dy)[yi];
  });
  return kOk;
}
} // extern "C"

// The stand-in has the signatures the runtime calls through.
#define BREGMAN_SAME_ABI(fn, type)                                             \
  static_assert(std::is_same_v<decltype(&fn), type>, #fn)
BREGMAN_SAME_ABI(cudnnGetVersion, GetVersionFn);
BREGMAN_SAME_ABI(cudnnGetCudartVersion, GetVersionFn);
BREGMAN_SAME_ABI(cudnnCreate, CreateFn);
BREGMAN_SAME_ABI(cudnnSetStream, SetStreamFn);
BREGMAN_SAME_ABI(cudnnGetErrorString, GetErrorStringFn);
BREGMAN_SAME_ABI(cudnnCreateTensorDescriptor, CreateTensorDescriptorFn);
BREGMAN_SAME_ABI(cudnnSetTensor4dDescriptor, SetTensor4dDescriptorFn);
BREGMAN_SAME_ABI(cudnnCreateFilterDescriptor, CreateFilterDescriptorFn);
BREGMAN_SAME_ABI(cudnnSetFilter4dDescriptor, SetFilter4dDescriptorFn);
BREGMAN_SAME_ABI(cudnnCreateConvolutionDescriptor,
                 CreateConvolutionDescriptorFn);
BREGMAN_SAME_ABI(cudnnSetConvolution2dDescriptor,
                 SetConvolution2dDescriptorFn);
BREGMAN_SAME_ABI(cudnnSetConvolutionGroupCount, SetConvolutionGroupCountFn);
BREGMAN_SAME_ABI(cudnnSetConvolutionMathType, SetConvolutionMathTypeFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionForwardAlgorithm_v7,
                 GetForwardAlgorithmFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionForwardWorkspaceSize,
                 GetForwardWorkspaceSizeFn);
BREGMAN_SAME_ABI(cudnnConvolutionForward, ConvolutionForwardFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionBackwardDataAlgorithm_v7,
                 GetBackwardDataAlgorithmFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionBackwardDataWorkspaceSize,
                 GetBackwardDataWorkspaceSizeFn);
BREGMAN_SAME_ABI(cudnnConvolutionBackwardData, ConvolutionBackwardDataFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionBackwardFilterAlgorithm_v7,
                 GetBackwardFilterAlgorithmFn);
BREGMAN_SAME_ABI(cudnnGetConvolutionBackwardFilterWorkspaceSize,
                 GetBackwardFilterWorkspaceSizeFn);
BREGMAN_SAME_ABI(cudnnConvolutionBackwardFilter, ConvolutionBackwardFilterFn);
