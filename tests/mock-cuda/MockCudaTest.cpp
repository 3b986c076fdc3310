//===- MockCudaTest.cpp - The runtime's CUDA host logic, without a GPU ----===//
//
// Runs with tests/mock-cuda's libcuda.so.1 first on LD_LIBRARY_PATH (ctest
// sets it): the driver is found and probed, PTX modules load, kernels
// "launch" (they do not run), device memory round-trips, and failures come
// back as errors naming the driver call and the CUDA error. With the mock
// cuDNN (MockCudnn.cpp), the convolution calls compute what the CPU's do.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace bregman;

namespace {

auto makeUpdate() {
  return jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &g,
         const Params &h) {
        std::vector<Tensor> r =
            linbregUpdate(Regularizer::L1, theta, v, g, h.at("lr"),
                          h.at("delta"), h.at("lambda"));
        // A fresh output too (not donated): its device buffer is new.
        return std::make_tuple(r[0], r[1], r[0] * g);
      },
      JitOptions{{0, 1}, "mock_update", Device::Cuda});
}

Params hyper() {
  Params h;
  h.add("lr", Tensor::scalar(0.1f));
  h.add("delta", Tensor::scalar(1.0f));
  h.add("lambda", Tensor::scalar(0.2f));
  return h;
}

TEST(MockCuda, ProbeFindsTheDevice) {
  runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
  ASSERT_TRUE(info.available) << info.reason
                              << " (is the mock first on LD_LIBRARY_PATH?)";
  EXPECT_EQ(info.name, "bregman mock GPU");
  EXPECT_EQ(info.major, 9);
}

TEST(MockCuda, DataRoundTripsThroughDeviceMemory) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
  auto update = makeUpdate();
  Tensor theta = Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4});
  Tensor v = Tensor::fromVector(std::vector<float>{5, 6, 7, 8}, {4});
  Tensor g = Tensor::fromVector(std::vector<float>{9, 10, 11, 12}, {4});
  auto [t2, v2, fresh] = update(theta, v, g, hyper());
  // The mock runs no kernel: the donated buffers come back as uploaded,
  // through device memory and back; the fresh output as allocated (the
  // mock fills new device memory with NaN, never zeros).
  EXPECT_EQ(t2.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(v2.toVector<float>(), (std::vector<float>{5, 6, 7, 8}));
  for (float x : fresh.toVector<float>())
    EXPECT_TRUE(std::isnan(x)) << x;
  // A host write is uploaded before the next call.
  t2.data<float>()[0] = 42;
  auto [t3, v3, fresh3] = update(t2, v2, g, hyper());
  EXPECT_EQ(t3.toVector<float>()[0], 42.0f);
}

TEST(MockCuda, LaunchFailureNamesTheCall) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  auto update = makeUpdate();
  Tensor theta = Tensor::zeros({4}), v = Tensor::zeros({4}), g = Tensor::zeros({4});
  // Compiled, modules loaded; theta and v are consumed (donated).
  auto [t2, v2, fresh] = update(theta, v, g, hyper());
  setenv("BREGMAN_MOCK_CUDA_FAIL", "cuLaunchKernel", 1);
  try {
    update(t2, v2, g, hyper());
    FAIL() << "a failed launch must be reported";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "mock_update: on the GPU: cuLaunchKernel failed: "
                  "CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure)"),
              std::string::npos)
        << e.what();
  }
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
}

TEST(MockCuda, FailedUploadNamesTheCall) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  auto update = makeUpdate();
  Tensor theta = Tensor::zeros({4}), v = Tensor::zeros({4}), g = Tensor::zeros({4});
  setenv("BREGMAN_MOCK_CUDA_FAIL", "cuMemcpyHtoDAsync", 1);
  try {
    update(theta, v, g, hyper());
    FAIL() << "a failed upload must be reported";
  } catch (const std::exception &e) {
    EXPECT_NE(std::string(e.what()).find("cuMemcpyHtoDAsync failed: "
                                         "CUDA_ERROR_LAUNCH_FAILED"),
              std::string::npos)
        << e.what();
  }
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
}

// A result is read after waiting for its own call's work only (an event),
// through the copy stream; a failure there is named.
TEST(MockCuda, ResultsComeBackThroughTheCopyStream) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
  auto update = makeUpdate();
  Tensor theta = Tensor::zeros({4}), v = Tensor::zeros({4}), g = Tensor::zeros({4});
  auto [t2, v2, fresh] = update(theta, v, g, hyper());
  setenv("BREGMAN_MOCK_CUDA_FAIL", "cuMemcpyDtoHAsync", 1);
  try {
    fresh.toVector<float>();
    FAIL() << "a failed download must be reported";
  } catch (const std::exception &e) {
    EXPECT_NE(std::string(e.what()).find("cuMemcpyDtoHAsync failed: "
                                         "CUDA_ERROR_LAUNCH_FAILED"),
              std::string::npos)
        << e.what();
  }
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
}

// The only test here that uses cuBLAS (it is loaded once per process).
TEST(MockCuda, MissingCublasIsNamed) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  setenv("BREGMAN_CUBLAS", "/nonexistent/libcublas.so", 1);
  auto product = jit(
      [](const Tensor &a, const Tensor &b) { return bregman::matmul(a, b); },
      JitOptions{{}, "mock_matmul", Device::Cuda});
  try {
    product(Tensor::zeros({4, 8}), Tensor::zeros({8, 2}));
    FAIL() << "a missing cuBLAS must be reported";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "cuBLAS not found (dlopen /nonexistent/libcublas.so"),
              std::string::npos)
        << e.what();
  }
}

TEST(MockCuda, CudaArtifactLoadsAndRuns) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("bregman-mock-artifact-" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto update = makeUpdate();
  Tensor theta = Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4});
  Tensor v = Tensor::zeros({4}), g = Tensor::zeros({4});
  update.save(dir.string(), theta, v, g, hyper());
  std::unique_ptr<runtime::Artifact> a = runtime::Artifact::load(dir.string());
  EXPECT_EQ(a->device, "cuda");
  a->step();
  a->synchronize();
  const float *t = static_cast<const float *>(a->input(0).data());
  EXPECT_EQ(t[3], 4.0f); // uploaded, not changed (no kernel ran), downloaded
  fs::remove_all(dir);
}

} // namespace

//===----------------------------------------------------------------------===//
// cuDNN calls (bregman_gpu_conv2d_*) against the CPU's oneDNN ones, with the
// mock cuDNN computing on the mock driver's host "device" memory.
//===----------------------------------------------------------------------===//

namespace {

struct ConvGeometry {
  intptr_t n, c, h, w, f, kh, kw, stride, pad, dilation, groups;
  intptr_t out(intptr_t in, intptr_t k) const {
    return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
  }
};

std::vector<float> filled(size_t n, float phase) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = std::sin(phase + 0.37f * static_cast<float>(i));
  return v;
}

class MockCudnn : public ::testing::TestWithParam<ConvGeometry> {};

TEST_P(MockCudnn, CallsComputeWhatTheCpuComputes) {
  setenv("BREGMAN_CUDNN", BREGMAN_MOCK_CUDNN, 1);
  ConvGeometry g = GetParam();
  intptr_t oh = g.out(g.h, g.kh), ow = g.out(g.w, g.kw);
  std::vector<float> x = filled(g.n * g.c * g.h * g.w, 0.1f);
  std::vector<float> w = filled(g.f * (g.c / g.groups) * g.kh * g.kw, 0.7f);
  std::vector<float> dy = filled(g.n * g.f * oh * ow, 1.3f);
  auto addr = [](std::vector<float> &v) {
    return reinterpret_cast<intptr_t>(v.data());
  };
#define GEOMETRY                                                               \
  g.n, g.c, g.h, g.w, g.f, g.kh, g.kw, oh, ow, g.stride, g.stride, g.pad,      \
      g.pad, g.dilation, g.dilation, g.groups
  std::vector<float> y(dy.size(), 9.0f), yRef(dy.size());
  std::vector<float> dx(x.size(), 9.0f), dxRef(x.size());
  std::vector<float> dw(w.size(), 9.0f), dwRef(w.size());
  bregman_cpu_conv2d_forward(GEOMETRY, addr(x), addr(w), addr(yRef));
  bregman_cpu_conv2d_grad_input(GEOMETRY, addr(dy), addr(w), addr(dxRef));
  bregman_cpu_conv2d_grad_filter(GEOMETRY, addr(x), addr(dy), addr(dwRef));
  bregman_gpu_conv2d_forward(GEOMETRY, addr(x), addr(w), addr(y));
  bregman_gpu_conv2d_grad_input(GEOMETRY, addr(dy), addr(w), addr(dx));
  bregman_gpu_conv2d_grad_filter(GEOMETRY, addr(x), addr(dy), addr(dw));
#undef GEOMETRY
  ASSERT_STREQ(bregman_cuda_take_error(), "");
  // The mock computes in stream order: wait for the runtime's stream.
  runtime::cudaDevice().synchronize();
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y[i], yRef[i], 1e-4) << "y[" << i << "]";
  for (size_t i = 0; i < dx.size(); ++i)
    ASSERT_NEAR(dx[i], dxRef[i], 1e-4) << "dx[" << i << "]";
  for (size_t i = 0; i < dw.size(); ++i)
    ASSERT_NEAR(dw[i], dwRef[i], 1e-4) << "dw[" << i << "]";
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, MockCudnn,
    ::testing::Values(ConvGeometry{2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1},
                      ConvGeometry{2, 4, 9, 8, 6, 3, 3, 2, 1, 1, 2},
                      ConvGeometry{1, 2, 10, 10, 3, 3, 3, 1, 2, 2, 1},
                      ConvGeometry{2, 4, 5, 5, 4, 1, 1, 1, 0, 1, 4},
                      ConvGeometry{3, 1, 12, 12, 5, 5, 5, 1, 0, 1, 1}),
    [](const auto &info) {
      const ConvGeometry &g = info.param;
      return "c" + std::to_string(g.c) + "_f" + std::to_string(g.f) + "_k" +
             std::to_string(g.kh) + "_s" + std::to_string(g.stride) + "_p" +
             std::to_string(g.pad) + "_d" + std::to_string(g.dilation) +
             "_g" + std::to_string(g.groups);
    });

} // namespace
