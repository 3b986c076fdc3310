//===- MockCudaStrictTest.cpp - Module logs, kernel names, out of memory --===//
//
// With the stand-in driver (MockCudaDriver.cpp): a module that fails to load
// is reported with the JIT's log; PTX is compiled for the device's compute
// capability; unknown kernel names are refused; out of memory releases the
// block cache and retries, then fails naming the size; nothing is launched
// while a failure is pending; the cache reuses a block that fits closely.
// Then the mock's strictness itself (stream queues, events, NaN memory,
// pinned and pageable copies, launch checks, graphs) and the runtime on it
// (pinned staging, step graph replay, the kernel lookup).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"
#include "CudnnAbi.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

using namespace bregman;

namespace {

/// One of the runtime's mgpu* entry points, by name.
template <typename Fn> Fn *mgpu(const char *name) {
  for (const runtime::LibrarySymbol *s = runtime::gpuLibrarySymbols(); s->name;
       ++s)
    if (std::strcmp(s->name, name) == 0)
      return reinterpret_cast<Fn *>(s->address);
  return nullptr;
}
using AllocFn = void *(uint64_t, void *, bool);
using FreeFn = void(void *, void *);

std::string takeError() { return bregman_cuda_take_error(); }

auto makeUpdate(std::string chip = "") {
  return jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &g,
         const Params &h) {
        std::vector<Tensor> r =
            linbregUpdate(Regularizer::L1, theta, v, g, h.at("lr"),
                          h.at("delta"), h.at("lambda"));
        return std::make_tuple(r[0], r[1], r[0] * g);
      },
      JitOptions{{0, 1}, "strict_update", Device::Cuda, std::move(chip)});
}

/// Runs the update once; the error it threw ("" if none).
std::string runUpdate(std::string chip = "") {
  auto update = makeUpdate(std::move(chip));
  Tensor theta = Tensor::zeros({256}), v = Tensor::zeros({256}),
         g = Tensor::zeros({256});
  Params h;
  h.add("lr", Tensor::scalar(0.1f));
  h.add("delta", Tensor::scalar(1.0f));
  h.add("lambda", Tensor::scalar(0.2f));
  try {
    update(theta, v, g, h);
  } catch (const std::exception &e) {
    return e.what();
  }
  return "";
}

#define SKIP_WITHOUT_TOOLKIT()                                                 \
  if (std::string problem = cudaCompilationProblem(); !problem.empty())        \
  GTEST_SKIP() << problem

TEST(MockCudaStrict, ModuleLoadFailureCarriesTheJitLog) {
  SKIP_WITHOUT_TOOLKIT();
  setenv("BREGMAN_MOCK_CUDA_FAIL", "cuModuleLoadDataEx", 1);
  std::string error = runUpdate();
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
  EXPECT_NE(error.find("loading a kernel module (PTX for sm_90): "
                       "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("JIT error log:\nptxas application ptx input, line 1; "
                       "fatal : mock JIT failure"),
            std::string::npos)
      << error;
}

// PTX for a newer chip than the device's is refused by the (mock) JIT, with
// its log and advice.
TEST(MockCudaStrict, PtxForANewerChipIsRefusedWithAdvice) {
  SKIP_WITHOUT_TOOLKIT();
  std::string error = runUpdate("sm_100");
  EXPECT_NE(error.find("(PTX for sm_100): cuModuleLoadDataEx failed: "
                       "CUDA_ERROR_INVALID_PTX"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("SM version specified by .target is higher"),
            std::string::npos)
      << error;
}

// Without a chip, the step is compiled for the device's compute capability
// (8.0 here): PTX for sm_90 would be refused.
TEST(MockCudaStrict, StepIsCompiledForTheDevicesChip) {
  SKIP_WITHOUT_TOOLKIT();
  setenv("BREGMAN_MOCK_CUDA_CC", "8.0", 1);
  std::string error = runUpdate();
  unsetenv("BREGMAN_MOCK_CUDA_CC");
  EXPECT_EQ(error, "");
}

TEST(MockCudaStrict, UnknownKernelNameIsRefused) {
  auto load = mgpu<void *(void *, size_t)>("mgpuModuleLoad");
  auto get = mgpu<void *(void *, const char *)>("mgpuModuleGetFunction");
  ASSERT_TRUE(load && get);
  takeError();
  char ptx[] = ".version 7.8\n.target sm_90\n.visible .entry real_kernel(\n)\n{ret;}\n";
  void *module = load(ptx, sizeof(ptx));
  ASSERT_NE(module, nullptr) << takeError();
  EXPECT_NE(get(module, "real_kernel"), nullptr);
  EXPECT_EQ(get(module, "no_such_kernel"), nullptr);
  EXPECT_NE(takeError().find("cuModuleGetFunction failed: CUDA_ERROR_NOT_FOUND"),
            std::string::npos);
}

// A freed block is reused for a request it fits within a quarter of its
// size; a much smaller request gets a block of its own.
TEST(MockCudaStrict, CacheReusesABlockThatFitsClosely) {
  auto alloc = mgpu<AllocFn>("mgpuMemAlloc");
  auto release = mgpu<FreeFn>("mgpuMemFree");
  takeError();
  void *block = alloc(4096, nullptr, false);
  ASSERT_NE(block, nullptr);
  release(block, nullptr);
  void *closeFit = alloc(3500, nullptr, false);
  EXPECT_EQ(closeFit, block);
  release(closeFit, nullptr);
  void *small = alloc(1000, nullptr, false);
  EXPECT_NE(small, block);
  release(small, nullptr);
  EXPECT_EQ(takeError(), "");
}

// Out of memory with blocks cached: they are released and the allocation
// retried, successfully.
TEST(MockCudaStrict, OutOfMemoryReleasesTheCacheAndRetries) {
  setenv("BREGMAN_MOCK_CUDA_MEMORY", "1000000", 1);
  auto alloc = mgpu<AllocFn>("mgpuMemAlloc");
  auto release = mgpu<FreeFn>("mgpuMemFree");
  takeError();
  void *first = alloc(600000, nullptr, false);
  ASSERT_NE(first, nullptr);
  release(first, nullptr); // cached, still held from the driver
  void *second = alloc(900000, nullptr, false);
  unsetenv("BREGMAN_MOCK_CUDA_MEMORY");
  EXPECT_NE(second, nullptr);
  EXPECT_EQ(takeError(), "");
  release(second, nullptr);
}

// The Nth allocation fails once (injected): the retry succeeds.
TEST(MockCudaStrict, InjectedAllocationFailureIsRetried) {
  setenv("BREGMAN_MOCK_CUDA_FAIL_ALLOC", "1", 1);
  auto alloc = mgpu<AllocFn>("mgpuMemAlloc");
  takeError();
  void *block = alloc(12345, nullptr, false);
  unsetenv("BREGMAN_MOCK_CUDA_FAIL_ALLOC");
  EXPECT_NE(block, nullptr);
  EXPECT_EQ(takeError(), "");
}

// More than the device has: null, the size named, and nothing launched
// afterwards (the first failure is the one reported).
TEST(MockCudaStrict, OutOfMemoryNamesTheSizeAndStopsLaunches) {
  setenv("BREGMAN_MOCK_CUDA_MEMORY", "1000000", 1);
  auto alloc = mgpu<AllocFn>("mgpuMemAlloc");
  auto launch = mgpu<void(void *, intptr_t, intptr_t, intptr_t, intptr_t,
                          intptr_t, intptr_t, int32_t, void *, void **,
                          void **, size_t)>("mgpuLaunchKernel");
  takeError();
  EXPECT_EQ(alloc(2000000, nullptr, false), nullptr);
  launch(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  unsetenv("BREGMAN_MOCK_CUDA_MEMORY");
  std::string error = takeError();
  EXPECT_NE(error.find("out of GPU memory: allocating 1.9 MiB (2000000 "
                       "bytes) failed after releasing 0 bytes of cached "
                       "blocks: cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find("launch"), std::string::npos) << error;
}

// A whole step on a device too small for it fails with the size named.
TEST(MockCudaStrict, StepOutOfMemoryIsReported) {
  SKIP_WITHOUT_TOOLKIT();
  setenv("BREGMAN_MOCK_CUDA_MEMORY", "2048", 1);
  std::string error = runUpdate();
  unsetenv("BREGMAN_MOCK_CUDA_MEMORY");
  EXPECT_NE(error.find("out of GPU memory: allocating"), std::string::npos)
      << error;
}

} // namespace

//===----------------------------------------------------------------------===//
// The stand-in driver's streams, memory and launch checks, and the runtime's
// use of them: pinned staging, graph replay, the kernel lookup.
//===----------------------------------------------------------------------===//

namespace {

using runtime::cuda::CUdeviceptr;
using runtime::cuda::CUevent;
using runtime::cuda::CUstream;

const runtime::cuda::Driver &cu() {
  std::string reason;
  const runtime::cuda::Driver *d = runtime::cuda::driver(&reason);
  if (!d)
    throw std::runtime_error(reason);
  return *d;
}

/// A function of the mock itself (bregman_mock_cuda_*), by name.
template <typename Fn> Fn *mockFunction(const char *name) {
  cu(); // the runtime has loaded the driver
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  return lib ? reinterpret_cast<Fn *>(dlsym(lib, name)) : nullptr;
}
std::string lastRefusal() {
  auto *refusal = mockFunction<const char *()>("bregman_mock_cuda_last_refusal");
  return refusal ? refusal() : "(the mock is not loaded)";
}

constexpr unsigned kNonBlocking = 0x1;

struct StreamPair {
  CUstream a = nullptr, b = nullptr;
  explicit StreamPair(unsigned flags = kNonBlocking) {
    cu().cuStreamCreate(&a, flags);
    cu().cuStreamCreate(&b, flags);
  }
  ~StreamPair() {
    cu().cuStreamDestroy_v2(a);
    cu().cuStreamDestroy_v2(b);
  }
};

CUdeviceptr deviceFloats(size_t n) {
  CUdeviceptr ptr = 0;
  EXPECT_EQ(cu().cuMemAlloc_v2(&ptr, n * sizeof(float)), 0);
  return ptr;
}

/// Reads a device float with a synchronous copy (legacy default stream).
float readNow(CUdeviceptr ptr) {
  float value = 0;
  EXPECT_EQ(cu().cuMemcpyDtoH_v2(&value, ptr, sizeof(float)), 0);
  return value;
}

TEST(MockCudaStreams, NewDeviceMemoryIsNaN) {
  CUdeviceptr buffer = deviceFloats(4);
  std::vector<float> host(4, 0.0f);
  ASSERT_EQ(cu().cuMemcpyDtoH_v2(host.data(), buffer, 16), 0);
  for (float x : host)
    EXPECT_TRUE(std::isnan(x)) << x;
  cu().cuMemFree_v2(buffer);
}

// An upload on one stream and a download on another without a wait: the
// download sees what was there before (NaN); with the event wait, the value.
TEST(MockCudaStreams, AMissingStreamWaitReadsAStaleValue) {
  StreamPair s;
  CUdeviceptr buffer = deviceFloats(1);
  float seven = 7, read = 0;
  ASSERT_EQ(cu().cuMemcpyHtoDAsync_v2(buffer, &seven, 4, s.a), 0);
  ASSERT_EQ(cu().cuMemcpyDtoHAsync_v2(&read, buffer, 4, s.b), 0);
  EXPECT_TRUE(std::isnan(read)) << read;
  CUevent uploaded = nullptr;
  cu().cuEventCreate(&uploaded, 0);
  cu().cuEventRecord(uploaded, s.a);
  cu().cuStreamWaitEvent(s.b, uploaded, 0);
  ASSERT_EQ(cu().cuMemcpyDtoHAsync_v2(&read, buffer, 4, s.b), 0);
  EXPECT_EQ(read, 7.0f);
  cu().cuEventDestroy_v2(uploaded);
  cu().cuMemFree_v2(buffer);
}

// A synchronous copy waits for blocking streams only, as on the legacy
// default stream.
TEST(MockCudaStreams, SynchronousCopyDoesNotWaitForNonBlockingStreams) {
  StreamPair nonBlocking, blocking(0);
  CUdeviceptr x = deviceFloats(1), y = deviceFloats(1);
  float three = 3, five = 5;
  cu().cuMemcpyHtoDAsync_v2(x, &three, 4, nonBlocking.a);
  cu().cuMemcpyHtoDAsync_v2(y, &five, 4, blocking.a);
  EXPECT_TRUE(std::isnan(readNow(x)));
  EXPECT_EQ(readNow(y), 5.0f);
  ASSERT_EQ(cu().cuStreamSynchronize(nonBlocking.a), 0);
  EXPECT_EQ(readNow(x), 3.0f);
  cu().cuMemFree_v2(x);
  cu().cuMemFree_v2(y);
}

// An event synchronizes the work before it, not what was queued after.
TEST(MockCudaStreams, EventSynchronizeRunsUpToTheEvent) {
  StreamPair s;
  CUdeviceptr x = deviceFloats(1), y = deviceFloats(1);
  float one = 1, two = 2;
  CUevent first = nullptr;
  cu().cuEventCreate(&first, 0);
  cu().cuMemcpyHtoDAsync_v2(x, &one, 4, s.a);
  cu().cuEventRecord(first, s.a);
  cu().cuMemcpyHtoDAsync_v2(y, &two, 4, s.a);
  EXPECT_EQ(cu().cuEventQuery(first), 600); // CUDA_ERROR_NOT_READY
  ASSERT_EQ(cu().cuEventSynchronize(first), 0);
  EXPECT_EQ(cu().cuEventQuery(first), 0);
  EXPECT_EQ(readNow(x), 1.0f);
  EXPECT_TRUE(std::isnan(readNow(y)));
  cu().cuCtxSynchronize();
  EXPECT_EQ(readNow(y), 2.0f);
  cu().cuEventDestroy_v2(first);
  cu().cuMemFree_v2(x);
  cu().cuMemFree_v2(y);
}

// From pinned memory the copy reads its source when it runs; from pageable
// memory, at the call (the driver stages it).
TEST(MockCudaStreams, PinnedSourceIsReadWhenTheCopyRuns) {
  StreamPair s;
  CUdeviceptr x = deviceFloats(1), y = deviceFloats(1);
  void *pinned = nullptr;
  ASSERT_EQ(cu().cuMemAllocHost_v2(&pinned, 4), 0);
  float pageable = 1;
  *static_cast<float *>(pinned) = 1;
  cu().cuMemcpyHtoDAsync_v2(x, pinned, 4, s.a);
  cu().cuMemcpyHtoDAsync_v2(y, &pageable, 4, s.a);
  *static_cast<float *>(pinned) = 2;
  pageable = 2;
  cu().cuStreamSynchronize(s.a);
  EXPECT_EQ(readNow(x), 2.0f); // overwritten before its copy ran
  EXPECT_EQ(readNow(y), 1.0f);
  cu().cuMemFreeHost(pinned);
  cu().cuMemFree_v2(x);
  cu().cuMemFree_v2(y);
}

// A host function runs in stream order: after the copy queued before it,
// and only when the stream is waited for (how a stand-in library computes).
TEST(MockCudaStreams, HostFunctionRunsInStreamOrder) {
  using HostFn = int(void *, void (*)(void *), void *);
  auto *launchHostFunc = mockFunction<HostFn>("cuLaunchHostFunc");
  ASSERT_NE(launchHostFunc, nullptr);
  StreamPair s;
  CUdeviceptr x = deviceFloats(1);
  float four = 4;
  struct Seen {
    CUdeviceptr x;
    float value = 0;
    bool ran = false;
  } seen{x};
  cu().cuMemcpyHtoDAsync_v2(x, &four, 4, s.a);
  ASSERT_EQ(launchHostFunc(s.a,
                           [](void *p) {
                             auto *seen = static_cast<Seen *>(p);
                             std::memcpy(&seen->value,
                                         reinterpret_cast<void *>(seen->x), 4);
                             seen->ran = true;
                           },
                           &seen),
            0);
  EXPECT_FALSE(seen.ran);
  cu().cuStreamSynchronize(s.a);
  EXPECT_TRUE(seen.ran);
  EXPECT_EQ(seen.value, 4.0f);
  cu().cuMemFree_v2(x);
}

const char kTwoParamPtx[] =
    ".version 8.0\n.target sm_90\n.address_size 64\n"
    ".visible .entry scale(\n .param .u64 scale_param_0,\n"
    " .param .u32 scale_param_1\n)\n{\n ret;\n}\n";

runtime::cuda::CUfunction loadScale() {
  runtime::cuda::CUmodule module = nullptr;
  EXPECT_EQ(cu().cuModuleLoadDataEx(&module, kTwoParamPtx, 0, nullptr, nullptr),
            0);
  runtime::cuda::CUfunction f = nullptr;
  EXPECT_EQ(cu().cuModuleGetFunction(&f, module, "scale"), 0);
  return f;
}

TEST(MockCudaLaunch, ParametersAreCheckedAgainstTheEntry) {
  runtime::cuda::CUfunction f = loadScale();
  uint64_t pointer = 0;
  uint32_t count = 4;
  void *params[] = {&pointer, &count};
  EXPECT_EQ(cu().cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, params,
                                nullptr),
            0);
  EXPECT_EQ(cu().cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr,
                                nullptr),
            1);
  EXPECT_NE(lastRefusal().find("cuLaunchKernel(scale): the kernel takes 2 "
                               "parameters, none were passed"),
            std::string::npos)
      << lastRefusal();
  // The runtime checks the host code's count against the kernel's.
  ASSERT_NE(cu().cuFuncGetParamInfo, nullptr);
  auto launch = mgpu<void(void *, intptr_t, intptr_t, intptr_t, intptr_t,
                          intptr_t, intptr_t, int32_t, void *, void **,
                          void **, size_t)>("mgpuLaunchKernel");
  auto load = mgpu<void *(void *, size_t)>("mgpuModuleLoad");
  auto get = mgpu<void *(void *, const char *)>("mgpuModuleGetFunction");
  takeError();
  char ptx[sizeof(kTwoParamPtx)];
  std::memcpy(ptx, kTwoParamPtx, sizeof(ptx));
  void *kernel = get(load(ptx, sizeof(ptx)), "scale");
  ASSERT_NE(kernel, nullptr) << takeError();
  launch(kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr, 1);
  EXPECT_EQ(takeError(), "kernel launch refused: scale declares 2 "
                         "parameters, the host code passes 1");
  launch(kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr, 2);
  EXPECT_EQ(takeError(), "");
}

// As LLVM's NVPTX back end writes a kernel that stores through its first
// parameter (a memref's aligned pointer) at the offset its second gives.
const char kStorePtx[] =
    ".version 7.8\n.target sm_90\n.address_size 64\n"
    ".visible .entry store(\n .param .u64 store_param_0,\n"
    " .param .u64 store_param_1\n)\n{\n .reg .b64 %rd<5>;\n"
    " ld.param.b64 \t%rd1, [store_param_0];\n"
    " cvta.to.global.u64 \t%rd2, %rd1;\n"
    " ld.param.b64 \t%rd3, [store_param_1];\n"
    " add.s64 \t%rd4, %rd2, %rd3;\n st.global.b32 \t[%rd4], 0;\n ret;\n}\n";

TEST(MockCudaLaunch, PointerParametersMustHoldDeviceAddresses) {
  runtime::cuda::CUmodule module = nullptr;
  ASSERT_EQ(cu().cuModuleLoadDataEx(&module, kStorePtx, 0, nullptr, nullptr),
            0);
  runtime::cuda::CUfunction f = nullptr;
  ASSERT_EQ(cu().cuModuleGetFunction(&f, module, "store"), 0);
  runtime::cuda::CUdeviceptr block = 0;
  ASSERT_EQ(cu().cuMemAlloc_v2(&block, 64), 0);
  uint64_t pointer = block + 16, offset = 8;
  void *params[] = {&pointer, &offset};
  auto launch = [&] {
    return cu().cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, params,
                               nullptr);
  };
  EXPECT_EQ(launch(), 0) << lastRefusal();
  // The offset is not dereferenced: any value passes; the pointer and the
  // offset swapped (a packing bug) do not.
  std::swap(pointer, offset);
  EXPECT_EQ(launch(), 1);
  EXPECT_NE(lastRefusal().find("cuLaunchKernel(store): parameter 0 is a "
                               "pointer the kernel dereferences, but 0x8 is "
                               "not in live device memory"),
            std::string::npos)
      << lastRefusal();
  std::swap(pointer, offset);
  float host = 0;
  pointer = reinterpret_cast<uintptr_t>(&host);
  EXPECT_EQ(launch(), 1) << "a host address";
  pointer = block;
  // Captured into a graph, the launch replays while its block lives; after
  // cuMemFree the replay is refused, before anything is queued.
  StreamPair s;
  runtime::cuda::CUgraph graph = nullptr;
  runtime::cuda::CUgraphExec exec = nullptr;
  ASSERT_EQ(cu().cuStreamBeginCapture_v2(s.a, 2), 0);
  ASSERT_EQ(cu().cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s.a, params, nullptr), 0);
  ASSERT_EQ(cu().cuStreamEndCapture(s.a, &graph), 0);
  ASSERT_EQ(cu().cuGraphInstantiateWithFlags(&exec, graph, 0), 0);
  cu().cuGraphDestroy(graph);
  EXPECT_EQ(cu().cuGraphLaunch(exec, s.a), 0) << lastRefusal();
  cu().cuStreamSynchronize(s.a);
  ASSERT_EQ(cu().cuMemFree_v2(block), 0);
  EXPECT_EQ(launch(), 1) << "a freed block";
  EXPECT_EQ(cu().cuGraphLaunch(exec, s.a), 1);
  EXPECT_NE(lastRefusal().find("cuGraphLaunch(store): parameter 0 is a pointer"),
            std::string::npos)
      << lastRefusal();
  cu().cuGraphExecDestroy(exec);
}

// The compiled update's kernels, launched through the host code that
// gpu-to-llvm packs, pass device addresses wherever they dereference one
// (each kernel reads one buffer and writes another: at least two per
// launch; 13 in the update's 4 launches).
TEST(MockCudaLaunch, CompiledKernelsGetDeviceAddresses) {
  SKIP_WITHOUT_TOOLKIT();
  auto *checked = mockFunction<long()>("bregman_mock_cuda_pointer_parameters");
  auto *launches = mockFunction<long()>("bregman_mock_cuda_launches");
  ASSERT_NE(checked, nullptr);
  long before = checked(), launchesBefore = launches();
  EXPECT_EQ(runUpdate(), "");
  cu().cuCtxSynchronize();
  long kernels = launches() - launchesBefore;
  ASSERT_GT(kernels, 0);
  EXPECT_GE(checked() - before, 2 * kernels) << kernels << " launches";
}

TEST(MockCudaLaunch, GridBlockAndSharedMemoryLimitsAreEnforced) {
  runtime::cuda::CUfunction f = loadScale();
  uint64_t pointer = 0;
  uint32_t count = 4;
  void *params[] = {&pointer, &count};
  auto launch = [&](unsigned gy, unsigned bx, unsigned by, unsigned bz,
                    unsigned shared) {
    return cu().cuLaunchKernel(f, 1, gy, 1, bx, by, bz, shared, nullptr,
                               params, nullptr);
  };
  EXPECT_EQ(launch(1, 1024, 1, 1, 0), 0);
  EXPECT_EQ(launch(1, 32, 64, 1, 0), 1);
  EXPECT_NE(lastRefusal().find("block of 2048 threads, above 1024"),
            std::string::npos)
      << lastRefusal();
  EXPECT_EQ(launch(1, 1, 1, 65, 0), 1);
  EXPECT_EQ(launch(70000, 32, 1, 1, 0), 1);
  EXPECT_EQ(launch(1, 0, 1, 1, 0), 1);
  EXPECT_EQ(launch(1, 32, 1, 1, 64 * 1024), 1);
  EXPECT_NE(lastRefusal().find("cuLaunchKernel(scale): 65536 bytes of "
                               "dynamic shared memory, above the limit of "
                               "49152"),
            std::string::npos)
      << lastRefusal();
  // Opting in (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) raises it.
  ASSERT_EQ(cu().cuFuncSetAttribute(f, 8, 64 * 1024), 0);
  EXPECT_EQ(launch(1, 32, 1, 1, 64 * 1024), 0);
  EXPECT_EQ(cu().cuFuncSetAttribute(f, 8, 300 * 1024), 1);
}

// Capture records the queue; each replay runs the same operations again,
// on the values the buffers hold then; a synchronization while capturing
// invalidates the capture.
TEST(MockCudaGraphs, ReplayRunsTheCapturedOperations) {
  StreamPair s;
  CUdeviceptr src = deviceFloats(1), dst = deviceFloats(1);
  ASSERT_EQ(cu().cuStreamBeginCapture_v2(s.a, 2), 0);
  ASSERT_EQ(cu().cuMemcpyAsync(dst, src, 4, s.a), 0);
  runtime::cuda::CUgraph graph = nullptr;
  ASSERT_EQ(cu().cuStreamEndCapture(s.a, &graph), 0);
  runtime::cuda::CUgraphExec exec = nullptr;
  ASSERT_EQ(cu().cuGraphInstantiateWithFlags(&exec, graph, 0), 0);
  cu().cuGraphDestroy(graph);
  EXPECT_TRUE(std::isnan(readNow(dst))); // capturing ran nothing
  for (float value : {1.0f, 2.0f, 3.0f}) {
    cu().cuMemcpyHtoDAsync_v2(src, &value, 4, s.a);
    ASSERT_EQ(cu().cuGraphLaunch(exec, s.a), 0);
    cu().cuStreamSynchronize(s.a);
    EXPECT_EQ(readNow(dst), value);
  }
  cu().cuGraphExecDestroy(exec);
  ASSERT_EQ(cu().cuStreamBeginCapture_v2(s.a, 2), 0);
  EXPECT_EQ(cu().cuStreamSynchronize(s.a), 900);
  EXPECT_EQ(cu().cuStreamEndCapture(s.a, &graph), 901);
  cu().cuMemFree_v2(src);
  cu().cuMemFree_v2(dst);
}

// Uploads go through eight pinned staging buffers in turn: the ninth
// reuses the first's buffer, and must wait until the first copy ran (the
// mock's copy from pinned memory reads it only then).
TEST(MockCudaStaging, StagingBufferIsNotOverwrittenBeforeItsCopyRan) {
  constexpr int kUploads = 20;
  runtime::DeviceMemory &device = runtime::cudaDevice();
  std::vector<void *> blocks;
  std::vector<float> host(256);
  for (int k = 0; k < kUploads; ++k) {
    blocks.push_back(device.allocate(host.size() * sizeof(float)));
    std::fill(host.begin(), host.end(), float(k + 1));
    device.copyToDevice(blocks.back(), host.data(), host.size() * sizeof(float));
  }
  for (int k = 0; k < kUploads; ++k) {
    device.copyToHost(host.data(), blocks[k], host.size() * sizeof(float),
                      nullptr);
    EXPECT_EQ(host[0], float(k + 1)) << "upload " << k;
    EXPECT_EQ(host[255], float(k + 1)) << "upload " << k;
    device.release(blocks[k]);
  }
}

long mockLaunches() {
  auto *count = mockFunction<long()>("bregman_mock_cuda_launches");
  return count ? count() : -1;
}

/// Runs `steps` calls of a saved update artifact; the launches the mock
/// executed per call, the final state, and the profile line.
struct ArtifactRun {
  std::vector<long> launchesPerCall;
  std::vector<float> theta;
  std::string profile;
};
ArtifactRun runArtifact(const std::string &dir, int steps) {
  ArtifactRun run;
  std::unique_ptr<runtime::Artifact> a = runtime::Artifact::load(dir);
  for (int k = 0; k < steps; ++k) {
    long before = mockLaunches();
    a->step();
    a->synchronize();
    run.launchesPerCall.push_back(mockLaunches() - before);
  }
  const float *t = static_cast<const float *>(a->input(0).data());
  run.theta.assign(t, t + 4);
  run.profile = a->stepProfile();
  return run;
}

// The step replayed as a graph executes the same launches per call as the
// plain host code, over several calls, with the same values.
TEST(MockCudaGraphs, StepReplayMatchesPlainLaunches) {
  SKIP_WITHOUT_TOOLKIT();
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("bregman-mock-graph-" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto update = makeUpdate();
  Tensor theta = Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4});
  Tensor v = Tensor::zeros({4}), g = Tensor::zeros({4});
  Params h;
  h.add("lr", Tensor::scalar(0.1f));
  h.add("delta", Tensor::scalar(1.0f));
  h.add("lambda", Tensor::scalar(0.2f));
  update.save(dir.string(), theta, v, g, h);
  setenv("BREGMAN_CUDA_GRAPHS", "0", 1);
  ArtifactRun plain = runArtifact(dir.string(), 5);
  unsetenv("BREGMAN_CUDA_GRAPHS");
  ArtifactRun replayed = runArtifact(dir.string(), 5);
  fs::remove_all(dir);
  ASSERT_GT(plain.launchesPerCall[0], 0);
  EXPECT_EQ(replayed.launchesPerCall, plain.launchesPerCall);
  EXPECT_EQ(replayed.theta, plain.theta);
  EXPECT_EQ(plain.profile.find("graph"), std::string::npos) << plain.profile;
  EXPECT_EQ(replayed.profile,
            "launches per step: " + std::to_string(plain.launchesPerCall[0]) +
                " kernels + 0 library calls (replayed as one CUDA graph)");
  EXPECT_EQ(takeError(), "");
}

// The per-launch kernel lookup reads a thread's own copy, without a lock:
// timed against the former mutex-guarded map lookup in the same run.
TEST(MockCudaLaunch, KernelLookupTakesNoLock) {
  auto load = mgpu<void *(void *, size_t)>("mgpuModuleLoad");
  auto get = mgpu<void *(void *, const char *)>("mgpuModuleGetFunction");
  char ptx[sizeof(kTwoParamPtx)];
  std::memcpy(ptx, kTwoParamPtx, sizeof(ptx));
  void *module = load(ptx, sizeof(ptx));
  static const char *const name = "scale";
  void *first = get(module, name);
  ASSERT_NE(first, nullptr);
  std::mutex mutex;
  std::map<std::pair<void *, const char *>, void *> locked{
      {{module, name}, first}};
  constexpr int kLookups = 2000000;
  auto cpuNs = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
  };
  void *volatile sink = nullptr;
  double t0 = cpuNs();
  for (int i = 0; i < kLookups; ++i)
    sink = get(module, name);
  double t1 = cpuNs();
  for (int i = 0; i < kLookups; ++i) {
    std::lock_guard<std::mutex> lock(mutex);
    sink = locked.find({module, name})->second;
  }
  double t2 = cpuNs();
  EXPECT_EQ(sink, first);
  EXPECT_EQ(get(module, name), first);
  std::printf("kernel lookup: %.1f ns (thread copy) vs %.1f ns (mutex + map), "
              "CPU time per lookup\n",
              (t1 - t0) / kLookups, (t2 - t1) / kLookups);
  // An unloaded module's kernels leave every copy: a module loaded at the
  // same address gets its own function, not the dead one's.
  mgpu<void(void *)>("mgpuModuleUnload")(module);
  void *again = nullptr;
  for (int k = 0; k < 4 && again != module; ++k)
    again = load(ptx, sizeof(ptx)); // the allocator usually gives it back
  void *fresh = get(again, name);
  EXPECT_NE(fresh, nullptr);
  if (again == module)
    EXPECT_NE(fresh, first);
  EXPECT_EQ(takeError(), "");
}

} // namespace

//===----------------------------------------------------------------------===//
// The stand-in cuBLAS (MockCublas.cpp): the runtime's GEMM on the device,
// in stream order, against float64.
//===----------------------------------------------------------------------===//

namespace {

// C = op(A)·op(B) + beta·C for each transpose, computed behind the uploads
// queued before it (a GEMM run at the call would read NaN memory), and read
// back after the runtime's wait.
TEST(MockCublas, GemmRunsInStreamOrderAndMatchesFloat64) {
  setenv("BREGMAN_CUBLAS", BREGMAN_MOCK_CUBLAS, 1);
  runtime::DeviceMemory &device = runtime::cudaDevice();
  const int m = 3, n = 4, k = 5;
  std::vector<float> a(m * k), b(k * n), c0(m * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = std::sin(0.3f * float(i) + 0.1f);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = std::cos(0.7f * float(i));
  for (size_t i = 0; i < c0.size(); ++i)
    c0[i] = 0.25f * float(i);
  auto upload = [&](const std::vector<float> &host) {
    void *ptr = device.allocate(host.size() * sizeof(float));
    device.copyToDevice(ptr, host.data(), host.size() * sizeof(float));
    return ptr;
  };
  for (int transA : {0, 1})
    for (int transB : {0, 1}) {
      // Stored as op(X)'s transpose where transposed: same values, read
      // through op.
      auto stored = [](const std::vector<float> &x, int rows, int cols,
                       int trans) {
        if (!trans)
          return x;
        std::vector<float> t(x.size());
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c)
            t[c * rows + r] = x[r * cols + c];
        return t;
      };
      void *da = upload(stored(a, m, k, transA));
      void *db = upload(stored(b, k, n, transB));
      void *dc = upload(c0);
      const float beta = 0.5f;
      bregman_gpu_sgemm(transA, transB, m, n, k, beta,
                        reinterpret_cast<intptr_t>(da),
                        reinterpret_cast<intptr_t>(db),
                        reinterpret_cast<intptr_t>(dc));
      ASSERT_EQ(takeError(), "");
      std::vector<float> c(m * n);
      device.copyToHost(c.data(), dc, c.size() * sizeof(float), nullptr);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double ref = beta * double(c0[i * n + j]);
          for (int p = 0; p < k; ++p)
            ref += double(a[i * k + p]) * double(b[p * n + j]);
          EXPECT_NEAR(c[i * n + j], ref, 1e-5)
              << "C[" << i << "," << j << "], transA " << transA
              << ", transB " << transB;
        }
      for (void *p : {da, db, dc})
        device.release(p);
    }
  unsetenv("BREGMAN_CUBLAS");
}

} // namespace

//===----------------------------------------------------------------------===//
// The stand-in cuDNN (MockCudnn.cpp) in stream order: a convolution reads
// what was queued before it on its stream, so a missing wait reads NaN.
//===----------------------------------------------------------------------===//

namespace {

/// x [1, 2, 5, 5], w [3, 2, 3, 3], padding 1, stride 1: y [1, 3, 5, 5].
constexpr int kC = 2, kF = 3, kSide = 5, kK = 3;
std::vector<float> convInput() {
  std::vector<float> x(kC * kSide * kSide);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * float(i) + 0.1f);
  return x;
}
std::vector<float> convFilter() {
  std::vector<float> w(kF * kC * kK * kK);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = std::cos(0.61f * float(i));
  return w;
}
/// The cross-correlation in float64.
std::vector<double> convReference(const std::vector<float> &x,
                                  const std::vector<float> &w) {
  std::vector<double> y(kF * kSide * kSide, 0.0);
  for (int f = 0; f < kF; ++f)
    for (int oh = 0; oh < kSide; ++oh)
      for (int ow = 0; ow < kSide; ++ow)
        for (int c = 0; c < kC; ++c)
          for (int i = 0; i < kK; ++i)
            for (int j = 0; j < kK; ++j) {
              int ih = oh - 1 + i, iw = ow - 1 + j;
              if (ih < 0 || ih >= kSide || iw < 0 || iw >= kSide)
                continue;
              y[(f * kSide + oh) * kSide + ow] +=
                  double(x[(c * kSide + ih) * kSide + iw]) *
                  double(w[((f * kC + c) * kK + i) * kK + j]);
            }
  return y;
}

// Through the runtime: the convolution is queued on the runtime's stream
// behind the uploads (at the call nothing is computed yet: a synchronous
// copy, which does not wait for that non-blocking stream, still reads NaN)
// and the download after the runtime's wait reads the float64 result.
TEST(MockCudnnStreams, ConvolutionRunsBehindTheUploadsOnItsStream) {
  setenv("BREGMAN_CUDNN", BREGMAN_MOCK_CUDNN, 1);
  runtime::DeviceMemory &device = runtime::cudaDevice();
  std::vector<float> x = convInput(), w = convFilter();
  auto upload = [&](const std::vector<float> &host) {
    void *ptr = device.allocate(host.size() * sizeof(float));
    device.copyToDevice(ptr, host.data(), host.size() * sizeof(float));
    return ptr;
  };
  void *dx = upload(x), *dw = upload(w);
  void *dy = device.allocate(kF * kSide * kSide * sizeof(float));
  bregman_gpu_conv2d_forward(1, kC, kSide, kSide, kF, kK, kK, kSide, kSide, 1,
                             1, 1, 1, 1, 1, 1, reinterpret_cast<intptr_t>(dx),
                             reinterpret_cast<intptr_t>(dw),
                             reinterpret_cast<intptr_t>(dy));
  ASSERT_EQ(takeError(), "");
  EXPECT_TRUE(std::isnan(readNow(reinterpret_cast<CUdeviceptr>(dy))));
  std::vector<float> y(kF * kSide * kSide);
  device.copyToHost(y.data(), dy, y.size() * sizeof(float), nullptr);
  std::vector<double> want = convReference(x, w);
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y[i], want[i], 1e-5) << "y[" << i << "]";
  for (void *p : {dx, dw, dy})
    device.release(p);
  unsetenv("BREGMAN_CUDNN");
}

/// The stand-in cuDNN's entry points, called directly (the runtime binds
/// its handle to its own stream; here the test picks the stream).
struct DirectCudnn {
  void *lib = dlopen(BREGMAN_MOCK_CUDNN, RTLD_NOW);
  template <typename Fn> Fn sym(const char *name) const {
    return lib ? reinterpret_cast<Fn>(dlsym(lib, name)) : nullptr;
  }
  ~DirectCudnn() {
    if (lib)
      dlclose(lib);
  }
};

// Inputs uploaded on stream a, the convolution queued on stream b. Without
// a wait, b's convolution runs before a's copies: it reads the NaN of fresh
// memory. With cuStreamWaitEvent on an event recorded after the uploads, it
// reads the inputs and matches float64.
TEST(MockCudnnStreams, AMissingWaitBeforeAConvolutionReadsNaN) {
  namespace dnn = runtime::cuda::cudnn;
  DirectCudnn cudnn;
  ASSERT_NE(cudnn.lib, nullptr) << dlerror();
  auto create = cudnn.sym<dnn::CreateFn>("cudnnCreate");
  auto setStream = cudnn.sym<dnn::SetStreamFn>("cudnnSetStream");
  auto createTensor =
      cudnn.sym<dnn::CreateTensorDescriptorFn>("cudnnCreateTensorDescriptor");
  auto setTensor =
      cudnn.sym<dnn::SetTensor4dDescriptorFn>("cudnnSetTensor4dDescriptor");
  auto createFilter =
      cudnn.sym<dnn::CreateFilterDescriptorFn>("cudnnCreateFilterDescriptor");
  auto setFilter =
      cudnn.sym<dnn::SetFilter4dDescriptorFn>("cudnnSetFilter4dDescriptor");
  auto createConv = cudnn.sym<dnn::CreateConvolutionDescriptorFn>(
      "cudnnCreateConvolutionDescriptor");
  auto setConv = cudnn.sym<dnn::SetConvolution2dDescriptorFn>(
      "cudnnSetConvolution2dDescriptor");
  auto forward =
      cudnn.sym<dnn::ConvolutionForwardFn>("cudnnConvolutionForward");
  ASSERT_TRUE(create && setStream && createTensor && setTensor &&
              createFilter && setFilter && createConv && setConv && forward);

  StreamPair s;
  dnn::Handle handle = nullptr;
  ASSERT_EQ(create(&handle), dnn::kSuccess);
  ASSERT_EQ(setStream(handle, s.b), dnn::kSuccess);
  dnn::TensorDesc xd = nullptr, yd = nullptr;
  dnn::FilterDesc wd = nullptr;
  dnn::ConvDesc cd = nullptr;
  createTensor(&xd);
  createTensor(&yd);
  createFilter(&wd);
  createConv(&cd);
  ASSERT_EQ(setTensor(xd, dnn::kNchw, dnn::kFloat, 1, kC, kSide, kSide), 0);
  ASSERT_EQ(setTensor(yd, dnn::kNchw, dnn::kFloat, 1, kF, kSide, kSide), 0);
  ASSERT_EQ(setFilter(wd, dnn::kFloat, dnn::kNchw, kF, kC, kK, kK), 0);
  ASSERT_EQ(setConv(cd, 1, 1, 1, 1, 1, 1, dnn::kCrossCorrelation, dnn::kFloat),
            0);

  std::vector<float> x = convInput(), w = convFilter();
  CUdeviceptr dx = deviceFloats(x.size()), dw = deviceFloats(w.size()),
              dy = deviceFloats(kF * kSide * kSide),
              workspace = deviceFloats(64);
  ASSERT_EQ(cu().cuMemcpyHtoDAsync_v2(dx, x.data(), x.size() * 4, s.a), 0);
  ASSERT_EQ(cu().cuMemcpyHtoDAsync_v2(dw, w.data(), w.size() * 4, s.a), 0);
  const float one = 1, zero = 0;
  auto p = [](CUdeviceptr d) { return reinterpret_cast<void *>(d); };
  auto convolve = [&] {
    return forward(handle, &one, xd, p(dx), wd, p(dw), cd, 0, p(workspace),
                   256, &zero, yd, p(dy));
  };
  std::vector<float> y(kF * kSide * kSide);
  auto download = [&] {
    EXPECT_EQ(cu().cuMemcpyDtoHAsync_v2(y.data(), dy, y.size() * 4, s.b), 0);
  };

  ASSERT_EQ(convolve(), dnn::kSuccess);
  download();
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_TRUE(std::isnan(y[i])) << "y[" << i << "] = " << y[i];

  CUevent uploaded = nullptr;
  cu().cuEventCreate(&uploaded, 0);
  cu().cuEventRecord(uploaded, s.a);
  cu().cuStreamWaitEvent(s.b, uploaded, 0);
  ASSERT_EQ(convolve(), dnn::kSuccess);
  download();
  std::vector<double> want = convReference(x, w);
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y[i], want[i], 1e-5) << "y[" << i << "]";
  cu().cuEventDestroy_v2(uploaded);
  for (CUdeviceptr d : {dx, dw, dy, workspace})
    cu().cuMemFree_v2(d);
}

} // namespace
