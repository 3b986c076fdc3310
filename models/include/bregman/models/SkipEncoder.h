//===- SkipEncoder.h - The fully skip-connected denoiser --------*- C++ -*-===//
//
// Part of the model zoo: the network of NAS.md §2, in which every state can
// reach every later one through a learnable scalar skip weight; with row
// groups on its linear weights, training grows an autoencoder shape.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_SKIPENCODER_H
#define BREGMAN_MODELS_SKIPENCODER_H

#include "bregman/nn.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// s₀ = (x − mean)/std for x [N, features] in [0, 1]; block i = 0..blocks−1:
/// s_{i+1} = ReLU(W_i s_i + b_i) + Σ_{j ≤ i} σ_ij s_j with W_i features ×
/// features; the output is s_blocks (no activation), an image again.
/// Parameters "block<i>.weight", "block<i>.bias" and "block<i>.skip" (the
/// i+1 scalars σ_i·, initialized to 0: the regulariser's l1 group).
class SkipEncoder : public nn::Model {
public:
  explicit SkipEncoder(int64_t features = 784, int64_t blocks = 6,
                       double mean = 0.0, double std = 1.0);
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;

  /// Non-zero rows (active neurons) of each block's weight, read on the host.
  std::vector<int64_t> activeNeurons(const Params &params) const;
  /// The skip weights σ_ij of every block (row i has i+1 entries).
  std::vector<std::vector<float>> skips(const Params &params) const;

private:
  int64_t features;
  double mean, std;
  std::vector<nn::Linear> blocks;
};

/// "s0→s3 0.412, s2→s5 -0.031" for the non-zero skips (block i's σ_ij
/// connects s_j to s_{i+1}); "none" when all are zero.
std::string formatSkips(const std::vector<std::vector<float>> &skips);

} // namespace bregman::models

#endif // BREGMAN_MODELS_SKIPENCODER_H
