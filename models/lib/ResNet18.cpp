//===- ResNet18.cpp - ResNet-18 for small images --------------------------===//

#include "bregman/models/ResNet18.h"
#include "Images.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

ResNet18::ResNet18(int64_t channels, int64_t size, int64_t classes,
                   int64_t width)
    : channels(channels), size(size), width(width),
      stem(channels, width, 3, "conv1", same3x3(1), /*bias=*/false),
      stemBn(width, "bn1"), fc(8 * width, classes, "fc") {
  int64_t in = width;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t out = width << stage;
    for (int j = 0; j < 2; ++j) {
      int64_t stride = stage > 0 && j == 0 ? 2 : 1;
      std::string prefix = fmt::format("layer{}.{}", stage + 1, j);
      bool projection = stride != 1 || in != out;
      blocks.push_back(Block{
          nn::Conv2d(in, out, 3, prefix + ".conv1", same3x3(stride), false),
          nn::Conv2d(out, out, 3, prefix + ".conv2", same3x3(1), false),
          nn::BatchNorm2d(out, prefix + ".bn1"), nn::BatchNorm2d(out, prefix + ".bn2"),
          projection,
          nn::Conv2d(in, out, 1, prefix + ".shortcut.conv",
                 Conv2dOptions{{stride, stride}}, false),
          nn::BatchNorm2d(out, prefix + ".shortcut.bn")});
      in = out;
    }
  }
  if (size < 8)
    throw Error(fmt::format("ResNet18: images of {}×{} are too small for three "
                            "stride-2 stages",
                            size, size));
}

Params ResNet18::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  stem.init(params, rng, config);
  stemBn.init(params);
  for (const Block &b : blocks) {
    b.conv1.init(params, rng, config);
    b.bn1.init(params);
    b.conv2.init(params, rng, config);
    b.bn2.init(params);
    if (b.projection) {
      b.shortcut.init(params, rng, config);
      b.shortcutBn.init(params);
    }
  }
  fc.init(params, rng, config);
  return params;
}

Params ResNet18::initBuffers() const {
  Params buffers;
  stemBn.initBuffers(buffers);
  for (const Block &b : blocks) {
    b.bn1.initBuffers(buffers);
    b.bn2.initBuffers(buffers);
    if (b.projection)
      b.shortcutBn.initBuffers(buffers);
  }
  return buffers;
}

Tensor ResNet18::forward(const Params &params, const Tensor &x,
                         const nn::Mode &mode) const {
  Tensor h = asImages("ResNet18", x, channels, size);
  h = relu(stemBn(params, stem(params, h), mode));
  for (const Block &b : blocks) {
    Tensor y = relu(b.bn1(params, b.conv1(params, h), mode));
    y = b.bn2(params, b.conv2(params, y), mode);
    Tensor shortcut =
        b.projection ? b.shortcutBn(params, b.shortcut(params, h), mode) : h;
    h = relu(y + shortcut);
  }
  h = globalAvgPool2d(h);
  return fc(params, reshape(h, {h.dim(0), h.dim(1)}));
}

nn::SparseFilters ResNet18::sparseFilters() const {
  // Every convolution, the stride-2 ones and their shortcuts included.
  nn::SparseFilters filters;
  stem.addSparseFilter(filters);
  for (const Block &b : blocks) {
    b.conv1.addSparseFilter(filters);
    b.conv2.addSparseFilter(filters);
    if (b.projection)
      b.shortcut.addSparseFilter(filters);
  }
  return filters;
}

std::string ResNet18::describe() const {
  return fmt::format("resnet18 {}x{}x{}, width {}", channels, size, size, width);
}

} // namespace bregman::models
