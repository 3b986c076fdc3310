//===- Export.h - The trained model written back as ONNX --------*- C++ -*-===//

#ifndef BREGMAN_TRAIN_LIB_EXPORT_H
#define BREGMAN_TRAIN_LIB_EXPORT_H

#include "bregman/nn.h"
#include "bregman/train/Config.h"

namespace bregman::train {

/// Writes `params` and `buffers` (the best model's: the running statistics
/// of the same epoch) into the imported graph of `model` at
/// config.exportPath (sparse initializers with config.exportSparse); returns
/// the file's size. Throws an Error for a model that was not imported.
int64_t exportModel(const TrainConfig &config, const nn::Model &model,
                    const Params &params, const Params &buffers);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_EXPORT_H
