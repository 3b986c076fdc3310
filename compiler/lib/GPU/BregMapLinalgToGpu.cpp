//===- BregMapLinalgToGpu.cpp - linalg ops on buffers to gpu.launch ------===//
//
// Upstream's parallel-loop mapping gives rank-1 elementwise loops to the GPU;
// this pass gives it the rest of a training step: reductions become block
// reductions (split over enough blocks to fill the device where the range is
// long, warp shuffles, partials summed in a fixed order), column reductions
// (the reduced dimension outer and strided) blocks of consecutive columns by
// several row lanes, or one thread per output; multi-dimensional elementwise
// ops one thread per element, coalesced.
//
//===----------------------------------------------------------------------===//

#include "breg/GPU/Passes.h"
#include "GpuUtils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGMAPLINALGTOGPU
#include "breg/GPU/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using mlir::breg::rootBuffer;

/// The combiner of a single-output reduction body: the op that yields
/// `combine(out, x)` and is the output argument's only use.
static Operation *findCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1)
    return nullptr;
  Block &body = op.getRegion().front();
  BlockArgument out = body.getArguments().back();
  Value yielded = body.getTerminator()->getOperand(0);
  Operation *combiner = yielded.getDefiningOp();
  if (!combiner || combiner->getBlock() != &body || !out.hasOneUse() ||
      combiner->getNumOperands() != 2 ||
      !isa<arith::AddFOp, arith::MulFOp, arith::MaxNumFOp, arith::MinNumFOp,
           arith::MaximumFOp, arith::MinimumFOp, arith::AddIOp, arith::MulIOp,
           arith::MaxSIOp, arith::MinSIOp, arith::MaxUIOp, arith::MinUIOp,
           arith::AndIOp, arith::OrIOp>(combiner))
    return nullptr;
  if (combiner->getOperand(0) != out && combiner->getOperand(1) != out)
    return nullptr;
  return combiner;
}

/// The neutral element of `combiner` (0 for sums, -inf for max, ...).
static TypedAttr identityOf(Operation *combiner, Type type) {
  auto kind = llvm::TypeSwitch<Operation *, std::optional<arith::AtomicRMWKind>>(
                  combiner)
                  .Case([](arith::AddFOp) { return arith::AtomicRMWKind::addf; })
                  .Case([](arith::MulFOp) { return arith::AtomicRMWKind::mulf; })
                  .Case([](arith::MaxNumFOp) { return arith::AtomicRMWKind::maxnumf; })
                  .Case([](arith::MinNumFOp) { return arith::AtomicRMWKind::minnumf; })
                  .Case([](arith::MaximumFOp) { return arith::AtomicRMWKind::maximumf; })
                  .Case([](arith::MinimumFOp) { return arith::AtomicRMWKind::minimumf; })
                  .Case([](arith::AddIOp) { return arith::AtomicRMWKind::addi; })
                  .Case([](arith::MulIOp) { return arith::AtomicRMWKind::muli; })
                  .Case([](arith::MaxSIOp) { return arith::AtomicRMWKind::maxs; })
                  .Case([](arith::MinSIOp) { return arith::AtomicRMWKind::mins; })
                  .Case([](arith::MaxUIOp) { return arith::AtomicRMWKind::maxu; })
                  .Case([](arith::MinUIOp) { return arith::AtomicRMWKind::minu; })
                  .Case([](arith::AndIOp) { return arith::AtomicRMWKind::andi; })
                  .Case([](arith::OrIOp) { return arith::AtomicRMWKind::ori; })
                  .Default([](Operation *) { return std::nullopt; });
  if (!kind)
    return nullptr;
  OpBuilder b(combiner->getContext());
  return arith::getIdentityValueAttr(*kind, type, b, combiner->getLoc());
}

namespace {

/// How a block reduction is split: compile-time, from the static shapes.
struct ReductionPlan {
  int64_t threads = 32; // per block, a power of two in [32, 256]
  int64_t unroll = 4;   // independent accumulators per thread
  int64_t splits = 1;   // blocks per output
  int64_t chunk = 0;    // elements of the reduction per block (the last
                        // block takes what is left)
  bool vectorLoads = false; // a thread's `unroll` elements of a round are
                            // consecutive (else `threads` apart)

  /// Enough blocks to fill the device (`targetBlocks` in all) where the
  /// range is long; one block per output where it is short (less than one
  /// unrolled round of the block per extra block).
  static ReductionPlan choose(int64_t outputs, int64_t reduced,
                              int64_t targetBlocks) {
    ReductionPlan plan;
    plan.threads = std::clamp<int64_t>(
        llvm::PowerOf2Ceil(llvm::divideCeil(reduced, plan.unroll)), 32, 256);
    int64_t round = plan.unroll * plan.threads;
    int64_t wanted = std::max<int64_t>(1, llvm::divideCeil(targetBlocks, outputs));
    // Chunks are whole rounds; grid.y holds the outputs (at most 65535).
    int64_t rounds = std::max<int64_t>(1, reduced / (wanted * round));
    plan.chunk = std::min(reduced, rounds * round);
    plan.splits = llvm::divideCeil(reduced, plan.chunk);
    if (outputs > 65535 || plan.splits == 1) {
      plan.splits = 1;
      plan.chunk = reduced;
    }
    return plan;
  }
};

/// How a column reduction is split: `columns` consecutive outputs per block
/// along x (a warp reads consecutive addresses of a row), `rows.threads` row
/// lanes along y, each folding rows `lane + u * lanes` of a round into
/// `rows.unroll` independent accumulators; `rows.splits` blocks along y
/// split the rows into chunks of whole rounds.
struct ColumnPlan {
  static constexpr int64_t kWarp = 32, kMaxThreads = 256;
  /// Each block folds at least this many rounds: a second launch costs more
  /// than a few more dependent loads.
  static constexpr int64_t kMinRounds = 4;
  int64_t columns = kWarp;
  ReductionPlan rows;

  /// About `targetBlocks` blocks over all column tiles where the rows are
  /// many; one pass (no partials) where `allowSplit` is false or the rows
  /// fit one chunk.
  static ColumnPlan choose(int64_t outputs, int64_t rowCount,
                           int64_t targetBlocks, bool allowSplit) {
    ColumnPlan plan;
    ReductionPlan &r = plan.rows;
    plan.columns = std::min<int64_t>(llvm::PowerOf2Ceil(outputs), kWarp);
    r.threads = std::clamp<int64_t>(
        llvm::PowerOf2Ceil(llvm::divideCeil(rowCount, r.unroll)), 1,
        kMaxThreads / plan.columns);
    int64_t round = r.unroll * r.threads;
    int64_t tiles = llvm::divideCeil(outputs, plan.columns);
    int64_t wanted =
        std::max<int64_t>(1, llvm::divideCeil(targetBlocks, tiles));
    // grid.y holds the splits (at most 65535).
    int64_t rounds =
        std::max<int64_t>({kMinRounds, rowCount / (wanted * round),
                           llvm::divideCeilSigned(rowCount, 65535 * round)});
    r.chunk = std::min(rowCount, rounds * round);
    r.splits = llvm::divideCeil(rowCount, r.chunk);
    if (!allowSplit || r.splits == 1) {
      r.splits = 1;
      r.chunk = rowCount;
    }
    return plan;
  }
};

/// The part of a reduction range one block folds: [begin, end), its full
/// rounds, and whether a partial round may be left.
struct Chunk {
  Value begin, end, fullIterations;
  bool hasTail = false;
};

/// Builds the kernel of one reduction op.
class ReductionKernelBuilder {
public:
  ReductionKernelBuilder(linalg::GenericOp op, ArrayRef<int64_t> ranges)
      : op(op), ranges(ranges), b(op), loc(op.getLoc()) {
    for (auto [dim, type] : llvm::enumerate(op.getIteratorTypesArray()))
      (type == utils::IteratorType::parallel ? parallelDims : reductionDims)
          .push_back(dim);
    outputs = product(parallelDims);
    reduced = product(reductionDims);
  }

  int64_t outputCount() const { return outputs; }
  int64_t reductionSize() const { return reduced; }
  /// Whether every input that the innermost reduction dimension indexes
  /// reads it contiguously, 16-byte aligned at every multiple of `width`
  /// elements (so a thread can load `width` of them at once); at least one
  /// input must.
  bool hasContiguousReduction(int64_t width);
  /// Whether the innermost loop dimension is parallel and every input that
  /// it indexes reads it as its contiguous last subscript (at least one
  /// does): consecutive outputs are neighbours in memory, the reduced
  /// dimensions are outer and strided (a bias gradient, sum over a batch).
  bool isColumnReduction();
  /// Output `i` starts from `value` (a fill folded into the kernel) instead
  /// of its old contents.
  void setInitialValue(unsigned i, Value value) {
    initialValues.resize(op.getNumDpsInits());
    initialValues[i] = value;
  }

  /// Blocks of `plan.threads` threads per output (`plan.splits` of them,
  /// each reducing a contiguous chunk; then a second launch sums the
  /// partials in a fixed order).
  void buildBlockReduction(Operation *combiner, const ReductionPlan &plan);
  /// Blocks of consecutive columns by row lanes (ColumnPlan), split over
  /// the rows where they are many, then a second column pass over the
  /// [splits][outputs] partials.
  void buildColumnReduction(Operation *combiner, int64_t targetBlocks);
  /// One thread per output, each running the reduction in the op's order.
  void buildThreadPerOutput(int64_t threads);
  /// An all-parallel op: one thread per element, last dimension fastest.
  void buildElementwise(int64_t threads);

private:
  SmallVector<Value> beginThreadPerOutput(int64_t threads);
  /// A launch of `grid` blocks of `threads` threads with the workgroup
  /// buffers a block reduction needs; the insertion point in its body.
  gpu::LaunchOp beginReductionLaunch(int64_t gridX, int64_t gridY,
                                     int64_t threads, Type elementType);
  /// Folds element `element` (linear over the reduction dims) of the range
  /// into `acc`.
  using ElementFolder = llvm::function_ref<Value(Value element, Value acc)>;
  /// The body at `outputIvs` and reduction element `element`.
  Value foldBody(ArrayRef<Value> outputIvs, Value element, Value acc);
  /// One round of a thread's accumulators (`plan.unroll` elements): by
  /// vector loads of the body's inputs (plan.vectorLoads) or through `fold`.
  SmallVector<Value> foldRound(const ReductionPlan &plan,
                               ArrayRef<Value> outputIvs, Value thread,
                               Value roundBegin, ValueRange accumulators,
                               ElementFolder fold);
  /// Folds this thread's elements of a block's `chunk` of the reduction
  /// range with `plan.unroll` independent accumulators; returns their
  /// combination.
  Value foldChunk(Operation *combiner, const ReductionPlan &plan,
                  ArrayRef<Value> outputIvs, Value thread, const Chunk &chunk,
                  ElementFolder fold);
  /// The chunk of a range of `total` elements that block `block` of
  /// `plan.splits` folds.
  Chunk chunkOf(const ReductionPlan &plan, int64_t total, Value block);
  /// One launch of a column reduction over `rowCount` rows: of the op's
  /// inputs, or of `partialsIn` ([rows][outputs]) when set; into
  /// `partialsOut` ([split][outputs]) when set, else into the output.
  void buildColumnPass(Operation *combiner, const ColumnPlan &plan,
                       int64_t rowCount, Value partialsIn, Value partialsOut);
  /// The launch of a column pass (column tiles x splits blocks of columns x
  /// lanes threads, workgroup memory for the lanes); the insertion point
  /// at the start of its body.
  gpu::LaunchOp beginColumnLaunch(const ColumnPlan &plan);
  /// Combines the row lanes' values of each column of a block through
  /// workgroup memory, pairwise in a fixed tree; valid in lane 0.
  Value reduceRowLanes(Operation *combiner, Value shared, Value acc,
                       Value column, Value lane, const ColumnPlan &plan);
  /// Combines the `threads` values `acc` of a block; the result is valid in
  /// thread 0. Warp shuffles for 32-bit types, else workgroup memory.
  Value reduceBlock(Operation *combiner, gpu::LaunchOp launch, Value acc,
                    int64_t threads);
  /// reduceBlock for types a shuffle cannot carry: two barriers.
  Value reduceThroughWorkgroup(Operation *combiner, gpu::LaunchOp launch,
                               Value acc, int64_t threads);
  /// The second launch: one warp per output folds the output's partials in
  /// order and combines them with the old value.
  void buildPartialsReduction(Operation *combiner, Value partials,
                              int64_t splits);
  int64_t product(ArrayRef<unsigned> dims) const {
    int64_t p = 1;
    for (unsigned d : dims)
      p *= ranges[d];
    return p;
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  /// Splits `linear` into the indices of `dims` (row-major), into `loopIvs`.
  void delinearize(Value linear, ArrayRef<unsigned> dims,
                   SmallVectorImpl<Value> &loopIvs);
  /// Loads the op's operand `i` at the loop indices (scalars as they are).
  Value load(OpOperand &operand, ArrayRef<Value> loopIvs);
  /// The body, cloned with inputs loaded at `loopIvs` and the outputs'
  /// arguments bound to `accumulators`; returns the yielded values.
  SmallVector<Value> cloneBody(ArrayRef<Value> loopIvs,
                               ValueRange accumulators,
                               ArrayRef<Value> preloaded = {});
  /// Per input: `width` consecutive elements along the innermost reduction
  /// dimension from `loopIvs` as one vector.load, null for inputs that do
  /// not depend on it.
  SmallVector<Value> loadVectors(ArrayRef<Value> loopIvs, int64_t width);
  /// `combine(lhs, rhs)` with the combiner op cloned.
  Value combine(Operation *combiner, Value lhs, Value rhs) {
    IRMapping mapping;
    mapping.map(combiner->getOperand(0), lhs);
    mapping.map(combiner->getOperand(1), rhs);
    return b.clone(*combiner, mapping)->getResult(0);
  }
  /// The output indices (parallel dims only) of output `i`.
  SmallVector<Value> outputIndices(unsigned i, ArrayRef<Value> loopIvs);

  linalg::GenericOp op;
  ArrayRef<int64_t> ranges;
  OpBuilder b;
  Location loc;
  SmallVector<unsigned> parallelDims, reductionDims;
  int64_t outputs = 1, reduced = 1;
  SmallVector<Value> initialValues; // per output; null: load the old value
  /// The value output `i` starts from: the folded fill's, or a load.
  Value initialValue(unsigned i, ArrayRef<Value> at) {
    if (i < initialValues.size() && initialValues[i])
      return initialValues[i];
    return memref::LoadOp::create(b, loc, op.getDpsInits()[i], at);
  }
};

} // namespace

void ReductionKernelBuilder::delinearize(Value linear, ArrayRef<unsigned> dims,
                                         SmallVectorImpl<Value> &loopIvs) {
  // `linear` is below the product of the sizes (every caller guards it), so
  // what is left for the outermost dimension needs no remainder.
  for (auto [i, d] : llvm::enumerate(llvm::reverse(dims))) {
    if (i + 1 == dims.size()) {
      loopIvs[d] = linear;
      break;
    }
    Value size = index(ranges[d]);
    loopIvs[d] = arith::RemUIOp::create(b, loc, linear, size);
    linear = arith::DivUIOp::create(b, loc, linear, size);
  }
}

Value ReductionKernelBuilder::load(OpOperand &operand, ArrayRef<Value> loopIvs) {
  Value value = operand.get();
  if (!isa<MemRefType>(value.getType()))
    return value;
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<Value> indices;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    indices.push_back(
        affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), loopIvs));
  return memref::LoadOp::create(b, loc, value, indices);
}

SmallVector<Value>
ReductionKernelBuilder::outputIndices(unsigned i, ArrayRef<Value> loopIvs) {
  AffineMap map = op.getMatchingIndexingMap(op.getDpsInitOperand(i));
  // Outside the reduction loop its indices are unknown; output maps do not
  // use them (checked), so any value does.
  SmallVector<Value> operands(loopIvs);
  for (Value &v : operands)
    if (!v)
      v = index(0);
  SmallVector<Value> indices;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    indices.push_back(
        affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), operands));
  return indices;
}

SmallVector<Value> ReductionKernelBuilder::cloneBody(ArrayRef<Value> loopIvs,
                                                     ValueRange accumulators,
                                                     ArrayRef<Value> preloaded) {
  Block &body = op.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    unsigned i = input->getOperandNumber();
    mapping.map(body.getArgument(i), i < preloaded.size() && preloaded[i]
                                         ? preloaded[i]
                                         : load(*input, loopIvs));
  }
  for (auto [i, acc] : llvm::enumerate(accumulators))
    if (acc) // null: an output the body does not read
      mapping.map(body.getArgument(op.getNumDpsInputs() + i), acc);
  for (Operation &bodyOp : body.without_terminator()) {
    if (auto indexOp = dyn_cast<linalg::IndexOp>(bodyOp)) {
      mapping.map(indexOp.getResult(), loopIvs[indexOp.getDim()]);
      continue;
    }
    b.clone(bodyOp, mapping);
  }
  SmallVector<Value> results;
  for (Value v : body.getTerminator()->getOperands())
    results.push_back(mapping.lookupOrDefault(v));
  return results;
}

/// Whether warp shuffles can combine values of `type` (32-bit lanes).
static bool isShuffleable(Type type) {
  return (isa<FloatType>(type) || type.isInteger()) &&
         type.getIntOrFloatBitWidth() == 32;
}

gpu::LaunchOp ReductionKernelBuilder::beginReductionLaunch(int64_t gridX,
                                                           int64_t gridY,
                                                           int64_t threads,
                                                           Type elementType) {
  constexpr int64_t kWarp = 32;
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  auto shared = [&](int64_t size) {
    return MemRefType::get({size}, elementType, MemRefLayoutAttrInterface(),
                           workgroup);
  };
  // Shuffles: one value per warp crosses warps. Otherwise every thread's
  // partial, then the 32 a warp folds them to.
  SmallVector<Type> buffers;
  if (!isShuffleable(elementType))
    buffers = {shared(threads), shared(kWarp)};
  else if (threads > kWarp)
    buffers = {shared(threads / kWarp)};
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, loc, index(gridX), index(gridY), one, index(threads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(), /*workgroupAttributions=*/buffers);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

bool ReductionKernelBuilder::hasContiguousReduction(int64_t width) {
  if (reductionDims.empty() || ranges[reductionDims.back()] % width != 0)
    return false;
  unsigned innermost = reductionDims.back();
  bool any = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!type || !map.isFunctionOfDim(innermost))
      continue;
    // The innermost reduction index is exactly the last subscript.
    for (unsigned r = 0; r + 1 < map.getNumResults(); ++r)
      if (map.getResult(r).isFunctionOfDim(innermost))
        return false;
    if (map.getResults().back() != getAffineDimExpr(innermost, b.getContext()))
      return false;
    // Contiguous along it, and every other stride and the offset multiples
    // of `width` elements: each group of `width` is aligned like the base.
    auto [strides, offset] = type.getStridesAndOffset();
    if (!type.getElementType().isIntOrFloat() || strides.empty() ||
        strides.back() != 1 || ShapedType::isDynamic(offset) ||
        offset % width != 0)
      return false;
    for (int64_t stride : ArrayRef(strides).drop_back())
      if (ShapedType::isDynamic(stride) || stride % width != 0)
        return false;
    any = true;
  }
  return any;
}

bool ReductionKernelBuilder::isColumnReduction() {
  if (reductionDims.empty() || parallelDims.empty() || reduced == 0 ||
      outputs == 0 || parallelDims.back() + 1 != ranges.size())
    return false;
  unsigned innermost = parallelDims.back();
  bool any = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!type || !map.isFunctionOfDim(innermost))
      continue;
    for (unsigned r = 0; r + 1 < map.getNumResults(); ++r)
      if (map.getResult(r).isFunctionOfDim(innermost))
        return false;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (map.getResults().back() !=
            getAffineDimExpr(innermost, b.getContext()) ||
        failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
        strides.back() != 1)
      return false;
    any = true;
  }
  return any;
}

SmallVector<Value> ReductionKernelBuilder::loadVectors(ArrayRef<Value> loopIvs,
                                                       int64_t width) {
  SmallVector<Value> vectors(op->getNumOperands());
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!type || !map.isFunctionOfDim(reductionDims.back()))
      continue;
    SmallVector<Value> indices;
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      indices.push_back(
          affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), loopIvs));
    Type element = type.getElementType();
    // Memory from cuMemAlloc is 256-byte aligned, and every group starts at
    // a multiple of `width` elements from it (hasContiguousReduction).
    int64_t bytes = width * element.getIntOrFloatBitWidth() / 8;
    vectors[input->getOperandNumber()] = vector::LoadOp::create(
        b, loc, VectorType::get({width}, element), input->get(), indices,
        /*nontemporal=*/false, llvm::MaybeAlign(bytes));
  }
  return vectors;
}

Value ReductionKernelBuilder::foldBody(ArrayRef<Value> outputIvs, Value element,
                                       Value acc) {
  SmallVector<Value> ivs(outputIvs);
  delinearize(element, reductionDims, ivs);
  return cloneBody(ivs, acc)[0];
}

SmallVector<Value> ReductionKernelBuilder::foldRound(
    const ReductionPlan &plan, ArrayRef<Value> outputIvs, Value thread,
    Value roundBegin, ValueRange accumulators, ElementFolder fold) {
  SmallVector<Value> next;
  if (!plan.vectorLoads) {
    // Accumulator u takes element u * T + t of the round.
    Value at = arith::AddIOp::create(b, loc, roundBegin, thread);
    for (int64_t u = 0; u < plan.unroll; ++u) {
      Value element =
          u == 0 ? at
                 : arith::AddIOp::create(b, loc, at, index(u * plan.threads))
                       .getResult();
      next.push_back(fold(element, accumulators[u]));
    }
    return next;
  }
  // Thread t takes elements 4t .. 4t + 3 of the round: one vector load per
  // input (neighbouring threads, neighbouring 16 bytes).
  Value at = arith::AddIOp::create(
      b, loc, roundBegin,
      arith::MulIOp::create(b, loc, thread, index(plan.unroll)));
  SmallVector<Value> ivs(outputIvs);
  delinearize(at, reductionDims, ivs);
  SmallVector<Value> vectors = loadVectors(ivs, plan.unroll);
  Value innermost = ivs[reductionDims.back()];
  for (int64_t u = 0; u < plan.unroll; ++u) {
    SmallVector<Value> elementIvs(ivs);
    SmallVector<Value> elements(vectors.size());
    for (auto [i, vector] : llvm::enumerate(vectors))
      if (vector)
        elements[i] = vector::ExtractOp::create(b, loc, vector, u);
    if (u > 0)
      elementIvs[reductionDims.back()] =
          arith::AddIOp::create(b, loc, innermost, index(u));
    next.push_back(cloneBody(elementIvs, accumulators[u], elements)[0]);
  }
  return next;
}

Chunk ReductionKernelBuilder::chunkOf(const ReductionPlan &plan, int64_t total,
                                      Value block) {
  // Static sizes: the last block's are selected by comparison.
  int64_t round = plan.unroll * plan.threads;
  int64_t lastChunk = total - (plan.splits - 1) * plan.chunk;
  Chunk chunk;
  chunk.hasTail = lastChunk % round != 0 || plan.chunk % round != 0;
  chunk.begin = index(0);
  chunk.end = index(total);
  chunk.fullIterations = index(plan.chunk / round);
  if (plan.splits == 1)
    return chunk;
  chunk.begin = arith::MulIOp::create(b, loc, block, index(plan.chunk));
  Value isLast = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, block,
                                       index(plan.splits - 1));
  chunk.end = arith::SelectOp::create(
      b, loc, isLast, index(total),
      arith::AddIOp::create(b, loc, chunk.begin, index(plan.chunk)));
  chunk.fullIterations = arith::SelectOp::create(
      b, loc, isLast, index(lastChunk / round), chunk.fullIterations);
  return chunk;
}

Value ReductionKernelBuilder::foldChunk(Operation *combiner,
                                        const ReductionPlan &plan,
                                        ArrayRef<Value> outputIvs, Value thread,
                                        const Chunk &chunk,
                                        ElementFolder fold) {
  Value begin = chunk.begin, fullIterations = chunk.fullIterations;
  Type type = op.getDpsInits()[0].getType();
  type = cast<MemRefType>(type).getElementType();
  Value identity =
      arith::ConstantOp::create(b, loc, identityOf(combiner, type));
  int64_t round = plan.unroll * plan.threads;
  // Full rounds of unroll x threads elements (foldRound), then the rest.
  Value first = arith::AddIOp::create(b, loc, begin, thread);
  auto rounds = scf::ForOp::create(b, loc, index(0), fullIterations, index(1),
                                   SmallVector<Value>(plan.unroll, identity));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(rounds.getBody());
    Value roundBegin = arith::AddIOp::create(
        b, loc, begin,
        arith::MulIOp::create(b, loc, rounds.getInductionVar(), index(round)));
    scf::YieldOp::create(b, loc,
                         foldRound(plan, outputIvs, thread, roundBegin,
                                   rounds.getRegionIterArgs(), fold));
  }
  SmallVector<Value> accumulators(rounds.getResults());
  if (chunk.hasTail) {
    // What is left after the full rounds (only the last block has any):
    // one element per thread and step, into the first accumulator.
    Value tailBegin = arith::AddIOp::create(
        b, loc, first,
        arith::MulIOp::create(b, loc, fullIterations, index(round)));
    auto tail =
        scf::ForOp::create(b, loc, tailBegin, chunk.end, index(plan.threads),
                           ValueRange{accumulators[0]});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tail.getBody());
    scf::YieldOp::create(
        b, loc, fold(tail.getInductionVar(), tail.getRegionIterArgs()[0]));
    b.setInsertionPointAfter(tail);
    accumulators[0] = tail.getResult(0);
  }
  // A fixed order: the result does not depend on timing.
  Value acc = accumulators[0];
  for (Value other : ArrayRef(accumulators).drop_front())
    acc = combine(combiner, acc, other);
  return acc;
}

Value ReductionKernelBuilder::reduceThroughWorkgroup(Operation *combiner,
                                                     gpu::LaunchOp launch,
                                                     Value acc,
                                                     int64_t threads) {
  // T partials, 32 threads fold them to 32, every thread folds those (the
  // result is used in thread 0).
  constexpr int64_t kWarp = 32;
  Value thread = launch.getThreadIds().x;
  ValueRange shared = launch.getWorkgroupAttributions();
  Value partials = shared[0], warpPartials = shared[1];
  memref::StoreOp::create(b, loc, acc, partials, thread);
  gpu::BarrierOp::create(b, loc);
  Value inWarp = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       thread, index(kWarp));
  auto ifWarp = scf::IfOp::create(b, loc, inWarp, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifWarp.thenBlock());
    Value folded = memref::LoadOp::create(b, loc, partials, thread);
    for (int64_t k = 1; k < threads / kWarp; ++k) {
      Value at = arith::AddIOp::create(b, loc, thread, index(k * kWarp));
      folded = combine(combiner, folded,
                       memref::LoadOp::create(b, loc, partials, at));
    }
    memref::StoreOp::create(b, loc, folded, warpPartials, thread);
  }
  gpu::BarrierOp::create(b, loc);
  Value total = memref::LoadOp::create(b, loc, warpPartials, index(0));
  for (int64_t k = 1; k < kWarp; ++k)
    total = combine(combiner, total,
                    memref::LoadOp::create(b, loc, warpPartials, index(k)));
  return total;
}

Value ReductionKernelBuilder::reduceBlock(Operation *combiner,
                                          gpu::LaunchOp launch, Value acc,
                                          int64_t threads) {
  if (!isShuffleable(acc.getType()))
    return reduceThroughWorkgroup(combiner, launch, acc, threads);
  constexpr int64_t kWarp = 32;
  Value thread = launch.getThreadIds().x;
  ValueRange shared = launch.getWorkgroupAttributions();
  Type type = acc.getType();
  // Butterfly shuffles: every lane ends with its warp's total (the same
  // order of operations in every run).
  Value width = arith::ConstantIntOp::create(b, loc, kWarp, 32);
  auto warpReduce = [&](Value value, int64_t lanes) {
    for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
      Value distance = arith::ConstantIntOp::create(b, loc, offset, 32);
      auto shuffle = gpu::ShuffleOp::create(b, loc, value, distance, width,
                                            gpu::ShuffleMode::XOR);
      value = combine(combiner, value, shuffle.getShuffleResult());
    }
    return value;
  };
  acc = warpReduce(acc, kWarp);
  if (threads == kWarp)
    return acc;
  // Lane 0 of each warp publishes its total; every warp then reduces the
  // T/32 totals the same way (no shuffle may sit in a branch).
  Value warpSums = shared[0];
  Value lane = arith::RemUIOp::create(b, loc, thread, index(kWarp));
  Value warp = arith::DivUIOp::create(b, loc, thread, index(kWarp));
  Value isLaneZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           lane, index(0));
  auto ifLaneZero = scf::IfOp::create(b, loc, isLaneZero, false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLaneZero.thenBlock());
    memref::StoreOp::create(b, loc, acc, warpSums, warp);
  }
  gpu::BarrierOp::create(b, loc);
  int64_t warps = threads / kWarp;
  Value hasTotal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         lane, index(warps));
  Value safeLane = arith::SelectOp::create(b, loc, hasTotal, lane, index(0));
  Value total = memref::LoadOp::create(b, loc, warpSums, safeLane);
  Value identity =
      arith::ConstantOp::create(b, loc, identityOf(combiner, type));
  total = arith::SelectOp::create(b, loc, hasTotal, total, identity);
  return warpReduce(total, warps);
}

void ReductionKernelBuilder::buildBlockReduction(Operation *combiner,
                                                 const ReductionPlan &plan) {
  Value out = op.getDpsInits()[0];
  Type elementType = cast<MemRefType>(out.getType()).getElementType();
  bool split = plan.splits > 1;
  // Partials of the blocks, [output][split], summed by a second launch.
  Value partials;
  if (split)
    partials = memref::AllocOp::create(
        b, loc, MemRefType::get({outputs * plan.splits}, elementType));
  OpBuilder::InsertionGuard guard(b);
  gpu::LaunchOp launch =
      beginReductionLaunch(split ? plan.splits : outputs, split ? outputs : 1,
                           plan.threads, elementType);
  Value thread = launch.getThreadIds().x;
  Value output = split ? launch.getBlockIds().y : launch.getBlockIds().x;
  SmallVector<Value> outputIvs(ranges.size());
  delinearize(output, parallelDims, outputIvs);

  Chunk chunk = chunkOf(plan, reduced, launch.getBlockIds().x);
  Value acc = foldChunk(combiner, plan, outputIvs, thread, chunk,
                        [&](Value element, Value acc) {
                          return foldBody(outputIvs, element, acc);
                        });
  Value total = reduceBlock(combiner, launch, acc, plan.threads);

  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                                      index(0));
  auto ifFirst = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    if (split) {
      Value at = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, output, index(plan.splits)),
          launch.getBlockIds().x);
      memref::StoreOp::create(b, loc, total, partials, at);
    } else {
      SmallVector<Value> at = outputIndices(0, outputIvs);
      Value old = initialValue(0, at);
      memref::StoreOp::create(b, loc, combine(combiner, old, total), out, at);
    }
  }
  if (!split)
    return;
  b.setInsertionPointAfter(launch);
  buildPartialsReduction(combiner, partials, plan.splits);
  memref::DeallocOp::create(b, loc, partials);
}

void ReductionKernelBuilder::buildPartialsReduction(Operation *combiner,
                                                    Value partials,
                                                    int64_t splits) {
  constexpr int64_t kWarp = 32;
  // Leaves the insertion point after the launch.
  OpBuilder::InsertionGuard guard(b);
  Value out = op.getDpsInits()[0];
  Type elementType = cast<MemRefType>(out.getType()).getElementType();
  gpu::LaunchOp launch = beginReductionLaunch(outputs, 1, kWarp, elementType);
  Value lane = launch.getThreadIds().x;
  Value output = launch.getBlockIds().x;
  Value identity =
      arith::ConstantOp::create(b, loc, identityOf(combiner, elementType));
  // Lane l folds partials l, l + 32, ... of its output, in that order.
  Value base = arith::MulIOp::create(b, loc, output, index(splits));
  auto loop = scf::ForOp::create(b, loc, lane, index(splits), index(kWarp),
                                 ValueRange{identity});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value at = arith::AddIOp::create(b, loc, base, loop.getInductionVar());
    Value partial = memref::LoadOp::create(b, loc, partials, at);
    scf::YieldOp::create(
        b, loc, combine(combiner, loop.getRegionIterArgs()[0], partial));
  }
  Value total = reduceBlock(combiner, launch, loop.getResult(0), kWarp);
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane,
                                      index(0));
  auto ifFirst = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifFirst.thenBlock());
  SmallVector<Value> outputIvs(ranges.size());
  delinearize(output, parallelDims, outputIvs);
  SmallVector<Value> at = outputIndices(0, outputIvs);
  Value old = initialValue(0, at);
  memref::StoreOp::create(b, loc, combine(combiner, old, total), out, at);
}

void ReductionKernelBuilder::buildColumnReduction(Operation *combiner,
                                                  int64_t targetBlocks) {
  ColumnPlan plan = ColumnPlan::choose(outputs, reduced, targetBlocks,
                                       /*allowSplit=*/true);
  if (plan.rows.splits == 1) {
    buildColumnPass(combiner, plan, reduced, nullptr, nullptr);
    return;
  }
  // Partials [split][output]: the second pass reads them as a column
  // reduction too (coalesced, row lanes, fixed order).
  Type elementType = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  Value partials = memref::AllocOp::create(
      b, loc, MemRefType::get({plan.rows.splits * outputs}, elementType));
  buildColumnPass(combiner, plan, reduced, nullptr, partials);
  ColumnPlan second = ColumnPlan::choose(outputs, plan.rows.splits,
                                         targetBlocks, /*allowSplit=*/false);
  buildColumnPass(combiner, second, plan.rows.splits, partials, nullptr);
  memref::DeallocOp::create(b, loc, partials);
}

void ReductionKernelBuilder::buildColumnPass(Operation *combiner,
                                             const ColumnPlan &plan,
                                             int64_t rowCount, Value partialsIn,
                                             Value partialsOut) {
  OpBuilder::InsertionGuard guard(b);
  gpu::LaunchOp launch = beginColumnLaunch(plan);
  Value lane = launch.getThreadIds().y;
  Value column = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                            index(plan.columns)),
      launch.getThreadIds().x);
  Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, column,
                                      index(outputs));
  // Threads past the last column read column 0 (in bounds) and store
  // nothing: every thread of the block must reach its barriers.
  Value safeColumn = arith::SelectOp::create(b, loc, valid, column, index(0));
  SmallVector<Value> outputIvs(ranges.size());
  delinearize(safeColumn, parallelDims, outputIvs);
  Chunk chunk = chunkOf(plan.rows, rowCount, launch.getBlockIds().y);
  Value acc = foldChunk(
      combiner, plan.rows, outputIvs, lane, chunk,
      [&](Value row, Value acc) -> Value {
        if (!partialsIn)
          return foldBody(outputIvs, row, acc);
        Value at = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, row, index(outputs)),
            safeColumn);
        return combine(combiner, acc,
                       memref::LoadOp::create(b, loc, partialsIn, at));
      });
  if (plan.rows.threads > 1)
    acc = reduceRowLanes(combiner, launch.getWorkgroupAttributions()[0], acc,
                         launch.getThreadIds().x, lane, plan);
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0));
  auto ifStore =
      scf::IfOp::create(b, loc, arith::AndIOp::create(b, loc, valid, first),
                        /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifStore.thenBlock());
  if (partialsOut) {
    Value at = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().y, index(outputs)),
        column);
    memref::StoreOp::create(b, loc, acc, partialsOut, at);
    return;
  }
  SmallVector<Value> at = outputIndices(0, outputIvs);
  Value old = initialValue(0, at);
  memref::StoreOp::create(b, loc, combine(combiner, old, acc),
                          op.getDpsInits()[0], at);
}

gpu::LaunchOp
ReductionKernelBuilder::beginColumnLaunch(const ColumnPlan &plan) {
  Type elementType = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  int64_t lanes = plan.rows.threads;
  // One slot per thread where row lanes meet (reduceRowLanes).
  SmallVector<Type> buffers;
  if (lanes > 1)
    buffers.push_back(MemRefType::get(
        {plan.columns * lanes}, elementType, MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(b.getContext(),
                                   gpu::AddressSpace::Workgroup)));
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, loc, index(llvm::divideCeil(outputs, plan.columns)),
      index(plan.rows.splits), one, index(plan.columns), index(lanes), one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(), /*workgroupAttributions=*/buffers);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

Value ReductionKernelBuilder::reduceRowLanes(Operation *combiner, Value shared,
                                             Value acc, Value column,
                                             Value lane,
                                             const ColumnPlan &plan) {
  // Lane l < s adds lane l + s's value, for s = lanes / 2 .. 1: the same
  // pairs every run. Barriers stay at the top level (no thread skips one).
  Value slot = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, lane, index(plan.columns)), column);
  memref::StoreOp::create(b, loc, acc, shared, slot);
  for (int64_t s = plan.rows.threads / 2; s >= 1; s /= 2) {
    gpu::BarrierOp::create(b, loc);
    Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         lane, index(s));
    auto ifActive = scf::IfOp::create(b, loc, TypeRange{acc.getType()}, active,
                                      /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifActive.thenBlock());
      Value other =
          memref::LoadOp::create(b, loc, shared,
                                 ValueRange{arith::AddIOp::create(
                                     b, loc, slot, index(s * plan.columns))});
      Value sum = combine(combiner, acc, other);
      if (s > 1) // lane 0 keeps the last one in its register
        memref::StoreOp::create(b, loc, sum, shared, slot);
      scf::YieldOp::create(b, loc, sum);
      b.setInsertionPointToStart(ifActive.elseBlock());
      scf::YieldOp::create(b, loc, acc);
    }
    acc = ifActive.getResult(0);
  }
  return acc;
}

/// A launch of one thread per output element (blocks of `threads`), with
/// the insertion point inside the bound guard; returns the decoded loop
/// indices of the thread's element (reduction dims unset).
SmallVector<Value> ReductionKernelBuilder::beginThreadPerOutput(int64_t threads) {
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(b, loc,
                                      index(llvm::divideCeil(outputs, threads)),
                                      one, one, index(threads), one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value linear = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().x, index(threads)),
      launch.getThreadIds().x);
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        linear, index(outputs));
  auto ifInRange = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifInRange.thenBlock());
  SmallVector<Value> loopIvs(ranges.size());
  delinearize(linear, parallelDims, loopIvs);
  return loopIvs;
}

void ReductionKernelBuilder::buildThreadPerOutput(int64_t threads) {
  SmallVector<Value> loopIvs = beginThreadPerOutput(threads);
  SmallVector<Value> initial;
  SmallVector<SmallVector<Value>> at;
  for (unsigned i = 0; i < op.getNumDpsInits(); ++i) {
    at.push_back(outputIndices(i, loopIvs));
    initial.push_back(initialValue(i, at.back()));
  }
  auto loop = scf::ForOp::create(b, loc, index(0), index(reduced), index(1),
                                 initial);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> ivs = loopIvs;
    delinearize(loop.getInductionVar(), reductionDims, ivs);
    scf::YieldOp::create(b, loc, cloneBody(ivs, loop.getRegionIterArgs()));
  }
  for (unsigned i = 0; i < op.getNumDpsInits(); ++i)
    memref::StoreOp::create(b, loc, loop.getResult(i), op.getDpsInits()[i],
                            at[i]);
}

void ReductionKernelBuilder::buildElementwise(int64_t threads) {
  SmallVector<Value> loopIvs = beginThreadPerOutput(threads);
  // Outputs are read only where the body uses their old value.
  Block &body = op.getRegion().front();
  SmallVector<Value> old;
  for (unsigned i = 0; i < op.getNumDpsInits(); ++i) {
    BlockArgument arg = body.getArgument(op.getNumDpsInputs() + i);
    old.push_back(arg.use_empty()
                      ? Value()
                      : memref::LoadOp::create(b, loc, op.getDpsInits()[i],
                                               outputIndices(i, loopIvs))
                            .getResult());
  }
  SmallVector<Value> results = cloneBody(loopIvs, old);
  for (unsigned i = 0; i < op.getNumDpsInits(); ++i)
    memref::StoreOp::create(b, loc, results[i], op.getDpsInits()[i],
                            outputIndices(i, loopIvs));
}

/// The linalg.fill of `buffer` that a reduction's kernel can take over: it
/// fills exactly `buffer`, comes before `reduction` in its block, and
/// nothing in between touches that buffer (or a view of it).
static linalg::FillOp foldableFill(Operation *reduction, Value buffer) {
  Value root = rootBuffer(buffer);
  for (Operation *op = reduction->getPrevNode(); op; op = op->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(op);
        fill && fill.hasPureBufferSemantics() &&
        fill.getOutputs()[0] == buffer)
      return fill;
    if (isa<ViewLikeOpInterface>(op))
      continue;
    bool touches = false;
    op->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        touches |= isa<MemRefType>(operand.getType()) &&
                   rootBuffer(operand) == root;
    });
    if (touches)
      return nullptr;
  }
  return nullptr;
}

/// A launch of one block of one thread without attributions.
static bool isSingleThread(gpu::LaunchOp launch) {
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  for (Value size : {grid.x, grid.y, grid.z, block.x, block.y, block.z})
    if (getConstantIntValue(size) != 1)
      return false;
  return launch.getWorkgroupAttributions().empty() &&
         launch.getPrivateAttributions().empty() &&
         launch.getBody().hasOneBlock() && !launch.getAsyncToken();
}

/// Adjacent one-thread launches (scalar work: a loss's last arithmetic, the
/// copies of results) become one: the same thread runs them in order.
static void mergeSingleThreadLaunches(func::FuncOp func) {
  SmallVector<gpu::LaunchOp> launches;
  func.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
  for (gpu::LaunchOp launch : launches) {
    // Constants between the two (the second's sizes) move before the first.
    SmallVector<Operation *> constants;
    Operation *op = launch->getPrevNode();
    while (op && op->hasTrait<OpTrait::ConstantLike>()) {
      constants.push_back(op);
      op = op->getPrevNode();
    }
    auto previous = dyn_cast_or_null<gpu::LaunchOp>(op);
    if (!previous || !isSingleThread(previous) || !isSingleThread(launch))
      continue;
    for (Operation *constant : llvm::reverse(constants))
      constant->moveBefore(previous);
    Block &into = previous.getBody().front();
    Block &from = launch.getBody().front();
    // Block/thread ids and sizes are the same values in both.
    for (auto [a, b] : llvm::zip(from.getArguments(), into.getArguments()))
      a.replaceAllUsesWith(b);
    into.getTerminator()->erase();
    into.getOperations().splice(into.end(), from.getOperations());
    launch.erase();
  }
}

namespace {
struct BregMapLinalgToGpuPass
    : breg::impl::BregMapLinalgToGpuBase<BregMapLinalgToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    // A non-positive target divided by zero in ReductionPlan::choose.
    if (targetBlocks < 1) {
      getOperation()->emitError("breg-map-linalg-to-gpu: target-blocks must "
                                "be positive, got ")
          << static_cast<int64_t>(targetBlocks);
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> reductions;
    getOperation().walk([&](linalg::LinalgOp op) {
      // Rank-0 ops too (no loop to map to threads), and elementwise ops of
      // rank 2 and more (upstream's mapping would not coalesce them).
      if (op.hasPureBufferSemantics() &&
          (op.getNumReductionLoops() > 0 || op.getNumLoops() != 1) &&
          !op->getParentOfType<gpu::LaunchOp>())
        reductions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp linalgOp : reductions) {
      SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic)) {
        linalgOp.emitError("reduction with dynamic bounds cannot be mapped to "
                           "the GPU (the kernel's launch size is static)");
        return signalPassFailure();
      }
      // An empty loop writes nothing (the outputs keep their initial
      // values); planning a kernel for it divided by zero.
      if (llvm::is_contained(ranges, 0)) {
        rewriter.eraseOp(linalgOp);
        continue;
      }
      auto generic = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
      if (!generic) {
        rewriter.setInsertionPoint(linalgOp);
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, linalgOp);
        if (failed(generalized)) {
          linalgOp.emitError("this reduction cannot be written as a "
                             "linalg.generic, so it cannot be mapped to the GPU");
          return signalPassFailure();
        }
        generic = *generalized;
      }
      // Reduction outputs are indexed by parallel loops only.
      bool outputsParallel = llvm::all_of(
          generic.getDpsInitsMutable(), [&](OpOperand &init) {
            AffineMap map = generic.getMatchingIndexingMap(&init);
            return llvm::all_of(map.getResults(), [&](AffineExpr e) {
              auto dim = dyn_cast<AffineDimExpr>(e);
              return dim && generic.getIteratorTypesArray()[dim.getPosition()] ==
                                utils::IteratorType::parallel;
            });
          });
      if (!outputsParallel) {
        generic.emitError("reduction whose output is indexed by a reduction "
                          "loop cannot be mapped to the GPU");
        return signalPassFailure();
      }
      ReductionKernelBuilder builder(generic, ranges);
      // A fill of an output is taken over when the kernel writes every
      // element of it (output maps are projected permutations).
      if (generic.getNumReductionLoops() > 0)
        for (auto [i, init] : llvm::enumerate(generic.getDpsInits()))
          if (linalg::FillOp fill = foldableFill(generic, init);
              fill && generic.getMatchingIndexingMap(generic.getDpsInitOperand(i))
                          .isProjectedPermutation()) {
            builder.setInitialValue(i, fill.getInputs()[0]);
            rewriter.eraseOp(fill);
          }
      if (generic.getNumReductionLoops() == 0 && generic.getNumLoops() > 0) {
        builder.buildElementwise(256);
        rewriter.eraseOp(generic);
        continue;
      }
      Operation *combiner = findCombiner(generic);
      Type elementType = getElementTypeOrSelf(generic.getDpsInits()[0].getType());
      bool recognised = generic.getNumReductionLoops() > 0 && combiner &&
                        identityOf(combiner, elementType);
      bool enoughWork = builder.reductionSize() >= blockReductionThreshold ||
                        builder.outputCount() < 32;
      bool blockPerOutput = recognised && enoughWork &&
                            builder.outputCount() < threadOutputsThreshold;
      if (recognised && enoughWork && builder.isColumnReduction()) {
        builder.buildColumnReduction(combiner, targetBlocks);
      } else if (blockPerOutput) {
        ReductionPlan plan = ReductionPlan::choose(
            builder.outputCount(), builder.reductionSize(), targetBlocks);
        plan.vectorLoads = builder.hasContiguousReduction(plan.unroll);
        builder.buildBlockReduction(combiner, plan);
      } else {
        builder.buildThreadPerOutput(
            std::min<int64_t>(256, builder.outputCount()));
      }
      rewriter.eraseOp(generic);
    }
    mergeSingleThreadLaunches(getOperation());
  }
};
} // namespace
