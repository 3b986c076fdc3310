//===- CpuJit.h - Compile and run MLIR modules on the CPU -------*- C++ -*-===//
//
// Runs the CPU pipeline on a module and JIT-compiles it with MLIR's
// ExecutionEngine (LLVM O2, instruction selection at O3, for the host CPU).
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
};

/// Where a compilation's time went: the pass pipeline down to the LLVM
/// dialect, LLVM's optimization of the IR, and the rest of the JIT
/// (translation to LLVM IR, instruction selection, register allocation,
/// linking; with an object file, its emission too). Wall seconds, and the
/// process's CPU seconds (the MLIR pipeline runs function passes on several
/// threads).
struct CompilePhases {
  struct Time {
    double wall = 0, cpu = 0;
  };
  Time pipeline, llvmOpt, codegen;
};

/// A compiled module: call its functions through `invoke`.
class CpuExecutable {
public:
  /// Lowers `module` (modified in place) and JIT-compiles it.
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
  explicit CpuExecutable(std::unique_ptr<ExecutionEngine> engine);
  std::unique_ptr<ExecutionEngine> engine;
  CompilePhases compilePhases;
  llvm::StringMap<PackedFunction> entries; // the module's public functions
};

} // namespace breg
} // namespace mlir

#endif // BREG_JIT_CPUJIT_H
