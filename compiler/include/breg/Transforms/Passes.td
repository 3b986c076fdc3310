//===- Passes.td - Rewrites within linalg ------------------*- tablegen -*-===//

#ifndef BREG_TRANSFORMS_PASSES_TD
#define BREG_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

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

def BregPropagateTransposes : Pass<"breg-propagate-transposes"> {
  let summary = "Run generics in the layout of their transposed inputs";
  let description = [{
    A `linalg.generic` on static tensors whose full-rank inputs are all
    `linalg.transpose` results of one permutation (read with identity maps;
    lower-rank inputs such as a broadcast bias are fine) is re-indexed to
    iterate in the layout before the transpose: those inputs are read
    untransposed, the other maps are composed with the permutation, the
    iterator types permuted, and each full-rank output (identity-mapped, not
    read by the body) is made in that layout and transposed afterwards for
    the old result's users. Only where a transpose goes away: an input
    transpose read by this generic alone, or a result read only by
    transposes back. `transpose(transpose(x, p), q)` with q undoing p is x.
    Sparse layers run feature-major, so a training step on CSR transposed
    every layer's activations and gradients there and back; between two CSR
    layers they now stay feature-major (a bias gradient becomes a row sum).
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"
  ];
}

def BregAccumulateInRegisters : Pass<"breg-accumulate-in-registers", "::mlir::func::FuncOp"> {
  let summary = "A CSR row's output chunks carried in registers through its entry loop";
  let description = [{
    The sparsifier lowers a feature-major CSR product (W·aᵀ) to a loop over
    a row's stored entries around a loop over constant chunks of the output
    row, which loads each chunk from the output buffer and stores it back
    at every entry. For such an entry loop (`scf.for` without results whose
    body is reads and, last, the chunk loop: constant bounds, one
    `vector.load` of a chunk of a fresh allocation and one `vector.store` to
    the same indices, the chunk index last, the others fixed in both loops,
    nothing else touching that buffer; or a `vector.maskedload` and
    `vector.maskedstore` under one mask computed from the chunk index, as
    the sparsifier emits every chunk when the batch is not a multiple of
    the vector length), the chunks (up to 8 at a time) are
    loaded once before the entry loop, carried through it as its results and
    stored after it, under an `scf.if` that skips an empty row as before.
    Each accumulated product there, and in any other vector store of
    `out + x * y` to the location it loaded (the input gradient's scatter),
    becomes one `vector.fma`: rounded once instead of twice, as the GEMM
    libraries compute. Meant to run right after bufferization, where the
    only vector code is the sparse loops'.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregSplitSparseSums : Pass<"breg-split-sparse-sums", "::mlir::func::FuncOp"> {
  let summary = "A CSR row's scalar dot product summed in groups of entries";
  let description = [{
    With scalar sparse loops (small-batch inference, where the sparsifier's
    gathers are slow), a batch-major CSR product x·Wᵀ sums each output
    element over its row's stored entries as one chain of dependent
    additions: `scf.for` over the entries with one float result, the body
    reads only, and its yield `arith.addf` of that result and a term that
    does not depend on it. Such a loop (from the sparsifier: it carries the
    "Emitted from" attribute; signed bounds) becomes a loop that takes
    `entries` entries per iteration, adds their terms pairwise and then into
    the one running sum (one dependent addition per group instead of per
    entry), and a remainder loop of the last entries. This reassociates the
    row's sum (the float results differ from the ordered sum in the last
    bits, as a GEMM's do). The loops it makes are marked `breg.split_sum`,
    so a second run changes nothing.
  }];
  let options = [
    Option<"entries", "entries", "int64_t", "4",
           "Entries per iteration of the main loop, in [2, 16]">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"
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
           "Loops moving at least as many bytes as this many elements of a "
           "loop reading one f32 and writing one (8 bytes each) are split "
           "into chunks run by an scf.forall (threads, through OpenMP); "
           "0: never">
  ];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregVectorizeWindows : Pass<"breg-vectorize-windows", "::mlir::func::FuncOp"> {
  let summary = "Vectorize pooling windows read through constant indices";
  let description = [{
    For each all-parallel `linalg.generic` on buffers with static loop ranges
    that reads an input through a map with a constant index (the windows of
    pooling on an [N, C, OH, KH, OW, KW] view, and its gradient), run after
    `breg-vectorize-elementwise` (which declines such maps): a vector's lanes
    are the innermost iterations (the innermost loop in chunks of at most
    `vector-size`, or whole when shorter than 8 with a chunk of the loop
    outside it, up to twice `vector-size` lanes); each memref operand's lanes
    are loaded as one contiguous span of its (flattened) buffer and shuffled
    into lane order; the body's scalar ops (elementwise-mappable ones,
    constants, `linalg.index`) become vector ops; the output is stored
    contiguously. Operands must have static shapes, identity layouts and
    elements of whole bytes, maps must be linear (no mod or div), each span
    at most four vectors long, and outputs identity-mapped. Nests of at least `parallel-threshold` iterations run their
    outermost loop as an `scf.forall`. Everything else is left for
    `convert-linalg-to-loops`.
  }];
  let options = [
    Option<"vectorSize", "vector-size", "int64_t", /*default=*/"16",
           "Lanes per vector along the innermost loop">,
    Option<"parallelThreshold", "parallel-threshold", "int64_t",
           /*default=*/"0",
           "Nests of at least this many iterations run their outermost loop "
           "as an scf.forall (threads, through OpenMP); 0: never">
  ];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def BregVectorizeRowSums : Pass<"breg-vectorize-row-sums", "::mlir::func::FuncOp"> {
  let summary = "Sums over contiguous trailing dimensions as vector accumulations";
  let description = [{
    For each `linalg.generic` on buffers that adds its one input, read with
    the identity map from a contiguous float buffer, into its output, where
    the trailing loops are reductions (a row of the flattened input) and the
    output is indexed by the parallel loops before them, in order (a
    convolution's bias gradient: [N, C, H, W] summed into [N, C], or into [C]
    with N summed too): the rows of each output element are summed into one
    vector accumulator (the widest power of two up to `vector-size` dividing
    the row, at least 4), reduced once (reassociated) and added to the output
    element. Output elements run as an `scf.forall` when there are several
    and the input has at least `parallel-threshold` elements. Other reductions are left for
    `convert-linalg-to-loops`.
  }];
  let options = [
    Option<"vectorSize", "vector-size", "int64_t", /*default=*/"16",
           "Lanes of the accumulator">,
    Option<"parallelThreshold", "parallel-threshold", "int64_t",
           /*default=*/"0",
           "Inputs of at least this many elements are summed row by row in "
           "an scf.forall (threads, through OpenMP); 0: never">
  ];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"
  ];
}

def BregHoistAllocas : Pass<"breg-hoist-allocas", "::mlir::LLVM::LLVMFuncOp"> {
  let summary = "Fixed-size stack allocations to the start of the entry block";
  let description = [{
    Buffers promoted to the stack (`memref.alloca`) become `llvm.alloca`s
    where the buffer was made, between loop nests. LLVM expects them at the
    start of the entry block, and LLVM 22's SROA broke a module when full
    unrolling merged such allocas into the middle of the entry block
    (valueAndGrad of crossEntropy on [2, 3] logits: "Instruction does not
    dominate all uses!", then a crash in the register coalescer). Each
    `llvm.alloca` of the function's own region whose element count is a
    constant moves there, with a copy of that constant, unless its block is
    in a loop of the control-flow graph (each iteration would then share
    one buffer). Allocas inside nested regions (OpenMP's parallel bodies:
    per thread) stay where they are.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def BregApproximateMath : Pass<"breg-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "Vector exp, erf and erfc as polynomials instead of scalar libm calls";
  let description = [{
    LLVM has no vector form of `exp` or `erf` without a vector math library,
    so a `math.exp` or `math.erf` on a vector (a softmax's, a GELU's, a
    sigmoid's) becomes one scalar libm call per lane: in a Transformer's
    training step those calls took a sixth of the time. This pass rewrites
    each f32 `math.exp`, `math.erf` and `math.erfc` whose operand is a vector
    with MLIR's
    polynomial approximations (`populateMathPolynomialApproximationPatterns`:
    exp within 2^-22.5 relative from Cephes' range reduction, results below
    2^-126 flushed to 0; erf a rational minimax fit within 2.5e-7; erfc
    within 1e-6 relative down to 1e-38), and gives
    exp its overflow back: x above 88.72283 (the largest float whose exp is
    finite) yields +inf, where the approximation alone clamps to the largest
    float. NaN stays NaN. Scalar ops keep their libm calls.
  }];
  let dependentDialects = [
    "::mlir::math::MathDialect", "::mlir::arith::ArithDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def BregVectorizeTranspose : Pass<"breg-vectorize-transpose", "::mlir::func::FuncOp"> {
  let summary = "Vectorize linalg.transpose on buffers in square tiles";
  let description = [{
    A `linalg.transpose` left to `convert-linalg-to-loops` becomes a scalar
    loop nest whose reads or writes stride through memory one element at a
    time. For each one with static shapes and buffer semantics (run after
    bufferization), this pass tiles the output dimension that is contiguous
    in the output and the one that is contiguous in the input by the widest
    power of two up to `vector-size` that divides both (at least 4), with
    `scf.for`, vectorizes the w×w tile with `linalg::vectorize`, and lowers
    the tile's permuted read to w contiguous vector loads, a
    `vector.transpose` (as shuffles: `shuffle_16x16` for 16×16, else 1-D
    shuffles) and w contiguous vector stores. A transpose that keeps the
    innermost dimension in place is tiled along it alone. Transposes whose
    sizes have no such divisor are left alone.
  }];
  let options = [
    Option<"vectorSize", "vector-size", "int64_t", /*default=*/"16",
           "Largest tile side in elements (16 f32 = one AVX-512 register)">
  ];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
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

def BregSplitEmptyTensors : Pass<"breg-split-empty-tensors", "::mlir::func::FuncOp"> {
  let summary = "At most max-uses uses per tensor.empty";
  let description = [{
    CSE merges the `tensor.empty` destinations of all same-shaped ops into
    one value with hundreds of uses. One-shot bufferization then checks
    every pair of writes into that value for conflicts: its analysis grew
    quadratically with the program (1.7 s of a 20,000-op chain's compile;
    2,000 ops with row means broadcast back, 6 s wall). Each run of `max-uses`
    consecutive uses (in program order) gets a fresh `tensor.empty` right
    before its first user, so the analysis stays linear, while consecutive
    elementwise ops of a run still write one buffer in place (one
    allocation per run; `max-uses=1`: one per destination).
  }];
  let options = [
    Option<"maxUses", "max-uses", "int64_t", /*default=*/"16",
           "Uses of one tensor.empty (at least 1): the analysis costs about "
           "max-uses times the program">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def BregOutlineChunks : Pass<"breg-outline-chunks", "::mlir::ModuleOp"> {
  let summary = "Split very large functions into calls of noinline functions";
  let description = [{
    A training step is one function; a network with batch norm kept
    (MobileNetV2, RegNet, ResNet-18) gives it thousands of loops, and LLVM's
    loop passes (loop rotation, induction-variable simplification) take time
    that grows with the number of loops times the size of their function:
    minutes for one step. This pass cuts the entry block of every function
    holding more than `max-ops` operations into consecutive chunks of about
    `max-ops` operations, each outlined into a private function (internal
    linkage, never inlined) called in its place, so that LLVM optimizes
    several small functions.

    Allocations and side-effect-free operations (views, constants) stay in
    the caller: the chunks take buffers as arguments and return only scalars.
    Deallocations stay in the caller too, right after the call: a buffer
    passed as a bare pointer and freed inside would be freed through its
    aligned pointer, not the allocated one (they differ when the lowering
    aligns a malloc by hand). A chunk that would return a buffer, take one
    the bare-pointer calling convention cannot pass (a dynamic shape), or
    free one it did not allocate itself in a way the caller cannot take over
    (nested inside an operation, or through a value the chunk defines: a
    loop's iteration argument, a view), stays inline.
  }];
  let options = [
    Option<"maxOps", "max-ops", "int64_t", /*default=*/"3000",
           "Operations (nested ones included) per function above which it "
           "is split, and the size of each chunk">
  ];
  let statistics = [
    Statistic<"outlined", "outlined", "Chunks outlined">,
    Statistic<"keptReturningBuffers", "kept-returning-buffers",
              "Chunks left inline: they define a buffer used after them">,
    Statistic<"keptForArguments", "kept-for-arguments",
              "Chunks left inline: an argument is no bare pointer">,
    Statistic<"keptFreeingBuffers", "kept-freeing-buffers",
              "Chunks left inline: they free a buffer they did not allocate">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def BregOutlineLoopNests : Pass<"breg-outline-loop-nests", "::mlir::ModuleOp"> {
  let summary = "Outline each loop nest of a very large function into a "
                "function of its own, constants inside";
  let description = [{
    A network repeats its layers: DenseNet-121's 58 dense layers run the
    same batch norm, ReLU and 3x3 convolution on tensors of the same shape,
    forward and backward. Outlined one by one, with the constants they use
    cloned inside and everything else (buffers, scalars) passed as
    arguments, the loop nests of one shape become identical functions, which
    are merged (one function per distinct nest, compared as
    `duplicate-function-elimination` does, among the functions this pass
    creates only): LLVM optimizes and generates each distinct nest once.

    Only functions of more than `min-function-ops` operations (nested ones
    included) are touched, so the small programs keep their single
    function. Every top-level op with regions is outlined unless it returns
    a buffer, frees one it does not allocate itself, or takes one that the
    bare-pointer calling convention cannot pass (a dynamic shape). The
    functions are private, with internal linkage, and never inlined.
  }];
  let options = [
    Option<"minFunctionOps", "min-function-ops", "int64_t", /*default=*/"3000",
           "Operations (nested ones included) a function must exceed to "
           "have its loop nests outlined">
  ];
  let statistics = [
    Statistic<"outlined", "outlined", "Loop nests outlined">,
    Statistic<"distinctFunctions", "distinct-functions",
              "Functions they became (one per distinct nest)">,
    Statistic<"kept", "kept", "Loop nests left inline: a buffer result, a "
              "buffer freed, or an argument that is no bare pointer">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

#endif // BREG_TRANSFORMS_PASSES_TD
