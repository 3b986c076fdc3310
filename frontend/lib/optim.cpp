//===- optim.cpp - Bregman optimizers -------------------------------------===//

#include "bregman/optim.h"

#include <fmt/format.h>

namespace bregman {

static void requireScalar(const char *op, const char *what, const Tensor &t) {
  if (!t.defined() || t.rank() != 0 || t.dtype() != DType::F32)
    throw Error(fmt::format("{}: {} must be an f32 scalar tensor{}", op, what,
                            t.defined() ? ", got " +
                                              std::string(dtypeName(t.dtype())) +
                                              shapeString(t.shape())
                                        : ""));
}

static void requireParamLike(const char *op, const char *what,
                             const Tensor &theta, const Tensor &t) {
  if (t.shape() != theta.shape() || t.dtype() != DType::F32)
    throw Error(fmt::format("{}: {} is {}{} but the parameter is f32{}", op,
                            what, dtypeName(t.dtype()), shapeString(t.shape()),
                            shapeString(theta.shape())));
}

std::vector<Tensor> linbregUpdate(Regularizer reg, const Tensor &theta,
                                  const Tensor &v, const Tensor &grad,
                                  const Tensor &lr, const Tensor &delta,
                                  const Tensor &lambda, const Tensor &momentum,
                                  const Tensor &beta) {
  const char *op = "linbreg_update";
  if (theta.dtype() != DType::F32)
    throw Error(fmt::format("{}: parameter must be f32, got {}", op,
                            dtypeName(theta.dtype())));
  requireParamLike(op, "v", theta, v);
  requireParamLike(op, "the gradient", theta, grad);
  requireScalar(op, "lr", lr);
  requireScalar(op, "delta", delta);
  requireScalar(op, "lambda", lambda);
  if (momentum.defined() != beta.defined())
    throw Error("linbreg_update: the momentum buffer and beta go together");
  NodeAttrs attrs;
  attrs.regularizer = reg;
  attrs.momentum = momentum.defined();
  std::vector<Tensor> inputs = {theta, v, grad, lr, delta, lambda};
  std::vector<std::pair<Shape, DType>> results(2, {theta.shape(), DType::F32});
  if (attrs.momentum) {
    requireParamLike(op, "the momentum buffer", theta, momentum);
    requireScalar(op, "beta", beta);
    inputs.push_back(momentum);
    inputs.push_back(beta);
    results.push_back({theta.shape(), DType::F32});
  }
  return apply(Prim::LinBregUpdate, inputs, results, attrs);
}

Tensor prox(Regularizer reg, const Tensor &x, const Tensor &scale,
            const Tensor &lambda) {
  if (x.dtype() != DType::F32)
    throw Error("prox: tensor must be f32");
  requireScalar("prox", "scale", scale);
  requireScalar("prox", "lambda", lambda);
  NodeAttrs attrs;
  attrs.regularizer = reg;
  return apply(Prim::Prox, {x, scale, lambda}, {{x.shape(), DType::F32}},
               attrs)[0];
}

Tensor subgradientInit(Regularizer reg, const Tensor &theta,
                       const Tensor &delta, const Tensor &lambda) {
  if (theta.dtype() != DType::F32)
    throw Error("subgradient_init: parameter must be f32");
  requireScalar("subgradient_init", "delta", delta);
  requireScalar("subgradient_init", "lambda", lambda);
  NodeAttrs attrs;
  attrs.regularizer = reg;
  return apply(Prim::SubgradientInit, {theta, delta, lambda},
               {{theta.shape(), DType::F32}}, attrs)[0];
}

namespace optim {

static bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::function<bool(const std::string &)> weights() {
  return [](const std::string &n) { return endsWith(n, ".weight"); };
}
std::function<bool(const std::string &)> biases() {
  return [](const std::string &n) { return endsWith(n, ".bias"); };
}
std::function<bool(const std::string &)> all() {
  return [](const std::string &) { return true; };
}

static std::string hyperName(const std::string &group, const std::string &h) {
  return "hyper/" + group + "/" + h;
}

static const char *kHypers[] = {"lr", "delta", "lambda", "momentum"};

static const Group &findGroup(const std::vector<Group> &groups,
                              const std::string &param) {
  for (const Group &g : groups)
    if (g.selects(param))
      return g;
  throw Error(fmt::format("LinBreg: parameter '{}' belongs to no group", param));
}

LinBreg::LinBreg(std::vector<Group> groups) : groups_(std::move(groups)) {
  if (groups_.empty())
    throw Error("LinBreg: needs at least one parameter group");
  for (const Group &g : groups_) {
    if (!g.selects)
      throw Error("LinBreg: group '" + g.name + "' has no selector");
    if (!(g.delta > 0))
      throw Error(fmt::format("LinBreg: group '{}': delta must be > 0, got {}",
                              g.name, g.delta));
    if (g.lambda < 0)
      throw Error(fmt::format("LinBreg: group '{}': lambda must be >= 0, got {}",
                              g.name, g.lambda));
    if (g.momentum < 0 || g.momentum >= 1)
      throw Error(fmt::format(
          "LinBreg: group '{}': momentum must be in [0, 1), got {}", g.name,
          g.momentum));
  }
  // v = θ/δ + ∂J(θ) per parameter, with δ and λ read from the state so that
  // re-initialisation after a change of λ does not recompile.
  InitFn init = [groups = groups_](const Params &params,
                                   const Params &hypers) {
    Params v;
    for (const auto &[name, theta] : params) {
      const Group &g = findGroup(groups, name);
      v.add(name, subgradientInit(g.regularizer, theta,
                                  hypers.at(hyperName(g.name, "delta")),
                                  hypers.at(hyperName(g.name, "lambda"))));
    }
    return v;
  };
  initFn_ = std::make_shared<Jitted<InitFn>>(
      jit(init, JitOptions{{}, "linbreg.init"}));
}


const Group &LinBreg::groupOf(const std::string &param) const {
  return findGroup(groups_, param);
}

Params LinBreg::init(const Params &params) const {
  Params hypers;
  for (const Group &g : groups_) {
    hypers.add(hyperName(g.name, "lr"), Tensor::scalar(g.lr));
    hypers.add(hyperName(g.name, "delta"), Tensor::scalar(g.delta));
    hypers.add(hyperName(g.name, "lambda"), Tensor::scalar(g.lambda));
    hypers.add(hyperName(g.name, "momentum"), Tensor::scalar(g.momentum));
  }
  for (const auto &entry : params)
    groupOf(entry.first); // every parameter has a group
  Params v = (*initFn_)(params, hypers);
  Params state;
  state.merge("v/", v);
  for (const auto &[name, theta] : params)
    if (groupOf(name).momentum > 0)
      state.add("m/" + name, Tensor::zeros(theta.shape()));
  for (const auto &entry : hypers)
    state.add(entry.first, entry.second);
  return state;
}

std::pair<Params, Params> LinBreg::update(const Params &params,
                                          const Params &state,
                                          const Params &grads) const {
  Params newParams, newState;
  Params newV, newM;
  for (const auto &[name, theta] : params) {
    const Group &g = groupOf(name);
    auto h = [&](const char *which) {
      return state.at(hyperName(g.name, which));
    };
    std::vector<Tensor> r;
    if (g.momentum > 0)
      r = linbregUpdate(g.regularizer, theta, state.at("v/" + name),
                        grads.at(name), h("lr"), h("delta"), h("lambda"),
                        state.at("m/" + name), h("momentum"));
    else
      r = linbregUpdate(g.regularizer, theta, state.at("v/" + name),
                        grads.at(name), h("lr"), h("delta"), h("lambda"));
    newParams.add(name, r[0]);
    newV.add(name, r[1]);
    if (g.momentum > 0)
      newM.add(name, r[2]);
  }
  newState.merge("v/", newV);
  newState.merge("m/", newM);
  for (const Group &g : groups_)
    for (const char *which : kHypers)
      newState.add(hyperName(g.name, which),
                   state.at(hyperName(g.name, which)));
  return {newParams, newState};
}

float LinBreg::hyper(const Params &state, const std::string &group,
                     const std::string &which) const {
  return static_cast<float>(state.at(hyperName(group, which)).item());
}

void LinBreg::setHyper(Params &state, const std::string &group,
                       const std::string &which, float value) const {
  Tensor &t = state.at(hyperName(group, which));
  *t.data<float>() = value;
}

} // namespace optim
} // namespace bregman
