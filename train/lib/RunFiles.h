//===- RunFiles.h - What a run reads and writes, checked first ---*- C++
//-*-===//
//
// A training run reads an ONNX model, a checkpoint to resume and the data,
// and writes a report, checkpoints, an exported model, artifacts and
// pictures. Before any data is read or any step is trained, every output is
// checked: it is not one of the inputs (a model exported or checkpointed
// over the model being retrained was lost), no two outputs are one file,
// its folder exists and is writable, and a file already there is one this
// project wrote (each writer's own ownership check), so that a long run
// never ends refused, and nothing of the user's is replaced.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_LIB_RUNFILES_H
#define BREGMAN_TRAIN_LIB_RUNFILES_H

#include "bregman/train/Config.h"

namespace bregman::train {

/// Throws an Error naming the option and the file when an output of the run
/// cannot be written as asked (see the file comment).
void checkOutputFiles(const TrainConfig &config);

/// Held while a run may write its --checkpoint: an flock on PATH.lock,
/// beside it. Two runs given one --checkpoint each wrote complete
/// checkpoints over the other's, and a resume took whichever came last; the
/// second is now refused at start. The lock file is this project's (its
/// first line says so) and is removed when the run ends; one left by a
/// killed run is taken over. A file of another kind at PATH.lock is kept,
/// and the run refused.
class CheckpointLock {
public:
  /// No lock for an empty path (the run writes no checkpoint).
  explicit CheckpointLock(const std::string &checkpointPath);
  ~CheckpointLock();
  CheckpointLock(const CheckpointLock &) = delete;
  CheckpointLock &operator=(const CheckpointLock &) = delete;

private:
  /// Opens and locks `path`: false when it is to be tried again (the file
  /// was removed meanwhile by a run that ended, or is still empty); throws
  /// when another run holds it or it is not ours (an empty one on the
  /// `last` try).
  bool tryLock(const std::string &checkpointPath, bool last);

  std::string path;
  int fd = -1;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_RUNFILES_H
