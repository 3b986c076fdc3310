//===- CifarFuzzer.cpp - libFuzzer target for CIFAR-10 binary batches ----===//
//
// Each input is read as a CIFAR-10 binary batch (whole, and limited to its
// first record). DataError is the only documented error for a file; any
// other exception, crash, leak or hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"
#include "bregman/data/Dataset.h"
#include "bregman/data/Idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = bregman::fuzz::inputFile("cifar", ".bin", data, size);
  bregman::data::ChannelNormalization norm{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
  for (int64_t limit : {int64_t(-1), int64_t(1)}) {
    try {
      bregman::data::Dataset ds = bregman::data::loadCifarBatch(path, norm, limit);
      if (ds.images.size() != size_t(ds.count * 3 * 32 * 32) ||
          ds.labels.size() != size_t(ds.count))
        __builtin_trap();
    } catch (const bregman::data::DataError &) {
    }
  }
  return 0;
}
