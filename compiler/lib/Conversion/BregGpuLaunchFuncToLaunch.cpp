//===- BregGpuLaunchFuncToLaunch.cpp - outlined kernels back into launches ===//
//
// The CPU emulation of the GPU pipeline used to run each gpu.launch's body as
// written before outlining. The device runs something else: the kernel that
// gpu-kernel-outlining made of it, after gpu-launch-sink-index-computations,
// whose parameters are whatever the host passes. This pass puts each
// outlined kernel back into a gpu.launch at its call, with the kernel's
// arguments bound to the operands of the gpu.launch_func, so that
// breg-gpu-launch-to-loops runs the kernels the device would receive.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGGPULAUNCHFUNCTOLAUNCH
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

/// Refuses what a gpu.launch on the CPU cannot express, naming the kernel.
static LogicalResult checkCall(gpu::LaunchFuncOp call, gpu::GPUFuncOp kernel) {
  if (call.getAsyncToken() || !call.getAsyncDependencies().empty() ||
      call.getAsyncObject())
    return call.emitOpError("of ")
           << call.getKernel()
           << ": async launches are not supported on the CPU";
  if (call.hasClusterSize())
    return call.emitOpError("of ")
           << call.getKernel() << ": clusters are not supported on the CPU";
  if (!kernel.getBody().hasOneBlock())
    return call.emitOpError("of ")
           << call.getKernel()
           << ": a kernel of several blocks is not supported on the CPU";
  // The body moves out of the gpu.module: what it names must be found from
  // the call (outlining copied the host's symbols into the gpu.module).
  WalkResult symbols = kernel.getBody().walk([&](Operation *op) {
    for (NamedAttribute attr : op->getAttrs()) {
      auto ref = llvm::dyn_cast<SymbolRefAttr>(attr.getValue());
      if (ref && !SymbolTable::lookupNearestSymbolFrom(call, ref)) {
        call.emitOpError("of ")
            << call.getKernel() << ": the kernel refers to " << ref
            << ", which only its gpu.module defines";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (symbols.wasInterrupted())
    return failure();
  if (kernel.getNumArguments() != call.getNumKernelOperands())
    return call.emitOpError("of ")
           << call.getKernel() << " passes " << call.getNumKernelOperands()
           << " operands to a kernel of " << kernel.getNumArguments()
           << " parameters";
  return success();
}

/// Replaces `call` by a gpu.launch of the same sizes holding a copy of
/// `kernel`'s body.
static void inlineKernel(gpu::LaunchFuncOp call, gpu::GPUFuncOp kernel) {
  OpBuilder b(call);
  Location loc = call.getLoc();
  gpu::KernelDim3 grid = call.getGridSizeOperandValues();
  gpu::KernelDim3 block = call.getBlockSizeOperandValues();
  auto types = [](ArrayRef<BlockArgument> args) {
    return llvm::to_vector(llvm::map_range(
        args, [](BlockArgument arg) { return arg.getType(); }));
  };
  auto launch = gpu::LaunchOp::create(
      b, loc, grid.x, grid.y, grid.z, block.x, block.y, block.z,
      call.getDynamicSharedMemorySize(), /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, types(kernel.getWorkgroupAttributions()),
      types(kernel.getPrivateAttributions()));

  IRMapping map;
  Block &entry = kernel.getBody().front();
  for (auto [parameter, operand] :
       llvm::zip(entry.getArguments().take_front(kernel.getNumArguments()),
                 call.getKernelOperands()))
    map.map(parameter, operand);
  map.map(kernel.getWorkgroupAttributions(),
          launch.getWorkgroupAttributions());
  map.map(kernel.getPrivateAttributions(), launch.getPrivateAttributions());

  Block &body = launch.getBody().front();
  if (!body.empty() && body.back().hasTrait<OpTrait::IsTerminator>())
    body.back().erase();
  b.setInsertionPointToEnd(&body);
  for (Operation &op : entry) {
    if (isa<gpu::ReturnOp>(op))
      gpu::TerminatorOp::create(b, op.getLoc());
    else
      b.clone(op, map);
  }
  call.erase();
}

namespace {
struct BregGpuLaunchFuncToLaunch
    : breg::impl::BregGpuLaunchFuncToLaunchBase<BregGpuLaunchFuncToLaunch> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SmallVector<gpu::LaunchFuncOp> calls;
    module.walk([&](gpu::LaunchFuncOp call) { calls.push_back(call); });
    for (gpu::LaunchFuncOp call : calls) {
      auto kernel = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          call, call.getKernel());
      if (!kernel) {
        call.emitOpError("kernel ") << call.getKernel() << " not found";
        return signalPassFailure();
      }
      if (failed(checkCall(call, kernel)))
        return signalPassFailure();
      inlineKernel(call, kernel);
    }
    // Nested modules too: every kernel now lives at its launch.
    SmallVector<gpu::GPUModuleOp> gpuModules;
    module.walk([&](gpu::GPUModuleOp gpuModule) {
      gpuModules.push_back(gpuModule);
      return WalkResult::skip();
    });
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      gpuModule.erase();
    module.walk([](ModuleOp nested) {
      nested->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
    });
  }
};
} // namespace
