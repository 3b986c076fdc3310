//===- BregApproximateMath.cpp - Vector exp, erf, erfc as polynomials -----===//
//
// Without a vector math library LLVM scalarizes a vector exp or erf into a
// libm call per lane; the polynomial forms MLIR ships stay in vector
// registers. Only vector operands are rewritten: scalar code keeps libm's
// correctly rounded results.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::breg {
#define GEN_PASS_DEF_BREGAPPROXIMATEMATH
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

/// The largest float whose exp is finite (0x42b17217).
constexpr float kLargestFiniteExpArgument = 88.72283172607421875f;

bool isF32Vector(Type type) {
  auto vector = llvm::dyn_cast<VectorType>(type);
  return vector && vector.getElementType().isF32();
}

/// Routes the uses of `exp` through select(x > 88.72283, +inf, exp(x)): the
/// approximation clamps its argument, so it would return the largest float
/// where exp overflows.
void restoreOverflow(math::ExpOp exp) {
  OpBuilder b(exp->getContext());
  b.setInsertionPointAfter(exp);
  Location loc = exp.getLoc();
  auto type = llvm::cast<VectorType>(exp.getType());
  auto splat = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, type,
                                     DenseElementsAttr::get(type, v));
  };
  Value overflows =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, exp.getOperand(),
                            splat(kLargestFiniteExpArgument));
  Value result = arith::SelectOp::create(
      b, loc, overflows, splat(std::numeric_limits<float>::infinity()),
      exp.getResult());
  exp.getResult().replaceAllUsesExcept(result, result.getDefiningOp());
}

/// The f32 vector ops of the kinds Ops in `root`.
template <typename... Ops> SmallVector<Operation *> vectorOps(Operation *root) {
  SmallVector<Operation *> found;
  root->walk([&](Operation *op) {
    if (isa<Ops...>(op) && isF32Vector(op->getResult(0).getType()))
      found.push_back(op);
  });
  return found;
}

/// Rewrites exactly `targets` with MLIR's polynomial approximations.
LogicalResult approximate(ArrayRef<Operation *> targets) {
  if (targets.empty())
    return success();
  MLIRContext *context = targets.front()->getContext();
  RewritePatternSet patterns(context);
  populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
    return name == math::ExpOp::getOperationName() ||
           name == math::ErfOp::getOperationName() ||
           name == math::ErfcOp::getOperationName();
  });
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingOps);
  return applyOpPatternsGreedily(targets, std::move(patterns), config);
}

struct BregApproximateMathPass
    : breg::impl::BregApproximateMathBase<BregApproximateMathPass> {
  void runOnOperation() override {
    // erfc's approximation computes an exp(−x²) of its own: erf and erfc
    // first, then every exp, theirs included.
    if (failed(
            approximate(vectorOps<math::ErfOp, math::ErfcOp>(getOperation()))))
      return signalPassFailure();
    SmallVector<Operation *> exps = vectorOps<math::ExpOp>(getOperation());
    for (Operation *op : exps)
      restoreOverflow(cast<math::ExpOp>(op));
    if (failed(approximate(exps)))
      return signalPassFailure();
  }
};

} // namespace
