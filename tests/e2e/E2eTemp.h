//===- E2eTemp.h - a private temporary directory per test process ---------===//
//
// Every file an e2e test writes lies below one directory of its own process,
// made by mkdtemp and removed when the process ends. Fixed names in /tmp let
// two runs (or whatever cleans /tmp) destroy each other's files mid-test.
//
//===----------------------------------------------------------------------===//

#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace bregman::e2e {

class ProcessTempDir {
public:
  ProcessTempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "bregman-e2e-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp " + pattern + " failed");
    dir = pattern;
  }
  ~ProcessTempDir() {
    std::error_code ignored; // nothing to report to at exit
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
};

/// `name` inside this process's temporary directory (not created).
inline std::filesystem::path tempPath(const std::string &name) {
  static ProcessTempDir root;
  return root.dir / name;
}

} // namespace bregman::e2e
