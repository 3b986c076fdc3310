//===- TestUtil.h - Helpers shared by the frontend tests --------*- C++ -*-===//

#ifndef BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H
#define BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H

#include "References.h"
#include "bregman/bregman.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <gtest/gtest.h>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace bregman::testing {

/// n values uniform in [lo, hi) from `rng`.
inline std::vector<float> randomFloats(std::mt19937 &rng, int64_t n,
                                       float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// A fixed classification batch: `rows` standard-normal inputs of `features`
/// values (seed 3) and labels cycling through `classes`.
inline std::pair<Tensor, Tensor> fixedBatch(int64_t rows, int64_t features,
                                            int32_t classes) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * features);
  for (float &v : x)
    v = normal(rng);
  std::vector<int32_t> y(rows);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<int32_t>(i % classes);
  return {Tensor::fromVector(x, {rows, features}), Tensor::fromVector(y, {rows})};
}

inline Tensor f32(const std::vector<float> &v, const Shape &s) {
  return Tensor::fromVector(v, s);
}

inline std::vector<double> toDouble(const std::vector<float> &v) {
  return std::vector<double>(v.begin(), v.end());
}

/// Scale of the quantities involved (max |δ·v'| etc.), for the tolerance.
inline double maxAbs(const std::vector<double> &v) {
  double m = 0;
  for (double x : v)
    m = std::max(m, std::abs(x));
  return std::max(m, 1e-3);
}

/// Shapes the update tests run on; {520, 1024} crosses the JIT's parallel
/// threshold (2^18 elements), so its updates run as OpenMP chunks when libomp
/// is there.
inline const Shape kShapes[] = {{7}, {5, 6}, {2, 3, 4}, {100000}, {520, 1024}};

/// |actual − expected| ≤ tol[i] element-wise.
inline ::testing::AssertionResult within(const std::vector<float> &actual,
                                         const std::vector<double> &expected,
                                         const std::vector<double> &tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " vs " << expected.size();
  int64_t bad = 0;
  std::string first;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    double err = std::abs(double(actual[i]) - expected[i]);
    if (!(err <= tol[i])) {
      worst = std::max(worst, tol[i] > 0 ? err / tol[i] : INFINITY);
      if (bad++ == 0)
        first = "element " + std::to_string(i) + ": got " +
                std::to_string(actual[i]) + ", expected " +
                std::to_string(expected[i]) + " (tolerance " +
                std::to_string(tol[i]) + ")";
    }
  }
  if (bad)
    return ::testing::AssertionFailure()
           << bad << " of " << actual.size() << " elements differ (worst "
           << worst << "× the tolerance); first " << first;
  return ::testing::AssertionSuccess();
}

/// |actual − expected| ≤ rel·max(|expected|, scale): f32 results of a few
/// operations on O(scale) inputs against the f64 reference.
inline ::testing::AssertionResult closeTo(const std::vector<float> &actual,
                                          const std::vector<double> &expected,
                                          double scale, double rel = 1e-6) {
  std::vector<double> tol(expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    tol[i] = rel * std::max(std::abs(expected[i]), scale);
  return within(actual, expected, tol);
}

/// subgradient_init compiled alone against refSubgradientInit on kShapes
/// (the first with `seed`, then seed + 1, ...).
inline void checkSubgradientInit(Regularizer reg, float delta, float lambda,
                                 int seed) {
  auto f = jit([reg](const Tensor &t, const Tensor &d, const Tensor &l) {
    return subgradientInit(reg, t, d, l);
  });
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++);
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n);
    // Exact zeros (and a negative zero): sign(0) = 0 must give v = 0 exactly.
    for (int64_t i = 0; i < n; i += 3)
      theta[i] = 0.0f;
    theta[1] = -0.0f;
    std::vector<float> got =
        f(f32(theta, shape), Tensor::scalar(delta), Tensor::scalar(lambda))
            .toVector<float>();
    std::vector<double> expected(n);
    for (int64_t i = 0; i < n; ++i)
      expected[i] = refSubgradientInit(reg, theta[i], delta, lambda);
    EXPECT_TRUE(closeTo(got, expected, maxAbs(expected)));
    for (int64_t i = 0; i < n; ++i)
      if (theta[i] == 0.0f)
        ASSERT_EQ(got[i], 0.0f) << "θ = 0 at " << i << " gave v = " << got[i];
  }
}

/// prox compiled alone on x uniform in [-2, 2) of `shape` (x[0] = 0, drawn
/// with `seed`), checked against refProx; returns x and the result.
inline std::pair<std::vector<float>, std::vector<float>>
checkProxAgainstReference(Regularizer reg, const Shape &shape, int seed,
                          float scale, float lambda) {
  auto f = jit([reg](const Tensor &x, const Tensor &s, const Tensor &l) {
    return prox(reg, x, s, l);
  });
  std::mt19937 rng(seed);
  int64_t n = numElements(shape);
  std::vector<float> x = randomFloats(rng, n, -2.0f, 2.0f);
  x[0] = 0.0f;
  std::vector<float> got =
      f(f32(x, shape), Tensor::scalar(scale), Tensor::scalar(lambda))
          .toVector<float>();
  std::vector<double> expected(n);
  for (int64_t i = 0; i < n; ++i)
    expected[i] = refProx(reg, x[i], scale, lambda);
  EXPECT_TRUE(closeTo(got, expected, 2.0));
  return {x, got};
}

/// The message of the bregman::Error `fn` throws (a placeholder if none).
template <typename Fn> std::string errorMessage(Fn fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no bregman::Error thrown>";
}

/// Runs `f`, expecting a bregman::Error whose message contains every `part`.
inline void expectError(const std::function<void()> &f,
                        std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error &e) {
    std::string msg = e.what();
    for (const std::string &part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "message '" << msg << "' lacks '" << part << "'";
    return;
  }
  ADD_FAILURE() << "no bregman::Error thrown";
}

/// |got[i] − want[i]| ≤ 1e-6·bound[i] for every i, where bound is Σ|terms|
/// of the float64 sum (the scale of float32 rounding in it).
inline void expectWithinRounding(const std::vector<float> &got,
                                 const std::vector<double> &want,
                                 const std::vector<double> &bound,
                                 const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-6 * bound[i] + 1e-30)
        << what << " at " << i;
}

/// Under the GPU pipeline's emulation (BREGMAN_EMULATE_GPU=1, under which
/// ctest runs the frontend suite again) a CPU-only op must fail with an
/// error containing every `part` (checked here, then true); false when not
/// emulating, and the caller runs its checks.
inline bool expectGpuRefusal(const std::function<void()> &run,
                             std::initializer_list<std::string> parts) {
  const char *emulate = std::getenv("BREGMAN_EMULATE_GPU");
  if (!emulate || std::string(emulate) != "1")
    return false;
  expectError(run, parts);
  return true;
}

} // namespace bregman::testing

#endif // BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H
