//===- GpuLaunchToLoops.cpp - gpu.launch -> scf.parallel on the CPU -------===//
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
// Threads of a block run one after another (or in any order), so anything
// that needs threads to meet (gpu.barrier, shuffles, subgroup and all-reduce
// ops) is rejected, as are async launches, clusters, dynamic shared memory
// and bodies of several blocks.
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
             gpu::GlobalIdOp, gpu::TerminatorOp>(op);
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
    if (isa<gpu::BarrierOp>(op)) {
      launch.emitOpError("gpu.barrier is not supported on the CPU: the "
                         "threads of a block run one after another")
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

static void lowerLaunch(gpu::LaunchOp launch) {
  IRRewriter rewriter(launch);
  Location loc = launch.getLoc();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<Value> lbs(3, zero), steps(3, one);

  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  SmallVector<Value> gridSizes = {grid.x, grid.y, grid.z};
  SmallVector<Value> blockSizes = {block.x, block.y, block.z};

  auto blocks = scf::ParallelOp::create(rewriter, loc, lbs, gridSizes, steps);
  rewriter.setInsertionPointToStart(blocks.getBody());
  SmallVector<Value> workgroup =
      allocateAttributions(rewriter, loc, launch.getWorkgroupAttributions());
  auto threads = scf::ParallelOp::create(rewriter, loc, lbs, blockSizes, steps);
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

  Block &body = launch.getBody().front();
  Operation *terminator = body.getTerminator();
  rewriter.inlineBlockBefore(&body, threads.getBody()->getTerminator(),
                             argValues);
  rewriter.eraseOp(terminator);
  for (Value alloca : llvm::concat<Value>(workgroup, priv))
    dropMemorySpaceOfViews(alloca);

  // The explicit reads of the launch configuration.
  auto pick = [](ValueRange xyz, gpu::Dimension dim) {
    return xyz[static_cast<unsigned>(dim)];
  };
  SmallVector<Value> blockIds = blocks.getInductionVars();
  SmallVector<Value> threadIds = threads.getInductionVars();
  SmallVector<Operation *> idOps;
  threads.getBody()->walk([&](Operation *op) {
    if (isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
            gpu::GlobalIdOp>(op))
      idOps.push_back(op);
  });
  for (Operation *op : idOps) {
    rewriter.setInsertionPoint(op);
    Value value = TypeSwitch<Operation *, Value>(op)
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
  rewriter.eraseOp(launch);
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
      lowerLaunch(launch);
  }
};
} // namespace
