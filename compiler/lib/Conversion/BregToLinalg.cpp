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
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  if (llvm::isa<L1PosRegAttr>(reg)) // max(x − t, 0)
    return arith::MaximumFOp::create(
        b, loc, arith::SubFOp::create(b, loc, x, threshold), zero);
  assert(llvm::isa<L1RegAttr>(reg) && "regulariser without a lowering");
  // Soft threshold: sign(x)·max(|x| − t, 0). copysign keeps it branch-free.
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
  assert((llvm::isa<L1RegAttr, L1PosRegAttr>(reg)) &&
         "regulariser without a lowering");
  // λ·sign(θ) with sign(0) = 0 (l1 and l1_pos choose the same one).
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

/// Bias-corrected Adam moments, shared by AdaBreg and Adam. Outside the loop:
/// `stepSize` = lr / (1 − β₁ᵗ) and `correction2` = √(1 − β₂ᵗ).
struct AdamScalars {
  Value beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, stepSize, correction2;
  static AdamScalars build(OpBuilder &b, Location loc, Value lr, Value beta1,
                           Value beta2, Value eps, Value step) {
    Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
    AdamScalars s;
    s.beta1 = beta1;
    s.beta2 = beta2;
    s.eps = eps;
    s.oneMinusBeta1 = arith::SubFOp::create(b, loc, one, beta1);
    s.oneMinusBeta2 = arith::SubFOp::create(b, loc, one, beta2);
    Value beta1t = math::PowFOp::create(b, loc, beta1, step);
    Value beta2t = math::PowFOp::create(b, loc, beta2, step);
    s.stepSize = arith::DivFOp::create(
        b, loc, lr, arith::SubFOp::create(b, loc, one, beta1t));
    s.correction2 = math::SqrtOp::create(
        b, loc, arith::SubFOp::create(b, loc, one, beta2t));
    return s;
  }
  SmallVector<Value> values() const {
    return {beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, stepSize,
            correction2};
  }
  static constexpr unsigned kCount = 7;
};

/// In the body: the new moments and the step (lr/(1−β₁ᵗ))·m1'/d, from the
/// block arguments of AdamScalars::values() starting at `args[first]`.
static std::tuple<Value, Value, Value>
buildAdamStep(OpBuilder &b, Location l, ValueRange args, unsigned first,
              Value g, Value m1, Value m2) {
  Value beta1 = args[first], oneMinusBeta1 = args[first + 1];
  Value beta2 = args[first + 2], oneMinusBeta2 = args[first + 3];
  Value eps = args[first + 4], stepSize = args[first + 5];
  Value correction2 = args[first + 6];
  Value newM1 = arith::AddFOp::create(
      b, l, arith::MulFOp::create(b, l, beta1, m1),
      arith::MulFOp::create(b, l, oneMinusBeta1, g));
  Value g2 = arith::MulFOp::create(b, l, g, g);
  Value newM2 = arith::AddFOp::create(
      b, l, arith::MulFOp::create(b, l, beta2, m2),
      arith::MulFOp::create(b, l, oneMinusBeta2, g2));
  // d = √m2' / √(1 − β₂ᵗ) + ε
  Value d = arith::AddFOp::create(
      b, l,
      arith::DivFOp::create(b, l, math::SqrtOp::create(b, l, newM2),
                            correction2),
      eps);
  Value step = arith::DivFOp::create(
      b, l, arith::MulFOp::create(b, l, stepSize, newM1), d);
  return {newM1, newM2, step};
}

struct AdaBregUpdateLowering : OpRewritePattern<AdaBregUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdaBregUpdateOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    Location loc = op.getLoc();
    RegularizerAttrInterface reg = op.getReg();
    bool regularized = !llvm::isa<NoneRegAttr>(reg);
    AdamScalars adam =
        AdamScalars::build(rewriter, loc, op.getLr(), op.getBeta1(),
                           op.getBeta2(), op.getEps(), op.getStep());
    SmallVector<Value> scalars = adam.values();
    scalars.push_back(op.getDelta());
    if (regularized)
      scalars.push_back(
          arith::MulFOp::create(rewriter, loc, op.getDelta(), op.getLambda()));
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getGrad()}, scalars,
        {op.getTheta(), op.getV(), op.getM1(), op.getM2()},
        [&](OpBuilder &b, Location l, ValueRange args) {
          // args: g, adam scalars..., delta, [threshold], theta, v, m1, m2
          unsigned next = 1 + AdamScalars::kCount;
          Value delta = args[next++];
          Value threshold = regularized ? args[next++] : Value();
          ++next; // θ's old value is only the destination.
          Value v = args[next], m1 = args[next + 1], m2 = args[next + 2];
          auto [newM1, newM2, step] =
              buildAdamStep(b, l, args, 1, args[0], m1, m2);
          Value newV = arith::SubFOp::create(b, l, v, step);
          Value scaled = arith::MulFOp::create(b, l, delta, newV);
          Value newTheta =
              regularized ? buildProx(b, l, reg, scaled, threshold) : scaled;
          linalg::YieldOp::create(b, l,
                                  ValueRange{newTheta, newV, newM1, newM2});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct AdamUpdateLowering : OpRewritePattern<AdamUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamUpdateOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    Location loc = op.getLoc();
    AdamScalars adam =
        AdamScalars::build(rewriter, loc, op.getLr(), op.getBeta1(),
                           op.getBeta2(), op.getEps(), op.getStep());
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getGrad()}, adam.values(),
        {op.getTheta(), op.getM1(), op.getM2()},
        [&](OpBuilder &b, Location l, ValueRange args) {
          // args: g, adam scalars..., theta, m1, m2
          unsigned next = 1 + AdamScalars::kCount;
          Value theta = args[next], m1 = args[next + 1], m2 = args[next + 2];
          auto [newM1, newM2, step] =
              buildAdamStep(b, l, args, 1, args[0], m1, m2);
          Value newTheta = arith::SubFOp::create(b, l, theta, step);
          linalg::YieldOp::create(b, l, ValueRange{newTheta, newM1, newM2});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct ProxSgdUpdateLowering : OpRewritePattern<ProxSgdUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ProxSgdUpdateOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    Location loc = op.getLoc();
    RegularizerAttrInterface reg = op.getReg();
    // θ' = prox_{lr·J}(θ − lr·g): threshold lr·λ, computed once.
    Value threshold =
        arith::MulFOp::create(rewriter, loc, op.getLr(), op.getLambda());
    auto generic = buildElementwiseGeneric(
        rewriter, loc, type, {op.getGrad()}, {op.getLr(), threshold},
        {op.getTheta()}, [&](OpBuilder &b, Location l, ValueRange args) {
          // args: g, lr, threshold, theta
          Value stepped = arith::SubFOp::create(
              b, l, args[3], arith::MulFOp::create(b, l, args[1], args[0]));
          linalg::YieldOp::create(b, l,
                                  buildProx(b, l, reg, stepped, args[2]));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct SgdUpdateLowering : OpRewritePattern<SgdUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SgdUpdateOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    bool momentum = op.hasMomentum();
    SmallVector<Value> scalars = {op.getLr()};
    SmallVector<Value> outs = {op.getTheta()};
    if (momentum) {
      scalars.push_back(op.getBeta());
      outs.push_back(op.getMomentum());
    }
    auto generic = buildElementwiseGeneric(
        rewriter, op.getLoc(), type, {op.getGrad()}, scalars, outs,
        [&](OpBuilder &b, Location l, ValueRange args) {
          // args: g, lr, [beta], theta, [m]
          Value g = args[0], lr = args[1];
          Value theta = momentum ? args[3] : args[2];
          SmallVector<Value> yielded;
          Value direction = g;
          if (momentum) // m' = β·m + g
            direction = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, args[2], args[4]), g);
          yielded.push_back(arith::SubFOp::create(
              b, l, theta, arith::MulFOp::create(b, l, lr, direction)));
          if (momentum)
            yielded.push_back(direction);
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
  patterns.add<ProxLowering, SubgradientInitLowering, LinBregUpdateLowering,
               AdaBregUpdateLowering, AdamUpdateLowering, ProxSgdUpdateLowering,
               SgdUpdateLowering>(patterns.getContext());
}
