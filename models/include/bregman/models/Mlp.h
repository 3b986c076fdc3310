//===- Mlp.h - The multilayer perceptron ------------------------*- C++ -*-===//
//
// Part of the model zoo: networks built from the DSL's layers (bregman/nn.h).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_MLP_H
#define BREGMAN_MODELS_MLP_H

#include "bregman/nn.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// Fully connected layers with ReLU between them (not after the last: the
/// logits stay unconstrained). Layer i is named "fc<i+1>".
class MLP : public nn::Model {
public:
  explicit MLP(std::vector<int64_t> sizes);
  Params init(uint64_t seed, const nn::SparseInit &config = {}) const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  std::string inputLinearWeight() const override {
    return layers_.front().name + ".weight";
  }
  const std::vector<nn::Linear> &layers() const { return layers_; }

private:
  std::vector<nn::Linear> layers_;
};

} // namespace bregman::models

#endif // BREGMAN_MODELS_MLP_H
