//===- SparseGroupTest.cpp - The sparse-group regularizer l1_l1_l2 --------===//
//
// J(θ) = λ₁‖θ‖₁ + λ₂·√n·Σᵢ‖θᵢ‖₂ over the rows θᵢ (n per row), ALGORITHMS.md
// §3: prox_{sJ}(x) = the row-group prox with threshold sλ₂ applied to the l1
// prox with threshold sλ₁; chosen subgradient: the sum of both. The compiled
// prox, subgradient init, LinBreg (with momentum) and ProxSGD are compared with
// a float64 reference from the same f32 inputs; rows whose norm after the l1
// step falls below the group threshold must become exactly zero, zero rows
// stay zero, and λ₂ is required exactly for this regularizer.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace bregman;

namespace {

constexpr int64_t kRows = 6, kCols = 10;

/// Row-wise sparse-group prox in float64.
std::vector<double> sparseGroupProx(const std::vector<double> &x, double s,
                                    double l1, double l2) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < kRows; ++r) {
    double norm = 0;
    for (int64_t c = 0; c < kCols; ++c) {
      double v = x[r * kCols + c];
      double soft = (v > 0 ? 1 : v < 0 ? -1 : 0) * std::max(std::fabs(v) - s * l1, 0.0);
      y[r * kCols + c] = soft;
      norm += soft * soft;
    }
    norm = std::sqrt(norm);
    double factor =
        norm > 0 ? std::max(0.0, 1 - s * l2 * std::sqrt(double(kCols)) / norm) : 0;
    for (int64_t c = 0; c < kCols; ++c)
      y[r * kCols + c] *= factor;
  }
  return y;
}

/// Inputs with an all-zero row, a small row (killed by the group threshold)
/// and random rows.
std::vector<float> makeInput(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(kRows * kCols);
  for (float &v : x)
    v = u(rng);
  for (int64_t c = 0; c < kCols; ++c) {
    x[0 * kCols + c] = 0.0f;          // zero row
    x[1 * kCols + c] = 0.05f * u(rng); // small row
  }
  return x;
}

void expectClose(const std::vector<float> &got, const std::vector<double> &want,
                 const char *what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (want[i] == 0.0)
      EXPECT_EQ(got[i], 0.0f) << what << " element " << i;
    else
      EXPECT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, std::fabs(want[i])))
          << what << " element " << i;
  }
}

TEST(SparseGroup, ProxMatchesReference) {
  std::vector<float> x = makeInput(1);
  const float s = 1.5f, l1 = 0.1f, l2 = 0.05f;
  auto f = jit([](const Tensor &x, const Tensor &s, const Tensor &a,
                  const Tensor &b) {
    return prox(Regularizer::L1L1L2, x, s, a, b);
  });
  Tensor y = f(Tensor::fromVector(x, {kRows, kCols}), Tensor::scalar(s),
               Tensor::scalar(l1), Tensor::scalar(l2));
  std::vector<double> want = sparseGroupProx(
      std::vector<double>(x.begin(), x.end()), s, l1, l2);
  expectClose(y.toVector<float>(), want, "prox");
  // The small row is killed, the zero row stays zero, others survive.
  for (int64_t c = 0; c < kCols; ++c) {
    EXPECT_EQ(want[1 * kCols + c], 0.0);
    EXPECT_EQ(want[0 * kCols + c], 0.0);
  }
}

TEST(SparseGroup, SubgradientInitIsTheSumOfBoth) {
  std::vector<float> theta = makeInput(2);
  theta[2 * kCols + 3] = 0.0f; // sign(0) = 0 in the l1 part
  const float delta = 2.0f, l1 = 0.1f, l2 = 0.05f;
  auto f = jit([](const Tensor &t, const Tensor &d, const Tensor &a,
                  const Tensor &b) {
    return subgradientInit(Regularizer::L1L1L2, t, d, a, b);
  });
  Tensor v = f(Tensor::fromVector(theta, {kRows, kCols}),
               Tensor::scalar(delta), Tensor::scalar(l1), Tensor::scalar(l2));
  std::vector<double> want(theta.size());
  for (int64_t r = 0; r < kRows; ++r) {
    double norm = 0;
    for (int64_t c = 0; c < kCols; ++c)
      norm += double(theta[r * kCols + c]) * theta[r * kCols + c];
    norm = std::sqrt(norm);
    for (int64_t c = 0; c < kCols; ++c) {
      double t = theta[r * kCols + c];
      double p1 = l1 * (t > 0 ? 1 : t < 0 ? -1 : 0);
      double p2 = norm > 0 ? l2 * std::sqrt(double(kCols)) * t / norm : 0;
      want[r * kCols + c] = t / delta + p1 + p2;
    }
  }
  expectClose(v.toVector<float>(), want, "v");
}

TEST(SparseGroup, LinBregMomentumStepsMatchReference) {
  std::vector<float> theta(kRows * kCols, 0.0f), v = makeInput(3),
                     m(kRows * kCols, 0.0f);
  const float lr = 0.1f, delta = 1.5f, l1 = 0.05f, l2 = 0.02f, beta = 0.9f;
  std::vector<double> vd(v.begin(), v.end()), md(m.size(), 0.0);
  auto step = jit(
      [](const Tensor &t, const Tensor &v, const Tensor &m, const Tensor &g,
         const Tensor &lr, const Tensor &d, const Tensor &a, const Tensor &b,
         const Tensor &beta) {
        auto r = linbregUpdate(Regularizer::L1L1L2, t, v, g, lr, d, a, m, beta,
                               b);
        return std::make_tuple(r[0], r[1], r[2]);
      },
      JitOptions{{0, 1, 2}});
  Tensor tt = Tensor::fromVector(theta, {kRows, kCols});
  Tensor vt = Tensor::fromVector(v, {kRows, kCols});
  Tensor mt = Tensor::fromVector(m, {kRows, kCols});
  for (int k = 0; k < 4; ++k) {
    std::vector<float> g = makeInput(10 + k);
    // f64 reference from the f32 state the compiled step starts from.
    std::vector<float> vNow = vt.toVector<float>(), mNow = mt.toVector<float>();
    std::vector<double> scaled(g.size());
    for (size_t i = 0; i < g.size(); ++i) {
      md[i] = beta * double(mNow[i]) + (1 - double(beta)) * lr * double(g[i]);
      vd[i] = double(vNow[i]) - md[i];
      scaled[i] = delta * vd[i];
    }
    std::vector<double> want = sparseGroupProx(scaled, delta, l1, l2);
    auto [t2, v2, m2] =
        step(tt, vt, mt, Tensor::fromVector(g, {kRows, kCols}),
             Tensor::scalar(lr), Tensor::scalar(delta), Tensor::scalar(l1),
             Tensor::scalar(l2), Tensor::scalar(beta));
    tt = t2;
    vt = v2;
    mt = m2;
    expectClose(tt.toVector<float>(), want, "theta");
    expectClose(vt.toVector<float>(), vd, "v");
  }
}

TEST(SparseGroup, ProxSgdThroughOptimizerKeepsLambda2) {
  models::MLP model({kCols, kRows, 3});
  Params params = model.init(4, nn::SparseInit{1.0, 1.0});
  optim::Group weights{"weights", optim::weights(), Regularizer::L1L1L2, 0.1f,
                       1.0f, 0.01f};
  weights.lambda2 = 0.02f;
  optim::Group biases{"biases", optim::biases()};
  optim::ProxSGD opt({weights, biases});
  Params state = opt.init(params);
  EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda2"), 0.02f);
  EXPECT_FALSE(state.contains("hyper/biases/lambda2"));
  std::vector<std::string> names = opt.hyperNames("weights");
  EXPECT_NE(std::find(names.begin(), names.end(), "lambda2"), names.end());
}

TEST(SparseGroup, Lambda2IsRequiredExactlyForSparseGroup) {
  auto missing = jit([](const Tensor &x, const Tensor &s, const Tensor &l) {
    return prox(Regularizer::L1L1L2, x, s, l);
  });
  Tensor x = Tensor::zeros({2, 3});
  try {
    missing(x, Tensor::scalar(1.0f), Tensor::scalar(0.1f));
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("lambda2"), std::string::npos)
        << e.what();
  }
  auto extra = jit([](const Tensor &x, const Tensor &s, const Tensor &l) {
    return prox(Regularizer::L1, x, s, l, l);
  });
  EXPECT_THROW(extra(x, Tensor::scalar(1.0f), Tensor::scalar(0.1f)), Error);
  auto rank = jit([](const Tensor &x, const Tensor &s, const Tensor &l) {
    return prox(Regularizer::L1L1L2, x, s, l, l);
  });
  EXPECT_THROW(rank(Tensor::zeros({6}), Tensor::scalar(1.0f),
                    Tensor::scalar(0.1f)),
               Error);
}

} // namespace

namespace {

// The λ schedule re-initialises v of the group whose λ changed only: another
// regularised group keeps its accumulated subgradients (found in review).
TEST(Schedule, LambdaChangeReinitialisesOnlyItsGroup) {
  Params params{{"a.weight", Tensor::zeros({2, 3})},
                {"b.weight", Tensor::zeros({2, 3})}};
  optim::LinBreg opt({{"a", [](const std::string &n) { return n[0] == 'a'; },
                       Regularizer::L1, 0.1f, 1.0f, 1.0f},
                      {"b", [](const std::string &n) { return n[0] == 'b'; },
                       Regularizer::L1, 0.1f, 1.0f, 1.0f}});
  Params state = opt.init(params);
  // Give both groups accumulated subgradients (θ stays 0 below λ = 1).
  for (const char *name : {"v/a.weight", "v/b.weight"}) {
    float *v = state.at(name).data<float>();
    for (int i = 0; i < 6; ++i)
      v[i] = 0.6f;
  }
  optim::LambdaSchedule schedule{"a", /*warmup=*/0, /*cooldown=*/1,
                                 /*increment=*/0.5f, /*target=*/0.1};
  ASSERT_TRUE(schedule.update(opt, 1, /*density=*/0.5, params, state));
  EXPECT_FLOAT_EQ(opt.hyper(state, "a", "lambda"), 1.5f);
  // Group a: v = θ/δ + λ·sign(θ) = 0; group b untouched.
  for (float v : state.at("v/a.weight").toVector<float>())
    EXPECT_EQ(v, 0.0f);
  for (float v : state.at("v/b.weight").toVector<float>())
    EXPECT_EQ(v, 0.6f);
}

} // namespace
