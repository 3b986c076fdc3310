//===- Images.cpp - Helpers shared by the image models --------------------===//

#include "Images.h"

#include <fmt/format.h>

namespace bregman::models {

Tensor asImages(const char *model, const Tensor &x, int64_t channels,
                       int64_t size) {
  if (x.rank() != 2 || x.dim(1) != channels * size * size)
    throw Error(fmt::format("{}: expects a batch [N, {}] of flattened "
                            "{}×{}×{} images, got {}",
                            model, channels * size * size, channels, size, size,
                            shapeString(x.shape())));
  return reshape(x, {x.dim(0), channels, size, size});
}

Conv2dOptions same3x3(int64_t stride) {
  return Conv2dOptions{{stride, stride}, symmetricPadding(1, 1)};
}

} // namespace bregman::models
