//===- nn.h - Layers and the sparse initialisation --------------*- C++ -*-===//
//
// Layers are stateless descriptions: `init` makes their Params (concrete,
// seeded), `operator()` applies them to Params and an input inside a traced
// function. Weights follow PyTorch's layout (out, in), so the rows of a
// weight are the incoming weights of one neuron (node sparsity = zero rows).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_NN_H
#define BREGMAN_NN_H

#include "bregman/Params.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace bregman::nn {

/// The sparse initialisation of ALGORITHMS.md §4: a weight is non-zero with
/// probability p and then drawn from N(0, (r·√(2/fan_in))²); biases are
/// uniform(0, r0/√fan_in). p = 1 and r = 1 give dense Kaiming init.
struct SparseInit {
  double p = 0.01;
  double r = 7.0; // 0.7/√p in the reference experiments
  double biasScale = 1.0; // r0
  /// The group variant: ⌈rows·p⌉ rows chosen at random are non-zero (dense),
  /// the others zero — the initialisation for row-group regularisers.
  bool perRow = false;
};

/// Random source for initialisation (seeded: runs are reproducible).
using Rng = std::mt19937_64;

/// y = x·Wᵀ + b with W of shape (out, in).
class Linear {
public:
  Linear(int64_t in, int64_t out, std::string name)
      : in(in), out(out), name(std::move(name)) {}
  /// Adds "<name>.weight" and "<name>.bias" to `params`.
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x) const;

  int64_t in, out;
  std::string name;
};

/// Fully connected layers with ReLU between them (not after the last: the
/// logits stay unconstrained). Layer i is named "fc<i+1>".
class MLP {
public:
  explicit MLP(std::vector<int64_t> sizes);
  Params init(uint64_t seed, const SparseInit &config = {}) const;
  Tensor operator()(const Params &params, const Tensor &x) const;
  const std::vector<Linear> &layers() const { return layers_; }

private:
  std::vector<Linear> layers_;
};

} // namespace bregman::nn

#endif // BREGMAN_NN_H
