//===- InputFile.h - Checks on input files and input-driven sizes -*- C++ -*-===//
//
// Two checks every parser makes before it trusts its input:
//
//  * requireRegularFile: a file we are about to read must be a regular file.
//    Opening a FIFO blocks forever and a directory fails late with a vague
//    message, so both are refused up front, naming what the file was for.
//  * requireAllocation: a size read from a file or given on the command line
//    is checked against a memory limit before anything is allocated, so a
//    hostile header fails with a message instead of allocating gigabytes.
//
// Header-only and free of the other layers' error types: callers choose the
// exception (bregman::Error, data::DataError, std::runtime_error).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_INPUTFILE_H
#define BREGMAN_RUNTIME_INPUTFILE_H

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bregman::runtime {

/// Why `path` cannot be read as `what` ("" when it is a regular file).
inline std::string regularFileProblem(const std::string &path, const std::string &what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return path + ": cannot open the " + what + ": " + std::strerror(errno);
  if (S_ISREG(st.st_mode))
    return "";
  const char *kind = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                                            : "not a regular file";
  return path + ": the " + what + " must be a regular file, but this is " + kind;
}

/// Throws E naming `path` and `what` unless `path` is a regular file.
template <typename E>
void requireRegularFile(const std::string &path, const std::string &what) {
  if (std::string problem = regularFileProblem(path, what); !problem.empty())
    throw E(problem);
}

/// `text` with its control characters as \xNN: a name read from a file may
/// hold a NUL, which ended the error message that quoted it (what() is a C
/// string), or escape sequences for the user's terminal.
inline std::string printableText(const std::string &text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (ch < 0x20 || ch == 0x7f) {
      const char *digits = "0123456789abcdef";
      out += "\\x";
      out += digits[ch >> 4];
      out += digits[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

/// Bytes as "1.5 GiB", for messages.
inline std::string formatBytes(long double bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof(text), u == 0 ? "%.0Lf %s" : "%.1Lf %s", bytes, units[u]);
  return text;
}

/// A size in bytes as people write it: digits, optionally a unit K, M, G, T
/// (powers of 1024; "KiB", "KB" and lower case alike). 0 when `text` is
/// none, or it is 0 or beyond 2^63.
inline uint64_t parseByteCount(const char *text) {
  char *end = nullptr;
  if (!text || !std::isdigit(static_cast<unsigned char>(*text)))
    return 0;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0)
    return 0;
  std::string unit(end);
  for (char &c : unit)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const char *units = "KMGT";
  int shift = 0;
  if (!unit.empty()) {
    const char *at = std::strchr(units, unit[0]);
    if (!at ||
        !(unit.size() == 1 || unit.substr(1) == "B" || unit.substr(1) == "IB"))
      return 0;
    shift = 10 * static_cast<int>(at - units + 1);
  }
  if (value > (uint64_t(1) << (63 - shift)))
    return 0;
  return static_cast<uint64_t>(value) << shift;
}

/// Why BREGMAN_MEMORY_LIMIT cannot be read ("" when unset or readable): it
/// took "8G" for 8 bytes and "-1" for 2^64 - 1 (no limit at all).
inline std::string memoryLimitProblem() {
  const char *env = std::getenv("BREGMAN_MEMORY_LIMIT");
  if (!env || !*env || parseByteCount(env) > 0)
    return "";
  return std::string("BREGMAN_MEMORY_LIMIT='") + env +
         "': expected a positive size in bytes, optionally with a unit (K, M, "
         "G, T: 512M, 8G)";
}

/// The lowest memory limit of the cgroups this process is in and of their
/// ancestors, 0 when none is set or readable: cgroup v2's memory.max from
/// the process's own group up to the root, and v1's memory.limit_in_bytes
/// likewise in the memory hierarchy. `selfCgroup` is /proc/self/cgroup's
/// text ("id:controllers:path" lines), `root` the cgroup mount. (A limit set
/// on a nested group, as systemd and container runtimes set them, was
/// missed when only the mount's top memory.max was read.)
inline uint64_t cgroupMemoryLimit(const char *selfCgroup = "/proc/self/cgroup",
                                  const std::string &root = "/sys/fs/cgroup") {
  uint64_t lowest = 0;
  auto walkUp = [&](const std::string &mount, std::string path,
                    const char *file) {
    while (true) {
      if (std::FILE *f = std::fopen((mount + path + "/" + file).c_str(), "r")) {
        unsigned long long limit = 0; // "max" when unlimited: not read
        if (std::fscanf(f, "%llu", &limit) == 1 && limit > 0 &&
            (lowest == 0 || limit < lowest))
          lowest = limit;
        std::fclose(f);
      }
      if (path.empty())
        return;
      path.erase(path.rfind('/'));
    }
  };
  std::FILE *in = std::fopen(selfCgroup, "r");
  if (!in)
    return 0;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, in)) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    std::string controllers =
        "," + line.substr(first + 1, second - first - 1) + ",";
    std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/' || path.find("/..") != std::string::npos)
      continue;
    if (path == "/")
      path.clear();
    if (controllers == ",,")
      walkUp(root, path, "memory.max");
    else if (controllers.find(",memory,") != std::string::npos)
      walkUp(root + "/memory", path, "memory.limit_in_bytes");
  }
  std::fclose(in);
  return lowest;
}

/// The memory this process may use: the machine's physical memory, lowered
/// by the address-space and data rlimits (ulimit -v, -d) and by the cgroups'
/// memory limits (a container's: cgroupMemoryLimit). Read once. Under `ulimit
/// -v 6000000` a 13 GiB tensor passed the physical 23.5 GiB, and the compiled
/// code that wrote it failed to allocate it.
inline uint64_t processMemoryBytes() {
  static const uint64_t bytes = [] {
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    uint64_t most = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page)
                                          : uint64_t(1) << 36;
    for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
      struct rlimit limit;
      if (::getrlimit(resource, &limit) == 0 &&
          limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < most)
        most = limit.rlim_cur;
    }
    if (uint64_t cgroup = cgroupMemoryLimit(); cgroup > 0 && cgroup < most)
      most = cgroup;
    return most;
  }();
  return bytes;
}

/// The most bytes one input-driven allocation (and, above 64 MiB, one
/// traced value or host tensor of the DSL) may take: BREGMAN_MEMORY_LIMIT
/// when set (memoryLimitProblem says when it is unreadable: then this is
/// ignored), else processMemoryBytes().
inline uint64_t &memoryLimitOverride() {
  static uint64_t limit = 0; // 0: not set by the program
  return limit;
}
inline void setMemoryLimit(uint64_t bytes) { memoryLimitOverride() = bytes; }
inline uint64_t memoryLimit() {
  if (memoryLimitOverride())
    return memoryLimitOverride();
  if (uint64_t v = parseByteCount(std::getenv("BREGMAN_MEMORY_LIMIT")))
    return v;
  return processMemoryBytes();
}

/// Why `count` elements of `elementBytes` each, for `what`, cannot be
/// allocated ("" when they fit the limit). The product is computed in long
/// double, so no count overflows.
inline std::string allocationProblem(long double count, uint64_t elementBytes,
                                     const std::string &what) {
  if (std::string problem = memoryLimitProblem(); !problem.empty())
    return what + ": " + problem;
  long double bytes = count * static_cast<long double>(elementBytes);
  uint64_t limit = memoryLimit();
  if (count >= 0 && bytes <= static_cast<long double>(limit))
    return "";
  return what + " would need " + formatBytes(bytes) +
         " of memory, more than the limit of " + formatBytes(limit) +
         " (the memory this process may use: the machine's, ulimit -v, a "
         "container's; or BREGMAN_MEMORY_LIMIT)";
}

/// Throws E unless `count` × `elementBytes` bytes for `what` fit the limit.
template <typename E>
void requireAllocation(long double count, uint64_t elementBytes, const std::string &what) {
  if (std::string problem = allocationProblem(count, elementBytes, what); !problem.empty())
    throw E(problem);
}

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_INPUTFILE_H
