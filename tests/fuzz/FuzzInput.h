//===- FuzzInput.h - Fuzz inputs as files ------------------------*- C++ -*-===//
//
// The parsers read files, so every fuzz input is written to a per-process
// temporary file first (created fresh, removed at exit); the memory limit is
// set below libFuzzer's malloc limit, so that a hostile size must be refused
// by our own check.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_FUZZ_FUZZINPUT_H
#define BREGMAN_TESTS_FUZZ_FUZZINPUT_H

#include "bregman/runtime/InputFile.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace bregman::fuzz {

/// This process's input file: created once with mkstemps (a fresh name, so
/// no file of anyone else's is overwritten), removed when the process ends.
class OwnedInputFile {
public:
  OwnedInputFile(const char *name, const char *suffix) {
    std::string pattern = std::string("/tmp/bregman-") + name + "-fuzz-XXXXXX" + suffix;
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    int fd = ::mkstemps(buffer.data(), static_cast<int>(std::char_traits<char>::length(suffix)));
    if (fd < 0)
      throw std::runtime_error("cannot create a fuzz input file " + pattern);
    ::close(fd);
    path = buffer.data();
  }
  ~OwnedInputFile() { std::remove(path.c_str()); }
  OwnedInputFile(const OwnedInputFile &) = delete;
  OwnedInputFile &operator=(const OwnedInputFile &) = delete;
  std::string path;
};

/// Writes `data` to this process's /tmp/bregman-<name>-fuzz-XXXXXX<suffix>
/// (one per fuzz target: the target's name and suffix never change within a
/// process) and returns its path.
inline std::string inputFile(const char *name, const char *suffix, const uint8_t *data,
                             size_t size) {
  runtime::setMemoryLimit(uint64_t(256) << 20);
  static OwnedInputFile file(name, suffix);
  std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  return file.path;
}

} // namespace bregman::fuzz

#endif // BREGMAN_TESTS_FUZZ_FUZZINPUT_H
