//===- Zoo.cpp - The models by name ---------------------------------------===//

#include "bregman/models/Zoo.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

static std::unique_ptr<nn::Model> buildMlp(const InputShape &shape,
                                           const ModelOptions &options) {
  std::vector<int64_t> sizes = {shape.features()};
  sizes.insert(sizes.end(), options.hidden.begin(), options.hidden.end());
  sizes.push_back(shape.classes);
  return std::make_unique<MLP>(sizes);
}

static std::unique_ptr<nn::Model> buildConvNet(const InputShape &shape,
                                               const ModelOptions &options) {
  return std::make_unique<ConvNet>(shape.channels, shape.rows, shape.classes,
                                   options.convnetWidths);
}

static std::unique_ptr<nn::Model> buildResNet18(const InputShape &shape,
                                                const ModelOptions &options) {
  return std::make_unique<ResNet18>(shape.channels, shape.rows, shape.classes,
                                    options.width);
}

static std::unique_ptr<nn::Model> buildVgg(const InputShape &shape,
                                           const ModelOptions &options) {
  return std::make_unique<Vgg>(shape.channels, shape.rows, shape.classes,
                               options.width);
}

const std::vector<ZooEntry> &zoo() {
  static const std::vector<ZooEntry> entries = {
      {"mlp", "fully connected with ReLU (--hidden)", false, buildMlp},
      {"convnet", "the reference ConvNet of ALGORITHMS.md §7", true,
       buildConvNet},
      {"resnet18", "ResNet-18, the CIFAR variant (--width)", true,
       buildResNet18},
      {"vgg", "a small VGG-style net with batch norm (--width)", true,
       buildVgg},
  };
  return entries;
}

std::vector<std::string> modelNames() {
  std::vector<std::string> names;
  for (const ZooEntry &e : zoo())
    names.push_back(e.name);
  return names;
}

std::unique_ptr<nn::Model> makeModel(const std::string &name,
                                     const InputShape &shape,
                                     const ModelOptions &options) {
  for (const ZooEntry &e : zoo()) {
    if (name != e.name)
      continue;
    if (e.needsSquareImages && shape.rows != shape.cols)
      throw Error(fmt::format("train: the {} needs square images, the data "
                              "set has {}x{}",
                              name, shape.rows, shape.cols));
    return e.build(shape, options);
  }
  throw Error(fmt::format("train: model '{}' is not available (available: {})",
                          name, fmt::join(modelNames(), ", ")));
}

} // namespace bregman::models
