//===- ActivationTest.cpp - sigmoid, tanh and SiLU, stable everywhere -----===//
//
// The four activations (sigmoid, tanh, SiLU, GELU) at ±100, ±50, ±20, 0 and
// ordinary values, in f32 and f64, against float64 references written from
// their definitions: values, gradients (the analytic derivative in float64, and
// central differences in f64), and no NaN or Inf anywhere. The first test
// reproduces why: the composite 1/(exp(−x) + 1) the ONNX importer used has a
// NaN gradient below −88 in f32 (0·∞ in the VJP of the division).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace bregman;

namespace {

const std::vector<double> kPoints = {
    -100, -50, -20, -5, -1, -0.3, -0.25, -0.2499, -0.01, -1e-4, 0,
    1e-4, 0.01, 0.0101, 0.2499, 0.25, 0.2501, 0.3, 1, 5, 20, 50, 100};

double refSigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

struct Activation {
  std::string name;
  std::function<Tensor(const Tensor &)> op;
  std::function<double(double)> value, derivative;
};

std::vector<Activation> activations() {
  return {
      {"sigmoid", [](const Tensor &x) { return sigmoid(x); }, refSigmoid,
       [](double x) { return refSigmoid(x) * refSigmoid(-x); }},
      {"tanh", [](const Tensor &x) { return bregman::tanh(x); },
       [](double x) { return std::tanh(x); },
       [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); }},
      {"silu", [](const Tensor &x) { return silu(x); },
       [](double x) { return x * refSigmoid(x); },
       [](double x) { return refSigmoid(x) * (1 + x * refSigmoid(-x)); }},
      // x·Φ(x): 1 + erf(x/√2) kept no digit below x ≈ −5 (−0 from −6 on).
      {"gelu", [](const Tensor &x) { return gelu(x); },
       [](double x) { return x * 0.5 * std::erfc(-x * M_SQRT1_2); },
       [](double x) {
         return 0.5 * std::erfc(-x * M_SQRT1_2) +
                x * std::exp(-x * x / 2) / std::sqrt(2 * M_PI);
       }},
      // Positional encodings (ONNX Sin, Cos), up to ±100 radians.
      {"sin", [](const Tensor &x) { return bregman::sin(x); },
       [](double x) { return std::sin(x); },
       [](double x) { return std::cos(x); }},
      {"cos", [](const Tensor &x) { return bregman::cos(x); },
       [](double x) { return std::cos(x); },
       [](double x) { return -std::sin(x); }},
  };
}

template <typename T> Tensor pointsAs() {
  std::vector<T> v(kPoints.begin(), kPoints.end());
  return Tensor::fromVector(v, {static_cast<int64_t>(v.size())});
}

/// (op(x), d/dx Σ op(x)) for x = kPoints in T.
template <typename T>
std::pair<std::vector<T>, std::vector<T>> valueAndDerivative(const Activation &a) {
  auto f = jit([&a](const Params &p) {
    Tensor y = a.op(p.at("x"));
    auto [total, g] = valueAndGrad([&](const Params &q) { return sum(a.op(q.at("x"))); })(p);
    return std::make_tuple(y, g.at("x"));
  });
  auto [y, g] = f(Params{{"x", pointsAs<T>()}});
  return {y.template toVector<T>(), g.template toVector<T>()};
}

// Why: the form built from exp(−x) overflows to ∞ at x = −100 in f32, and
// its gradient is NaN.
TEST(Activation, CompositeSigmoidGradientIsNaNBelowMinus88) {
  auto f = jit([](const Params &p) {
    return valueAndGrad([](const Params &q) {
      Tensor x = q.at("x");
      return sum(full({}, 1.0) / (exp(-x) + 1.0));
    })(p);
  });
  auto [value, g] = f(Params{{"x", Tensor::fromVector(std::vector<float>{-100.0f}, {1})}});
  EXPECT_TRUE(std::isnan(g.at("x").toVector<float>()[0]));
}

TEST(Activation, F32ValuesAndGradientsAreFiniteAndMatchFloat64) {
  for (const Activation &a : activations()) {
    auto [y, g] = valueAndDerivative<float>(a);
    for (size_t i = 0; i < kPoints.size(); ++i) {
      double x = kPoints[i], v = a.value(x), d = a.derivative(x);
      SCOPED_TRACE(a.name + " at " + std::to_string(x));
      ASSERT_TRUE(std::isfinite(y[i]) && std::isfinite(g[i]));
      // Relative to f32's epsilon; below 1e-37 (subnormal results) absolute.
      EXPECT_NEAR(y[i], v, 1e-37 + 1e-6 * std::abs(v));
      EXPECT_NEAR(g[i], d, 1e-37 + 2e-6 * std::abs(d));
    }
  }
}

TEST(Activation, F64ValuesAndGradientsMatchTheDefinitions) {
  for (const Activation &a : activations()) {
    auto [y, g] = valueAndDerivative<double>(a);
    for (size_t i = 0; i < kPoints.size(); ++i) {
      double x = kPoints[i], v = a.value(x), d = a.derivative(x);
      SCOPED_TRACE(a.name + " at " + std::to_string(x));
      EXPECT_NEAR(y[i], v, 1e-300 + 5e-14 * std::abs(v));
      EXPECT_NEAR(g[i], d, 1e-300 + 5e-13 * std::abs(d));
    }
  }
}

// The gradient the reverse pass builds equals central differences of the
// compiled forward (h = 1e-6, f64) wherever the function is not flat.
TEST(Activation, F64GradientsMatchFiniteDifferences) {
  for (const Activation &a : activations()) {
    auto forward = jit([&a](const Tensor &x) { return a.op(x); });
    auto [y, g] = valueAndDerivative<double>(a);
    const double h = 1e-6;
    std::vector<double> plus = kPoints, minus = kPoints;
    for (size_t i = 0; i < kPoints.size(); ++i) {
      plus[i] += h;
      minus[i] -= h;
    }
    int64_t n = static_cast<int64_t>(kPoints.size());
    std::vector<double> up = forward(Tensor::fromVector(plus, {n})).toVector<double>();
    std::vector<double> down = forward(Tensor::fromVector(minus, {n})).toVector<double>();
    for (size_t i = 0; i < kPoints.size(); ++i) {
      SCOPED_TRACE(a.name + " at " + std::to_string(kPoints[i]));
      double fd = (up[i] - down[i]) / (2 * h);
      EXPECT_NEAR(g[i], fd, 1e-8 + 1e-6 * std::abs(fd));
    }
  }
}

} // namespace

// exp and erf on whole vectors run as polynomials (breg-approximate-math),
// not libm: within 2^-22.5 relative (exp; 2^-16 above 87.6, 0 below 2^-126,
// +inf from the first argument whose exp overflows) and 2.5e-7 absolute
// (erf) of float64,
// with ±inf and NaN where libm has them.
TEST(Activation, VectorExpAndErfMatchFloat64) {
  std::vector<float> x;
  for (int i = 0; i < 60; ++i) // -95 .. 100, uneven steps
    x.push_back(-95.0f + 3.3f * static_cast<float>(i));
  const float inf = std::numeric_limits<float>::infinity();
  for (float special : {-inf, inf, std::nanf(""), 88.7228317f, 88.7228394f, -87.0f,
                        1e-20f, -0.5f})
    x.push_back(special);
  ASSERT_EQ(x.size() % 16, 4u); // full vectors and a masked tail
  auto f = jit(
      [](const Tensor &t) { return std::make_tuple(exp(t), erf(t), erfc(t)); });
  auto [e, r, c] = f(Tensor::fromVector(x, {static_cast<int64_t>(x.size())}));
  std::vector<float> ev = e.toVector<float>(), rv = r.toVector<float>(),
                     cv = c.toVector<float>();
  for (size_t i = 0; i < x.size(); ++i) {
    SCOPED_TRACE("x = " + std::to_string(x[i]));
    double wantExp = std::exp(static_cast<double>(x[i]));
    double wantErf = std::erf(static_cast<double>(x[i]));
    double wantErfc = std::erfc(static_cast<double>(x[i]));
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(ev[i]) && std::isnan(rv[i]) && std::isnan(cv[i]));
      continue;
    }
    if (wantExp > std::numeric_limits<float>::max())
      EXPECT_EQ(ev[i], inf);
    else // near overflow the exponent is clamped to 127: 2^-16 there
      EXPECT_NEAR(ev[i], wantExp, 1.2e-38 + (x[i] > 87.6f ? 1.6e-5 : 2e-7) * wantExp);
    EXPECT_NEAR(rv[i], wantErf, 3e-7);
    // Relative in the right tail (down to f32's smallest normal, 1e-38).
    EXPECT_NEAR(cv[i], wantErfc, 1.2e-38 + 1e-6 * wantErfc);
  }
}
