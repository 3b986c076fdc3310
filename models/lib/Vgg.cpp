//===- Vgg.cpp - A small VGG-style net ------------------------------------===//

#include "bregman/models/Vgg.h"
#include "Images.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

Vgg::Vgg(int64_t channels, int64_t size, int64_t classes, int64_t width)
    : channels(channels), size(size), width(width), fc(8 * width, classes, "fc") {
  const int64_t widths[] = {width, 2 * width, 4 * width, 4 * width, 8 * width};
  const bool pools[] = {true, true, false, true, true};
  int64_t in = channels;
  for (int i = 0; i < 5; ++i) {
    convs.emplace_back(in, widths[i], 3, fmt::format("features.{}", i),
                       same3x3(1), /*bias=*/false);
    norms.emplace_back(widths[i], fmt::format("bn.{}", i));
    poolAfter.push_back(pools[i]);
    in = widths[i];
  }
  if (size < 16)
    throw Error(fmt::format("Vgg: images of {}×{} are too small for four 2×2 "
                            "poolings",
                            size, size));
}

Params Vgg::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  for (size_t i = 0; i < convs.size(); ++i) {
    convs[i].init(params, rng, config);
    norms[i].init(params);
  }
  fc.init(params, rng, config);
  return params;
}

Params Vgg::initBuffers() const {
  Params buffers;
  for (const nn::BatchNorm2d &n : norms)
    n.initBuffers(buffers);
  return buffers;
}

Tensor Vgg::forward(const Params &params, const Tensor &x,
                    const nn::Mode &mode) const {
  Tensor h = asImages("Vgg", x, channels, size);
  for (size_t i = 0; i < convs.size(); ++i) {
    h = relu(norms[i](params, convs[i](params, h), mode));
    if (poolAfter[i])
      h = maxPool2d(h);
  }
  h = globalAvgPool2d(h);
  return fc(params, reshape(h, {h.dim(0), h.dim(1)}));
}

nn::SparseFilters Vgg::sparseFilters() const {
  nn::SparseFilters filters;
  for (const nn::Conv2d &conv : convs)
    conv.addSparseFilter(filters);
  return filters;
}

std::string Vgg::describe() const {
  return fmt::format("vgg {}x{}x{}, width {}", channels, size, size, width);
}

} // namespace bregman::models
