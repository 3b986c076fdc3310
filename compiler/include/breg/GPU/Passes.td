//===- Passes.td - Mapping to the GPU ----------------------*- tablegen -*-===//

#ifndef BREG_GPU_PASSES_TD
#define BREG_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def BregMapLinalgToGpu : Pass<"breg-map-linalg-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Map reductions and multi-dimensional linalg ops on buffers to gpu.launch";
  let description = [{
    Run after bufferization and after GEMMs became library calls. Every
    linalg op with a reduction loop and static bounds becomes one
    `gpu.launch`:

    * a *block reduction* when the combiner is recognised (the yielded value
      is `arith.addf/mulf/maxnumf/minnumf/maximumf/minimumf/addi/...` of the
      output block argument and another value) and each output has enough
      work (R >= `block-reduction-threshold` reduced elements, or fewer than
      32 outputs, and fewer than `thread-outputs-threshold` outputs). Blocks
      of T = 32..256 threads (R/4 rounded up to a power of two); each thread
      folds its elements into 4 independent accumulators (round m: elements
      m*4T + 4t .. m*4T + 4t + 3 by one aligned `vector.load` per input
      where the innermost reduction index is the inputs' contiguous last
      subscript and groups of 4 stay aligned, else m*4T + u*T + t), then
      what is left of a partial round into the first.
      A long range is split into chunks of whole rounds, about
      `target-blocks` blocks over all outputs (grid: splits x outputs). The
      block combines its threads' values by butterfly `gpu.shuffle xor`
      within each warp, the warps' totals through workgroup memory (one
      `gpu.barrier`) and shuffles again (types other than 32-bit: workgroup
      memory and two barriers instead); thread 0 writes the output, or, when
      split, the block's partial into a `memref.alloc`ed [outputs][splits]
      buffer that a second launch (one warp per output, fixed order) folds
      into the output. No atomics: results are the same every run.
    * a *column reduction* where the innermost loop dimension is parallel and
      every input that it indexes reads it as its unit-stride last subscript
      (the reduced dimensions outer: a bias gradient), with a recognised
      combiner and enough work (as above, any number of outputs): blocks of
      C x L threads, C = min(32, outputs rounded up to a power of two)
      consecutive columns along x (a warp reads neighbouring addresses of a
      row), L row lanes along y (rows/4 rounded up to a power of two, at most
      256/C); lane l folds rows l + u*L of each round of 4L rows into 4
      independent accumulators; the lanes meet in workgroup memory in a
      fixed pairwise tree (log2 L barriers); lane 0 writes the column. Many
      rows are split into chunks of at least 4 rounds for about
      `target-blocks` blocks (grid: column tiles x splits), the
      [splits][outputs] partials folded by a second launch of the same kind.
    * otherwise *one thread per output element* (enough outputs to fill the
      device, or a combiner that is not recognised, e.g. several outputs):
      each thread runs the reduction loop in the op's own order.

    All-parallel ops of rank 2 and more (a bias broadcast, a softmax's
    elementwise parts, what `breg-collapse-elementwise` could not flatten)
    become one thread per element, the linear thread index decoded with the
    last dimension fastest, so that neighbouring threads touch neighbouring
    elements (coalesced); outputs the body does not read are not loaded.
    Rank-0 ops (no loop to map) become a launch of one thread. Rank-1
    elementwise ops are left to the upstream mapping (one flat loop). A
    `linalg.fill` of a reduction's output right before it (nothing in
    between touching that buffer) is folded into the reduction's kernel,
    which starts from the fill's value: one launch instead of two. Adjacent
    one-thread launches (scalar work) are merged into one.

    The op's body is cloned into the kernel (`linalg.index` become the
    decoded loop indices), so whatever elementwise work was fused into the
    op runs in the same kernel.
  }];
  let options = [
    Option<"blockReductionThreshold", "block-reduction-threshold", "int64_t",
           /*default=*/"64",
           "Reductions of at least this many elements per output use a block "
           "per output">,
    Option<"threadOutputsThreshold", "thread-outputs-threshold", "int64_t",
           /*default=*/"65536",
           "With at least this many outputs, one thread per output">,
    Option<"targetBlocks", "target-blocks", "int64_t", /*default=*/"528",
           "Blocks a block reduction aims for in all (4 per SM of a "
           "132-SM card): long reductions are split over this many blocks "
           "divided by the number of outputs">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
    "::mlir::affine::AffineDialect", "::mlir::vector::VectorDialect"
  ];
}

def BregGpuFinalizeHost : Pass<"breg-gpu-finalize-host", "::mlir::ModuleOp"> {
  let summary = "Leave the host code of a GPU program without access to device memory";
  let description = [{
    Runs after the mapping to `gpu.launch`. Loads of splat constants become
    constants; scalar values the kernels need (hyper-parameters read from
    rank-0 buffers, and pure arithmetic on them) are recomputed inside each
    launch that uses them, when no operation between the load and the launch
    touches that buffer. With `device-allocations`, `memref.alloc` /
    `memref.dealloc` become `gpu.alloc` / `gpu.dealloc` and constant globals
    that kernels read are copied to device memory (`gpu.memcpy`).
    Then every operation left outside the launches is checked: views,
    allocations, library calls, scalar arithmetic and control flow may stay on
    the host; anything that reads or writes buffer contents is an error naming
    the op (it was not mapped to the GPU and would dereference device memory
    on the host).
  }];
  let options = [
    Option<"deviceAllocations", "device-allocations", "bool",
           /*default=*/"true",
           "Allocate buffers in device memory (off for the CPU emulation)">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

#endif // BREG_GPU_PASSES_TD
