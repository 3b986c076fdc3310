//===- Mlp.cpp - The multilayer perceptron --------------------------------===//

#include "bregman/models/Mlp.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

std::string MLP::describe() const {
  std::vector<int64_t> sizes = {layers_.front().in};
  for (const nn::Linear &l : layers_)
    sizes.push_back(l.out);
  return fmt::format("mlp {}", fmt::join(sizes, "-"));
}

MLP::MLP(std::vector<int64_t> sizes) {
  if (sizes.size() < 2)
    throw Error("MLP: needs at least an input and an output size");
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers_.emplace_back(sizes[i], sizes[i + 1], fmt::format("fc{}", i + 1));
}

Params MLP::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  for (const nn::Linear &layer : layers_)
    layer.init(params, rng, config);
  return params;
}

Tensor MLP::forward(const Params &params, const Tensor &x, const nn::Mode &) const {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i](params, h);
    if (i + 1 < layers_.size())
      h = relu(h);
  }
  return h;
}

} // namespace bregman::models
