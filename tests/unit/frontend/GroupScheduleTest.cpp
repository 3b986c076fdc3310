//===- GroupScheduleTest.cpp - Group regularizers, schedules, metrics -----===//
//
// (1) The group regularizers l1_l2 (rows of a 2-D weight), l1_l2_conv (the
//     k×k kernels of a 4-D weight) and l1_l2_heads (the heads of an attention
//     projection [heads, d, E]) in the compiled breg primitives and
//     through optim::Optimizer, against a float64 reference written here from
//     ALGORITHMS.md §2–3 and computed from the same f32 inputs. A group is a
//     contiguous run of n elements (n = the last dim, or k·k):
//       J(θ)             = λ·√n·Σᵢ‖θᵢ‖
//       prox_{sJ}(x)ᵢ    = xᵢ·max(0, 1 − sλ√n/‖xᵢ‖)   (0 for a zero group)
//       subgradient init : v = θ/δ + λ√n·θᵢ/‖θᵢ‖        (0 for a zero group)
//       LinBreg          : v' = v − τg (or m' = βm + (1−β)τg, v' = v − m'),
//                          θ' = prox_{δJ}(δ·v')
//       AdaBreg (t)      : m1' = β1m1 + (1−β1)g, m2' = β2m2 + (1−β2)g²,
//                          d = √m2'/√(1−β2ᵗ) + ε,
//                          v' = v − τ/(1−β1ᵗ)·m1'/d, θ' = prox_{δJ}(δ·v')
//       ProxSGD          : θ' = prox_{τJ}(θ − τg)
//     Tolerance: 1e-5 of max(|expected|, the group's scale). The group norm
//     of up to 784 f32 terms is good to ~1e-6 relative, while a missing √n,
//     n over the wrong axes or a misplaced δ changes the threshold by
//     factors. β2 = 0.9 keeps 1 − β2ᵗ away from f32 cancellation.
// (2) optim::LambdaSchedule, Optimizer::reinitSubgradients and
//     optim::ReduceLROnPlateau (§5) on a jitted LinBreg step of a tiny MLP.
// (3) SparsityMeter (§6) against host-computed counts, J against a float64
//     reference and the compiled f32 form the meter had before.
// (4) nn::SparseInit with perRow = true (§4).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include "TestUtil.h"
#include "bregman/metrics.h"
#include "bregman/models/Zoo.h"

#include <filesystem>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unistd.h>

using namespace bregman;
using namespace bregman::testing;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Group size n of a group regularizer on `shape`: the last dim (l1_l2) or
/// the product of the last two (l1_l2_conv; l1_l2_heads on [heads, d, E]:
/// one head's d·E).
int64_t groupSize(Regularizer reg, const Shape &shape) {
  if (reg == Regularizer::L1L2)
    return shape.back();
  return shape[shape.size() - 1] * shape[shape.size() - 2];
}

std::vector<double> groupNorms(const std::vector<double> &x, int64_t n) {
  std::vector<double> norms(x.size() / n, 0.0);
  for (size_t i = 0; i < x.size(); ++i)
    norms[i / n] += x[i] * x[i];
  for (double &v : norms)
    v = std::sqrt(v);
  return norms;
}

/// prox_{sJ}(x), J = λ√n Σ‖xᵢ‖.
std::vector<double> refGroupProx(const std::vector<double> &x, int64_t n,
                                 double s, double lambda) {
  std::vector<double> norms = groupNorms(x, n), y(x.size());
  double thr = s * lambda * std::sqrt(double(n));
  for (size_t i = 0; i < x.size(); ++i) {
    double norm = norms[i / n];
    y[i] = norm == 0.0 ? 0.0 : x[i] * std::max(0.0, 1.0 - thr / norm);
  }
  return y;
}

/// v = θ/δ + λ√n θᵢ/‖θᵢ‖.
std::vector<double> refGroupSubgradInit(const std::vector<double> &theta,
                                        int64_t n, double delta,
                                        double lambda) {
  std::vector<double> norms = groupNorms(theta, n), v(theta.size());
  for (size_t i = 0; i < theta.size(); ++i) {
    double norm = norms[i / n];
    double p =
        norm == 0.0 ? 0.0 : lambda * std::sqrt(double(n)) * theta[i] / norm;
    v[i] = theta[i] / delta + p;
  }
  return v;
}

/// |a − e| ≤ rel·max(|e|, scale[group]) element-wise, and no NaN.
::testing::AssertionResult closeGroups(const std::vector<float> &actual,
                                       const std::vector<double> &expected,
                                       const std::vector<double> &groupScale,
                                       int64_t n, double rel = 1e-5) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " vs " << expected.size();
  int64_t bad = 0;
  std::string first;
  for (size_t i = 0; i < actual.size(); ++i) {
    double tol =
        rel * std::max({std::abs(expected[i]), groupScale[i / n], 1e-30});
    if (!(std::abs(actual[i] - expected[i]) <= tol)) {
      if (bad++ == 0)
        first = "element " + std::to_string(i) + " (group " +
                std::to_string(i / n) + "): got " +
                std::to_string(actual[i]) + ", expected " +
                std::to_string(expected[i]);
    }
  }
  if (bad)
    return ::testing::AssertionFailure()
           << bad << " of " << actual.size() << " elements differ; first "
           << first;
  return ::testing::AssertionSuccess();
}

/// Max |x| per group (the scale of a group's values).
std::vector<double> groupMaxAbs(const std::vector<double> &x, int64_t n) {
  std::vector<double> m(x.size() / n, 0.0);
  for (size_t i = 0; i < x.size(); ++i)
    m[i / n] = std::max(m[i / n], std::abs(x[i]));
  return m;
}

/// Random data whose group norms are given: group g gets a random direction
/// scaled to norms[g] (0 → an exactly zero group).
std::vector<float> withGroupNorms(std::mt19937 &rng,
                                  const std::vector<double> &norms,
                                  int64_t n) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<float> x(norms.size() * n);
  for (size_t g = 0; g < norms.size(); ++g) {
    std::vector<double> d(n);
    double s = 0;
    for (double &e : d) {
      e = u(rng);
      s += e * e;
    }
    for (int64_t j = 0; j < n; ++j)
      x[g * n + j] =
          norms[g] == 0 ? 0.0f : float(d[j] * norms[g] / std::sqrt(s));
  }
  return x;
}

/// Group norms for `groups` groups relative to a threshold: group 0 is zero,
/// group 1 well below (0.4·thr), group 2 just above (1.3·thr), the others
/// uniform in [0.2, 2.5]·thr.
std::vector<double> mixedNorms(std::mt19937 &rng, int64_t groups, double thr) {
  std::uniform_real_distribution<double> u(0.2, 2.5);
  std::vector<double> norms(groups);
  for (int64_t g = 0; g < groups; ++g)
    norms[g] = g == 0 ? 0.0 : g == 1 ? 0.4 * thr : g == 2 ? 1.3 * thr
                                                          : u(rng) * thr;
  return norms;
}

/// Checks that groups of the prox input `in` (f64 reference) well below
/// `thr` are exactly zero in `got` and groups well above are non-zero;
/// counts both kinds.
void checkThresholding(const std::vector<float> &got,
                       const std::vector<double> &in, int64_t n, double thr,
                       int64_t &zeros, int64_t &live) {
  std::vector<double> norms = groupNorms(in, n);
  for (size_t g = 0; g < norms.size(); ++g) {
    bool allZero = true, anyNaN = false;
    for (int64_t j = 0; j < n; ++j) {
      allZero &= got[g * n + j] == 0.0f;
      anyNaN |= std::isnan(got[g * n + j]);
    }
    EXPECT_FALSE(anyNaN) << "group " << g;
    if (norms[g] < thr * (1 - 1e-4)) {
      EXPECT_TRUE(allZero) << "group " << g << " norm " << norms[g]
                           << " below threshold " << thr;
      ++zeros;
    } else if (norms[g] > thr * (1 + 1e-4)) {
      EXPECT_FALSE(allZero) << "group " << g << " norm " << norms[g]
                            << " above threshold " << thr;
      ++live;
    }
  }
}

struct GroupCase {
  Regularizer reg;
  Shape shape;
};

const GroupCase kGroupCases[] = {
    {Regularizer::L1L2, {5, 7}},
    {Regularizer::L1L2, {16, 784}},
    {Regularizer::L1L2Conv, {4, 3, 5, 5}},
    {Regularizer::L1L2Conv, {2, 2, 3, 3}},
    {Regularizer::L1L2Heads, {4, 2, 8}},
    {Regularizer::L1L2Heads, {8, 16, 128}},
};

std::string caseName(const GroupCase &c) {
  return std::string(regularizerName(c.reg)) + " " + shapeString(c.shape);
}

//===----------------------------------------------------------------------===//
// (1) prox and subgradient_init
//===----------------------------------------------------------------------===//

TEST(GroupRegularizer, Prox) {
  for (Regularizer reg :
       {Regularizer::L1L2, Regularizer::L1L2Conv, Regularizer::L1L2Heads}) {
    auto fn = jit([reg](const Tensor &x, const Tensor &s, const Tensor &lam) {
      return prox(reg, x, s, lam);
    });
    int seed = 1;
    for (const GroupCase &c : kGroupCases) {
      if (c.reg != reg)
        continue;
      SCOPED_TRACE(caseName(c));
      std::mt19937 rng(seed++);
      int64_t n = groupSize(c.reg, c.shape);
      int64_t groups = numElements(c.shape) / n;
      const float s = 0.7f, lambda = 0.3f;
      double thr = double(s) * double(lambda) * std::sqrt(double(n));
      std::vector<float> x =
          withGroupNorms(rng, mixedNorms(rng, groups, thr), n);
      Tensor y = fn(f32(x, c.shape), Tensor::scalar(s), Tensor::scalar(lambda));
      ASSERT_EQ(y.shape(), c.shape);
      std::vector<double> xd = toDouble(x);
      std::vector<double> e = refGroupProx(xd, n, s, lambda);
      std::vector<float> got = y.toVector<float>();
      EXPECT_TRUE(closeGroups(got, e, groupMaxAbs(xd, n), n));
      int64_t zeros = 0, live = 0;
      checkThresholding(got, xd, n, thr, zeros, live);
      EXPECT_GE(zeros, 2); // the zero group and the one below threshold
      EXPECT_GE(live, 1);
    }
    EXPECT_EQ(fn.compileCount(), 2u);
  }
}

TEST(GroupRegularizer, SubgradientInit) {
  for (const GroupCase &c : kGroupCases) {
    SCOPED_TRACE(caseName(c));
    auto fn = jit([reg = c.reg](const Tensor &t, const Tensor &d,
                                const Tensor &lam) {
      return subgradientInit(reg, t, d, lam);
    });
    std::mt19937 rng(11);
    int64_t n = groupSize(c.reg, c.shape);
    int64_t groups = numElements(c.shape) / n;
    std::vector<float> theta = withGroupNorms(rng, mixedNorms(rng, groups, 1.0), n);
    std::vector<double> td = toDouble(theta);
    for (float delta : {1.0f, 2.5f}) {
      SCOPED_TRACE("delta " + std::to_string(delta));
      const float lambda = 0.3f;
      Tensor v = fn(f32(theta, c.shape), Tensor::scalar(delta),
                    Tensor::scalar(lambda));
      std::vector<double> e = refGroupSubgradInit(td, n, delta, lambda);
      std::vector<float> got = v.toVector<float>();
      EXPECT_TRUE(closeGroups(got, e, groupMaxAbs(e, n), n));
      for (int64_t j = 0; j < n; ++j) // the zero group: v = 0, not NaN
        ASSERT_EQ(got[j], 0.0f) << "zero group element " << j;
    }
    EXPECT_EQ(fn.compileCount(), 1u);
  }
}

//===----------------------------------------------------------------------===//
// (1) linbreg_update, adabreg_update, proxsgd_update over several steps
//===----------------------------------------------------------------------===//

/// Gradients with group norms ~ `scale`·[0.2, 1] and group 0 exactly zero.
std::vector<float> groupGradients(std::mt19937 &rng, int64_t groups, int64_t n,
                                  double scale) {
  std::uniform_real_distribution<double> u(0.2, 1.0);
  std::vector<double> norms(groups);
  for (int64_t g = 0; g < groups; ++g)
    norms[g] = g == 0 ? 0.0 : u(rng) * scale;
  return withGroupNorms(rng, norms, n);
}

void checkLinBregGroups(bool momentum) {
  for (const GroupCase &c : kGroupCases) {
    auto step = jit([reg = c.reg, momentum](
                        const Tensor &theta, const Tensor &v, const Tensor &g,
                        const Tensor &lr, const Tensor &delta,
                        const Tensor &lambda, const Tensor &m,
                        const Tensor &beta) {
      std::vector<Tensor> r =
          momentum
              ? linbregUpdate(reg, theta, v, g, lr, delta, lambda, m, beta)
              : linbregUpdate(reg, theta, v, g, lr, delta, lambda);
      if (!momentum)
        r.push_back(m + 0.0f);
      return std::make_tuple(r[0], r[1], r[2]);
    });
    for (float delta : {1.0f, 2.5f}) {
      SCOPED_TRACE(caseName(c) + " delta " + std::to_string(delta));
      std::mt19937 rng(100 + int(delta * 10) + (momentum ? 7 : 0));
      int64_t n = groupSize(c.reg, c.shape);
      int64_t groups = numElements(c.shape) / n;
      const float lr = 0.1f, lambda = 0.3f, beta = 0.6f;
      double thr = double(delta) * lambda * std::sqrt(double(n));
      // ‖δ·v‖ straddles the threshold δλ√n; τ‖g‖ moves it by ≤ 15%.
      std::vector<double> vn = mixedNorms(rng, groups, thr / delta);
      std::vector<float> v = withGroupNorms(rng, vn, n);
      std::vector<float> theta(v.size(), 0.5f);
      std::vector<float> m(v.size(), 0.0f);
      int64_t zeros = 0, live = 0;
      for (int k = 0; k < 5; ++k) {
        SCOPED_TRACE("step " + std::to_string(k + 1));
        std::vector<float> g =
            groupGradients(rng, groups, n, 0.15 * thr / delta / lr);
        auto [t2, v2, m2] =
            step(f32(theta, c.shape), f32(v, c.shape), f32(g, c.shape),
                 Tensor::scalar(lr), Tensor::scalar(delta),
                 Tensor::scalar(lambda), f32(m, c.shape),
                 Tensor::scalar(beta));
        size_t N = v.size();
        std::vector<double> ev(N), em(N), dv(N);
        for (size_t i = 0; i < N; ++i) {
          if (momentum) {
            em[i] = double(beta) * m[i] + (1.0 - beta) * double(lr) * g[i];
            ev[i] = v[i] - em[i];
          } else {
            ev[i] = v[i] - double(lr) * g[i];
          }
          dv[i] = double(delta) * ev[i];
        }
        std::vector<double> et = refGroupProx(dv, n, delta, lambda);
        std::vector<float> gt = t2.toVector<float>(), gv = v2.toVector<float>();
        ASSERT_TRUE(closeGroups(gt, et, groupMaxAbs(dv, n), n)) << "theta'";
        ASSERT_TRUE(closeGroups(gv, ev, groupMaxAbs(ev, n), n)) << "v'";
        if (momentum)
          ASSERT_TRUE(closeGroups(m2.toVector<float>(), em,
                                  groupMaxAbs(em, n), n))
              << "m'";
        checkThresholding(gt, dv, n, thr, zeros, live);
        for (int64_t j = 0; j < n; ++j) // the zero group stays zero
          ASSERT_EQ(gt[j], 0.0f);
        theta = gt;
        v = gv;
        if (momentum)
          m = m2.toVector<float>();
      }
      EXPECT_GE(zeros, 5 * 2);
      EXPECT_GE(live, 5);
    }
    EXPECT_EQ(step.compileCount(), 1u);
  }
}

TEST(GroupRegularizer, LinBregNoMomentum) { checkLinBregGroups(false); }
TEST(GroupRegularizer, LinBregMomentum) { checkLinBregGroups(true); }

TEST(GroupRegularizer, AdaBreg) {
  for (const GroupCase &c : kGroupCases) {
    auto step = jitAdabregUpdate(c.reg);
    for (float delta : {1.0f, 2.5f}) {
      SCOPED_TRACE(caseName(c) + " delta " + std::to_string(delta));
      std::mt19937 rng(200 + int(delta * 10));
      int64_t n = groupSize(c.reg, c.shape);
      int64_t groups = numElements(c.shape) / n;
      const float lr = 0.01f, lambda = 0.3f, b1 = 0.8f, b2 = 0.9f,
                  eps = 1e-8f;
      double thr = double(delta) * lambda * std::sqrt(double(n));
      std::vector<float> v =
          withGroupNorms(rng, mixedNorms(rng, groups, thr / delta), n);
      size_t N = v.size();
      std::vector<float> theta(N, 0.5f), m1(N, 0.0f), m2(N, 0.0f);
      int64_t zeros = 0, live = 0;
      for (int t = 1; t <= 5; ++t) {
        SCOPED_TRACE("step " + std::to_string(t));
        std::vector<float> g = groupGradients(rng, groups, n, 1.0);
        auto [t2, v2, m1n, m2n] =
            step(f32(theta, c.shape), f32(v, c.shape), f32(g, c.shape),
                 f32(m1, c.shape), f32(m2, c.shape), Tensor::scalar(lr),
                 Tensor::scalar(delta), Tensor::scalar(lambda),
                 Tensor::scalar(b1), Tensor::scalar(b2), Tensor::scalar(eps),
                 Tensor::scalar(float(t)));
        std::vector<double> e1(N), e2(N), ev(N), dv(N);
        for (size_t i = 0; i < N; ++i) {
          e1[i] = double(b1) * m1[i] + (1.0 - b1) * double(g[i]);
          e2[i] = double(b2) * m2[i] + (1.0 - b2) * double(g[i]) * g[i];
          double d = std::sqrt(e2[i]) / std::sqrt(1.0 - std::pow(double(b2), t)) +
                     double(eps);
          ev[i] = v[i] - double(lr) / (1.0 - std::pow(double(b1), t)) * e1[i] / d;
          dv[i] = double(delta) * ev[i];
        }
        std::vector<double> et = refGroupProx(dv, n, delta, lambda);
        std::vector<float> gt = t2.toVector<float>(), gv = v2.toVector<float>();
        ASSERT_TRUE(closeGroups(gt, et, groupMaxAbs(dv, n), n)) << "theta'";
        ASSERT_TRUE(closeGroups(gv, ev, groupMaxAbs(ev, n), n)) << "v'";
        ASSERT_TRUE(
            closeGroups(m1n.toVector<float>(), e1, groupMaxAbs(e1, n), n));
        ASSERT_TRUE(
            closeGroups(m2n.toVector<float>(), e2, groupMaxAbs(e2, n), n));
        checkThresholding(gt, dv, n, thr, zeros, live);
        for (int64_t j = 0; j < n; ++j)
          ASSERT_EQ(gt[j], 0.0f);
        theta = gt;
        v = gv;
        m1 = m1n.toVector<float>();
        m2 = m2n.toVector<float>();
      }
      EXPECT_GE(zeros, 5 * 2);
      EXPECT_GE(live, 5);
    }
    EXPECT_EQ(step.compileCount(), 1u);
  }
}

TEST(GroupRegularizer, ProxSgd) {
  for (const GroupCase &c : kGroupCases) {
    SCOPED_TRACE(caseName(c));
    auto step = jit([reg = c.reg](const Tensor &theta, const Tensor &g,
                                  const Tensor &lr, const Tensor &lambda) {
      return proxsgdUpdate(reg, theta, g, lr, lambda);
    });
    std::mt19937 rng(300);
    int64_t n = groupSize(c.reg, c.shape);
    int64_t groups = numElements(c.shape) / n;
    const float lr = 0.5f, lambda = 0.3f;
    double thr = double(lr) * lambda * std::sqrt(double(n));
    // Each step shrinks a group's norm by the threshold τλ√n: groups 1 and 2
    // (0.4, 1.3 × threshold) die in steps 1 and 2, the others (≥ 3.5 ×)
    // stay live for all 3 steps.
    std::vector<double> norms = mixedNorms(rng, groups, thr);
    for (int64_t g = 3; g < groups; ++g)
      norms[g] += 3.5 * thr;
    std::vector<float> theta = withGroupNorms(rng, norms, n);
    int64_t zeros = 0, live = 0;
    for (int k = 0; k < 3; ++k) {
      SCOPED_TRACE("step " + std::to_string(k + 1));
      // Small gradients: ‖θ − τg‖ moves by ≤ 10% of the threshold.
      std::vector<float> g = groupGradients(rng, groups, n, 0.1 * thr / lr);
      Tensor t2 = step(f32(theta, c.shape), f32(g, c.shape),
                       Tensor::scalar(lr), Tensor::scalar(lambda));
      std::vector<double> x(theta.size());
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = double(theta[i]) - double(lr) * g[i];
      std::vector<double> e = refGroupProx(x, n, lr, lambda);
      std::vector<float> got = t2.toVector<float>();
      ASSERT_TRUE(closeGroups(got, e, groupMaxAbs(x, n), n));
      checkThresholding(got, x, n, thr, zeros, live);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(got[j], 0.0f);
      theta = got;
    }
    EXPECT_GE(zeros, 3 * 2);
    EXPECT_GE(live, 3 * (groups - 3));
    EXPECT_EQ(step.compileCount(), 1u);
  }
}

//===----------------------------------------------------------------------===//
// (1) Wrong ranks
//===----------------------------------------------------------------------===//


TEST(GroupRegularizer, WrongRankErrors) {
  const std::pair<Regularizer, Shape> cases[] = {
      {Regularizer::L1L2, {6}},
      {Regularizer::L1L2, {2, 3, 4}},
      {Regularizer::L1L2, {2, 2, 3, 3}},
      {Regularizer::L1L2Conv, {5, 7}},
      {Regularizer::L1L2Conv, {2, 3, 3}},
      {Regularizer::L1L2Conv, {6}},
      {Regularizer::L1L2Heads, {8, 8}},
      {Regularizer::L1L2Heads, {2, 2, 3, 3}},
  };
  Tensor s = Tensor::scalar(0.5f);
  for (const auto &c : cases) {
    const Regularizer reg = c.first;
    const Shape shape = c.second;
    SCOPED_TRACE(std::string(regularizerName(reg)) + " " + shapeString(shape));
    std::string regName = regularizerName(reg), shp = shapeString(shape);
    Tensor x = Tensor::zeros(shape);
    expectError([&] { checkRegularizerFits("myop", reg, shape); },
                {"myop", regName, shp});
    expectError(
        [&] {
          jit([reg](const Tensor &x, const Tensor &s) {
            return prox(reg, x, s, s);
          })(x, s);
        },
        {"prox", regName, shp});
    expectError(
        [&] {
          jit([reg](const Tensor &x, const Tensor &s) {
            return subgradientInit(reg, x, s, s);
          })(x, s);
        },
        {"subgradient_init", regName, shp});
    for (bool mom : {false, true})
      expectError(
          [&] {
            jit([reg, mom](const Tensor &x, const Tensor &s) {
              std::vector<Tensor> r =
                  mom ? linbregUpdate(reg, x, x, x, s, s, s, x, s)
                      : linbregUpdate(reg, x, x, x, s, s, s);
              return r[0];
            })(x, s);
          },
          {"linbreg_update", regName, shp});
    expectError(
        [&] {
          jit([reg](const Tensor &x, const Tensor &s) {
            return adabregUpdate(reg, x, x, x, x, x, s, s, s, s, s, s, s)[0];
          })(x, s);
        },
        {"adabreg_update", regName, shp});
    expectError(
        [&] {
          jit([reg](const Tensor &x, const Tensor &s) {
            return proxsgdUpdate(reg, x, x, s, s);
          })(x, s);
        },
        {"proxsgd_update", regName, shp});
  }
  // Right ranks pass.
  EXPECT_NO_THROW(checkRegularizerFits("op", Regularizer::L1L2, {3, 4}));
  EXPECT_NO_THROW(checkRegularizerFits("op", Regularizer::L1L2Conv, {1, 2, 3, 3}));
  EXPECT_EQ(parseRegularizer("l1_l2"), Regularizer::L1L2);
  EXPECT_EQ(parseRegularizer("l1_l2_conv"), Regularizer::L1L2Conv);
  EXPECT_NO_THROW(checkRegularizerFits("op", Regularizer::L1L2Heads, {2, 4, 8}));
  EXPECT_EQ(parseRegularizer("l1_l2_heads"), Regularizer::L1L2Heads);

  // Through the Optimizer: a group regularizer that selects a bias.
  optim::LinBreg opt({{"all", optim::all(), Regularizer::L1L2, 0.1f, 1.0f,
                       0.1f}});
  Params params{{"fc.weight", Tensor::zeros({3, 4})},
                {"fc.bias", Tensor::zeros({3})}};
  expectError([&] { opt.init(params); }, {"l1_l2", "[3]"});
}

//===----------------------------------------------------------------------===//
// (1) Through optim::Optimizer
//===----------------------------------------------------------------------===//

std::function<bool(const std::string &)> named(std::string n) {
  return [n](const std::string &s) { return s == n; };
}

void checkOptimizerGroups(optim::Method method) {
  optim::Group fc{"fc", named("fc.weight"), Regularizer::L1L2};
  fc.lr = 0.1f, fc.delta = 2.5f, fc.lambda = 0.3f;
  optim::Group conv{"conv", named("conv.weight"), Regularizer::L1L2Conv};
  conv.lr = 0.1f, conv.delta = 1.0f, conv.lambda = 0.2f;
  if (method == optim::Method::LinBreg)
    fc.momentum = 0.5f;
  if (method == optim::Method::AdaBreg) {
    fc.lr = conv.lr = 0.01f;
    fc.beta1 = conv.beta1 = 0.8f;
    fc.beta2 = conv.beta2 = 0.9f;
  }
  if (method == optim::Method::ProxSGD)
    fc.lr = conv.lr = 0.5f;
  optim::Group rest{"rest", optim::all(), Regularizer::None};
  optim::Optimizer opt(method, {fc, conv, rest});

  std::mt19937 rng(400);
  std::map<std::string, Shape> shapes = {
      {"fc.weight", {5, 7}}, {"conv.weight", {2, 2, 3, 3}}, {"fc.bias", {5}}};
  auto groupOf = [&](const std::string &name) -> const optim::Group & {
    return name == "fc.weight" ? fc : name == "conv.weight" ? conv : rest;
  };
  auto sizeOf = [&](const std::string &name) -> int64_t {
    const optim::Group &g = groupOf(name);
    return g.regularizer == Regularizer::None
               ? 1
               : groupSize(g.regularizer, shapes[name]);
  };
  // Thresholds ~ the group norms of θ so that some groups are zeroed.
  Params params;
  std::map<std::string, std::vector<double>> theta, v, m, m1, m2;
  for (const std::string name : {"fc.weight", "conv.weight", "fc.bias"}) {
    const optim::Group &g = groupOf(name);
    int64_t n = sizeOf(name), N = numElements(shapes[name]);
    double thr = double(g.lambda) * std::sqrt(double(n)) *
                 (method == optim::Method::ProxSGD ? g.lr : g.delta);
    std::vector<float> t =
        g.regularizer == Regularizer::None
            ? withGroupNorms(rng, std::vector<double>(N, 0.5), 1)
            : withGroupNorms(rng, mixedNorms(rng, N / n, thr), n);
    params.add(name, f32(t, shapes[name]));
    theta[name] = toDouble(t);
    v[name] = g.regularizer == Regularizer::None
                  ? refGroupSubgradInit(theta[name], 1, g.delta, 0.0)
                  : refGroupSubgradInit(theta[name], n, g.delta, g.lambda);
    m[name] = m1[name] = m2[name] = std::vector<double>(N, 0.0);
  }
  Params state = opt.init(params);
  bool bregman = method != optim::Method::ProxSGD;
  if (bregman)
    for (const auto &[name, r] : v) {
      SCOPED_TRACE("init v/" + name);
      int64_t n = sizeOf(name);
      EXPECT_TRUE(closeGroups(state.at("v/" + name).toVector<float>(), r,
                              groupMaxAbs(r, n), n));
    }

  auto step = jit(
      [&](const Params &p, const Params &s, const Params &g) {
        return opt.update(p, s, g);
      },
      JitOptions{{0, 1}, "group_optimizer_test"});
  for (int k = 1; k <= 3; ++k) {
    SCOPED_TRACE("step " + std::to_string(k));
    Params grads;
    std::map<std::string, std::vector<float>> gv;
    for (const auto &[name, shape] : shapes) {
      int64_t n = sizeOf(name), N = numElements(shape);
      gv[name] = groupGradients(rng, N / n, n, 0.3);
      grads.add(name, f32(gv[name], shape));
    }
    auto [p2, s2] = step(params, state, grads);
    for (auto &[name, shape] : shapes) {
      SCOPED_TRACE(name);
      const optim::Group &g = groupOf(name);
      int64_t n = sizeOf(name), N = numElements(shape);
      double lr = g.lr, delta = g.delta, lambda = g.lambda;
      if (g.regularizer == Regularizer::None)
        lambda = 0.0;
      std::vector<double> x(N);
      const std::vector<float> &gr = gv[name];
      for (int64_t i = 0; i < N; ++i) {
        switch (method) {
        case optim::Method::LinBreg:
          if (g.momentum > 0) {
            m[name][i] = double(g.momentum) * m[name][i] +
                         (1.0 - g.momentum) * lr * gr[i];
            v[name][i] -= m[name][i];
          } else {
            v[name][i] -= lr * gr[i];
          }
          x[i] = delta * v[name][i];
          break;
        case optim::Method::AdaBreg: {
          double b1 = g.beta1, b2 = g.beta2;
          m1[name][i] = b1 * m1[name][i] + (1 - b1) * gr[i];
          m2[name][i] = b2 * m2[name][i] + (1 - b2) * double(gr[i]) * gr[i];
          double d = std::sqrt(m2[name][i]) / std::sqrt(1 - std::pow(b2, k)) +
                     double(g.eps);
          v[name][i] -= lr / (1 - std::pow(b1, k)) * m1[name][i] / d;
          x[i] = delta * v[name][i];
          break;
        }
        default:
          x[i] = theta[name][i] - lr * gr[i];
        }
      }
      double s = method == optim::Method::ProxSGD ? lr : delta;
      theta[name] = refGroupProx(x, n, s, lambda);
      std::vector<float> got = p2.at(name).toVector<float>();
      EXPECT_TRUE(closeGroups(got, theta[name], groupMaxAbs(x, n), n))
          << "theta'";
      if (bregman)
        EXPECT_TRUE(closeGroups(s2.at("v/" + name).toVector<float>(), v[name],
                                groupMaxAbs(v[name], n), n))
            << "v'";
      if (g.regularizer != Regularizer::None)
        for (int64_t j = 0; j < n; ++j) // the zero group stays zero
          EXPECT_EQ(got[j], 0.0f);
      // Continue from the compiled values (f32), as the reference does.
      theta[name] = toDouble(got);
      if (bregman)
        v[name] = toDouble(s2.at("v/" + name).toVector<float>());
      if (s2.contains("m/" + name))
        m[name] = toDouble(s2.at("m/" + name).toVector<float>());
      if (s2.contains("m1/" + name)) {
        m1[name] = toDouble(s2.at("m1/" + name).toVector<float>());
        m2[name] = toDouble(s2.at("m2/" + name).toVector<float>());
      }
    }
    params = p2;
    state = s2;
  }
  EXPECT_EQ(step.compileCount(), 1u);
}

TEST(GroupRegularizer, OptimizerLinBreg) {
  checkOptimizerGroups(optim::Method::LinBreg);
}
TEST(GroupRegularizer, OptimizerAdaBreg) {
  checkOptimizerGroups(optim::Method::AdaBreg);
}
TEST(GroupRegularizer, OptimizerProxSgd) {
  checkOptimizerGroups(optim::Method::ProxSGD);
}

//===----------------------------------------------------------------------===//
// Compile counting through BREGMAN_DUMP_IR: each compilation of a jit named
// N dumps into <dir>/N-<index>.
//===----------------------------------------------------------------------===//

class DumpDir {
public:
  DumpDir() {
    char tmpl[] = "/tmp/bregman_group_test_XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d)
      path = d;
    setenv("BREGMAN_DUMP_IR", path.c_str(), 1);
  }
  ~DumpDir() {
    unsetenv("BREGMAN_DUMP_IR");
    if (!path.empty())
      std::filesystem::remove_all(path); // no shell
  }
  /// Number of compilations dumped for jit functions named `name`.
  int count(const std::string &name) const {
    int c = 0;
    if (DIR *d = opendir(path.c_str())) {
      while (dirent *e = readdir(d)) {
        std::string s = e->d_name;
        if (s.rfind(name + "-", 0) == 0)
          ++c;
      }
      closedir(d);
    }
    return c;
  }
  std::string path;
};

//===----------------------------------------------------------------------===//
// (2) LambdaSchedule and reinitSubgradients on a jitted LinBreg step
//===----------------------------------------------------------------------===//

TEST(ScheduleLambda, DiscrepancyPrincipleAndReinit) {
  DumpDir dump;
  ASSERT_FALSE(dump.path.empty());
  optim::Group w{"weights", optim::weights(), Regularizer::L1};
  w.lr = 0.1f, w.delta = 2.0f, w.lambda = 0.05f;
  optim::Group b{"biases", optim::biases(), Regularizer::None};
  b.lr = 0.1f;
  optim::LinBreg opt({w, b});
  models::MLP model({6, 5, 3});
  Params params = model.init(3, nn::SparseInit{0.5, 1.0});
  Params state = opt.init(params);
  EXPECT_EQ(dump.count("linbreg.init"), 0); // v is initialised on the host
  int initCompilesAfterFirstChange = -1;

  auto step = jitTrainStep(model, opt, JitOptions{{0, 1}, "schedule_step"});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> xv(8 * 6);
  for (float &e : xv)
    e = u(rng);
  Tensor x = f32(xv, {8, 6});
  Tensor y =
      Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 0, 2, 1, 1, 0}, {8});

  optim::LambdaSchedule sched;
  sched.group = "weights";
  sched.warmup = 2;
  sched.cooldown = 2;
  sched.increment = 0.05f;
  sched.targetDensity = 0.3;
  // Epoch → synthetic density. Changes are possible at epochs e ≥ warmup
  // with (e − warmup) % cooldown == 0 (the call comes after epoch e, so the
  // first `warmup` epochs train with the initial λ): 2, 4, 6, 8, 10.
  const std::map<int, double> density = {
      {1, 0.9}, {2, 0.9},  {3, 0.9}, {4, 0.1}, {5, 0.1},
      {6, 0.3}, // equal to the target: not above, so λ decreases
      {7, 0.9}, {8, 0.1}, // λ already 0: max(0 − inc, 0) = 0, no change
      {9, 0.1}, {10, 0.5}, {11, 0.9}};
  const std::set<int> changeEpochs = {2, 4, 6, 10};
  float lambda = w.lambda;
  for (int epoch = 1; epoch <= 11; ++epoch) {
    SCOPED_TRACE("epoch " + std::to_string(epoch));
    float lambdaNow = opt.hyper(state, "weights", "lambda");
    auto [p2, s2, loss] = step(params, state, x, y);
    ASSERT_TRUE(std::isfinite(loss.item()));
    params = p2;
    state = s2;
    // The step used the current λ: θ' = prox_{δJ}(δ·v') with J = λ‖·‖₁.
    for (const auto &[name, t] : params) {
      if (!isWeightName(name))
        continue;
      std::vector<float> th = t.toVector<float>(),
                         vv = state.at("v/" + name).toVector<float>();
      for (size_t i = 0; i < th.size(); ++i) {
        double dv = double(w.delta) * vv[i];
        double e = sign(dv) * std::max(std::abs(dv) - double(w.delta) * lambdaNow, 0.0);
        ASSERT_NEAR(th[i], e, 1e-6 * std::max(1.0, std::abs(dv)))
            << name << "[" << i << "] λ " << lambdaNow;
      }
    }

    std::map<std::string, std::vector<float>> vBefore;
    std::map<std::string, const void *> vBuffer;
    for (const auto &[name, t] : params) {
      vBefore[name] = state.at("v/" + name).toVector<float>();
      vBuffer[name] = state.at("v/" + name).data<float>();
    }
    bool changed =
        sched.update(opt, epoch, density.at(epoch), params, state);
    bool expectChange = changeEpochs.count(epoch) > 0;
    EXPECT_EQ(changed, expectChange);
    if (changed && initCompilesAfterFirstChange < 0)
      initCompilesAfterFirstChange = dump.count("linbreg.init");
    if (epoch >= 2 && (epoch - 2) % 2 == 0) {
      float next = density.at(epoch) > 0.3 ? lambda + 0.05f
                                           : std::max(lambda - 0.05f, 0.0f);
      lambda = next;
    }
    EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda"), lambda);
    EXPECT_EQ(opt.hyper(state, "biases", "lambda"), 0.0f);
    for (const auto &[name, t] : params) {
      SCOPED_TRACE(name);
      std::vector<float> got = state.at("v/" + name).toVector<float>();
      if (!expectChange) {
        EXPECT_EQ(state.at("v/" + name).data<float>(), vBuffer[name]);
        EXPECT_EQ(0, std::memcmp(got.data(), vBefore[name].data(),
                                 got.size() * sizeof(float)))
            << "v changed without a change of λ";
        continue;
      }
      // v = θ/δ + λ·sign(θ) from the current θ (biases: J = none).
      std::vector<float> th = t.toVector<float>();
      bool weight = isWeightName(name);
      double delta = weight ? w.delta : b.delta;
      for (size_t i = 0; i < th.size(); ++i) {
        double e = th[i] / delta + (weight ? double(lambda) * sign(th[i]) : 0.0);
        ASSERT_NEAR(got[i], e, 1e-6 * std::max(1.0, std::abs(e)))
            << "v[" << i << "]";
      }
    }
  }
  EXPECT_FLOAT_EQ(lambda, 0.05f);
  // Many more re-initialisations: still one compilation of the init.
  for (int i = 0; i < 5; ++i) {
    opt.setHyper(state, "weights", "lambda", 0.01f * i);
    opt.reinitSubgradients(params, state);
  }
  std::vector<float> th = params.at("fc1.weight").toVector<float>(),
                     vv = state.at("v/fc1.weight").toVector<float>();
  for (size_t i = 0; i < th.size(); ++i)
    ASSERT_NEAR(vv[i], th[i] / 2.0 + 0.04 * sign(th[i]), 1e-6);
  auto [p2, s2, loss] = step(params, state, x, y); // the state still works
  EXPECT_TRUE(std::isfinite(loss.item()));
  EXPECT_EQ(step.compileCount(), 1u);
  EXPECT_EQ(dump.count("schedule_step"), 1);
  // The subgradient init compiles nothing: init() and every
  // reinitSubgradients() compute v on the host.
  EXPECT_EQ(initCompilesAfterFirstChange, 0);
  EXPECT_EQ(dump.count("linbreg.init"), 0);
}

TEST(ScheduleLambda, WarmupZeroCooldownOneAndNoIncrement) {
  optim::LinBreg opt({{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.2f},
                      {"biases", optim::biases()}});
  models::MLP model({4, 3});
  Params params = model.init(1, nn::SparseInit{1.0, 1.0});
  Params state = opt.init(params);
  optim::LambdaSchedule sched; // warmup 0, cooldown 1, increment 0
  EXPECT_FALSE(sched.update(opt, 1, 0.9, params, state));
  EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda"), 0.2f);
  sched.increment = 0.1f;
  float lambda = 0.2f;
  for (int e = 1; e <= 4; ++e) { // every epoch
    EXPECT_TRUE(sched.update(opt, e, 0.9, params, state));
    lambda += 0.1f;
    EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lambda"), lambda);
  }
}

//===----------------------------------------------------------------------===//
// (2) ReduceLROnPlateau
//===----------------------------------------------------------------------===//

TEST(ScheduleReduceLROnPlateau, ReducesAfterPatienceExceeded) {
  optim::LinBreg opt({{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.01f},
                      {"biases", optim::biases(), Regularizer::None, 0.2f}});
  models::MLP model({4, 3});
  Params params = model.init(1, nn::SparseInit{1.0, 1.0});
  Params state = opt.init(params);
  optim::ReduceLROnPlateau plateau; // factor 0.5, patience 5, threshold 0.01
  // PyTorch (mode min, rel): better iff loss < best·(1 − 0.01); reduce when
  // the count of non-improving epochs exceeds 5, then the count restarts.
  std::vector<double> losses = {
      1.0,    // 1 best
      0.995,  // 2 bad 1 (not below 0.99)
      0.9905, // 3 bad 2
      0.9895, // 4 better: best 0.9895
      0.985, 0.985, 0.985, 0.985, 0.985, // 5–9 bad 1–5 (0.985 > 0.97961)
      0.985,  // 10 bad 6 → reduce
      0.984, 0.984, 0.984, 0.984, 0.984, // 11–15 bad 1–5
      0.984,  // 16 bad 6 → reduce
      0.5,    // 17 better
      0.5, 0.5, 0.5, 0.5, 0.5, // 18–22 bad 1–5
  };
  const std::set<int> reduceAt = {10, 16};
  double lrW = 0.1f, lrB = 0.2f;
  for (size_t e = 1; e <= losses.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e));
    bool reduced = plateau.update(opt, losses[e - 1], state);
    EXPECT_EQ(reduced, reduceAt.count(int(e)) > 0);
    if (reduced) {
      lrW *= 0.5;
      lrB *= 0.5;
    }
    EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lr"), float(lrW));
    EXPECT_FLOAT_EQ(opt.hyper(state, "biases", "lr"), float(lrB));
  }
  EXPECT_FLOAT_EQ(opt.hyper(state, "weights", "lr"), 0.025f);
  EXPECT_FLOAT_EQ(opt.hyper(state, "biases", "lr"), 0.05f);
}

TEST(ScheduleReduceLROnPlateau, ImprovingNeverReduces) {
  optim::SGD opt({{"all", optim::all(), Regularizer::None, 0.3f}});
  models::MLP model({4, 3});
  Params params = model.init(1, nn::SparseInit{1.0, 1.0});
  Params state = opt.init(params);
  optim::ReduceLROnPlateau plateau;
  double loss = 2.0;
  for (int e = 1; e <= 40; ++e) {
    EXPECT_FALSE(plateau.update(opt, loss, state)) << "epoch " << e;
    loss *= 0.985; // 1.5% better each epoch
  }
  EXPECT_FLOAT_EQ(opt.hyper(state, "all", "lr"), 0.3f);
}

//===----------------------------------------------------------------------===//
// (3) SparsityMeter
//===----------------------------------------------------------------------===//

struct HostCounts {
  int64_t numel = 0, nnz = 0, groups = 0, live = 0;
};

HostCounts hostCounts(const Tensor &t) {
  HostCounts c;
  std::vector<float> v = t.toVector<float>();
  c.numel = int64_t(v.size());
  int64_t n = t.rank() == 2   ? t.dim(1)
              : t.rank() == 3 ? t.dim(1) * t.dim(2) // heads
              : t.rank() == 4 ? t.dim(2) * t.dim(3)
                              : 0;
  for (float e : v)
    c.nnz += e != 0.0f;
  if (n) {
    c.groups = c.numel / n;
    for (int64_t g = 0; g < c.groups; ++g) {
      bool live = false;
      for (int64_t j = 0; j < n; ++j)
        live |= v[g * n + j] != 0.0f;
      c.live += live;
    }
  }
  return c;
}

/// Random values with about a third zero, `zeroGroups` groups of size n
/// zeroed (some as −0.0).
Tensor sparseTensor(std::mt19937 &rng, const Shape &shape, int64_t n,
                    std::set<int64_t> zeroGroups) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(numElements(shape));
  for (size_t i = 0; i < v.size(); ++i) {
    float x = u(rng);
    v[i] = std::abs(x) < 0.33f ? 0.0f : x;
    if (zeroGroups.count(int64_t(i) / n))
      v[i] = (i % 2) ? -0.0f : 0.0f;
  }
  return f32(v, shape);
}

Params sparsityParams() {
  std::mt19937 rng(77);
  Params p;
  p.add("fc1.weight", sparseTensor(rng, {6, 10}, 10, {0, 3}));
  p.add("fc1.bias", sparseTensor(rng, {6}, 1, {0, 1, 2}));
  p.add("conv1.weight", sparseTensor(rng, {3, 4, 3, 3}, 9, {0, 5, 6, 11}));
  p.add("conv1.bias", Tensor::zeros({3}));
  p.add("fc2.weight", sparseTensor(rng, {4, 5}, 5, {1}));
  p.add("conv2.weight", sparseTensor(rng, {2, 2, 2, 2}, 4, {}));
  return p;
}

void checkReportCounts(const Params &params, const SparsityReport &r) {
  int64_t nnz = 0, tot = 0, lnnz = 0, ltot = 0, cnnz = 0, ctot = 0;
  std::vector<double> node, kernel;
  size_t k = 0;
  for (const auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    SCOPED_TRACE(name);
    HostCounts c = hostCounts(t);
    ASSERT_LT(k, r.tensors.size());
    const TensorSparsity &s = r.tensors[k++];
    EXPECT_EQ(s.name, name);
    EXPECT_EQ(s.numel, c.numel);
    EXPECT_EQ(s.nonZero, c.nnz);
    EXPECT_EQ(s.groups, c.groups);
    EXPECT_EQ(s.liveGroups, c.live);
    nnz += c.nnz;
    tot += c.numel;
    if (t.rank() == 2) {
      lnnz += c.nnz;
      ltot += c.numel;
      node.push_back(double(c.live) / double(c.groups));
    } else if (t.rank() == 4) {
      cnnz += c.nnz;
      ctot += c.numel;
      kernel.push_back(double(c.live) / double(c.groups));
    }
  }
  EXPECT_EQ(k, r.tensors.size()); // biases are not reported
  EXPECT_DOUBLE_EQ(r.netDensity, double(nnz) / double(tot));
  EXPECT_DOUBLE_EQ(r.linearDensity, double(lnnz) / double(ltot));
  EXPECT_DOUBLE_EQ(r.convDensity, double(cnnz) / double(ctot));
  EXPECT_EQ(r.nodeDensity, node);
  EXPECT_EQ(r.kernelDensity, kernel);
}

TEST(SparsityMeter, CountsMatchHost) {
  Params params = sparsityParams();
  SparsityMeter meter;
  SparsityReport r = meter.measure(params);
  checkReportCounts(params, r);
  // Sanity of the fixture itself: the zero groups are there.
  EXPECT_EQ(r.tensors[0].liveGroups, 4);  // fc1: rows 0, 3 zero
  EXPECT_EQ(r.tensors[1].liveGroups, 8);  // conv1: 12 kernels, 4 zero
  EXPECT_EQ(r.tensors[2].liveGroups, 3);  // fc2
  EXPECT_TRUE(r.regularizerValue.empty());
  EXPECT_EQ(r.nodeDensity.size(), 2u);
  EXPECT_EQ(r.kernelDensity.size(), 2u);
}

TEST(SparsityMeter, AllZeroAndDense) {
  Params params{{"a.weight", Tensor::zeros({3, 4})},
                {"b.weight", f32(std::vector<float>(2 * 3 * 2 * 2, 1.5f),
                                 {2, 3, 2, 2})}};
  SparsityMeter meter;
  SparsityReport r = meter.measure(params);
  checkReportCounts(params, r);
  EXPECT_DOUBLE_EQ(r.linearDensity, 0.0);
  EXPECT_DOUBLE_EQ(r.convDensity, 1.0);
  EXPECT_DOUBLE_EQ(r.netDensity, 24.0 / 36.0);
  EXPECT_EQ(r.nodeDensity, std::vector<double>{0.0});
  EXPECT_EQ(r.kernelDensity, std::vector<double>{1.0});
}

// A row whose only non-zero is tiny (its square underflows in f32) is a live
// row: its norm is not zero, and it has a non-zero element.
// Regression: liveness was decided by Σθ² > 0 in f32, which underflows for
// such a row (liveGroups 2 instead of 3); it is now Σ|θ| > 0.
TEST(SparsityMeter, TinyValuesKeepAGroupLive) {
  std::vector<float> v = {1.0f, 0.0f, 0.0f, 1e-30f, 0.0f, 0.0f, 0.0f, 2.0f, 0.0f};
  Params params{{"a.weight", f32(v, {3, 3})}};
  SparsityMeter meter;
  SparsityReport r = meter.measure(params);
  EXPECT_EQ(r.tensors.at(0).nonZero, 3);
  EXPECT_EQ(r.tensors.at(0).liveGroups, 3);
  EXPECT_EQ(r.nodeDensity, std::vector<double>{1.0});
}

TEST(SparsityMeter, RegularizerValuesWithoutCompiling) {
  DumpDir dump;
  ASSERT_FALSE(dump.path.empty());
  Params params = sparsityParams();
  auto prefix = [](std::string pre) {
    return [pre](const std::string &s) { return s.rfind(pre, 0) == 0; };
  };
  optim::LinBreg opt({{"fc1", prefix("fc1.w"), Regularizer::L1L2, 0.1f, 1.0f,
                       0.3f},
                      {"conv", prefix("conv1.w"), Regularizer::L1L2Conv, 0.1f,
                       1.0f, 0.2f},
                      {"l1", optim::weights(), Regularizer::L1, 0.1f, 1.0f,
                       0.07f},
                      {"biases", optim::biases(), Regularizer::None}});
  Params state = opt.init(params);
  SparsityMeter meter(&opt);

  auto reference = [&](double lamFc1, double lamConv, double lamL1) {
    std::map<std::string, double> J = {
        {"fc1", 0.0}, {"conv", 0.0}, {"l1", 0.0}, {"biases", 0.0}};
    for (const auto &[name, t] : params) {
      std::vector<double> x = toDouble(t.toVector<float>());
      const std::string &g = opt.groupOf(name).name;
      if (g == "fc1" || g == "conv") {
        int64_t n = g == "fc1" ? t.dim(1) : t.dim(2) * t.dim(3);
        double s = 0;
        for (double nrm : groupNorms(x, n))
          s += nrm;
        J[g] += (g == "fc1" ? lamFc1 : lamConv) * std::sqrt(double(n)) * s;
      } else if (g == "l1") {
        for (double e : x)
          J[g] += lamL1 * std::abs(e);
      }
    }
    return J;
  };
  auto check = [&](const SparsityReport &r,
                   const std::map<std::string, double> &J) {
    ASSERT_EQ(r.regularizerValue.size(), J.size());
    for (const auto &[g, e] : J) {
      SCOPED_TRACE(g);
      ASSERT_TRUE(r.regularizerValue.count(g));
      EXPECT_NEAR(r.regularizerValue.at(g), e, 1e-5 * std::max(1.0, e));
    }
  };
  SparsityReport r1 = meter.measure(params, state);
  checkReportCounts(params, r1);
  auto J1 = reference(0.3f, 0.2f, 0.07f);
  EXPECT_GT(J1["fc1"], 0.0);
  EXPECT_GT(J1["conv"], 0.0);
  EXPECT_GT(J1["l1"], 0.0);
  check(r1, J1);

  // λ from the state: a schedule's change shows without recompiling.
  opt.setHyper(state, "fc1", "lambda", 0.6f);
  opt.setHyper(state, "l1", "lambda", 0.0f);
  SparsityReport r2 = meter.measure(params, state);
  check(r2, reference(0.6f, 0.2f, 0.0f));
  checkReportCounts(params, r2);
  // Counted on the host: nothing is compiled for the meter.
  EXPECT_EQ(dump.count("sparsity"), 0);
}

/// The meter as it was compiled before it moved to the host (f32, traced):
/// the peer the host meter must agree with. J as ALGORITHMS.md §3, groups
/// over the axes the dialect's group regularizers use.
Params compiledMeter(const Params &params, const optim::Optimizer &opt,
                     const Params &state) {
  auto fn = [&opt](const Params &p, const Params &lambdas) {
    Params out;
    Tensor zero = full({}, 0.0);
    auto groupSum = [](const Tensor &t, std::vector<int64_t> axes) {
      int64_t n = 1;
      for (int64_t a : axes)
        n *= t.dim(a);
      return sum(sqrt(sum(t * t, axes))) * std::sqrt(double(n));
    };
    for (const optim::Group &g : opt.groups()) {
      Tensor lambda = lambdas.at(g.name), lambda2 = lambdas.at(g.name + "/2");
      Tensor value = zero;
      for (const auto &[name, t] : p) {
        if (opt.groupOf(name).name != g.name)
          continue;
        switch (g.regularizer) {
        case Regularizer::None:
          break;
        case Regularizer::L1:
        case Regularizer::L1Pos:
          value = value + lambda * sum(abs(t));
          break;
        case Regularizer::L1L2:
          value = value + lambda * groupSum(t, {1});
          break;
        case Regularizer::L1L2Conv:
          value = value + lambda * groupSum(t, {2, 3});
          break;
        case Regularizer::L1L2Heads:
          value = value + lambda * groupSum(t, {1, 2});
          break;
        case Regularizer::L1L1L2:
          value = value + lambda * sum(abs(t)) + lambda2 * groupSum(t, {1});
          break;
        }
      }
      out.add("J/" + g.name, value);
    }
    return out;
  };
  Params lambdas;
  for (const optim::Group &g : opt.groups()) {
    lambdas.add(g.name, Tensor::scalar(opt.hyper(state, g.name, "lambda")));
    lambdas.add(g.name + "/2",
                Tensor::scalar(g.regularizer == Regularizer::L1L1L2
                                   ? opt.hyper(state, g.name, "lambda2")
                                   : 0.0f));
  }
  auto compiled = jit(std::function<Params(const Params &, const Params &)>(fn),
                      JitOptions{{}, "sparsity_peer"});
  return compiled(params, lambdas);
}

/// J of one tensor in float64 from ALGORITHMS.md §3: λ‖θ‖₁ (l1, l1_pos),
/// λ√n·Σᵢ‖θᵢ‖ over contiguous groups of n (rows, heads, kernels), both for
/// l1_l1_l2 (λ₂ on the groups).
double referenceJ(Regularizer reg, const Tensor &t, double lambda,
                  double lambda2) {
  std::vector<double> x = toDouble(t.toVector<float>());
  double l1 = 0, groups = 0;
  for (double e : x)
    l1 += std::abs(e);
  if (reg == Regularizer::L1L2 || reg == Regularizer::L1L2Conv ||
      reg == Regularizer::L1L2Heads || reg == Regularizer::L1L1L2) {
    int64_t n = groupSize(reg == Regularizer::L1L1L2 ? Regularizer::L1L2 : reg,
                          t.shape());
    for (double norm : groupNorms(x, n))
      groups += norm;
    groups *= std::sqrt(double(n));
  }
  switch (reg) {
  case Regularizer::None:
    return 0;
  case Regularizer::L1:
  case Regularizer::L1Pos:
    return lambda * l1;
  case Regularizer::L1L1L2:
    return lambda * l1 + lambda2 * groups;
  default:
    return lambda * groups;
  }
}

// Every regularizer the meter knows (none, l1, l1_pos, l1_l2 rows,
// l1_l2_conv kernels, l1_l2_heads, l1_l1_l2; there is no nuclear one) on
// the host against the compiled f32 meter and a float64 reference. Host and
// reference both accumulate in float64 from the same f32 values: 1e-12
// relative; the compiled f32 sums: 1e-5. A missing √n, a norm squared or
// groups over the wrong axes is off by factors.
TEST(SparsityMeter, EveryRegularizerMatchesCompiledAndFloat64) {
  std::mt19937 rng(5);
  Params params;
  params.add("rows.weight", sparseTensor(rng, {7, 12}, 12, {2, 5}));
  params.add("pos.weight", sparseTensor(rng, {5, 6}, 6, {1}));
  params.add("conv.weight", sparseTensor(rng, {4, 3, 3, 3}, 9, {0, 7}));
  params.add("attn.q.weight", sparseTensor(rng, {4, 3, 8}, 24, {1}));
  params.add("attn.k.weight", sparseTensor(rng, {4, 3, 8}, 24, {1, 3}));
  params.add("sg.weight", sparseTensor(rng, {6, 9}, 9, {4}));
  params.add("plain.weight", sparseTensor(rng, {3, 3, 2, 2}, 4, {}));
  params.add("rows.bias", sparseTensor(rng, {7}, 1, {0}));
  auto prefix = [](std::string pre) {
    return [pre](const std::string &s) { return s.rfind(pre, 0) == 0; };
  };
  optim::LinBreg opt(
      {{"rows", prefix("rows.w"), Regularizer::L1L2, 0.1f, 1.0f, 0.3f},
       {"pos", prefix("pos."), Regularizer::L1Pos, 0.1f, 1.0f, 0.11f},
       {"conv", prefix("conv."), Regularizer::L1L2Conv, 0.1f, 1.0f, 0.2f},
       {"heads", prefix("attn."), Regularizer::L1L2Heads, 0.1f, 1.0f, 0.25f},
       {"sg", prefix("sg."), Regularizer::L1L1L2, 0.1f, 1.0f, 0.05f, 0.0f,
        0.9f, 0.999f, 1e-8f, 0.4f},
       {"l1", prefix("plain."), Regularizer::L1, 0.1f, 1.0f, 0.07f},
       {"biases", optim::biases(), Regularizer::None}});
  Params state = opt.init(params);
  SparsityReport r = SparsityMeter(&opt).measure(params, state);
  Params compiled = compiledMeter(params, opt, state);
  ASSERT_EQ(r.regularizerValue.size(), opt.groups().size());
  for (const optim::Group &g : opt.groups()) {
    SCOPED_TRACE(g.name);
    double expected = 0;
    for (const auto &[name, t] : params)
      if (opt.groupOf(name).name == g.name)
        expected += referenceJ(g.regularizer, t, g.lambda, g.lambda2);
    double host = r.regularizerValue.at(g.name);
    EXPECT_NEAR(host, expected, 1e-12 * std::max(1.0, expected));
    EXPECT_NEAR(compiled.at("J/" + g.name).item(), host,
                1e-5 * std::max(1.0, host));
    if (g.regularizer != Regularizer::None)
      EXPECT_GT(host, 0.1);
  }
  checkReportCounts(params, r);
  // Heads: q has head 1 zero, k heads 1 and 3: a head is active while any
  // projection's slice is non-zero, so 3 of 4.
  ASSERT_EQ(r.heads.size(), 1u);
  EXPECT_EQ(r.heads[0].layer, "attn");
  EXPECT_EQ(r.heads[0].active, 3);
  EXPECT_EQ(r.heads[0].total, 4);
}

/// v = θ/δ + p in float64 (ALGORITHMS.md §2 init, §3): λ·sign(θ) for l1,
/// l1_pos and l1_l1_l2; the group term λ√n·θᵢ/‖θᵢ‖ (λ₂ for l1_l1_l2).
std::vector<double> referenceInit(Regularizer reg, const Tensor &t,
                                  double delta, double lambda,
                                  double lambda2) {
  std::vector<double> x = toDouble(t.toVector<float>()), v(x.size());
  bool grouped = reg == Regularizer::L1L2 || reg == Regularizer::L1L2Conv ||
                 reg == Regularizer::L1L2Heads || reg == Regularizer::L1L1L2;
  if (grouped) {
    Regularizer groups = reg == Regularizer::L1L1L2 ? Regularizer::L1L2 : reg;
    v = refGroupSubgradInit(x, groupSize(groups, t.shape()), delta,
                            reg == Regularizer::L1L1L2 ? lambda2 : lambda);
  } else {
    for (size_t i = 0; i < x.size(); ++i)
      v[i] = x[i] / delta;
  }
  if (reg == Regularizer::L1 || reg == Regularizer::L1Pos ||
      reg == Regularizer::L1L1L2)
    for (size_t i = 0; i < x.size(); ++i)
      v[i] += lambda * double((x[i] > 0) - (x[i] < 0));
  return v;
}

// Optimizer::init computes v = θ/δ + ∂J(θ) on the host (nothing compiled)
// for every regularizer: it equals the compiled subgradient_init primitive
// to f32 rounding (1e-6 relative) and the float64 reference to f32 rounding
// of its result (1e-7 relative, with zero rows, kernels and heads). A
// missing √n, δ or sign term is off by far more. reinitSubgradients after a
// change of λ gives the new λ's values.
TEST(OptimizerInit, HostInitMatchesCompiledAndFloat64) {
  std::mt19937 rng(9);
  Params params;
  params.add("rows.weight", sparseTensor(rng, {7, 12}, 12, {2, 5}));
  params.add("pos.weight", sparseTensor(rng, {5, 6}, 6, {1}));
  params.add("conv.weight", sparseTensor(rng, {4, 3, 3, 3}, 9, {0, 7}));
  params.add("attn.q.weight", sparseTensor(rng, {4, 3, 8}, 24, {1}));
  params.add("sg.weight", sparseTensor(rng, {6, 9}, 9, {4}));
  params.add("plain.weight", sparseTensor(rng, {3, 3, 2, 2}, 4, {}));
  params.add("rows.bias", sparseTensor(rng, {7}, 1, {0}));
  auto prefix = [](std::string pre) {
    return [pre](const std::string &s) { return s.rfind(pre, 0) == 0; };
  };
  std::vector<optim::Group> groups = {
      {"rows", prefix("rows.w"), Regularizer::L1L2, 0.1f, 0.7f, 0.3f},
      {"pos", prefix("pos."), Regularizer::L1Pos, 0.1f, 1.3f, 0.11f},
      {"conv", prefix("conv."), Regularizer::L1L2Conv, 0.1f, 2.0f, 0.2f},
      {"heads", prefix("attn."), Regularizer::L1L2Heads, 0.1f, 0.5f, 0.25f},
      {"sg", prefix("sg."), Regularizer::L1L1L2, 0.1f, 1.0f, 0.05f, 0.0f,
       0.9f, 0.999f, 1e-8f, 0.4f},
      {"l1", prefix("plain."), Regularizer::L1, 0.1f, 1.5f, 0.07f},
      {"biases", optim::biases(), Regularizer::None, 0.1f, 0.9f}};
  optim::LinBreg opt(groups);
  DumpDir dump;
  ASSERT_FALSE(dump.path.empty());
  Params state = opt.init(params);
  EXPECT_EQ(dump.count("linbreg.init"), 0); // nothing compiled
  auto check = [&](const optim::Group &g, const std::string &name,
                   const Tensor &t, double lambda) {
    SCOPED_TRACE(name);
    std::vector<float> got = state.at("v/" + name).toVector<float>();
    std::vector<double> want =
        referenceInit(g.regularizer, t, g.delta, lambda, g.lambda2);
    Regularizer reg = g.regularizer;
    auto primitive = jit([reg](const Tensor &theta, const Tensor &d,
                               const Tensor &l, const Tensor &l2) {
      return subgradientInit(reg, theta, d, l,
                             reg == Regularizer::L1L1L2 ? l2 : Tensor());
    });
    std::vector<float> peer =
        primitive(t, Tensor::scalar(g.delta), Tensor::scalar(float(lambda)),
                  Tensor::scalar(g.lambda2))
            .toVector<float>();
    ASSERT_EQ(got.size(), want.size());
    double scale = 0;
    for (double w : want)
      scale = std::max(scale, std::abs(w));
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-7 * std::max(std::abs(want[i]), 1e-3))
          << "element " << i;
      EXPECT_NEAR(got[i], peer[i], 1e-6 * scale) << "element " << i;
    }
  };
  for (const optim::Group &g : opt.groups())
    for (const auto &[name, t] : params)
      if (opt.groupOf(name).name == g.name)
        check(g, name, t, g.lambda);

  // λ of one group changed: its v from the new λ, the others' kept.
  opt.setHyper(state, "conv", "lambda", 0.9f);
  state.set("v/rows.weight", Tensor::zeros({7, 12}));
  opt.reinitSubgradients(params, state, "conv");
  check(groups[2], "conv.weight", params.at("conv.weight"), 0.9f);
  EXPECT_EQ(state.at("v/rows.weight").toVector<float>(),
            std::vector<float>(84, 0.0f));
}

// A group regulariser on a parameter of another rank, or an i32 parameter,
// is refused by name (the compiled meter failed while tracing).
TEST(SparsityMeter, RefusesWrongRankAndDtypeByName) {
  auto named = [](std::string n) {
    return [n](const std::string &s) { return s == n; };
  };
  Params params{{"fc.weight", Tensor::zeros({2, 3, 4})}};
  optim::LinBreg rows({{"rows", named("fc.weight"), Regularizer::L1L2, 0.1f,
                        1.0f, 0.1f}});
  try {
    SparsityMeter(&rows).measure(params);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'fc.weight'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("needs a 2-D weight"),
              std::string::npos)
        << e.what();
  }
  Params ints{{"ix.weight", Tensor::fromVector(std::vector<int32_t>{1, 0},
                                               {1, 2})}};
  try {
    SparsityMeter().measure(ints);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'ix.weight' is i32[1, 2]"),
              std::string::npos)
        << e.what();
  }
}

//===----------------------------------------------------------------------===//
// (4) SparseInit with perRow
//===----------------------------------------------------------------------===//

TEST(SparseInit, PerRowKeepsCeilRowsDense) {
  struct Case {
    std::vector<int64_t> sizes;
    double p;
  };
  const Case cases[] = {
      {{20, 37, 10, 3}, 0.1},  // ⌈3.7⌉ = 4, ⌈1.0⌉ = 1, ⌈0.3⌉ = 1
      {{8, 10, 100}, 0.3},     // 10·0.3 = 3.0000000000000004 in f64: ⌈⌉ = 3
      {{8, 100, 10}, 0.07},    // 100·0.07 = 7.000000000000001: 7; ⌈0.7⌉ = 1
      {{5, 10, 6}, 0.5},       // exactly 5, 3
      {{5, 9}, 1.0},           // all rows
  };
  for (const Case &c : cases) {
    models::MLP model(c.sizes);
    nn::SparseInit cfg{c.p, 2.0, 1.0, true};
    SCOPED_TRACE("p " + std::to_string(c.p));
    Params a = model.init(42, cfg), b = model.init(42, cfg),
           other = model.init(43, cfg);
    bool differs = false;
    for (size_t l = 0; l + 1 < c.sizes.size(); ++l) {
      int64_t in = c.sizes[l], out = c.sizes[l + 1];
      std::string w = "fc" + std::to_string(l + 1) + ".weight",
                  bn = "fc" + std::to_string(l + 1) + ".bias";
      SCOPED_TRACE(w);
      ASSERT_EQ(a.at(w).shape(), (Shape{out, in}));
      std::vector<float> v = a.at(w).toVector<float>();
      int64_t kept = 0;
      // ⌈out·p⌉ computed exactly on the decimal p: out·p as a fraction.
      int64_t expected = int64_t(std::llround(std::ceil(
          std::round(double(out) * c.p * 1e6) / 1e6)));
      for (int64_t i = 0; i < out; ++i) {
        int64_t nz = 0;
        for (int64_t j = 0; j < in; ++j)
          nz += v[i * in + j] != 0.0f;
        EXPECT_TRUE(nz == 0 || nz == in) << "row " << i << " has " << nz;
        kept += nz == in;
      }
      EXPECT_EQ(kept, expected);
      // Seeded: the same seed gives the same values, bit for bit.
      std::vector<float> v2 = b.at(w).toVector<float>();
      EXPECT_EQ(0, std::memcmp(v.data(), v2.data(), v.size() * sizeof(float)));
      std::vector<float> vb = a.at(bn).toVector<float>(),
                         vb2 = b.at(bn).toVector<float>();
      EXPECT_EQ(0, std::memcmp(vb.data(), vb2.data(), vb.size() * sizeof(float)));
      for (float e : vb) { // uniform(0, r0/√fan_in)
        EXPECT_GE(e, 0.0f);
        EXPECT_LE(e, 1.0 / std::sqrt(double(in)) + 1e-7);
      }
      if (other.at(w).toVector<float>() != v)
        differs = true;
    }
    EXPECT_TRUE(differs) << "seed 43 gives the same weights as 42";
  }
}

TEST(SparseInit, PerRowScale) {
  // Kept entries ~ N(0, (r·√(2/fan_in))²): the sample std of many entries.
  models::MLP model({400, 200});
  nn::SparseInit cfg{0.25, 3.0, 1.0, true};
  Params p = model.init(7, cfg);
  std::vector<float> v = p.at("fc1.weight").toVector<float>();
  double s = 0;
  int64_t k = 0;
  for (float e : v)
    if (e != 0.0f) {
      s += double(e) * e;
      ++k;
    }
  EXPECT_EQ(k, 50 * 400);
  double stdv = std::sqrt(s / double(k)), expect = 3.0 * std::sqrt(2.0 / 400.0);
  EXPECT_NEAR(stdv, expect, 0.03 * expect);
}

} // namespace
