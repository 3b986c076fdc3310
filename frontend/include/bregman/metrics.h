//===- metrics.h - Sparsity metrics, computed where parameters live -*- C++ -*-===//
//
// The densities of ALGORITHMS.md §6 and the regulariser value per parameter
// group, computed by one compiled function over the parameters: only a few
// counts per tensor come back to the host, never the tensors themselves.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_METRICS_H
#define BREGMAN_METRICS_H

#include "bregman/Jit.h"
#include "bregman/optim.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bregman {

/// Counts for one weight tensor (names ending in ".weight").
struct TensorSparsity {
  std::string name;
  int64_t numel = 0, nonZero = 0;
  /// Rows of a 2-D (linear) weight or k×k kernels of a 4-D (conv) weight.
  int64_t groups = 0, liveGroups = 0;
};

struct SparsityReport {
  std::vector<TensorSparsity> tensors;
  double netDensity = 0;    // nnz / numel over all weights
  double linearDensity = 0; // over 2-D weights
  double convDensity = 0;   // over 4-D weights
  std::vector<double> nodeDensity;   // per 2-D weight: live rows
  std::vector<double> kernelDensity; // per 4-D weight: live kernels
  /// J(θ) per optimizer group, with the group's current λ.
  std::map<std::string, double> regularizerValue;
};

/// Measures sparsity with a compiled function (recompiled only when the
/// parameters' shapes change).
class SparsityMeter {
public:
  /// With an optimizer, the regulariser value of each of its groups is
  /// measured too (λ is read from the state passed to `measure`).
  explicit SparsityMeter(const optim::Optimizer *optimizer = nullptr);
  SparsityReport measure(const Params &params,
                         const Params &state = Params()) const;

private:
  const optim::Optimizer *optimizer_;
  using Fn = std::function<Params(const Params &, const Params &)>;
  std::shared_ptr<Jitted<Fn>> fn_;
};

} // namespace bregman

#endif // BREGMAN_METRICS_H
