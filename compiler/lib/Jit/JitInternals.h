//===- JitInternals.h - What CpuJit.cpp and SplitCompile.cpp share --------===//

#ifndef BREG_LIB_JIT_JITINTERNALS_H
#define BREG_LIB_JIT_JITINTERNALS_H

#include "breg/Jit/CompileCache.h"
#include "breg/Jit/CpuJit.h"

#include "llvm/ADT/StringSet.h"

#include <functional>
#include <optional>

namespace llvm {
class Module;
class TargetMachine;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace mlir::breg::cpujit {

/// LLVM's optimization pipeline at `options.optLevel` for `tm`'s target.
std::function<llvm::Error(llvm::Module *)>
makeOptimizer(const CpuJitOptions &options, llvm::TargetMachine *tm);

/// Adds `_mlir_<f>(void **args)` for every defined function f with external
/// linkage (of those in `only`, when given).
void addPackedWrappers(llvm::Module &module,
                       const llvm::StringSet<> *only = nullptr);

/// The public functions of `module` (lowered to the LLVM dialect): those a
/// caller may invoke. (Local helpers, such as breg.compress_rows's, are
/// inlined into the functions that call them and have no symbol of their
/// own.)
llvm::StringSet<> publicFunctions(ModuleOp module);

/// The OpenMP runtime the JIT loads for the module's multi-threaded loops:
/// "" when `options` asks for none, an error when this build found none.
llvm::Expected<const char *> openMPRuntime(const CpuJitOptions &options);

/// Into how many modules `module` (lowered to the LLVM dialect) is cut for
/// compilation on as many threads: 1 when it holds fewer functions, when
/// `options.compileThreads` is 1, or when it has constructors or mutable
/// globals (which need one module).
unsigned compilePartitions(ModuleOp module, const CpuJitOptions &options);

/// Whether `module` (lowered to the LLVM dialect) can be compiled by
/// compileSplit: only functions and local constants (no constructors, no
/// mutable or exported globals).
bool splittable(ModuleOp module);

/// Compiles `module` as `parts` object files, one thread each (`parts` is set
/// to how many were made), and links them into a JIT. Fills `entries` with
/// the packed entry point of every public function and adds LLVM's
/// optimization time to `optTime` (wall: the longest part's; CPU: all
/// parts'). `diagnostics` (what MLIR reported) goes into a failure's message.
/// With `kept`, the object files and the public functions' names are copied
/// there (for the compile cache).
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
compileSplit(ModuleOp module, const CpuJitOptions &options,
             const std::string &diagnostics, unsigned &parts,
             CompilePhases::Time &optTime,
             llvm::StringMap<CpuExecutable::PackedFunction> &entries,
             CachedCompilation *kept = nullptr);

/// Links `compilation`'s object files into a fresh JIT and fills `entries`
/// with its public functions' packed entry points.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
linkCompilation(const CachedCompilation &compilation,
                const CpuJitOptions &options,
                llvm::StringMap<CpuExecutable::PackedFunction> &entries);

/// The cache file for `module` (before the pipeline) under
/// `options.cacheDirectory`: a SHA-256 of everything the compiled code
/// depends on. "" when the bregman library's own file cannot be identified
/// (then nothing is cached).
std::string compileCachePath(ModuleOp module, const CpuJitOptions &options);

/// The cached compilation at `path`: nothing when there is none; a warning
/// on stderr and nothing when it cannot be read, is damaged or holds
/// another key's entry (the file is left as it is unless it is the cache's
/// own: then the next store replaces it).
std::optional<CachedCompilation> loadCachedCompilation(const std::string &path);

/// Writes `compilation` under `path`'s key to `path` through a new
/// temporary file in the same folder, linked to `path` only if no file is
/// there (one another process stored is kept) or the one there is an
/// unusable entry of the cache's; creates missing folders. Failures are
/// warnings.
void storeCachedCompilation(const std::string &path,
                            CachedCompilation compilation);

} // namespace mlir::breg::cpujit

#endif // BREG_LIB_JIT_JITINTERNALS_H
