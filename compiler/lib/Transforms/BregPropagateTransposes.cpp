//===- BregPropagateTransposes.cpp - Generics in their inputs' layout -----===//
//
// Sparse layers run feature-major (csrProduct), so a training step on CSR
// transposes each layer's result to batch-major for the bias and the ReLU,
// and back to feature-major for the next layer; the backward pass does the
// same with the gradients. A generic whose full-rank inputs are all
// transposes by one permutation is re-indexed to iterate in the layout
// before the transpose: it reads those inputs as they were, and its
// full-rank results are transposed after it instead. Transposes that undo
// each other then cancel, and between two CSR layers the activations and
// their gradients stay feature-major.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGPROPAGATETRANSPOSES
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

/// Whether a lower-rank operand's map, re-indexed, still reads its dimensions
/// in order (a broadcast, not a transposed read).
bool readsInOrder(AffineMap map) {
  int64_t last = -1;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || int64_t(dim.getPosition()) <= last)
      return false;
    last = dim.getPosition();
  }
  return true;
}

bool isFullRank(linalg::GenericOp op, OpOperand &operand) {
  return op.getMatchingIndexingMap(&operand).getNumResults() ==
         int64_t(op.getNumLoops());
}

/// The permutation of the transposes that all full-rank inputs of `op` are,
/// where `op` can run in their inputs' layout: static tensors, projected
/// permutation maps (identity for full-rank operands), full-rank outputs not
/// read by the body, and lower-rank operands read in order afterwards.
std::optional<SmallVector<int64_t>> sharedPermutation(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() < 2)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> perm;
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (!isFullRank(op, *input))
      continue;
    auto transpose = input->get().getDefiningOp<linalg::TransposeOp>();
    if (!transpose || !op.getMatchingIndexingMap(input).isIdentity() ||
        (perm && ArrayRef<int64_t>(*perm) != transpose.getPermutation()))
      return std::nullopt;
    perm = llvm::to_vector(transpose.getPermutation());
  }
  if (!perm)
    return std::nullopt;
  AffineMap toOld = AffineMap::getPermutationMap(*perm, op.getContext());
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!type || !type.hasStaticShape() || type.getEncoding() ||
        !map.isProjectedPermutation())
      return std::nullopt;
    bool isInit = op.isDpsInit(&operand);
    if (isFullRank(op, operand)) {
      if (isInit &&
          (!map.isIdentity() || op.payloadUsesValueFromOperand(&operand)))
        return std::nullopt;
    } else if (!readsInOrder(map.compose(toOld))) {
      return std::nullopt;
    }
  }
  return perm;
}

bool isInverse(ArrayRef<int64_t> perm, ArrayRef<int64_t> other) {
  return invertPermutationVector(perm) == other;
}

/// Re-indexing pays when it leaves a transpose unused: an input transpose
/// that only `op` reads, or a result only read by transposes back.
bool pays(linalg::GenericOp op, ArrayRef<int64_t> perm) {
  for (OpOperand *input : op.getDpsInputOperands())
    if (auto transpose = input->get().getDefiningOp<linalg::TransposeOp>();
        transpose && isFullRank(op, *input))
      if (llvm::all_of(transpose->getUsers(),
                       [&](Operation *user) { return user == op; }))
        return true;
  for (OpResult result : op->getResults()) {
    if (!isFullRank(op, *op.getDpsInitOperand(result.getResultNumber())))
      continue;
    bool onlyTransposedBack =
        !result.use_empty() &&
        llvm::all_of(result.getUsers(), [&](Operation *user) {
          auto transpose = dyn_cast<linalg::TransposeOp>(user);
          return transpose && isInverse(perm, transpose.getPermutation());
        });
    if (onlyTransposedBack)
      return true;
  }
  return false;
}

/// `op` iterated in the layout of its transposed inputs (new loop k is the
/// old loop i with perm[i] = k): every map composed with the permutation,
/// the transposed inputs read untransposed, the full-rank outputs made in
/// that layout and transposed back for the old results' users.
struct ReindexInTransposedLayout : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<SmallVector<int64_t>> perm = sharedPermutation(op);
    if (!perm)
      return rewriter.notifyMatchFailure(op, "not all full-rank inputs "
                                             "transposed alike");
    if (!pays(op, *perm))
      return rewriter.notifyMatchFailure(op, "no transpose would go");
    SmallVector<int64_t> inverse = invertPermutationVector(*perm);
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    AffineMap toOld = AffineMap::getPermutationMap(*perm, context);
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(op.getNumLoops(), context);
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs, inits;
    for (OpOperand *input : op.getDpsInputOperands()) {
      bool full = isFullRank(op, *input);
      inputs.push_back(
          full ? input->get().getDefiningOp<linalg::TransposeOp>().getInput()
               : input->get());
      maps.push_back(full ? identity
                          : op.getMatchingIndexingMap(input).compose(toOld));
    }
    for (OpOperand &init : op.getDpsInitsMutable()) {
      bool full = isFullRank(op, init);
      if (full) {
        auto type = cast<RankedTensorType>(init.get().getType());
        inits.push_back(tensor::EmptyOp::create(
            rewriter, loc, applyPermutation(type.getShape(), inverse),
            type.getElementType()));
      } else {
        inits.push_back(init.get());
      }
      maps.push_back(full ? identity
                          : op.getMatchingIndexingMap(&init).compose(toOld));
    }
    SmallVector<utils::IteratorType> iterators(op.getNumLoops());
    for (auto [i, type] : llvm::enumerate(op.getIteratorTypesArray()))
      iterators[(*perm)[i]] = type;
    auto reindexed =
        linalg::GenericOp::create(rewriter, loc, TypeRange(ValueRange(inits)),
                                  inputs, inits, maps, iterators);
    rewriter.inlineRegionBefore(op.getRegion(), reindexed.getRegion(),
                                reindexed.getRegion().end());
    // The body's loop indices follow their loops (an argmax reads them; a
    // linalg.index lives directly in its op's body, the verifier says).
    for (auto index : reindexed.getBody()->getOps<linalg::IndexOp>())
      rewriter.modifyOpInPlace(index,
                               [&] { index.setDim((*perm)[index.getDim()]); });
    SmallVector<Value> results;
    for (OpResult result : reindexed->getResults()) {
      OpOperand &oldInit =
          op->getOpOperand(op.getNumDpsInputs() + result.getResultNumber());
      if (!isFullRank(op, oldInit)) {
        results.push_back(result);
        continue;
      }
      auto type = cast<RankedTensorType>(oldInit.get().getType());
      Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                            type.getElementType());
      results.push_back(
          linalg::TransposeOp::create(rewriter, loc, result, empty, *perm)
              ->getResult(0));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// transpose(transpose(x, p), q) = x where q undoes p.
struct CancelInverseTransposes : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<linalg::TransposeOp>();
    if (!inner || !op.hasPureTensorSemantics() ||
        !isInverse(inner.getPermutation(), op.getPermutation()) ||
        inner.getInput().getType() != op->getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "not undoing a transpose");
    rewriter.replaceOp(op, inner.getInput());
    return success();
  }
};

struct BregPropagateTransposesPass
    : breg::impl::BregPropagateTransposesBase<BregPropagateTransposesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReindexInTransposedLayout, CancelInverseTransposes>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
