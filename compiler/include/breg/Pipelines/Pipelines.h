//===- Pipelines.h - Named compilation pipelines ----------------*- C++ -*-===//

#ifndef BREG_PIPELINES_PIPELINES_H
#define BREG_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include <string>

namespace mlir {
class OpPassManager;
namespace breg {

/// Options of the CPU pipeline (`bregman-cpu-pipeline`).
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> useBlas{
      *this, "use-blas",
      llvm::cl::desc("Lower linalg.matmul to the runtime's GEMM library call"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> vectorSize{
      *this, "vector-size",
      llvm::cl::desc("Vector width for elementwise loops (0: leave them to "
                     "LLVM's loop vectorizer)"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> barePtrCallConv{
      *this, "bare-ptr-call-conv",
      llvm::cl::desc("Pass static memrefs to functions as bare pointers"),
      llvm::cl::init(true)};
};

/// Tensors with breg ops -> LLVM dialect ready for the ExecutionEngine:
/// breg -> linalg, elementwise fusion, one-shot bufferization (in place),
/// deallocation, GEMM library calls, vectorization, loops, LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// The same pipeline in textual form (what `bregman-opt` runs for
/// `--bregman-cpu-pipeline`), for diagnostics and reproduction.
std::string cpuPipelineText(const CpuPipelineOptions &options);

/// Registers `bregman-cpu-pipeline` with the pass registry.
void registerBregPipelines();

} // namespace breg
} // namespace mlir

#endif // BREG_PIPELINES_PIPELINES_H
