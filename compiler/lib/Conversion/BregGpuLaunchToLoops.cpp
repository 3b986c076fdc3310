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
// Values may cross a barrier through workgroup memory; pure values (ids,
// constants, index arithmetic) are recomputed in the later phase, anything
// else crossing is rejected. Barriers nested in control flow, shuffles,
// subgroup and all-reduce ops, async launches, clusters, dynamic shared
// memory and bodies of several blocks are rejected with an error.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"
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
             gpu::GlobalIdOp, gpu::TerminatorOp, gpu::BarrierOp>(op);
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
             "gpu.thread_id, gpu.block_dim, gpu.grid_dim and gpu.global_id "
             "are mapped to loops";
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

/// The body's top-level ops, split at gpu.barrier into phases.
static SmallVector<SmallVector<Operation *>> splitAtBarriers(Block &body) {
  SmallVector<SmallVector<Operation *>> phases(1);
  for (Operation &op : body.without_terminator()) {
    if (isa<gpu::BarrierOp>(op))
      phases.emplace_back();
    else
      phases.back().push_back(&op);
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

static LogicalResult lowerLaunch(gpu::LaunchOp launch) {
  IRRewriter rewriter(launch);
  Location loc = launch.getLoc();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<Value> lbs(3, zero), steps(3, one);

  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  SmallVector<Value> gridSizes = {grid.x, grid.y, grid.z};
  SmallVector<Value> blockSizes = {block.x, block.y, block.z};

  Block &body = launch.getBody().front();
  SmallVector<SmallVector<Operation *>> phases = splitAtBarriers(body);
  // Which phase each top-level op belongs to, to find values that cross.
  DenseMap<Operation *, unsigned> phaseOf;
  for (auto [i, ops] : llvm::enumerate(phases))
    for (Operation *op : ops)
      phaseOf[op] = i;
  for (auto [i, ops] : llvm::enumerate(phases))
    for (Operation *op : ops) {
      WalkResult crossing = op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands()) {
          Operation *def = operand.getDefiningOp();
          if (!def || def->getBlock() != &body || phaseOf[def] >= i ||
              isRecomputable(operand, launch))
            continue;
          launch.emitOpError("a value computed before a gpu.barrier and used "
                             "after it must go through workgroup memory")
                  .attachNote(def->getLoc())
              << "defined here";
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      if (crossing.wasInterrupted())
        return failure();
    }

  auto blocks = scf::ParallelOp::create(rewriter, loc, lbs, gridSizes, steps);
  rewriter.setInsertionPointToStart(blocks.getBody());
  SmallVector<Value> workgroup =
      allocateAttributions(rewriter, loc, launch.getWorkgroupAttributions());

  SmallVector<Operation *> idOps;
  for (const SmallVector<Operation *> &ops : phases) {
    auto threads =
        scf::ParallelOp::create(rewriter, loc, lbs, blockSizes, steps);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(threads.getBody());
    SmallVector<Value> priv =
        allocateAttributions(rewriter, loc, launch.getPrivateAttributions());
    // Region arguments: block ids, thread ids, grid sizes, block sizes, then
    // the workgroup and private attributions.
    SmallVector<Value> argValues;
    llvm::append_range(argValues, blocks.getInductionVars());
    llvm::append_range(argValues, threads.getInductionVars());
    llvm::append_range(argValues, gridSizes);
    llvm::append_range(argValues, blockSizes);
    llvm::append_range(argValues, workgroup);
    llvm::append_range(argValues, priv);
    IRMapping mapping;
    mapping.map(body.getArguments(), argValues);
    for (Operation *op : ops) {
      // Values of earlier phases this op needs are recomputed first.
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (Operation *def = operand.getDefiningOp();
              def && def->getBlock() == &body && !mapping.contains(operand))
            recompute(operand, launch, rewriter, mapping);
      });
      rewriter.clone(*op, mapping);
    }
    for (Value alloca : priv)
      dropMemorySpaceOfViews(alloca);
    threads.getBody()->walk([&](Operation *op) {
      if (isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
              gpu::GlobalIdOp>(op))
        idOps.push_back(op);
    });
    // The explicit reads of the launch configuration in this phase.
    auto pick = [](ValueRange xyz, gpu::Dimension dim) {
      return xyz[static_cast<unsigned>(dim)];
    };
    SmallVector<Value> blockIds = blocks.getInductionVars();
    SmallVector<Value> threadIds = threads.getInductionVars();
    for (Operation *op : idOps) {
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
    idOps.clear();
  }
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
      if (failed(lowerLaunch(launch)))
        return signalPassFailure();
  }
};
} // namespace
