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
  /// The same for convolutions: ⌈kernels·p⌉ of the k×k kernels are non-zero
  /// (the initialisation for l1_l2_conv); otherwise each weight on its own.
  bool perKernel = true;
};

/// Random source for initialisation (seeded: runs are reproducible).
using Rng = std::mt19937_64;

/// Throws an Error naming `name` unless 0 < p ≤ 1.
void checkSparseInit(const std::string &name, const SparseInit &config);
/// A weight of `shape` drawn as ALGORITHMS.md §4 says, for a layer with
/// `fanIn` inputs: with `perGroup`, ⌈groups·p⌉ of its groups of `groupSize`
/// consecutive elements (rows, kernels) are dense and the rest zero; else
/// each element is kept with probability p.
Tensor sparseWeight(const Shape &shape, int64_t fanIn, int64_t groupSize,
                    bool perGroup, Rng &rng, const SparseInit &config);
/// A bias uniform in [0, r0/√fanIn).
Tensor uniformBias(int64_t size, int64_t fanIn, Rng &rng, const SparseInit &config);

/// y = x·Wᵀ + b with W of shape (out, in).
class Linear {
public:
  Linear(int64_t in, int64_t out, std::string name)
      : in(in), out(out), name(std::move(name)) {}
  /// Adds "<name>.weight" and "<name>.bias" to `params`.
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const;

  int64_t in, out;
  std::string name;
};

/// y = conv2d(x, W) + b with W of shape (out, in/groups, kh, kw) (PyTorch's
/// layout: a kernel W[o, i] is the k×k filter from input channel i to output
/// channel o, the group of l1_l2_conv and of kernel density).
class Conv2d {
public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, std::string name,
         Conv2dOptions options = {}, bool bias = true)
      : in(in), out(out), kernel(kernel), name(std::move(name)),
        options(options), bias(bias) {}
  /// Adds "<name>.weight" and "<name>.bias" to `params`; fan_in is
  /// in/groups·k·k.
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const;

  int64_t in, out, kernel;
  std::string name;
  Conv2dOptions options;
  bool bias; // "<name>.bias"; convolutions before batch norm have none
};

/// How a forward pass runs. Training: batch normalization uses the batch's
/// statistics and writes the updated running statistics into `updated`.
/// Evaluation: it uses the running statistics in `buffers`.
struct Mode {
  bool training = false;
  const Params *buffers = nullptr;
  Params *updated = nullptr;
};

/// A network: its parameters' initialisation and its forward pass on a batch
/// of flattened inputs [N, features] (images are reshaped inside).
class Model {
public:
  virtual ~Model() = default;
  virtual Params init(uint64_t seed, const SparseInit &config) const = 0;
  /// State that is not trained (running statistics of batch normalization):
  /// what a training step takes and returns besides the parameters.
  virtual Params initBuffers() const { return {}; }
  virtual Tensor forward(const Params &params, const Tensor &x,
                         const Mode &mode) const = 0;
  /// Evaluation without buffers (models without batch normalization).
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const {
    CallSite site(loc);
    return forward(params, x, Mode{});
  }
  /// E.g. "mlp 784-200-80-10".
  virtual std::string describe() const = 0;
};

/// Batch normalization over (N, H, W) per channel, with a learned scale and
/// shift ("<name>.scale", "<name>.shift": unregularized, outside the weight
/// densities) and running statistics ("<name>.running_mean", "_var"; the
/// variance unbiased) updated with `momentum` as PyTorch does.
class BatchNorm2d {
public:
  BatchNorm2d(int64_t channels, std::string name, double momentum = 0.1,
              double eps = 1e-5)
      : channels(channels), name(std::move(name)), momentum(momentum),
        eps(eps) {}
  void init(Params &params) const;
  void initBuffers(Params &buffers) const;
  Tensor operator()(const Params &params, const Tensor &x, const Mode &mode,
                    SourceLocation loc = SourceLocation::current()) const;

  int64_t channels;
  std::string name;
  double momentum, eps;
};

} // namespace bregman::nn

#endif // BREGMAN_NN_H
