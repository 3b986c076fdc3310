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
#include <dlfcn.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::breg;

namespace {

void warn(const llvm::Twine &message) {
  llvm::errs() << "warning: compile cache: " << message << "\n";
}

/// The file holding this code (libbregman.so, or the executable it is
/// linked into), with its size and modification time: a rebuilt library
/// (another runtime ABI, other passes) gets other keys. "" when unknown.
std::string libraryIdentity() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void *>(&libraryIdentity), &info) ||
      !info.dli_fname)
    return "";
  struct stat st{};
  if (::stat(info.dli_fname, &st) != 0)
    return "";
  return std::string(info.dli_fname) + " " + std::to_string(st.st_size) +
         " " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
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

/// Creates the missing folders of `dir`; false (with a warning) when one
/// cannot be made. Nothing that exists is touched.
bool makeFolders(const std::string &dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      warn("cannot create " + prefix + ": " + std::strerror(errno) +
           " (nothing cached)");
      return false;
    }
    if (slash == std::string::npos)
      return true;
  }
}

} // namespace

std::string cpujit::compileCachePath(ModuleOp module,
                                     const CpuJitOptions &options) {
  static const std::string library = libraryIdentity();
  if (library.empty())
    return "";
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef text) {
    hash.update(text);
    hash.update(llvm::StringRef("\0", 1));
  };
  add("bregman compile cache 1");
  add(LLVM_VERSION_STRING);
  add(library);
  static const std::string host = hostIdentity();
  add(host);
  add(options.pipelineText.empty() ? cpuPipelineText(options.pipeline)
                                   : options.pipelineText);
  add(std::to_string(options.optLevel) + (options.partialUnroll ? "u" : ""));
  std::vector<std::string> symbols;
  for (const auto &symbol : options.symbols)
    symbols.push_back(symbol.getKey().str());
  llvm::sort(symbols);
  for (const std::string &symbol : symbols)
    add(symbol);
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  add(text);
  std::string hex = llvm::toHex(hash.final(), /*LowerCase=*/true);
  return options.cacheDirectory + "/" + hex + ".bregjit";
}

std::optional<CachedCompilation>
cpujit::loadCachedCompilation(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt; // not compiled on this machine yet
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in.good() && !in.eof()) {
    warn("cannot read " + path + " (compiling instead)");
    return std::nullopt;
  }
  auto compilation = parseCachedCompilation(bytes.str(), path);
  if (!compilation) {
    warn(llvm::toString(compilation.takeError()) +
         " (compiling instead; the file is left as it is)");
    return std::nullopt;
  }
  return std::move(*compilation);
}

void cpujit::storeCachedCompilation(const std::string &path,
                                    const CachedCompilation &compilation) {
  std::string dir = path.substr(0, path.rfind('/'));
  if (!makeFolders(dir))
    return;
  std::string temporary = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(temporary.data());
  if (fd < 0) {
    warn("cannot create a file in " + dir + ": " + std::strerror(errno) +
         " (nothing cached)");
    return;
  }
  std::string bytes = serializeCachedCompilation(compilation);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    written += static_cast<size_t>(n);
  }
  bool wroteAll = written == bytes.size();
  bool closed = ::close(fd) == 0;
  if (!wroteAll || !closed)
    warn("cannot write " + temporary + ": " + std::strerror(errno) +
         " (nothing cached)");
  // link() never replaces: an entry another process stored first stays.
  else if (::link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST)
    warn("cannot store " + path + ": " + std::strerror(errno) +
         " (nothing cached)");
  ::unlink(temporary.c_str()); // ours, made by mkstemp above
}
