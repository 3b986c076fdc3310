//===- prune.cpp - The paper's sparsity baselines -------------------------===//

#include "bregman/prune.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace bregman {

/// Elements per group of a weight: a row (2-D), a k×k kernel (4-D), else 1.
static int64_t groupSize(const Tensor &t) {
  if (t.rank() == 2)
    return t.dim(1);
  if (t.rank() == 4)
    return t.dim(2) * t.dim(3);
  return 1;
}

Params magnitudePruneMasks(const Params &params, double density,
                           PruneStructure structure) {
  if (!(density > 0 && density <= 1))
    throw Error(fmt::format("prune: density {} is not in (0, 1]", density));
  // One score per unit (element or group), with the unit's element count.
  struct Unit {
    float score;
    int64_t elements;
  };
  std::vector<Unit> units;
  int64_t total = 0;
  for (const auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    const float *p = t.data<float>();
    int64_t n = structure == PruneStructure::Groups ? groupSize(t) : 1;
    for (int64_t g = 0; g < t.numel() / n; ++g) {
      double sq = 0;
      for (int64_t i = 0; i < n; ++i)
        sq += double(p[g * n + i]) * p[g * n + i];
      units.push_back({static_cast<float>(std::sqrt(sq / n)), n});
    }
    total += t.numel();
  }
  if (total == 0)
    throw Error("prune: the parameters have no '.weight' tensors");
  // Keep the highest scores until the element budget is reached.
  std::vector<float> scores;
  // A NaN score ranks last (and keeps the comparison below an ordering).
  for (const Unit &u : units)
    scores.push_back(std::isnan(u.score) ? -std::numeric_limits<float>::infinity()
                                         : u.score);
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  // Ties in their original order (a stable sort, spelled as a total order:
  // libstdc++ 12's std::stable_sort warns under clang).
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  });
  std::vector<char> keep(units.size(), 0);
  int64_t budget = static_cast<int64_t>(std::llround(density * total)), kept = 0;
  for (size_t i : order) {
    if (kept + units[i].elements > budget || !(scores[i] > 0))
      break;
    keep[i] = 1;
    kept += units[i].elements;
  }
  Params masks;
  size_t unit = 0;
  for (const auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    Tensor mask = Tensor::zeros(t.shape());
    float *m = mask.data<float>();
    int64_t n = structure == PruneStructure::Groups ? groupSize(t) : 1;
    for (int64_t g = 0; g < t.numel() / n; ++g, ++unit)
      if (keep[unit])
        std::fill(m + g * n, m + (g + 1) * n, 1.0f);
    masks.add(name, mask);
  }
  return masks;
}

void applyMasks(Params &params, const Params &masks) {
  for (const auto &[name, mask] : masks) {
    Tensor &t = params.at(name);
    if (t.shape() != mask.shape())
      throw Error(fmt::format("prune: mask of '{}' is {} but the tensor is {}",
                              name, shapeString(mask.shape()),
                              shapeString(t.shape())));
    float *p = t.data<float>();
    const float *m = mask.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] *= m[i];
  }
}

int64_t thresholdWeights(Params &params, double threshold) {
  int64_t zeroed = 0;
  for (auto &[name, t] : params) {
    if (!isWeightName(name))
      continue;
    float *p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (p[i] != 0 && std::fabs(p[i]) < threshold) {
        p[i] = 0;
        ++zeroed;
      }
  }
  return zeroed;
}

} // namespace bregman
