//===- UpdateTest.cpp - Compiled breg primitives and optim::LinBreg -------===//
//
// The compiled linbreg_update / prox / subgradient_init (f32) against a
// float64 reference written here from ALGORITHMS.md §2–3, computed from the
// same f32 inputs:
//   prox_{sJ}(x), J = λ‖·‖₁ : sign(x)·max(|x| − sλ, 0);  J = 0 : x
//   subgradient init        : v = θ/δ + λ·sign(θ) (sign(0) = 0);  none: θ/δ
//   LinBreg, β = 0          : v' = v − τg
//   LinBreg, β > 0          : m' = βm + (1−β)τg ; v' = v − m'
//   then                    : θ' = prox_{δJ}(δ·v')
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <random>

using namespace bregman;
using namespace bregman::testing;

namespace {

// The float64 references (refProx, refSubgradientInit, refLinBreg) are in
// tests/unit/support/References.h.

//===----------------------------------------------------------------------===//
// linbreg_update
//===----------------------------------------------------------------------===//

struct LinBregCase {
  Regularizer reg;
  bool momentum;
  float lr, delta, lambda, beta;
};

void checkLinBreg(const LinBregCase &c) {
  auto step = jit([reg = c.reg, mom = c.momentum](
                      const Tensor &theta, const Tensor &v, const Tensor &g,
                      const Tensor &lr, const Tensor &delta,
                      const Tensor &lambda, const Tensor &m,
                      const Tensor &beta) {
    std::vector<Tensor> r =
        mom ? linbregUpdate(reg, theta, v, g, lr, delta, lambda, m, beta)
            : linbregUpdate(reg, theta, v, g, lr, delta, lambda);
    if (!mom)
      r.push_back(r[1] * 0.0f); // placeholder, not checked
    return std::make_tuple(r[0], r[1], r[2]);
  });
  int seed = 1;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(seed++ * 7 + (c.momentum ? 100 : 0) +
                     (c.reg == Regularizer::L1 ? 1000 : 0));
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n), v = randomFloats(rng, n),
                       g = randomFloats(rng, n, -2.0f, 2.0f),
                       m = randomFloats(rng, n, -0.2f, 0.2f);
    auto [t2, v2, m2] =
        step(f32(theta, shape), f32(v, shape), f32(g, shape),
             Tensor::scalar(c.lr), Tensor::scalar(c.delta),
             Tensor::scalar(c.lambda), f32(m, shape), Tensor::scalar(c.beta));
    ASSERT_EQ(t2.shape(), shape);
    ASSERT_EQ(v2.shape(), shape);
    std::vector<double> et(n), ev(n), em(n), dv(n);
    for (int64_t i = 0; i < n; ++i) {
      RefLinBreg r = refLinBreg(c.reg, v[i], g[i], c.lr, c.delta, c.lambda,
                                m[i], c.momentum ? c.beta : -1.0);
      et[i] = r.theta;
      ev[i] = r.v;
      em[i] = r.m;
      dv[i] = c.delta * r.v;
    }
    double scale = maxAbs(dv);
    EXPECT_TRUE(closeTo(t2.toVector<float>(), et, scale)) << "theta'";
    EXPECT_TRUE(closeTo(v2.toVector<float>(), ev, maxAbs(ev))) << "v'";
    if (c.momentum)
      EXPECT_TRUE(closeTo(m2.toVector<float>(), em, maxAbs(em))) << "m'";

    if (c.reg == Regularizer::L1) {
      // Soft thresholding: |δ·v'| ≤ δλ gives an exact 0 (away from the
      // threshold by more than rounding), and a non-zero beyond it.
      std::vector<float> got = t2.toVector<float>();
      double thr = double(c.delta) * c.lambda;
      int64_t zeros = 0, nonzeros = 0;
      for (int64_t i = 0; i < n; ++i) {
        double a = std::abs(dv[i]);
        if (a < thr * (1 - 1e-5)) {
          ASSERT_EQ(got[i], 0.0f) << "element " << i << " |δv'| = " << a;
          ++zeros;
        } else if (a > thr * (1 + 1e-5)) {
          ASSERT_NE(got[i], 0.0f) << "element " << i;
          ASSERT_EQ(std::signbit(got[i]), std::signbit(dv[i])) << i;
          ++nonzeros;
        }
      }
      if (thr > 0) {
        EXPECT_GT(zeros, 0); // the case really thresholds something
        EXPECT_GT(nonzeros, 0);
      }
    }
  }
  EXPECT_EQ(step.compileCount(), std::size(kShapes));
}

TEST(LinBregUpdate, L1NoMomentum) {
  checkLinBreg({Regularizer::L1, false, 0.1f, 1.0f, 0.5f, 0.0f});
}
TEST(LinBregUpdate, L1NoMomentumDelta) {
  // δ ≠ 1 distinguishes prox_{δJ}(δv) from prox_{J}(v), δ·prox(v), etc.
  checkLinBreg({Regularizer::L1, false, 0.3f, 2.5f, 0.4f, 0.0f});
}
TEST(LinBregUpdate, L1Momentum) {
  checkLinBreg({Regularizer::L1, true, 0.1f, 1.5f, 0.5f, 0.9f});
}
TEST(LinBregUpdate, NoneRegularizer) {
  // θ' = δ·(v − τg)
  checkLinBreg({Regularizer::None, false, 0.2f, 3.0f, 0.7f, 0.0f});
}
TEST(LinBregUpdate, NoneRegularizerMomentum) {
  checkLinBreg({Regularizer::None, true, 0.2f, 0.5f, 0.0f, 0.9f});
}

TEST(LinBregUpdate, LambdaZeroL1IsExactlySgd) {
  // λ = 0, δ = 1, v = θ: θ' = θ − τg bitwise (computed here in f32).
  auto step = jit([](const Tensor &theta, const Tensor &v, const Tensor &g,
                     const Tensor &lr, const Tensor &delta,
                     const Tensor &lambda) {
    std::vector<Tensor> r =
        linbregUpdate(Regularizer::L1, theta, v, g, lr, delta, lambda);
    return std::make_tuple(r[0], r[1]);
  });
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    std::mt19937 rng(numElements(shape));
    int64_t n = numElements(shape);
    std::vector<float> theta = randomFloats(rng, n),
                       g = randomFloats(rng, n, -3.0f, 3.0f);
    const float lr = 0.1f;
    auto [t2, v2] = step(f32(theta, shape), f32(theta, shape), f32(g, shape),
                         Tensor::scalar(lr), Tensor::scalar(1.0f),
                         Tensor::scalar(0.0f));
    std::vector<float> got = t2.toVector<float>();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      volatile float step = lr * g[i]; // no FMA contraction here
      float sgd = theta[i] - step;
      if (std::memcmp(&got[i], &sgd, sizeof(float)) != 0 && mismatches++ < 5)
        ADD_FAILURE() << "element " << i << ": " << got[i] << " != SGD " << sgd;
    }
    EXPECT_EQ(mismatches, 0);
  }
}

//===----------------------------------------------------------------------===//
// prox and subgradient_init
//===----------------------------------------------------------------------===//

void checkProx(Regularizer reg, float scale, float lambda) {
  int seed = 3;
  for (const Shape &shape : kShapes) {
    SCOPED_TRACE(shapeString(shape));
    auto [x, got] = checkProxAgainstReference(reg, shape, seed++, scale, lambda);
    int64_t n = numElements(shape);
    double thr = double(scale) * lambda;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (reg == Regularizer::None) {
        ASSERT_EQ(got[i], x[i]) << i; // the identity, exactly
      } else if (std::abs(x[i]) < thr * (1 - 1e-5)) {
        ASSERT_EQ(got[i], 0.0f) << i;
        ++zeros;
      }
    }
    if (reg == Regularizer::L1)
      EXPECT_GT(zeros, 0);
  }
}

TEST(Prox, L1) { checkProx(Regularizer::L1, 1.5f, 0.4f); }
TEST(Prox, L1ScaleMatters) { checkProx(Regularizer::L1, 0.25f, 2.0f); }
TEST(Prox, None) { checkProx(Regularizer::None, 1.5f, 0.4f); }

TEST(SubgradientInit, L1) {
  checkSubgradientInit(Regularizer::L1, 2.0f, 0.3f, /*seed=*/5);
}
TEST(SubgradientInit, None) {
  checkSubgradientInit(Regularizer::None, 2.0f, 0.3f, /*seed=*/5);
}

//===----------------------------------------------------------------------===//
// optim::LinBreg: several steps, donation, no recompilation
//===----------------------------------------------------------------------===//

TEST(LinBregOptimizer, FiveStepsMatchReferenceInPlaceWithoutRecompiling) {
  const float lr = 0.1f, delta = 1.0f, lambdaW = 0.1f, lambdaW2 = 0.05f;
  models::MLP model({4, 3, 2});
  Params params = model.init(/*seed=*/3, nn::SparseInit{0.5, 1.0, 1.0});
  optim::LinBreg opt({{"weights", optim::weights(), Regularizer::L1, lr, delta,
                       lambdaW},
                      {"biases", optim::biases(), Regularizer::None, lr, delta,
                       0.0f}});

  // Reference state, from the initial params (copied: donation overwrites).
  std::map<std::string, std::vector<double>> refTheta, refV;
  for (const auto &[name, t] : params) {
    bool isWeight = name.find(".weight") != std::string::npos;
    std::vector<double> th = toDouble(t.toVector<float>()), v(th.size());
    for (size_t i = 0; i < th.size(); ++i)
      v[i] = refSubgradientInit(isWeight ? Regularizer::L1 : Regularizer::None,
                                th[i], delta, isWeight ? lambdaW : 0.0);
    refTheta[name] = th;
    refV[name] = v;
  }

  Params state = opt.init(params);
  for (const auto &[name, v] : refV)
    EXPECT_TRUE(closeTo(state.at("v/" + name).toVector<float>(), v, 1.0))
        << "init v/" << name;

  auto step =
      jitTrainStep<true>(model, opt, JitOptions{{0, 1}, "update_test.step"});

  std::mt19937 rng(17);
  Tensor x = f32(randomFloats(rng, 8 * 4, -2.0f, 2.0f), {8, 4});
  Tensor y = Tensor::fromVector(std::vector<int32_t>{0, 1, 1, 0, 1, 0, 0, 1}, {8});

  double lambdaNow = lambdaW;
  for (int k = 0; k < 5; ++k) {
    SCOPED_TRACE("step " + std::to_string(k));
    if (k == 3) {
      opt.setHyper(state, "weights", "lambda", lambdaW2);
      lambdaNow = lambdaW2;
      EXPECT_EQ(opt.hyper(state, "weights", "lambda"), lambdaW2);
    }
    std::map<std::string, const float *> before;
    for (const auto &[name, t] : params)
      before[name] = t.data<float>();
    std::map<std::string, const float *> stateBefore;
    for (const auto &[name, t] : state)
      stateBefore[name] = t.data<float>();

    auto [p2, s2, loss, g] = step(params, state, x, y);
    EXPECT_TRUE(std::isfinite(loss.item()));

    // In place: the same buffers now hold the new values.
    for (const auto &[name, t] : p2)
      EXPECT_EQ(t.data<float>(), before.at(name)) << name;
    for (const auto &[name, t] : s2)
      EXPECT_EQ(t.data<float>(), stateBefore.at(name)) << name;

    // The reference step given the same gradient.
    for (auto &[name, th] : refTheta) {
      bool isWeight = name.find(".weight") != std::string::npos;
      std::vector<float> gv = g.at(name).toVector<float>();
      ASSERT_EQ(gv.size(), th.size());
      for (size_t i = 0; i < th.size(); ++i) {
        RefLinBreg r =
            refLinBreg(isWeight ? Regularizer::L1 : Regularizer::None,
                       refV[name][i], gv[i], lr, delta,
                       isWeight ? lambdaNow : 0.0);
        th[i] = r.theta;
        refV[name][i] = r.v;
      }
      EXPECT_TRUE(closeTo(p2.at(name).toVector<float>(), th, 1.0, 1e-5))
          << name;
      EXPECT_TRUE(closeTo(s2.at("v/" + name).toVector<float>(), refV[name],
                          1.0, 1e-5))
          << "v/" << name;
    }
    params = p2;
    state = s2;
  }
  EXPECT_EQ(step.compileCount(), 1u);
  EXPECT_EQ(opt.hyper(state, "weights", "lambda"), lambdaW2);
  EXPECT_EQ(opt.hyper(state, "biases", "lr"), lr);

  // The weights are sparse where the reference says so.
  for (const auto &[name, th] : refTheta) {
    std::vector<float> got = params.at(name).toVector<float>();
    for (size_t i = 0; i < th.size(); ++i)
      if (th[i] == 0.0)
        EXPECT_EQ(got[i], 0.0f) << name << "[" << i << "]";
  }
}

TEST(LinBregOptimizer, MomentumGroupOneStepGivenGradient) {
  const float lr = 0.2f, delta = 2.0f, lambda = 0.3f, beta = 0.9f;
  models::MLP model({3, 2});
  Params params = model.init(1, nn::SparseInit{1.0, 1.0, 1.0});
  optim::LinBreg opt(
      {{"all", optim::all(), Regularizer::L1, lr, delta, lambda, beta}});
  Params state = opt.init(params);
  ASSERT_TRUE(state.contains("m/fc1.weight"));
  ASSERT_TRUE(state.contains("m/fc1.bias"));

  std::mt19937 rng(4);
  Params grads;
  for (const auto &[name, t] : params)
    grads.add(name, f32(randomFloats(rng, t.numel(), -3.0f, 3.0f), t.shape()));
  std::map<std::string, std::vector<float>> theta0, v0, m0;
  for (const auto &[name, t] : params) {
    theta0[name] = t.toVector<float>();
    v0[name] = state.at("v/" + name).toVector<float>();
    m0[name] = state.at("m/" + name).toVector<float>();
    for (float m : m0[name])
      ASSERT_EQ(m, 0.0f);
  }

  auto step = jit([&](const Params &p, const Params &s, const Params &g) {
    return opt.update(p, s, g);
  }, JitOptions{{0, 1}});
  // Two steps, so that m ≠ 0 enters the second.
  for (int k = 0; k < 2; ++k) {
    auto [p2, s2] = step(params, state, grads);
    for (const auto &[name, t] : p2) {
      std::vector<double> et, ev, em;
      for (size_t i = 0; i < theta0[name].size(); ++i) {
        RefLinBreg r = refLinBreg(Regularizer::L1, v0[name][i],
                                  grads.at(name).toVector<float>()[i], lr,
                                  delta, lambda, m0[name][i], beta);
        et.push_back(r.theta);
        ev.push_back(r.v);
        em.push_back(r.m);
      }
      EXPECT_TRUE(closeTo(t.toVector<float>(), et, 1.0)) << name;
      EXPECT_TRUE(closeTo(s2.at("v/" + name).toVector<float>(), ev, 1.0)) << name;
      EXPECT_TRUE(closeTo(s2.at("m/" + name).toVector<float>(), em, 1.0)) << name;
      theta0[name] = t.toVector<float>();
      v0[name] = s2.at("v/" + name).toVector<float>();
      m0[name] = s2.at("m/" + name).toVector<float>();
    }
    params = p2;
    state = s2;
  }
  EXPECT_EQ(step.compileCount(), 1u);
}

TEST(LinBregOptimizer, HyperParameterChangeTakesEffectWithoutRecompiling) {
  // Changing lr between steps changes the result (the value is read at run
  // time, not baked into the compiled code).
  models::MLP model({2, 2});
  Params params = model.init(2, nn::SparseInit{1.0, 1.0, 1.0});
  optim::LinBreg opt({{"all", optim::all(), Regularizer::None, 0.1f, 1.0f, 0.0f}});
  Params state = opt.init(params);
  Params grads;
  for (const auto &[name, t] : params) {
    std::vector<float> ones(t.numel(), 1.0f);
    grads.add(name, f32(ones, t.shape()));
  }
  auto step = jit([&](const Params &p, const Params &s, const Params &g) {
    return opt.update(p, s, g);
  });
  std::vector<float> w0 = params.at("fc1.weight").toVector<float>();
  auto [p1, s1] = step(params, state, grads);
  opt.setHyper(s1, "all", "lr", 0.5f);
  auto [p2, s2] = step(p1, s1, grads);
  std::vector<float> w2 = p2.at("fc1.weight").toVector<float>();
  for (size_t i = 0; i < w0.size(); ++i)
    EXPECT_NEAR(w2[i], w0[i] - 0.1f - 0.5f, 1e-6) << i;
  EXPECT_EQ(step.compileCount(), 1u);
}

} // namespace
