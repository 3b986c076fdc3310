//===- Checkpointing.h - A training run saved and resumed -------*- C++ -*-===//

#ifndef BREGMAN_TRAIN_LIB_CHECKPOINTING_H
#define BREGMAN_TRAIN_LIB_CHECKPOINTING_H

#include "bregman/data/Dataset.h"
#include "bregman/optim.h"
#include "bregman/train/Config.h"

#include <string>

namespace bregman::train {

/// The model at the best validation accuracy so far.
struct BestModel {
  double valAcc = -1, density = 0, testAcc = 0;
  int epoch = 0;
  Params params;  // a host copy
  Params buffers; // of the same epoch (batch norm's running statistics)
};

/// Everything a checkpoint holds, by reference into the running Trainer.
struct RunState {
  std::string model; // its description: a resumed run must match it
  /// dataFingerprint() of the run's data (JSON text): a resumed run must
  /// match it ("" skips the check).
  std::string data;
  Params &params, &state, &buffers;
  /// The pruning baseline's masks once it has pruned (empty before, and in
  /// every other run): a run resumed while retraining keeps them.
  Params &masks;
  BestModel &best;
  optim::ReduceLROnPlateau &plateau;
};

/// Each split's size and a checksum of its images and labels, as JSON text:
/// a run resumed with another --data (other pictures, or the same ones
/// split otherwise) was accepted silently.
std::string dataFingerprint(const data::DataSplits &splits);

/// Writes `run` after `epoch` to config.checkpointPath (atomically).
void writeCheckpoint(const TrainConfig &config, int epoch, const RunState &run);

/// Restores `run` from config.resumePath, which must be a checkpoint of the
/// same model and optimizer with tensors of the same names and shapes;
/// returns the epoch it was written after. Throws an Error naming the file
/// and what disagrees.
int restoreCheckpoint(const TrainConfig &config, RunState &run);

/// A model as a checkpoint saved it: the best validation epoch's, or the
/// last epoch's.
struct SavedModel {
  std::string model; // the description the run recorded
  int epoch = 0;     // the epoch the weights are of
  bool best = true;  // the best validation epoch's (else the last one's)
  double valAcc = 0, testAcc = 0, density = 0; // the best epoch's (if best)
  Params params, buffers;
};

/// Reads the checkpoint at `path` into `saved`, whose params and buffers
/// must be the model's (names and shapes, checked; their values replaced):
/// the best model's, or with `last` the last epoch's. Throws an Error naming
/// the file and what disagrees.
void readSavedModel(const std::string &path, bool last, SavedModel &saved);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_CHECKPOINTING_H
