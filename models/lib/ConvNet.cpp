//===- ConvNet.cpp - The reference ConvNet --------------------------------===//

#include "bregman/models/ConvNet.h"
#include "Images.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::models {

/// Side of the ConvNet's last feature map: two (5×5 conv, 2×2 pool) stages.
static int64_t convNetFeatureSide(int64_t size) {
  return ((size - 4) / 2 - 4) / 2;
}

ConvNet::ConvNet(int64_t channels, int64_t size, int64_t classes,
                 std::array<int64_t, 3> widths)
    : channels(channels), size(size), conv1(channels, widths[0], 5, "conv1"),
      conv2(widths[0], widths[1], 5, "conv2"),
      fc1(widths[1] * convNetFeatureSide(size) * convNetFeatureSide(size), widths[2],
          "fc1"),
      fc2(widths[2], classes, "fc2") {
  if (size < 16)
    throw Error(fmt::format("ConvNet: images of {}×{} are too small for two "
                            "5×5 convolutions and 2×2 poolings",
                            size, size));
}

Params ConvNet::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  conv1.init(params, rng, config);
  conv2.init(params, rng, config);
  fc1.init(params, rng, config);
  fc2.init(params, rng, config);
  return params;
}

Tensor ConvNet::forward(const Params &params, const Tensor &x,
                        const nn::Mode &) const {
  Tensor h = asImages("ConvNet", x, channels, size);
  h = relu(maxPool2d(conv1(params, h)));
  h = relu(maxPool2d(conv2(params, h)));
  h = reshape(h, {h.dim(0), h.dim(1) * h.dim(2) * h.dim(3)});
  return fc2(params, relu(fc1(params, h)));
}

nn::SparseFilters ConvNet::sparseFilters() const {
  nn::SparseFilters filters;
  conv1.addSparseFilter(filters);
  conv2.addSparseFilter(filters);
  return filters;
}

std::string ConvNet::describe() const {
  return fmt::format("convnet {}x{}x{}: conv 5x5 {}, pool, conv 5x5 {}, pool, "
                     "fc {}-{}-{}",
                     channels, size, size, conv1.out, conv2.out, fc1.in, fc1.out,
                     fc2.out);
}

} // namespace bregman::models
