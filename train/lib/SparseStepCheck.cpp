//===- SparseStepCheck.cpp - The step on CSR against the dense step -------===//

#include "SparseStepCheck.h"

#include "bregman/Error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace bregman::train {

namespace {

double relativeDifference(const Tensor &got, const Tensor &want) {
  const float *a = got.data<float>(), *b = want.data<float>();
  double scale = 0, difference = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      // NaN against NaN, or the same infinity, agree; anything else not.
      bool same = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
      if (!same)
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

void SparseStepCheck::record(int64_t step, const StepResult &sparse,
                             const StepResult &dense,
                             const std::string &sparseLayers) {
  // A dense step that diverged (its loss not finite) has nothing to say
  // about the step on CSR: the run's non-finite check reports it.
  if (!std::isfinite(dense.loss))
    return;
  StepDifference larger;
  for (const auto &[got, want] : {std::pair(&sparse.params, &dense.params),
                                  std::pair(&sparse.state, &dense.state),
                                  std::pair(&sparse.buffers, &dense.buffers)})
    if (StepDifference d = largestDifference(*got, *want);
        d.relative > larger.relative || larger.tensor.empty())
      larger = d;
  double loss = std::abs(sparse.loss - dense.loss) /
                std::max(std::abs(dense.loss), 1e-30);
  if (!std::isfinite(sparse.loss))
    loss = std::numeric_limits<double>::infinity();
  ++steps;
  if (larger.relative > kLimit || loss > kLimit)
    throw Error(fmt::format(
        "--check-sparse: training step {} on CSR ({}) differs from the dense "
        "step from the same state: {} by {:.3g} of its largest magnitude, the "
        "loss ({} against {}) by {:.3g}; the limit is {:g} (float32 rounding "
        "gives 1e-7 to about 2e-3)",
        step, sparseLayers, larger.tensor, larger.relative, sparse.loss,
        dense.loss, loss, kLimit));
  if (larger.relative >= worst.relative) {
    worst = larger;
    worstStep = step;
  }
  worstLoss = std::max(worstLoss, loss);
}

std::string SparseStepCheck::summary() {
  if (steps == 0)
    return "";
  std::string text = fmt::format(
      "--check-sparse: {} training steps on CSR equal the dense steps from "
      "the same states: largest difference {:.2g} of a tensor's magnitude "
      "('{}', step {}), losses within {:.2g}",
      steps, worst.relative, worst.tensor, worstStep, worstLoss);
  *this = SparseStepCheck();
  return text;
}

} // namespace bregman::train
