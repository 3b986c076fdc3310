//===- metrics.h - Sparsity metrics, counted on the host -------*- C++ -*-===//
//
// The densities of ALGORITHMS.md §6 and the regulariser value per parameter
// group, counted on the host in float64 (nothing is compiled for them).
// And the image metric SSIM, traced like any operation (for restoration
// tasks: the skip-encoder of NAS.md §2).
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
  /// Rows of a 2-D (linear) weight, heads of a 3-D attention projection
  /// [heads, d, E] or k×k kernels of a 4-D (conv) weight.
  int64_t groups = 0, liveGroups = 0;
};

/// The heads of one attention layer (its 3-D projections "<layer>.<p>.weight"):
/// a head is active while its slice of any of them is non-zero.
struct LayerHeads {
  std::string layer;
  int64_t active = 0, total = 0;
};

struct SparsityReport {
  std::vector<TensorSparsity> tensors;
  double netDensity = 0;    // nnz / numel over all weights
  double linearDensity = 0; // over 2-D weights
  double convDensity = 0;   // over 4-D weights
  std::vector<double> nodeDensity;   // per 2-D weight: live rows
  std::vector<double> kernelDensity; // per 4-D weight: live kernels
  std::vector<LayerHeads> heads;     // per attention layer, in name order
  /// J(θ) per optimizer group, with the group's current λ.
  std::map<std::string, double> regularizerValue;
};

/// Measures sparsity by one pass over each parameter's values on the host.
/// (It was a compiled function, 10–15 s of compiling for EfficientNet-B0 or
/// DenseNet-121, and always compiled for the CPU, so a device's parameters
/// were read back for it as they are now.) Parameters in device memory are
/// copied to the host once per `measure`: one copy of the weights, an
/// epoch's end cost.
class SparsityMeter {
public:
  /// With an optimizer, the regulariser value of each of its groups is
  /// measured too (λ is read from the state passed to `measure`).
  explicit SparsityMeter(const optim::Optimizer *optimizer = nullptr);
  /// Throws an Error naming the parameter when one is not f32/f64 or a
  /// group regulariser's parameter has not the rank of its groups.
  SparsityReport measure(const Params &params,
                         const Params &state = Params()) const;

private:
  const optim::Optimizer *optimizer_;
};

/// The structural similarity of Wang et al. (2004): a Gaussian window of
/// `window` taps with standard deviation `sigma` (normalized to sum 1), and
/// C1 = (k1·L)², C2 = (k2·L)² for the data range L. The defaults are the
/// paper's and NAS.md's (11, 1.5, 0.01, 0.03, L = 1 for images in [0, 1]).
struct SsimOptions {
  int64_t window = 11;
  double sigma = 1.5;
  double k1 = 0.01, k2 = 0.03;
  double dataRange = 1.0;
};

/// SSIM of each image of `x` against the same image of `y`, both [N, C, H, W]
/// with H, W ≥ window: local means, variances and the covariance are the
/// window-weighted moments (population, not sample, covariance), the SSIM map
/// is evaluated where the window fits inside the image (no padding) and
/// averaged over those positions and the channels. Returns [N]. This is
/// scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False), whose mean also leaves out the border.
/// Called inside a traced function (jit); throws an Error naming the shapes
/// when they differ or the images are smaller than the window.
Tensor ssim(const Tensor &x, const Tensor &y, const SsimOptions &options = {},
            SourceLocation loc = SourceLocation::current());

} // namespace bregman

#endif // BREGMAN_METRICS_H
