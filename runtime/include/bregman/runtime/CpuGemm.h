//===- CpuGemm.h - The CPU GEMM backends behind bregman_cpu_sgemm -*- C++ -*-===//
//
// bregman_cpu_sgemm (CpuLibrary.h) runs each GEMM in OpenBLAS, in oneDNN's
// matmul primitive or in oneDNN's dnnl_sgemm, whichever is faster for the
// shape on this kind of CPU (the rule and the measurements behind it are in
// CpuBlas.cpp). Each is exposed here so that tests and bench/gemm_bench.cpp
// can call it directly.
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

/// OpenBLAS's cblas_sgemm, oneDNN's matmul primitive, or oneDNN's dnnl_sgemm
/// (its BLAS-style entry: no primitive, far less overhead per call).
enum class GemmBackend { OpenBlas, OneDnn, OneDnnSgemm };

/// cblas_sgemm (the OpenBLAS the runtime links), once per matrix of the
/// batch.
void sgemmOpenBlas(const GemmShape &shape, const float *a, const float *b,
                   float *c);
/// oneDNN's matmul primitive, created once per shape (beta as a `sum`
/// post-op; a batch as one batched primitive) and cached in-process.
void sgemmOneDnn(const GemmShape &shape, const float *a, const float *b,
                 float *c);

/// dnnl_sgemm, once per matrix of the batch.
void sgemmOneDnnBlas(const GemmShape &shape, const float *a, const float *b,
                     float *c);

/// The kernel set OpenBLAS chose for this CPU (`openblas_get_corename`), or
/// "" when the BLAS in the process is not OpenBLAS.
std::string blasCoreName();
/// Whether kernels named `core` are written for a CPU with (`cpuHasAvx2`) or
/// without AVX2, and with AVX-512 (`cpuHasAvx512`) for its vector width. An
/// OpenBLAS older than the CPU falls back to generic SSE kernels: Debian's
/// 0.3.21 runs "Prescott" on Sapphire Rapids, 5-7× slower than oneDNN on
/// every GEMM of the MLP step; AVX2 kernels forced on an AVX-512 CPU
/// (OPENBLAS_CORETYPE=Haswell) lost to dnnl_sgemm on every small product
/// (docs/PERFORMANCE.md).
bool openBlasCoreFitsCpu(const std::string &core, bool cpuHasAvx2,
                         bool cpuHasAvx512 = false);
/// openBlasCoreFitsCpu for this process's BLAS and CPU (false when the BLAS
/// is not OpenBLAS: the reference BLAS has no tuned kernels at all).
bool blasTunedForThisCpu();
/// One line for `--profile`: which BLAS kernels run and what that means for
/// the choice of GEMM library.
std::string gemmLibrarySummary();

/// The library that runs `shape` in this process, in a few words ("OpenBLAS
/// Cooperlake", "oneDNN matmul", "oneDNN sgemm"): measurements of the dense
/// path, such as the sparse calibration's, are only valid for it.
std::string gemmLibraryFor(const GemmShape &shape);

/// The shared library that oneDNN's OpenMP calls reach (the first to define
/// GOMP_parallel in the process's global scope), or "" when none is loaded.
/// The build links LLVM's libomp ahead of the libgomp Debian's libdnnl names
/// (runtime/CMakeLists.txt): libgomp's busy-waiting threads made oneDNN far
/// slower than OpenBLAS whenever another process shared the cores.
std::string oneDnnOpenMpLibrary();

/// The backend bregman_cpu_sgemm uses for `shape`: BREGMAN_GEMM=openblas,
/// =onednn or =onednn-sgemm forces one (read once); otherwise products of at
/// most 2¹⁸ multiply-adds in all (the batch's together; OpenBLAS runs them on
/// the calling thread) and those with fewer than 16 rows go to OpenBLAS, the
/// rest to oneDNN if oneDNN runs on libomp; all to OpenBLAS if not. Where
/// OpenBLAS's kernels do not fit the CPU (blasTunedForThisCpu), the small
/// and few-row products go to dnnl_sgemm instead, and a single row (batch
/// 1) does whatever OpenBLAS runs, where oneDNN is on libomp. Fixed per
/// machine, so a run's rounding does not depend on the load.
GemmBackend gemmBackendFor(const GemmShape &shape);
/// The rule itself, for tests: `blasTuned` and `oneDnnOnLibomp` as the
/// process would find them.
GemmBackend gemmBackendFor(const GemmShape &shape, bool blasTuned,
                           bool oneDnnOnLibomp);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_CPUGEMM_H
