//===- Cublas.cpp - GEMM on the device with cuBLAS, loaded at run time ----===//
//
// Like the driver, cuBLAS is opened with dlopen on first use: nothing links
// it, and a machine without it gets an error naming the library. The few
// cuBLAS types are declared here (ABI-compatible with cublas_api.h).
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/GemmLayout.h"

#include <dlfcn.h>
#include <string>

using namespace bregman::runtime::cuda;

namespace {

using cublasHandle_t = struct cublasContext *;
using cublasStatus_t = int;
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;

struct Cublas {
  cublasStatus_t (*create)(cublasHandle_t *) = nullptr;
  cublasStatus_t (*setStream)(cublasHandle_t, CUstream) = nullptr;
  cublasStatus_t (*sgemm)(cublasHandle_t, int, int, int, int, int,
                          const float *, const float *, int, const float *, int,
                          const float *, float *, int) = nullptr;
  const char *(*statusString)(cublasStatus_t) = nullptr;
  cublasHandle_t handle = nullptr;
  std::string failure; // why cuBLAS is unusable, when it is
};

std::string describeStatus(const Cublas &c, const char *call,
                           cublasStatus_t status) {
  const char *text = c.statusString ? c.statusString(status) : nullptr;
  return std::string(call) + " failed: " +
         (text ? text : "cuBLAS status " + std::to_string(status));
}

Cublas load() {
  Cublas c;
  void *lib = openLibrary(
      "cuBLAS", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
      "BREGMAN_CUBLAS",
      "install the CUDA toolkit's libcublas, put it on LD_LIBRARY_PATH",
      &c.failure);
  if (!lib)
    return c;
  auto sym = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && c.failure.empty())
      c.failure = std::string("cuBLAS lacks ") + name;
  };
  sym(c.create, "cublasCreate_v2");
  sym(c.setStream, "cublasSetStream_v2");
  sym(c.sgemm, "cublasSgemm_v2");
  sym(c.statusString, "cublasGetStatusString");
  if (!c.failure.empty())
    return c;
  ScopedContext scope;
  if (!scope.ok) {
    c.failure = "cuBLAS needs a CUDA context";
    return c;
  }
  if (cublasStatus_t st = c.create(&c.handle); st != CUBLAS_STATUS_SUCCESS)
    c.failure = describeStatus(c, "cublasCreate", st);
  else if (st = c.setStream(c.handle, stream()); st != CUBLAS_STATUS_SUCCESS)
    c.failure = describeStatus(c, "cublasSetStream", st);
  return c;
}

} // namespace

extern "C" void bregman_gpu_sgemm(int32_t transA, int32_t transB, intptr_t m,
                                  intptr_t n, intptr_t k, float beta,
                                  intptr_t a, intptr_t b, intptr_t c) {
  static Cublas cublas = load();
  if (!cublas.failure.empty()) {
    recordError(cublas.failure);
    return;
  }
  ScopedContext scope;
  if (!scope.ok)
    return;
  const float alpha = 1.0f;
  bregman::runtime::ColumnMajorGemm g =
      bregman::runtime::columnMajorForRowMajor(transA, transB, m, n, k, a, b, c);
  cublasStatus_t st = cublas.sgemm(
      cublas.handle, g.transFirst ? CUBLAS_OP_T : CUBLAS_OP_N,
      g.transSecond ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k, &alpha,
      g.first, g.ldFirst, g.second, g.ldSecond, &beta, g.c, g.ldc);
  if (st != CUBLAS_STATUS_SUCCESS)
    recordError(describeStatus(cublas, "cublasSgemm", st));
}
