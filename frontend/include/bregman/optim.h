//===- optim.h - Bregman optimizers -----------------------------*- C++ -*-===//
//
// Optimizers are functional, as in optax: `init` makes the state, `update`
// (called inside a traced step) returns new parameters and state. The state
// is Params holding, per parameter, the subgradient v ("v/<name>") and the
// momentum buffer ("m/<name>") and, per parameter group, the
// hyper-parameters as scalar tensors ("hyper/<group>/lr", ...). Because the
// hyper-parameters are tensors of the state, schedules change them between
// steps without recompiling the step.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_OPTIM_H
#define BREGMAN_OPTIM_H

#include "bregman/Jit.h"
#include "bregman/Params.h"
#include "bregman/Trace.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bregman {

//===----------------------------------------------------------------------===//
// The breg primitives (ALGORITHMS.md §2–3); scalars are rank-0 f32 tensors
//===----------------------------------------------------------------------===//

/// One LinBreg step: returns (θ', v') or, with momentum, (θ', v', m').
std::vector<Tensor> linbregUpdate(Regularizer reg, const Tensor &theta,
                                  const Tensor &v, const Tensor &grad,
                                  const Tensor &lr, const Tensor &delta,
                                  const Tensor &lambda,
                                  const Tensor &momentum = Tensor(),
                                  const Tensor &beta = Tensor());
/// prox_{scale·J}(x) for J = λ·reg.
Tensor prox(Regularizer reg, const Tensor &x, const Tensor &scale,
            const Tensor &lambda);
/// v = θ/δ + p, p ∈ ∂J(θ) the chosen subgradient.
Tensor subgradientInit(Regularizer reg, const Tensor &theta,
                       const Tensor &delta, const Tensor &lambda);

namespace optim {

/// A set of parameters sharing a regulariser and hyper-parameters.
struct Group {
  std::string name;
  /// Which parameters (by name) belong to the group; the first group that
  /// selects a parameter owns it.
  std::function<bool(const std::string &)> selects;
  Regularizer regularizer = Regularizer::None;
  float lr = 0.1f;
  float delta = 1.0f;
  float lambda = 0.0f;
  /// β; > 0 adds a momentum buffer (whether it exists is static, its value
  /// is a runtime scalar).
  float momentum = 0.0f;
};

/// Selects names ending in ".weight" / ".bias".
std::function<bool(const std::string &)> weights();
std::function<bool(const std::string &)> biases();
std::function<bool(const std::string &)> all();

/// LinBreg with optional momentum (ALGORITHMS.md §2), per parameter group.
class LinBreg {
public:
  explicit LinBreg(std::vector<Group> groups);

  /// The initial state: v = θ/δ + ∂J(θ) (compiled: breg.subgradient_init),
  /// m = 0, and each group's hyper-parameters.
  Params init(const Params &params) const;

  /// One step, inside a traced function: one fused breg.linbreg_update per
  /// parameter. Returns (new params, new state).
  std::pair<Params, Params> update(const Params &params, const Params &state,
                                   const Params &grads) const;

  /// Reads / writes a hyper-parameter ("lr", "delta", "lambda", "momentum")
  /// of a group in a concrete state, in place.
  float hyper(const Params &state, const std::string &group,
              const std::string &which) const;
  void setHyper(Params &state, const std::string &group,
                const std::string &which, float value) const;

  /// The group that owns `param`; throws naming the parameter if none does.
  const Group &groupOf(const std::string &param) const;
  const std::vector<Group> &groups() const { return groups_; }

private:
  std::vector<Group> groups_;
  using InitFn = std::function<Params(const Params &, const Params &)>;
  std::shared_ptr<Jitted<InitFn>> initFn_;
};

} // namespace optim
} // namespace bregman

#endif // BREGMAN_OPTIM_H
