//===- Passes.td - Conversions out of breg and linalg ------*- tablegen -*-===//

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
    `breg.compress_rows` (a sequential compaction) becomes loops instead
    (CompressRowsToLoops.cpp): with `compress-vector-length` V > 0 (the
    CPU's) rows read V columns at a time, the non-zeros packed in registers
    by LLVM's `vector.compress` (`llvm.call_intrinsic`) and stored into new
    buffers; with 0 (the GPU's) two scalar `scf.for` loops on tensors.
    With V > 0, a compaction of an update's θ' (the training step on CSR)
    is lowered together with that update (CompressRowsWithUpdate.cpp): one
    loop nest that runs the update's body on V lanes and packs θ' from
    registers, blocks of rows in parallel above
    `compress-parallel-threshold`.
    Group regularisers add a group-norm reduction; with `tile-groups` the
    update runs group by group with its group's norm fused in (for the CPU's
    caches), without it as two whole passes (the GPU's: one reduction kernel
    and one elementwise kernel instead of launches per group).
  }];
  let options = [
    Option<"tileGroups", "tile-groups", "bool", /*default=*/"true",
           "Run group updates group by group (CPU); false: two whole passes">,
    Option<"compressVectorLength", "compress-vector-length", "int64_t",
           /*default=*/"16",
           "f32 lanes per vector.compress of breg.compress_rows; 0: "
           "scalar loops on tensors">,
    Option<"compressParallelThreshold", "compress-parallel-threshold",
           "int64_t", /*default=*/"0",
           "With compress-vector-length > 0: an update fused with the "
           "compaction of its θ' runs blocks of rows in parallel "
           "(scf.forall) when it moves at least this many 8-byte units "
           "(as breg-vectorize-elementwise counts); 0: one serial loop">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def BregSparseConvToLoops : Pass<"breg-sparse-conv-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower breg.sparse_conv2d to vector loops over the stored entries";
  let description = [{
    Runs before bufferization (CPU pipeline). Each `breg.sparse_conv2d`
    reads its operands through `bufferization.to_buffer read_only` and
    writes a fresh buffer returned through `to_tensor restrict writable`:

    - the input, when padded, is copied into a zero-filled padded buffer;
    - one loop turns each stored entry's coordinate into its offset in a
      padded input sample (channel, tap, flip);
    - an `scf.parallel` over (sample, CSR row) — OpenMP threads where the
      pipeline converts it — computes the row's output plane in tiles of
      `accumulators` vectors of `vector-length` lanes (rows × vectors of a
      row; the last vector of a row masked): per stored entry, its value
      times the input vectors at its offset, accumulated in registers, so
      each multiply-add costs one load.

    MLIR's sparsifier accepts the convolution with a block-CSR filter but
    orders its loops sample, row, entry, oh, ow, kh, kw and leaves the
    5×5 tap sums scalar; these loops keep the entries outermost within a
    tile and the output row innermost, vectorized (docs/PERFORMANCE.md).
  }];
  let options = [
    Option<"vectorLength", "vector-length", "int64_t", /*default=*/"8",
           "f32 lanes per vector (8: AVX2; AVX-512 runs 16 at the same rate "
           "on Zen 4)">,
    Option<"accumulators", "accumulators", "int64_t", /*default=*/"12",
           "Vectors accumulated in registers per tile">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertBregPoolingToLinalg : Pass<"convert-breg-pooling-to-linalg"> {
  let summary = "Lower breg pooling, argmax, one-hot and dropout masks to linalg";
  let description = [{
    `breg.max_pool2d`, `breg.sum_pool2d`, their gradients, `breg.argmax`,
    `breg.one_hot` and `breg.dropout_mask` become linalg generics on tensors.
    Windows that tile the input (stride = kernel, no padding or dilation) are
    read through a [N, C, OH, KH, OW, KW] view in all-parallel generics;
    other windows through a reduction generic over a padded input, and their
    gradients through a gather generic. The pipelines run this first, before
    elementwise fusion, which fuses producers into the all-parallel ones.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::bufferization::BufferizationDialect"
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
    Each `linalg.batch_matmul` on static, contiguous rank-3 f32 buffers
    (the batch axis first in every map) becomes one call of `batched-symbol`
    (`bregman_cpu_sgemm_batched(transA, transB, batch, M, N, K, beta, A, B,
    C)`: attention's [N·heads, S, d] products are thousands of tiny GEMMs,
    whose per-call overhead is most of their time), or, where that option is
    empty (the GPU pipeline), an `scf.for` over the batch making the same
    call on each matrix (base address + batch · matrix bytes).
  }];
  let options = [
    Option<"symbol", "symbol", "std::string", /*default=*/"\"bregman_cpu_sgemm\"",
           "The GEMM function called (same signature on every device)">,
    Option<"batchedSymbol", "batched-symbol", "std::string",
           /*default=*/"\"bregman_cpu_sgemm_batched\"",
           "The batched GEMM function a batch_matmul calls once (empty: a "
           "loop calling `symbol` per matrix)">
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"
  ];
}

def BregBufferize : Pass<"breg-bufferize", "::mlir::ModuleOp"> {
  let summary = "One-shot bufferization, through the sparsifier when the module has sparse tensors";
  let description = [{
    A module without `sparse_tensor` encodings is bufferized as before
    (one-shot, function boundaries included, identity layouts). A module
    with some (a CSR weight built by `sparse_tensor.assemble` from the
    positions, coordinates and values the function receives) first has each
    named linalg op with a sparse operand generalized (the sparsifier reads
    only linalg.generic), then goes through MLIR's
    `sparsification-and-bufferization` (direct code generation, no sparse
    runtime library; the same one-shot options) and
    `sparse-storage-specifier-to-llvm`. Dense ops keep their named form, so
    their GEMMs still become library calls. With `allow-sparse=false` (the
    GPU pipeline) a sparse tensor is an error at the op that holds it.
  }];
  let options = [
    Option<"sparseVectorLength", "sparse-vector-length", "int32_t",
           /*default=*/"16",
           "Vector length of the sparse loops (gathers through 32-bit "
           "coordinates); 0: scalar loops. Above 8, a module whose every "
           "sparse op gathers a dense input at the stored coordinates gets "
           "scalar loops (their sums grouped by breg-split-sparse-sums)">,
    Option<"allowSparse", "allow-sparse", "bool", /*default=*/"true",
           "Sparse tensors are lowered (CPU); false: they are an error">
  ];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::sparse_tensor::SparseTensorDialect",
    "::mlir::vector::VectorDialect", "::mlir::affine::AffineDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::gpu::GPUDialect"
  ];
}

def BregGpuLaunchFuncToLaunch : Pass<"breg-gpu-launch-func-to-launch", "::mlir::ModuleOp"> {
  let summary = "Put outlined kernels back into gpu.launch regions, as launched";
  let description = [{
    For the CPU emulation of the GPU pipeline: after `gpu-launch-sink-index-computations`
    and `gpu-kernel-outlining`, each `gpu.launch_func` becomes a `gpu.launch`
    with the same grid, block and dynamic shared memory sizes whose body is a
    copy of the kernel's: the kernel's arguments become the operands the host
    passes (so what runs is what the kernel receives after outlining, sunk
    constants and all), its workgroup and private attributions the launch's,
    `gpu.return` the terminator. `breg-gpu-launch-to-loops` then runs it.
    The `gpu.module`s and the `gpu.container_module` attributes are removed
    (nested modules included). Async launches (tokens, dependencies or a
    stream object), clusters, kernels of several blocks and kernels naming a
    symbol that only their `gpu.module` defines are refused with an error
    naming the kernel.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
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
    A `gpu.barrier` at the top level of the body splits it into phases, one
    loop over the threads each, so every thread finishes a phase before any
    starts the next. A top-level `gpu.shuffle` splits it too: the phase
    before stores each thread's value in an exchange buffer of the block, the
    shuffle reads its source lane's entry (subgroups of 32 consecutive
    threads; the thread's own value where the source is not valid). Scalars
    used after a split that cannot be recomputed (pure index arithmetic is)
    are kept in a buffer of one value per thread of the block. Barriers and
    shuffles inside control flow, non-scalar values crossing a split, private
    attributions used on both sides of one (each phase allocates its own), and
    other GPU ops that need threads to communicate are rejected with an
    error.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

#endif // BREG_CONVERSION_PASSES_TD
