//===- Passes.td - Conversions out of breg ----------------*- tablegen -*-===//

#ifndef BREG_CONVERSION_PASSES_TD
#define BREG_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertBregToLinalg : Pass<"convert-breg-to-linalg"> {
  let summary = "Lower each breg op to one fused linalg.generic";
  let description = [{
    Every `breg` update or prox becomes a single elementwise `linalg.generic`
    on tensors whose scalar hyper-parameters are `ins` with a rank-0 indexing
    map. Updates write into their state operands (θ, v, m are the generic's
    `outs`), so that one-shot bufferization updates them in place.
    Group regularisers add a group-norm reduction; with `tile-groups` the
    update runs group by group with its group's norm fused in (for the CPU's
    caches), without it as two whole passes (the GPU's: one reduction kernel
    and one elementwise kernel instead of launches per group).
  }];
  let options = [
    Option<"tileGroups", "tile-groups", "bool", /*default=*/"true",
           "Run group updates group by group (CPU); false: two whole passes">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::bufferization::BufferizationDialect"
  ];
}

def BregMatmulToLibraryCall : Pass<"breg-matmul-to-library-call", "::mlir::ModuleOp"> {
  let summary = "Replace linalg.matmul on contiguous memrefs by a GEMM library call";
  let description = [{
    After bufferization, each `linalg.matmul` whose operands are static,
    contiguous f32 buffers (plain or transposed through its indexing maps)
    becomes a call of `bregman_cpu_sgemm(transA, transB, M, N, K, beta, A, B, C)`,
    which the runtime implements with a tuned BLAS. A zero `linalg.fill` of the
    output right before the matmul is folded into beta = 0. Matmuls that do
    not fit stay as they are and are lowered to loops. The GPU pipeline names
    another symbol (`bregman_gpu_sgemm`, cuBLAS on device pointers).
  }];
  let options = [
    Option<"symbol", "symbol", "std::string", /*default=*/"\"bregman_cpu_sgemm\"",
           "The GEMM function called (same signature on every device)">
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregFuseElementwise : Pass<"breg-fuse-elementwise"> {
  let summary = "Elementwise fusion into all-parallel consumers only";
  let description = [{
    `linalg-fuse-elementwise-ops` (elementwise fusion, reshape propagation by
    expansion, constant folding) with a control that fuses a single-use
    producer only into a consumer whose loops are all parallel, and folds
    reshapes only through all-parallel ops. Contractions (matmuls) and
    reductions stay as they are: a matmul keeps its library call, and no
    producer is recomputed inside a reduction loop.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::affine::AffineDialect"
  ];
}

def BregConvToLibraryCall : Pass<"breg-conv-to-library-call", "::mlir::ModuleOp"> {
  let summary = "Replace f32 breg convolutions by calls of the convolution library";
  let description = [{
    Runs before bufferization. Each `breg.conv2d`, `breg.conv2d_grad_input`
    and `breg.conv2d_grad_filter` on f32 tensors becomes

      %x = bufferization.to_buffer %lhs read_only     (and %rhs)
      %y = memref.alloc()
      func.call @bregman_cpu_conv2d_forward(<geometry>, x, w, y)   (or _grad_input / _grad_filter)
      %r = bufferization.to_tensor %y restrict writable

    with the geometry as 16 index values (N, C, H, W, F, KH, KW, OH, OW,
    stride H/W, padding top/left, dilation H/W, groups) and the buffers as
    aligned base addresses. The runtime implements the symbols with oneDNN
    (see runtime/src/CpuConvDnnl.cpp). Other element types are left to
    `convert-breg-to-linalg`.
  }];
  let options = [
    Option<"symbolPrefix", "symbol-prefix", "std::string",
           /*default=*/"\"bregman_cpu_conv2d\"",
           "The functions called are <prefix>_forward, _grad_input and "
           "_grad_filter (bregman_gpu_conv2d: cuDNN on device pointers)">,
    Option<"requireSymmetricPadding", "require-symmetric-padding", "bool",
           /*default=*/"false",
           "Leave convolutions with top != bottom or left != right padding "
           "to convert-breg-to-linalg (cuDNN pads symmetrically)">
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect"
  ];
}

def BregVectorizeElementwise : Pass<"breg-vectorize-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Vectorize elementwise linalg.generic ops on buffers";
  let description = [{
    For each all-parallel `linalg.generic` with static loop ranges and buffer
    semantics (run after bufferization): collapse its loops to one when every
    operand is a contiguous buffer read elementwise (the fused Bregman updates
    become a single loop over the parameter), tile the innermost loop by the
    widest power of two up to `vector-size` that divides it, with `scf.for`,
    and vectorize the tile with `linalg::vectorize` (full vectors, no masks).
    Ops that cannot be vectorized, or whose innermost loop is odd, are left
    for `convert-linalg-to-loops`.
  }];
  let options = [
    Option<"vectorSize", "vector-size", "int64_t", /*default=*/"16",
           "Elements per vector (16 f32 = one AVX-512 register)">,
    Option<"parallelThreshold", "parallel-threshold", "int64_t",
           /*default=*/"0",
           "Loops of at least this many elements are split into chunks run "
           "by an scf.forall (threads, through OpenMP); 0: never">
  ];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregCollapseElementwise : Pass<"breg-collapse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Collapse elementwise linalg.generic ops on contiguous buffers to one loop";
  let description = [{
    An all-parallel `linalg.generic` whose buffers are all contiguous and read
    or written with identity maps (the fused Bregman updates) becomes a
    generic over one dimension, through `memref.collapse_shape`: one flat
    loop, which the GPU pipeline tiles into blocks and threads.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BregGpuLaunchToLoops : Pass<"breg-gpu-launch-to-loops", "::mlir::ModuleOp"> {
  let summary = "Execute gpu.launch regions on the CPU as scf.parallel loops";
  let description = [{
    Runs the kernel IR that goes to NVVM on a machine without a GPU. Each
    `gpu.launch` (not async, no clusters, no dynamic shared memory, a body of
    one block) becomes an `scf.parallel` over the grid (block ids) holding an
    `scf.parallel` over the block (thread ids). Workgroup attributions become
    a `memref.alloca` per block, private attributions a `memref.alloca` per
    thread, in the default memory space (the CPU has one). The body is moved
    in, its region arguments and the `gpu.block_id`, `gpu.thread_id`,
    `gpu.block_dim`, `gpu.grid_dim` and `gpu.global_id` ops becoming the loop
    induction variables and the launch sizes; `gpu.terminator` goes away.
    Bodies with `gpu.barrier` (threads of a block run one after another here,
    so a barrier cannot be honoured), or with other GPU ops that need
    threads to communicate, are rejected with an error.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregCopiesToLinalg : Pass<"breg-copies-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Turn memref.copy into linalg.copy";
  let description = [{
    Copies that bufferization leaves (results that are not updated in place)
    become `linalg.copy`, so that the GPU mapping turns them into kernels like
    any other elementwise loop instead of leaving a host-side copy of device
    memory.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

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
      32 outputs, and fewer than `thread-outputs-threshold` outputs): one
      block per output element; each thread folds a strided slice of the
      reduction into a partial, partials meet in workgroup memory, 32 threads
      fold them to 32 values and thread 0 combines those with the old output.
      Two `gpu.barrier`s separate the phases.
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
           "With at least this many outputs, one thread per output">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
    "::mlir::affine::AffineDialect"
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

#endif // BREG_CONVERSION_PASSES_TD
