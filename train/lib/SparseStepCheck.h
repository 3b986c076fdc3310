//===- SparseStepCheck.h - The step on CSR against the dense step -*- C++ -*-===//
//
// --check-sparse: every training step whose layers run on CSR also runs
// densely from the same state, and the two results are compared. A step on
// CSR sums in another order than the dense libraries, so the two agree to
// float32 rounding: about 1e-6 of a tensor's magnitude in the ConvNet, up to
// 1e-5 where a gradient sum cancels, and up to about 2e-3 in the DenseNet
// late in training, in AdaBreg's first moments (read as small, cancelling
// gradient sums over 128 × 784 pixels and ReLU decisions at rounding distance
// from zero), while a wrong loop or index differs by its order of magnitude.
// The decision is taken per group of tensors (the parameters, each kind of
// optimizer state, the buffers) by the relative L2 difference, which a
// wrong gradient moves and one tiny cancelling bias sum does not (its own
// max-relative difference reached 4e-2 in the DenseNet); limit 1e-2. Across many steps the trajectories may still part (rounding
// grows through ReLU masks and pooling choices): this check compares each
// step from the same state, so it tells a wrong step from a sensitive run.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_LIB_SPARSESTEPCHECK_H
#define BREGMAN_TRAIN_LIB_SPARSESTEPCHECK_H

#include "bregman/Params.h"

#include <cstdint>
#include <string>

namespace bregman::train {

/// The tensor of `want` whose f32 values differ most from `got`'s, as
/// max |got − want| / max |want| over the finite elements (infinite where
/// the two differ at a non-finite one; NaN against NaN counts as equal).
struct StepDifference {
  std::string tensor;
  double relative = 0;
};
StepDifference largestDifference(const Params &got, const Params &want);

/// One step's results: the loss, the parameters, the optimizer state and
/// the buffers (batch norm's running statistics).
struct StepResult {
  double loss;
  const Params &params, &state, &buffers;
};

class SparseStepCheck {
public:
  /// A group's relative L2 difference above this stops the run.
  static constexpr double kLimit = 1e-2;

  /// Compares training step `step` (as the run numbers them: from 1, or
  /// after a resume from 1 again) on CSR with the dense step from the same
  /// state; throws bregman::Error naming the step, the group, the tensor that
  /// differs most and the layers on CSR when a group (or the loss) differs
  /// by more than kLimit.
  /// A dense step whose loss is not finite (a diverging run) is not compared.
  void record(int64_t step, const StepResult &sparse, const StepResult &dense,
              const std::string &sparseLayers);
  /// "N training steps on CSR checked ...", or "" when none was; then
  /// starts over (one summary per epoch).
  std::string summary();

private:
  int64_t steps = 0;
  int64_t worstStep = 0, worstGroupStep = 0;
  StepDifference worst, worstGroup; // a single tensor; a group of them
  double worstLoss = 0;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_SPARSESTEPCHECK_H
