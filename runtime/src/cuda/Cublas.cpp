//===- Cublas.cpp - GEMM on the device with cuBLAS, loaded at run time ----===//
//
// Like the driver, cuBLAS is opened with dlopen on first use: nothing links
// it, and a machine without it gets an error naming the library. The few
// cuBLAS types are declared here (ABI-compatible with cublas_api.h). The
// math mode follows the TF32 switch (CudaMath.h): CUBLAS_DEFAULT_MATH (plain
// FP32 for cublasSgemm) unless TF32 is allowed.
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaMath.h"
#include "bregman/runtime/GemmLayout.h"

#include <mutex>
#include <string>

using namespace bregman::runtime::cuda;

namespace {

using cublasHandle_t = struct cublasContext *;
using cublasStatus_t = int;
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
// cublasMath_t
constexpr int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;

struct Cublas : LibraryHandle<cublasHandle_t> {
  cublasStatus_t (*sgemm)(cublasHandle_t, int, int, int, int, int,
                          const float *, const float *, int, const float *, int,
                          const float *, float *, int) = nullptr;
  cublasStatus_t (*setMathMode)(cublasHandle_t, int) = nullptr;
  int mathMode = -1; // the handle's, once set
};

Cublas load() {
  Cublas c;
  c.what = "cuBLAS";
  if (!c.open({"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
              "BREGMAN_CUBLAS",
              "install the CUDA toolkit's libcublas, put it on "
              "LD_LIBRARY_PATH",
              {"cublasCreate_v2", "cublasSetStream_v2",
               "cublasGetStatusString"}))
    return c;
  c.resolve(c.sgemm, "cublasSgemm_v2");
  c.resolve(c.setMathMode, "cublasSetMathMode");
  c.createHandle("cublasCreate", "cublasSetStream");
  return c;
}

/// Sets the handle's math mode when the TF32 switch changed (first call
/// included); false, with the failure recorded, when cuBLAS refuses it.
bool followTf32Switch(Cublas &cublas) {
  int mode = bregman::runtime::cudaTf32() ? CUBLAS_TF32_TENSOR_OP_MATH
                                          : CUBLAS_DEFAULT_MATH;
  if (mode == cublas.mathMode)
    return true;
  if (cublasStatus_t st = cublas.setMathMode(cublas.handle, mode);
      st != CUBLAS_STATUS_SUCCESS) {
    recordError(cublas.describe("cublasSetMathMode", st));
    return false;
  }
  cublas.mathMode = mode;
  return true;
}

} // namespace

extern "C" void bregman_gpu_sgemm(int32_t transA, int32_t transB, intptr_t m,
                                  intptr_t n, intptr_t k, float beta,
                                  intptr_t a, intptr_t b, intptr_t c) {
  static Cublas cublas = load();
  static std::mutex mutex; // the math mode is the handle's
  if (!cublas.ready())
    return;
  std::lock_guard<std::mutex> lock(mutex);
  if (!followTf32Switch(cublas))
    return;
  const float alpha = 1.0f;
  bregman::runtime::ColumnMajorGemm g =
      bregman::runtime::columnMajorForRowMajor(transA, transB, m, n, k, a, b, c);
  cublasStatus_t st = cublas.sgemm(
      cublas.handle, g.transFirst ? CUBLAS_OP_T : CUBLAS_OP_N,
      g.transSecond ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k, &alpha,
      g.first, g.ldFirst, g.second, g.ldSecond, &beta, g.c, g.ldc);
  if (st != CUBLAS_STATUS_SUCCESS)
    recordError(cublas.describe("cublasSgemm", st));
}
