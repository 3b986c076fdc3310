//===- BregGpuLaunchToLoops.cpp - gpu.launch -> scf.parallel on the CPU ---===//
//
// Development machines and CI have no GPU, so the kernel IR that goes to NVVM
// is also executed on the CPU and compared with the CPU path (DESIGN.md,
// "Verifying GPU code without a GPU"). Upstream has no such lowering
// (TOOLCHAIN.md §4). This pass rewrites each
//
//   gpu.launch blocks(%bx, %by, %bz) in (%gx = ..., ...)
//              threads(%tx, %ty, %tz) in (%sx = ..., ...)
//              workgroup(%w : memref<..., #gpu.address_space<workgroup>>)
//              private(%p : memref<..., #gpu.address_space<private>>) {
//     body
//     gpu.terminator
//   }
//
// into
//
//   scf.parallel (%bx, %by, %bz) = (0, 0, 0) to (%gx, %gy, %gz) step (1, ..) {
//     %w = memref.alloca() : memref<...>
//     scf.parallel (%tx, %ty, %tz) = (0, 0, 0) to (%sx, %sy, %sz) step (..) {
//       %p = memref.alloca() : memref<...>
//       body
//     }
//   }
//
// Threads of a block run one after another (or in any order). A gpu.barrier
// at the top level of the body splits it into phases, each its own
// scf.parallel over the threads inside the block loop: every thread finishes
// a phase before any starts the next, which is what the barrier promises.
// A gpu.shuffle at the top level splits it too: the phase before it stores
// each thread's value into an exchange buffer of the block, the shuffle
// reads its source lane's entry there (subgroups of 32 consecutive threads,
// as on NVIDIA GPUs). Pure values (ids, constants, index arithmetic) used
// after a split are recomputed in the later phase; other scalars are kept
// per thread in a buffer of the block (registers survive a barrier on the
// GPU). Barriers and shuffles nested in control flow, non-scalar values
// and private attributions crossing a split, subgroup and all-reduce ops, async launches, clusters,
// dynamic shared memory and bodies of several blocks are rejected with an
// error.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGGPULAUNCHTOLOOPS
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

/// The GPU ops a body may contain: the ones that read the launch
/// configuration, and the terminator.
static bool isSupportedGpuOp(Operation *op) {
  return isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
             gpu::GlobalIdOp, gpu::TerminatorOp, gpu::BarrierOp,
             gpu::ShuffleOp>(op);
}

/// Checks that `launch` can run on the CPU; emits an error otherwise.
static LogicalResult checkLaunch(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return launch.emitOpError(
        "async launches are not supported on the CPU: the launch would have "
        "to complete before its token");
  if (launch.hasClusterSize())
    return launch.emitOpError(
        "clusters are not supported on the CPU: only blocks and threads are "
        "mapped to loops");
  if (launch.getDynamicSharedMemorySize())
    return launch.emitOpError(
        "dynamic shared memory is not supported on the CPU: use workgroup "
        "attributions");
  if (!launch.getBody().hasOneBlock())
    return launch.emitOpError(
        "a body of several blocks is not supported on the CPU: it cannot be "
        "moved into a loop body");
  if (!isa<gpu::TerminatorOp>(launch.getBody().front().getTerminator()))
    return launch.emitOpError("expected the body to end in gpu.terminator");

  WalkResult result = launch.getBody().walk([&](Operation *op) {
    if (isa<gpu::BarrierOp>(op) && op->getParentOp() != launch) {
      launch.emitOpError("gpu.barrier inside control flow is not supported "
                         "on the CPU: only barriers at the top level of the "
                         "body split it into phases")
              .attachNote(op->getLoc())
          << "barrier here";
      return WalkResult::interrupt();
    }
    if (isa<gpu::ShuffleOp>(op) && op->getParentOp() != launch) {
      launch.emitOpError("gpu.shuffle inside control flow is not supported "
                         "on the CPU: only shuffles at the top level of the "
                         "body, which every thread reaches, are emulated")
              .attachNote(op->getLoc())
          << "shuffle here";
      return WalkResult::interrupt();
    }
    if (isa<gpu::LaunchOp>(op)) {
      launch.emitOpError("nested gpu.launch is not supported on the CPU")
              .attachNote(op->getLoc())
          << "nested launch here";
      return WalkResult::interrupt();
    }
    if (isa<gpu::GPUDialect>(op->getDialect()) && !isSupportedGpuOp(op)) {
      InFlightDiagnostic diag =
          launch.emitOpError()
          << op->getName()
          << " is not supported on the CPU: only gpu.block_id, "
             "gpu.thread_id, gpu.block_dim, gpu.grid_dim, gpu.global_id, "
             "gpu.barrier and gpu.shuffle are emulated";
      diag.attachNote(op->getLoc()) << "op here";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// `type` in the default memory space: the CPU has a single one.
static MemRefType withoutMemorySpace(MemRefType type) {
  return MemRefType::get(type.getShape(), type.getElementType(),
                         type.getLayout());
}

/// After an attribution was replaced by an alloca in the default memory
/// space, gives the views taken of it (subview, cast, ...) the default memory
/// space too, so that types stay consistent.
static void dropMemorySpaceOfViews(Value value) {
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value source = worklist.pop_back_val();
    for (Operation *user : source.getUsers()) {
      auto view = dyn_cast<ViewLikeOpInterface>(user);
      if (!view || view.getViewSource() != source)
        continue;
      for (Value result : user->getResults()) {
        auto type = dyn_cast<MemRefType>(result.getType());
        if (!type || !type.getMemorySpace())
          continue;
        result.setType(withoutMemorySpace(type));
        worklist.push_back(result);
      }
    }
  }
}

/// Allocas in the default memory space replacing `attributions`.
static SmallVector<Value> allocateAttributions(OpBuilder &b, Location loc,
                                               ArrayRef<BlockArgument> args) {
  SmallVector<Value> allocas;
  for (BlockArgument arg : args) {
    auto type = withoutMemorySpace(cast<MemRefType>(arg.getType()));
    allocas.push_back(memref::AllocaOp::create(b, loc, type));
  }
  return allocas;
}

namespace {
/// Top-level ops of the body that run without a barrier between them. A
/// phase that starts at a gpu.shuffle reads the values the previous phase
/// left in the shuffle's exchange buffer.
struct Phase {
  SmallVector<Operation *> ops;
  mutable gpu::ShuffleOp shuffle; // first op of the phase, or null
};
} // namespace

/// The body's top-level ops, split into phases at each gpu.barrier and
/// before each gpu.shuffle.
static SmallVector<Phase> splitIntoPhases(Block &body) {
  SmallVector<Phase> phases(1);
  for (Operation &op : body.without_terminator()) {
    if (isa<gpu::BarrierOp>(op)) {
      phases.emplace_back();
      continue;
    }
    if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op)) {
      phases.emplace_back();
      phases.back().shuffle = shuffle;
    }
    phases.back().ops.push_back(&op);
  }
  return phases;
}

/// Whether `value`, defined in an earlier phase, can be recomputed in a
/// later one: a pure op without regions whose operands can be too.
static bool isRecomputable(Value value, gpu::LaunchOp launch) {
  Operation *def = value.getDefiningOp();
  // Region arguments are mapped in every phase; values from outside stay.
  if (!def || !launch->isProperAncestor(def))
    return true;
  if (def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return false;
  return llvm::all_of(def->getOperands(), [&](Value operand) {
    return isRecomputable(operand, launch);
  });
}

/// Clones `value`'s definition (and what it needs) into the current phase.
static Value recompute(Value value, gpu::LaunchOp launch, OpBuilder &b,
                       IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  Operation *def = value.getDefiningOp();
  if (!def || !launch->isProperAncestor(def))
    return value;
  for (Value operand : def->getOperands())
    recompute(operand, launch, b, mapping);
  b.clone(*def, mapping);
  return mapping.lookup(value);
}

/// The top-level values of `body` used in a later phase than their own that
/// cannot be recomputed there (they are kept per thread); null with an error
/// when one is not a scalar.
static FailureOr<SetVector<Value>>
findKeptValues(gpu::LaunchOp launch, ArrayRef<Phase> phases) {
  Block &body = launch.getBody().front();
  DenseMap<Operation *, unsigned> phaseOf;
  for (auto [i, phase] : llvm::enumerate(phases))
    for (Operation *op : phase.ops)
      phaseOf[op] = i;
  SetVector<Value> kept;
  auto needIn = [&](Value value, unsigned phase) -> LogicalResult {
    Operation *def = value.getDefiningOp();
    if (!def || def->getBlock() != &body || phaseOf[def] >= phase ||
        isRecomputable(value, launch))
      return success();
    if (!value.getType().isIntOrIndexOrFloat()) {
      launch.emitOpError("a value computed before a gpu.barrier or "
                         "gpu.shuffle and used after it must be a scalar or "
                         "go through workgroup memory")
              .attachNote(def->getLoc())
          << "defined here";
      return failure();
    }
    kept.insert(value);
    return success();
  };
  for (unsigned i = 0; i < phases.size(); ++i) {
    const Phase &phase = phases[i];
    // The phase before a shuffle stores the shuffled value.
    if (phase.shuffle && failed(needIn(phase.shuffle.getValue(), i - 1)))
      return failure();
    for (Operation *op : phase.ops) {
      WalkResult walk = op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (failed(needIn(operand, i)))
            return WalkResult::interrupt();
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return failure();
    }
  }
  return kept;
}

namespace {
/// Emits the loops of one launch: a loop over blocks, in it one loop over
/// threads per phase.
class LaunchLowering {
public:
  LaunchLowering(gpu::LaunchOp launch)
      : launch(launch), rewriter(launch), loc(launch.getLoc()),
        body(launch.getBody().front()) {}

  LogicalResult run();

private:
  void emitPhase(const Phase &phase, const Phase *next);
  /// The value of the body's `value` in the phase being emitted: mapped,
  /// recomputed, or loaded from its per-thread buffer.
  Value valueInPhase(Value value, IRMapping &mapping);
  /// The emulated `shuffle`: the source lane's published value where the
  /// lane is valid, else the thread's own value.
  void emulateShuffle(gpu::ShuffleOp shuffle, IRMapping &mapping);
  /// A buffer of one `type` per thread of the block (heap: a block loop
  /// with stack allocations would grow the stack with every block).
  Value allocatePerThread(Type type) {
    Value buffer = memref::AllocOp::create(
        rewriter, loc, MemRefType::get({ShapedType::kDynamic}, type),
        ValueRange{threadCount});
    perThreadBuffers.push_back(buffer);
    return buffer;
  }
  Value index(int64_t v) {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  }
  /// The explicit reads of the launch configuration in `threads` become
  /// the loops' induction variables and the launch sizes.
  void replaceIdOps(scf::ParallelOp threads);

  gpu::LaunchOp launch;
  IRRewriter rewriter;
  Location loc;
  Block &body;
  SmallVector<Value> gridSizes, blockSizes, workgroup, lbs, steps;
  scf::ParallelOp blocks;
  Value threadCount;    // threads per block, where buffers per thread exist
  Value linearThread;   // in the phase being emitted
  SmallVector<Value> threadIds;
  SetVector<Value> kept;
  DenseMap<Value, Value> keptBuffers;                  // value -> per thread
  DenseMap<Operation *, Value> exchangeBuffers;        // shuffle -> per thread
  SmallVector<Value> perThreadBuffers;
};
} // namespace

Value LaunchLowering::valueInPhase(Value value, IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  if (kept.contains(value)) {
    Value loaded = memref::LoadOp::create(rewriter, loc, keptBuffers[value],
                                          linearThread);
    mapping.map(value, loaded);
    return loaded;
  }
  return recompute(value, launch, rewriter, mapping);
}

void LaunchLowering::emulateShuffle(gpu::ShuffleOp shuffle,
                                    IRMapping &mapping) {
  constexpr int64_t kSubgroup = 32;
  Value own = valueInPhase(shuffle.getValue(), mapping);
  auto asIndex = [&](Value v) {
    return arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(),
                                      valueInPhase(v, mapping))
        .getResult();
  };
  Value offset = asIndex(shuffle.getOffset());
  Value width = asIndex(shuffle.getWidth());
  Value lane = arith::RemUIOp::create(rewriter, loc, linearThread,
                                      index(kSubgroup));
  Value subgroupBase = arith::SubIOp::create(rewriter, loc, linearThread, lane);
  using Pred = arith::CmpIPredicate;
  auto cmp = [&](Pred p, Value a, Value b) {
    return arith::CmpIOp::create(rewriter, loc, p, a, b).getResult();
  };
  Value source, valid;
  switch (shuffle.getMode()) {
  case gpu::ShuffleMode::XOR:
    source = arith::XOrIOp::create(rewriter, loc, lane, offset);
    valid = cmp(Pred::ult, source, width);
    break;
  case gpu::ShuffleMode::DOWN:
    source = arith::AddIOp::create(rewriter, loc, lane, offset);
    valid = cmp(Pred::ult, source, width);
    break;
  case gpu::ShuffleMode::UP:
    valid = cmp(Pred::uge, lane, offset);
    source = arith::SubIOp::create(rewriter, loc, lane, offset);
    break;
  case gpu::ShuffleMode::IDX:
    source = offset;
    valid = cmp(Pred::ult, source, width);
    break;
  }
  Value at = arith::AddIOp::create(rewriter, loc, subgroupBase, source);
  // A block whose size is not a multiple of 32 has a short last subgroup.
  valid = arith::AndIOp::create(rewriter, loc, valid,
                                cmp(Pred::ult, at, threadCount));
  at = arith::SelectOp::create(rewriter, loc, valid, at, linearThread);
  Value other =
      memref::LoadOp::create(rewriter, loc, exchangeBuffers[shuffle], at);
  Value result = arith::SelectOp::create(rewriter, loc, valid, other, own);
  mapping.map(shuffle.getShuffleResult(), result);
  mapping.map(shuffle.getValid(), valid);
}

void LaunchLowering::replaceIdOps(scf::ParallelOp threads) {
  SmallVector<Operation *> idOps;
  threads.getBody()->walk([&](Operation *op) {
    if (isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
            gpu::GlobalIdOp>(op))
      idOps.push_back(op);
  });
  auto pick = [](ValueRange xyz, gpu::Dimension dim) {
    return xyz[static_cast<unsigned>(dim)];
  };
  SmallVector<Value> blockIds = blocks.getInductionVars();
  for (Operation *op : idOps) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(op);
    Value value =
        TypeSwitch<Operation *, Value>(op)
            .Case([&](gpu::BlockIdOp o) {
              return pick(blockIds, o.getDimension());
            })
            .Case([&](gpu::ThreadIdOp o) {
              return pick(threadIds, o.getDimension());
            })
            .Case([&](gpu::GridDimOp o) {
              return pick(gridSizes, o.getDimension());
            })
            .Case([&](gpu::BlockDimOp o) {
              return pick(blockSizes, o.getDimension());
            })
            .Case([&](gpu::GlobalIdOp o) {
              gpu::Dimension d = o.getDimension();
              Value base = arith::MulIOp::create(rewriter, o.getLoc(),
                                                 pick(blockIds, d),
                                                 pick(blockSizes, d));
              return arith::AddIOp::create(rewriter, o.getLoc(), base,
                                           pick(threadIds, d))
                  .getResult();
            });
    rewriter.replaceOp(op, value);
  }
}

void LaunchLowering::emitPhase(const Phase &phase, const Phase *next) {
  auto threads = scf::ParallelOp::create(rewriter, loc, lbs, blockSizes, steps);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(threads.getBody());
  SmallVector<Value> priv =
      allocateAttributions(rewriter, loc, launch.getPrivateAttributions());
  threadIds = llvm::to_vector(threads.getInductionVars());
  // x fastest, as the GPU numbers the threads of a block (subgroups).
  if (threadCount)
    linearThread = arith::AddIOp::create(
        rewriter, loc, threadIds[0],
        arith::MulIOp::create(
            rewriter, loc, blockSizes[0],
            arith::AddIOp::create(
                rewriter, loc, threadIds[1],
                arith::MulIOp::create(rewriter, loc, blockSizes[1],
                                      threadIds[2]))));
  // Region arguments: block ids, thread ids, grid sizes, block sizes, then
  // the workgroup and private attributions.
  SmallVector<Value> argValues;
  llvm::append_range(argValues, blocks.getInductionVars());
  llvm::append_range(argValues, threadIds);
  llvm::append_range(argValues, gridSizes);
  llvm::append_range(argValues, blockSizes);
  llvm::append_range(argValues, workgroup);
  llvm::append_range(argValues, priv);
  IRMapping mapping;
  mapping.map(body.getArguments(), argValues);
  for (Operation *op : phase.ops) {
    // Values of earlier phases this op needs are recomputed or reloaded.
    op->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && def->getBlock() == &body)
          valueInPhase(operand, mapping);
    });
    if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op))
      emulateShuffle(shuffle, mapping);
    else
      rewriter.clone(*op, mapping);
    for (Value result : op->getResults())
      if (kept.contains(result))
        memref::StoreOp::create(rewriter, loc, mapping.lookup(result),
                                keptBuffers[result], linearThread);
  }
  // Publish the value the next phase's shuffle reads.
  if (next && next->shuffle)
    memref::StoreOp::create(rewriter, loc,
                            valueInPhase(next->shuffle.getValue(), mapping),
                            exchangeBuffers[next->shuffle], linearThread);
  for (Value alloca : priv)
    dropMemorySpaceOfViews(alloca);
  replaceIdOps(threads);
}

/// Private attributions are allocated per thread and phase (a phase is a
/// loop of its own), so one must not carry values across a split: refuses a
/// private attribution, or a view of it, used in two phases.
static LogicalResult checkPrivateAttributions(gpu::LaunchOp launch,
                                              ArrayRef<Phase> phases) {
  Block &body = launch.getBody().front();
  DenseMap<Operation *, unsigned> phaseOf;
  for (auto [i, phase] : llvm::enumerate(phases))
    for (Operation *op : phase.ops)
      phaseOf[op] = i;
  for (BlockArgument attribution : launch.getPrivateAttributions()) {
    SmallVector<Value> worklist{attribution};
    std::optional<unsigned> usedIn;
    while (!worklist.empty()) {
      Value value = worklist.pop_back_val();
      for (Operation *user : value.getUsers()) {
        Operation *top = body.findAncestorOpInBlock(*user);
        if (!top || !phaseOf.contains(top))
          continue;
        if (usedIn && *usedIn != phaseOf[top])
          return launch.emitOpError(
                     "a private attribution used on both sides of a "
                     "gpu.barrier or gpu.shuffle is not supported on the CPU "
                     "(each phase allocates its own): keep it within one "
                     "phase")
                     .attachNote(user->getLoc())
                 << "used here";
        usedIn = phaseOf[top];
        if (auto view = dyn_cast<ViewLikeOpInterface>(user);
            view && view.getViewSource() == value)
          llvm::append_range(worklist, user->getResults());
      }
    }
  }
  return success();
}

LogicalResult LaunchLowering::run() {
  SmallVector<Phase> phases = splitIntoPhases(body);
  if (failed(checkPrivateAttributions(launch, phases)))
    return failure();
  FailureOr<SetVector<Value>> keptValues = findKeptValues(launch, phases);
  if (failed(keptValues))
    return failure();
  kept = std::move(*keptValues);

  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  gridSizes = {grid.x, grid.y, grid.z};
  blockSizes = {block.x, block.y, block.z};
  lbs.assign(3, index(0));
  steps.assign(3, index(1));
  blocks = scf::ParallelOp::create(rewriter, loc, lbs, gridSizes, steps);
  rewriter.setInsertionPointToStart(blocks.getBody());
  workgroup =
      allocateAttributions(rewriter, loc, launch.getWorkgroupAttributions());
  // Only a body with per-thread buffers numbers the threads.
  if (!kept.empty() ||
      llvm::any_of(phases, [](const Phase &p) { return bool(p.shuffle); }))
    threadCount = arith::MulIOp::create(
        rewriter, loc, blockSizes[0],
        arith::MulIOp::create(rewriter, loc, blockSizes[1], blockSizes[2]));
  for (Value value : kept)
    keptBuffers[value] = allocatePerThread(value.getType());
  for (const Phase &phase : phases)
    if (phase.shuffle)
      exchangeBuffers[phase.shuffle] =
          allocatePerThread(phase.shuffle.getValue().getType());
  for (auto [i, phase] : llvm::enumerate(phases))
    emitPhase(phase, i + 1 < phases.size() ? &phases[i + 1] : nullptr);
  for (Value buffer : perThreadBuffers)
    memref::DeallocOp::create(rewriter, loc, buffer);
  for (Value alloca : workgroup)
    dropMemorySpaceOfViews(alloca);
  rewriter.eraseOp(launch);
  return success();
}

namespace {
struct BregGpuLaunchToLoopsPass
    : mlir::breg::impl::BregGpuLaunchToLoopsBase<BregGpuLaunchToLoopsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk(
        [&](gpu::LaunchOp launch) { launches.push_back(launch); });
    bool ok = true;
    for (gpu::LaunchOp launch : launches)
      ok &= succeeded(checkLaunch(launch));
    if (!ok)
      return signalPassFailure();
    for (gpu::LaunchOp launch : launches)
      if (failed(LaunchLowering(launch).run()))
        return signalPassFailure();
  }
};
} // namespace
