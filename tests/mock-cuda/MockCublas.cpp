//===- MockCublas.cpp - A stand-in cuBLAS on the mock driver's memory -----===//
//
// For tests that run whole training steps on the stand-in driver
// (MockCudaDriver.cpp): cublasSgemm_v2 computes C = alpha op(A) op(B) +
// beta C (column-major, as cuBLAS) on the mock's host "device" memory, in
// stream order: the product is queued with the driver's cuLaunchHostFunc on
// the handle's stream, so it reads what the copies and kernels queued
// before it left, and a captured graph repeats it. alpha and beta are read
// at the call (host pointer mode). Loaded through BREGMAN_CUBLAS. The math
// mode the runtime asks for is recorded (bregman_mock_cublas_math_mode) and,
// with BREGMAN_MOCK_CUBLAS_TRACE set, printed ("mock cuBLAS: math mode N")
// so that command-line tests can see it (the TF32 switch).
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <dlfcn.h>
#include <mutex>
#include <vector>

namespace {
constexpr int kSuccess = 0, kNotInitialized = 1, kInvalidValue = 7,
              kExecutionFailed = 13;

struct Handle {
  void *stream = nullptr;
};
int mathMode = 0; // CUBLAS_DEFAULT_MATH, as cublasCreate leaves it

/// One queued product; kept for the process (a graph may replay it).
struct Gemm {
  bool transA, transB;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
  /// Column j of C from op(A) (made dense, m x k) and op(B): the inner
  /// loop runs down contiguous columns, so it vectorizes.
  void run() const {
    std::vector<float> denseA(size_t(m) * k), column(m);
    for (int p = 0; p < k; ++p)
      for (int i = 0; i < m; ++i)
        denseA[i + size_t(p) * m] = transA ? a[p + size_t(i) * lda]
                                           : a[i + size_t(p) * lda];
    for (int j = 0; j < n; ++j) {
      std::fill(column.begin(), column.end(), 0.0f);
      for (int p = 0; p < k; ++p) {
        float bpj = transB ? b[j + size_t(p) * ldb] : b[p + size_t(j) * ldb];
        const float *ap = &denseA[size_t(p) * m];
        for (int i = 0; i < m; ++i)
          column[i] += ap[i] * bpj;
      }
      float *cj = c + size_t(j) * ldc;
      for (int i = 0; i < m; ++i) // beta = 0 ignores C (it may be NaN)
        cj[i] = alpha * column[i] + (beta == 0 ? 0.0f : beta * cj[i]);
    }
  }
};
std::deque<Gemm> &queued() {
  static auto *all = new std::deque<Gemm>;
  return *all;
}

using HostFn = int(void *, void (*)(void *), void *);
HostFn *launchHostFunc() {
  static HostFn *fn = [] {
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return driver ? reinterpret_cast<HostFn *>(dlsym(driver, "cuLaunchHostFunc"))
                  : nullptr;
  }();
  return fn;
}
} // namespace

extern "C" {
int cublasCreate_v2(Handle **handle) {
  if (!launchHostFunc())
    return kNotInitialized; // the mock driver is not loaded
  *handle = new Handle;
  return kSuccess;
}
int cublasSetStream_v2(Handle *handle, void *stream) {
  if (!handle)
    return kNotInitialized;
  handle->stream = stream;
  return kSuccess;
}
const char *cublasGetStatusString(int status) {
  switch (status) {
  case kSuccess:
    return "CUBLAS_STATUS_SUCCESS";
  case kNotInitialized:
    return "CUBLAS_STATUS_NOT_INITIALIZED";
  case kInvalidValue:
    return "CUBLAS_STATUS_INVALID_VALUE";
  default:
    return "CUBLAS_STATUS_EXECUTION_FAILED";
  }
}
int cublasSetMathMode(Handle *handle, int mode) {
  if (!handle)
    return kNotInitialized;
  if (mode < 0 || mode > 3)
    return kInvalidValue;
  mathMode = mode;
  if (std::getenv("BREGMAN_MOCK_CUBLAS_TRACE"))
    std::fprintf(stderr, "mock cuBLAS: math mode %d\n", mode);
  return kSuccess;
}
/// The mock's own: the math mode last set.
int bregman_mock_cublas_math_mode() { return mathMode; }

int cublasSgemm_v2(Handle *handle, int transA, int transB, int m, int n, int k,
                   const float *alpha, const float *a, int lda, const float *b,
                   int ldb, const float *beta, float *c, int ldc) {
  if (!handle)
    return kNotInitialized;
  // cuBLAS's argument checks (column-major leading dimensions).
  if (m < 0 || n < 0 || k < 0 || transA < 0 || transA > 1 || transB < 0 ||
      transB > 1 || lda < (transA ? k : m) || lda < 1 ||
      ldb < (transB ? n : k) || ldb < 1 || ldc < m || ldc < 1)
    return kInvalidValue;
  if (m == 0 || n == 0)
    return kSuccess;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  queued().push_back(Gemm{transA == 1, transB == 1, m, n, k, lda, ldb, ldc,
                          *alpha, *beta, a, b, c});
  Gemm *gemm = &queued().back(); // deque: stays where it is
  int result = launchHostFunc()(
      handle->stream, [](void *g) { static_cast<Gemm *>(g)->run(); }, gemm);
  return result == 0 ? kSuccess : kExecutionFailed;
}
} // extern "C"
