//===- BregMapLinalgToGpu.cpp - linalg ops on buffers to gpu.launch ------===//
//
// Upstream's parallel-loop mapping gives rank-1 elementwise loops to the GPU;
// this pass gives it the rest of a training step: reductions become a block
// reduction through workgroup memory or one thread per output, and
// multi-dimensional elementwise ops one thread per element, coalesced.
//
//===----------------------------------------------------------------------===//

#include "breg/GPU/Passes.h"
#include "GpuUtils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
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
  /// Output `i` starts from `value` (a fill folded into the kernel) instead
  /// of its old contents.
  void setInitialValue(unsigned i, Value value) {
    initialValues.resize(op.getNumDpsInits());
    initialValues[i] = value;
  }

  /// One block of `threads` per output; partials meet in workgroup memory.
  void buildBlockReduction(Operation *combiner, int64_t threads);
  /// One thread per output, each running the reduction in the op's order.
  void buildThreadPerOutput(int64_t threads);
  /// An all-parallel op: one thread per element, last dimension fastest.
  void buildElementwise(int64_t threads);

private:
  SmallVector<Value> beginThreadPerOutput(int64_t threads);
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
                               ValueRange accumulators);
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
                                                     ValueRange accumulators) {
  Block &body = op.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands())
    mapping.map(body.getArgument(input->getOperandNumber()),
                load(*input, loopIvs));
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

void ReductionKernelBuilder::buildBlockReduction(Operation *combiner,
                                                 int64_t threads) {
  constexpr int64_t kWarp = 32;
  Value out = op.getDpsInits()[0];
  Type elementType = cast<MemRefType>(out.getType()).getElementType();
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  auto partialsType = MemRefType::get({threads}, elementType,
                                      MemRefLayoutAttrInterface(), workgroup);
  auto warpType = MemRefType::get({kWarp}, elementType,
                                  MemRefLayoutAttrInterface(), workgroup);
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, loc, index(outputs), one, one, index(threads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(),
      /*workgroupAttributions=*/TypeRange{partialsType, warpType});
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Value partials = launch.getWorkgroupAttributions()[0];
  Value warpPartials = launch.getWorkgroupAttributions()[1];
  Value identity = arith::ConstantOp::create(b, loc, identityOf(combiner, elementType));
  Value thread = launch.getThreadIds().x;
  Value block = launch.getBlockIds().x;

  // Phase 1: each thread folds elements t, t + T, t + 2T, ... of the
  // reduction, with the op's body (fused producers included).
  SmallVector<Value> loopIvs(ranges.size());
  delinearize(block, parallelDims, loopIvs);
  auto loop = scf::ForOp::create(b, loc, thread, index(reduced), index(threads),
                                 ValueRange{identity});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> ivs = loopIvs;
    delinearize(loop.getInductionVar(), reductionDims, ivs);
    SmallVector<Value> next = cloneBody(ivs, loop.getRegionIterArgs());
    scf::YieldOp::create(b, loc, next);
  }
  memref::StoreOp::create(b, loc, loop.getResult(0), partials, thread);
  gpu::BarrierOp::create(b, loc);

  // Phase 2: 32 threads fold the T partials to 32.
  Value inWarp = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       thread, index(kWarp));
  auto ifWarp = scf::IfOp::create(b, loc, inWarp, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifWarp.thenBlock());
    Value acc = memref::LoadOp::create(b, loc, partials, thread);
    for (int64_t k = 1; k < threads / kWarp; ++k) {
      Value at = arith::AddIOp::create(b, loc, thread, index(k * kWarp));
      acc = combine(combiner, acc, memref::LoadOp::create(b, loc, partials, at));
    }
    memref::StoreOp::create(b, loc, acc, warpPartials, thread);
  }
  gpu::BarrierOp::create(b, loc);

  // Phase 3: thread 0 folds the 32 values into the output element.
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                                      index(0));
  auto ifFirst = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    Value acc = memref::LoadOp::create(b, loc, warpPartials, index(0));
    for (int64_t k = 1; k < kWarp; ++k)
      acc = combine(combiner, acc,
                    memref::LoadOp::create(b, loc, warpPartials, index(k)));
    SmallVector<Value> at = outputIndices(0, loopIvs);
    Value old = initialValue(0, at);
    memref::StoreOp::create(b, loc, combine(combiner, old, acc), out, at);
  }
  gpu::TerminatorOp::create(b, loc);
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
      bool blockPerOutput =
          generic.getNumReductionLoops() > 0 && combiner &&
          identityOf(combiner, elementType) &&
          builder.outputCount() < threadOutputsThreshold &&
          (builder.reductionSize() >= blockReductionThreshold ||
           builder.outputCount() < 32);
      if (blockPerOutput) {
        int64_t threads = std::clamp<int64_t>(
            llvm::PowerOf2Ceil(builder.reductionSize()), 32, 256);
        builder.buildBlockReduction(combiner, threads);
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
