//===- Cudnn.cpp - Convolutions on the device with cuDNN, loaded at run time ===//
//
// The GPU counterpart of CpuConvDnnl.cpp, behind the same C ABI
// (bregman_gpu_conv2d_*; geometry of breg.conv2d, NCHW f32, symmetric
// padding only: the compiler leaves other convolutions generated). cuDNN is
// opened with dlopen on first use (libcudnn.so.9, or BREGMAN_CUDNN); its few
// types are declared here (ABI-compatible with cudnn_*_v9.h). Per geometry
// the descriptors, the algorithm (cuDNN's heuristic, first deterministic
// choice, so that runs repeat exactly) and its workspace size are made once;
// math is plain FMA (no TF32), as on the CPU. Everything runs on the
// runtime's stream; failures are recorded like the mgpu* functions'.
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "bregman/runtime/CpuLibrary.h"

#include <array>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace bregman::runtime::cuda;

namespace {

using Handle = struct cudnnContext *;
using TensorDesc = struct cudnnTensorStruct *;
using FilterDesc = struct cudnnFilterStruct *;
using ConvDesc = struct cudnnConvolutionStruct *;
using Status = int;
constexpr Status kSuccess = 0;
constexpr int kNchw = 0, kFloat = 0, kCrossCorrelation = 1, kFmaMath = 3,
              kDeterministic = 1;

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

struct Cudnn {
  Status (*create)(Handle *);
  Status (*setStream)(Handle, CUstream);
  const char *(*errorString)(Status);
  Status (*createTensor)(TensorDesc *);
  Status (*setTensor4d)(TensorDesc, int, int, int, int, int, int);
  Status (*createFilter)(FilterDesc *);
  Status (*setFilter4d)(FilterDesc, int, int, int, int, int, int);
  Status (*createConv)(ConvDesc *);
  Status (*setConv2d)(ConvDesc, int, int, int, int, int, int, int, int);
  Status (*setGroupCount)(ConvDesc, int);
  Status (*setMathType)(ConvDesc, int);
  Status (*forwardAlgo)(Handle, TensorDesc, FilterDesc, ConvDesc, TensorDesc,
                        int, int *, AlgoPerf *);
  Status (*forwardWorkspace)(Handle, TensorDesc, FilterDesc, ConvDesc,
                             TensorDesc, int, size_t *);
  Status (*forward)(Handle, const void *, TensorDesc, const void *, FilterDesc,
                    const void *, ConvDesc, int, void *, size_t, const void *,
                    TensorDesc, void *);
  Status (*dataAlgo)(Handle, FilterDesc, TensorDesc, ConvDesc, TensorDesc, int,
                     int *, AlgoPerf *);
  Status (*dataWorkspace)(Handle, FilterDesc, TensorDesc, ConvDesc, TensorDesc,
                          int, size_t *);
  Status (*backwardData)(Handle, const void *, FilterDesc, const void *,
                         TensorDesc, const void *, ConvDesc, int, void *,
                         size_t, const void *, TensorDesc, void *);
  Status (*filterAlgo)(Handle, TensorDesc, TensorDesc, ConvDesc, FilterDesc,
                       int, int *, AlgoPerf *);
  Status (*filterWorkspace)(Handle, TensorDesc, TensorDesc, ConvDesc,
                            FilterDesc, int, size_t *);
  Status (*backwardFilter)(Handle, const void *, TensorDesc, const void *,
                           TensorDesc, const void *, ConvDesc, int, void *,
                           size_t, const void *, FilterDesc, void *);
  Handle handle = nullptr;
  std::string failure; // why cuDNN is unusable, when it is
};

std::string describe(const Cudnn &c, const char *call, Status status) {
  const char *text = c.errorString ? c.errorString(status) : nullptr;
  return std::string(call) + " failed: " +
         (text ? text : "cuDNN status " + std::to_string(status));
}

Cudnn load() {
  Cudnn c{};
  void *lib = openLibrary("cuDNN", {"libcudnn.so.9", "libcudnn.so"},
                          "BREGMAN_CUDNN",
                          "install cuDNN 9, put it on LD_LIBRARY_PATH",
                          &c.failure);
  if (!lib)
    return c;
  auto sym = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && c.failure.empty())
      c.failure = std::string("cuDNN lacks ") + name;
  };
  sym(c.create, "cudnnCreate");
  sym(c.setStream, "cudnnSetStream");
  sym(c.errorString, "cudnnGetErrorString");
  sym(c.createTensor, "cudnnCreateTensorDescriptor");
  sym(c.setTensor4d, "cudnnSetTensor4dDescriptor");
  sym(c.createFilter, "cudnnCreateFilterDescriptor");
  sym(c.setFilter4d, "cudnnSetFilter4dDescriptor");
  sym(c.createConv, "cudnnCreateConvolutionDescriptor");
  sym(c.setConv2d, "cudnnSetConvolution2dDescriptor");
  sym(c.setGroupCount, "cudnnSetConvolutionGroupCount");
  sym(c.setMathType, "cudnnSetConvolutionMathType");
  sym(c.forwardAlgo, "cudnnGetConvolutionForwardAlgorithm_v7");
  sym(c.forwardWorkspace, "cudnnGetConvolutionForwardWorkspaceSize");
  sym(c.forward, "cudnnConvolutionForward");
  sym(c.dataAlgo, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  sym(c.dataWorkspace, "cudnnGetConvolutionBackwardDataWorkspaceSize");
  sym(c.backwardData, "cudnnConvolutionBackwardData");
  sym(c.filterAlgo, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  sym(c.filterWorkspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  sym(c.backwardFilter, "cudnnConvolutionBackwardFilter");
  if (!c.failure.empty())
    return c;
  ScopedContext scope;
  if (!scope.ok) {
    c.failure = "cuDNN needs a CUDA context";
    return c;
  }
  if (Status st = c.create(&c.handle); st != kSuccess)
    c.failure = describe(c, "cudnnCreate", st);
  else if (st = c.setStream(c.handle, stream()); st != kSuccess)
    c.failure = describe(c, "cudnnSetStream", st);
  return c;
}

enum class Pass { Forward, GradInput, GradFilter };

/// Descriptors, algorithm and workspace of one geometry and pass.
struct Plan {
  TensorDesc x = nullptr, y = nullptr;
  FilterDesc w = nullptr;
  ConvDesc conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
};

using Key = std::pair<std::array<intptr_t, 16>, Pass>;

/// Picks the first deterministic algorithm cuDNN's heuristic ranks.
bool pickAlgorithm(const Cudnn &c, Status st, const char *call, int count,
                   const AlgoPerf *perf, int *algo) {
  if (st != kSuccess) {
    recordError(describe(c, call, st));
    return false;
  }
  for (int i = 0; i < count; ++i)
    if (perf[i].status == kSuccess && perf[i].determinism == kDeterministic) {
      *algo = perf[i].algo;
      return true;
    }
  recordError(std::string(call) + ": no deterministic algorithm for this "
                                  "convolution");
  return false;
}

bool makePlan(const Cudnn &c, const std::array<intptr_t, 16> &g, Pass pass,
              Plan &p) {
  auto ok = [&](Status st, const char *call) {
    if (st == kSuccess)
      return true;
    recordError(describe(c, call, st));
    return false;
  };
  int n = g[0], ch = g[1], h = g[2], w = g[3], f = g[4], kh = g[5], kw = g[6],
      oh = g[7], ow = g[8], sh = g[9], sw = g[10], ph = g[11], pw = g[12],
      dh = g[13], dw = g[14], groups = g[15];
  if (!ok(c.createTensor(&p.x), "cudnnCreateTensorDescriptor") ||
      !ok(c.setTensor4d(p.x, kNchw, kFloat, n, ch, h, w),
          "cudnnSetTensor4dDescriptor") ||
      !ok(c.createTensor(&p.y), "cudnnCreateTensorDescriptor") ||
      !ok(c.setTensor4d(p.y, kNchw, kFloat, n, f, oh, ow),
          "cudnnSetTensor4dDescriptor") ||
      !ok(c.createFilter(&p.w), "cudnnCreateFilterDescriptor") ||
      !ok(c.setFilter4d(p.w, kFloat, kNchw, f, ch / groups, kh, kw),
          "cudnnSetFilter4dDescriptor") ||
      !ok(c.createConv(&p.conv), "cudnnCreateConvolutionDescriptor") ||
      !ok(c.setConv2d(p.conv, ph, pw, sh, sw, dh, dw, kCrossCorrelation,
                      kFloat),
          "cudnnSetConvolution2dDescriptor") ||
      !ok(c.setGroupCount(p.conv, groups), "cudnnSetConvolutionGroupCount") ||
      !ok(c.setMathType(p.conv, kFmaMath), "cudnnSetConvolutionMathType"))
    return false;
  AlgoPerf perf[16];
  int count = 0;
  switch (pass) {
  case Pass::Forward:
    return pickAlgorithm(c,
                         c.forwardAlgo(c.handle, p.x, p.w, p.conv, p.y, 16,
                                       &count, perf),
                         "cudnnGetConvolutionForwardAlgorithm_v7", count, perf,
                         &p.algo) &&
           ok(c.forwardWorkspace(c.handle, p.x, p.w, p.conv, p.y, p.algo,
                                 &p.workspace),
              "cudnnGetConvolutionForwardWorkspaceSize");
  case Pass::GradInput:
    return pickAlgorithm(c,
                         c.dataAlgo(c.handle, p.w, p.y, p.conv, p.x, 16,
                                    &count, perf),
                         "cudnnGetConvolutionBackwardDataAlgorithm_v7", count,
                         perf, &p.algo) &&
           ok(c.dataWorkspace(c.handle, p.w, p.y, p.conv, p.x, p.algo,
                              &p.workspace),
              "cudnnGetConvolutionBackwardDataWorkspaceSize");
  case Pass::GradFilter:
    return pickAlgorithm(c,
                         c.filterAlgo(c.handle, p.x, p.y, p.conv, p.w, 16,
                                      &count, perf),
                         "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                         count, perf, &p.algo) &&
           ok(c.filterWorkspace(c.handle, p.x, p.y, p.conv, p.w, p.algo,
                                &p.workspace),
              "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  }
  return false;
}

/// Runs one pass: a, b are the operands (x, w / dy, w / x, dy), out the
/// result, overwritten (beta = 0).
void run(const std::array<intptr_t, 16> &geometry, Pass pass, intptr_t a,
         intptr_t b, intptr_t out) {
  static Cudnn cudnn = load();
  if (!cudnn.failure.empty()) {
    recordError(cudnn.failure);
    return;
  }
  ScopedContext scope;
  if (!scope.ok)
    return;
  static std::mutex mutex;
  static std::map<Key, Plan> plans;
  static CUdeviceptr workspace = 0;
  static size_t workspaceBytes = 0;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, fresh] = plans.try_emplace(Key{geometry, pass});
  Plan &plan = it->second;
  if (fresh && !makePlan(cudnn, geometry, pass, plan)) {
    plans.erase(it);
    return;
  }
  // One workspace, grown to the largest plan's need; blocks are reused in
  // stream order, so the old one can go back at once.
  if (plan.workspace > workspaceBytes) {
    releaseBlock(workspace);
    workspace = allocateBlock(plan.workspace);
    workspaceBytes = workspace ? plan.workspace : 0;
    if (!workspace)
      return;
  }
  const float one = 1.0f, zero = 0.0f;
  auto p = [](intptr_t v) { return reinterpret_cast<void *>(v); };
  Status st = kSuccess;
  const char *call = "";
  switch (pass) {
  case Pass::Forward:
    call = "cudnnConvolutionForward";
    st = cudnn.forward(cudnn.handle, &one, plan.x, p(a), plan.w, p(b),
                       plan.conv, plan.algo, p(workspace), plan.workspace,
                       &zero, plan.y, p(out));
    break;
  case Pass::GradInput:
    call = "cudnnConvolutionBackwardData";
    st = cudnn.backwardData(cudnn.handle, &one, plan.w, p(b), plan.y, p(a),
                            plan.conv, plan.algo, p(workspace), plan.workspace,
                            &zero, plan.x, p(out));
    break;
  case Pass::GradFilter:
    call = "cudnnConvolutionBackwardFilter";
    st = cudnn.backwardFilter(cudnn.handle, &one, plan.x, p(a), plan.y, p(b),
                              plan.conv, plan.algo, p(workspace),
                              plan.workspace, &zero, plan.w, p(out));
    break;
  }
  if (st != kSuccess)
    recordError(describe(cudnn, call, st));
}

} // namespace

#define BREGMAN_GEOMETRY                                                       \
  std::array<intptr_t, 16> {                                                   \
    n, c, h, w, f, kh, kw, oh, ow, strideH, strideW, padTop, padLeft,         \
        dilationH, dilationW, groups                                           \
  }

extern "C" {
void bregman_gpu_conv2d_forward(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                intptr_t filter, intptr_t y) {
  run(BREGMAN_GEOMETRY, Pass::Forward, x, filter, y);
}
void bregman_gpu_conv2d_grad_input(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t dy,
                                   intptr_t filter, intptr_t dx) {
  run(BREGMAN_GEOMETRY, Pass::GradInput, dy, filter, dx);
}
void bregman_gpu_conv2d_grad_filter(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                    intptr_t dy, intptr_t dfilter) {
  run(BREGMAN_GEOMETRY, Pass::GradFilter, x, dy, dfilter);
}
} // extern "C"
