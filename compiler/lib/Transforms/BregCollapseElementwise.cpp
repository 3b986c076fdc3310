//===- BregCollapseElementwise.cpp - Elementwise generics as one loop ----===//
//
// An elementwise generic over contiguous buffers becomes a generic over one
// dimension: one flat loop, which the GPU pipeline tiles into blocks and
// threads.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"
#include "ElementwiseUtils.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGCOLLAPSEELEMENTWISE
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {
struct BregCollapseElementwisePass
    : breg::impl::BregCollapseElementwiseBase<BregCollapseElementwisePass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : staticElementwiseOpsIn(getOperation()))
      collapseContiguous(rewriter, op);
  }
};
} // namespace
