//===- BregHoistAllocas.cpp - stack buffers at the function's entry -------===//
//
// Moves each fixed-size llvm.alloca of a function's own region that is not
// in a loop to the start of the entry block, where LLVM expects static
// allocas: LLVM 22's SROA produced an invalid module from allocas that full
// unrolling had merged into the middle of the entry block.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Analysis/CFGLoopInfo.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGHOISTALLOCAS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

struct BregHoistAllocas : breg::impl::BregHoistAllocasBase<BregHoistAllocas> {
  void runOnOperation() override {
    LLVM::LLVMFuncOp function = getOperation();
    Region &body = function.getBody();
    if (body.empty())
      return;
    Block &entry = body.front();
    // Loops of the control-flow graph (natural loops; lowered scf loops are
    // all natural). A single block has no dominance tree to build.
    std::optional<CFGLoopInfo> loops;
    if (!body.hasOneBlock()) {
      DominanceInfo dominance(function);
      loops.emplace(dominance.getDomTree(&body));
    }
    SmallVector<LLVM::AllocaOp> movable;
    for (Block &block : body) {
      if (loops && loops->getLoopFor(&block))
        continue;
      for (auto alloca : block.getOps<LLVM::AllocaOp>())
        if (matchPattern(alloca.getArraySize(), m_Constant()))
          movable.push_back(alloca);
    }
    // In program order, each placed after the previous one.
    OpBuilder builder(&entry, entry.begin());
    for (LLVM::AllocaOp alloca : movable) {
      Operation *original = alloca.getArraySize().getDefiningOp();
      Operation *count = builder.clone(*original);
      alloca->moveAfter(count);
      alloca.getArraySizeMutable().assign(count->getResult(0));
      if (original->use_empty())
        original->erase();
      builder.setInsertionPointAfter(alloca);
    }
  }
};

} // namespace
