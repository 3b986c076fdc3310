//===- IdxFuzzer.cpp - libFuzzer target for the IDX reader ---------------===//
//
// Each input is read as an IDX images file and as an IDX labels file (plain
// or gzip'd: zlib decides). DataError is the only documented error; any
// other exception, crash, leak or hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"
#include "bregman/data/Idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = bregman::fuzz::inputFile("idx", ".idx", data, size);
  try {
    bregman::data::IdxImages images = bregman::data::readIdxImages(path);
    if (images.pixels.size() != size_t(images.count * images.rows * images.cols))
      __builtin_trap();
  } catch (const bregman::data::DataError &) {
  }
  try {
    (void)bregman::data::readIdxLabels(path);
  } catch (const bregman::data::DataError &) {
  }
  return 0;
}
