//===- CpuJit.h - Compile and run MLIR modules on the CPU -------*- C++ -*-===//
//
// Runs the CPU pipeline on a module and JIT-compiles it (LLVM O2, instruction
// selection at O3, for the host CPU): a module of several functions in parts
// on several threads, linked by ORC; otherwise whole, by MLIR's
// ExecutionEngine.
// Functions take their memrefs as bare pointers, so a caller passes one
// `void *` slot per argument.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_JIT_CPUJIT_H
#define BREG_JIT_CPUJIT_H

#include "breg/Pipelines/Pipelines.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm::orc {
class LLJIT;
} // namespace llvm::orc

namespace mlir {
class ExecutionEngine;
class ModuleOp;
class DialectRegistry;
namespace breg {

/// Inserts every dialect, extension and translation the CPU path needs.
void registerCpuJitDependencies(DialectRegistry &registry);

/// The OpenMP runtime the JIT loads for multi-threaded loops, or "" when
/// this build found none (then keep parallel-threshold at 0).
const char *openMPLibrary();

struct CpuJitOptions {
  CpuPipelineOptions pipeline;
  /// When non-empty, this textual pass pipeline runs instead of the CPU
  /// pipeline (e.g. bregman-gpu-pipeline's, whose host code then launches
  /// its kernels through the runtime's mgpu* functions).
  std::string pipelineText;
  /// Symbols the generated code calls (e.g. bregman_cpu_sgemm), by name.
  llvm::StringMap<void *> symbols;
  /// When non-empty, the IR before and after the pipeline is written here.
  std::string dumpDirectory;
  /// When non-empty, the lowered module is also compiled to this object file
  /// (position-independent, for this host, with packed `_mlir_<name>(void
  /// **)` entry points and its global constructors): an ahead-of-time
  /// artifact, linked into a shared object that the runtime alone can load.
  std::string objectFile;
  /// With an object file: compile only that (an artifact's build, whose
  /// functions are not called in this process); the executable then has no
  /// functions to invoke.
  bool objectOnly = false;
  /// Exported read-only globals added to that object (symbol → bytes, the
  /// bytes NUL-terminated there): what the artifact says about itself.
  llvm::StringMap<std::string> objectConstants;
  /// LLVM's IR optimization level (instruction selection is always
  /// Aggressive). 2, not 3: O3's loop unroller (threshold 300, twice O2's)
  /// turned the vit training step's 24k lines of LLVM IR into 169k, and its
  /// compilation from 15 s into 147 s of CPU, for no measurable run-time gain
  /// on the MLP, ConvNet or vit steps or the fused updates (PERFORMANCE.md).
  unsigned optLevel = 2;
  /// Whether LLVM may unroll loops partially (and at run time), as the
  /// target suggests; full unrolling of loops with a small known trip count
  /// stays. Off: partial unrolling doubled the MLP step's LLVM IR (1.9k →
  /// 3.6k lines) and took its compilation from 139 to 178 ms of CPU, for no
  /// measurable run-time gain on the MLP, ConvNet or vit steps or the fused
  /// updates (PERFORMANCE.md, "Partial loop unrolling").
  bool partialUnroll = false;
  /// Threads that optimize and generate code: a lowered module of several
  /// functions (a step's outlined loop nests) is cut into as many parts of
  /// about equal size, each compiled on a thread of its own into an object
  /// file, and the objects are linked. 0: one per core (at most 8); 1: one
  /// module on the calling thread. Modules with global constructors (GPU
  /// code) or mutable globals are always compiled whole. (A single-function
  /// step is cut only where the pipeline outlined its loop nests: see
  /// `kSplitOutlineNestsMinOps`.)
  unsigned compileThreads = 0;
  /// Whether the IR is verified after every pass of the pipeline (an error
  /// then names the pass that broke it) or only once, after the last: each
  /// verification walks the whole module, and after all ~60 passes they took
  /// a third of the MLP step's pipeline time (PERFORMANCE.md). The test
  /// suite verifies after every pass (BREGMAN_VERIFY_PASSES=1).
  bool verifyEachPass = false;
  /// When non-empty, compilations are kept in this folder and a module
  /// compiled before (same module, options, LLVM, CPU and bregman library)
  /// is linked from there instead of compiled (breg/Jit/CompileCache.h).
  /// Not with an object file or a dump directory. Modules that are not
  /// compiled in parts (constructors, as the GPU host code has, or mutable
  /// or exported globals) are not cached.
  std::string cacheDirectory;
  /// Whether the compiled functions are announced to Linux perf (LLVM's
  /// jitdump listener: `perf record -k 1`, then `perf inject --jit`), so that
  /// a profile names the generated functions instead of bare addresses.
  bool perfProfiling = false;
};

/// The threads `requested` (CpuJitOptions::compileThreads) means here: itself,
/// or for 0 one per core this process may use, at most 8.
unsigned resolveCompileThreads(unsigned requested);

/// The pipeline's `outline-nests-min-ops` for code compiled on several
/// threads: an MLP's training step (about 600 operations at that point) is
/// then 37 functions, which two threads compile as two parts.
constexpr int64_t kSplitOutlineNestsMinOps = 400;

/// Where a compilation's time went: the pass pipeline down to the LLVM
/// dialect, LLVM's optimization of the IR, and the rest of the JIT
/// (translation to LLVM IR, instruction selection, register allocation,
/// linking; with an object file, its emission too). Wall seconds, and the
/// process's CPU seconds (the MLIR pipeline runs function passes on several
/// threads). When several threads compile parts of the module, llvmOpt's
/// wall time is the longest part's and its CPU time all parts'.
struct CompilePhases {
  struct Time {
    double wall = 0, cpu = 0;
  };
  Time pipeline, llvmOpt, codegen;
  /// Object files LLVM made, each on a thread of its own (1: the module
  /// was compiled whole).
  unsigned parts = 1;
  /// Linked from the compile cache: no pipeline, no LLVM; `codegen` holds
  /// the time to hash the module and read and link the entry.
  bool fromCache = false;
};

/// A compiled module: call its functions through `invoke`.
class CpuExecutable {
public:
  /// Lowers `module` (modified in place) and JIT-compiles it; or, when
  /// `options.cacheDirectory` holds it, links it from there (`module` is
  /// then left as it was).
  static llvm::Expected<std::unique_ptr<CpuExecutable>>
  compile(ModuleOp module, const CpuJitOptions &options);
  ~CpuExecutable();

  /// Calls `function` with `args[i]` pointing at the i-th argument's value
  /// (for a memref argument: at a `void *` holding the buffer address).
  llvm::Error invoke(llvm::StringRef function,
                     llvm::MutableArrayRef<void *> args);

  const CompilePhases &phases() const { return compilePhases; }

  using PackedFunction = void (*)(void **);

private:
  static std::unique_ptr<CpuExecutable>
  fromCache(const std::string &cacheFile, const CpuJitOptions &options);
  explicit CpuExecutable(std::unique_ptr<ExecutionEngine> engine);
  explicit CpuExecutable(std::unique_ptr<llvm::orc::LLJIT> jit);
  std::unique_ptr<ExecutionEngine> engine;  // a module compiled whole
  std::unique_ptr<llvm::orc::LLJIT> jit;    // or its parts' objects linked
  CompilePhases compilePhases;
  llvm::StringMap<PackedFunction> entries; // the module's public functions
};

} // namespace breg
} // namespace mlir

#endif // BREG_JIT_CPUJIT_H
