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
  PassOptions::Option<int64_t> parallelThreshold{
      *this, "parallel-threshold",
      llvm::cl::desc("Loops of at least this many elements run on all "
                     "cores (OpenMP); elementwise ones count the bytes they "
                     "move, in elements of a one-in one-out f32 loop; "
                     "0: single-threaded"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> emulateGpu{
      *this, "emulate-gpu",
      llvm::cl::desc("Map loops to gpu.launch exactly as bregman-gpu-pipeline "
                     "does, then run the launches as loops on the CPU: tests "
                     "the GPU kernels' IR without a GPU"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> emulatedBlockSize{
      *this, "emulated-block-size",
      llvm::cl::desc("Threads per block with emulate-gpu"), llvm::cl::init(256)};
  PassOptions::Option<bool> barePtrCallConv{
      *this, "bare-ptr-call-conv",
      llvm::cl::desc("Pass static memrefs to functions as bare pointers"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> outlineMaxOps{
      *this, "outline-max-ops",
      llvm::cl::desc("Functions of more operations are cut into noinline "
                     "functions of about this many (breg-outline-chunks: "
                     "LLVM's loop passes cost loops times function size)"),
      llvm::cl::init(3000)};
  PassOptions::Option<int64_t> outlineNestsMinOps{
      *this, "outline-nests-min-ops",
      llvm::cl::desc("Functions of more operations have each loop nest "
                     "outlined into a function of its own (identical nests "
                     "merged): the units LLVM compiles in parallel"),
      llvm::cl::init(3000)};
  PassOptions::Option<bool> runtimeAllocator{
      *this, "runtime-allocator",
      llvm::cl::desc("Allocate temporaries through _mlir_memref_to_llvm_alloc "
                     "/ _free, which the runtime implements with a cache of "
                     "freed blocks (a step's buffers are reused, not "
                     "faulted in again on every call)"),
      llvm::cl::init(false)};
};

/// Options of the GPU pipeline (`bregman-gpu-pipeline`).
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA target (sm_90, sm_80, ...)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (e.g. +ptx88); empty: LLVM's NVPTX "
                     "backend takes the lowest PTX ISA version that has the "
                     "chip (sm_80: 7.0, sm_90: 7.8, sm_100: 8.6, sm_120: 8.7)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device binary: isa (PTX text), bin (cubin, needs "
                     "ptxas) or fatbin (cubin and PTX, needs ptxas and "
                     "fatbinary)"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("The CUDA toolkit whose bin/ptxas and bin/fatbinary "
                     "format=bin and fatbin run (empty: MLIR's default, "
                     "CUDA_ROOT/CUDA_HOME/CUDA_PATH or /usr/local/cuda)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("CUDA's libdevice bitcode, linked into every kernel"),
      llvm::cl::init("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc")};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size", llvm::cl::desc("Threads per block"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> barePtrCallConv{
      *this, "bare-ptr-call-conv",
      llvm::cl::desc("Pass the host functions' static memrefs as bare "
                     "pointers (as the CPU pipeline does for the jit)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> stopAtLaunch{
      *this, "stop-at-launch",
      llvm::cl::desc("Stop with inline gpu.launch ops (before outlining and "
                     "NVVM), e.g. to run the kernels on the CPU"),
      llvm::cl::init(false)};
};

/// Which library f32 convolutions call: none (generated), oneDNN
/// (bregman_cpu_conv2d_*) or cuDNN (bregman_gpu_conv2d_*, symmetric padding).
enum class ConvolutionLibrary { None, Cpu, Gpu };

/// The shared front: elementwise fusion, breg -> linalg (f32 convolutions
/// -> library calls first with `library`), one-shot bufferization in place
/// (through the sparsifier for sparse tensors, CPU only), deallocation.
/// `forCpu`: group updates group by group, tiny buffers on the stack; not for
/// GPU programs. `sparseVectorLength`: lanes of the sparse loops (0: scalar).
/// `parallelThreshold` (CPU): the update fused with a compaction of its θ'
/// runs blocks of rows on all cores from this size (0: one thread).
void buildBufferizedLinalgPipeline(OpPassManager &pm,
                                   ConvolutionLibrary library, bool forCpu,
                                   int64_t sparseVectorLength = 16,
                                   int64_t parallelThreshold = 0);

/// The buffers' computations -> gpu.launch (inline) and cuBLAS calls; the
/// host code left touches no buffer contents. `deviceAllocations`: buffers
/// in device memory (gpu.alloc), not for the CPU emulation.
void buildGpuMappingPipeline(OpPassManager &pm, int64_t blockSize,
                             bool deviceAllocations);

/// Tensors with breg ops -> GPU kernels in a gpu.binary plus host code with
/// gpu.launch_func, cuBLAS calls (bregman_gpu_sgemm) and device
/// allocations, all on one stream per call.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// The same pipeline as pass-pipeline text (without the `builtin.module(`
/// anchor), for CpuJitOptions::pipelineText, diagnostics and reproduction
/// with bregman-opt. Parsing it needs the passes registered.
std::string gpuPipelineText(const GpuPipelineOptions &options);

/// Why `options` cannot build the GPU pipeline ("" when they can): a chip
/// not spelled sm_<number>[a|f] (an unknown one aborted LLVM), block-size
/// outside [1, 1024] (-1 launched grids of -998 blocks), a format other than
/// isa, bin or fatbin (accepted, then written nothing).
std::string gpuPipelineOptionsProblem(const GpuPipelineOptions &options);

/// Tensors with breg ops -> LLVM dialect ready for the ExecutionEngine:
/// breg -> linalg, elementwise fusion, one-shot bufferization (in place),
/// deallocation, GEMM library calls, vectorization, loops, LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// The same pipeline as text (what `bregman-opt` runs for
/// `--bregman-cpu-pipeline`), for diagnostics and reproduction.
std::string cpuPipelineText(const CpuPipelineOptions &options);

/// Registers every pass the pipelines' text names (upstream's and breg's),
/// once: what parsing that text needs.
void registerPipelinePasses();

/// Registers `bregman-cpu-pipeline` with the pass registry.
void registerBregPipelines();

} // namespace breg
} // namespace mlir

#endif // BREG_PIPELINES_PIPELINES_H
