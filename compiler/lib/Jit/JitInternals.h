//===- JitInternals.h - What CpuJit.cpp and SplitCompile.cpp share --------===//

#ifndef BREG_LIB_JIT_JITINTERNALS_H
#define BREG_LIB_JIT_JITINTERNALS_H

#include "breg/Jit/CpuJit.h"

#include "llvm/ADT/StringSet.h"

#include <functional>

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

/// Compiles `module` as `parts` object files, one thread each (`parts` is set
/// to how many were made), and links them into a JIT. Fills `entries` with
/// the packed entry point of every public function and adds LLVM's
/// optimization time to `optTime` (wall: the longest part's; CPU: all
/// parts'). `diagnostics` (what MLIR reported) goes into a failure's message.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
compileSplit(ModuleOp module, const CpuJitOptions &options,
             const std::string &diagnostics, unsigned &parts,
             CompilePhases::Time &optTime,
             llvm::StringMap<CpuExecutable::PackedFunction> &entries);

} // namespace mlir::breg::cpujit

#endif // BREG_LIB_JIT_JITINTERNALS_H
