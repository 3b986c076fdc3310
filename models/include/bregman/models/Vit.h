//===- Vit.h - A small vision transformer -----------------------*- C++ -*-===//
//
// Part of the model zoo: networks built from the DSL's layers (bregman/nn.h).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_VIT_H
#define BREGMAN_MODELS_VIT_H

#include "bregman/nn.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// A ViT-style classifier: the image cut into patch×patch patches (28×28
/// with 7: 16 tokens of 49 values per channel), a linear patch embedding
/// "patch" plus a learned position embedding "pos.weight" [tokens, width],
/// `depth` post-norm encoder layers "enc<i>" (GELU, feed-forward 2·width,
/// no dropout), a final LayerNorm "norm", the mean over the tokens and a
/// linear head "head".
class Vit : public nn::Model {
public:
  Vit(int64_t channels, int64_t rows, int64_t cols, int64_t classes,
      int64_t width = 64, int64_t depth = 2, int64_t heads = 4,
      int64_t patch = 7);
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  /// [N, C·H·W] -> [N, tokens, C·patch·patch], patches in row-major order.
  Tensor patches(const Tensor &x) const;
  const std::vector<nn::TransformerEncoderLayer> &layers() const { return layers_; }

private:
  int64_t channels, rows, cols, patch, tokens, width;
  nn::Linear embed;
  nn::Embedding position;
  std::vector<nn::TransformerEncoderLayer> layers_;
  nn::LayerNorm norm;
  nn::Linear head;
};

} // namespace bregman::models

#endif // BREGMAN_MODELS_VIT_H
