//===- SkipEncoder.cpp - The fully skip-connected denoiser ----------------===//

#include "bregman/models/SkipEncoder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

SkipEncoder::SkipEncoder(int64_t features, int64_t blocks, double mean,
                         double std)
    : features(features), mean(mean), std(std) {
  if (features < 1 || blocks < 1 || !(std > 0))
    throw Error(fmt::format("SkipEncoder: features {} and blocks {} must be "
                            "positive, std {} too",
                            features, blocks, std));
  for (int64_t i = 0; i < blocks; ++i)
    this->blocks.emplace_back(features, features, fmt::format("block{}", i));
}

Params SkipEncoder::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  for (size_t i = 0; i < blocks.size(); ++i) {
    blocks[i].init(params, rng, config);
    params.add(blocks[i].name + ".skip", Tensor::zeros({int64_t(i) + 1}));
  }
  return params;
}

Tensor SkipEncoder::forward(const Params &params, const Tensor &x,
                            const nn::Mode &) const {
  if (x.rank() != 2 || x.dim(1) != features)
    throw Error(fmt::format("SkipEncoder: expects a batch [N, {}], got {}",
                            features, shapeString(x.shape())));
  std::vector<Tensor> states = {(x - mean) / std};
  for (const nn::Linear &block : blocks) {
    const Tensor &skip = params.at(block.name + ".skip");
    Tensor next = relu(block(params, states.back()));
    for (size_t j = 0; j < states.size(); ++j)
      next = next + slice(skip, 0, int64_t(j), 1) * states[j];
    states.push_back(next);
  }
  return states.back();
}

std::string SkipEncoder::describe() const {
  return fmt::format("skip-encoder: {} blocks of {}-{} with all skips, input "
                     "normalized by {}/{}",
                     blocks.size(), features, features, mean, std);
}

std::vector<int64_t> SkipEncoder::activeNeurons(const Params &params) const {
  std::vector<int64_t> active;
  for (const nn::Linear &block : blocks) {
    std::vector<float> w = params.at(block.name + ".weight").toVector<float>();
    int64_t rows = 0;
    for (int64_t r = 0; r < block.out; ++r)
      for (int64_t c = 0; c < block.in; ++c)
        if (w[r * block.in + c] != 0.0f) {
          ++rows;
          break;
        }
    active.push_back(rows);
  }
  return active;
}

std::vector<std::vector<float>>
SkipEncoder::skips(const Params &params) const {
  std::vector<std::vector<float>> out;
  for (const nn::Linear &block : blocks)
    out.push_back(params.at(block.name + ".skip").toVector<float>());
  return out;
}

std::string formatSkips(const std::vector<std::vector<float>> &skips) {
  std::vector<std::string> live;
  for (size_t i = 0; i < skips.size(); ++i)
    for (size_t j = 0; j < skips[i].size(); ++j)
      if (skips[i][j] != 0.0f)
        live.push_back(fmt::format("s{}->s{} {:.3f}", j, i + 1, skips[i][j]));
  return live.empty() ? "none" : fmt::format("{}", fmt::join(live, ", "));
}

} // namespace bregman::models
