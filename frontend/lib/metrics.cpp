//===- metrics.cpp - Sparsity metrics, counted on the host -----------------===//

#include "bregman/metrics.h"

#include "Groups.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

namespace bregman {

namespace {

/// What one pass over a tensor's values gives, accumulated in float64.
struct ValueSums {
  int64_t nonZero = 0;
  double absSum = 0;
  /// Per group (GroupShape): whether any element is non-zero
  /// (NaN and ±∞ count as non-zero, −0 as zero) and the Euclidean norm.
  std::vector<bool> groupLive;
  std::vector<double> groupNorm;
};

template <typename T>
ValueSums sumValues(const T *v, int64_t numel, GroupShape groups) {
  ValueSums s;
  s.groupLive.assign(size_t(groups.count), false);
  s.groupNorm.assign(size_t(groups.count), 0.0);
  for (int64_t i = 0; i < numel; ++i) {
    double x = double(v[i]);
    bool nonZero = !(x == 0.0);
    s.nonZero += nonZero;
    s.absSum += std::abs(x);
    if (groups.size) {
      size_t g = size_t(i / groups.size);
      s.groupLive[g] = s.groupLive[g] || nonZero;
      s.groupNorm[g] += x * x;
    }
  }
  for (double &n : s.groupNorm)
    n = std::sqrt(n);
  return s;
}

} // namespace

/// The sums of `t`'s host values (a device tensor's are copied back first).
static ValueSums sumValues(const std::string &name, const Tensor &t,
                           GroupShape groups) {
  if (t.dtype() == DType::F32)
    return sumValues(t.data<float>(), t.numel(), groups);
  if (t.dtype() == DType::F64)
    return sumValues(t.data<double>(), t.numel(), groups);
  throw Error(fmt::format("sparsity meter: parameter '{}' is {}{}; "
                          "parameters are f32 or f64",
                          name, dtypeName(t.dtype()), shapeString(t.shape())));
}

/// The sums of every parameter the meter reads, one pass over each: the
/// weights (densities) and, with an optimizer, every regularized one (J).
using SumsByName = std::map<std::string, ValueSums>;

/// J(θ) of ALGORITHMS.md §3 with strengths λ (and λ₂ for l1_l1_l2), in
/// float64 from θ's sums: λ‖θ‖₁ and/or λ·√n·Σᵢ‖θᵢ‖₂ over the groups θᵢ of n
/// elements (the rank's groups, Groups.h).
static double regularizerValue(Regularizer reg, const std::string &group,
                               const std::string &name, const Shape &shape,
                               const ValueSums &s, double lambda,
                               double lambda2) {
  if (reg == Regularizer::None)
    return 0.0;
  checkRegularizerFits(
      fmt::format("sparsity meter ('{}' in group '{}')", name, group).c_str(),
      reg, shape);
  double groupNorms = 0;
  for (double norm : s.groupNorm)
    groupNorms += norm;
  groupNorms *= std::sqrt(double(groupShape(shape).size));
  switch (reg) {
  case Regularizer::None:
    return 0.0;
  case Regularizer::L1:
  case Regularizer::L1Pos:
    return lambda * s.absSum;
  case Regularizer::L1L2:
  case Regularizer::L1L2Conv:
  case Regularizer::L1L2Heads:
    return lambda * groupNorms;
  case Regularizer::L1L1L2:
    return lambda * s.absSum + lambda2 * groupNorms;
  }
  return 0.0;
}

SparsityMeter::SparsityMeter(const optim::Optimizer *optimizer)
    : optimizer_(optimizer) {}

/// The heads of each attention layer from the per-head liveness of its
/// projections "<layer>.<projection>.weight": active where any is live.
static std::vector<LayerHeads>
layerHeads(const std::map<std::string, std::vector<bool>> &projectionHeads) {
  std::map<std::string, std::vector<bool>> live;
  for (const auto &[name, projection] : projectionHeads) {
    size_t weightDot = name.rfind('.'), projectionDot =
        weightDot == 0 ? std::string::npos : name.rfind('.', weightDot - 1);
    std::string layer =
        projectionDot == std::string::npos ? name : name.substr(0, projectionDot);
    std::vector<bool> &heads = live[layer];
    heads.resize(std::max(heads.size(), projection.size()), false);
    for (size_t h = 0; h < projection.size(); ++h)
      heads[h] = heads[h] || projection[h];
  }
  std::vector<LayerHeads> result;
  for (const auto &[layer, heads] : live)
    result.push_back({layer, std::count(heads.begin(), heads.end(), true),
                      static_cast<int64_t>(heads.size())});
  return result;
}

/// J per optimizer group, λ (and λ₂) from the state when it keeps them,
/// else the group's.
static std::map<std::string, double>
regularizerValues(const optim::Optimizer &optimizer, const Params &params,
                  const Params &state, const SumsByName &sums) {
  std::map<std::string, double> values;
  for (const optim::Group &g : optimizer.groups()) {
    auto current = [&](const char *which, float fallback) {
      return double(state.contains("hyper/" + g.name + "/" + which)
                        ? optimizer.hyper(state, g.name, which)
                        : fallback);
    };
    double lambda = current("lambda", g.lambda),
           lambda2 = current("lambda2", g.lambda2), value = 0;
    for (const auto &[name, t] : params)
      if (g.regularizer != Regularizer::None &&
          optimizer.groupOf(name).name == g.name)
        value += regularizerValue(g.regularizer, g.name, name, t.shape(),
                                  sums.at(name), lambda, lambda2);
    values[g.name] = value;
  }
  return values;
}

SparsityReport SparsityMeter::measure(const Params &params,
                                      const Params &state) const {
  SparsityReport r;
  int64_t nnz = 0, total = 0, linNnz = 0, linTotal = 0, convNnz = 0,
          convTotal = 0;
  SumsByName sumsByName;
  for (const auto &[name, t] : params)
    if (isWeightName(name) ||
        (optimizer_ &&
         optimizer_->groupOf(name).regularizer != Regularizer::None))
      sumsByName.emplace(name, sumValues(name, t, groupShape(t.shape())));
  std::map<std::string, std::vector<bool>> projectionHeads;
  for (const auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    const ValueSums &sums = sumsByName.at(name);
    TensorSparsity s;
    s.name = name;
    s.numel = t.numel();
    s.nonZero = sums.nonZero;
    s.groups = int64_t(sums.groupLive.size());
    s.liveGroups = std::count(sums.groupLive.begin(), sums.groupLive.end(), true);
    if (t.rank() == 3) // per head: which heads, not only how many
      projectionHeads[name] = sums.groupLive;
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
  r.heads = layerHeads(projectionHeads);
  auto ratio = [](int64_t a, int64_t b) { return b ? double(a) / b : 0.0; };
  r.netDensity = ratio(nnz, total);
  r.linearDensity = ratio(linNnz, linTotal);
  r.convDensity = ratio(convNnz, convTotal);
  if (optimizer_)
    r.regularizerValue =
        regularizerValues(*optimizer_, params, state, sumsByName);
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
