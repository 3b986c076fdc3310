//===- metrics.cpp - Sparsity metrics, computed where parameters live -----===//

#include "bregman/metrics.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

namespace bregman {

/// Axes whose elements form one group of a weight: a row (2-D), a head of
/// an attention projection (3-D) or a k×k kernel (4-D); empty otherwise.
static std::vector<int64_t> groupAxes(const Tensor &t) {
  if (t.rank() == 2)
    return {1};
  if (t.rank() == 3)
    return {1, 2};
  if (t.rank() == 4)
    return {2, 3};
  return {};
}

/// J(θ) of ALGORITHMS.md §3 with strengths λ (and λ₂ for l1_l1_l2).
static Tensor regularizerValue(Regularizer reg, const Tensor &theta,
                               const Tensor &lambda, const Tensor &lambda2) {
  auto groupNorms = [&](std::vector<int64_t> axes) {
    int64_t n = 1;
    for (int64_t a : axes)
      n *= theta.dim(a);
    return sum(sqrt(sum(theta * theta, axes))) * std::sqrt(double(n));
  };
  switch (reg) {
  case Regularizer::None:
    return full({}, 0.0);
  case Regularizer::L1:
  case Regularizer::L1Pos:
    return lambda * sum(abs(theta));
  case Regularizer::L1L2:
    return lambda * groupNorms({1});
  case Regularizer::L1L2Conv:
    return lambda * groupNorms({2, 3});
  case Regularizer::L1L2Heads:
    return lambda * groupNorms({1, 2});
  case Regularizer::L1L1L2:
    return lambda * sum(abs(theta)) + lambda2 * groupNorms({1});
  }
  return full({}, 0.0);
}

SparsityMeter::SparsityMeter(const optim::Optimizer *optimizer)
    : optimizer_(optimizer) {
  Fn fn = [optimizer](const Params &params, const Params &lambdas) {
    Params out;
    Tensor zero = full({}, 0.0);
    for (const auto &[name, t] : params) {
      if (!isWeightName(name))
        continue;
      // Non-zeros = numel − #zeros; a group is live when its Σ|θ| > 0 (not
      // Σθ², which underflows for tiny weights the element count sees).
      out.add("nnz/" + name,
              full({}, double(t.numel())) - sum(equal(t, zero)));
      std::vector<int64_t> axes = groupAxes(t);
      if (!axes.empty()) {
        Tensor mass = sum(abs(t), axes);
        out.add("live/" + name,
                full({}, double(mass.numel())) - sum(equal(mass, zero)));
        if (t.rank() == 3) // per head: which heads, not only how many
          out.add("heads/" + name, mass);
      }
    }
    if (optimizer)
      for (const optim::Group &g : optimizer->groups()) {
        Tensor value = zero;
        for (const auto &[name, t] : params)
          if (optimizer->groupOf(name).name == g.name)
            value = value + regularizerValue(g.regularizer, t,
                                             lambdas.at(g.name),
                                             lambdas.at(g.name + "/2"));
        out.add("J/" + g.name, value);
      }
    return out;
  };
  fn_ = std::make_shared<Jitted<Fn>>(jit(fn, JitOptions{{}, "sparsity"}));
}

/// The heads of each attention layer from the per-head masses
/// "heads/<layer>.<projection>.weight": active where any projection's is > 0.
static std::vector<LayerHeads> layerHeads(const Params &params,
                                          const Params &counts) {
  std::map<std::string, std::vector<bool>> live;
  for (const auto &[name, t] : params) {
    if (!counts.contains("heads/" + name))
      continue;
    size_t weightDot = name.rfind('.'), projectionDot =
        weightDot == 0 ? std::string::npos : name.rfind('.', weightDot - 1);
    std::string layer =
        projectionDot == std::string::npos ? name : name.substr(0, projectionDot);
    std::vector<float> mass = counts.at("heads/" + name).toVector<float>();
    std::vector<bool> &heads = live[layer];
    heads.resize(std::max(heads.size(), mass.size()), false);
    for (size_t h = 0; h < mass.size(); ++h)
      heads[h] = heads[h] || mass[h] > 0.0f;
  }
  std::vector<LayerHeads> result;
  for (const auto &[layer, heads] : live)
    result.push_back({layer, std::count(heads.begin(), heads.end(), true),
                      static_cast<int64_t>(heads.size())});
  return result;
}

SparsityReport SparsityMeter::measure(const Params &params,
                                      const Params &state) const {
  Params lambdas;
  if (optimizer_)
    for (const optim::Group &g : optimizer_->groups()) {
      // λ (and λ₂) from the state when it keeps them, else the group's.
      auto current = [&](const char *which, float fallback) {
        return Tensor::scalar(
            state.contains("hyper/" + g.name + "/" + which)
                ? optimizer_->hyper(state, g.name, which)
                : fallback);
      };
      lambdas.add(g.name, current("lambda", g.lambda));
      lambdas.add(g.name + "/2", current("lambda2", g.lambda2));
    }
  Params counts = (*fn_)(params, lambdas);

  SparsityReport r;
  int64_t nnz = 0, total = 0, linNnz = 0, linTotal = 0, convNnz = 0,
          convTotal = 0;
  for (const auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    TensorSparsity s;
    s.name = name;
    s.numel = t.numel();
    s.nonZero = std::llround(counts.at("nnz/" + name).item());
    if (counts.contains("live/" + name)) {
      s.groups = t.rank() == 4 ? t.dim(0) * t.dim(1) : t.dim(0);
      s.liveGroups = std::llround(counts.at("live/" + name).item());
    }
    nnz += s.nonZero;
    total += s.numel;
    if (t.rank() == 2) {
      linNnz += s.nonZero;
      linTotal += s.numel;
      r.nodeDensity.push_back(double(s.liveGroups) / double(s.groups));
    } else if (t.rank() == 4) {
      convNnz += s.nonZero;
      convTotal += s.numel;
      r.kernelDensity.push_back(double(s.liveGroups) / double(s.groups));
    }
    r.tensors.push_back(s);
  }
  r.heads = layerHeads(params, counts);
  auto ratio = [](int64_t a, int64_t b) { return b ? double(a) / b : 0.0; };
  r.netDensity = ratio(nnz, total);
  r.linearDensity = ratio(linNnz, linTotal);
  r.convDensity = ratio(convNnz, convTotal);
  if (optimizer_)
    for (const optim::Group &g : optimizer_->groups())
      r.regularizerValue[g.name] = counts.at("J/" + g.name).item();
  return r;
}

//===----------------------------------------------------------------------===//
// SSIM
//===----------------------------------------------------------------------===//

/// The normalized Gaussian taps as a traced [1, 1, 1, taps] kernel (from
/// constants: nothing concrete is captured by the trace).
static Tensor gaussianRow(const SsimOptions &o) {
  std::vector<double> taps(static_cast<size_t>(o.window));
  double total = 0, centre = double(o.window - 1) / 2;
  for (int64_t i = 0; i < o.window; ++i) {
    double d = double(i) - centre;
    taps[i] = std::exp(-d * d / (2 * o.sigma * o.sigma));
    total += taps[i];
  }
  std::vector<Tensor> parts;
  for (double t : taps)
    parts.push_back(full({1, 1, 1, 1}, t / total));
  return concat(parts, 3);
}

static void checkSsimInputs(const Tensor &x, const Tensor &y,
                            const SsimOptions &o) {
  if (o.window < 1 || o.window % 2 == 0 || !(o.sigma > 0) ||
      !(o.dataRange > 0))
    throw Error(fmt::format("ssim: the window must be odd and positive, sigma "
                            "and the data range positive (window {}, sigma "
                            "{}, data range {})",
                            o.window, o.sigma, o.dataRange));
  if (x.rank() != 4 || x.shape() != y.shape())
    throw Error(fmt::format("ssim: expected two images batches of the same "
                            "shape [N, C, H, W], got {} and {}",
                            shapeString(x.shape()), shapeString(y.shape())));
  if (x.dim(2) < o.window || x.dim(3) < o.window)
    throw Error(fmt::format("ssim: images of {}x{} are smaller than the {}x{} "
                            "window",
                            x.dim(2), x.dim(3), o.window, o.window));
}

Tensor ssim(const Tensor &x, const Tensor &y, const SsimOptions &o,
            SourceLocation loc) {
  CallSite site(loc);
  checkSsimInputs(x, y, o);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  Tensor row = gaussianRow(o);
  Tensor column = reshape(row, {1, 1, o.window, 1});
  // The window is separable: filter the rows, then the columns, each
  // channel on its own (channels folded into the batch).
  auto filter = [&](const Tensor &t) {
    return conv2d(conv2d(reshape(t, {n * c, 1, h, w}), row), column);
  };
  Tensor muX = filter(x), muY = filter(y);
  Tensor varX = filter(x * x) - muX * muX;
  Tensor varY = filter(y * y) - muY * muY;
  Tensor covXY = filter(x * y) - muX * muY;
  double c1 = (o.k1 * o.dataRange) * (o.k1 * o.dataRange);
  double c2 = (o.k2 * o.dataRange) * (o.k2 * o.dataRange);
  Tensor map = ((2.0 * muX * muY + c1) * (2.0 * covXY + c2)) /
               ((muX * muX + muY * muY + c1) * (varX + varY + c2));
  int64_t positions = c * (h - o.window + 1) * (w - o.window + 1);
  return mean(reshape(map, {n, positions}), {1});
}

} // namespace bregman
