//===- CpuBlas.cpp - GEMM for generated CPU code: OpenBLAS or oneDNN ------===//

#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/Profile.h"

#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace {
// Measured with bench/gemm_bench.cpp (docs/PERFORMANCE.md): OpenBLAS runs a
// product of at most 2^18 multiply-adds on the calling thread (its own
// threshold), in 2-7 µs for the steps' small GEMMs; oneDNN hands every call
// to its thread pool, which costs 1-3 µs more on an idle machine and about
// 40 µs when another process holds the second core. Above it oneDNN's
// matmul took 0.70-0.94 of OpenBLAS's time (idle machine, each alone).
constexpr double kSmallGemm = 1 << 18;
// With fewer rows than this (small-batch inference) oneDNN's matmul was the
// slower one at any size measured: 4×200×784 took 1.5× OpenBLAS's time,
// 16×200×784 0.72×.
constexpr int64_t kFewRows = 16;
// A batch of small products (attention's [N·heads, S, d] ones) is one
// oneDNN call instead of a call per matrix, whose overhead dwarfs a 16×16×16
// product: the whole batch's size decides, the rows of a matrix do not.
//
// All of the above holds where OpenBLAS has kernels for the CPU. Where it
// does not (Debian's 0.3.21 on Sapphire Rapids runs its SSE3 "Prescott"
// kernels), its small GEMMs took 3-7× dnnl_sgemm's time (128×10×80: 11.9 µs
// against 2-3 µs; batch 1 of 200×784: 57-65 µs against 6-9 µs) and its
// threaded ones stalled for milliseconds under load: there the small and
// few-row products go to dnnl_sgemm, which needs no primitive per shape.

/// The x86-64 kernel sets of OpenBLAS written for AVX2 or AVX-512, and of
/// those the AVX-512 ones. On an AVX-512 CPU (an AMD Zen 5, Debian's 0.3.21
/// with OPENBLAS_CORETYPE=Haswell, 2026-12-07) the AVX2 kernels took 1.6-2.7×
/// dnnl_sgemm's time on the MLP step's small products and 8-15× on a batch
/// of 4 rows (4×200×784: 52-95 µs against 5.6-6.4); OpenBLAS's own choice
/// there, Cooperlake, was as fast as dnnl_sgemm (docs/PERFORMANCE.md).
constexpr const char *kAvx2Cores[] = {"haswell", "zen", "skylakex",
                                      "cooperlake", "sapphirerapids"};
constexpr const char *kAvx512Cores[] = {"skylakex", "cooperlake",
                                        "sapphirerapids"};

/// BREGMAN_GEMM=openblas|onednn|onednn-sgemm, for measuring one backend
/// alone.
std::optional<bregman::runtime::GemmBackend> readForcedBackend() {
  const char *value = std::getenv("BREGMAN_GEMM");
  if (!value || !*value)
    return std::nullopt;
  if (std::strcmp(value, "openblas") == 0)
    return bregman::runtime::GemmBackend::OpenBlas;
  if (std::strcmp(value, "onednn") == 0)
    return bregman::runtime::GemmBackend::OneDnn;
  if (std::strcmp(value, "onednn-sgemm") == 0)
    return bregman::runtime::GemmBackend::OneDnnSgemm;
  // Called from generated code, which cannot take an exception: say once
  // that the setting is ignored rather than ignore it silently.
  std::fprintf(stderr,
               "warning: BREGMAN_GEMM=%s is none of openblas, onednn, "
               "onednn-sgemm; choosing the library per shape\n",
               value);
  return std::nullopt;
}

/// c[1×n] = a[1×k]·op(B) + beta·c as cblas_sgemv on B (cᵀ = op(B)ᵀ·aᵀ): for
/// one row, Debian's OpenBLAS 0.3.21 sgemm packs all of B first (a batch-1
/// layer 784→200 took 36 µs on the Zen 5 host, as a product with a vector
/// 12).
/// a is contiguous whether or not it is transposed (one row or column).
void rowTimesMatrix(const bregman::runtime::GemmShape &s, const float *a,
                    const float *b, float *c) {
  const int n = static_cast<int>(s.n), k = static_cast<int>(s.k);
  // With beta = 0, C must not be read (a reused buffer may hold NaN), and
  // whether the BLAS zeroes it first or scales it by 0 is its own choice.
  if (s.beta == 0.0f)
    std::fill(c, c + s.n, 0.0f);
  if (s.k == 0) { // sgemv returns at once for an empty product: C = beta·C
    std::for_each(c, c + s.n, [&](float &v) { v *= s.beta; });
    return;
  }
  if (s.transB) // B is [n, k]: cᵀ = B·aᵀ
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, b, k, a, 1, s.beta,
                c, 1);
  else // B is [k, n]: cᵀ = Bᵀ·aᵀ
    cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, b, n, a, 1, s.beta, c,
                1);
}
} // namespace

void bregman::runtime::sgemmOpenBlas(const GemmShape &s, const float *a,
                                     const float *b, float *c) {
  // Row-major leading dimensions are the stored row lengths.
  const int lda = static_cast<int>(s.transA ? s.m : s.k);
  const int ldb = static_cast<int>(s.transB ? s.k : s.n);
  for (int64_t i = 0; i < s.batch; ++i) {
    const float *ai = a + i * s.m * s.k, *bi = b + i * s.k * s.n;
    float *ci = c + i * s.m * s.n;
    if (s.m == 1) {
      rowTimesMatrix(s, ai, bi, ci);
      continue;
    }
    cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans,
                s.transB ? CblasTrans : CblasNoTrans, static_cast<int>(s.m),
                static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, ai, lda,
                bi, ldb, s.beta, ci, static_cast<int>(s.n));
  }
}

std::string bregman::runtime::blasCoreName() {
  // Looked up rather than linked: the BLAS found at build time may be
  // another implementation, which has no such function. Read once: the
  // calibration key asks for it per layer and evaluation.
  static const std::string core = [] {
    using CoreName = char *(*)();
    auto corename = reinterpret_cast<CoreName>(
        dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const char *name = corename ? corename() : nullptr;
    return std::string(name ? name : "");
  }();
  return core;
}

bool bregman::runtime::openBlasCoreFitsCpu(const std::string &core,
                                           bool cpuHasAvx2,
                                           bool cpuHasAvx512) {
  if (core.empty())
    return false;
  if (!cpuHasAvx2)
    return true; // an older CPU: OpenBLAS knows its generation
  std::string lower;
  for (char ch : core)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto named = [&](const auto &cores) {
    return std::any_of(std::begin(cores), std::end(cores),
                       [&](const char *known) { return lower == known; });
  };
  return cpuHasAvx512 ? named(kAvx512Cores) : named(kAvx2Cores);
}

namespace {
const std::optional<bregman::runtime::GemmBackend> &forcedBackend() {
  static const std::optional<bregman::runtime::GemmBackend> forced =
      readForcedBackend();
  return forced;
}

bool oneDnnOnLibomp() {
  static const bool onLibomp =
      bregman::runtime::oneDnnOpenMpLibrary().find("libomp") != std::string::npos;
  return onLibomp;
}

bool cpuHasAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2");
#else
  return false; // other architectures: OpenBLAS's own choice stands
#endif
}

bool cpuHasAvx512() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}
} // namespace

bool bregman::runtime::blasTunedForThisCpu() {
  static const bool tuned =
      openBlasCoreFitsCpu(blasCoreName(), cpuHasAvx2(), cpuHasAvx512());
  return tuned;
}

std::string bregman::runtime::gemmLibrarySummary() {
  std::string core = blasCoreName();
  std::string blas = core.empty() ? "a BLAS that is not OpenBLAS"
                                  : "OpenBLAS with its " + core + " kernels";
  if (forcedBackend())
    return "GEMM: every product in " + gemmLibraryFor(GemmShape{}) +
           " (BREGMAN_GEMM)";
  if (!oneDnnOnLibomp())
    return "GEMM: " + blas + " for every product (oneDNN's OpenMP calls do "
           "not reach libomp)";
  if (blasTunedForThisCpu())
    return "GEMM: " + blas + " for small products, oneDNN for large ones";
  return "GEMM: " + blas +
         ", not tuned for this CPU: small products in oneDNN's dnnl_sgemm, "
         "large ones in oneDNN's matmul";
}

std::string bregman::runtime::gemmLibraryFor(const GemmShape &shape) {
  switch (gemmBackendFor(shape)) {
  case GemmBackend::OneDnn:
    return "oneDNN matmul";
  case GemmBackend::OneDnnSgemm:
    return "oneDNN sgemm";
  case GemmBackend::OpenBlas:
    break;
  }
  std::string core = blasCoreName();
  return core.empty() ? "BLAS" : "OpenBLAS " + core;
}

bregman::runtime::GemmBackend
bregman::runtime::gemmBackendFor(const GemmShape &shape, bool blasTuned,
                                 bool oneDnnOnLibomp) {
  if (!oneDnnOnLibomp)
    return GemmBackend::OpenBlas;
  double product = static_cast<double>(shape.batch) * shape.m * shape.n * shape.k;
  bool matmulFaster =
      product > kSmallGemm && (shape.m >= kFewRows || shape.batch > 1);
  if (matmulFaster)
    return GemmBackend::OneDnn;
  // One row (batch-1 inference): dnnl_sgemm's product with a vector took
  // 3.2-3.6 µs for 1×200×784 on the Zen 5 host against 12 in OpenBLAS's
  // sgemv and 36 in its sgemm, whichever kernels it ran (7.4 against 54-65
  // on the Intel host).
  if (!blasTuned || (shape.m == 1 && shape.batch == 1))
    return GemmBackend::OneDnnSgemm;
  return GemmBackend::OpenBlas;
}

bregman::runtime::GemmBackend
bregman::runtime::gemmBackendFor(const GemmShape &shape) {
  if (const std::optional<GemmBackend> &forced = forcedBackend())
    return *forced;
  return gemmBackendFor(shape, blasTunedForThisCpu(), oneDnnOnLibomp());
}

namespace {
void sgemmCall(const bregman::runtime::GemmShape &shape, intptr_t a,
               intptr_t b, intptr_t c) {
  using namespace bregman::runtime;
  ProfileCounters &profile = profileCounters();
  ProfileScope timed(profile.gemmNs);
  if (profilingEnabled())
    ++profile.gemmCalls;
  auto *aData = reinterpret_cast<const float *>(a);
  auto *bData = reinterpret_cast<const float *>(b);
  auto *cData = reinterpret_cast<float *>(c);
  // An empty product: the libraries refuse (or crash on) leading dimensions
  // of 0, and over k = 0 the result is beta·C (C may be uninitialized when
  // beta is 0).
  if (shape.m == 0 || shape.n == 0 || shape.batch == 0)
    return;
  if (shape.k == 0) {
    float *end = cData + shape.batch * shape.m * shape.n;
    if (shape.beta == 0.0f)
      std::fill(cData, end, 0.0f);
    else
      std::for_each(cData, end, [&](float &x) { x *= shape.beta; });
    return;
  }
  switch (gemmBackendFor(shape)) {
  case GemmBackend::OneDnn:
    return sgemmOneDnn(shape, aData, bData, cData);
  case GemmBackend::OneDnnSgemm:
    return sgemmOneDnnBlas(shape, aData, bData, cData);
  case GemmBackend::OpenBlas:
    return sgemmOpenBlas(shape, aData, bData, cData);
  }
}
} // namespace

extern "C" void bregman_cpu_sgemm(int32_t transA, int32_t transB, intptr_t m,
                                  intptr_t n, intptr_t k, float beta,
                                  intptr_t a, intptr_t b, intptr_t c) {
  sgemmCall({transA != 0, transB != 0, m, n, k, beta}, a, b, c);
}

extern "C" void bregman_cpu_sgemm_batched(int32_t transA, int32_t transB,
                                          intptr_t batch, intptr_t m,
                                          intptr_t n, intptr_t k, float beta,
                                          intptr_t a, intptr_t b, intptr_t c) {
  sgemmCall({transA != 0, transB != 0, m, n, k, beta, batch}, a, b, c);
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
         {"bregman_cpu_sgemm_batched",
          reinterpret_cast<void *>(&bregman_cpu_sgemm_batched)},
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
