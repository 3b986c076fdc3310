//===- SafeWrite.h - Writers that destroy nothing they did not create -*- C++
//-*-===//
//
// Every file and directory bregman writes goes through here: a unique
// temporary beside the target (`<target>.bregman-tmp-<pid>-XXXXXX`), filled,
// fsynced and renamed into place, so the target is always either the old or
// the new complete content. A target that is not ours to replace (a device,
// a FIFO, a directory with the user's files, a regular file of a format or
// content this project does not write: each writer says which of its own
// files it may replace) is refused and left untouched;
// temporaries of writers that were killed are removed by the next writer of
// the same target. External programs run from an argument vector, never
// through a shell. Errors are WriteError: "<what>: <path>: <reason>".
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_SAFEWRITE_H
#define BREGMAN_RUNTIME_SAFEWRITE_H

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bregman::runtime {

/// A write that failed or was refused; the message names the file.
class WriteError : public std::runtime_error {
public:
  WriteError(const std::string &what, const std::string &path,
             const std::string &reason)
      : std::runtime_error(what + ": " + path + ": " + reason) {}
};

/// Whether `path` still names the file open as `fd` (same device and
/// inode, the name itself not followed): a file this process made may be
/// removed by name only while the name has not been taken over since.
bool namesOpenFile(const std::string &path, int fd);

/// What `path` is when it is not a regular file ("a directory", "a FIFO",
/// "a character device", ...); "" for a regular file or nothing at all.
std::string nonRegularKind(const std::string &path);

/// Says why the existing regular file `path` may not be replaced ("" when
/// it may: a file this project wrote, recognized by its format or marker).
using FileOwnershipCheck = std::function<std::string(const std::string &path)>;
/// Every existing file may be replaced: only for paths inside folders this
/// project made (an artifact being built, its own caches).
FileOwnershipCheck anyExistingFile();
/// Files that begin with `signature` may be replaced (a format's magic);
/// others are "not <format>".
FileOwnershipCheck filesStartingWith(std::string signature, std::string format);

/// Throws WriteError naming both when two of `paths` are one file (by
/// absolute name): the second write would replace the first.
void requireDistinctFiles(const std::vector<std::string> &paths,
                          const std::string &what);

/// Throws WriteError unless `path` could be written now, before any work is
/// done for it: its folder exists and is writable, it is not a directory or
/// another non-regular file, and an existing file passes `owned`. Nothing is
/// created.
void requireWritableFile(const std::string &path, const std::string &what,
                         const FileOwnershipCheck &owned);

/// A file written beside its target and renamed over it by commit(). Until
/// then (and if commit fails, or the object is destroyed first) the target
/// is untouched and the temporary is removed.
class AtomicFile {
public:
  /// `what` names the operation in messages ("writing the checkpoint").
  /// Throws WriteError if the target exists and is not a regular file, or
  /// is one `owned` refuses.
  AtomicFile(std::string path, std::string what,
             const FileOwnershipCheck &owned);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  /// The temporary's descriptor, for writers that write it themselves.
  int fd() const { return descriptor; }
  /// Writes all of `data`; throws WriteError on any failure.
  void write(const void *data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  /// fsync, close, rename over the target, fsync its directory.
  void commit();
  /// Removes the temporary and throws WriteError with `error` (an errno).
  [[noreturn]] void fail(int error);

private:
  void discard();
  std::string path, what, temporary;
  int descriptor = -1;
};

/// The whole of `bytes` as `path`, through an AtomicFile.
void writeFileAtomically(const std::string &path, const std::string &what,
                         std::string_view bytes,
                         const FileOwnershipCheck &owned);

/// Says why an existing, non-empty directory may not be replaced ("" when
/// it may: it is one this project wrote).
using OwnershipCheck = std::function<std::string(const std::string &dir)>;

/// Replaces directory `path` with one that `fill` builds in a unique
/// temporary directory beside it (passed as the argument): an existing
/// non-empty directory only when `owned` says it is ours; empty or absent
/// directories are created. Swapped in atomically (renameat2 exchange, or
/// two renames where the file system lacks it), the old one then removed.
void replaceDirectory(const std::string &path, const std::string &what,
                      const OwnershipCheck &owned,
                      const std::function<void(const std::string &)> &fill);

/// `text` (a command in an environment variable such as $CC, named by
/// `what`) split into words as a POSIX shell splits them, without running
/// one: blanks separate words; single quotes keep everything up to the next
/// one; double quotes keep everything but `\"`, `\\`, `\$`, `` \` `` and
/// backslash-newline; an unquoted backslash keeps the next character.
/// Nothing is expanded, so what a shell would expand or treat as an
/// operator (unquoted `$ ` | & ; < > ( )`, `$` or `` ` `` in double quotes)
/// is refused rather than passed on literally, as is an unterminated quote
/// or a trailing backslash (std::invalid_argument naming `what`).
std::vector<std::string> splitCommandWords(std::string_view text,
                                           const std::string &what);

/// Runs `argv` (argv[0] searched in PATH) without a shell and waits for it.
/// Returns its exit status (128 + signal if killed); `output` receives its
/// stdout and stderr. Throws WriteError if it cannot be started.
int runProgram(const std::vector<std::string> &argv, std::string &output);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_SAFEWRITE_H
