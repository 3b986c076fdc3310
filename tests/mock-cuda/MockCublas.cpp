//===- MockCublas.cpp - A stand-in cuBLAS for the runtime's GEMM calls ----===//
//
// Loaded through BREGMAN_CUBLAS by the TF32 tests (with the mock driver,
// whose "device" memory is host memory): cublasSgemm_v2 computed by loops
// on the host (column-major, as cuBLAS defines it), and the math mode the
// runtime asks for recorded (bregman_mock_cublas_math_mode) and, with
// BREGMAN_MOCK_CUBLAS_TRACE set, printed ("mock cuBLAS: math mode N") so
// that command-line tests can see it.
//
//===----------------------------------------------------------------------===//

#include <cstdio>
#include <cstdlib>

namespace {
struct Context {};
int mathMode = 0; // CUBLAS_DEFAULT_MATH, as cublasCreate leaves it
constexpr int kSuccess = 0, kInvalidValue = 7, kOpN = 0, kOpT = 1;

/// op(M)[row, col] of a column-major matrix with leading dimension ld.
float at(const float *m, int op, int ld, int row, int col) {
  return op == kOpN ? m[row + static_cast<size_t>(col) * ld]
                    : m[col + static_cast<size_t>(row) * ld];
}
} // namespace

extern "C" {
int cublasCreate_v2(Context **handle) {
  static Context context;
  *handle = &context;
  return kSuccess;
}
int cublasSetStream_v2(Context *, void *) { return kSuccess; }
const char *cublasGetStatusString(int status) {
  return status == kInvalidValue ? "CUBLAS_STATUS_INVALID_VALUE"
                                 : "CUBLAS_STATUS_(mock)";
}
int cublasSetMathMode(Context *, int mode) {
  if (mode < 0 || mode > 3)
    return kInvalidValue;
  mathMode = mode;
  if (std::getenv("BREGMAN_MOCK_CUBLAS_TRACE"))
    std::fprintf(stderr, "mock cuBLAS: math mode %d\n", mode);
  return kSuccess;
}
/// The mock's own: the math mode last set.
int bregman_mock_cublas_math_mode() { return mathMode; }

int cublasSgemm_v2(Context *, int opA, int opB, int m, int n, int k,
                   const float *alpha, const float *a, int lda, const float *b,
                   int ldb, const float *beta, float *c, int ldc) {
  if ((opA != kOpN && opA != kOpT) || (opB != kOpN && opB != kOpT) || m < 0 ||
      n < 0 || k < 0)
    return kInvalidValue;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double sum = 0;
      for (int p = 0; p < k; ++p)
        sum += double(at(a, opA, lda, i, p)) * at(b, opB, ldb, p, j);
      float &out = c[i + static_cast<size_t>(j) * ldc];
      out = float(*alpha * sum + (*beta == 0.0f ? 0.0 : double(*beta) * out));
    }
  return kSuccess;
}
} // extern "C"
