//===- prune.h - The paper's sparsity baselines -----------------*- C++ -*-===//
//
// Magnitude pruning (unstructured, or structured by rows / conv kernels) at
// a target density, to be followed by retraining of the survivors with the
// mask held fixed; and thresholding of small weights after Lasso-style
// training. These run once, on concrete parameters, not in the step.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_PRUNE_H
#define BREGMAN_PRUNE_H

#include "bregman/Params.h"

#include <string>

namespace bregman {

enum class PruneStructure { Unstructured, Groups };

/// 0/1 masks (named like the weights) keeping the largest-magnitude weights
/// so that a fraction `density` of all ".weight" elements survives. With
/// `Groups`, whole rows (2-D) or k×k kernels (4-D) are kept or removed by
/// their l2 norm per element (‖θ_g‖/√n), globally across layers.
Params magnitudePruneMasks(const Params &params, double density,
                           PruneStructure structure);

/// θ ← θ·mask for every mask, in place.
void applyMasks(Params &params, const Params &masks);

/// Sets every ".weight" element with |θ| < `threshold` to zero, in place;
/// returns how many were zeroed.
int64_t thresholdWeights(Params &params, double threshold);

} // namespace bregman

#endif // BREGMAN_PRUNE_H
