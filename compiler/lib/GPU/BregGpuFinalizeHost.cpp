//===- BregGpuFinalizeHost.cpp - Host code of a GPU program --------------===//
//
// After the mapping to gpu.launch: scalar reads sink into the kernels,
// buffers go to device memory, and whatever still touches memory on the host
// is an error naming the op.
//
//===----------------------------------------------------------------------===//

#include "breg/GPU/Passes.h"
#include "GpuUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGGPUFINALIZEHOST
#include "breg/GPU/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using mlir::breg::rootBuffer;

/// Whether `op` (or an op nested in it) does anything with a view of `root`
/// other than reading it through memref.load or taking views.
static bool touchesOtherThanLoads(Operation *op, Value root) {
  WalkResult r = op->walk([&](Operation *inner) {
    if (isa<memref::LoadOp, ViewLikeOpInterface>(inner))
      return WalkResult::advance();
    for (Value operand : inner->getOperands())
      if (isa<MemRefType>(operand.getType()) && rootBuffer(operand) == root)
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

/// A host load that may be repeated inside `launch`: the launch comes after
/// it (possibly inside a loop or branch there), and nothing in between writes
/// (or passes on) the loaded buffer.
static bool canRepeatLoadIn(memref::LoadOp load, gpu::LaunchOp launch) {
  Operation *ancestor = load->getBlock()->findAncestorOpInBlock(*launch);
  if (!ancestor || !load->isBeforeInBlock(ancestor))
    return false;
  Value root = rootBuffer(load.getMemRef());
  for (Operation *op = load->getNextNode(); op != ancestor;
       op = op->getNextNode())
    if (touchesOtherThanLoads(op, root))
      return false;
  // Inside a loop, the launch may also follow a write of a later iteration.
  return ancestor == launch || !touchesOtherThanLoads(ancestor, root);
}

static bool isScalar(Type type) { return type.isIntOrIndexOrFloat(); }

/// Recomputes inside `launch` the host scalars it uses: loads that may be
/// repeated, and pure scalar ops on them.
static void sinkScalarsInto(gpu::LaunchOp launch) {
  bool changed = true;
  while (changed) {
    changed = false;
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(launch.getBody(), above);
    for (Value v : above) {
      Operation *def = v.getDefiningOp();
      if (!def || def->getNumResults() != 1 || !isScalar(v.getType()) ||
          def->getNumRegions() != 0)
        continue;
      bool sinkable = false;
      if (auto load = dyn_cast<memref::LoadOp>(def))
        sinkable = canRepeatLoadIn(load, launch);
      else if (!def->hasTrait<OpTrait::ConstantLike>())
        sinkable = isMemoryEffectFree(def);
      if (!sinkable)
        continue;
      OpBuilder b(&launch.getBody().front(), launch.getBody().front().begin());
      Operation *clone = b.clone(*def);
      replaceAllUsesInRegionWith(v, clone->getResult(0), launch.getBody());
      changed = true;
    }
  }
}

/// A rank-0 or splat constant global, if `load` reads one.
static TypedAttr splatGlobalValue(memref::LoadOp load) {
  auto get = load.getMemRef().getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return nullptr;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      get, get.getNameAttr());
  if (!global || !global.getConstant())
    return nullptr;
  auto value = dyn_cast_or_null<DenseElementsAttr>(global.getConstantInitValue());
  // Scalars only: a complex splat is an ArrayAttr, not a TypedAttr (null:
  // the constant built from it crashed).
  if (!value || !value.isSplat() ||
      !isa<IntegerType, FloatType, IndexType>(value.getElementType()))
    return nullptr;
  return value.getSplatValue<TypedAttr>();
}

/// Host ops that never touch the contents of a buffer.
static bool isAllowedOnHost(Operation *op) {
  if (isa<gpu::LaunchOp, gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp,
          gpu::WaitOp, memref::AllocOp, memref::DeallocOp,
          memref::GetGlobalOp, memref::ExtractAlignedPointerAsIndexOp,
          memref::ExtractStridedMetadataOp, memref::DimOp,
          ViewLikeOpInterface, func::CallOp, func::ReturnOp,
          bufferization::DeallocOp, scf::YieldOp>(op))
    return true;
  if (isa<scf::IfOp, scf::ForOp>(op))
    return true; // their bodies are checked op by op
  return isMemoryEffectFree(op) && op->getNumRegions() == 0;
}

namespace {
struct BregGpuFinalizeHostPass
    : breg::impl::BregGpuFinalizeHostBase<BregGpuFinalizeHostPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Splat constants are values, not memory.
    module.walk([&](memref::LoadOp load) {
      if (TypedAttr value = splatGlobalValue(load)) {
        OpBuilder b(load);
        load.replaceAllUsesWith(
            arith::ConstantOp::create(b, load.getLoc(), value).getResult());
        load.erase();
      }
    });
    module.walk([&](gpu::LaunchOp launch) { sinkScalarsInto(launch); });
    // Host values nothing uses any more (the loads that were sunk).
    IRRewriter rewriter(&getContext());
    module.walk([&](func::FuncOp func) {
      (void)runRegionDCE(rewriter, func.getBody());
    });

    if (deviceAllocations && failed(useDeviceMemory(module)))
      return signalPassFailure();

    WalkResult result = module.walk([&](Operation *op) {
      if (isa<ModuleOp, func::FuncOp, gpu::GPUModuleOp, memref::GlobalOp>(op) ||
          op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOfType<gpu::GPUModuleOp>() || isAllowedOnHost(op))
        return WalkResult::advance();
      op->emitError("'")
          << op->getName()
          << "' is left in the host code of a GPU program: it accesses "
             "buffer contents, which live in device memory (the computation "
             "was not mapped to a kernel)";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  /// memref.alloc/dealloc -> gpu.alloc/dealloc; constant globals that
  /// kernels read are copied into device buffers.
  LogicalResult useDeviceMemory(ModuleOp module) {
    IRRewriter rewriter(&getContext());
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (!alloc.getSymbolOperands().empty())
          return alloc.emitError("allocation with symbol operands cannot be "
                                 "moved to device memory");
        auto deviceAlloc = gpu::AllocOp::create(
            rewriter, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
            ValueRange(), alloc.getDynamicSizes(), ValueRange());
        rewriter.replaceOp(alloc, deviceAlloc.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, dealloc.getLoc(), Type(),
                               ValueRange(), dealloc.getMemref());
        rewriter.eraseOp(dealloc);
      } else if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
        if (get.use_empty())
          continue;
        auto type = get.getType();
        if (!type.hasStaticShape() || !type.getLayout().isIdentity())
          return get.emitError("a global read by kernels needs a static, "
                               "contiguous type to be copied to the device");
        // The copy is freed before the block's terminator: one that the
        // terminator passes on would be used after it is freed.
        if (llvm::any_of(get->getUsers(), [](Operation *user) {
              return user->hasTrait<OpTrait::IsTerminator>();
            }))
          return get.emitError("a global that the block returns or yields "
                               "cannot be given a device copy (it would be "
                               "freed before use); copy it into a buffer "
                               "first");
        rewriter.setInsertionPointAfter(get);
        auto copy = gpu::AllocOp::create(rewriter, get.getLoc(), type, Type(),
                                         ValueRange(), ValueRange(),
                                         ValueRange());
        auto memcpy =
            gpu::MemcpyOp::create(rewriter, get.getLoc(), Type(), ValueRange(),
                                  copy.getMemref(), get.getResult());
        rewriter.replaceAllUsesExcept(get.getResult(), copy.getMemref(),
                                      memcpy);
        Block *block = get->getBlock();
        rewriter.setInsertionPoint(block->getTerminator());
        gpu::DeallocOp::create(rewriter, get.getLoc(), Type(), ValueRange(),
                               copy.getMemref());
      }
    }
    return success();
  }
};
} // namespace
