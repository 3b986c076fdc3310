//===- FuzzInput.h - Fuzz inputs as files ------------------------*- C++ -*-===//
//
// The parsers read files, so every fuzz input is written to a per-process
// temporary file first; the memory limit is set below libFuzzer's malloc
// limit, so that a hostile size must be refused by our own check.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_FUZZ_FUZZINPUT_H
#define BREGMAN_TESTS_FUZZ_FUZZINPUT_H

#include "bregman/runtime/InputFile.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <unistd.h>

namespace bregman::fuzz {

/// Writes `data` to /tmp/bregman-<name>-fuzz-<pid><suffix> and returns the path.
inline std::string inputFile(const char *name, const char *suffix, const uint8_t *data,
                             size_t size) {
  runtime::setMemoryLimit(uint64_t(256) << 20);
  std::string path = std::string("/tmp/bregman-") + name + "-fuzz-" +
                     std::to_string(::getpid()) + suffix;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  return path;
}

} // namespace bregman::fuzz

#endif // BREGMAN_TESTS_FUZZ_FUZZINPUT_H
