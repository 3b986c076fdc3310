//===- BregFuseElementwise.cpp - Fusion that spares contractions ---------===//
//
// Upstream's linalg-fuse-elementwise-ops with a narrower control: a producer
// is fused (or a reshape folded through it) only into a consumer whose loops
// are all parallel. Upstream's default also fuses into reductions and, after
// propagating a reshape through a linalg.matmul (turning it into a generic),
// into contractions: then a max-pooling producer was recomputed inside the
// K loop of the ConvNet's first linear layer, which no longer went to BLAS
// (70 ms of a 80 ms step).
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGFUSEELEMENTWISE
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

static bool isAllParallel(Operation *op) {
  auto linalgOp = llvm::dyn_cast_or_null<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.getNumLoops() == linalgOp.getNumParallelLoops();
}

/// At most this many operations in a fused body. Each fusion clones both
/// bodies into a new op, so fusing a chain of n ops into one costs O(n²)
/// (2,000 chained ops took 3.7 s, 20,000 minutes); capped, a chain becomes
/// loops of at most this many ops each and compiles in linear time. A loop
/// this long is compute-bound, so the cap costs no memory traffic to speak of.
static constexpr int64_t kMaxFusedBodyOps = 64;

static int64_t bodySize(Operation *op) {
  auto generic = llvm::dyn_cast<linalg::GenericOp>(op);
  if (!generic)
    return 1;
  int64_t n = 0;
  for (Operation &inner : generic.getBody()->getOperations()) {
    (void)inner;
    if (++n > kMaxFusedBodyOps)
      break; // counting further would make each check O(n) again
  }
  return n;
}

/// Fuse a single-use producer into an all-parallel consumer (bodies up to
/// kMaxFusedBodyOps); fold a reshape only through all-parallel ops.
static bool fusesIntoParallelConsumer(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  Operation *consumer = operand->getOwner();
  if (llvm::isa<linalg::LinalgOp>(consumer))
    return isAllParallel(consumer) &&
           (!llvm::isa<linalg::LinalgOp>(producer) ||
            isAllParallel(producer)) &&
           bodySize(producer) + bodySize(consumer) <= kMaxFusedBodyOps;
  return isAllParallel(producer); // a reshape of a linalg result
}

namespace {
struct BregFuseElementwisePass
    : breg::impl::BregFuseElementwiseBase<BregFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    linalg::ControlFusionFn control = fusesIntoParallelConsumer;
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    if (failed(applyPatternsGreedily(
            getOperation(), std::move(patterns),
            GreedyRewriteConfig().setUseTopDownTraversal())))
      signalPassFailure();
  }
};
} // namespace
