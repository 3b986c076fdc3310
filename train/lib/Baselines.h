//===- Baselines.h - Pruning and thresholding baselines ---------*- C++ -*-===//
//
// The comparisons of ALGORITHMS.md §7: magnitude pruning with retraining of
// the survivors, and thresholding the best model's small weights.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_LIB_BASELINES_H
#define BREGMAN_TRAIN_LIB_BASELINES_H

#include "bregman/Params.h"
#include "bregman/train/Config.h"

#include <functional>

namespace bregman::train {

/// Whether the pruning baseline starts before `epoch`.
bool prunesBefore(const TrainConfig &config, int epoch);

/// Prunes `params` in place to config.pruneDensity (weights, or rows with
/// config.pruneGroups) and returns the masks that hold the pruned weights
/// at zero while the survivors are retrained.
Params pruneForRetraining(const TrainConfig &config, Params &params);

/// The thresholding baseline's result.
struct Thresholded {
  Params params; // the best model with its small weights zeroed
  int64_t zeroed = 0;
};

/// Zeroes the weights of a copy of `best` with |θ| < config.threshold.
Thresholded thresholdBest(const TrainConfig &config, const Params &best);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_BASELINES_H
