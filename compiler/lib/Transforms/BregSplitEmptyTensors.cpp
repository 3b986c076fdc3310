//===- BregSplitEmptyTensors.cpp - one tensor.empty per use ---------------===//
//
// Runs right before one-shot bufferization: a tensor.empty shared by many
// destinations (CSE merges them) makes the analysis compare every pair of
// its writers; a private empty per use keeps it linear.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGSPLITEMPTYTENSORS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {
struct BregSplitEmptyTensorsPass
    : breg::impl::BregSplitEmptyTensorsBase<BregSplitEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> shared;
    getOperation().walk([&](tensor::EmptyOp op) {
      if (!op->hasOneUse() && !op->use_empty())
        shared.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (tensor::EmptyOp empty : shared) {
      // Every user gets its own copy, right before it (the operands, dynamic
      // sizes, dominate the empty, hence every user); the original goes.
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          empty->getUses(), [](OpOperand &use) { return &use; });
      for (OpOperand *use : uses) {
        rewriter.setInsertionPoint(use->getOwner());
        Operation *copy = rewriter.clone(*empty);
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(copy->getResult(0)); });
      }
      rewriter.eraseOp(empty);
    }
  }
};
} // namespace
