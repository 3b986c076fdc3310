//===- optim.cpp - Bregman optimizers -------------------------------------===//

#include "bregman/optim.h"

#include "Groups.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace bregman {

/// Sets the sparse group's λ₂; checks it is given exactly for
/// Regularizer::L1L1L2.
static void addLambda2(const char *op, Regularizer reg, const Tensor &lambda2,
                       UpdateOperands &operands) {
  bool sparseGroup = reg == Regularizer::L1L1L2;
  if (sparseGroup != lambda2.defined())
    throw Error(fmt::format(
        "{}: {}", op,
        sparseGroup ? "regularizer l1_l1_l2 needs its second strength lambda2"
                    : "lambda2 is only the second strength of l1_l1_l2"));
  if (sparseGroup) {
    if (lambda2.rank() != 0 || lambda2.dtype() != DType::F32)
      throw Error(fmt::format("{}: lambda2 must be an f32 scalar tensor", op));
    operands.lambda2 = lambda2;
  }
}

static NodeAttrs regAttrs(Regularizer reg, bool momentum = false) {
  NodeAttrs attrs;
  attrs.regularizer = reg;
  attrs.momentum = momentum;
  return attrs;
}

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
                                  const Tensor &beta, const Tensor &lambda2) {
  const char *op = "linbreg_update";
  if (theta.dtype() != DType::F32)
    throw Error(fmt::format("{}: parameter must be f32, got {}", op,
                            dtypeName(theta.dtype())));
  requireParamLike(op, "v", theta, v);
  requireParamLike(op, "the gradient", theta, grad);
  checkRegularizerFits(op, reg, theta.shape());
  requireScalar(op, "lr", lr);
  requireScalar(op, "delta", delta);
  requireScalar(op, "lambda", lambda);
  if (momentum.defined() != beta.defined())
    throw Error("linbreg_update: the momentum buffer and beta go together");
  NodeAttrs attrs;
  attrs.regularizer = reg;
  attrs.momentum = momentum.defined();
  UpdateOperands operands;
  operands.theta = theta;
  operands.v = v;
  operands.grad = grad;
  operands.lr = lr;
  operands.delta = delta;
  operands.lambda = lambda;
  std::vector<std::pair<Shape, DType>> results(2, {theta.shape(), DType::F32});
  if (attrs.momentum) {
    requireParamLike(op, "the momentum buffer", theta, momentum);
    requireScalar(op, "beta", beta);
    operands.momentum = momentum;
    operands.beta = beta;
    results.push_back({theta.shape(), DType::F32});
  }
  addLambda2(op, reg, lambda2, operands);
  return applyUpdate(Prim::LinBregUpdate, operands, results, attrs);
}

Tensor prox(Regularizer reg, const Tensor &x, const Tensor &scale,
            const Tensor &lambda, const Tensor &lambda2) {
  if (x.dtype() != DType::F32)
    throw Error("prox: tensor must be f32");
  checkRegularizerFits("prox", reg, x.shape());
  requireScalar("prox", "scale", scale);
  requireScalar("prox", "lambda", lambda);
  UpdateOperands operands;
  operands.theta = x;
  operands.scale = scale;
  operands.lambda = lambda;
  addLambda2("prox", reg, lambda2, operands);
  return applyUpdate(Prim::Prox, operands, {{x.shape(), DType::F32}},
                     regAttrs(reg))[0];
}

Tensor subgradientInit(Regularizer reg, const Tensor &theta,
                       const Tensor &delta, const Tensor &lambda,
                       const Tensor &lambda2) {
  if (theta.dtype() != DType::F32)
    throw Error("subgradient_init: parameter must be f32");
  checkRegularizerFits("subgradient_init", reg, theta.shape());
  requireScalar("subgradient_init", "delta", delta);
  requireScalar("subgradient_init", "lambda", lambda);
  UpdateOperands operands;
  operands.theta = theta;
  operands.delta = delta;
  operands.lambda = lambda;
  addLambda2("subgradient_init", reg, lambda2, operands);
  return applyUpdate(Prim::SubgradientInit, operands,
                     {{theta.shape(), DType::F32}}, regAttrs(reg))[0];
}

std::vector<Tensor> adabregUpdate(Regularizer reg, const Tensor &theta,
                                  const Tensor &v, const Tensor &grad,
                                  const Tensor &m1, const Tensor &m2,
                                  const Tensor &lr, const Tensor &delta,
                                  const Tensor &lambda, const Tensor &beta1,
                                  const Tensor &beta2, const Tensor &eps,
                                  const Tensor &step, const Tensor &lambda2) {
  const char *op = "adabreg_update";
  if (theta.dtype() != DType::F32)
    throw Error("adabreg_update: parameter must be f32");
  requireParamLike(op, "v", theta, v);
  requireParamLike(op, "the gradient", theta, grad);
  requireParamLike(op, "m1", theta, m1);
  requireParamLike(op, "m2", theta, m2);
  checkRegularizerFits(op, reg, theta.shape());
  for (auto [what, t] : {std::pair{"lr", &lr}, {"delta", &delta},
                         {"lambda", &lambda}, {"beta1", &beta1},
                         {"beta2", &beta2}, {"eps", &eps}, {"step", &step}})
    requireScalar(op, what, *t);
  UpdateOperands operands;
  operands.theta = theta;
  operands.v = v;
  operands.grad = grad;
  operands.m1 = m1;
  operands.m2 = m2;
  operands.lr = lr;
  operands.delta = delta;
  operands.lambda = lambda;
  operands.beta1 = beta1;
  operands.beta2 = beta2;
  operands.eps = eps;
  operands.step = step;
  addLambda2(op, reg, lambda2, operands);
  return applyUpdate(
      Prim::AdaBregUpdate, operands,
      std::vector<std::pair<Shape, DType>>(4, {theta.shape(), DType::F32}),
      regAttrs(reg));
}

Tensor proxsgdUpdate(Regularizer reg, const Tensor &theta, const Tensor &grad,
                     const Tensor &lr, const Tensor &lambda,
                     const Tensor &lambda2) {
  const char *op = "proxsgd_update";
  if (theta.dtype() != DType::F32)
    throw Error("proxsgd_update: parameter must be f32");
  requireParamLike(op, "the gradient", theta, grad);
  checkRegularizerFits(op, reg, theta.shape());
  requireScalar(op, "lr", lr);
  requireScalar(op, "lambda", lambda);
  UpdateOperands operands;
  operands.theta = theta;
  operands.grad = grad;
  operands.lr = lr;
  operands.lambda = lambda;
  addLambda2(op, reg, lambda2, operands);
  return applyUpdate(Prim::ProxSgdUpdate, operands,
                     {{theta.shape(), DType::F32}}, regAttrs(reg))[0];
}

std::vector<Tensor> sgdUpdate(const Tensor &theta, const Tensor &grad,
                              const Tensor &lr, const Tensor &momentum,
                              const Tensor &beta) {
  const char *op = "sgd_update";
  if (theta.dtype() != DType::F32)
    throw Error("sgd_update: parameter must be f32");
  requireParamLike(op, "the gradient", theta, grad);
  requireScalar(op, "lr", lr);
  if (momentum.defined() != beta.defined())
    throw Error("sgd_update: the momentum buffer and beta go together");
  UpdateOperands operands;
  operands.theta = theta;
  operands.grad = grad;
  operands.lr = lr;
  std::vector<std::pair<Shape, DType>> results = {{theta.shape(), DType::F32}};
  if (momentum.defined()) {
    requireParamLike(op, "the momentum buffer", theta, momentum);
    requireScalar(op, "beta", beta);
    operands.momentum = momentum;
    operands.beta = beta;
    results.push_back({theta.shape(), DType::F32});
  }
  return applyUpdate(Prim::SgdUpdate, operands, results,
                     regAttrs(Regularizer::None, momentum.defined()));
}

std::vector<Tensor> adamUpdate(const Tensor &theta, const Tensor &grad,
                               const Tensor &m1, const Tensor &m2,
                               const Tensor &lr, const Tensor &beta1,
                               const Tensor &beta2, const Tensor &eps,
                               const Tensor &step) {
  const char *op = "adam_update";
  if (theta.dtype() != DType::F32)
    throw Error("adam_update: parameter must be f32");
  requireParamLike(op, "the gradient", theta, grad);
  requireParamLike(op, "m1", theta, m1);
  requireParamLike(op, "m2", theta, m2);
  for (auto [what, t] : {std::pair{"lr", &lr}, {"beta1", &beta1},
                         {"beta2", &beta2}, {"eps", &eps}, {"step", &step}})
    requireScalar(op, what, *t);
  UpdateOperands operands;
  operands.theta = theta;
  operands.grad = grad;
  operands.m1 = m1;
  operands.m2 = m2;
  operands.lr = lr;
  operands.beta1 = beta1;
  operands.beta2 = beta2;
  operands.eps = eps;
  operands.step = step;
  return applyUpdate(
      Prim::AdamUpdate, operands,
      std::vector<std::pair<Shape, DType>>(3, {theta.shape(), DType::F32}),
      regAttrs(Regularizer::None));
}

namespace optim {

std::function<bool(const std::string &)> weights() {
  return [](const std::string &n) { return isWeightName(n); };
}
std::function<bool(const std::string &)> biases() {
  return [](const std::string &n) { return endsWith(n, ".bias"); };
}
std::function<bool(const std::string &)> all() {
  return [](const std::string &) { return true; };
}

const char *methodName(Method method) {
  switch (method) {
  case Method::LinBreg: return "linbreg";
  case Method::AdaBreg: return "adabreg";
  case Method::ProxSGD: return "proxsgd";
  case Method::SGD: return "sgd";
  case Method::Adam: return "adam";
  }
  return "?";
}

Method parseMethod(const std::string &name) {
  for (Method m : {Method::LinBreg, Method::AdaBreg, Method::ProxSGD,
                   Method::SGD, Method::Adam})
    if (name == methodName(m))
      return m;
  throw Error(fmt::format("unknown optimizer '{}' (known: linbreg, adabreg, "
                          "proxsgd, sgd, adam)",
                          name));
}

static std::string hyperName(const std::string &group, const std::string &h) {
  return "hyper/" + group + "/" + h;
}

/// The hyper-parameters each method keeps in its state, per group.
static std::vector<std::string> hypersOf(Method method) {
  switch (method) {
  case Method::LinBreg: return {"lr", "delta", "lambda", "momentum"};
  case Method::AdaBreg:
    return {"lr", "delta", "lambda", "beta1", "beta2", "eps"};
  case Method::ProxSGD: return {"lr", "lambda"};
  case Method::SGD: return {"lr", "momentum"};
  case Method::Adam: return {"lr", "beta1", "beta2", "eps"};
  }
  return {};
}

/// The hyper-parameters a group keeps: its method's, and λ₂ for l1_l1_l2.
static std::vector<std::string> hypersOf(Method method, const Group &g) {
  std::vector<std::string> names = hypersOf(method);
  if (g.regularizer == Regularizer::L1L1L2)
    names.push_back("lambda2");
  return names;
}

static float hyperValue(const Group &g, const std::string &which) {
  if (which == "lambda2") return g.lambda2;
  if (which == "lr") return g.lr;
  if (which == "delta") return g.delta;
  if (which == "lambda") return g.lambda;
  if (which == "momentum") return g.momentum;
  if (which == "beta1") return g.beta1;
  if (which == "beta2") return g.beta2;
  return g.eps;
}

static bool isBregman(Method m) {
  return m == Method::LinBreg || m == Method::AdaBreg;
}
static bool hasStepCount(Method m) {
  return m == Method::AdaBreg || m == Method::Adam;
}

static const Group &findGroup(const std::vector<Group> &groups,
                              const std::string &param) {
  for (const Group &g : groups)
    if (g.selects(param))
      return g;
  throw Error(fmt::format("optimizer: parameter '{}' belongs to no group",
                          param));
}

/// The group called `name` (for messages; the first group if none is).
static const Group &findGroupByName(const std::vector<Group> &groups,
                                    const std::string &name) {
  for (const Group &g : groups)
    if (g.name == name)
      return g;
  return groups.front();
}

/// Why `value` cannot be the hyper-parameter `which` ("" when it can). NaN
/// fails every test.
static std::vector<std::string> groupNames(const std::vector<Group> &groups) {
  std::vector<std::string> names;
  for (const Group &g : groups)
    names.push_back(g.name);
  return names;
}

static std::string hyperProblem(const std::string &which, double value) {
  if (which == "lr" || which == "delta" || which == "eps")
    return value > 0 && std::isfinite(value) ? "" : "must be > 0 and finite";
  if (which == "lambda" || which == "lambda2")
    return value >= 0 && std::isfinite(value) ? "" : "must be >= 0 and finite";
  return value >= 0 && value < 1 ? "" : "must be in [0, 1)";
}

Optimizer::Optimizer(Method method, std::vector<Group> groups)
    : method_(method), groups_(std::move(groups)) {
  const char *name = methodName(method);
  if (groups_.empty())
    throw Error(fmt::format("{}: needs at least one parameter group", name));
  for (const Group &g : groups_) {
    if (!g.selects)
      throw Error(fmt::format("{}: group '{}' has no selector", name, g.name));
    if (&findGroupByName(groups_, g.name) != &g)
      throw Error(fmt::format("{}: two parameter groups are named '{}' (each "
                              "group's hyper-parameters are kept by its name)",
                              name, g.name));
    for (const std::string &which : hypersOf(method, g))
      if (std::string problem = hyperProblem(which, hyperValue(g, which));
          !problem.empty())
        throw Error(fmt::format("{}: group '{}': {} {}, got {}", name, g.name,
                                which, problem, hyperValue(g, which)));
    if ((method == Method::SGD || method == Method::Adam) &&
        g.regularizer != Regularizer::None)
      throw Error(fmt::format(
          "{}: group '{}' asks for the regularizer '{}', but {} is "
          "unregularized; use linbreg, adabreg or proxsgd",
          name, g.name, regularizerName(g.regularizer), name));
  }
}

/// v = θ/δ + p, p the chosen subgradient of J = λ·reg at θ (ALGORITHMS.md
/// §2 init and §3): λ·sign(θ) for l1 and l1_pos, λ√n·θᵢ/‖θᵢ‖ on each group
/// θᵢ of n elements (0 for a zero group; strength λ₂ in l1_l1_l2, which adds
/// λ·sign(θ)). Each element in float64, rounded to f32 once: the compiled
/// subgradientInit primitive's values to its f32 rounding.
static Tensor hostSubgradientInit(Regularizer reg, const std::string &name,
                                  const Tensor &theta, double delta,
                                  double lambda, double lambda2) {
  std::string op = fmt::format("subgradient init of '{}'", name);
  if (theta.dtype() != DType::F32)
    throw Error(fmt::format("{}: parameter must be f32, got {}", op,
                            dtypeName(theta.dtype())));
  checkRegularizerFits(op.c_str(), reg, theta.shape());
  bool l1 = reg == Regularizer::L1 || reg == Regularizer::L1Pos ||
            reg == Regularizer::L1L1L2;
  bool grouped = reg == Regularizer::L1L2 || reg == Regularizer::L1L2Conv ||
                 reg == Regularizer::L1L2Heads || reg == Regularizer::L1L1L2;
  GroupShape groups = grouped ? groupShape(theta.shape()) : GroupShape{};
  const float *x = theta.data<float>();
  // λ√n/‖θᵢ‖ per group (0 for a zero group).
  double groupLambda = reg == Regularizer::L1L1L2 ? lambda2 : lambda;
  std::vector<double> groupScale(size_t(groups.count), 0.0);
  for (int64_t g = 0; g < groups.count; ++g) {
    double sq = 0;
    for (int64_t j = 0; j < groups.size; ++j)
      sq += double(x[g * groups.size + j]) * double(x[g * groups.size + j]);
    if (sq > 0)
      groupScale[size_t(g)] =
          groupLambda * std::sqrt(double(groups.size)) / std::sqrt(sq);
  }
  Tensor v = Tensor::zeros(theta.shape());
  float *out = v.data<float>();
  for (int64_t i = 0, n = theta.numel(); i < n; ++i) {
    double xi = x[i], p = 0;
    if (l1)
      p += lambda * double((xi > 0) - (xi < 0));
    if (grouped)
      p += groupScale[size_t(i / groups.size)] * xi;
    out[i] = float(xi / delta + p);
  }
  return v;
}

Params Optimizer::subgradientInit(const Params &params,
                                  const Params &hypers) const {
  Params v;
  for (const auto &[name, theta] : params) {
    const Group &g = findGroup(groups_, name);
    auto hyper = [&](const char *which) {
      return hypers.at(hyperName(g.name, which)).item();
    };
    v.add(name, hostSubgradientInit(
                    g.regularizer, name, theta, hyper("delta"),
                    hyper("lambda"),
                    g.regularizer == Regularizer::L1L1L2 ? hyper("lambda2")
                                                         : 0.0));
  }
  return v;
}

const Group &Optimizer::groupOf(const std::string &param) const {
  return findGroup(groups_, param);
}

std::vector<std::string> Optimizer::hyperNames(const std::string &group) const {
  return group.empty() ? hypersOf(method_)
                       : hypersOf(method_, findGroupByName(groups_, group));
}

Params Optimizer::init(const Params &params) const {
  Params hypers;
  for (const Group &g : groups_)
    for (const std::string &h : hypersOf(method_, g))
      hypers.add(hyperName(g.name, h), Tensor::scalar(hyperValue(g, h)));
  for (const auto &entry : params)
    groupOf(entry.first); // every parameter has a group

  Params state;
  if (isBregman(method_))
    state.merge("v/", subgradientInit(params, hypers));
  for (const auto &[name, theta] : params) {
    const Group &g = groupOf(name);
    bool momentum = (method_ == Method::LinBreg || method_ == Method::SGD) &&
                    g.momentum > 0;
    if (momentum)
      state.add("m/" + name, Tensor::zeros(theta.shape()));
    if (hasStepCount(method_)) {
      state.add("m1/" + name, Tensor::zeros(theta.shape()));
      state.add("m2/" + name, Tensor::zeros(theta.shape()));
    }
  }
  if (hasStepCount(method_))
    state.add("step", Tensor::scalar(0.0f));
  for (const auto &entry : hypers)
    state.add(entry.first, entry.second);
  return state;
}

std::pair<Params, Params> Optimizer::update(const Params &params,
                                            const Params &state,
                                            const Params &grads,
                                            SourceLocation loc) const {
  CallSite site(loc);
  Params newParams, newState, newV, newM, newM1, newM2;
  Tensor step;
  if (hasStepCount(method_))
    step = state.at("step") + 1.0;
  for (const auto &[name, theta] : params) {
    const Group &g = groupOf(name);
    auto h = [&](const char *which) {
      return state.at(hyperName(g.name, which));
    };
    const Tensor &grad = grads.at(name);
    Tensor lambda2 =
        g.regularizer == Regularizer::L1L1L2 ? h("lambda2") : Tensor();
    std::vector<Tensor> r;
    switch (method_) {
    case Method::LinBreg:
      r = g.momentum > 0
              ? linbregUpdate(g.regularizer, theta, state.at("v/" + name),
                              grad, h("lr"), h("delta"), h("lambda"),
                              state.at("m/" + name), h("momentum"), lambda2)
              : linbregUpdate(g.regularizer, theta, state.at("v/" + name),
                              grad, h("lr"), h("delta"), h("lambda"), Tensor(),
                              Tensor(), lambda2);
      newV.add(name, r[1]);
      if (g.momentum > 0)
        newM.add(name, r[2]);
      break;
    case Method::AdaBreg:
      r = adabregUpdate(g.regularizer, theta, state.at("v/" + name), grad,
                        state.at("m1/" + name), state.at("m2/" + name),
                        h("lr"), h("delta"), h("lambda"), h("beta1"),
                        h("beta2"), h("eps"), step, lambda2);
      newV.add(name, r[1]);
      newM1.add(name, r[2]);
      newM2.add(name, r[3]);
      break;
    case Method::ProxSGD:
      r = {proxsgdUpdate(g.regularizer, theta, grad, h("lr"), h("lambda"),
                         lambda2)};
      break;
    case Method::SGD:
      r = g.momentum > 0 ? sgdUpdate(theta, grad, h("lr"),
                                     state.at("m/" + name), h("momentum"))
                         : sgdUpdate(theta, grad, h("lr"));
      if (g.momentum > 0)
        newM.add(name, r[1]);
      break;
    case Method::Adam:
      r = adamUpdate(theta, grad, state.at("m1/" + name),
                     state.at("m2/" + name), h("lr"), h("beta1"), h("beta2"),
                     h("eps"), step);
      newM1.add(name, r[1]);
      newM2.add(name, r[2]);
      break;
    }
    newParams.add(name, r[0]);
  }
  // Same order as init(), so that donated buffers pair up by name.
  newState.merge("v/", newV);
  for (const auto &[name, theta] : params) {
    if (newM.contains(name))
      newState.add("m/" + name, newM.at(name));
    if (newM1.contains(name)) {
      newState.add("m1/" + name, newM1.at(name));
      newState.add("m2/" + name, newM2.at(name));
    }
  }
  if (step.defined())
    newState.add("step", step);
  for (const Group &g : groups_)
    for (const std::string &which : hypersOf(method_, g))
      newState.add(hyperName(g.name, which),
                   state.at(hyperName(g.name, which)));
  return {newParams, newState};
}

float Optimizer::hyper(const Params &state, const std::string &group,
                       const std::string &which) const {
  if (std::none_of(groups_.begin(), groups_.end(),
                   [&](const Group &g) { return g.name == group; }))
    throw Error(fmt::format("{}: no parameter group '{}' (groups: {})",
                            methodName(method_), group,
                            fmt::join(groupNames(groups_), ", ")));
  std::string key = hyperName(group, which);
  if (!state.contains(key))
    throw Error(fmt::format("{}: no hyper-parameter '{}' for group '{}' (this "
                            "optimizer keeps: {})",
                            methodName(method_), which, group,
                            fmt::join(hypersOf(method_, findGroupByName(
                                                            groups_, group)),
                                      ", ")));
  return static_cast<float>(state.at(key).item());
}

void Optimizer::setHyper(Params &state, const std::string &group,
                         const std::string &which, float value) const {
  hyper(state, group, which); // reports unknown names
  if (std::string problem = hyperProblem(which, value); !problem.empty())
    throw Error(fmt::format("{}: group '{}': {} {}, got {}",
                            methodName(method_), group, which, problem, value));
  *state.at(hyperName(group, which)).data<float>() = value;
}

void Optimizer::reinitSubgradients(const Params &params, Params &state,
                                   const std::string &group) const {
  if (!isBregman(method_))
    return;
  // Only the group's parameters: the other groups' v carry their
  // accumulated subgradients.
  Params reset;
  for (const auto &[name, theta] : params)
    if (group.empty() || groupOf(name).name == group)
      reset.add(name, theta);
  for (const auto &[name, tensor] : subgradientInit(reset, state))
    state.set("v/" + name, tensor);
}

bool LambdaSchedule::update(const Optimizer &opt, int epoch, double density,
                            const Params &params, Params &state) const {
  if (epoch < warmup || cooldown < 1 || (epoch - warmup) % cooldown != 0 ||
      increment <= 0)
    return false;
  float lambda = opt.hyper(state, group, "lambda");
  float next = density > targetDensity ? lambda + increment
                                       : std::max(lambda - increment, 0.0f);
  if (next == lambda)
    return false;
  opt.setHyper(state, group, "lambda", next);
  opt.reinitSubgradients(params, state, group);
  return true;
}

bool ReduceLROnPlateau::update(const Optimizer &opt, double loss,
                               Params &state) {
  if (!started || loss < best * (1.0 - threshold)) {
    best = loss;
    started = true;
    badEpochs = 0;
    return false;
  }
  if (++badEpochs <= patience)
    return false;
  bool reduced = false;
  for (const Group &g : opt.groups()) {
    auto lr = static_cast<float>(opt.hyper(state, g.name, "lr") * factor);
    // After ~150 halvings a float's lr reaches 0, which setHyper refuses:
    // the rate then stays at its smallest, rather than ending the run.
    if (lr > 0) {
      opt.setHyper(state, g.name, "lr", lr);
      reduced = true;
    }
  }
  badEpochs = 0;
  return reduced;
}

} // namespace optim
} // namespace bregman
