//===- CheckpointFuzzer.cpp - libFuzzer target for checkpoints -----------===//
//
// Each input is loaded as a checkpoint and its sections looked up. Error is
// the only documented error; any other exception, crash, leak or hang is a
// finding.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"
#include "bregman/Checkpoint.h"
#include "bregman/Error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = bregman::fuzz::inputFile("checkpoint", ".ckpt", data, size);
  try {
    bregman::Checkpoint checkpoint = bregman::loadCheckpoint(path);
    for (const auto &[name, params] : checkpoint.sections)
      for (const auto &[tensor, t] : params)
        (void)t.numel();
    (void)checkpoint.section("params");
  } catch (const bregman::Error &) {
  }
  return 0;
}
