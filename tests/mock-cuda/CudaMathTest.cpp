//===- CudaMathTest.cpp - The TF32 switch as cuBLAS and cuDNN see it ------===//
//
// With the mock driver, cuBLAS (MockCublas.cpp) and cuDNN (MockCudnn.cpp),
// which record the math mode they are asked for: plain FP32 by default
// (CUBLAS_DEFAULT_MATH, CUDNN_FMA_MATH), TF32 tensor-core math
// (CUBLAS_TF32_TENSOR_OP_MATH, CUDNN_TENSOR_OP_MATH) after setCudaTf32(true)
// or with BREGMAN_TF32=1, and back. The GEMM's values are checked against a
// float64 reference (the mock computes; the layout mapping is the runtime's).
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaMath.h"

#include <cmath>
#include <cstdlib>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using bregman::runtime::cudaTf32;
using bregman::runtime::setCudaTf32;

namespace {

constexpr int kCublasDefaultMath = 0, kCublasTf32 = 3;
constexpr int kCudnnTensorOp = 1, kCudnnFma = 3;

/// A query function of the mock library at `path` (the runtime has opened
/// the same file, so this is the same instance).
int askMock(const char *path, const char *symbol) {
  void *lib = dlopen(path, RTLD_NOW);
  auto fn = lib ? reinterpret_cast<int (*)()>(dlsym(lib, symbol)) : nullptr;
  return fn ? fn() : -100;
}

/// Runs what the runtime queued on the stand-in driver's streams (its
/// cuBLAS computes in stream order, as the real one does).
void synchronizeMockDriver() {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  auto sync = driver ? reinterpret_cast<int (*)()>(dlsym(driver, "cuCtxSynchronize"))
                     : nullptr;
  ASSERT_NE(sync, nullptr) << "the stand-in driver is not loaded";
  ASSERT_EQ(sync(), 0);
}

class CudaMath : public ::testing::Test {
protected:
  void SetUp() override {
    setenv("BREGMAN_CUBLAS", BREGMAN_MOCK_CUBLAS, 1);
    setenv("BREGMAN_CUDNN", BREGMAN_MOCK_CUDNN, 1);
    unsetenv("BREGMAN_TF32");
    bregman::runtime::resetCudaTf32();
  }

  /// Row-major C[2x3] = A[2x4] * B^T (B stored 3x4) on the mock; checked
  /// against float64 sums. Returns the math mode cuBLAS ran with.
  int gemm() {
    std::vector<float> a(8), b(12), c(6, 7.0f);
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = std::sin(0.3f * float(i) + 0.1f);
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = std::cos(0.7f * float(i));
    auto addr = [](std::vector<float> &v) {
      return reinterpret_cast<intptr_t>(v.data());
    };
    bregman_gpu_sgemm(0, 1, 2, 3, 4, 0.0f, addr(a), addr(b), addr(c));
    EXPECT_STREQ(bregman_cuda_take_error(), "");
    synchronizeMockDriver();
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        double want = 0;
        for (int p = 0; p < 4; ++p)
          want += double(a[i * 4 + p]) * double(b[j * 4 + p]);
        EXPECT_NEAR(c[i * 3 + j], want, 1e-6) << "C[" << i << "," << j << "]";
      }
    return askMock(BREGMAN_MOCK_CUBLAS, "bregman_mock_cublas_math_mode");
  }

  /// One small convolution on the mock; the math type cuDNN ran it with.
  int conv() {
    std::vector<float> x(2 * 3 * 5 * 5, 0.5f), w(4 * 3 * 3 * 3, 0.25f),
        y(2 * 4 * 5 * 5);
    bregman_gpu_conv2d_forward(2, 3, 5, 5, 4, 3, 3, 5, 5, 1, 1, 1, 1, 1, 1, 1,
                               reinterpret_cast<intptr_t>(x.data()),
                               reinterpret_cast<intptr_t>(w.data()),
                               reinterpret_cast<intptr_t>(y.data()));
    EXPECT_STREQ(bregman_cuda_take_error(), "");
    synchronizeMockDriver(); // the convolution runs in stream order
    // The centre output sums all 27 taps: 27 * 0.5 * 0.25.
    EXPECT_NEAR(y[2 * 5 + 2], 3.375f, 1e-6);
    return askMock(BREGMAN_MOCK_CUDNN, "bregman_mock_cudnn_math_type");
  }
};

TEST_F(CudaMath, PlainFp32ByDefault) {
  EXPECT_FALSE(cudaTf32());
  EXPECT_EQ(gemm(), kCublasDefaultMath);
  EXPECT_EQ(conv(), kCudnnFma);
}

TEST_F(CudaMath, SwitchReachesBothLibrariesAndBack) {
  setCudaTf32(true);
  EXPECT_EQ(gemm(), kCublasTf32);
  EXPECT_EQ(conv(), kCudnnTensorOp);
  setCudaTf32(false);
  EXPECT_EQ(gemm(), kCublasDefaultMath);
  EXPECT_EQ(conv(), kCudnnFma);
}

TEST_F(CudaMath, EnvironmentTurnsItOnUntilSet) {
  setenv("BREGMAN_TF32", "1", 1);
  EXPECT_TRUE(cudaTf32());
  EXPECT_EQ(gemm(), kCublasTf32);
  EXPECT_EQ(conv(), kCudnnTensorOp);
  setenv("BREGMAN_TF32", "0", 1);
  EXPECT_FALSE(cudaTf32());
  setenv("BREGMAN_TF32", "1", 1);
  setCudaTf32(false); // an explicit setting wins
  EXPECT_FALSE(cudaTf32());
  EXPECT_EQ(gemm(), kCublasDefaultMath);
  unsetenv("BREGMAN_TF32");
}

} // namespace
