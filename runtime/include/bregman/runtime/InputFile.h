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

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
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

/// The most bytes one input-driven allocation may take: BREGMAN_MEMORY_LIMIT
/// (bytes) when set, else this machine's physical memory.
inline uint64_t &memoryLimitOverride() {
  static uint64_t limit = 0; // 0: not set by the program
  return limit;
}
inline void setMemoryLimit(uint64_t bytes) { memoryLimitOverride() = bytes; }
inline uint64_t memoryLimit() {
  if (memoryLimitOverride())
    return memoryLimitOverride();
  if (const char *env = std::getenv("BREGMAN_MEMORY_LIMIT"))
    if (uint64_t v = std::strtoull(env, nullptr, 10))
      return v;
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : uint64_t(1) << 36;
}

/// Why `count` elements of `elementBytes` each, for `what`, cannot be
/// allocated ("" when they fit the limit). The product is computed in long
/// double, so no count overflows.
inline std::string allocationProblem(long double count, uint64_t elementBytes,
                                     const std::string &what) {
  long double bytes = count * static_cast<long double>(elementBytes);
  uint64_t limit = memoryLimit();
  if (count >= 0 && bytes <= static_cast<long double>(limit))
    return "";
  return what + " would need " + formatBytes(bytes) + " of memory, more than the limit of " +
         formatBytes(limit) + " (this machine's memory, or BREGMAN_MEMORY_LIMIT)";
}

/// Throws E unless `count` × `elementBytes` bytes for `what` fit the limit.
template <typename E>
void requireAllocation(long double count, uint64_t elementBytes, const std::string &what) {
  if (std::string problem = allocationProblem(count, elementBytes, what); !problem.empty())
    throw E(problem);
}

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_INPUTFILE_H
