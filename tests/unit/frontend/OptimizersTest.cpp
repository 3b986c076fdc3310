//===- OptimizersTest.cpp - AdaBreg, ProxSGD, SGD, Adam, l1_pos, Optimizer -===//
//
// The compiled adabreg_update / adam_update / proxsgd_update / sgd_update and
// the l1_pos regulariser (f32) against a float64 reference written here from
// ALGORITHMS.md §2–3, computed from the same f32 inputs:
//   prox_{sJ}(x): none x; l1 sign(x)·max(|x| − sλ, 0); l1_pos max(x − sλ, 0)
//   subgradient init   : v = θ/δ + p, p = λ·sign(θ) for l1 and l1_pos, 0 none
//   AdaBreg (step t)   : m1' = β1·m1 + (1−β1)·g ; m2' = β2·m2 + (1−β2)·g²
//                        d = √m2' / √(1−β2ᵗ) + ε
//                        v' = v − (τ/(1−β1ᵗ))·m1'/d ; θ' = prox_{δJ}(δ·v')
//   Adam (step t)      : the same moments, θ' = θ − (τ/(1−β1ᵗ))·m1'/d
//   ProxSGD            : θ' = prox_{τJ}(θ − τ·g)
//   SGD                : θ' = θ − τ·g ; momentum (PyTorch): m' = β·m + g,
//                        θ' = θ − τ·m'
//   LinBreg            : v' = v − τg (β = 0) or m' = βm + (1−β)τg, v' = v − m'
//                        θ' = prox_{δJ}(δ·v')
// and optim::Optimizer for every Method on a tiny MLP.
//
// On tolerances for the Adam-type updates: the compiled code evaluates the
// bias corrections 1 − βᵗ in f32 (powf of an f32 β), and 1 − β2ᵗ ≈ t·10⁻³
// loses up to ~1.5·10⁻⁵ of its relative precision to cancellation (√ halves
// it). So the step Δ = τ/(1−β1ᵗ)·m1'/d is compared to 2·10⁻⁵ of |Δ| on top of
// the 10⁻⁶-relative bound for the rest. Every plausible mistake (a missing
// bias correction, ε inside the square root or before the correction, a
// wrong δ, a wrong threshold, a dampened momentum) changes Δ or θ' by
// factors, orders of magnitude above that.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>

using namespace bregman;
using namespace bregman::testing;

namespace {

// The float64 references (refProx, refLinBreg, refAdamMoments, ...) are in
// tests/unit/support/References.h.

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Gradients in [-1, 1] except every 17th element (from the 4th) scaled down
/// to ~10⁻⁶: there √m2 is comparable to ε = 10⁻⁸, so ε's placement shows.
std::vector<float> adamGradients(std::mt19937 &rng, int64_t n) {
  std::vector<float> g = randomFloats(rng, n);
  for (int64_t i = 3; i < n; i += 17)
    g[i] *= 1e-6f;
  return g;
}

/// Relative tolerance of the plain arithmetic and of the f32 bias corrections
/// (see the file comment).
constexpr double kRel = 1e-6;
constexpr double kBiasRel = 2e-5;

/// Exact zeros of θ' = prox(x) where x is clearly inside the dead zone, and
/// non-zeros (of x's sign) where clearly outside; for l1_pos the dead zone
/// is x ≤ thr, for l1 |x| ≤ thr. Counts both so that a case really
/// thresholds.
void checkThreshold(Regularizer reg, const std::vector<float> &got,
                    const std::vector<double> &x, double thr,
                    bool requireBoth = true) {
  if (reg == Regularizer::None)
    return;
  int64_t zeros = 0, nonzeros = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double a = reg == Regularizer::L1 ? std::abs(x[i]) : x[i];
    if (a < thr * (1 - 1e-5) - 1e-12) {
      ASSERT_EQ(got[i], 0.0f) << "element " << i << ": prox input " << x[i]
                              << ", threshold " << thr;
      ASSERT_FALSE(std::signbit(got[i]) && reg == Regularizer::L1Pos) << i;
      ++zeros;
    } else if (a > thr * (1 + 1e-5) + 1e-12) {
      ASSERT_NE(got[i], 0.0f) << "element " << i << ": prox input " << x[i];
      ASSERT_EQ(std::signbit(got[i]), std::signbit(x[i])) << i;
      ++nonzeros;
    }
    if (reg == Regularizer::L1Pos)
      ASSERT_GE(got[i], 0.0f) << "l1_pos gave a negative value at " << i;
  }
  if (requireBoth && got.size() > 20) {
    EXPECT_GT(zeros, 0);
    EXPECT_GT(nonzeros, 0);
  }
}

//===----------------------------------------------------------------------===//
// adabreg_update: 5 consecutive steps
//===----------------------------------------------------------------------===//

struct AdaBregCase {
  Regularizer reg;
  float lr, delta, lambda;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

void checkAdaBreg(const AdaBregCase &c) {
  auto step = jitAdabregUpdate(c.reg);
  const double lr = c.lr, delta = c.delta, lambda = c.lambda, b1 = c.beta1,
               b2 = c.beta2, eps = c.eps;
  int seed = 11;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++ * 31 + int(c.reg) * 1000 + int(c.delta * 10));
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n),
                       v = randomFloats(rng, n, -1.5f, 1.5f),
                       m1(n, 0.0f), m2(n, 0.0f);
    for (int t = 1; t <= 5; ++t) {
      SCOPED_TRACE("t = " + std::to_string(t));
      std::vector<float> g = adamGradients(rng, n);
      auto [t2, v2, m12, m22] = step(
          f32(theta, shape), f32(v, shape), f32(g, shape), f32(m1, shape),
          f32(m2, shape), Tensor::scalar(c.lr), Tensor::scalar(c.delta),
          Tensor::scalar(c.lambda), Tensor::scalar(c.beta1),
          Tensor::scalar(c.beta2), Tensor::scalar(c.eps),
          Tensor::scalar(float(t)));
      ASSERT_EQ(t2.shape(), shape);
      ASSERT_EQ(v2.shape(), shape);
      ASSERT_EQ(m12.shape(), shape);
      ASSERT_EQ(m22.shape(), shape);

      std::vector<double> et(n), ev(n), em1(n), em2(n), dv(n), tt(n), tv(n),
          tm1(n), tm2(n);
      for (int64_t i = 0; i < n; ++i) {
        RefAdam a = refAdamMoments(g[i], m1[i], m2[i], lr, b1, b2, eps, t);
        em1[i] = a.m1;
        em2[i] = a.m2;
        ev[i] = v[i] - a.step;
        dv[i] = delta * ev[i];
        et[i] = refProx(c.reg, dv[i], delta, lambda);
        tm1[i] = kRel * (b1 * std::abs(m1[i]) + (1 - b1) * std::abs(g[i]));
        tm2[i] = kRel * em2[i];
        tv[i] = kRel * (std::abs(v[i]) + a.stepScale) +
                kBiasRel * std::abs(a.step);
        tt[i] = delta * tv[i] + kRel * std::abs(et[i]);
      }
      EXPECT_TRUE(within(m12.toVector<float>(), em1, tm1)) << "m1'";
      EXPECT_TRUE(within(m22.toVector<float>(), em2, tm2)) << "m2'";
      EXPECT_TRUE(within(v2.toVector<float>(), ev, tv)) << "v'";
      std::vector<float> got = t2.toVector<float>();
      EXPECT_TRUE(within(got, et, tt)) << "theta'";
      checkThreshold(c.reg, got, dv, delta * lambda);
      if (::testing::Test::HasFatalFailure())
        return;

      theta = got;
      v = v2.toVector<float>();
      m1 = m12.toVector<float>();
      m2 = m22.toVector<float>();
    }
  }
  EXPECT_EQ(step.compileCount(), std::size(kShapes)); // t is a runtime value
}

TEST(OptimAdaBreg, NoneDeltaOne) {
  checkAdaBreg({Regularizer::None, 0.1f, 1.0f, 0.5f});
}
TEST(OptimAdaBreg, NoneDelta) {
  // θ' = δ·v'
  checkAdaBreg({Regularizer::None, 0.1f, 2.5f, 0.5f});
}
TEST(OptimAdaBreg, L1DeltaOne) {
  checkAdaBreg({Regularizer::L1, 0.1f, 1.0f, 0.5f});
}
TEST(OptimAdaBreg, L1Delta) {
  // δ ≠ 1 distinguishes prox_{δJ}(δv) from prox_{δJ}(v) and prox_J(δv)
  // (δ·prox_J(v) is the same map for l1 and l1_pos: positive homogeneity).
  checkAdaBreg({Regularizer::L1, 0.1f, 2.5f, 0.5f});
}
TEST(OptimAdaBreg, L1PosDeltaOne) {
  checkAdaBreg({Regularizer::L1Pos, 0.1f, 1.0f, 0.5f});
}
TEST(OptimAdaBreg, L1PosDelta) {
  checkAdaBreg({Regularizer::L1Pos, 0.1f, 2.5f, 0.5f});
}
TEST(OptimAdaBreg, L1DeltaOtherBetasLargeEps) {
  // Non-default β1, β2 (no constants baked in) and an ε comparable to √m̂2.
  checkAdaBreg({Regularizer::L1, 0.05f, 2.5f, 0.3f, 0.8f, 0.99f, 0.05f});
}

//===----------------------------------------------------------------------===//
// adam_update: 5 steps, and AdaBreg(none, δ = 1, v = θ) ≡ Adam
//===----------------------------------------------------------------------===//

auto makeAdamStep() {
  return jit([](const Tensor &theta, const Tensor &g, const Tensor &m1,
                const Tensor &m2, const Tensor &lr, const Tensor &beta1,
                const Tensor &beta2, const Tensor &eps, const Tensor &t) {
    std::vector<Tensor> r =
        adamUpdate(theta, g, m1, m2, lr, beta1, beta2, eps, t);
    return std::make_tuple(r[0], r[1], r[2]);
  });
}

void checkAdam(float lrF, float b1F, float b2F, float epsF) {
  auto step = makeAdamStep();
  const double lr = lrF, b1 = b1F, b2 = b2F, eps = epsF;
  int seed = 23;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++);
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n), m1(n, 0.0f), m2(n, 0.0f);
    for (int t = 1; t <= 5; ++t) {
      SCOPED_TRACE("t = " + std::to_string(t));
      std::vector<float> g = adamGradients(rng, n);
      auto [t2, m12, m22] =
          step(f32(theta, shape), f32(g, shape), f32(m1, shape),
               f32(m2, shape), Tensor::scalar(lrF), Tensor::scalar(b1F),
               Tensor::scalar(b2F), Tensor::scalar(epsF),
               Tensor::scalar(float(t)));
      ASSERT_EQ(t2.shape(), shape);
      std::vector<double> et(n), em1(n), em2(n), tt(n), tm1(n), tm2(n);
      for (int64_t i = 0; i < n; ++i) {
        RefAdam a = refAdamMoments(g[i], m1[i], m2[i], lr, b1, b2, eps, t);
        em1[i] = a.m1;
        em2[i] = a.m2;
        et[i] = theta[i] - a.step;
        tm1[i] = kRel * (b1 * std::abs(m1[i]) + (1 - b1) * std::abs(g[i]));
        tm2[i] = kRel * em2[i];
        tt[i] = kRel * (std::abs(theta[i]) + a.stepScale) +
                kBiasRel * std::abs(a.step);
      }
      EXPECT_TRUE(within(m12.toVector<float>(), em1, tm1)) << "m1'";
      EXPECT_TRUE(within(m22.toVector<float>(), em2, tm2)) << "m2'";
      EXPECT_TRUE(within(t2.toVector<float>(), et, tt)) << "theta'";
      if (::testing::Test::HasFailure())
        return;
      theta = t2.toVector<float>();
      m1 = m12.toVector<float>();
      m2 = m22.toVector<float>();
    }
  }
  EXPECT_EQ(step.compileCount(), std::size(kShapes));
}

TEST(OptimAdam, FiveStepsDefaults) { checkAdam(0.1f, 0.9f, 0.999f, 1e-8f); }
TEST(OptimAdam, FiveStepsOtherBetasLargeEps) {
  checkAdam(0.03f, 0.8f, 0.99f, 0.05f);
}

TEST(OptimAdam, AdaBregNoneDeltaOneFromThetaIsAdam) {
  auto adam = makeAdamStep();
  auto ada = jit([](const Tensor &theta, const Tensor &v, const Tensor &g,
                    const Tensor &m1, const Tensor &m2, const Tensor &lr,
                    const Tensor &delta, const Tensor &lambda,
                    const Tensor &beta1, const Tensor &beta2, const Tensor &eps,
                    const Tensor &t) {
    std::vector<Tensor> r =
        adabregUpdate(Regularizer::None, theta, v, g, m1, m2, lr, delta,
                      lambda, beta1, beta2, eps, t);
    return std::make_tuple(r[0], r[1], r[2], r[3]);
  });
  const float lr = 0.1f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(numElements(shape) + 5);
    int64_t n = numElements(shape);
    std::vector<float> theta0 = randomFloats(rng, n), zeros(n, 0.0f);
    // Adam's state and AdaBreg's (v = θ: the subgradient init with δ = 1, J = 0).
    std::vector<float> ta = theta0, ma1 = zeros, ma2 = zeros;
    std::vector<float> tb = theta0, vb = theta0, mb1 = zeros, mb2 = zeros;
    int64_t bitwiseDifferent = 0;
    for (int t = 1; t <= 5; ++t) {
      SCOPED_TRACE("t = " + std::to_string(t));
      std::vector<float> g = adamGradients(rng, n);
      auto [a0, a1, a2] =
          adam(f32(ta, shape), f32(g, shape), f32(ma1, shape), f32(ma2, shape),
               Tensor::scalar(lr), Tensor::scalar(b1), Tensor::scalar(b2),
               Tensor::scalar(eps), Tensor::scalar(float(t)));
      auto [b0, bv, bm1, bm2] = ada(
          f32(tb, shape), f32(vb, shape), f32(g, shape), f32(mb1, shape),
          f32(mb2, shape), Tensor::scalar(lr), Tensor::scalar(1.0f),
          Tensor::scalar(0.7f), Tensor::scalar(b1), Tensor::scalar(b2),
          Tensor::scalar(eps), Tensor::scalar(float(t)));
      ta = a0.toVector<float>();
      ma1 = a1.toVector<float>();
      ma2 = a2.toVector<float>();
      tb = b0.toVector<float>();
      vb = bv.toVector<float>();
      mb1 = bm1.toVector<float>();
      mb2 = bm2.toVector<float>();
      EXPECT_TRUE(closeTo(tb, toDouble(ta), 1.0)) << "theta";
      EXPECT_TRUE(closeTo(vb, toDouble(ta), 1.0)) << "v";
      EXPECT_TRUE(closeTo(mb1, toDouble(ma1), maxAbs(toDouble(ma1)))) << "m1";
      EXPECT_TRUE(closeTo(mb2, toDouble(ma2), maxAbs(toDouble(ma2)))) << "m2";
      for (int64_t i = 0; i < n; ++i)
        bitwiseDifferent += std::memcmp(&ta[i], &tb[i], sizeof(float)) != 0;
    }
    // Informational: the two lowerings share the moment code.
    if (bitwiseDifferent)
      std::printf("[ info ] %s: %lld of %lld AdaBreg values differ bitwise "
                  "from Adam\n",
                  shapeString(shape).c_str(), (long long)bitwiseDifferent,
                  (long long)(5 * n));
  }
}

//===----------------------------------------------------------------------===//
// proxsgd_update
//===----------------------------------------------------------------------===//

void checkProxSgd(Regularizer reg, float lrF, float lambdaF) {
  auto step = jit([reg](const Tensor &theta, const Tensor &g, const Tensor &lr,
                        const Tensor &lambda) {
    return proxsgdUpdate(reg, theta, g, lr, lambda);
  });
  const double lr = lrF, lambda = lambdaF;
  int seed = 41;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++ + int(reg) * 100);
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n),
                       g = randomFloats(rng, n, -2.0f, 2.0f);
    std::vector<float> got = step(f32(theta, shape), f32(g, shape),
                                  Tensor::scalar(lrF), Tensor::scalar(lambdaF))
                                 .toVector<float>();
    std::vector<double> x(n), expected(n);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = theta[i] - lr * g[i];
      expected[i] = refProx(reg, x[i], lr, lambda);
    }
    EXPECT_TRUE(closeTo(got, expected, maxAbs(x)));
    checkThreshold(reg, got, x, lr * lambda);
  }
  EXPECT_EQ(step.compileCount(), std::size(kShapes));
}

TEST(OptimProxSgd, None) { checkProxSgd(Regularizer::None, 0.2f, 1.5f); }
TEST(OptimProxSgd, L1) { checkProxSgd(Regularizer::L1, 0.2f, 1.5f); }
TEST(OptimProxSgd, L1Pos) { checkProxSgd(Regularizer::L1Pos, 0.2f, 1.5f); }
TEST(OptimProxSgd, L1ThresholdIsLrTimesLambda) {
  // lr and λ enter as the product τλ; a different split of the same product
  // catches a threshold of λ (or τ) alone.
  checkProxSgd(Regularizer::L1, 0.5f, 0.6f);
}

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

TEST(OptimSgd, NoMomentumIsBitwiseThetaMinusLrG) {
  auto step = jit([](const Tensor &theta, const Tensor &g, const Tensor &lr) {
    return sgdUpdate(theta, g, lr)[0];
  });
  const float lr = 0.1f;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(numElements(shape) * 3);
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n),
                       g = randomFloats(rng, n, -3.0f, 3.0f);
    std::vector<float> got =
        step(f32(theta, shape), f32(g, shape), Tensor::scalar(lr))
            .toVector<float>();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      volatile float s = lr * g[i]; // no FMA contraction here
      float sgd = theta[i] - s;
      if (std::memcmp(&got[i], &sgd, sizeof(float)) != 0 && mismatches++ < 5)
        ADD_FAILURE() << "element " << i << ": " << got[i] << " != " << sgd;
    }
    EXPECT_EQ(mismatches, 0);
  }
}

TEST(OptimSgd, MomentumFiveSteps) {
  auto step = jit([](const Tensor &theta, const Tensor &g, const Tensor &lr,
                     const Tensor &m, const Tensor &beta) {
    std::vector<Tensor> r = sgdUpdate(theta, g, lr, m, beta);
    return std::make_tuple(r[0], r[1]);
  });
  const float lrF = 0.1f, betaF = 0.9f;
  const double lr = lrF, beta = betaF;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(numElements(shape) * 5 + 1);
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n), m(n, 0.0f);
    for (int t = 1; t <= 5; ++t) {
      SCOPED_TRACE("t = " + std::to_string(t));
      std::vector<float> g = randomFloats(rng, n, -2.0f, 2.0f);
      auto [t2, m2] = step(f32(theta, shape), f32(g, shape),
                           Tensor::scalar(lrF), f32(m, shape),
                           Tensor::scalar(betaF));
      std::vector<double> et(n), em(n), tt(n), tm(n);
      for (int64_t i = 0; i < n; ++i) {
        em[i] = beta * m[i] + g[i];
        et[i] = theta[i] - lr * em[i];
        tm[i] = kRel * (beta * std::abs(m[i]) + std::abs(g[i]));
        tt[i] = kRel * (std::abs(theta[i]) + lr * std::abs(em[i])) +
                lr * tm[i];
      }
      EXPECT_TRUE(within(m2.toVector<float>(), em, tm)) << "m'";
      EXPECT_TRUE(within(t2.toVector<float>(), et, tt)) << "theta'";
      if (::testing::Test::HasFailure())
        return;
      theta = t2.toVector<float>();
      m = m2.toVector<float>();
    }
  }
  EXPECT_EQ(step.compileCount(), std::size(kShapes));
}

//===----------------------------------------------------------------------===//
// l1_pos in linbreg_update, prox and subgradient_init
//===----------------------------------------------------------------------===//

void checkLinBregL1Pos(bool momentum, float lrF, float deltaF, float lambdaF,
                       float betaF) {
  auto step = jit([momentum](const Tensor &theta, const Tensor &v,
                             const Tensor &g, const Tensor &lr,
                             const Tensor &delta, const Tensor &lambda,
                             const Tensor &m, const Tensor &beta) {
    std::vector<Tensor> r =
        momentum ? linbregUpdate(Regularizer::L1Pos, theta, v, g, lr, delta,
                                 lambda, m, beta)
                 : linbregUpdate(Regularizer::L1Pos, theta, v, g, lr, delta,
                                 lambda);
    if (!momentum)
      r.push_back(r[1] * 0.0f); // placeholder, not checked
    return std::make_tuple(r[0], r[1], r[2]);
  });
  const double lr = lrF, delta = deltaF, lambda = lambdaF, beta = betaF;
  int seed = 61;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++ + (momentum ? 7 : 0));
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n), v = randomFloats(rng, n),
                       g = randomFloats(rng, n, -2.0f, 2.0f),
                       m = randomFloats(rng, n, -0.2f, 0.2f);
    auto [t2, v2, m2] = step(f32(theta, shape), f32(v, shape), f32(g, shape),
                             Tensor::scalar(lrF), Tensor::scalar(deltaF),
                             Tensor::scalar(lambdaF), f32(m, shape),
                             Tensor::scalar(betaF));
    std::vector<double> et(n), ev(n), em(n), dv(n);
    for (int64_t i = 0; i < n; ++i) {
      RefLinBreg r = refLinBreg(Regularizer::L1Pos, v[i], g[i], lr, delta,
                                lambda, m[i], momentum ? beta : -1.0);
      et[i] = r.theta;
      ev[i] = r.v;
      em[i] = r.m;
      dv[i] = delta * r.v;
    }
    std::vector<float> got = t2.toVector<float>();
    EXPECT_TRUE(closeTo(got, et, maxAbs(dv))) << "theta'";
    EXPECT_TRUE(closeTo(v2.toVector<float>(), ev, maxAbs(ev))) << "v'";
    if (momentum)
      EXPECT_TRUE(closeTo(m2.toVector<float>(), em, maxAbs(em))) << "m'";
    checkThreshold(Regularizer::L1Pos, got, dv, delta * lambda);
  }
}

TEST(OptimL1Pos, LinBreg) { checkLinBregL1Pos(false, 0.3f, 2.5f, 0.4f, 0.0f); }
TEST(OptimL1Pos, LinBregMomentum) {
  checkLinBregL1Pos(true, 0.1f, 1.5f, 0.3f, 0.9f);
}

TEST(OptimL1Pos, Prox) {
  const float scale = 1.5f, lambda = 0.4f;
  int seed = 71;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    auto [x, got] = checkProxAgainstReference(Regularizer::L1Pos, shape,
                                              seed++, scale, lambda);
    ASSERT_EQ(got[0], 0.0f);
    checkThreshold(Regularizer::L1Pos, got, toDouble(x),
                   double(scale) * lambda);
  }
}

TEST(OptimL1Pos, SubgradientInit) {
  checkSubgradientInit(Regularizer::L1Pos, 2.0f, 0.3f, /*seed=*/81);
}

//===----------------------------------------------------------------------===//
// optim::Optimizer on a tiny MLP, every method
//===----------------------------------------------------------------------===//

/// The float64 mirror of one parameter's optimizer state.
struct RefParamState {
  std::vector<double> theta, v, m, m1, m2;
};

void checkOptimizer(optim::Method method) {
  using optim::Method;
  const bool bregman = method == Method::LinBreg || method == Method::AdaBreg;
  const bool regularized = bregman || method == Method::ProxSGD;
  const bool adam = method == Method::AdaBreg || method == Method::Adam;

  optim::Group w{"weights", optim::weights(),
                 regularized ? Regularizer::L1 : Regularizer::None};
  optim::Group b{"biases", optim::biases(), Regularizer::None};
  switch (method) {
  case Method::LinBreg:
    w.lr = 0.1f, w.delta = 1.5f, w.lambda = 0.01f, w.momentum = 0.5f;
    b.lr = 0.2f, b.delta = 0.5f;
    break;
  case Method::AdaBreg:
    w.lr = 0.02f, w.delta = 1.5f, w.lambda = 0.02f;
    w.beta1 = 0.8f, w.beta2 = 0.99f, w.eps = 1e-6f;
    b.lr = 0.05f, b.delta = 2.0f;
    break;
  case Method::ProxSGD:
    w.lr = 0.1f, w.lambda = 0.1f;
    b.lr = 0.2f;
    break;
  case Method::SGD:
    w.lr = 0.1f, w.momentum = 0.9f;
    b.lr = 0.2f;
    break;
  case Method::Adam:
    w.lr = 0.02f, w.beta1 = 0.8f, w.beta2 = 0.99f, w.eps = 1e-6f;
    b.lr = 0.05f;
    break;
  }
  optim::Optimizer opt(method, {w, b});
  EXPECT_EQ(opt.method(), method);

  models::MLP model({6, 5, 3});
  Params params = model.init(/*seed=*/9, nn::SparseInit{0.5, 1.0});

  // The reference state, from copies of the initial values (donation
  // overwrites the buffers).
  std::map<std::string, RefParamState> ref;
  for (const auto &[name, t] : params) {
    const optim::Group &g = isWeightName(name) ? w : b;
    EXPECT_EQ(opt.groupOf(name).name, g.name) << name;
    RefParamState &r = ref[name];
    r.theta = toDouble(t.toVector<float>());
    size_t n = r.theta.size();
    r.v.assign(n, 0.0);
    r.m.assign(n, 0.0);
    r.m1.assign(n, 0.0);
    r.m2.assign(n, 0.0);
    if (bregman)
      for (size_t i = 0; i < n; ++i)
        r.v[i] = refSubgradientInit(g.regularizer, r.theta[i], g.delta,
                                    g.lambda);
  }

  Params state = opt.init(params);
  auto hasMomentum = [&](const optim::Group &g) {
    return (method == Method::LinBreg || method == Method::SGD) &&
           g.momentum > 0;
  };
  // The documented layout, and nothing else.
  size_t expectedEntries = opt.groups().size() * opt.hyperNames().size();
  for (const auto &[name, r] : ref) {
    const optim::Group &g = isWeightName(name) ? w : b;
    if (bregman) {
      ASSERT_TRUE(state.contains("v/" + name)) << name;
      EXPECT_TRUE(closeTo(state.at("v/" + name).toVector<float>(), r.v, 1.0))
          << "init v/" << name;
      ++expectedEntries;
    }
    if (hasMomentum(g)) {
      ASSERT_TRUE(state.contains("m/" + name)) << name;
      EXPECT_TRUE(closeTo(state.at("m/" + name).toVector<float>(), r.m, 1.0));
      ++expectedEntries;
    } else {
      EXPECT_FALSE(state.contains("m/" + name)) << name;
    }
    if (adam) {
      ASSERT_TRUE(state.contains("m1/" + name)) << name;
      ASSERT_TRUE(state.contains("m2/" + name)) << name;
      EXPECT_TRUE(closeTo(state.at("m1/" + name).toVector<float>(), r.m1, 1.0));
      EXPECT_TRUE(closeTo(state.at("m2/" + name).toVector<float>(), r.m2, 1.0));
      expectedEntries += 2;
    }
  }
  if (adam) {
    ASSERT_TRUE(state.contains("step"));
    EXPECT_EQ(state.at("step").item(), 0.0);
    ++expectedEntries;
  } else {
    EXPECT_FALSE(state.contains("step"));
  }
  EXPECT_EQ(state.size(), expectedEntries);
  for (const optim::Group *g : {&w, &b})
    EXPECT_EQ(opt.hyper(state, g->name, "lr"), g->lr) << g->name;

  auto step = jitTrainStep<true>(
      model, opt,
      JitOptions{{0, 1}, std::string("optimizers_test.") +
                             optim::methodName(method)});

  std::mt19937 rng(29);
  Tensor x = f32(randomFloats(rng, 8 * 6, -2.0f, 2.0f), {8, 6});
  Tensor y =
      Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 0, 2, 1, 1, 0}, {8});

  std::map<std::string, double> lrNow = {{"weights", w.lr}, {"biases", b.lr}};
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE("step " + std::to_string(k + 1));
    if (k == 2) {
      // A schedule changes lr in the state: no recompilation, and the next
      // step uses it.
      const float newLr = w.lr * 3.0f;
      opt.setHyper(state, "weights", "lr", newLr);
      EXPECT_EQ(opt.hyper(state, "weights", "lr"), newLr);
      lrNow["weights"] = newLr;
    }
    std::map<std::string, const void *> before, stateBefore;
    for (const auto &[name, t] : params)
      before[name] = t.data<float>();
    for (const auto &[name, t] : state)
      stateBefore[name] = t.data<float>();

    auto [p2, s2, loss, grads] = step(params, state, x, y);
    EXPECT_TRUE(std::isfinite(loss.item()));
    ASSERT_EQ(p2.size(), params.size());
    ASSERT_EQ(s2.size(), state.size());

    // In place: the same buffers now hold the new values.
    for (const auto &[name, t] : p2)
      EXPECT_EQ(static_cast<const void *>(t.data<float>()), before.at(name))
          << "param " << name;
    for (const auto &[name, t] : s2) {
      ASSERT_TRUE(stateBefore.count(name)) << "new state entry " << name;
      EXPECT_EQ(static_cast<const void *>(t.data<float>()),
                stateBefore.at(name))
          << "state " << name;
    }

    if (adam)
      EXPECT_EQ(s2.at("step").item(), double(k + 1));

    // The reference step given the same gradients.
    for (auto &[name, r] : ref) {
      SCOPED_TRACE(name);
      const optim::Group &g = isWeightName(name) ? w : b;
      const double lr = lrNow.at(g.name), delta = g.delta, lambda = g.lambda,
                   beta = g.momentum, b1 = g.beta1, b2 = g.beta2, eps = g.eps;
      std::vector<float> gv = grads.at(name).toVector<float>();
      ASSERT_EQ(gv.size(), r.theta.size());
      for (size_t i = 0; i < gv.size(); ++i) {
        double gi = gv[i];
        switch (method) {
        case Method::LinBreg: {
          RefLinBreg s = refLinBreg(g.regularizer, r.v[i], gi, lr, delta,
                                    lambda, r.m[i],
                                    hasMomentum(g) ? beta : -1.0);
          r.theta[i] = s.theta;
          r.v[i] = s.v;
          r.m[i] = s.m;
          break;
        }
        case Method::AdaBreg: {
          RefAdam a = refAdamMoments(gi, r.m1[i], r.m2[i], lr, b1, b2, eps,
                                     k + 1);
          r.m1[i] = a.m1;
          r.m2[i] = a.m2;
          r.v[i] -= a.step;
          r.theta[i] = refProx(g.regularizer, delta * r.v[i], delta, lambda);
          break;
        }
        case Method::ProxSGD:
          r.theta[i] =
              refProx(g.regularizer, r.theta[i] - lr * gi, lr, lambda);
          break;
        case Method::SGD:
          if (hasMomentum(g)) {
            r.m[i] = beta * r.m[i] + gi;
            r.theta[i] -= lr * r.m[i];
          } else {
            r.theta[i] -= lr * gi;
          }
          break;
        case Method::Adam: {
          RefAdam a = refAdamMoments(gi, r.m1[i], r.m2[i], lr, b1, b2, eps,
                                     k + 1);
          r.m1[i] = a.m1;
          r.m2[i] = a.m2;
          r.theta[i] -= a.step;
          break;
        }
        }
      }
      EXPECT_TRUE(closeTo(p2.at(name).toVector<float>(), r.theta, 1.0, 1e-5))
          << "param";
      if (bregman)
        EXPECT_TRUE(
            closeTo(s2.at("v/" + name).toVector<float>(), r.v, 1.0, 1e-5))
            << "v";
      if (hasMomentum(g))
        EXPECT_TRUE(
            closeTo(s2.at("m/" + name).toVector<float>(), r.m, 1.0, 1e-5))
            << "m";
      if (adam) {
        EXPECT_TRUE(closeTo(s2.at("m1/" + name).toVector<float>(), r.m1,
                            maxAbs(r.m1), 1e-5))
            << "m1";
        EXPECT_TRUE(closeTo(s2.at("m2/" + name).toVector<float>(), r.m2,
                            maxAbs(r.m2), 1e-5))
            << "m2";
      }
      // Exact zeros where the reference has them (l1 weights).
      std::vector<float> got = p2.at(name).toVector<float>();
      if (g.regularizer != Regularizer::None)
        for (size_t i = 0; i < got.size(); ++i)
          if (r.theta[i] == 0.0)
            EXPECT_EQ(got[i], 0.0f) << "[" << i << "]";
    }
    if (::testing::Test::HasFailure())
      return;
    params = p2;
    state = s2;
  }
  EXPECT_EQ(step.compileCount(), 1u);
  EXPECT_EQ(opt.hyper(state, "weights", "lr"), float(lrNow.at("weights")));
  EXPECT_EQ(opt.hyper(state, "biases", "lr"), b.lr);
  if (adam)
    EXPECT_EQ(state.at("step").item(), 4.0);
}

TEST(OptimOptimizer, LinBreg) { checkOptimizer(optim::Method::LinBreg); }
TEST(OptimOptimizer, AdaBreg) { checkOptimizer(optim::Method::AdaBreg); }
TEST(OptimOptimizer, ProxSGD) { checkOptimizer(optim::Method::ProxSGD); }
TEST(OptimOptimizer, SGD) { checkOptimizer(optim::Method::SGD); }
TEST(OptimOptimizer, Adam) { checkOptimizer(optim::Method::Adam); }

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//


TEST(OptimErrors, UnregularizedMethodsRejectARegularizer) {
  for (optim::Method m : {optim::Method::SGD, optim::Method::Adam}) {
    SCOPED_TRACE(optim::methodName(m));
    expectError(
        [&] {
          optim::Optimizer opt(
              m, {{"weights", optim::weights(), Regularizer::None},
                  {"sparse_group", optim::all(), Regularizer::L1}});
        },
        {"sparse_group", "l1", "linbreg", "adabreg", "proxsgd"});
    expectError(
        [&] {
          optim::Optimizer opt(
              m, {{"weights", optim::weights(), Regularizer::L1Pos}});
        },
        {"weights", "l1_pos", "linbreg", "adabreg", "proxsgd"});
  }
  // The regularised methods accept it.
  for (optim::Method m : {optim::Method::LinBreg, optim::Method::AdaBreg,
                          optim::Method::ProxSGD})
    EXPECT_NO_THROW(optim::Optimizer(
        m, {{"weights", optim::weights(), Regularizer::L1}}));
}

TEST(OptimErrors, UnknownHyperParameterListsTheKeptOnes) {
  optim::ProxSGD opt({{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.01f},
                      {"biases", optim::biases()}});
  EXPECT_EQ(opt.hyperNames(), (std::vector<std::string>{"lr", "lambda"}));
  models::MLP model({3, 2});
  Params params = model.init(1, nn::SparseInit{1.0, 1.0});
  Params state = opt.init(params);
  EXPECT_FALSE(state.contains("v/fc1.weight")); // ProxSGD keeps no v
  expectError([&] { opt.hyper(state, "weights", "delta"); },
              {"delta", "weights", "lr", "lambda"});
  expectError([&] { opt.setHyper(state, "weights", "delta", 2.0f); },
              {"delta", "weights", "lr", "lambda"});
  expectError([&] { opt.hyper(state, "nogroup", "lr"); },
              {"no parameter group 'nogroup'", "groups: weights, biases"});
  EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda"), 0.01f);
}

// NaN passed every check written as `x < 0`: a NaN λ made every parameter
// NaN after one step. Each hyper-parameter the method keeps is checked, in
// the groups and in setHyper; two groups of one name are refused (their
// hyper-parameters are kept by name).
TEST(OptimErrors, HyperParametersAreCheckedIncludingNaNAndSetHyper) {
  const float nan = std::nanf("");
  expectError(
      [&] {
        optim::LinBreg(
            {{"w", optim::weights(), Regularizer::L1, 0.1f, 1.0f, nan}});
      },
      {"linbreg: group 'w': lambda must be >= 0 and finite, got nan"});
  expectError(
      [&] {
        optim::AdaBreg({{"w", optim::weights(), Regularizer::L1, 0.1f, 1.0f,
                         0.1f, 0.0f, nan}});
      },
      {"beta1 must be in [0, 1)"});
  expectError(
      [&] {
        optim::LinBreg(
            {{"w", optim::weights(), Regularizer::L1}, {"w", optim::biases()}});
      },
      {"two parameter groups are named 'w'"});
  optim::LinBreg opt(
      {{"weights", optim::weights(), Regularizer::L1, 0.1f, 1.0f, 0.01f},
       {"biases", optim::biases()}});
  models::MLP model({3, 2});
  Params state = opt.init(model.init(1, nn::SparseInit{1.0, 1.0}));
  expectError([&] { opt.setHyper(state, "weights", "lambda", nan); },
              {"lambda must be >= 0 and finite, got nan"});
  expectError([&] { opt.setHyper(state, "weights", "lr", -1.0f); },
              {"lr must be > 0 and finite, got -1"});
  expectError([&] { opt.setHyper(state, "weights", "momentum", 1.0f); },
              {"momentum must be in [0, 1)"});
  EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda"), 0.01f)
      << "a refused value leaves the old one";
}

TEST(OptimErrors, ParseMethodAndRegularizer) {
  for (optim::Method m :
       {optim::Method::LinBreg, optim::Method::AdaBreg, optim::Method::ProxSGD,
        optim::Method::SGD, optim::Method::Adam})
    EXPECT_EQ(optim::parseMethod(optim::methodName(m)), m);
  for (Regularizer r : {Regularizer::None, Regularizer::L1, Regularizer::L1Pos})
    EXPECT_EQ(parseRegularizer(regularizerName(r)), r);
  EXPECT_STREQ(regularizerName(Regularizer::L1Pos), "l1_pos");
  expectError([] { optim::parseMethod("foo"); },
              {"foo", "linbreg", "adabreg", "proxsgd", "sgd", "adam"});
  expectError([] { parseRegularizer("foo"); }, {"foo", "none", "l1", "l1_pos"});
}

} // namespace
