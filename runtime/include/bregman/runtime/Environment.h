//===- Environment.h - Settings read from the environment -------*- C++ -*-===//
//
// The OpenMP runtime (LLVM's libomp, which runs the generated parallel loops
// and oneDNN) reads OMP_NUM_THREADS and OMP_THREAD_LIMIT when it starts and
// ends the process on values it cannot use: '' and 'abc' fail an assertion,
// 100000 finds no threads to create; '-1' and '2,abc' made oneDNN fail to
// create a primitive with nothing said about the variable. The tools and
// jit check them first, so that the user reads what to change. The same for
// the runtime's own on/off switches, which read anything but their one
// value as the other (BREGMAN_PROFILE=yes was off).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_ENVIRONMENT_H
#define BREGMAN_RUNTIME_ENVIRONMENT_H

#include "bregman/runtime/InputFile.h"

#include <cstdlib>
#include <string>

namespace bregman::runtime {

/// The most threads one OpenMP setting may ask for here.
inline constexpr long kMaxOpenMpThreads = 4096;

/// Whether `text` is a comma-separated list (`list`) or one number of
/// threads, each 1 .. kMaxOpenMpThreads, blanks around them allowed.
inline bool validThreadCounts(const std::string &text, bool list) {
  size_t start = 0;
  int count = 0;
  while (true) {
    size_t end = text.find(',', start);
    std::string item = text.substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    size_t first = item.find_first_not_of(" \t"),
           last = item.find_last_not_of(" \t");
    if (first == std::string::npos)
      return false;
    item = item.substr(first, last - first + 1);
    if (item.find_first_not_of("0123456789") != std::string::npos ||
        item.size() > 5)
      return false;
    long value = std::strtol(item.c_str(), nullptr, 10);
    if (value < 1 || value > kMaxOpenMpThreads)
      return false;
    ++count;
    if (end == std::string::npos)
      return list || count == 1;
    start = end + 1;
  }
}

/// Why OMP_NUM_THREADS or OMP_THREAD_LIMIT would make the OpenMP runtime
/// fail ("" when neither would, or they are unset).
inline std::string openMpEnvironmentProblem() {
  for (const char *name : {"OMP_NUM_THREADS", "OMP_THREAD_LIMIT"}) {
    const char *value = std::getenv(name);
    bool list = std::string(name) == "OMP_NUM_THREADS";
    if (value && !validThreadCounts(value, list))
      return std::string(name) + "='" + value +
             "': expected a number of threads from 1 to " +
             std::to_string(kMaxOpenMpThreads) +
             (list ? " (or a comma-separated list, one per nesting level)"
                   : "") +
             "; the OpenMP runtime would end the process on it (unset it "
             "to use every core)";
  }
  return "";
}

/// The runtime's switches, each 0 or 1 (unset or empty: its default).
inline constexpr const char *kRuntimeSwitches[] = {
    "BREGMAN_PROFILE",     "BREGMAN_TF32",          "BREGMAN_CUDA_GRAPHS",
    "BREGMAN_EMULATE_GPU", "BREGMAN_VERIFY_PASSES", "BREGMAN_PERF"};

/// Whether the switch `name` is on: 1 on, 0 off, unset or empty
/// `byDefault`; any other value counts as `byDefault` too, and
/// environmentProblem() names it.
inline bool switchSetting(const char *name, bool byDefault) {
  const char *value = std::getenv(name);
  if (!value || !*value)
    return byDefault;
  std::string text(value);
  return text == "1" ? true : text == "0" ? false : byDefault;
}

/// Why the switch `name` is neither 0 nor 1 ("" when it is, or unset).
inline std::string switchProblem(const char *name) {
  const char *value = std::getenv(name);
  if (!value || !*value || std::string(value) == "0" ||
      std::string(value) == "1")
    return "";
  return std::string(name) + "='" + value + "': expected 0 or 1";
}
inline std::string switchesProblem() {
  for (const char *name : kRuntimeSwitches)
    if (std::string problem = switchProblem(name); !problem.empty())
      return problem;
  return "";
}

/// What the tools refuse to start with, the first of: an OpenMP setting
/// the OpenMP runtime would end the process on, an unreadable
/// BREGMAN_MEMORY_LIMIT, a switch that is neither 0 nor 1 ("" when none).
inline std::string environmentProblem() {
  for (const std::string &problem :
       {openMpEnvironmentProblem(), memoryLimitProblem(), switchesProblem()})
    if (!problem.empty())
      return problem;
  return "";
}

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_ENVIRONMENT_H
