//===- OutlineUtils.cpp - What the outlining passes share -----------------===//

#include "OutlineUtils.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

int64_t mlir::breg::opsWithin(Operation *op) {
  int64_t count = 0;
  op->walk([&](Operation *) { ++count; });
  return count;
}

SmallVector<func::FuncOp> mlir::breg::functionsAbove(ModuleOp module,
                                                     int64_t maxOps) {
  SmallVector<func::FuncOp> large;
  for (func::FuncOp fn : module.getOps<func::FuncOp>())
    if (!fn.isExternal() && fn.getBody().hasOneBlock() &&
        opsWithin(fn) > maxOps)
      large.push_back(fn);
  return large;
}

Value mlir::breg::rootBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto metadata = dyn_cast<memref::ExtractStridedMetadataOp>(def))
      value = metadata.getSource();
    else if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      value = view.getViewSource();
    else
      break;
  }
  return value;
}

bool mlir::breg::freesForeignBuffer(ArrayRef<Operation *> ops) {
  llvm::SmallPtrSet<Operation *, 16> within(ops.begin(), ops.end());
  auto allocatedWithin = [&](Value freed) {
    Operation *ancestor = rootBuffer(freed).getDefiningOp<memref::AllocOp>();
    while (ancestor && !within.contains(ancestor))
      ancestor = ancestor->getParentOp();
    return ancestor != nullptr;
  };
  bool frees = false;
  for (Operation *op : ops)
    op->walk([&](memref::DeallocOp dealloc) {
      frees |= !allocatedWithin(dealloc.getMemref());
    });
  return frees;
}

bool mlir::breg::passesAsBarePointer(Value value) {
  auto memref = dyn_cast<BaseMemRefType>(value.getType());
  return !memref || LLVMTypeConverter::canConvertToBarePtr(memref);
}

void mlir::breg::markOutlined(func::FuncOp fn) {
  Builder builder(fn->getContext());
  fn.setPrivate();
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(fn->getContext(),
                                                     LLVM::Linkage::Internal));
  fn->setAttr("passthrough",
              builder.getArrayAttr({builder.getStringAttr("noinline")}));
}
