//===- CpuBlas.cpp - GEMM for generated CPU code through OpenBLAS ---------===//

#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/Profile.h"

#include <cblas.h>

#include <vector>


extern "C" void bregman_cpu_sgemm(int32_t transA, int32_t transB, intptr_t m,
                                  intptr_t n, intptr_t k, float beta,
                                  intptr_t a, intptr_t b, intptr_t c) {
  bregman::runtime::ProfileCounters &profile =
      bregman::runtime::profileCounters();
  bregman::runtime::ProfileScope timed(profile.gemmNs);
  if (bregman::runtime::profilingEnabled())
    ++profile.gemmCalls;
  // Row-major leading dimensions are the stored row lengths.
  const int lda = transA ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = transB ? static_cast<int>(k) : static_cast<int>(n);
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f,
              reinterpret_cast<const float *>(a), lda,
              reinterpret_cast<const float *>(b), ldb, beta,
              reinterpret_cast<float *>(c), static_cast<int>(n));
}

const bregman::runtime::LibrarySymbol *bregman::runtime::cpuLibrarySymbols() {
  // The core symbols, then the libraries'.
  static const std::vector<LibrarySymbol> symbols = [] {
    std::vector<LibrarySymbol> all;
    for (const LibrarySymbol *s = coreLibrarySymbols(); s->name; ++s)
      all.push_back(*s);
    all.insert(
        all.end(),
        {{"bregman_cpu_sgemm", reinterpret_cast<void *>(&bregman_cpu_sgemm)},
         {"bregman_cpu_conv2d_forward",
          reinterpret_cast<void *>(&bregman_cpu_conv2d_forward)},
         {"bregman_cpu_conv2d_grad_input",
          reinterpret_cast<void *>(&bregman_cpu_conv2d_grad_input)},
         {"bregman_cpu_conv2d_grad_filter",
          reinterpret_cast<void *>(&bregman_cpu_conv2d_grad_filter)},
         {nullptr, nullptr}});
    return all;
  }();
  return symbols.data();
}
