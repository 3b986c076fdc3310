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
#include <filesystem>
#include <fstream>
#include <unistd.h>

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

// The memory limit comes from the cgroups this process is in and their
// ancestors, in cgroup v2 (memory.max) and v1 (memory.limit_in_bytes):
// the lowest one set anywhere on the way up, "max" read as no limit.
TEST(Environment, CgroupMemoryLimitIsTheLowestOnTheWayUp) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() /
                  ("bregman-cgroup-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto write = [](const fs::path &file, const std::string &text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  };
  write(root / "memory.max", "max\n");
  write(root / "system.slice/memory.max", "8589934592\n");
  write(root / "system.slice/run.scope/memory.max", "max\n");
  write(root / "memory/memory.limit_in_bytes", "9223372036854771712\n");
  write(root / "memory/docker/abc/memory.limit_in_bytes", "4294967296\n");
  auto limitFor = [&](const std::string &selfCgroup) {
    write(root / "self", selfCgroup);
    return bregman::runtime::cgroupMemoryLimit((root / "self").c_str(), root.string());
  };
  // v2: the parent's 8 GiB, though the process's own group and the root say
  // max.
  EXPECT_EQ(limitFor("0::/system.slice/run.scope\n"), uint64_t(8) << 30);
  // v1: the memory hierarchy's own group (4 GiB), among other controllers.
  EXPECT_EQ(limitFor("5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n"),
            uint64_t(4) << 30);
  // Both present (hybrid): the lower.
  EXPECT_EQ(limitFor("4:memory:/docker/abc\n0::/system.slice/run.scope\n"),
            uint64_t(4) << 30);
  // No limit anywhere, an unreadable line, a path that climbs out, no file.
  EXPECT_EQ(limitFor("0::/\n"), 0u);
  EXPECT_EQ(limitFor("garbage\n0::relative\n0::/../../etc\n"), 0u);
  EXPECT_EQ(
      bregman::runtime::cgroupMemoryLimit((root / "missing").c_str(), root.string()),
      0u);
  fs::remove_all(root);
}
