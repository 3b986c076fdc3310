//===- Images.h - Helpers shared by the image models ------------*- C++ -*-===//

#ifndef BREGMAN_MODELS_LIB_IMAGES_H
#define BREGMAN_MODELS_LIB_IMAGES_H

#include "bregman/nn.h"

namespace bregman::models {

/// [N, C·S·S] -> [N, C, S, S], with an error naming the model otherwise.
Tensor asImages(const char *model, const Tensor &x, int64_t channels,
                int64_t size);

/// A 3×3 convolution with padding 1 ("same" at stride 1).
Conv2dOptions same3x3(int64_t stride);

} // namespace bregman::models

#endif // BREGMAN_MODELS_LIB_IMAGES_H
