//===- BregSplitEmptyTensors.cpp - few uses per tensor.empty --------------===//
//
// Runs right before one-shot bufferization: a tensor.empty shared by many
// destinations (CSE merges them) makes the analysis compare every pair of
// its writers. Runs of at most `max-uses` consecutive users get an empty of
// their own: the analysis stays linear, and consecutive elementwise ops
// still write one buffer in place (one allocation per run, not per op).
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

/// A use of the empty and the op of the empty's block that holds its user.
struct PlacedUse {
  Operation *ancestor;
  OpOperand *use;
};

/// The uses of `empty` in program order (of their ancestors in its block).
SmallVector<PlacedUse> usesInOrder(tensor::EmptyOp empty) {
  Block *block = empty->getBlock();
  SmallVector<PlacedUse> uses;
  for (OpOperand &use : empty->getUses())
    uses.push_back({block->findAncestorOpInBlock(*use.getOwner()), &use});
  llvm::stable_sort(uses, [](const PlacedUse &a, const PlacedUse &b) {
    return a.ancestor != b.ancestor && a.ancestor->isBeforeInBlock(b.ancestor);
  });
  return uses;
}

/// Each run of `maxUses` consecutive uses gets a copy of `empty` right
/// before the first of them (its operands, dynamic sizes, dominate the
/// empty, hence every user); the original goes.
void split(IRRewriter &rewriter, tensor::EmptyOp empty, int64_t maxUses) {
  Value copy;
  for (auto [index, placed] : llvm::enumerate(usesInOrder(empty))) {
    if (index % maxUses == 0) {
      rewriter.setInsertionPoint(placed.ancestor);
      copy = rewriter.clone(*empty)->getResult(0);
    }
    rewriter.modifyOpInPlace(placed.use->getOwner(),
                             [&, use = placed.use] { use->set(copy); });
  }
  rewriter.eraseOp(empty);
}

struct BregSplitEmptyTensorsPass
    : breg::impl::BregSplitEmptyTensorsBase<BregSplitEmptyTensorsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (maxUses < 1) {
      getOperation()->emitError("breg-split-empty-tensors: max-uses must be "
                                "at least 1, not ")
          << static_cast<int64_t>(maxUses);
      return signalPassFailure();
    }
    SmallVector<tensor::EmptyOp> shared;
    getOperation().walk([&](tensor::EmptyOp op) {
      if (!llvm::hasNItemsOrLess(op->getUses(),
                                 static_cast<unsigned>(maxUses)))
        shared.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (tensor::EmptyOp empty : shared)
      split(rewriter, empty, maxUses);
  }
};

} // namespace
