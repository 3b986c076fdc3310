//===- MockCudnn.cpp - A stand-in cuDNN for the runtime's convolution calls ===//
//
// Loaded through BREGMAN_CUDNN by tests/mock-cuda (with the mock driver,
// whose "device" memory is host memory): descriptors are recorded and the
// three convolution passes computed by direct loops on the host, NCHW,
// cross-correlation, with stride, symmetric padding, dilation and groups as
// cuDNN defines them. So the test checks that the runtime describes each
// convolution to cuDNN as the CPU path computes it.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstring>

namespace {
using Status = int;
constexpr Status kOk = 0, kBadParam = 3;
struct Tensor4d {
  int n, c, h, w;
};
struct Conv {
  int padH, padW, strideH, strideW, dilH, dilW, groups = 1, mode;
};
struct AlgoPerf {
  int algo;
  Status status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
};
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
         y.w == out(x.w, cv.padW, w.w, cv.dilW, cv.strideW) && cv.mode == 1;
}

AlgoPerf oneAlgorithm() { return {0, kOk, 0.0f, kWorkspace, 1, 3, {0, 0, 0}}; }
} // namespace

extern "C" {
Status cudnnCreate(void **h) {
  static int handle;
  *h = &handle;
  return kOk;
}
Status cudnnSetStream(void *, void *) { return kOk; }
const char *cudnnGetErrorString(Status s) {
  return s == kBadParam ? "CUDNN_STATUS_BAD_PARAM" : "CUDNN_STATUS_(mock)";
}
Status cudnnCreateTensorDescriptor(Tensor4d **d) {
  *d = new Tensor4d{};
  return kOk;
}
Status cudnnSetTensor4dDescriptor(Tensor4d *d, int format, int type, int n,
                                  int c, int h, int w) {
  if (format != 0 || type != 0)
    return kBadParam;
  *d = {n, c, h, w};
  return kOk;
}
Status cudnnCreateFilterDescriptor(Tensor4d **d) {
  *d = new Tensor4d{};
  return kOk;
}
Status cudnnSetFilter4dDescriptor(Tensor4d *d, int type, int format, int k,
                                  int c, int h, int w) {
  if (format != 0 || type != 0)
    return kBadParam;
  *d = {k, c, h, w};
  return kOk;
}
Status cudnnCreateConvolutionDescriptor(Conv **d) {
  *d = new Conv{};
  return kOk;
}
Status cudnnSetConvolution2dDescriptor(Conv *d, int ph, int pw, int sh, int sw,
                                       int dh, int dw, int mode, int type) {
  if (type != 0)
    return kBadParam;
  d->padH = ph, d->padW = pw, d->strideH = sh, d->strideW = sw;
  d->dilH = dh, d->dilW = dw, d->mode = mode;
  return kOk;
}
Status cudnnSetConvolutionGroupCount(Conv *d, int groups) {
  d->groups = groups;
  return kOk;
}
Status cudnnSetConvolutionMathType(Conv *, int) { return kOk; }

Status cudnnGetConvolutionForwardAlgorithm_v7(void *, Tensor4d *x, Tensor4d *w,
                                              Conv *cv, Tensor4d *y, int,
                                              int *n, AlgoPerf *perf) {
  if (!consistent(*x, *w, *cv, *y))
    return kBadParam;
  *n = 1;
  perf[0] = oneAlgorithm();
  return kOk;
}
Status cudnnGetConvolutionBackwardDataAlgorithm_v7(void *, Tensor4d *w,
                                                   Tensor4d *dy, Conv *cv,
                                                   Tensor4d *dx, int, int *n,
                                                   AlgoPerf *perf) {
  return cudnnGetConvolutionForwardAlgorithm_v7(nullptr, dx, w, cv, dy, 1, n,
                                                perf);
}
Status cudnnGetConvolutionBackwardFilterAlgorithm_v7(void *, Tensor4d *x,
                                                     Tensor4d *dy, Conv *cv,
                                                     Tensor4d *dw, int, int *n,
                                                     AlgoPerf *perf) {
  return cudnnGetConvolutionForwardAlgorithm_v7(nullptr, x, dw, cv, dy, 1, n,
                                                perf);
}
Status cudnnGetConvolutionForwardWorkspaceSize(void *, void *, void *, void *,
                                               void *, int, size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}
Status cudnnGetConvolutionBackwardDataWorkspaceSize(void *, void *, void *,
                                                    void *, void *, int,
                                                    size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}
Status cudnnGetConvolutionBackwardFilterWorkspaceSize(void *, void *, void *,
                                                      void *, void *, int,
                                                      size_t *bytes) {
  *bytes = kWorkspace;
  return kOk;
}

Status cudnnConvolutionForward(void *, const float *alpha, Tensor4d *xd,
                               const float *x, Tensor4d *wd, const float *w,
                               Conv *cv, int, void *ws, size_t wsBytes,
                               const float *beta, Tensor4d *yd, float *y) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  scale(y, count(*yd), *beta);
  forEach(*xd, *wd, *cv, *yd, [&](size_t xi, size_t wi, size_t yi) {
    y[yi] += *alpha * x[xi] * w[wi];
  });
  return kOk;
}
Status cudnnConvolutionBackwardData(void *, const float *alpha, Tensor4d *wd,
                                    const float *w, Tensor4d *dyd,
                                    const float *dy, Conv *cv, int, void *ws,
                                    size_t wsBytes, const float *beta,
                                    Tensor4d *dxd, float *dx) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  scale(dx, count(*dxd), *beta);
  forEach(*dxd, *wd, *cv, *dyd, [&](size_t xi, size_t wi, size_t yi) {
    dx[xi] += *alpha * dy[yi] * w[wi];
  });
  return kOk;
}
Status cudnnConvolutionBackwardFilter(void *, const float *alpha, Tensor4d *xd,
                                      const float *x, Tensor4d *dyd,
                                      const float *dy, Conv *cv, int, void *ws,
                                      size_t wsBytes, const float *beta,
                                      Tensor4d *dwd, float *dw) {
  if (!ws || wsBytes < kWorkspace)
    return kBadParam;
  scale(dw, count(*dwd), *beta);
  forEach(*xd, *dwd, *cv, *dyd, [&](size_t xi, size_t wi, size_t yi) {
    dw[wi] += *alpha * x[xi] * dy[yi];
  });
  return kOk;
}
} // extern "C"
