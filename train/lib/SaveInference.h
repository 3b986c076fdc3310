//===- SaveInference.h - The trained model's inference as an artifact -*- C++
//-*-===//

#ifndef BREGMAN_TRAIN_LIB_SAVEINFERENCE_H
#define BREGMAN_TRAIN_LIB_SAVEINFERENCE_H

#include "bregman/nn.h"
#include "bregman/train/Config.h"

#include <string>

namespace bregman::train {

/// Why config.saveInferPath cannot be written after training ("" when it
/// can): checked before training, so a long run does not end refused.
std::string saveInferenceProblem(const TrainConfig &config);

/// Writes the inference of `model` with `params` and `buffers` (evaluation
/// mode: batch norm's running statistics) to the artifact directory
/// config.saveInferPath, its linear layers on their CSR as config.sparseExec
/// chooses at the batch of `example` (normalized images [batch, features],
/// stored as the example input) and its convolutions among `filters` (the
/// model's sparse filters, with their input sizes) likewise; runs it once
/// first, and returns a line for the log.
std::string saveInference(const TrainConfig &config, const nn::Model &model,
                          const nn::SparseFilters &filters, const Params &params,
                          const Params &buffers, const Tensor &example);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_SAVEINFERENCE_H
