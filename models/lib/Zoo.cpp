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

static std::unique_ptr<nn::Model> buildVit(const InputShape &shape,
                                           const ModelOptions &options) {
  return std::make_unique<Vit>(shape.channels, shape.rows, shape.cols,
                               shape.classes, options.width);
}

static std::unique_ptr<nn::Model> buildDenseNet(const InputShape &shape,
                                                const ModelOptions &) {
  return std::make_unique<DenseNet>(shape.channels, shape.rows, shape.classes);
}

static std::unique_ptr<nn::Model> buildSkipEncoder(const InputShape &shape,
                                                   const ModelOptions &options) {
  return std::make_unique<SkipEncoder>(shape.features(), 6, options.inputMean,
                                       options.inputStd);
}

static std::string denseNetArchitecture(const nn::Model &model,
                                        const Params &params) {
  return formatConnections(
      dynamic_cast<const DenseNet &>(model).connections(params));
}

static void denseNetPicture(const nn::Model &model, const Params &params,
                            const std::string &path) {
  writeConnectionPng(dynamic_cast<const DenseNet &>(model).connections(params),
                     path);
}

static std::string skipEncoderArchitecture(const nn::Model &model,
                                           const Params &params) {
  const auto &net = dynamic_cast<const SkipEncoder &>(model);
  return fmt::format("active neurons per layer [{}]; skips: {}\n",
                     fmt::join(net.activeNeurons(params), " "),
                     formatSkips(net.skips(params)));
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
      {"vit",
       "a small vision transformer: 7x7 patches, 2 post-norm layers, 4 "
       "heads (--width)",
       false, buildVit},
      {"densenet", "the DenseNet of the architecture search (NAS.md §1)",
       true, buildDenseNet, ModelKind::Classifier, denseNetArchitecture,
       denseNetPicture},
      {"skip-encoder",
       "the fully skip-connected denoiser, 6 x 784 (NAS.md §2; --task)", false,
       buildSkipEncoder, ModelKind::Restoration, skipEncoderArchitecture},
  };
  return entries;
}

std::vector<std::string> modelNames() {
  std::vector<std::string> names;
  for (const ZooEntry &e : zoo())
    names.push_back(e.name);
  return names;
}

const ZooEntry &zooEntry(const std::string &name) {
  for (const ZooEntry &e : zoo())
    if (name == e.name)
      return e;
  throw Error(fmt::format("train: model '{}' is not available (available: {})",
                          name, fmt::join(modelNames(), ", ")));
}

std::unique_ptr<nn::Model> makeModel(const std::string &name,
                                     const InputShape &shape,
                                     const ModelOptions &options) {
  const ZooEntry &e = zooEntry(name);
  if (e.needsSquareImages && shape.rows != shape.cols)
    throw Error(fmt::format("train: the {} needs square images, the data "
                            "set has {}x{}",
                            name, shape.rows, shape.cols));
  return e.build(shape, options);
}

} // namespace bregman::models
