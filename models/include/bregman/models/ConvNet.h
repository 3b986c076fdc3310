//===- ConvNet.h - The reference ConvNet ------------------------*- C++ -*-===//
//
// Part of the model zoo: networks built from the DSL's layers (bregman/nn.h).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_CONVNET_H
#define BREGMAN_MODELS_CONVNET_H

#include "bregman/nn.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// The reference ConvNet of ALGORITHMS.md §7 for 1×28×28 images: conv 1→64
/// 5×5, max-pool 2, ReLU, conv 64→64 5×5, max-pool 2, ReLU, flatten 1024,
/// linear 1024→128, ReLU, linear 128→10. Layers "conv1", "conv2", "fc1",
/// "fc2".
class ConvNet : public nn::Model {
public:
  /// `widths`: the two convolutions' channels and the hidden linear width
  /// (64, 64, 128 in the reference).
  explicit ConvNet(int64_t channels = 1, int64_t size = 28, int64_t classes = 10,
                   std::array<int64_t, 3> widths = {64, 64, 128});
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  nn::SparseFilters sparseFilters() const override;

private:
  int64_t channels, size;
  nn::Conv2d conv1, conv2;
  nn::Linear fc1, fc2;
};

} // namespace bregman::models

#endif // BREGMAN_MODELS_CONVNET_H
