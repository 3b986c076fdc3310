//===- ResNet18.h - ResNet-18 for small images ------------------*- C++ -*-===//
//
// Part of the model zoo: networks built from the DSL's layers (bregman/nn.h).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_RESNET18_H
#define BREGMAN_MODELS_RESNET18_H

#include "bregman/nn.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// ResNet-18 for small images (the CIFAR variant: 3×3 stem, stride 1, no
/// initial max-pool): four stages of two basic blocks with `width`, 2·width,
/// 4·width, 8·width channels (width 64 is the standard net), global average
/// pooling and a linear classifier "fc". Convolutions have no bias (batch
/// normalization follows each); downsampling shortcuts are 1×1 convolutions.
class ResNet18 : public nn::Model {
public:
  ResNet18(int64_t channels = 3, int64_t size = 32, int64_t classes = 10,
           int64_t width = 64);
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Params initBuffers() const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  nn::SparseFilters sparseFilters() const override;

private:
  struct Block {
    nn::Conv2d conv1, conv2;
    nn::BatchNorm2d bn1, bn2;
    bool projection; // a 1×1 convolution on the shortcut
    nn::Conv2d shortcut;
    nn::BatchNorm2d shortcutBn;
  };
  int64_t channels, size, width;
  nn::Conv2d stem;
  nn::BatchNorm2d stemBn;
  std::vector<Block> blocks;
  nn::Linear fc;
};

} // namespace bregman::models

#endif // BREGMAN_MODELS_RESNET18_H
