//===- CompileCache.cpp - Compiled modules kept on disk -------------------===//
//
// The key, and the entries' reading and writing. An entry is never replaced
// or removed: a damaged one is reported and left alone (the module is then
// compiled, not cached), and of two processes storing the same key the
// first one's file stays.
//
//===----------------------------------------------------------------------===//

#include "JitInternals.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <cerrno>
#include <cstring>
#include <climits>
#include <elf.h>
#include <link.h>
#include <fcntl.h>
#include <limits>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::breg;

namespace {

void warn(const llvm::Twine &message) {
  llvm::errs() << "warning: compile cache: " << message << "\n";
}

/// A folder's problem once per process: it was reported on every load and
/// store, twice per compilation.
void warnOnce(const llvm::Twine &message) {
  static std::mutex mutex;
  static std::set<std::string> said;
  std::string text = message.str();
  std::lock_guard<std::mutex> lock(mutex);
  if (said.insert(text).second)
    warn(text);
}

/// objectIdentity's search: an address, and what identifies the loaded
/// object (executable or shared library) that holds it.
struct ObjectSearch {
  uintptr_t address;
  std::string identity;
};

/// The GNU build-id of the loaded object `info`, in hex; "" if it has none.
std::string buildId(const dl_phdr_info *info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE)
      continue;
    const char *at = reinterpret_cast<const char *>(info->dlpi_addr +
                                                    segment.p_vaddr);
    const char *end = at + segment.p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      const auto *note = reinterpret_cast<const ElfW(Nhdr) *>(at);
      const char *name = at + sizeof(ElfW(Nhdr));
      const char *desc = name + ((note->n_namesz + 3) & ~3u);
      const char *next = desc + ((note->n_descsz + 3) & ~3u);
      if (next > end)
        break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0)
        return llvm::toHex(llvm::StringRef(desc, note->n_descsz), true);
      at = next;
    }
  }
  return "";
}

/// The real path, size and modification time of the loaded object `info`
/// (the executable: /proc/self/exe, since its dlpi_name is empty).
std::string fileIdentity(const dl_phdr_info *info) {
  std::string path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name
                                                         : "/proc/self/exe";
  char resolved[PATH_MAX];
  struct stat st{};
  if (!::realpath(path.c_str(), resolved) || ::stat(resolved, &st) != 0)
    return "";
  return std::string(resolved) + " " + std::to_string(st.st_size) + " " +
         std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

/// What identifies the loaded object that holds `address`: its build-id,
/// else its file's real path, size and modification time; "" if neither
/// can be found. (A rebuilt or upgraded bregman, LLVM or MLIR gets other
/// keys.)
std::string objectIdentity(const void *address) {
  ObjectSearch search{reinterpret_cast<uintptr_t>(address), ""};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) {
        auto *search = static_cast<ObjectSearch *>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &segment = info->dlpi_phdr[i];
          uintptr_t begin = info->dlpi_addr + segment.p_vaddr;
          if (segment.p_type != PT_LOAD || search->address < begin ||
              search->address >= begin + segment.p_memsz)
            continue;
          std::string id = buildId(info);
          search->identity = id.empty() ? fileIdentity(info) : "build-id " + id;
          return 1;
        }
        return 0;
      },
      &search);
  return search.identity;
}

/// The code that makes and runs compiled modules: bregman's JIT, MLIR's
/// passes, LLVM's code generation (each may be a shared library of its
/// own). "" when one cannot be identified.
std::string toolchainIdentity() {
  std::string parts[] = {
      objectIdentity(reinterpret_cast<const void *>(&objectIdentity)),
      objectIdentity(reinterpret_cast<const void *>(&mlir::breg::cpuPipelineText)),
      objectIdentity(reinterpret_cast<const void *>(&llvm::sys::getHostCPUName))};
  std::string text;
  for (const std::string &part : parts) {
    if (part.empty())
      return "";
    text += part + "\n";
  }
  return text;
}

/// The host CPU and its features, in a fixed order.
std::string hostIdentity() {
  std::string text = llvm::sys::getHostCPUName().str();
  std::vector<std::string> features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.push_back((feature.getValue() ? "+" : "-") +
                       feature.getKey().str());
  llvm::sort(features);
  for (const std::string &feature : features)
    text += " " + feature;
  return text;
}

/// Creates the missing folders of `dir` (private to this user, as XDG asks
/// of cache folders); false (with a warning) when one cannot be made.
/// Nothing that exists is touched.
bool makeFolders(const std::string &dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      warnOnce("cannot create " + prefix + ": " + std::strerror(errno) +
           " (nothing cached)");
      return false;
    }
    if (slash == std::string::npos)
      return true;
  }
}

/// Whether `dir` is a folder only this user can write: entries are code
/// this process will run, so a folder others may write into is not used.
/// Missing: false, quietly (nothing cached there yet).
bool trustedFolder(const std::string &dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT)
      warnOnce("cannot use " + dir + ": " + std::strerror(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH))) {
    warnOnce(dir + " is not a folder that only this user can write: not used "
               "(nothing cached)");
    return false;
  }
  return true;
}

/// Entries above this size are refused before they are read (the largest
/// step measured, EfficientNet-B0's training step, is about 0.5 MB).
constexpr off_t kMaxEntryBytes = off_t(1) << 30;

/// The bytes of the regular file at `path`, or nothing: quietly when there
/// is none, with a warning when it cannot be read or is not a plain file
/// of a sensible size.
/// The key an entry's path names: its file name without ".bregjit".
std::string entryKey(const std::string &path) {
  std::string name = path.substr(path.rfind('/') + 1);
  return name.substr(0, name.rfind('.'));
}

std::optional<std::string> readEntry(const std::string &path);

/// Whether the entry at `path` is not ours to replace, or is usable: false
/// only for a regular file that begins like an entry but does not parse or
/// holds another key.
bool usableEntry(const std::string &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > kMaxEntryBytes)
    return true;
  std::optional<std::string> bytes = readEntry(path);
  if (!bytes || !looksLikeCacheEntry(*bytes))
    return true;
  auto compilation = parseCachedCompilation(*bytes, path);
  if (!compilation) {
    llvm::consumeError(compilation.takeError());
    return false;
  }
  return compilation->key == entryKey(path);
}

std::optional<std::string> readEntry(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      warn("cannot read " + path + ": " + std::strerror(errno) +
           " (compiling instead)");
    return std::nullopt;
  }
  struct stat st{};
  std::optional<std::string> bytes;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxEntryBytes) {
    warn(path + " is not a regular file of at most 1 GiB (compiling instead; "
                "the file is left as it is)");
  } else {
    bytes.emplace(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < bytes->size()) {
      ssize_t n = ::read(fd, bytes->data() + got, bytes->size() - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += static_cast<size_t>(n);
    }
    if (got != bytes->size()) {
      warn("cannot read all of " + path + " (compiling instead)");
      bytes.reset();
    }
  }
  ::close(fd);
  return bytes;
}

/// Writes all of `bytes` to `fd` and flushes it to the disk (an entry is
/// never replaced, so a crash must not leave an empty one behind).
bool writeAndSync(int fd, const std::string &bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return ::fsync(fd) == 0;
}

} // namespace

std::string cpujit::compileCachePath(ModuleOp module,
                                     const CpuJitOptions &options) {
  static const std::string toolchain = [] {
    std::string identity = toolchainIdentity();
    if (identity.empty())
      warn("the files of bregman, MLIR or LLVM cannot be identified "
           "(nothing cached)");
    return identity;
  }();
  if (toolchain.empty())
    return "";
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef text) {
    hash.update(text);
    hash.update(llvm::StringRef("\0", 1));
  };
  add("bregman compile cache 1");
  add(LLVM_VERSION_STRING);
  add(toolchain);
  static const std::string host = hostIdentity();
  add(host);
  add(options.pipelineText.empty() ? cpuPipelineText(options.pipeline)
                                   : options.pipelineText);
  add(std::to_string(options.optLevel) + (options.partialUnroll ? "u" : ""));
  std::vector<std::string> symbols;
  for (const auto &symbol : options.symbols)
    symbols.push_back(symbol.getKey().str());
  llvm::sort(symbols);
  add(std::to_string(symbols.size()));
  for (const std::string &symbol : symbols)
    add(symbol);
  std::string text;
  llvm::raw_string_ostream os(text);
  // Spelled out: the defaults follow MLIR's command-line printing options
  // where a tool registers them (elided constants would drop out of the key).
  OpPrintingFlags flags;
  flags.printGenericOpForm()
      .enableDebugInfo(false)
      .elideLargeElementsAttrs(std::numeric_limits<int64_t>::max())
      .elideLargeResourceString(std::numeric_limits<int64_t>::max());
  module->print(os, flags);
  add(text);
  std::string hex = llvm::toHex(hash.final(), /*LowerCase=*/true);
  return options.cacheDirectory + "/" + hex + ".bregjit";
}

std::optional<CachedCompilation>
cpujit::loadCachedCompilation(const std::string &path) {
  if (!trustedFolder(path.substr(0, path.rfind('/'))))
    return std::nullopt;
  std::optional<std::string> bytes = readEntry(path);
  if (!bytes)
    return std::nullopt;
  auto compilation = parseCachedCompilation(*bytes, path);
  if (!compilation) {
    warn(llvm::toString(compilation.takeError()) +
         (looksLikeCacheEntry(*bytes)
              ? " (compiling instead; the entry is replaced)"
              : " (compiling instead; the file is left as it is)"));
    return std::nullopt;
  }
  if (compilation->key != entryKey(path)) {
    warn(path + " holds the entry of key '" + compilation->key +
         "' (renamed or copied from another entry; compiling instead; the "
         "entry is replaced)");
    return std::nullopt;
  }
  return std::move(*compilation);
}

void cpujit::storeCachedCompilation(const std::string &path,
                                    CachedCompilation compilation) {
  compilation.key = entryKey(path);
  if (llvm::Error err = checkCachedCompilation(compilation)) {
    warn(llvm::toString(std::move(err)) + " (nothing cached)");
    return;
  }
  std::string dir = path.substr(0, path.rfind('/'));
  if (!makeFolders(dir) || !trustedFolder(dir))
    return;
  std::string temporary = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(temporary.data());
  if (fd < 0) {
    warn("cannot create a file in " + dir + ": " + std::strerror(errno) +
         " (nothing cached)");
    return;
  }
  bool wrote = writeAndSync(fd, serializeCachedCompilation(compilation));
  int writeError = errno;
  bool closed = ::close(fd) == 0;
  if (!wrote || !closed)
    warn("cannot write " + temporary + ": " +
         std::strerror(wrote ? errno : writeError) + " (nothing cached)");
  // link() never replaces: an entry another process stored first stays,
  // unless it is one of ours that cannot be used (damaged, of an earlier
  // format, under another key), which would cost a compilation every run.
  else if (::link(temporary.c_str(), path.c_str()) != 0 &&
           !(errno == EEXIST && !usableEntry(path) &&
             ::rename(temporary.c_str(), path.c_str()) == 0) &&
           errno != EEXIST)
    warn("cannot store " + path + ": " + std::strerror(errno) +
         " (nothing cached)");
  ::unlink(temporary.c_str()); // ours, made by mkstemp above
}
