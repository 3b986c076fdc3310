//===- MockCudaTest.cpp - The runtime's CUDA host logic, without a GPU ----===//
//
// Runs with tests/mock-cuda's libcuda.so.1 first on LD_LIBRARY_PATH (ctest
// sets it): the driver is found and probed, PTX modules load, kernels
// "launch" (they do not run), device memory round-trips, and failures come
// back as errors naming the driver call and the CUDA error.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CudaDriver.h"

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
  unsetenv("BREGMAN_MOCK_CUDA_FAIL");
  auto update = makeUpdate();
  Tensor theta = Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4});
  Tensor v = Tensor::fromVector(std::vector<float>{5, 6, 7, 8}, {4});
  Tensor g = Tensor::fromVector(std::vector<float>{9, 10, 11, 12}, {4});
  auto [t2, v2, fresh] = update(theta, v, g, hyper());
  // The mock runs no kernel: the donated buffers come back as uploaded,
  // through device memory and back; the fresh output as allocated (zeros).
  EXPECT_EQ(t2.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(v2.toVector<float>(), (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(fresh.toVector<float>(), (std::vector<float>{0, 0, 0, 0}));
  // A host write is uploaded before the next call.
  t2.data<float>()[0] = 42;
  auto [t3, v3, fresh3] = update(t2, v2, g, hyper());
  EXPECT_EQ(t3.toVector<float>()[0], 42.0f);
}

TEST(MockCuda, LaunchFailureNamesTheCall) {
  auto update = makeUpdate();
  Tensor theta = Tensor::zeros({4}), v = Tensor::zeros({4}), g = Tensor::zeros({4});
  update(theta, v, g, hyper()); // compiled, modules loaded
  setenv("BREGMAN_MOCK_CUDA_FAIL", "cuLaunchKernel", 1);
  try {
    update(theta, v, g, hyper());
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

// The only test here that uses cuBLAS (it is loaded once per process).
TEST(MockCuda, MissingCublasIsNamed) {
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
