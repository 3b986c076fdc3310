//===- SparseCalibrationFuzzer.cpp - libFuzzer target for the crossover cache ===//
//
// Each input is parsed as the sparse-exec calibration cache
// (nn::parseSparseCalibrationCache). Error is the only documented error; any
// other exception, crash, leak or hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"
#include "bregman/nn.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    for (const auto &[key, density] :
         bregman::nn::parseSparseCalibrationCache(text, "fuzz input"))
      if (!(density >= 0 && density <= 1))
        __builtin_trap(); // the parser promised a density in [0, 1]
  } catch (const bregman::Error &) {
  }
  return 0;
}
