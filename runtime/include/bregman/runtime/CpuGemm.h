//===- CpuGemm.h - The CPU GEMM backends behind bregman_cpu_sgemm -*- C++ -*-===//
//
// bregman_cpu_sgemm (CpuLibrary.h) runs each GEMM in OpenBLAS or in oneDNN's
// matmul primitive, whichever is faster for the shape (the rule and the
// measurement behind it are in CpuBlas.cpp). Both are exposed here so that
// tests and bench/gemm_bench.cpp can call each one directly.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CPUGEMM_H
#define BREGMAN_RUNTIME_CPUGEMM_H

#include <cstdint>
#include <string>

namespace bregman::runtime {

/// C[m×n] = op(A)·op(B) + beta·C on dense row-major f32 matrices; A is
/// stored m×k (k×m when transA), B k×n (n×k when transB). With `batch` > 1,
/// that many such products on consecutive matrices (A, B and C each a
/// contiguous [batch, rows, cols] array).
struct GemmShape {
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;
  float beta = 0.0f;
  int64_t batch = 1;
};

enum class GemmBackend { OpenBlas, OneDnn };

/// cblas_sgemm (the OpenBLAS the runtime links), once per matrix of the
/// batch.
void sgemmOpenBlas(const GemmShape &shape, const float *a, const float *b,
                   float *c);
/// oneDNN's matmul primitive, created once per shape (beta as a `sum`
/// post-op; a batch as one batched primitive) and cached in-process.
void sgemmOneDnn(const GemmShape &shape, const float *a, const float *b,
                 float *c);

/// The shared library that oneDNN's OpenMP calls reach (the first to define
/// GOMP_parallel in the process's global scope), or "" when none is loaded.
/// The build links LLVM's libomp ahead of the libgomp Debian's libdnnl names
/// (runtime/CMakeLists.txt): libgomp's busy-waiting threads made oneDNN far
/// slower than OpenBLAS whenever another process shared the cores.
std::string oneDnnOpenMpLibrary();

/// The backend bregman_cpu_sgemm uses for `shape`: BREGMAN_GEMM=openblas or
/// =onednn forces one (read once); otherwise products of at most 2¹⁸
/// multiply-adds in all (the batch's together; OpenBLAS runs them on the
/// calling thread) and those with fewer than 16 rows go to OpenBLAS, the
/// rest to oneDNN if oneDNN runs on libomp; all to OpenBLAS if not.
GemmBackend gemmBackendFor(const GemmShape &shape);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_CPUGEMM_H
