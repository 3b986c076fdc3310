//===- ScopedEnv.h - An environment variable set for one scope --*- C++ -*-===//
//
// Tests that point a variable (BREGMAN_CACHE_DIR, ...) somewhere of their
// own put back what was there when they leave, also when they fail with an
// exception: later tests in the same process see the environment they had.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_SUPPORT_SCOPEDENV_H
#define BREGMAN_TESTS_SUPPORT_SCOPEDENV_H

#include <cstdlib>
#include <optional>
#include <string>

namespace bregman::testsupport {

class ScopedEnv {
public:
  ScopedEnv(std::string name, const std::string &value) : name(std::move(name)) {
    if (const char *old = std::getenv(this->name.c_str()))
      previous = old;
    ::setenv(this->name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (previous)
      ::setenv(name.c_str(), previous->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
  std::string name;
  std::optional<std::string> previous;
};

} // namespace bregman::testsupport

#endif // BREGMAN_TESTS_SUPPORT_SCOPEDENV_H
