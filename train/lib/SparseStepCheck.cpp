//===- SparseStepCheck.cpp - The step on CSR against the dense step -------===//

#include "SparseStepCheck.h"

#include "bregman/Error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <map>

namespace bregman::train {

namespace {

/// Where one of two elements is not finite: NaN against NaN, or the same
/// infinity, agree; anything else does not.
bool sameNonFinite(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

double relativeDifference(const Tensor &got, const Tensor &want) {
  const float *a = got.data<float>(), *b = want.data<float>();
  double scale = 0, difference = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      if (!sameNonFinite(a[i], b[i]))
        return std::numeric_limits<double>::infinity();
      continue;
    }
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
    difference = std::max(difference, static_cast<double>(std::abs(a[i] - b[i])));
  }
  return difference == 0 ? 0 : difference / std::max(scale, 1e-30);
}

} // namespace

StepDifference largestDifference(const Params &got, const Params &want) {
  StepDifference worst;
  for (const auto &[name, t] : want) {
    if (t.dtype() != DType::F32)
      continue;
    if (!got.contains(name) || got.at(name).shape() != t.shape())
      throw Error(fmt::format("--check-sparse: the step on CSR returned no "
                              "tensor '{}' of shape {}",
                              name, shapeString(t.shape())));
    double relative = relativeDifference(got.at(name), t);
    if (relative > worst.relative || worst.tensor.empty())
      worst = {name, relative};
  }
  return worst;
}

namespace {

/// Relative L2 differences per group of tensors: the parameters, each kind of
/// optimizer state (the name's part before '/': v, m1, m2, ...) and the
/// buffers; infinite where the two differ at a non-finite element. A group's
/// norm is not moved by one small tensor whose cancelling sum rounds far
/// from its own tiny magnitude, but by any wrong gradient.
std::map<std::string, double> groupDifferences(const StepResult &got,
                                               const StepResult &want) {
  std::map<std::string, std::pair<double, double>> sums; // (|Δ|², |ref|²)
  auto add = [&](const Params &a, const Params &b, const std::string &fixed) {
    for (const auto &[name, t] : b) {
      if (t.dtype() != DType::F32)
        continue;
      std::string group = fixed.empty() ? name.substr(0, name.find('/')) : fixed;
      const float *x = a.at(name).data<float>(), *y = t.data<float>();
      auto &[difference, reference] = sums[group];
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
          if (!sameNonFinite(x[i], y[i]))
            difference = std::numeric_limits<double>::infinity();
          continue;
        }
        double d = static_cast<double>(x[i]) - y[i];
        difference += d * d;
        reference += static_cast<double>(y[i]) * y[i];
      }
    }
  };
  add(got.params, want.params, "parameters");
  add(got.state, want.state, "");
  add(got.buffers, want.buffers, "buffers");
  std::map<std::string, double> out;
  for (const auto &[group, s] : sums)
    out[group] = s.first == 0 ? 0 : std::sqrt(s.first / std::max(s.second, 1e-60));
  return out;
}

} // namespace

void SparseStepCheck::record(int64_t step, const StepResult &sparse,
                             const StepResult &dense,
                             const std::string &sparseLayers) {
  // A dense step that diverged (its loss not finite) has nothing to say
  // about the step on CSR: the run's non-finite check reports it.
  if (!std::isfinite(dense.loss))
    return;
  StepDifference tensor; // the single tensor that differs most (reported)
  for (const auto &[got, want] : {std::pair(&sparse.params, &dense.params),
                                  std::pair(&sparse.state, &dense.state),
                                  std::pair(&sparse.buffers, &dense.buffers)})
    if (StepDifference d = largestDifference(*got, *want);
        d.relative > tensor.relative || tensor.tensor.empty())
      tensor = d;
  StepDifference group; // the group that differs most (decides)
  for (const auto &[name, relative] : groupDifferences(sparse, dense))
    if (relative > group.relative || group.tensor.empty())
      group = {name, relative};
  double loss = std::abs(sparse.loss - dense.loss) /
                std::max(std::abs(dense.loss), 1e-30);
  if (!std::isfinite(sparse.loss))
    loss = std::numeric_limits<double>::infinity();
  ++steps;
  if (group.relative > kLimit || loss > kLimit)
    throw Error(fmt::format(
        "--check-sparse: training step {} on CSR ({}) differs from the dense "
        "step from the same state: {} by {:.3g} (relative L2 over the group; "
        "the tensor that differs most, '{}', by {:.3g} of its largest "
        "magnitude), the loss ({} against {}) by {:.3g}; the limit is {:g} "
        "(float32 rounding gives up to about 2e-3)",
        step, sparseLayers, group.tensor, group.relative, tensor.tensor,
        tensor.relative, sparse.loss, dense.loss, loss, kLimit));
  if (group.relative >= worstGroup.relative) {
    worstGroup = group;
    worstGroupStep = step;
  }
  if (tensor.relative >= worst.relative) {
    worst = tensor;
    worstStep = step;
  }
  worstLoss = std::max(worstLoss, loss);
}

std::string SparseStepCheck::summary() {
  if (steps == 0)
    return "";
  std::string text = fmt::format(
      "--check-sparse: {} training steps on CSR equal the dense steps from "
      "the same states: largest difference {:.2g} (relative L2, {}, step {}); "
      "of a single tensor {:.2g} of its magnitude ('{}', step {}); losses "
      "within {:.2g}",
      steps, worstGroup.relative, worstGroup.tensor, worstGroupStep,
      worst.relative, worst.tensor, worstStep, worstLoss);
  *this = SparseStepCheck();
  return text;
}

} // namespace bregman::train
