//===- Baselines.cpp - Pruning and thresholding baselines -----------------===//

#include "Baselines.h"

#include "ParamsUtil.h"
#include "bregman/prune.h"

namespace bregman::train {

bool prunesBefore(const TrainConfig &config, int epoch) {
  return config.pruneDensity > 0 && epoch == config.epochs + 1;
}

Params pruneForRetraining(const TrainConfig &config, Params &params) {
  Params masks = magnitudePruneMasks(params, config.pruneDensity,
                                     config.pruneGroups
                                         ? PruneStructure::Groups
                                         : PruneStructure::Unstructured);
  applyMasks(params, masks);
  return masks;
}

Thresholded thresholdBest(const TrainConfig &config, const Params &best) {
  // Lasso / LinBreg + thresholding: zero the best model's small weights.
  Thresholded result{best.copy()};
  result.zeroed = thresholdWeights(result.params, config.threshold);
  return result;
}

} // namespace bregman::train
