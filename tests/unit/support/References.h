//===- References.h - float64 references the unit tests share -*- C++ -*-===//
//
// The float64 references of ALGORITHMS.md §2–3 that the compiled updates are
// checked against (written once here, from the document, not from the
// compiler's code), and the compiled steps several test files build the same
// way. Header-only; used by tests/unit/frontend and tests/unit/gpu.
//
//   prox_{sJ}(x): none x; l1 sign(x)·max(|x| − sλ, 0); l1_pos max(x − sλ, 0)
//   subgradient init : v = θ/δ + p, p = λ·sign(θ) (sign(0) = 0), 0 for none
//   LinBreg          : v' = v − τg (β = 0) or m' = βm + (1−β)τg, v' = v − m'
//                      θ' = prox_{δJ}(δ·v')
//   Adam moments     : m1' = β1·m1 + (1−β1)·g ; m2' = β2·m2 + (1−β2)·g²
//   (step t)           d = √m2' / √(1−β2ᵗ) + ε ; Δ = (τ/(1−β1ᵗ))·m1'/d
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_UNIT_SUPPORT_REFERENCES_H
#define BREGMAN_TESTS_UNIT_SUPPORT_REFERENCES_H

#include "bregman/bregman.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

namespace bregman::testing {

/// sign(0) = 0, as in ALGORITHMS.md.
inline double sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

/// prox_{scale·J}(x) of the element-wise regularisers (NaN for the others).
inline double refProx(Regularizer reg, double x, double scale, double lambda) {
  if (reg == Regularizer::None)
    return x;
  if (reg == Regularizer::L1)
    return sign(x) * std::max(std::abs(x) - scale * lambda, 0.0);
  if (reg == Regularizer::L1Pos)
    return std::max(x - scale * lambda, 0.0);
  return NAN; // not covered here
}

/// v = θ/δ + p, p ∈ ∂J(θ) (l1 and l1_pos: λ·sign(θ)).
inline double refSubgradientInit(Regularizer reg, double theta, double delta,
                                 double lambda) {
  double p = reg == Regularizer::None ? 0.0 : lambda * sign(theta);
  return theta / delta + p;
}

struct RefLinBreg {
  double theta, v, m;
};

/// One LinBreg step; `beta` < 0 means no momentum. θ' depends on θ only
/// through v.
inline RefLinBreg refLinBreg(Regularizer reg, double v, double g, double lr,
                             double delta, double lambda, double m = 0.0,
                             double beta = -1.0) {
  RefLinBreg r;
  if (beta < 0) {
    r.m = 0.0;
    r.v = v - lr * g;
  } else {
    r.m = beta * m + (1.0 - beta) * lr * g;
    r.v = v - r.m;
  }
  r.theta = refProx(reg, delta * r.v, delta, lambda);
  return r;
}

/// The bias-corrected Adam moments and step, shared by AdaBreg and Adam.
struct RefAdam {
  double m1, m2, step; // step = τ/(1−β1ᵗ)·m1'/d
  /// |step| without the cancellation in m1' (β1·m1 against (1−β1)·g): the
  /// scale of the step's rounding error.
  double stepScale;
};

inline RefAdam refAdamMoments(double g, double m1, double m2, double lr,
                              double beta1, double beta2, double eps, int t) {
  RefAdam r;
  r.m1 = beta1 * m1 + (1.0 - beta1) * g;
  r.m2 = beta2 * m2 + (1.0 - beta2) * g * g;
  double d = std::sqrt(r.m2) / std::sqrt(1.0 - std::pow(beta2, t)) + eps;
  r.step = lr / (1.0 - std::pow(beta1, t)) * r.m1 / d;
  r.stepScale = lr / (1.0 - std::pow(beta1, t)) *
                (beta1 * std::abs(m1) + (1.0 - beta1) * std::abs(g)) / d;
  return r;
}

/// adabreg_update compiled on its own: (θ, v, g, m1, m2, τ, δ, λ, β1, β2, ε,
/// t) → (θ', v', m1', m2').
inline auto jitAdabregUpdate(Regularizer reg) {
  return jit([reg](const Tensor &theta, const Tensor &v, const Tensor &g,
                   const Tensor &m1, const Tensor &m2, const Tensor &lr,
                   const Tensor &delta, const Tensor &lambda,
                   const Tensor &beta1, const Tensor &beta2, const Tensor &eps,
                   const Tensor &t) {
    std::vector<Tensor> r = adabregUpdate(reg, theta, v, g, m1, m2, lr, delta,
                                          lambda, beta1, beta2, eps, t);
    return std::make_tuple(r[0], r[1], r[2], r[3]);
  });
}

/// The training step the tests compile: cross-entropy of `model` on (x, y),
/// its gradients and `opt`'s update; (params, state, x, y) → (params', state',
/// loss), and the gradients last `WithGrads`. `model` and `opt` are held by
/// reference (hyper-parameters set in the state after compiling still count).
template <bool WithGrads = false>
auto jitTrainStep(const nn::Model &model, const optim::Optimizer &opt,
                  JitOptions options) {
  return jit(
      [&model, &opt](const Params &p, const Params &s, const Tensor &x,
                     const Tensor &y) {
        auto [loss, g] = valueAndGrad([&](const Params &q) {
          return crossEntropy(model(q, x), y);
        })(p);
        auto [p2, s2] = opt.update(p, s, g);
        if constexpr (WithGrads)
          return std::make_tuple(p2, s2, loss, g);
        else
          return std::make_tuple(p2, s2, loss);
      },
      std::move(options));
}

} // namespace bregman::testing

#endif // BREGMAN_TESTS_UNIT_SUPPORT_REFERENCES_H
