//===- MockCudaStrictTest.cpp - Module logs, kernel names, out of memory --===//
//
// With the stand-in driver (MockCudaDriver.cpp): a module that fails to load
// is reported with the JIT's log; PTX is compiled for the device's compute
// capability; unknown kernel names are refused; out of memory releases the
// block cache and retries, then fails naming the size; nothing is launched
// while a failure is pending; the cache reuses a block that fits closely.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <string>

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
