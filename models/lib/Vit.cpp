//===- Vit.cpp - A small vision transformer -------------------------------===//

#include "bregman/models/Vit.h"

#include <fmt/format.h>

namespace bregman::models {

/// Checks the sizes before any layer is built (a layer would name itself,
/// not the model).
static int64_t tokenCount(int64_t rows, int64_t cols, int64_t patch) {
  if (patch <= 0 || rows % patch != 0 || cols % patch != 0)
    throw Error(fmt::format("vit: {}x{} images do not split into {}x{} patches",
                            rows, cols, patch, patch));
  return (rows / patch) * (cols / patch);
}

Vit::Vit(int64_t channels, int64_t rows, int64_t cols, int64_t classes,
         int64_t width, int64_t depth, int64_t heads, int64_t patch)
    : channels(channels), rows(rows), cols(cols), patch(patch),
      tokens(tokenCount(rows, cols, patch)), width(width),
      embed(channels * patch * patch, width, "patch"),
      position(tokens, width, "pos"), norm(width, "norm"),
      head(width, classes, "head") {
  if (depth < 1)
    throw Error(fmt::format("vit: needs at least one encoder layer, got {}", depth));
  for (int64_t i = 0; i < depth; ++i)
    layers_.emplace_back(width, heads, 2 * width, fmt::format("enc{}", i));
}

std::string Vit::describe() const {
  return fmt::format("vit {}x{} patches ({} tokens), {} layers of width {}, "
                     "{} heads",
                     patch, patch, tokens, layers_.size(), width,
                     layers_.front().attn.heads);
}

Params Vit::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  embed.init(params, rng, config);
  position.init(params, rng, config);
  for (const nn::TransformerEncoderLayer &layer : layers_)
    layer.init(params, rng, config);
  norm.init(params);
  head.init(params, rng, config);
  return params;
}

Tensor Vit::patches(const Tensor &x) const {
  if (x.rank() != 2 || x.dim(1) != channels * rows * cols)
    throw Error(fmt::format("vit: expects input [N, {}] ({}x{}x{} images), got {}",
                            channels * rows * cols, channels, rows, cols,
                            shapeString(x.shape())));
  int64_t n = x.dim(0), pr = rows / patch, pc = cols / patch;
  // [N, C, pr, P, pc, P] -> [N, pr, pc, C, P, P]
  Tensor grid = reshape(x, {n, channels, pr, patch, pc, patch});
  return reshape(transpose(grid, {0, 2, 4, 1, 3, 5}),
                 {n, tokens, channels * patch * patch});
}

Tensor Vit::forward(const Params &params, const Tensor &x,
                    const nn::Mode &mode) const {
  // The position embedding of token t is row t of the table: the lookup of
  // 0..tokens−1 is the table itself, added to every example.
  Tensor h = embed(params, patches(x)) + params.at(position.name + ".weight");
  for (const nn::TransformerEncoderLayer &layer : layers_)
    h = layer(params, h, mode);
  return head(params, mean(norm(params, h), {1}));
}

} // namespace bregman::models
