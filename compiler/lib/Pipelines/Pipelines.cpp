//===- Pipelines.cpp - The CPU and GPU compilation pipelines --------------===//
//
// The pipelines are written as pass-pipeline text so that exactly the same
// sequences can be replayed with bregman-opt (`--bregman-cpu-pipeline`,
// `--bregman-gpu-pipeline`) and inspected in lit tests.
//
//===----------------------------------------------------------------------===//

#include "breg/Pipelines/Pipelines.h"

#include "breg/Conversion/Passes.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::breg;

std::string mlir::breg::bufferizedLinalgPipelineText() {
  return
      // Fuse the elementwise chains of the program first.
      "canonicalize,linalg-fuse-elementwise-ops,canonicalize,cse,"
      // Then each breg op becomes one generic whose outs are θ, v (and m),
      // right before bufferization so that no canonicalization replaces
      // those outs by tensor.empty (they are written, not read): one-shot
      // bufferization then updates the state where it lives. (No
      // eliminate-empty-tensors: it makes result tensors second `restrict`
      // views of argument buffers, an aliasing one-shot analysis cannot see;
      // results that are not updates cost one small copy instead.)
      "convert-breg-to-linalg,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      // Tiny per-group accumulators live on the stack.
      "canonicalize,func.func(promote-buffers-to-stack{max-alloc-size-in-"
      "bytes=256}),buffer-deallocation-pipeline,";
}

std::string mlir::breg::gpuMappingPipelineText(int64_t blockSize) {
  // Each elementwise loop becomes one flat loop, tiled into blocks of
  // `blockSize` threads (a guard instead of min/max bounds, so the launch
  // size is static), and mapped to a gpu.launch.
  return "func.func(breg-collapse-elementwise,convert-linalg-to-parallel-"
         "loops,scf-parallel-loop-tiling{parallel-loop-tile-sizes=" +
         std::to_string(blockSize) +
         " no-min-max-bounds=true},gpu-map-parallel-loops,"
         "convert-parallel-loops-to-gpu),lower-affine,canonicalize,";
}

std::string mlir::breg::cpuPipelineText(const CpuPipelineOptions &options) {
  std::string text = bufferizedLinalgPipelineText();
  // GPU emulation: the kernels of the GPU pipeline, run as loops here.
  if (options.emulateGpu)
    text += gpuMappingPipelineText(options.emulatedBlockSize) +
            "breg-gpu-launch-to-loops,canonicalize,";
  if (options.useBlas)
    text += "breg-matmul-to-library-call,";
  // Elementwise loops (the fused updates among them) become full-width
  // vector code; what is left (reductions, odd bodies) becomes loops.
  if (options.vectorSize > 0)
    text += "func.func(breg-vectorize-elementwise{vector-size=" +
            std::to_string(options.vectorSize) + " parallel-threshold=" +
            std::to_string(options.parallelThreshold) +
            "}),canonicalize,func.func(convert-vector-to-scf{full-unroll=true}),";
  // Chunked loops (scf.forall) run on all cores through OpenMP.
  if (options.parallelThreshold > 0)
    text += "func.func(scf-forall-to-parallel),convert-scf-to-openmp,";
  // finalize-memref-to-llvm before convert-scf-to-cf: OpenMP regions hold
  // memref.alloca_scope ops that must be lowered first.
  text += "convert-linalg-to-loops,lower-affine,expand-strided-metadata,"
          "lower-affine,convert-vector-to-llvm,finalize-memref-to-llvm,"
          "convert-scf-to-cf,canonicalize,"
          "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,";
  text += options.barePtrCallConv
              ? "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
              : "convert-func-to-llvm,";
  // After convert-func-to-llvm: the OpenMP conversion would otherwise
  // convert the functions itself, without the bare-pointer convention.
  if (options.parallelThreshold > 0)
    text += "convert-openmp-to-llvm,";
  text += "convert-cf-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts";
  return text;
}

void mlir::breg::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  // The textual pipeline names passes, so they must be registered (once).
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    registerBregConversionPasses();
  });
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (failed(parsePassPipeline(cpuPipelineText(options), pm, os)))
    llvm::report_fatal_error(llvm::Twine("bregman-cpu-pipeline is malformed: ") +
                             errors);
}

std::string mlir::breg::gpuPipelineText(const GpuPipelineOptions &options) {
  std::string text =
      bufferizedLinalgPipelineText() + gpuMappingPipelineText(options.blockSize);
  if (options.stopAtLaunch)
    return text + "cse";
  // Outline the kernels, attach the target (with libdevice: math in kernels
  // becomes __nv_* calls), lower kernels to NVVM and the host to LLVM calls
  // of the launch ABI, and serialize each kernel module (PTX or cubin). This
  // is upstream's gpu-lower-to-nvvm-pipeline spelled out, because that one
  // attaches its own target without libdevice.
  text += "gpu-kernel-outlining,convert-vector-to-scf,convert-scf-to-cf,"
          "convert-nvvm-to-llvm,convert-func-to-llvm,expand-strided-metadata,"
          "nvvm-attach-target{chip=" +
          options.chip + " features=" + options.features +
          " l=" + options.libdevice +
          "},lower-affine,convert-arith-to-llvm,convert-index-to-llvm,"
          "canonicalize,cse,"
          "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
          "reconcile-unrealized-casts),"
          "gpu-to-llvm,gpu-module-to-binary{format=" +
          options.format +
          "},convert-math-to-llvm,canonicalize,cse,reconcile-unrealized-casts";
  return text;
}

void mlir::breg::buildGpuPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (failed(parsePassPipeline(gpuPipelineText(options), pm, os)))
    llvm::report_fatal_error(llvm::Twine("bregman-gpu-pipeline is malformed: ") +
                             errors);
}

void mlir::breg::registerBregPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "bregman-cpu-pipeline",
      "Lower tensors with breg ops to the LLVM dialect for the CPU",
      buildCpuPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "bregman-gpu-pipeline",
      "Lower tensors with breg ops to GPU kernels (NVVM -> PTX/cubin) and "
      "host code launching them",
      buildGpuPipeline);
}
