//===- OpenMpTeamsTest.cpp - oneDNN under OpenMP limits on teams ----------===//
//
// oneDNN plans each primitive for omp_get_max_threads() threads and gives a
// smaller team's missing threads' work to no one (runtime/src/OpenMpTeams.h).
// This program runs oneDNN's matmul, dnnl_sgemm and the three convolutions
// through the runtime and checks them against float64 loops; CMake runs it
// once plain and once under each setting that caps the team below the
// thread count (OMP_THREAD_LIMIT=1, OMP_MAX_ACTIVE_LEVELS=0,
// KMP_DEVICE_THREAD_LIMIT=1), with a timeout: before the runtime handled
// them, the products came out wrong and a convolution's gradient hung in a
// barrier waiting for a thread that never came. Every run asks for 4
// threads, so that the limits bite on any machine. OMP_DYNAMIC is tested
// in-process (it needs a busy thread to shrink teams), as are the guard's
// settings and the per-team primitive cache. (A
// call from inside a user's active parallel region runs on one thread, as
// oneDNN itself decides there; not tested: the tests are not built with
// OpenMP.)
//
//===----------------------------------------------------------------------===//

#include "OpenMpTeams.h" // runtime/src: the guard itself
#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/CpuLibrary.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

using namespace bregman::runtime;

namespace {

std::vector<float> wave(size_t count, float phase) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i)
    v[i] = std::sin(phase + 0.37f * static_cast<float>(i));
  return v;
}

intptr_t address(std::vector<float> &v) {
  return reinterpret_cast<intptr_t>(v.data());
}

/// Expects |got - want| within a bound scaled by the terms summed.
void expectClose(const std::vector<float> &got, const std::vector<double> &want,
                 const std::vector<double> &magnitude, size_t terms) {
  ASSERT_EQ(got.size(), want.size());
  int wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double bound = 4.0 * (terms + 2) * 1.2e-7 * magnitude[i] + 1e-30;
    if (!(std::abs(got[i] - want[i]) <= bound) && ++wrong <= 5)
      ADD_FAILURE() << "[" << i << "] = " << got[i] << ", float64 " << want[i];
  }
  EXPECT_EQ(wrong, 0);
}

/// Large enough that oneDNN splits it over every thread it plans for:
/// op(A)·B, 200×784×128, A transposed, and its float64 product.
struct Gemm {
  GemmShape s{true, false, 200, 784, 128, 0.0f};
  std::vector<float> a = wave(s.k * s.m, 0.1f), b = wave(s.k * s.n, 0.7f);
  std::vector<double> want, magnitude;

  Gemm() : want(s.m * s.n, 0.0), magnitude(s.m * s.n, 0.0) {
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t p = 0; p < s.k; ++p) {
          double term = double(a[p * s.m + i]) * b[p * s.n + j];
          want[i * s.n + j] += term;
          magnitude[i * s.n + j] += std::abs(term);
        }
  }
  /// oneDNN's matmul primitive and dnnl_sgemm, each against float64.
  void expectBothMatch() {
    for (auto gemm : {&sgemmOneDnn, &sgemmOneDnnBlas}) {
      std::vector<float> c(s.m * s.n, std::nanf(""));
      gemm(s, a.data(), b.data(), c.data());
      expectClose(c, want, magnitude, s.k);
    }
  }
};

TEST(OneDnnTeams, MatmulAndSgemmMatchFloat64) { Gemm().expectBothMatch(); }

/// A 3×3 convolution, stride 1, padding 1: [8, 16, 16, 16] by [32, 16, 3, 3].
struct Conv {
  static constexpr intptr_t n = 8, c = 16, h = 16, w = 16, f = 32, k = 3;
  std::vector<float> x = wave(n * c * h * w, 0.2f);
  std::vector<float> filter = wave(f * c * k * k, 0.9f);
  std::vector<float> dy = wave(n * f * h * w, 1.3f);

  /// Calls `visit(out index, x index, filter index)` for every product term
  /// of y = conv(x, filter), y [n, f, h, w].
  template <typename Visit> static void terms(Visit visit) {
    for (intptr_t b = 0; b < n; ++b)
      for (intptr_t o = 0; o < f; ++o)
        for (intptr_t r = 0; r < h; ++r)
          for (intptr_t q = 0; q < w; ++q)
            for (intptr_t i = 0; i < c; ++i)
              for (intptr_t u = 0; u < k; ++u)
                for (intptr_t v = 0; v < k; ++v) {
                  intptr_t rr = r + u - 1, qq = q + v - 1;
                  if (rr < 0 || rr >= h || qq < 0 || qq >= w)
                    continue;
                  visit(((b * f + o) * h + r) * w + q,
                        ((b * c + i) * h + rr) * w + qq,
                        ((o * c + i) * k + u) * k + v);
                }
  }
};

#define CONV_GEOMETRY                                                          \
  Conv::n, Conv::c, Conv::h, Conv::w, Conv::f, Conv::k, Conv::k, Conv::h,      \
      Conv::w, 1, 1, 1, 1, 1, 1, 1

TEST(OneDnnTeams, ConvolutionForwardMatchesFloat64) {
  Conv conv;
  std::vector<double> want(conv.dy.size(), 0.0), magnitude(conv.dy.size(), 0.0);
  Conv::terms([&](intptr_t out, intptr_t in, intptr_t tap) {
    double term = double(conv.x[in]) * conv.filter[tap];
    want[out] += term;
    magnitude[out] += std::abs(term);
  });
  std::vector<float> y(conv.dy.size(), std::nanf(""));
  bregman_cpu_conv2d_forward(CONV_GEOMETRY, address(conv.x),
                             address(conv.filter), address(y));
  expectClose(y, want, magnitude, Conv::c * Conv::k * Conv::k);
}

TEST(OneDnnTeams, ConvolutionGradientsMatchFloat64) {
  Conv conv;
  std::vector<double> dx(conv.x.size(), 0.0), dxMagnitude(conv.x.size(), 0.0);
  std::vector<double> dw(conv.filter.size(), 0.0),
      dwMagnitude(conv.filter.size(), 0.0);
  Conv::terms([&](intptr_t out, intptr_t in, intptr_t tap) {
    double toInput = double(conv.dy[out]) * conv.filter[tap];
    double toFilter = double(conv.dy[out]) * conv.x[in];
    dx[in] += toInput;
    dxMagnitude[in] += std::abs(toInput);
    dw[tap] += toFilter;
    dwMagnitude[tap] += std::abs(toFilter);
  });
  std::vector<float> gotDx(conv.x.size(), std::nanf(""));
  std::vector<float> gotDw(conv.filter.size(), std::nanf(""));
  bregman_cpu_conv2d_grad_input(CONV_GEOMETRY, address(conv.dy),
                                address(conv.filter), address(gotDx));
  bregman_cpu_conv2d_grad_filter(CONV_GEOMETRY, address(conv.x),
                                 address(conv.dy), address(gotDw));
  expectClose(gotDx, dx, dxMagnitude, Conv::f * Conv::k * Conv::k);
  expectClose(gotDw, dw, dwMagnitude, Conv::n * Conv::h * Conv::w);
}

template <typename F> F openMp(const char *name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

// With dynamic teams on (OMP_DYNAMIC=true) and the cores busy, the OpenMP
// runtime hands oneDNN smaller teams than the primitive planned its work
// for, and the missing threads' share of C was never computed (a training
// step's loss became NaN). The runtime turns dynamic teams off around its
// oneDNN calls and restores the caller's setting.
TEST(OneDnnTeams, StaysCorrectWhenTheCallerAllowsDynamicTeams) {
  auto setDynamic = openMp<void (*)(int)>("omp_set_dynamic");
  auto getDynamic = openMp<int (*)()>("omp_get_dynamic");
  if (!setDynamic || !getDynamic)
    GTEST_SKIP() << "no OpenMP runtime in the process";
  Gemm gemm;
  // A busy thread of our own, so that a load-balancing runtime sees the
  // cores taken and shrinks teams.
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    volatile uint64_t spin = 0;
    while (!stop.load(std::memory_order_relaxed))
      spin = spin + 1;
  });
  setDynamic(1);
  for (int round = 0; round < 40 && !::testing::Test::HasFailure(); ++round)
    gemm.expectBothMatch();
  EXPECT_EQ(getDynamic(), 1) << "the caller's setting is not restored";
  setDynamic(0);
  stop = true;
  busy.join();
}

// The guard's own settings, in-process: within it, dynamic teams off and
// the thread count equal to the team it reports (1 with no active level
// allowed); after it, the caller's settings back.
TEST(OneDnnTeams, GuardSetsThenRestoresTheCallersSettings) {
  auto setDynamic = openMp<void (*)(int)>("omp_set_dynamic");
  auto getDynamic = openMp<int (*)()>("omp_get_dynamic");
  auto setThreads = openMp<void (*)(int)>("omp_set_num_threads");
  auto getThreads = openMp<int (*)()>("omp_get_max_threads");
  auto setLevels = openMp<void (*)(int)>("omp_set_max_active_levels");
  auto getLevels = openMp<int (*)()>("omp_get_max_active_levels");
  if (!setDynamic || !getDynamic || !setThreads || !getThreads || !setLevels ||
      !getLevels)
    GTEST_SKIP() << "no OpenMP runtime in the process";
  int threads = getThreads(), levels = getLevels(), dynamic = getDynamic();
  setDynamic(1);
  setThreads(3);
  int configured = getThreads(); // 3, or libomp's own cap below it
  {
    WholeOpenMpTeams guard;
    EXPECT_EQ(getDynamic(), 0);
    EXPECT_EQ(getThreads(), guard.threads());
    EXPECT_LE(guard.threads(), configured);
  }
  EXPECT_EQ(getDynamic(), 1);
  EXPECT_EQ(getThreads(), configured);
  setLevels(0);
  {
    WholeOpenMpTeams guard;
    EXPECT_EQ(guard.threads(), 1);
    EXPECT_EQ(getThreads(), 1);
  }
  EXPECT_EQ(getThreads(), configured);
  setLevels(levels);
  setThreads(threads);
  setDynamic(dynamic);
}

// A primitive cached for two threads must not serve a call that gets one:
// the same products, before and after no active level is allowed, in one
// process (the primitives are cached per team), each against float64.
TEST(OneDnnTeams, PrimitivesAreCachedPerTeam) {
  auto setLevels = openMp<void (*)(int)>("omp_set_max_active_levels");
  auto getLevels = openMp<int (*)()>("omp_get_max_active_levels");
  if (!setLevels || !getLevels)
    GTEST_SKIP() << "no OpenMP runtime in the process";
  int levels = getLevels();
  Conv conv;
  std::vector<double> dw(conv.filter.size(), 0.0), magnitude(dw.size(), 0.0);
  Conv::terms([&](intptr_t out, intptr_t in, intptr_t tap) {
    double term = double(conv.dy[out]) * conv.x[in];
    dw[tap] += term;
    magnitude[tap] += std::abs(term);
  });
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "as configured" : "no active level allowed");
    if (round == 1)
      setLevels(0);
    std::vector<float> got(conv.filter.size(), std::nanf(""));
    bregman_cpu_conv2d_grad_filter(CONV_GEOMETRY, address(conv.x),
                                   address(conv.dy), address(got));
    expectClose(got, dw, magnitude, Conv::n * Conv::h * Conv::w);
  }
  setLevels(levels);
}

#undef CONV_GEOMETRY

} // namespace
