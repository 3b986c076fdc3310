//===- Zoo.h - The models by name ---------------------------------*- C++ -*-===//
//
// The model zoo's table: each entry names a network, says what it is, and
// builds it for a data set's image shape. The command line's --model choices
// and the Trainer's model come from here.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_ZOO_H
#define BREGMAN_MODELS_ZOO_H

#include "bregman/models/ConvNet.h"
#include "bregman/models/DenseNet.h"
#include "bregman/models/Mlp.h"
#include "bregman/models/ResNet18.h"
#include "bregman/models/SkipEncoder.h"
#include "bregman/models/Vgg.h"
#include "bregman/models/Vit.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bregman::models {

/// What a model is built for: images of channels × rows × cols (flattened
/// into [N, features] batches) and the number of classes.
struct InputShape {
  int64_t channels = 1, rows = 28, cols = 28;
  int64_t classes = 10;
  int64_t features() const { return channels * rows * cols; }
};

/// The zoo's size options (each model reads those it has).
struct ModelOptions {
  std::vector<int64_t> hidden = {200, 80}; // mlp: hidden widths
  /// convnet: the two convolutions' channels and the hidden width.
  std::array<int64_t, 3> convnetWidths = {64, 64, 128};
  int64_t width = 64; // resnet18, vgg: channels of the first stage; vit: E
  /// skip-encoder: it normalizes its input (images in [0, 1]) itself.
  double inputMean = 0.0, inputStd = 1.0;
};

/// What a model does with an image.
enum class ModelKind {
  /// Logits [N, classes]: cross-entropy loss, accuracy.
  Classifier,
  /// An image of the input's shape: mean squared error against the clean
  /// image, SSIM as its score (the denoise and deblur tasks).
  Restoration,
};

struct ZooEntry {
  const char *name;
  const char *summary; // one line, for --help
  bool needsSquareImages;
  std::unique_ptr<nn::Model> (*build)(const InputShape &, const ModelOptions &);
  ModelKind kind = ModelKind::Classifier;
  /// The architecture the sparsity found, as text (nullptr: none): which
  /// dense connections survive, active neurons and skips.
  std::string (*architecture)(const nn::Model &, const Params &) = nullptr;
  /// The same as a picture written to a PNG file (nullptr: none).
  void (*picture)(const nn::Model &, const Params &,
                  const std::string &path) = nullptr;
};

/// Every model, in the order --help lists them.
const std::vector<ZooEntry> &zoo();
/// The entry called `name`; throws an Error listing the available ones.
const ZooEntry &zooEntry(const std::string &name);
/// The names of zoo(), in order.
std::vector<std::string> modelNames();
/// The model `name` for `shape`; throws an Error naming the model and the
/// available ones, or the shape it cannot take.
std::unique_ptr<nn::Model> makeModel(const std::string &name,
                                     const InputShape &shape,
                                     const ModelOptions &options);

} // namespace bregman::models

#endif // BREGMAN_MODELS_ZOO_H
