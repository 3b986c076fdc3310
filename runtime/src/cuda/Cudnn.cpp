//===- Cudnn.cpp - Convolutions on the device with cuDNN, loaded at run time ===//
//
// The GPU counterpart of CpuConvDnnl.cpp, behind the same C ABI
// (bregman_gpu_conv2d_*; geometry of breg.conv2d, NCHW f32, symmetric
// padding only: the compiler leaves other convolutions generated). cuDNN is
// opened with dlopen on first use (libcudnn.so.9, or BREGMAN_CUDNN), its
// version checked and its sub-libraries opened (CudnnLibraries.h); its few
// types are declared in CudnnAbi.h. Per geometry the descriptors, the
// algorithm (cuDNN's heuristic, first deterministic choice, so that runs
// repeat exactly) and its workspace size are made once; math is plain FMA,
// as on the CPU, unless TF32 is allowed (CudaMath.h: then
// CUDNN_TENSOR_OP_MATH, and a plan of its own). Everything runs on the
// runtime's stream; failures are recorded like the mgpu* functions'.
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "CudnnAbi.h"
#include "CudnnLibraries.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaMath.h"

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

using namespace bregman::runtime::cuda;

namespace {

using namespace bregman::runtime::cuda::cudnn;

struct Cudnn : LibraryHandle<Handle> {
  CreateTensorDescriptorFn createTensor = nullptr;
  SetTensor4dDescriptorFn setTensor4d = nullptr;
  CreateFilterDescriptorFn createFilter = nullptr;
  SetFilter4dDescriptorFn setFilter4d = nullptr;
  CreateConvolutionDescriptorFn createConv = nullptr;
  SetConvolution2dDescriptorFn setConv2d = nullptr;
  SetConvolutionGroupCountFn setGroupCount = nullptr;
  SetConvolutionMathTypeFn setMathType = nullptr;
  GetForwardAlgorithmFn forwardAlgo = nullptr;
  GetForwardWorkspaceSizeFn forwardWorkspace = nullptr;
  ConvolutionForwardFn forward = nullptr;
  GetBackwardDataAlgorithmFn dataAlgo = nullptr;
  GetBackwardDataWorkspaceSizeFn dataWorkspace = nullptr;
  ConvolutionBackwardDataFn backwardData = nullptr;
  GetBackwardFilterAlgorithmFn filterAlgo = nullptr;
  GetBackwardFilterWorkspaceSizeFn filterWorkspace = nullptr;
  ConvolutionBackwardFilterFn backwardFilter = nullptr;
};

Cudnn load() {
  Cudnn c;
  c.what = "cuDNN";
  // Version, sub-libraries and cuBLASLt checked before the first call.
  CudnnLibraries found = openCudnn(std::getenv("BREGMAN_CUDNN"));
  if (!found.main) {
    c.failure = found.failure;
    return c;
  }
  c.lib = found.main;
  c.resolve(c.create, "cudnnCreate");
  c.resolve(c.setStream, "cudnnSetStream");
  c.resolve(c.statusString, "cudnnGetErrorString");
  c.resolve(c.createTensor, "cudnnCreateTensorDescriptor");
  c.resolve(c.setTensor4d, "cudnnSetTensor4dDescriptor");
  c.resolve(c.createFilter, "cudnnCreateFilterDescriptor");
  c.resolve(c.setFilter4d, "cudnnSetFilter4dDescriptor");
  c.resolve(c.createConv, "cudnnCreateConvolutionDescriptor");
  c.resolve(c.setConv2d, "cudnnSetConvolution2dDescriptor");
  c.resolve(c.setGroupCount, "cudnnSetConvolutionGroupCount");
  c.resolve(c.setMathType, "cudnnSetConvolutionMathType");
  c.resolve(c.forwardAlgo, "cudnnGetConvolutionForwardAlgorithm_v7");
  c.resolve(c.forwardWorkspace, "cudnnGetConvolutionForwardWorkspaceSize");
  c.resolve(c.forward, "cudnnConvolutionForward");
  c.resolve(c.dataAlgo, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  c.resolve(c.dataWorkspace, "cudnnGetConvolutionBackwardDataWorkspaceSize");
  c.resolve(c.backwardData, "cudnnConvolutionBackwardData");
  c.resolve(c.filterAlgo, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  c.resolve(c.filterWorkspace,
            "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  c.resolve(c.backwardFilter, "cudnnConvolutionBackwardFilter");
  c.createHandle("cudnnCreate", "cudnnSetStream");
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

/// Geometry, pass and math type (kFmaMath or kTensorOpMath).
using Key = std::tuple<std::array<intptr_t, 16>, Pass, int>;

/// Picks the first deterministic algorithm cuDNN's heuristic ranks.
bool pickAlgorithm(const Cudnn &c, Status st, const char *call, int count,
                   const AlgoPerf *perf, int *algo) {
  if (st != kSuccess) {
    recordError(c.describe(call, st));
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
              int mathType, Plan &p) {
  auto ok = [&](Status st, const char *call) {
    if (st == kSuccess)
      return true;
    recordError(c.describe(call, st));
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
      !ok(c.setMathType(p.conv, mathType), "cudnnSetConvolutionMathType"))
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
  if (!cudnn.ready())
    return;
  static std::mutex mutex;
  static std::map<Key, Plan> plans;
  static CUdeviceptr workspace = 0;
  static size_t workspaceBytes = 0;
  std::lock_guard<std::mutex> lock(mutex);
  int mathType = bregman::runtime::cudaTf32() ? kTensorOpMath : kFmaMath;
  auto [it, fresh] = plans.try_emplace(Key{geometry, pass, mathType});
  Plan &plan = it->second;
  if (fresh && !makePlan(cudnn, geometry, pass, mathType, plan)) {
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
    recordError(cudnn.describe(call, st));
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
