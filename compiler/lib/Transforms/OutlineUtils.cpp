//===- OutlineUtils.cpp - What the outlining passes share -----------------===//

#include "OutlineUtils.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

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
