//===- BregCopiesToLinalg.cpp - memref.copy as linalg.copy ---------------===//
//
// Copies that bufferization leaves become linalg ops, so that the GPU
// mapping turns them into kernels like any other elementwise loop.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGCOPIESTOLINALG
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {
struct BregCopiesToLinalgPass
    : breg::impl::BregCopiesToLinalgBase<BregCopiesToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
  }
};
} // namespace
