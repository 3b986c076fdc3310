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

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_RUNFILES_H
