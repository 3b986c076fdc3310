//===- ArtifactFuzzer.cpp - libFuzzer target for artifact manifests ------===//
//
// Each input is parsed as an artifact's manifest.json, its inputs checked
// against a values.bin of a few sizes and its training entry read.
// std::runtime_error is what the artifact loader documents; anything else
// (nlohmann's exceptions, which are not runtime_errors, included), a crash,
// leak or hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/InputFile.h"

#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bregman::runtime::setMemoryLimit(uint64_t(256) << 20);
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    bregman::runtime::ArtifactManifest m =
        bregman::runtime::parseArtifactManifest(text, "manifest.json");
    for (uint64_t bytes : {uint64_t(0), uint64_t(64), ~uint64_t(0)})
      try {
        bregman::runtime::checkArtifactValues(m.inputs, bytes, "values.bin");
      } catch (const std::runtime_error &) {
      }
    // bregman-run --train reads the training entry.
    if (!m.training.empty())
      try {
        (void)bregman::runtime::parseTrainingEntry(m.training, m.inputs,
                                                   m.outputs, "manifest.json");
      } catch (const std::runtime_error &) {
      }
  } catch (const std::runtime_error &) {
  }
  return 0;
}
