//===- CpuGemmTest.cpp - OpenBLAS and oneDNN GEMMs against float64 --------===//
//
// Each backend of bregman_cpu_sgemm, and the call itself (which picks one per
// shape), computes C = op(A)·op(B) + beta·C for every transpose combination,
// beta 0 and 1, odd sizes on both sides of the backend threshold, and a
// matrix-vector product; and bregman_cpu_sgemm_batched on batches of them;
// checked against a float64 loop with a bound that scales with k·Σ|a·b| (a
// wrong transpose, a dropped beta or a wrong batch offset is off by O(1)).
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/CpuLibrary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

using namespace bregman::runtime;

namespace {

struct Matrices {
  GemmShape shape;
  std::vector<float> a, b, c;

  explicit Matrices(const GemmShape &s)
      : shape(s), a(s.batch * s.m * s.k), b(s.batch * s.k * s.n),
        c(s.batch * s.m * s.n) {
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = std::sin(0.7f * static_cast<float>(i)) + 0.1f;
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = std::cos(0.3f * static_cast<float>(i)) - 0.2f;
    for (size_t i = 0; i < c.size(); ++i)
      c[i] = 0.25f - 0.01f * static_cast<float>(i % 50);
  }
  // Stored row-major: A is m×k (k×m when transposed), B is k×n (n×k); the
  // matrices of batch index `at` follow each other.
  double opA(int64_t at, int64_t i, int64_t p) const {
    const float *m = a.data() + at * shape.m * shape.k;
    return shape.transA ? m[p * shape.m + i] : m[i * shape.k + p];
  }
  double opB(int64_t at, int64_t p, int64_t j) const {
    const float *m = b.data() + at * shape.k * shape.n;
    return shape.transB ? m[j * shape.k + p] : m[p * shape.n + j];
  }

  /// Checks `result` against the float64 product of a, b and the initial c.
  void expectProduct(const std::vector<float> &initialC,
                     const std::vector<float> &result) const {
    const GemmShape &s = shape;
    const double eps = std::numeric_limits<float>::epsilon();
    int wrong = 0;
    for (int64_t at = 0; at < s.batch; ++at)
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          int64_t where = (at * s.m + i) * s.n + j;
          double want = s.beta == 0.0f ? 0.0 : s.beta * initialC[where];
          double magnitude = std::abs(want);
          for (int64_t p = 0; p < s.k; ++p) {
            want += opA(at, i, p) * opB(at, p, j);
            magnitude += std::abs(opA(at, i, p) * opB(at, p, j));
          }
          double got = result[where];
          double bound = 2.0 * (s.k + 2) * eps * magnitude + 1e-30;
          if (!(std::abs(got - want) <= bound) && ++wrong <= 5)
            ADD_FAILURE() << "C[" << at << "][" << i << "][" << j << "] = " << got
                          << ", float64 reference " << want << " (bound "
                          << bound << ")";
        }
    EXPECT_EQ(wrong, 0);
  }
};

enum class Entry { OpenBlas, OneDnn, OneDnnSgemm, Dispatch };

void run(Entry entry, Matrices &x) {
  const GemmShape &s = x.shape;
  switch (entry) {
  case Entry::OpenBlas:
    return sgemmOpenBlas(s, x.a.data(), x.b.data(), x.c.data());
  case Entry::OneDnn:
    return sgemmOneDnn(s, x.a.data(), x.b.data(), x.c.data());
  case Entry::OneDnnSgemm:
    return sgemmOneDnnBlas(s, x.a.data(), x.b.data(), x.c.data());
  case Entry::Dispatch:
    if (s.batch > 1)
      return bregman_cpu_sgemm_batched(s.transA, s.transB, s.batch, s.m, s.n,
                                       s.k, s.beta,
                                       reinterpret_cast<intptr_t>(x.a.data()),
                                       reinterpret_cast<intptr_t>(x.b.data()),
                                       reinterpret_cast<intptr_t>(x.c.data()));
    return bregman_cpu_sgemm(s.transA, s.transB, s.m, s.n, s.k, s.beta,
                             reinterpret_cast<intptr_t>(x.a.data()),
                             reinterpret_cast<intptr_t>(x.b.data()),
                             reinterpret_cast<intptr_t>(x.c.data()));
  }
}

/// `entry` on x, beta 0's C filled with NaN first (beta 0 must not read C:
/// NaN there must not leak out), checked against the float64 product.
void runAndCheck(Entry entry, Matrices &x) {
  std::vector<float> initialC = x.c;
  if (x.shape.beta == 0.0f)
    std::fill(x.c.begin(), x.c.end(), std::nanf(""));
  run(entry, x);
  x.expectProduct(initialC, x.c);
}

/// A test name's start: the entry, the transposes and beta.
std::string caseName(Entry entry, bool transA, bool transB, float beta) {
  const char *names[] = {"OpenBlas", "OneDnn", "OneDnnSgemm", "Dispatch"};
  return std::string(names[static_cast<int>(entry)]) + (transA ? "_T" : "_N") +
         (transB ? "T" : "N") + "_beta" + std::to_string(int(beta));
}

struct Size {
  int64_t m, n, k;
};

using Param = std::tuple<Entry, bool, bool, float, Size>;

class CpuGemm : public ::testing::TestWithParam<Param> {};

TEST_P(CpuGemm, MatchesTheFloat64Product) {
  auto [entry, transA, transB, beta, size] = GetParam();
  Matrices x(GemmShape{transA, transB, size.m, size.n, size.k, beta});
  runAndCheck(entry, x);
}

std::string paramName(const ::testing::TestParamInfo<Param> &info) {
  auto [entry, transA, transB, beta, size] = info.param;
  return caseName(entry, transA, transB, beta) + "_" + std::to_string(size.m) + "x" + std::to_string(size.n) + "x" +
         std::to_string(size.k);
}

// 7×5×3 and 1×37×129 are below the dispatch threshold (OpenBLAS; one row
// there is a product with a vector, cblas_sgemv), 131×67×61
// (535,397 multiply-adds, 131 rows) above it (oneDNN where it runs on libomp).
INSTANTIATE_TEST_SUITE_P(
    AllTransposes, CpuGemm,
    ::testing::Combine(::testing::Values(Entry::OpenBlas, Entry::OneDnn,
                                         Entry::OneDnnSgemm, Entry::Dispatch),
                       ::testing::Bool(), ::testing::Bool(),
                       ::testing::Values(0.0f, 1.0f),
                       ::testing::Values(Size{7, 5, 3}, Size{1, 37, 129},
                                         Size{131, 67, 61})),
    paramName);

using BatchParam = std::tuple<Entry, bool, bool, float, int64_t>;

class CpuGemmBatched : public ::testing::TestWithParam<BatchParam> {};

// Batches of attention-sized products (16×16 by 16×16, [N·heads, S, d]),
// of odd ones and of single rows (OpenBLAS's as products with a vector): every backend and the batched call, each matrix at its own
// offset. 512 of 16×16×16 is 2^21 multiply-adds in all: the dispatch sends
// it to oneDNN as one batched primitive where oneDNN runs on libomp.
TEST_P(CpuGemmBatched, EveryMatrixMatchesTheFloat64Product) {
  auto [entry, transA, transB, beta, batch] = GetParam();
  for (Size size : {Size{16, 16, 16}, Size{7, 5, 3}, Size{1, 9, 5}}) {
    SCOPED_TRACE(std::to_string(size.m) + "x" + std::to_string(size.n) + "x" +
                 std::to_string(size.k));
    Matrices x(GemmShape{transA, transB, size.m, size.n, size.k, beta, batch});
    runAndCheck(entry, x);
  }
}

std::string batchParamName(const ::testing::TestParamInfo<BatchParam> &info) {
  auto [entry, transA, transB, beta, batch] = info.param;
  return caseName(entry, transA, transB, beta) + "_batch" + std::to_string(batch);
}

INSTANTIATE_TEST_SUITE_P(
    AllTransposes, CpuGemmBatched,
    ::testing::Combine(::testing::Values(Entry::OpenBlas, Entry::OneDnn,
                                         Entry::OneDnnSgemm, Entry::Dispatch),
                       ::testing::Bool(), ::testing::Bool(),
                       ::testing::Values(0.0f, 1.0f),
                       ::testing::Values(int64_t{3}, int64_t{512})),
    batchParamName);

TEST(CpuGemmOneDnn, CachedPrimitiveFollowsNewBuffersAndBeta) {
  // Same shape twice with other buffers (the cached primitive re-points its
  // memory objects), then the same shape with another beta (another one).
  GemmShape s{false, true, 33, 17, 65, 0.0f};
  for (float beta : {0.0f, 0.0f, 0.5f}) {
    s.beta = beta;
    Matrices x(s);
    for (float &v : x.a)
      v *= 1.0f + beta;
    std::vector<float> initialC = x.c;
    sgemmOneDnn(s, x.a.data(), x.b.data(), x.c.data());
    x.expectProduct(initialC, x.c);
  }
}

TEST(CpuGemmDispatch, SmallOrFewRowProductsGoToABlasLargeOnesToOneDnn) {
  GemmShape small{false, true, 128, 10, 80, 0.0f};   // 102,400 multiply-adds
  GemmShape large{false, true, 128, 200, 784, 0.0f}; // 20,070,400
  GemmShape fewRows{false, true, 4, 200, 784, 0.0f};  // 627,200
  GemmShape smallBatch{false, false, 16, 16, 16, 0.0f, 8}; // 32,768 in all
  GemmShape largeBatch{false, false, 16, 16, 16, 0.0f, 512};
  GemmShape oneRow{false, true, 1, 200, 784, 0.0f};     // batch-1 inference
  // OpenBLAS tuned for the CPU: it keeps the small products, but for a
  // single row.
  for (const GemmShape &s : {small, fewRows, smallBatch})
    EXPECT_EQ(gemmBackendFor(s, true, true), GemmBackend::OpenBlas);
  EXPECT_EQ(gemmBackendFor(oneRow, true, true), GemmBackend::OneDnnSgemm);
  EXPECT_EQ(gemmBackendFor(oneRow, true, false), GemmBackend::OpenBlas);
  // Generic OpenBLAS kernels: dnnl_sgemm takes them instead.
  for (const GemmShape &s : {small, fewRows, smallBatch})
    EXPECT_EQ(gemmBackendFor(s, false, true), GemmBackend::OneDnnSgemm);
  for (bool tuned : {true, false}) {
    EXPECT_EQ(gemmBackendFor(large, tuned, true), GemmBackend::OneDnn);
    EXPECT_EQ(gemmBackendFor(largeBatch, tuned, true), GemmBackend::OneDnn);
    // oneDNN on libgomp (busy-waiting threads): OpenBLAS for everything.
    EXPECT_EQ(gemmBackendFor(large, tuned, false), GemmBackend::OpenBlas);
    EXPECT_EQ(gemmBackendFor(small, tuned, false), GemmBackend::OpenBlas);
  }
}

TEST(CpuGemmDispatch, ThisProcessUsesTheRuleForItsBlasAndOpenMp) {
  if (std::getenv("BREGMAN_GEMM"))
    GTEST_SKIP() << "BREGMAN_GEMM forces a backend";
  GemmShape small{false, true, 128, 10, 80, 0.0f};
  GemmShape large{false, true, 128, 200, 784, 0.0f};
  // The build links Debian's OpenBLAS (scripts/install-deps.sh).
  EXPECT_FALSE(blasCoreName().empty()) << gemmLibrarySummary();
#ifdef BREGMAN_EXPECT_DNNL_ON_LIBOMP
  EXPECT_NE(oneDnnOpenMpLibrary().find("libomp"), std::string::npos)
      << "oneDNN's OpenMP calls reach " << oneDnnOpenMpLibrary();
  EXPECT_EQ(gemmBackendFor(large), GemmBackend::OneDnn);
  EXPECT_EQ(gemmBackendFor(small), blasTunedForThisCpu()
                                       ? GemmBackend::OpenBlas
                                       : GemmBackend::OneDnnSgemm)
      << gemmLibrarySummary();
#else
  EXPECT_EQ(gemmBackendFor(large), GemmBackend::OpenBlas);
#endif
}

TEST(CpuGemmDispatch, OpenBlasCoresAreJudgedByTheCpusVectorUnits) {
  // The kernel sets OpenBLAS writes for AVX2 and AVX-512, in its spelling.
  for (const char *core :
       {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"})
    EXPECT_TRUE(openBlasCoreFitsCpu(core, true)) << core;
  // What an OpenBLAS older than the CPU falls back to.
  for (const char *core : {"Prescott", "Core2", "Nehalem", "Sandybridge",
                           "Barcelona", "Bulldozer"})
    EXPECT_FALSE(openBlasCoreFitsCpu(core, true)) << core;
  // On an AVX-512 CPU only the AVX-512 sets fit (AVX2 ones are forced or
  // from an OpenBLAS that predates it).
  for (const char *core : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    EXPECT_TRUE(openBlasCoreFitsCpu(core, true, true)) << core;
  for (const char *core : {"Haswell", "Zen", "Prescott"})
    EXPECT_FALSE(openBlasCoreFitsCpu(core, true, true)) << core;
  // On a CPU without AVX2, OpenBLAS's own choice stands.
  EXPECT_TRUE(openBlasCoreFitsCpu("Sandybridge", false));
  EXPECT_TRUE(openBlasCoreFitsCpu("Prescott", false));
  // Not OpenBLAS at all (the reference BLAS): never tuned.
  EXPECT_FALSE(openBlasCoreFitsCpu("", true));
  EXPECT_FALSE(openBlasCoreFitsCpu("", false));
}

} // namespace

// The generated code's entry with an empty product: over k = 0 the result is
// beta·C (C may hold anything when beta is 0), with m or n = 0 nothing is
// touched; the libraries themselves refuse such leading dimensions (a
// matmul of [2, 0] by [0, 3] crashed).
TEST(CpuGemmEmpty, AnEmptyInnerDimensionGivesBetaTimesC) {
  float unused = 7;
  auto address = [](const float *p) { return reinterpret_cast<intptr_t>(p); };
  std::vector<float> c(6, std::nanf(""));
  bregman_cpu_sgemm(0, 0, 2, 3, 0, 0.0f, address(&unused), address(&unused),
                    address(c.data()));
  EXPECT_EQ(c, std::vector<float>(6, 0.0f));
  c = {1, 2, 3, 4, 5, 6};
  bregman_cpu_sgemm(1, 1, 2, 3, 0, 2.0f, address(&unused), address(&unused),
                    address(c.data()));
  EXPECT_EQ(c, (std::vector<float>{2, 4, 6, 8, 10, 12}));
  std::vector<float> batched(12, std::nanf(""));
  bregman_cpu_sgemm_batched(0, 1, 2, 2, 3, 0, 0.0f, address(&unused),
                            address(&unused), address(batched.data()));
  EXPECT_EQ(batched, std::vector<float>(12, 0.0f));
  bregman_cpu_sgemm(0, 0, 0, 3, 4, 0.0f, address(&unused), address(&unused),
                    address(&unused));
  EXPECT_EQ(unused, 7.0f);
}
