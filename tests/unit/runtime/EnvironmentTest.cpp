//===- EnvironmentTest.cpp - Settings read from the environment -----------===//
//
// BREGMAN_MEMORY_LIMIT took "8G" for 8 bytes and "-1" for no limit; the
// OpenMP runtime ended the process on OMP_NUM_THREADS='' or 'abc'; the
// runtime's switches read any value but their one as the other. Each is
// read or refused by name now.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/Environment.h"
#include "bregman/runtime/InputFile.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace bregman::runtime;

namespace {

/// Sets `name` to `value` (null: unsets it) for the scope.
struct ScopedVariable {
  std::string name;
  ScopedVariable(const char *n, const char *value) : name(n) {
    if (value)
      ::setenv(n, value, 1);
    else
      ::unsetenv(n);
  }
  ~ScopedVariable() { ::unsetenv(name.c_str()); }
};

} // namespace

TEST(Environment, ByteCountsTakeUnits) {
  EXPECT_EQ(parseByteCount("4096"), 4096u);
  EXPECT_EQ(parseByteCount("512M"), 512ull << 20);
  EXPECT_EQ(parseByteCount("8G"), 8ull << 30);
  EXPECT_EQ(parseByteCount("8gib"), 8ull << 30);
  EXPECT_EQ(parseByteCount("2TB"), 2ull << 40);
  EXPECT_EQ(parseByteCount("1K"), 1024u);
  for (const char *bad : {"", "-1", "abc", "1e9", "8 G", "8X", "8GG", "0",
                          "99999999999999999999", "9000000000T"})
    EXPECT_EQ(parseByteCount(bad), 0u) << bad;
  EXPECT_EQ(parseByteCount(nullptr), 0u);
}

TEST(Environment, TheMemoryLimitIsReadOrRefusedByName) {
  {
    ScopedVariable limit("BREGMAN_MEMORY_LIMIT", "1K");
    EXPECT_EQ(memoryLimitProblem(), "");
    EXPECT_EQ(memoryLimit(), 1024u);
    EXPECT_NE(allocationProblem(2048, 1, "x").find("more than the limit of 1.0 KiB"),
              std::string::npos);
  }
  ScopedVariable limit("BREGMAN_MEMORY_LIMIT", "-1");
  EXPECT_NE(memoryLimitProblem().find("BREGMAN_MEMORY_LIMIT='-1': expected a "
                                      "positive size in bytes"),
            std::string::npos);
  // Unreadable, it limits nothing by itself: every allocation says why.
  EXPECT_NE(allocationProblem(1, 4, "x").find("x: BREGMAN_MEMORY_LIMIT='-1'"),
            std::string::npos);
}

TEST(Environment, OpenMpSettingsTheRuntimeWouldEndTheProcessOn) {
  for (const char *good : {"1", "2", " 4 ", "4,2", "4096"}) {
    ScopedVariable threads("OMP_NUM_THREADS", good);
    EXPECT_EQ(openMpEnvironmentProblem(), "") << good;
  }
  for (const char *bad : {"", "abc", "0", "-1", "2,abc", "100000", "4,", ",4",
                          "2.5"}) {
    ScopedVariable threads("OMP_NUM_THREADS", bad);
    EXPECT_EQ(openMpEnvironmentProblem().rfind(
                  std::string("OMP_NUM_THREADS='") + bad + "': expected", 0),
              0u)
        << bad;
  }
  ScopedVariable limit("OMP_THREAD_LIMIT", "4,2"); // one number only
  EXPECT_EQ(openMpEnvironmentProblem().rfind("OMP_THREAD_LIMIT='4,2'", 0), 0u);
}

TEST(Environment, SwitchesAreZeroOrOne) {
  EXPECT_FALSE(switchSetting("BREGMAN_PROFILE", false));
  EXPECT_TRUE(switchSetting("BREGMAN_CUDA_GRAPHS", true));
  {
    ScopedVariable on("BREGMAN_PROFILE", "1");
    EXPECT_TRUE(switchSetting("BREGMAN_PROFILE", false));
    EXPECT_EQ(switchesProblem(), "");
  }
  {
    ScopedVariable off("BREGMAN_CUDA_GRAPHS", "0");
    EXPECT_FALSE(switchSetting("BREGMAN_CUDA_GRAPHS", true));
  }
  ScopedVariable yes("BREGMAN_PROFILE", "yes");
  EXPECT_FALSE(switchSetting("BREGMAN_PROFILE", false)) << "its default";
  EXPECT_EQ(switchesProblem(), "BREGMAN_PROFILE='yes': expected 0 or 1");
}
