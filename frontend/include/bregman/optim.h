//===- optim.h - Bregman optimizers -----------------------------*- C++ -*-===//
//
// Optimizers are functional, as in optax: `init` makes the state, `update`
// (called inside a traced step) returns new parameters and state. The state
// is Params holding the per-parameter buffers (v, momentum, moments) and,
// per parameter group, the hyper-parameters as scalar tensors
// ("hyper/<group>/lr", ...). Because the hyper-parameters are tensors of the
// state, schedules change them between steps without recompiling the step.
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
// The breg primitives (ALGORITHMS.md §2–3); scalars are rank-0 f32 tensors.
// `lambda2` is the second strength of Regularizer::L1L1L2 (and only of it).
//===----------------------------------------------------------------------===//

/// One LinBreg step: returns (θ', v') or, with momentum, (θ', v', m').
std::vector<Tensor> linbregUpdate(Regularizer reg, const Tensor &theta,
                                  const Tensor &v, const Tensor &grad,
                                  const Tensor &lr, const Tensor &delta,
                                  const Tensor &lambda,
                                  const Tensor &momentum = Tensor(),
                                  const Tensor &beta = Tensor(),
                                  const Tensor &lambda2 = Tensor());
/// prox_{scale·J}(x) for J = λ·reg.
Tensor prox(Regularizer reg, const Tensor &x, const Tensor &scale,
            const Tensor &lambda, const Tensor &lambda2 = Tensor());
/// v = θ/δ + p, p ∈ ∂J(θ) the chosen subgradient.
Tensor subgradientInit(Regularizer reg, const Tensor &theta,
                       const Tensor &delta, const Tensor &lambda,
                       const Tensor &lambda2 = Tensor());
/// One AdaBreg step with the (already incremented) step count t:
/// returns (θ', v', m1', m2').
std::vector<Tensor> adabregUpdate(Regularizer reg, const Tensor &theta,
                                  const Tensor &v, const Tensor &grad,
                                  const Tensor &m1, const Tensor &m2,
                                  const Tensor &lr, const Tensor &delta,
                                  const Tensor &lambda, const Tensor &beta1,
                                  const Tensor &beta2, const Tensor &eps,
                                  const Tensor &step,
                                  const Tensor &lambda2 = Tensor());
/// θ' = prox_{lr·J}(θ − lr·g).
Tensor proxsgdUpdate(Regularizer reg, const Tensor &theta, const Tensor &grad,
                     const Tensor &lr, const Tensor &lambda,
                     const Tensor &lambda2 = Tensor());
/// SGD: θ' (or, with a momentum buffer, (θ', m') with m' = β·m + g).
std::vector<Tensor> sgdUpdate(const Tensor &theta, const Tensor &grad,
                              const Tensor &lr,
                              const Tensor &momentum = Tensor(),
                              const Tensor &beta = Tensor());
/// Adam with the (already incremented) step count t: (θ', m1', m2').
std::vector<Tensor> adamUpdate(const Tensor &theta, const Tensor &grad,
                               const Tensor &m1, const Tensor &m2,
                               const Tensor &lr, const Tensor &beta1,
                               const Tensor &beta2, const Tensor &eps,
                               const Tensor &step);

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
  /// LinBreg / SGD momentum β; > 0 adds a momentum buffer (whether it exists
  /// is static, its value is a runtime scalar).
  float momentum = 0.0f;
  /// AdaBreg / Adam.
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  /// λ₂ of the sparse-group regulariser l1_l1_l2 (kept as the hyper-parameter
  /// "lambda2" of groups that use it). Last, so that aggregate
  /// initialisation of the fields above keeps its order.
  float lambda2 = 0.0f;
};

/// Selects names ending in ".weight" / ".bias".
std::function<bool(const std::string &)> weights();
std::function<bool(const std::string &)> biases();
std::function<bool(const std::string &)> all();

/// The optimizers of ALGORITHMS.md §2 and the unregularised baselines.
enum class Method { LinBreg, AdaBreg, ProxSGD, SGD, Adam };
/// "linbreg", "adabreg", "proxsgd", "sgd", "adam".
const char *methodName(Method method);
/// The method called `name`; throws an Error listing the known ones.
Method parseMethod(const std::string &name);

/// An optimizer over parameter groups: each parameter's update is one fused
/// breg op. State: per parameter v ("v/<name>", Bregman methods), the
/// momentum buffer ("m/<name>") or Adam moments ("m1/<name>", "m2/<name>");
/// the step count ("step", AdaBreg/Adam); per group its hyper-parameters
/// ("hyper/<group>/<lr|delta|lambda|momentum|beta1|beta2|eps>", those the
/// method uses).
class Optimizer {
public:
  Optimizer(Method method, std::vector<Group> groups);

  /// The initial state; for the Bregman methods v = θ/δ + ∂J(θ) (compiled:
  /// breg.subgradient_init).
  Params init(const Params &params) const;

  /// One step, inside a traced function. Returns (new params, new state).
  std::pair<Params, Params>
  update(const Params &params, const Params &state, const Params &grads,
         SourceLocation loc = SourceLocation::current()) const;

  /// Reads / writes a hyper-parameter of a group in a concrete state, in
  /// place (no recompilation). Throws naming the group or hyper-parameter.
  float hyper(const Params &state, const std::string &group,
              const std::string &which) const;
  void setHyper(Params &state, const std::string &group,
                const std::string &which, float value) const;
  /// The hyper-parameters this method keeps per group; with a group name,
  /// those of that group (λ₂ too for l1_l1_l2).
  std::vector<std::string> hyperNames(const std::string &group = "") const;

  /// Re-initialises the subgradients v = θ/δ + ∂J(θ) of the Bregman methods
  /// from the current parameters and the hyper-parameters in `state` (after
  /// a change of λ, ALGORITHMS.md §5) — of the parameters of `group` only,
  /// or of all when `group` is empty. Compiled once; no-op for the others.
  void reinitSubgradients(const Params &params, Params &state,
                          const std::string &group = "") const;

  /// The group that owns `param`; throws naming the parameter if none does.
  const Group &groupOf(const std::string &param) const;
  const std::vector<Group> &groups() const { return groups_; }
  Method method() const { return method_; }

private:
  /// v = θ/δ + ∂J(θ) of every parameter with its group's δ, λ (and λ₂)
  /// from `hypers` (a state's "hyper/..." scalars), computed on the host:
  /// nothing is compiled for it (it was a compiled function of 5–8 s CPU for
  /// EfficientNet-B0 or DenseNet-121).
  Params subgradientInit(const Params &params, const Params &hypers) const;

  Method method_;
  std::vector<Group> groups_;
};

/// LinBreg with optional momentum (ALGORITHMS.md §2).
struct LinBreg : Optimizer {
  explicit LinBreg(std::vector<Group> groups)
      : Optimizer(Method::LinBreg, std::move(groups)) {}
};
/// AdaBreg: Adam on the subgradient (ALGORITHMS.md §2).
struct AdaBreg : Optimizer {
  explicit AdaBreg(std::vector<Group> groups)
      : Optimizer(Method::AdaBreg, std::move(groups)) {}
};
/// Proximal SGD θ' = prox_{τJ}(θ − τg).
struct ProxSGD : Optimizer {
  explicit ProxSGD(std::vector<Group> groups)
      : Optimizer(Method::ProxSGD, std::move(groups)) {}
};
/// SGD with optional heavy-ball momentum (unregularised).
struct SGD : Optimizer {
  explicit SGD(std::vector<Group> groups)
      : Optimizer(Method::SGD, std::move(groups)) {}
};
/// Adam (unregularised).
struct Adam : Optimizer {
  explicit Adam(std::vector<Group> groups)
      : Optimizer(Method::Adam, std::move(groups)) {}
};

/// The λ discrepancy schedule of ALGORITHMS.md §5 for one group: after
/// `warmup` epochs, every `cooldown` epochs, λ grows by `increment` while the
/// group's density is above `targetDensity` and shrinks by it (not below 0)
/// otherwise; every change re-initialises v. λ is a tensor of the state, so
/// nothing recompiles.
struct LambdaSchedule {
  std::string group = "weights";
  int warmup = 0;
  int cooldown = 1;
  float increment = 0.0f;
  double targetDensity = 0.1;

  /// Call after epoch `epoch` (from 1) with the group's density; returns
  /// whether λ changed.
  bool update(const Optimizer &opt, int epoch, double density,
              const Params &params, Params &state) const;
};

/// Halves (by `factor`) every group's learning rate when the training loss
/// has not improved by a relative `threshold` for `patience` epochs — the
/// reference experiments' schedule (PyTorch's ReduceLROnPlateau, mode min,
/// relative threshold).
class ReduceLROnPlateau {
public:
  explicit ReduceLROnPlateau(double factor = 0.5, int patience = 5,
                             double threshold = 0.01)
      : factor(factor), patience(patience), threshold(threshold) {}
  /// Call once per epoch with its training loss; returns whether the
  /// learning rates were reduced.
  bool update(const Optimizer &opt, double loss, Params &state);

  /// What the schedule remembers between epochs (for checkpoints).
  struct Memory {
    double best = 0;
    bool started = false;
    int badEpochs = 0;
  };
  Memory memory() const { return {best, started, badEpochs}; }
  void restore(const Memory &m) {
    best = m.best;
    started = m.started;
    badEpochs = m.badEpochs;
  }

private:
  double factor;
  int patience;
  double threshold;
  double best = 0;
  bool started = false;
  int badEpochs = 0;
};

} // namespace optim
} // namespace bregman

#endif // BREGMAN_OPTIM_H
