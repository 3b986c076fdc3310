//===- CompileCache.h - Compiled modules kept on disk -----------*- C++ -*-===//
//
// A module compiled once on this machine need not be compiled again by the
// next process: with a cache directory, CpuExecutable::compile stores the
// object files of a compilation under a key that names everything its code
// depends on (the module, the pipeline and LLVM options, LLVM's version, the
// host CPU and its features, the bregman library that runs it), and a later
// compilation of the same key links those objects instead.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_JIT_COMPILECACHE_H
#define BREG_JIT_COMPILECACHE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::breg {

/// One compilation as an entry stores it: the module's public functions
/// (each called through its `_mlir_<name>` wrapper) and the object files of
/// its parts, linked together.
struct CachedCompilation {
  /// The key the entry was stored under (its file name without .bregjit):
  /// an entry renamed or copied to another key ran another step's code.
  std::string key;
  std::vector<std::string> entryNames;
  std::vector<std::string> objects;
};

/// Whether an entry can hold `compilation` (at most 65536 functions with
/// names of at most 4096 bytes, 1024 objects): what the parser accepts.
llvm::Error checkCachedCompilation(const CachedCompilation &compilation);

/// An entry's bytes: "BREGJIT2", the key, the names and the objects (each a
/// u64 length and its bytes), and the SHA-256 of all that before it.
std::string serializeCachedCompilation(const CachedCompilation &compilation);

/// An entry read back; an error names `origin` and what is wrong with it (a
/// wrong header, a length past the end, a checksum that does not match).
/// The caller compares the key with the one it looked up.
llvm::Expected<CachedCompilation>
parseCachedCompilation(llvm::StringRef bytes, llvm::StringRef origin);

/// The compile cache's folder when BREGMAN_COMPILE_CACHE asks for one:
/// "1" → $BREGMAN_CACHE_DIR/jit, else $XDG_CACHE_HOME/bregman/jit, else
/// ~/.cache/bregman/jit (relative values are skipped; none absolute is an
/// error); "0" or unset → "" (no cache); a path starting with '/' → that
/// folder. Anything else is an error naming the variable.
llvm::Expected<std::string> compileCacheDirectoryFromEnvironment();

/// Whether `bytes` begin like an entry of any bregman (BREGJIT1, 2, ...):
/// such a file that does not parse (damaged, or of an earlier format) is
/// the cache's own and is replaced by the next compilation.
bool looksLikeCacheEntry(llvm::StringRef bytes);

} // namespace mlir::breg

#endif // BREG_JIT_COMPILECACHE_H
