//===- BregVectorizeWindows.cpp - Pooling windows as vectors and shuffles -===//
//
// Pooling whose windows tile the input reads each window's values through
// maps with constant indices (x viewed as [N, C, OH, KH, OW, KW], read at
// [n, c, oh, 1, ow, 0]), and its gradient writes that view from [N, C, OH, OW]
// values. linalg's vectorizer takes neither (its maps must be projected
// permutations), and their innermost loops are KW = 2 wide, so they ran as
// scalar nests: 12 of the ConvNet step's 23 ms of generated code.
//
// Here such an all-parallel generic becomes vector code. A vector's lanes
// are the innermost iterations (a row of outputs: ow, or ow and kw); each
// operand's lanes lie in a short contiguous span of its buffer, which is
// loaded whole and shuffled into lane order; the body's scalar ops become
// the same ops on vectors. The output must be written contiguously.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"
#include "ElementwiseUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGVECTORIZEWINDOWS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// Which iterations share a vector: `chunk[d]` of loop d's (1 outside the
/// lanes), the innermost loop whole when it is short.
struct LanePlan {
  SmallVector<int64_t> ranges, chunk;
  int64_t lanes = 1;

  /// Lane l's offset along each loop from the vector's first iteration.
  SmallVector<int64_t> offsets(int64_t lane) const {
    SmallVector<int64_t> at(ranges.size(), 0);
    for (int64_t d = ranges.size() - 1; d >= 0; --d) {
      at[d] = lane % chunk[d];
      lane /= chunk[d];
    }
    return at;
  }
};

int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// A row of up to `maxLanes` outputs per vector; an innermost loop shorter
/// than 8 (KW) is taken whole with a chunk of the loop outside it (OW).
std::optional<LanePlan> planLanes(ArrayRef<int64_t> ranges, int64_t maxLanes) {
  LanePlan plan;
  plan.ranges.assign(ranges.begin(), ranges.end());
  plan.chunk.assign(ranges.size(), 1);
  int64_t n = ranges.size(), inner = ranges.back();
  if (inner >= 8 || n == 1) {
    plan.chunk[n - 1] = largestDivisorAtMost(inner, maxLanes);
  } else {
    plan.chunk[n - 1] = inner;
    plan.chunk[n - 2] = largestDivisorAtMost(ranges[n - 2], 2 * maxLanes / inner);
  }
  for (int64_t c : plan.chunk)
    plan.lanes *= c;
  if (plan.lanes < 4)
    return std::nullopt;
  return plan;
}

/// `e` at the given loop indices; nothing for what is not linear in them
/// (mod, floordiv, symbols).
std::optional<int64_t> evaluate(AffineExpr e, ArrayRef<int64_t> dims) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return dims[d.getPosition()];
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin || (e.getKind() != AffineExprKind::Add &&
               e.getKind() != AffineExprKind::Mul))
    return std::nullopt;
  std::optional<int64_t> l = evaluate(bin.getLHS(), dims);
  std::optional<int64_t> r = evaluate(bin.getRHS(), dims);
  if (!l || !r)
    return std::nullopt;
  return e.getKind() == AffineExprKind::Add ? *l + *r : *l * *r;
}

/// How one memref operand is read or written: its element at the vector's
/// first iteration (a map of the loop indices into the flat buffer) and
/// each lane's distance from it.
struct Access {
  AffineMap flat;
  SmallVector<int64_t> lanes;
  int64_t first = 0, span = 0; // the contiguous span loaded
};

std::optional<Access> accessOf(linalg::GenericOp op, OpOperand &operand,
                               const LanePlan &plan) {
  auto type = cast<MemRefType>(operand.get().getType());
  AffineMap map = op.getMatchingIndexingMap(&operand);
  MLIRContext *ctx = op.getContext();
  AffineExpr flat = getAffineConstantExpr(0, ctx);
  int64_t stride = 1;
  for (int64_t r = type.getRank() - 1; r >= 0; --r) {
    flat = flat + map.getResult(r) * stride;
    stride *= type.getDimSize(r);
  }
  Access access;
  access.flat = AffineMap::get(map.getNumDims(), 0, flat);
  SmallVector<int64_t> zero(plan.ranges.size(), 0);
  std::optional<int64_t> origin = evaluate(flat, zero);
  if (!origin)
    return std::nullopt;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int64_t lane = 0; lane < plan.lanes; ++lane) {
    std::optional<int64_t> at = evaluate(flat, plan.offsets(lane));
    if (!at)
      return std::nullopt;
    access.lanes.push_back(*at - *origin);
    lo = std::min(lo, *at - *origin);
    hi = std::max(hi, *at - *origin);
  }
  // A constant innermost index (a window's kw) reads one element of each
  // window: the span is widened to whole windows, still in bounds, so that
  // the reads of a window's columns load the same span (and LLVM loads it
  // once).
  if (type.getRank() > 0) {
    if (auto c = dyn_cast<AffineConstantExpr>(map.getResults().back())) {
      lo -= c.getValue();
      hi += type.getDimSize(type.getRank() - 1) - 1 - c.getValue();
    }
  }
  access.first = lo;
  access.span = hi - lo + 1;
  return access;
}

bool isIota(ArrayRef<int64_t> lanes) {
  for (auto [i, v] : llvm::enumerate(lanes))
    if (v != static_cast<int64_t>(i))
      return false;
  return true;
}

/// Whether the body is scalar ops that have a vector form lane by lane.
bool hasLanewiseBody(linalg::GenericOp op) {
  for (Operation &inner : op.getBody()->without_terminator()) {
    if (isa<linalg::IndexOp>(inner))
      continue;
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      if (isa<ShapedType>(constant.getType()))
        return false;
      continue;
    }
    if (!OpTrait::hasElementwiseMappableTraits(&inner) ||
        inner.getNumRegions() != 0)
      return false;
    for (Type t : llvm::concat<Type>(inner.getOperandTypes(),
                                     inner.getResultTypes()))
      if (isa<ShapedType>(t))
        return false;
  }
  return true;
}

/// Whether some input is read through a map with a constant index: the
/// window reads this pass is for (the rest is left to the loops).
bool readsWindows(linalg::GenericOp op) {
  for (OpOperand *input : op.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()) &&
        llvm::any_of(op.getMatchingIndexingMap(input).getResults(),
                     [](AffineExpr e) { return isa<AffineConstantExpr>(e); }))
      return true;
  return false;
}

/// The accesses of every memref operand, or nothing when the op does not
/// qualify: identity layouts and static shapes, spans of at most four
/// vectors, a contiguous output, an input that is the output read lane for
/// lane as written.
std::optional<SmallVector<std::optional<Access>>>
accessesOf(linalg::GenericOp op, const LanePlan &plan) {
  SmallVector<std::optional<Access>> accesses;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) {
      accesses.push_back(std::nullopt);
      continue;
    }
    // Whole bytes only: a buffer holds an i1 per byte, a vector of them
    // packed bits.
    Type element = type.getElementType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
        !element.isIntOrIndexOrFloat() ||
        (!element.isIndex() && element.getIntOrFloatBitWidth() % 8 != 0))
      return std::nullopt;
    std::optional<Access> access = accessOf(op, operand, plan);
    if (!access || access->span > 4 * plan.lanes)
      return std::nullopt;
    // Outputs written element for element (an output map that drops a loop
    // would make a reduction of the vector loop or of the threads).
    if (op.isDpsInit(&operand) &&
        (!op.getMatchingIndexingMap(&operand).isIdentity() ||
         !isIota(access->lanes)))
      return std::nullopt;
    accesses.push_back(access);
  }
  for (OpOperand &init : op.getDpsInitsMutable())
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == init.get() &&
          (accesses[input->getOperandNumber()]->flat !=
           accesses[init.getOperandNumber()]->flat))
        return std::nullopt;
  return accesses;
}

/// Emits the vector form of one generic whose plan and accesses qualified.
class WindowEmitter {
public:
  WindowEmitter(IRRewriter &rewriter, linalg::GenericOp op,
                const LanePlan &plan,
                ArrayRef<std::optional<Access>> accesses)
      : b(rewriter), op(op), plan(plan), accesses(accesses),
        loc(op.getLoc()) {}

  void emit(int64_t parallelThreshold) {
    b.setInsertionPoint(op);
    flattenBuffers();
    SmallVector<int64_t> looped;
    for (size_t d = 0; d < plan.ranges.size(); ++d)
      if (plan.ranges[d] > plan.chunk[d])
        looped.push_back(d);
    int64_t total = 1;
    for (int64_t r : plan.ranges)
      total *= r;
    // The outermost loop on all cores when the nest is large.
    bool parallel = parallelThreshold > 0 && total >= parallelThreshold &&
                    !looped.empty() && looped.front() == 0;
    SmallVector<Value> ivs(plan.ranges.size(), constant(0));
    ArrayRef<int64_t> sequential = looped;
    if (parallel) {
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(plan.ranges[0])},
          ArrayRef<OpFoldResult>{b.getIndexAttr(plan.chunk[0])}, ValueRange{},
          std::nullopt);
      b.setInsertionPointToStart(forall.getBody());
      ivs[0] = forall.getInductionVars()[0];
      sequential = sequential.drop_front();
    }
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t d : sequential) {
      lbs.push_back(constant(0));
      ubs.push_back(constant(plan.ranges[d]));
      steps.push_back(constant(plan.chunk[d]));
    }
    scf::buildLoopNest(b, loc, lbs, ubs, steps,
                       [&](OpBuilder &nested, Location, ValueRange loopIvs) {
                         for (auto [d, iv] : llvm::zip(sequential, loopIvs))
                           ivs[d] = iv;
                         OpBuilder::InsertionGuard guard(b);
                         b.setInsertionPoint(nested.getInsertionBlock(),
                                             nested.getInsertionPoint());
                         emitVector(ivs);
                       });
    b.eraseOp(op);
  }

private:
  Value constant(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  VectorType vectorOf(Type element) {
    return VectorType::get({plan.lanes}, element);
  }

  /// Each memref operand as a flat buffer (identity layouts: contiguous).
  void flattenBuffers() {
    for (OpOperand &operand : op->getOpOperands()) {
      Value v = operand.get();
      flat.push_back(isa<MemRefType>(v.getType()) ? flattenContiguous(b, loc, v)
                                                  : v);
    }
  }

  /// Operand `i`'s lanes: its span loaded and shuffled into lane order.
  Value load(unsigned i, ArrayRef<Value> ivs) {
    Value buffer = flat[i];
    auto type = cast<MemRefType>(buffer.getType());
    if (type.getRank() == 0)
      return vector::BroadcastOp::create(
          b, loc, vectorOf(type.getElementType()),
          memref::LoadOp::create(b, loc, buffer, ValueRange{}));
    const Access &access = *accesses[i];
    // The span's start as one map: the columns of a window then load from
    // the same affine.apply.
    AffineMap start = AffineMap::get(access.flat.getNumDims(), 0,
                                     access.flat.getResult(0) + access.first);
    Value at = affine::AffineApplyOp::create(b, loc, start, ivs);
    Value span = vector::LoadOp::create(
        b, loc, VectorType::get({access.span}, type.getElementType()),
        buffer, ValueRange{at});
    SmallVector<int64_t> mask;
    for (int64_t lane : access.lanes)
      mask.push_back(lane - access.first);
    if (access.span == plan.lanes && isIota(mask))
      return span;
    return vector::ShuffleOp::create(b, loc, span, span, mask);
  }

  /// linalg.index `d` on every lane.
  Value laneIndices(int64_t d, ArrayRef<Value> ivs) {
    VectorType type = vectorOf(b.getIndexType());
    Value first = vector::BroadcastOp::create(b, loc, type, ivs[d]);
    if (plan.chunk[d] == 1)
      return first;
    SmallVector<int64_t> steps;
    for (int64_t lane = 0; lane < plan.lanes; ++lane)
      steps.push_back(plan.offsets(lane)[d]);
    Value offsets = arith::ConstantOp::create(
        b, loc, type, DenseIntElementsAttr::get(type, steps));
    return arith::AddIOp::create(b, loc, first, offsets);
  }

  /// The body on vectors at the iteration `ivs` (the first of each chunk).
  void emitVector(ArrayRef<Value> ivs) {
    IRMapping lanes;
    Block *body = op.getBody();
    for (OpOperand &operand : op->getOpOperands()) {
      BlockArgument arg = body->getArgument(operand.getOperandNumber());
      if (arg.use_empty())
        continue;
      Value v = operand.get();
      lanes.map(arg, isa<MemRefType>(v.getType())
                         ? load(operand.getOperandNumber(), ivs)
                         : vector::BroadcastOp::create(
                               b, loc, vectorOf(v.getType()), v)
                               .getResult());
    }
    for (Operation &inner : body->without_terminator())
      vectorizeOp(inner, lanes, ivs);
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    for (OpOperand &init : op.getDpsInitsMutable()) {
      unsigned i = init.getOperandNumber();
      Value at = affine::AffineApplyOp::create(b, loc, accesses[i]->flat, ivs);
      Value result = vectorValue(
          yield.getOperand(i - op.getNumDpsInputs()), lanes);
      vector::StoreOp::create(b, loc, result, flat[i], ValueRange{at});
    }
  }

  /// `v` as a vector: its lanes, or (defined outside the body) broadcast.
  Value vectorValue(Value v, IRMapping &lanes) {
    if (Value mapped = lanes.lookupOrNull(v))
      return mapped;
    return vector::BroadcastOp::create(b, loc, vectorOf(v.getType()), v);
  }

  void vectorizeOp(Operation &inner, IRMapping &lanes, ArrayRef<Value> ivs) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      lanes.map(index.getResult(), laneIndices(index.getDim(), ivs));
      return;
    }
    if (auto c = dyn_cast<arith::ConstantOp>(inner)) {
      VectorType type = vectorOf(c.getType());
      lanes.map(c.getResult(),
                arith::ConstantOp::create(
                    b, loc, type,
                    DenseElementsAttr::get(type, cast<Attribute>(c.getValue()))));
      return;
    }
    for (Value operand : inner.getOperands())
      lanes.map(operand, vectorValue(operand, lanes));
    Operation *copy = b.clone(inner, lanes);
    for (OpResult result : copy->getResults())
      result.setType(vectorOf(result.getType()));
  }

  IRRewriter &b;
  linalg::GenericOp op;
  const LanePlan &plan;
  ArrayRef<std::optional<Access>> accesses;
  Location loc;
  SmallVector<Value> flat;
};

struct BregVectorizeWindowsPass
    : breg::impl::BregVectorizeWindowsBase<BregVectorizeWindowsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isStaticElementwiseOnBuffers(op) && readsWindows(op) &&
          hasLanewiseBody(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      if (llvm::is_contained(ranges, 0))
        continue; // nothing to do, and no lanes to plan
      std::optional<LanePlan> plan = planLanes(ranges, vectorSize);
      if (!plan)
        continue;
      auto accesses = accessesOf(op, *plan);
      if (!accesses)
        continue;
      WindowEmitter(rewriter, op, *plan, *accesses).emit(parallelThreshold);
    }
  }
};

} // namespace
