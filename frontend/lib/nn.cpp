//===- nn.cpp - Layers and the sparse initialisation ----------------------===//

#include "bregman/nn.h"

#include <cmath>
#include <fmt/format.h>

namespace bregman::nn {

void Linear::init(Params &params, Rng &rng, const SparseInit &config) const {
  if (config.p <= 0.0 || config.p > 1.0)
    throw Error(fmt::format("{}: sparse init probability p = {} is not in (0, 1]",
                            name, config.p));
  Tensor weight = Tensor::zeros({out, in});
  Tensor bias = Tensor::zeros({out});
  double stddev = config.r * std::sqrt(2.0 / static_cast<double>(in));
  std::normal_distribution<double> normal(0.0, stddev);
  std::bernoulli_distribution keep(config.p);
  float *w = weight.data<float>();
  if (config.perRow) {
    // ⌈out·p⌉ rows, chosen uniformly without replacement, are kept.
    std::vector<int64_t> rows(out);
    for (int64_t i = 0; i < out; ++i)
      rows[i] = i;
    int64_t kept = static_cast<int64_t>(std::ceil(out * config.p - 1e-9));
    for (int64_t i = 0; i < kept; ++i) {
      std::uniform_int_distribution<int64_t> pick(i, out - 1);
      std::swap(rows[i], rows[pick(rng)]);
    }
    for (int64_t i = 0; i < kept; ++i)
      for (int64_t j = 0; j < in; ++j)
        w[rows[i] * in + j] = static_cast<float>(normal(rng));
  } else {
    for (int64_t i = 0; i < out * in; ++i) {
      // Draw both always, so that the random stream does not depend on p.
      double value = normal(rng);
      w[i] = keep(rng) ? static_cast<float>(value) : 0.0f;
    }
  }
  std::uniform_real_distribution<double> uniform(
      0.0, config.biasScale / std::sqrt(static_cast<double>(in)));
  float *bp = bias.data<float>();
  for (int64_t i = 0; i < out; ++i)
    bp[i] = static_cast<float>(uniform(rng));
  params.add(name + ".weight", weight);
  params.add(name + ".bias", bias);
}

Tensor Linear::operator()(const Params &params, const Tensor &x) const {
  const Tensor &w = params.at(name + ".weight");
  const Tensor &b = params.at(name + ".bias");
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(fmt::format("{}: expects input [N, {}], got {}", name, in,
                            shapeString(x.shape())));
  return matmul(x, w, false, true) + b;
}

MLP::MLP(std::vector<int64_t> sizes) {
  if (sizes.size() < 2)
    throw Error("MLP: needs at least an input and an output size");
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers_.emplace_back(sizes[i], sizes[i + 1], fmt::format("fc{}", i + 1));
}

Params MLP::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  for (const Linear &layer : layers_)
    layer.init(params, rng, config);
  return params;
}

Tensor MLP::operator()(const Params &params, const Tensor &x) const {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i](params, h);
    if (i + 1 < layers_.size())
      h = relu(h);
  }
  return h;
}

} // namespace bregman::nn
