//===- Vgg.h - A small VGG-style net ----------------------------*- C++ -*-===//
//
// Part of the model zoo: networks built from the DSL's layers (bregman/nn.h).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_VGG_H
#define BREGMAN_MODELS_VGG_H

#include "bregman/nn.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// A small VGG-style net: (3×3 convolution, batch norm, ReLU) stages of
/// width, 2·width, 4·width, 4·width, 8·width channels with 2×2 max pooling
/// after the 1st, 2nd, 4th and 5th, global average pooling and a linear
/// classifier. Layers "features.<i>", "bn.<i>", "fc".
class Vgg : public nn::Model {
public:
  Vgg(int64_t channels = 3, int64_t size = 32, int64_t classes = 10,
      int64_t width = 64);
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Params initBuffers() const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  nn::SparseFilters sparseFilters() const override;

private:
  int64_t channels, size, width;
  std::vector<nn::Conv2d> convs;
  std::vector<nn::BatchNorm2d> norms;
  std::vector<bool> poolAfter;
  nn::Linear fc;
};

} // namespace bregman::models

#endif // BREGMAN_MODELS_VGG_H
