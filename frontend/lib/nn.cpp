//===- nn.cpp - Layers and the sparse initialisation ----------------------===//

#include "bregman/nn.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

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

/// Keeps ⌈n·p⌉ of `n` groups chosen uniformly without replacement; true at
/// the kept indices.
static std::vector<bool> chooseGroups(int64_t n, double p, Rng &rng) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  int64_t kept = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(n * p - 1e-9)));
  for (int64_t i = 0; i < kept; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(order[i], order[pick(rng)]);
  }
  std::vector<bool> keep(n, false);
  for (int64_t i = 0; i < kept; ++i)
    keep[order[i]] = true;
  return keep;
}

void Conv2d::init(Params &params, Rng &rng, const SparseInit &config) const {
  if (config.p <= 0.0 || config.p > 1.0)
    throw Error(fmt::format("{}: sparse init probability p = {} is not in (0, 1]",
                            name, config.p));
  int64_t perFilter = in / options.groups;
  int64_t fanIn = perFilter * kernel * kernel, area = kernel * kernel;
  Tensor weight = Tensor::zeros({out, perFilter, kernel, kernel});
  Tensor bias = Tensor::zeros({out});
  std::normal_distribution<double> normal(
      0.0, config.r * std::sqrt(2.0 / static_cast<double>(fanIn)));
  float *w = weight.data<float>();
  int64_t kernels = out * perFilter;
  if (config.perKernel) {
    std::vector<bool> keep = chooseGroups(kernels, config.p, rng);
    for (int64_t k = 0; k < kernels; ++k)
      for (int64_t j = 0; j < area; ++j) {
        double value = normal(rng);
        w[k * area + j] = keep[k] ? static_cast<float>(value) : 0.0f;
      }
  } else {
    std::bernoulli_distribution keep(config.p);
    for (int64_t i = 0; i < kernels * area; ++i) {
      double value = normal(rng);
      w[i] = keep(rng) ? static_cast<float>(value) : 0.0f;
    }
  }
  std::uniform_real_distribution<double> uniform(
      0.0, config.biasScale / std::sqrt(static_cast<double>(fanIn)));
  float *bp = bias.data<float>();
  for (int64_t i = 0; i < out; ++i)
    bp[i] = static_cast<float>(uniform(rng));
  params.add(name + ".weight", weight);
  params.add(name + ".bias", bias);
}

Tensor Conv2d::operator()(const Params &params, const Tensor &x) const {
  const Tensor &w = params.at(name + ".weight");
  const Tensor &b = params.at(name + ".bias");
  if (x.rank() != 4 || x.dim(1) != in)
    throw Error(fmt::format("{}: expects input [N, {}, H, W], got {}", name, in,
                            shapeString(x.shape())));
  return conv2d(x, w, options) + reshape(b, {1, out, 1, 1});
}

/// Side of the ConvNet's last feature map: two (5×5 conv, 2×2 pool) stages.
static int64_t convNetFeatureSide(int64_t size) {
  return ((size - 4) / 2 - 4) / 2;
}

ConvNet::ConvNet(int64_t channels, int64_t size, int64_t classes)
    : channels(channels), size(size), conv1(channels, 64, 5, "conv1"),
      conv2(64, 64, 5, "conv2"),
      fc1(64 * convNetFeatureSide(size) * convNetFeatureSide(size), 128, "fc1"),
      fc2(128, classes, "fc2") {
  if (size < 16)
    throw Error(fmt::format("ConvNet: images of {}×{} are too small for two "
                            "5×5 convolutions and 2×2 poolings",
                            size, size));
}

Params ConvNet::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  conv1.init(params, rng, config);
  conv2.init(params, rng, config);
  fc1.init(params, rng, config);
  fc2.init(params, rng, config);
  return params;
}

Tensor ConvNet::operator()(const Params &params, const Tensor &x) const {
  if (x.rank() != 2 || x.dim(1) != channels * size * size)
    throw Error(fmt::format("ConvNet: expects a batch [N, {}] of flattened "
                            "{}×{}×{} images, got {}",
                            channels * size * size, channels, size, size,
                            shapeString(x.shape())));
  Tensor h = reshape(x, {x.dim(0), channels, size, size});
  h = relu(maxPool2d(conv1(params, h)));
  h = relu(maxPool2d(conv2(params, h)));
  h = reshape(h, {h.dim(0), h.dim(1) * h.dim(2) * h.dim(3)});
  return fc2(params, relu(fc1(params, h)));
}

std::string ConvNet::describe() const {
  return fmt::format("convnet {}x{}x{}: conv 5x5 64, pool, conv 5x5 64, pool, "
                     "fc {}-128-{}",
                     channels, size, size, fc1.in, fc2.out);
}

std::string MLP::describe() const {
  std::vector<int64_t> sizes = {layers_.front().in};
  for (const Linear &l : layers_)
    sizes.push_back(l.out);
  return fmt::format("mlp {}", fmt::join(sizes, "-"));
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
