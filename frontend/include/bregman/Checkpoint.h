//===- Checkpoint.h - Training checkpoints on disk --------------*- C++ -*-===//
//
// A checkpoint holds named sections of tensors (parameters, optimizer state,
// batch-norm buffers, the best model) and a JSON document (epoch, schedules,
// best-model bookkeeping). The file is written next to its destination and
// renamed over it, so that a crash or a full disk never leaves a broken
// checkpoint behind: the previous one stays until the new one is complete.
//
//   "BREGCKPT" | u32 version | u64 header length | header (JSON) | data
//
// The header lists each tensor's section, name, dtype, shape, offset and
// size; the data are the raw little-endian elements.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_CHECKPOINT_H
#define BREGMAN_CHECKPOINT_H

#include "bregman/Params.h"
#include "bregman/runtime/SafeWrite.h"

#include <string>
#include <utility>
#include <vector>

namespace bregman {

struct Checkpoint {
  /// A JSON object with whatever the writer needs to resume.
  std::string metadata = "{}";
  std::vector<std::pair<std::string, Params>> sections;

  /// The section called `name`; throws an Error naming the file's sections.
  const Params &section(const std::string &name) const;
};

/// Writes `checkpoint` to `path` atomically (temporary file in the same
/// directory, flushed, then renamed). Throws an Error naming the path and
/// the failing operation; the old file at `path` is then untouched.
void saveCheckpoint(const std::string &path, const Checkpoint &checkpoint);
/// What saveCheckpoint may replace: a checkpoint (its magic), nothing else.
runtime::FileOwnershipCheck checkpointFiles();

/// Reads a checkpoint; throws an Error naming the path and the problem (not
/// a checkpoint, unknown version, truncated, malformed header).
Checkpoint loadCheckpoint(const std::string &path);

} // namespace bregman

#endif // BREGMAN_CHECKPOINT_H
