//===- MockCudnn.cpp - A stand-in cuDNN for the runtime's convolution calls ===//
//
// Loaded through BREGMAN_CUDNN by tests/mock-cuda (with the mock driver,
// whose "device" memory is host memory): descriptors are recorded and the
// three convolution passes computed by direct loops on the host, NCHW,
// cross-correlation, with stride, symmetric padding, dilation and groups as
// cuDNN defines them. So the test checks that the runtime describes each
// convolution to cuDNN as the CPU path computes it. A pass computes in
// stream order, as cuDNN's kernels run: it is queued with the driver's
// cuLaunchHostFunc on the handle's stream (cudnnSetStream), with the
// descriptors, alpha and beta as they were at the call, so it reads what
// the copies and kernels queued before it left (a missing wait reads NaN
// memory) and a captured graph repeats it. Its entry points have the
// signatures of CudnnAbi.h, the runtime's declaration of cuDNN's ABI
// (checked at the end), so the two cannot drift apart.
//
//===----------------------------------------------------------------------===//

#include "CudnnAbi.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dlfcn.h>
#include <mutex>
#include <type_traits>

using namespace bregman::runtime::cuda;
using namespace bregman::runtime::cuda::cudnn;

// The mock's descriptors: what the runtime sets, kept for the loops below.
struct bregman::runtime::cuda::cudnn::cudnnContext {
  CUstream stream = nullptr; // the legacy default stream until set
};
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
// The mock's own codes for a handle made without the driver and a pass the
// driver would not queue (reported through cudnnGetErrorString).
constexpr Status kNotInitialized = 1001, kExecutionFailed = 5000;
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

/// One queued convolution pass; kept for the process (a graph may replay
/// it). `a` and `b` are the operands (x, w / dy, w / x, dy), `out` the
/// result, `out = alpha * conv + beta * out`.
struct Pass {
  enum Kind { Forward, BackwardData, BackwardFilter } kind;
  Tensor4d x, w, y;
  Conv conv;
  float alpha, beta;
  const float *a, *b;
  float *out;

  void run() const {
    switch (kind) {
    case Forward:
      scale(out, count(y), beta);
      forEach(x, w, conv, y, [&](size_t xi, size_t wi, size_t yi) {
        out[yi] += alpha * a[xi] * b[wi];
      });
      break;
    case BackwardData:
      scale(out, count(x), beta);
      forEach(x, w, conv, y, [&](size_t xi, size_t wi, size_t yi) {
        out[xi] += alpha * a[yi] * b[wi];
      });
      break;
    case BackwardFilter:
      scale(out, count(w), beta);
      forEach(x, w, conv, y, [&](size_t xi, size_t wi, size_t yi) {
        out[wi] += alpha * a[xi] * b[yi];
      });
      break;
    }
  }
};

using HostFn = int(CUstream, void (*)(void *), void *);
/// The driver's cuLaunchHostFunc (the mock driver is loaded first).
HostFn *launchHostFunc() {
  static HostFn *fn = [] {
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return driver ? reinterpret_cast<HostFn *>(
                        dlsym(driver, "cuLaunchHostFunc"))
                  : nullptr;
  }();
  return fn;
}

/// Queues `pass` on the handle's stream.
Status enqueue(Handle handle, const Pass &pass) {
  static std::mutex mutex;
  static auto *queued = new std::deque<Pass>;
  std::lock_guard<std::mutex> lock(mutex);
  queued->push_back(pass);
  Pass *stored = &queued->back(); // deque: stays where it is
  int result = launchHostFunc()(
      handle->stream, [](void *p) { static_cast<Pass *>(p)->run(); }, stored);
  return result == 0 ? kOk : kExecutionFailed;
}
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
  if (!launchHostFunc())
    return kNotInitialized; // the mock driver is not loaded
  *h = new cudnnContext;
  return kOk;
}
Status cudnnSetStream(Handle h, CUstream stream) {
  if (!h)
    return kBadParam;
  h->stream = stream;
  return kOk;
}
const char *cudnnGetErrorString(Status s) {
  switch (s) {
  case kBadParam:
    return "CUDNN_STATUS_BAD_PARAM";
  case kNotInitialized:
    return "CUDNN_STATUS_NOT_INITIALIZED";
  case kExecutionFailed:
    return "CUDNN_STATUS_EXECUTION_FAILED";
  default:
    return "CUDNN_STATUS_(mock)";
  }
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

// alpha, beta and the data are floats (kFloat descriptors); alpha and beta
// are read at the call (host pointer mode), the data when the pass runs.
Status cudnnConvolutionForward(Handle h, const void *alpha, TensorDesc xd,
                               const void *x, FilterDesc wd, const void *w,
                               ConvDesc cv, int, void *ws, size_t wsBytes,
                               const void *beta, TensorDesc yd, void *y) {
  if (!h || !ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  return enqueue(h, Pass{Pass::Forward, *xd, *wd, *yd, *cv, *f(alpha),
                         *f(beta), f(x), f(w), static_cast<float *>(y)});
}
Status cudnnConvolutionBackwardData(Handle h, const void *alpha, FilterDesc wd,
                                    const void *w, TensorDesc dyd,
                                    const void *dy, ConvDesc cv, int, void *ws,
                                    size_t wsBytes, const void *beta,
                                    TensorDesc dxd, void *dx) {
  if (!h || !ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  return enqueue(h, Pass{Pass::BackwardData, *dxd, *wd, *dyd, *cv, *f(alpha),
                         *f(beta), f(dy), f(w), static_cast<float *>(dx)});
}
Status cudnnConvolutionBackwardFilter(Handle h, const void *alpha,
                                      TensorDesc xd, const void *x,
                                      TensorDesc dyd, const void *dy,
                                      ConvDesc cv, int, void *ws,
                                      size_t wsBytes, const void *beta,
                                      FilterDesc dwd, void *dw) {
  if (!h || !ws || wsBytes < kWorkspace)
    return kBadParam;
  lastMathType = cv->mathType;
  return enqueue(h, Pass{Pass::BackwardFilter, *xd, *dwd, *dyd, *cv,
                         *f(alpha), *f(beta), f(x), f(dy),
                         static_cast<float *>(dw)});
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
