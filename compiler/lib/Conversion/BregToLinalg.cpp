//===- BregToLinalg.cpp - Lower breg ops to fused linalg.generic ----------===//
//
// Each breg op becomes ONE elementwise linalg.generic: tensors are read and
// written once, the scalar hyper-parameters enter as rank-0-mapped `ins`, and
// the state tensors (θ, v, m) are the generic's `outs` so that bufferization
// can update them in place. The formulas are ALGORITHMS.md §2–3.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::breg {
#define GEN_PASS_DEF_CONVERTBREGTOLINALG
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

//===----------------------------------------------------------------------===//
// Scalar formulas, emitted inside the generic's body
//===----------------------------------------------------------------------===//

/// prox_{J}(x) where the regulariser's threshold (s·λ) is `threshold`.
static Value buildProx(OpBuilder &b, Location loc, RegularizerAttrInterface reg,
                       Value x, Value threshold) {
  if (llvm::isa<NoneRegAttr>(reg))
    return x;
  assert(llvm::isa<L1RegAttr>(reg) && "regulariser without a lowering");
  // Soft threshold: sign(x)·max(|x| − t, 0). copysign keeps it branch-free.
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value shrunk = arith::SubFOp::create(b, loc, math::AbsFOp::create(b, loc, x),
                                       threshold);
  Value magnitude = arith::MaximumFOp::create(b, loc, shrunk, zero);
  return math::CopySignOp::create(b, loc, magnitude, x);
}

/// The chosen subgradient p ∈ ∂J(θ), or null when it is 0.
static Value buildSubgradient(OpBuilder &b, Location loc,
                              RegularizerAttrInterface reg, Value theta,
                              Value lambda) {
  if (llvm::isa<NoneRegAttr>(reg))
    return nullptr;
  assert(llvm::isa<L1RegAttr>(reg) && "regulariser without a lowering");
  // λ·sign(θ) with sign(0) = 0.
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value signed_ = math::CopySignOp::create(b, loc, lambda, theta);
  Value isZero =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, theta, zero);
  return arith::SelectOp::create(b, loc, isZero, zero, signed_);
}

//===----------------------------------------------------------------------===//
// Generic construction
//===----------------------------------------------------------------------===//

/// Builds an all-parallel generic over `type` whose `ins` are `tensors`
/// (identity maps) then `scalars` (rank-0 maps) and whose `outs` are `outs`.
static linalg::GenericOp
buildElementwiseGeneric(OpBuilder &b, Location loc, RankedTensorType type,
                        ValueRange tensors, ValueRange scalars, ValueRange outs,
                        function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap scalarMap = AffineMap::get(rank, 0, {}, ctx);
  SmallVector<AffineMap> maps;
  maps.append(tensors.size(), identity);
  maps.append(scalars.size(), scalarMap);
  maps.append(outs.size(), identity);
  SmallVector<Value> ins(tensors);
  ins.append(scalars.begin(), scalars.end());
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(outs.size(), type);
  return linalg::GenericOp::create(b, loc, resultTypes, ins, outs, maps,
                                   iterators, body);
}

/// A tensor.empty shaped like `like`, dynamic dimensions included.
static Value emptyLike(OpBuilder &b, Location loc, Value like) {
  auto type = llvm::cast<RankedTensorType>(like.getType());
  return tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                 type.getElementType());
}

namespace {

struct ProxLowering : OpRewritePattern<ProxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ProxOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getType());
    Location loc = op.getLoc();
    Value init = emptyLike(rewriter, loc, op.getX());
    RegularizerAttrInterface reg = op.getReg();
    // Scalar work stays outside the loop: the threshold s·λ is computed once.
    Value threshold =
        arith::MulFOp::create(rewriter, loc, op.getScale(), op.getLambda());
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getX()}, {threshold}, {init},
        [&](OpBuilder &b, Location l, ValueRange args) {
          // args: x, threshold, (out)
          linalg::YieldOp::create(b, l, buildProx(b, l, reg, args[0], args[1]));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct SubgradientInitLowering : OpRewritePattern<SubgradientInitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubgradientInitOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getType());
    Location loc = op.getLoc();
    Value init = emptyLike(rewriter, loc, op.getTheta());
    RegularizerAttrInterface reg = op.getReg();
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getTheta()}, {op.getDelta(), op.getLambda()},
        {init}, [&](OpBuilder &b, Location l, ValueRange args) {
          // args: theta, delta, lambda, (out)
          Value v = arith::DivFOp::create(b, l, args[0], args[1]);
          if (Value p = buildSubgradient(b, l, reg, args[0], args[2]))
            v = arith::AddFOp::create(b, l, v, p);
          linalg::YieldOp::create(b, l, v);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct LinBregUpdateLowering : OpRewritePattern<LinBregUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinBregUpdateOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    bool momentum = op.hasMomentum();
    Location loc = op.getLoc();
    RegularizerAttrInterface reg = op.getReg();
    // Scalar work stays outside the loop: the threshold δ·λ (none for J = 0)
    // and 1 − β are computed once.
    bool regularized = !llvm::isa<NoneRegAttr>(reg);
    SmallVector<Value> scalars = {op.getLr(), op.getDelta()};
    if (regularized)
      scalars.push_back(
          arith::MulFOp::create(rewriter, loc, op.getDelta(), op.getLambda()));
    SmallVector<Value> outs = {op.getTheta(), op.getV()};
    if (momentum) {
      Value one = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getF32FloatAttr(1.0f));
      scalars.push_back(op.getBeta());
      scalars.push_back(arith::SubFOp::create(rewriter, loc, one, op.getBeta()));
      outs.push_back(op.getMomentum());
    }
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getGrad()}, scalars, outs,
        [&](OpBuilder &b, Location l, ValueRange args) {
          // args: g, lr, delta, [threshold], [beta, 1 − beta], theta, v, [m]
          unsigned next = 0;
          Value g = args[next++], lr = args[next++], delta = args[next++];
          Value threshold = regularized ? args[next++] : Value();
          Value beta, oneMinusBeta;
          if (momentum) {
            beta = args[next++];
            oneMinusBeta = args[next++];
          }
          ++next; // θ's old value is not read: it is only the destination.
          Value v = args[next++];
          Value m = momentum ? args[next++] : Value();

          Value step = arith::MulFOp::create(b, l, lr, g);
          Value newM;
          if (momentum) {
            // m' = β·m + (1 − β)·lr·g ; v' = v − m'
            Value betaTimesM = arith::MulFOp::create(b, l, beta, m);
            Value scaledStep = arith::MulFOp::create(b, l, oneMinusBeta, step);
            newM = arith::AddFOp::create(b, l, betaTimesM, scaledStep);
            step = newM;
          }
          Value newV = arith::SubFOp::create(b, l, v, step);
          // θ' = prox_{δJ}(δ·v')
          Value scaled = arith::MulFOp::create(b, l, delta, newV);
          Value newTheta =
              regularized ? buildProx(b, l, reg, scaled, threshold) : scaled;
          SmallVector<Value> yielded = {newTheta, newV};
          if (momentum)
            yielded.push_back(newM);
          linalg::YieldOp::create(b, l, yielded);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct ConvertBregToLinalgPass
    : breg::impl::ConvertBregToLinalgBase<ConvertBregToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateBregToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // A breg op left over means a regulariser without a lowering.
    WalkResult leftover = getOperation()->walk([](Operation *op) {
      if (llvm::isa<BregDialect>(op->getDialect())) {
        op->emitOpError("has no lowering to linalg");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (leftover.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::breg::populateBregToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ProxLowering, SubgradientInitLowering, LinBregUpdateLowering>(
      patterns.getContext());
}
