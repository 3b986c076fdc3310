//===- ConvertBregToLinalg.cpp - Lower breg ops to fused linalg.generic ---===//
//
// Each breg op becomes ONE elementwise linalg.generic: tensors are read and
// written once, the scalar hyper-parameters enter as rank-0-mapped `ins`, and
// the state tensors (θ, v, m) are the generic's `outs` so that bufferization
// can update them in place. The formulas are ALGORITHMS.md §2–3.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "CompressRowsVector.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

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

//===----------------------------------------------------------------------===//
// Fused updates: one elementwise pass, or a group-norm reduction plus one
//===----------------------------------------------------------------------===//

/// Element values of an update, handed to its formula.
struct ElementValues {
  ValueRange reads;   // read-only tensors (g, x)
  ValueRange scalars; // hoisted scalars
  Value dest;         // θ's old value (null when only written)
  ValueRange state;   // v, m, m1, m2 (old values)
};

/// The formula of an update: the pre-prox value x (θ' = prox(x)) and the
/// new state values, built at the current insertion point.
using UpdateFormula = function_ref<std::pair<Value, SmallVector<Value>>(
    OpBuilder &, Location, const ElementValues &)>;

/// One breg update as data for `lowerFusedUpdate`.
struct FusedUpdate {
  RankedTensorType type;
  RegularizerAttrInterface reg;
  SmallVector<Value> reads, scalars, state;
  Value dest;            // θ, or an empty tensor when θ is a fresh result
  bool destRead = false; // whether the formula reads θ's old value
  int thresholdIndex = -1; // scalars[i] is the prox threshold s·λ; -1: none
  /// l1_l1_l2: scalars[i] is the group threshold s·λ₂ (thresholdIndex is
  /// then the l1 one, applied first).
  int threshold2Index = -1;
  UpdateFormula formula;
};

/// The value whose group norms the prox uses: x itself, or for the sparse
/// group regulariser x after the l1 soft threshold.
static Value preGroupValue(OpBuilder &b, Location l, const FusedUpdate &u,
                           ValueRange scalars, Value x) {
  if (u.threshold2Index < 0)
    return x;
  return buildProx(b, l, L1RegAttr::get(b.getContext()), x,
                   scalars[u.thresholdIndex]);
}

/// Index in scalars of the threshold the group prox scales by √n.
static int groupThresholdIndex(const FusedUpdate &u) {
  return u.threshold2Index >= 0 ? u.threshold2Index : u.thresholdIndex;
}

/// prox of a group: x·max(0, 1 − t√n/‖x_g‖), 0 for a zero group (no 0/0).
/// `scaledThreshold` is t·√n and `normSq` the group's ‖x_g‖².
static Value buildGroupProx(OpBuilder &b, Location l, Value x,
                            Value scaledThreshold, Value normSq) {
  Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
  Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
  Value norm = math::SqrtOp::create(b, l, normSq);
  Value shrink = arith::MaximumFOp::create(
      b, l,
      arith::SubFOp::create(b, l, one,
                            arith::DivFOp::create(b, l, scaledThreshold, norm)),
      zero);
  Value nonZero =
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, normSq, zero);
  Value factor = arith::SelectOp::create(b, l, nonZero, shrink, zero);
  return arith::MulFOp::create(b, l, x, factor);
}

/// Maps for a generic over `rank` dims: identity, scalar, and the map of a
/// per-group tensor (the dims that are not in `groupDims`).
struct GroupMaps {
  AffineMap identity, scalar, perGroup;
  SmallVector<utils::IteratorType> reductionIterators;
  SmallVector<int64_t> groupShape;
  int64_t groupSize = 1;
  GroupMaps(MLIRContext *ctx, RankedTensorType type, ArrayRef<int64_t> dims) {
    int64_t rank = type.getRank();
    identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    scalar = AffineMap::get(rank, 0, {}, ctx);
    SmallVector<AffineExpr> kept;
    for (int64_t d = 0; d < rank; ++d) {
      bool grouped = llvm::is_contained(dims, d);
      reductionIterators.push_back(grouped ? utils::IteratorType::reduction
                                           : utils::IteratorType::parallel);
      if (grouped) {
        groupSize *= type.getDimSize(d);
      } else {
        kept.push_back(getAffineDimExpr(d, ctx));
        groupShape.push_back(type.getDimSize(d));
      }
    }
    perGroup = AffineMap::get(rank, 0, kept, ctx);
  }
};

/// ‖x_g‖² per group, x given by `formula` (one reduction pass reading every
/// input of the update once).
static Value buildGroupNormSq(OpBuilder &b, Location loc, const FusedUpdate &u,
                              const GroupMaps &maps) {
  auto normType = RankedTensorType::get(maps.groupShape, b.getF32Type());
  // Dynamic non-group dims (a batch of rows, say) are read off an operand.
  SmallVector<Value> dynamicSizes;
  Value shaped = u.reads.empty() ? u.dest : u.reads.front();
  for (int64_t d = 0; d < u.type.getRank(); ++d)
    if (u.type.isDynamicDim(d) &&
        maps.reductionIterators[d] == utils::IteratorType::parallel)
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, shaped, d));
  // alloc_tensor, not tensor.empty: CSE must not share it between updates.
  Value init = bufferization::AllocTensorOp::create(b, loc, normType,
                                                    dynamicSizes);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  SmallVector<Value> ins(u.reads);
  ins.append(u.scalars.begin(), u.scalars.end());
  if (u.destRead)
    ins.push_back(u.dest);
  ins.append(u.state.begin(), u.state.end());
  SmallVector<AffineMap> indexing;
  indexing.append(u.reads.size(), maps.identity);
  indexing.append(u.scalars.size(), maps.scalar);
  indexing.append((u.destRead ? 1 : 0) + u.state.size(), maps.identity);
  indexing.push_back(maps.perGroup);
  size_t nReads = u.reads.size(), nScalars = u.scalars.size();
  return linalg::GenericOp::create(
             b, loc, TypeRange{normType}, ins, ValueRange{init}, indexing,
             maps.reductionIterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               size_t next = nReads + nScalars;
               ElementValues e{args.take_front(nReads),
                               args.slice(nReads, nScalars),
                               u.destRead ? args[next++] : Value(),
                               args.slice(next, u.state.size())};
               Value x = preGroupValue(nb, l, u, e.scalars,
                                       u.formula(nb, l, e).first);
               // A norm's summation order is free (reassoc), so that LLVM
               // may vectorize the reduction loop.
               Value acc = arith::AddFOp::create(
                   nb, l, args.back(), arith::MulFOp::create(nb, l, x, x),
                   arith::FastMathFlags::reassoc);
               linalg::YieldOp::create(nb, l, acc);
             })
      .getResult(0);
}

/// Runs the two passes of a group update group by group: the update is tiled
/// by one group (a row, a kernel) and the group's norm reduction is fused into
/// that loop, so the second pass reads what the first just brought into the
/// cache. Falls back to the two whole passes if tiling fails.
static SmallVector<Value> fuseGroupPasses(PatternRewriter &rewriter,
                                          linalg::GenericOp update,
                                          Operation *normReduction,
                                          const GroupMaps &maps) {
  // Tiling a loop nest with an empty dimension crashed in computeTileSizes
  // (a tensor<4x0xf32> under l1_l2): there is nothing to fuse.
  if (llvm::is_contained(update.getStaticLoopRanges(), 0))
    return update.getResults();
  SmallVector<OpFoldResult> tileSizes;
  for (utils::IteratorType it : maps.reductionIterators)
    tileSizes.push_back(rewriter.getIndexAttr(
        it == utils::IteratorType::parallel ? 1 : 0));
  scf::SCFTileAndFuseOptions options;
  options.tilingOptions.setTileSizes(tileSizes);
  options.setFusionControlFn(
      [normReduction](tensor::ExtractSliceOp, OpResult producer, bool)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (producer.getOwner() != normReduction)
          return std::nullopt;
        return scf::SCFTileAndFuseOptions::ControlFnResult{};
      });
  FailureOr<scf::SCFTileAndFuseResult> fused =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(update.getOperation()), options);
  if (failed(fused))
    return update.getResults();
  // The fused reduction reads the old θ, v, m of its group. Read them through
  // the loop's iter_args (the buffers being updated): each iteration touches
  // only its own group, before writing it, so the values are the same — and
  // bufferization then needs no copy of the whole state.
  for (LoopLikeOpInterface loopLike : fused->loops) { // outer to inner
    auto loop = llvm::dyn_cast<scf::ForOp>(loopLike.getOperation());
    if (!loop)
      continue;
    loop.getBody()->walk([&](tensor::ExtractSliceOp slice) {
      for (auto [init, iterArg] :
           llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs()))
        if (slice.getSource() == init)
          rewriter.modifyOpInPlace(
              slice, [&, arg = iterArg] { slice.getSourceMutable().assign(arg); });
    });
  }
  SmallVector<Value> results;
  for (Value r : update.getResults())
    results.push_back(fused->replacements.lookup(r));
  return results;
}

/// Lowers an update to one elementwise generic (outs: θ, then the state) or,
/// for a group regulariser, to a group-norm reduction plus that generic.
static SmallVector<Value> lowerFusedUpdate(PatternRewriter &rewriter,
                                           Location loc, FusedUpdate u,
                                           bool tileGroups) {
  MLIRContext *ctx = rewriter.getContext();
  SmallVector<int64_t> groupDims =
      u.thresholdIndex >= 0 ? u.reg.getGroupDims(u.type.getRank())
                            : SmallVector<int64_t>{};
  GroupMaps maps(ctx, u.type, groupDims);
  Value normSq;
  if (!groupDims.empty()) {
    // The reduction needs the plain threshold nowhere; the update needs t·√n.
    normSq = buildGroupNormSq(rewriter, loc, u, maps);
    Value sqrtN = arith::ConstantOp::create(
        rewriter, loc,
        rewriter.getF32FloatAttr(std::sqrt(static_cast<float>(maps.groupSize))));
    int g = groupThresholdIndex(u);
    u.scalars[g] = arith::MulFOp::create(rewriter, loc, u.scalars[g], sqrtN);
  }
  SmallVector<Value> ins(u.reads);
  ins.append(u.scalars.begin(), u.scalars.end());
  SmallVector<AffineMap> indexing;
  indexing.append(u.reads.size(), maps.identity);
  indexing.append(u.scalars.size(), maps.scalar);
  if (normSq) {
    ins.push_back(normSq);
    indexing.push_back(maps.perGroup);
  }
  SmallVector<Value> outs = {u.dest};
  outs.append(u.state.begin(), u.state.end());
  indexing.append(outs.size(), maps.identity);
  SmallVector<utils::IteratorType> parallel(u.type.getRank(),
                                            utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(outs.size(), u.type);
  size_t nReads = u.reads.size(), nScalars = u.scalars.size();
  auto generic = linalg::GenericOp::create(
      rewriter, loc, resultTypes, ins, outs, indexing, parallel,
      [&](OpBuilder &b, Location l, ValueRange args) {
        size_t next = nReads + nScalars + (normSq ? 1 : 0);
        Value destOld = args[next++];
        ElementValues e{args.take_front(nReads), args.slice(nReads, nScalars),
                        u.destRead ? destOld : Value(),
                        args.slice(next, u.state.size())};
        auto [x, newState] = u.formula(b, l, e);
        Value newTheta = x;
        if (normSq)
          newTheta = buildGroupProx(b, l, preGroupValue(b, l, u, e.scalars, x),
                                    e.scalars[groupThresholdIndex(u)],
                                    args[nReads + nScalars]);
        else if (u.thresholdIndex >= 0)
          newTheta = buildProx(b, l, u.reg, x, e.scalars[u.thresholdIndex]);
        SmallVector<Value> yielded = {newTheta};
        yielded.append(newState.begin(), newState.end());
        linalg::YieldOp::create(b, l, yielded);
      });
  if (!normSq || !tileGroups)
    return generic.getResults();
  return fuseGroupPasses(rewriter, generic, normSq.getDefiningOp(), maps);
}

/// Whether `reg` has a prox to apply (J ≠ 0).
static bool isRegularized(RegularizerAttrInterface reg) {
  return !llvm::isa<NoneRegAttr>(reg);
}

/// For l1_l1_l2: appends the row threshold scale·λ₂ to the scalars.
static void addSparseGroupThreshold(PatternRewriter &rewriter, Location loc,
                                    FusedUpdate &u, Value scale,
                                    Value lambda2) {
  if (!lambda2)
    return;
  u.threshold2Index = u.scalars.size();
  u.scalars.push_back(arith::MulFOp::create(rewriter, loc, scale, lambda2));
}

/// The lowering patterns of the fused ops. `tileGroups`: run a group
/// update group by group (the norm of a group fused into its update, for the
/// CPU's cache); off for the GPU, where each group would become launches of
/// its own: there the norms are one reduction and the update one kernel.
template <typename Op> struct BregLowering : OpRewritePattern<Op> {
  BregLowering(MLIRContext *ctx, bool tileGroups)
      : OpRewritePattern<Op>(ctx), tileGroups(tileGroups) {}
  bool tileGroups;
};

struct ProxLowering : BregLowering<ProxOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(ProxOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getType());
    u.reg = op.getReg();
    u.dest = emptyLike(rewriter, loc, op.getX());
    u.reads = {op.getX()};
    // Scalar work stays outside the loop: the threshold s·λ is computed once.
    u.scalars = {
        arith::MulFOp::create(rewriter, loc, op.getScale(), op.getLambda())};
    u.thresholdIndex = isRegularized(u.reg) ? 0 : -1;
    addSparseGroupThreshold(rewriter, loc, u, op.getScale(), op.getLambda2());
    auto formula = [](OpBuilder &, Location, const ElementValues &e) {
      return std::make_pair(e.reads[0], SmallVector<Value>{});
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, loc, u, tileGroups));
    return success();
  }
};

struct SubgradientInitLowering : BregLowering<SubgradientInitOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(SubgradientInitOp op,
                                PatternRewriter &rewriter) const override {
    auto type = llvm::cast<RankedTensorType>(op.getType());
    Location loc = op.getLoc();
    Value init = emptyLike(rewriter, loc, op.getTheta());
    RegularizerAttrInterface reg = op.getReg();
    SmallVector<int64_t> groupDims = reg.getGroupDims(type.getRank());
    if (!groupDims.empty()) {
      // v = θ/δ + λ√n·θ_g/‖θ_g‖ (0 for a zero group): norms first.
      GroupMaps maps(rewriter.getContext(), type, groupDims);
      FusedUpdate norms;
      norms.type = type;
      norms.reads = {op.getTheta()};
      auto identity = [](OpBuilder &, Location, const ElementValues &e) {
        return std::make_pair(e.reads[0], SmallVector<Value>{});
      };
      norms.formula = identity;
      Value normSq = buildGroupNormSq(rewriter, loc, norms, maps);
      Value sqrtN = arith::ConstantOp::create(
          rewriter, loc,
          rewriter.getF32FloatAttr(
              std::sqrt(static_cast<float>(maps.groupSize))));
      // l1_l1_l2: the group term has strength λ₂, and λ·sign(θ) is added.
      bool sparseGroup = llvm::isa<L1L1L2RegAttr>(reg);
      Value lambdaSqrtN = arith::MulFOp::create(
          rewriter, loc, sparseGroup ? op.getLambda2() : op.getLambda(), sqrtN);
      SmallVector<Value> ins = {op.getTheta(), op.getDelta(), lambdaSqrtN,
                                normSq};
      SmallVector<AffineMap> indexing = {maps.identity, maps.scalar,
                                         maps.scalar, maps.perGroup};
      if (sparseGroup) {
        ins.push_back(op.getLambda());
        indexing.push_back(maps.scalar);
      }
      indexing.push_back(maps.identity);
      auto generic = linalg::GenericOp::create(
          rewriter, loc, TypeRange{type}, ins, ValueRange{init}, indexing,
          SmallVector<utils::IteratorType>(type.getRank(),
                                           utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            // args: theta, delta, λ√n (λ₂√n), ‖θ_g‖², [λ], (out)
            Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
            Value v = arith::DivFOp::create(b, l, args[0], args[1]);
            Value direction = arith::DivFOp::create(
                b, l, args[0], math::SqrtOp::create(b, l, args[3]));
            Value nonZero = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::OGT, args[3], zero);
            Value p = arith::SelectOp::create(
                b, l, nonZero, arith::MulFOp::create(b, l, args[2], direction),
                zero);
            if (sparseGroup)
              p = arith::AddFOp::create(
                  b, l, p,
                  buildSubgradient(b, l, L1RegAttr::get(b.getContext()),
                                   args[0], args[4]));
            linalg::YieldOp::create(b, l,
                                    ValueRange{arith::AddFOp::create(b, l, v, p)});
          });
      rewriter.replaceOp(op, generic.getResults());
      return success();
    }
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

struct LinBregUpdateLowering : BregLowering<LinBregUpdateOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(LinBregUpdateOp op,
                                PatternRewriter &rewriter) const override {
    bool momentum = op.hasMomentum();
    Location loc = op.getLoc();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    u.reg = op.getReg();
    u.dest = op.getTheta();
    u.reads = {op.getGrad()};
    u.state = {op.getV()};
    // Scalar work stays outside the loop: the threshold δ·λ (none for J = 0)
    // and 1 − β are computed once.
    u.scalars = {op.getLr(), op.getDelta()};
    if (isRegularized(u.reg)) {
      u.thresholdIndex = u.scalars.size();
      u.scalars.push_back(
          arith::MulFOp::create(rewriter, loc, op.getDelta(), op.getLambda()));
    }
    int betaIndex = u.scalars.size();
    if (momentum) {
      Value one = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getF32FloatAttr(1.0f));
      u.scalars.push_back(op.getBeta());
      u.scalars.push_back(
          arith::SubFOp::create(rewriter, loc, one, op.getBeta()));
      u.state.push_back(op.getMomentum());
    }
    addSparseGroupThreshold(rewriter, loc, u, op.getDelta(), op.getLambda2());
    auto formula = [&](OpBuilder &b, Location l, const ElementValues &e) {
      Value g = e.reads[0], lr = e.scalars[0], delta = e.scalars[1];
      Value v = e.state[0];
      Value step = arith::MulFOp::create(b, l, lr, g);
      Value newM;
      if (momentum) {
        // m' = β·m + (1 − β)·lr·g ; v' = v − m'
        Value betaTimesM =
            arith::MulFOp::create(b, l, e.scalars[betaIndex], e.state[1]);
        Value scaledStep =
            arith::MulFOp::create(b, l, e.scalars[betaIndex + 1], step);
        newM = arith::AddFOp::create(b, l, betaTimesM, scaledStep);
        step = newM;
      }
      Value newV = arith::SubFOp::create(b, l, v, step);
      // θ' = prox_{δJ}(δ·v')
      Value scaled = arith::MulFOp::create(b, l, delta, newV);
      SmallVector<Value> newState = {newV};
      if (momentum)
        newState.push_back(newM);
      return std::make_pair(scaled, newState);
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, loc, u, tileGroups));
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
    // The bias corrections in f64 (as PyTorch does on the host): 1 − β₂ᵗ
    // cancels, and powf in f32 would cost ~1e-5 relative in the step.
    Type f64 = b.getF64Type(), f32 = b.getF32Type();
    auto wide = [&](Value v) { return arith::ExtFOp::create(b, loc, f64, v); };
    Value oneD = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0));
    Value stepD = wide(step);
    Value beta1t = math::PowFOp::create(b, loc, wide(beta1), stepD);
    Value beta2t = math::PowFOp::create(b, loc, wide(beta2), stepD);
    s.stepSize = arith::TruncFOp::create(
        b, loc, f32,
        arith::DivFOp::create(b, loc, wide(lr),
                              arith::SubFOp::create(b, loc, oneD, beta1t)));
    s.correction2 = arith::TruncFOp::create(
        b, loc, f32,
        math::SqrtOp::create(b, loc,
                             arith::SubFOp::create(b, loc, oneD, beta2t)));
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

struct AdaBregUpdateLowering : BregLowering<AdaBregUpdateOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(AdaBregUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    u.reg = op.getReg();
    u.dest = op.getTheta();
    u.reads = {op.getGrad()};
    u.state = {op.getV(), op.getM1(), op.getM2()};
    AdamScalars adam =
        AdamScalars::build(rewriter, loc, op.getLr(), op.getBeta1(),
                           op.getBeta2(), op.getEps(), op.getStep());
    u.scalars = adam.values();
    u.scalars.push_back(op.getDelta());
    if (isRegularized(u.reg)) {
      u.thresholdIndex = u.scalars.size();
      u.scalars.push_back(
          arith::MulFOp::create(rewriter, loc, op.getDelta(), op.getLambda()));
    }
    addSparseGroupThreshold(rewriter, loc, u, op.getDelta(), op.getLambda2());
    auto formula = [](OpBuilder &b, Location l, const ElementValues &e) {
      auto [newM1, newM2, step] =
          buildAdamStep(b, l, e.scalars, 0, e.reads[0], e.state[1], e.state[2]);
      Value newV = arith::SubFOp::create(b, l, e.state[0], step);
      Value delta = e.scalars[AdamScalars::kCount];
      Value scaled = arith::MulFOp::create(b, l, delta, newV);
      return std::make_pair(scaled, SmallVector<Value>{newV, newM1, newM2});
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, loc, u, tileGroups));
    return success();
  }
};

struct AdamUpdateLowering : BregLowering<AdamUpdateOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(AdamUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    u.dest = op.getTheta();
    u.destRead = true;
    u.reads = {op.getGrad()};
    u.state = {op.getM1(), op.getM2()};
    u.scalars = AdamScalars::build(rewriter, loc, op.getLr(), op.getBeta1(),
                                   op.getBeta2(), op.getEps(), op.getStep())
                    .values();
    auto formula = [](OpBuilder &b, Location l, const ElementValues &e) {
      auto [newM1, newM2, step] =
          buildAdamStep(b, l, e.scalars, 0, e.reads[0], e.state[0], e.state[1]);
      Value newTheta = arith::SubFOp::create(b, l, e.dest, step);
      return std::make_pair(newTheta, SmallVector<Value>{newM1, newM2});
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, loc, u, tileGroups));
    return success();
  }
};

struct ProxSgdUpdateLowering : BregLowering<ProxSgdUpdateOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(ProxSgdUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    u.reg = op.getReg();
    u.dest = op.getTheta();
    u.destRead = true;
    u.reads = {op.getGrad()};
    // θ' = prox_{lr·J}(θ − lr·g): threshold lr·λ, computed once.
    u.scalars = {op.getLr(), arith::MulFOp::create(rewriter, loc, op.getLr(),
                                                   op.getLambda())};
    u.thresholdIndex = isRegularized(u.reg) ? 1 : -1;
    addSparseGroupThreshold(rewriter, loc, u, op.getLr(), op.getLambda2());
    auto formula = [](OpBuilder &b, Location l, const ElementValues &e) {
      Value stepped = arith::SubFOp::create(
          b, l, e.dest, arith::MulFOp::create(b, l, e.scalars[0], e.reads[0]));
      return std::make_pair(stepped, SmallVector<Value>{});
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, loc, u, tileGroups));
    return success();
  }
};

struct SgdUpdateLowering : BregLowering<SgdUpdateOp> {
  using BregLowering::BregLowering;
  LogicalResult matchAndRewrite(SgdUpdateOp op,
                                PatternRewriter &rewriter) const override {
    bool momentum = op.hasMomentum();
    FusedUpdate u;
    u.type = llvm::cast<RankedTensorType>(op.getTheta().getType());
    u.dest = op.getTheta();
    u.destRead = true;
    u.reads = {op.getGrad()};
    u.scalars = {op.getLr()};
    if (momentum) {
      u.scalars.push_back(op.getBeta());
      u.state = {op.getMomentum()};
    }
    auto formula = [&](OpBuilder &b, Location l, const ElementValues &e) {
      Value g = e.reads[0], lr = e.scalars[0];
      Value direction = g;
      if (momentum) // m' = β·m + g
        direction = arith::AddFOp::create(
            b, l, arith::MulFOp::create(b, l, e.scalars[1], e.state[0]), g);
      Value newTheta = arith::SubFOp::create(
          b, l, e.dest, arith::MulFOp::create(b, l, lr, direction));
      SmallVector<Value> newState;
      if (momentum)
        newState.push_back(direction);
      return std::make_pair(newTheta, newState);
    };
    u.formula = formula;
    rewriter.replaceOp(op, lowerFusedUpdate(rewriter, op.getLoc(), u, tileGroups));
    return success();
  }
};

struct ConvertBregToLinalgPass
    : breg::impl::ConvertBregToLinalgBase<ConvertBregToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The lanes' mask is read as one 64-bit integer (65 gave invalid IR).
    if (compressVectorLength < 0 || compressVectorLength > 64) {
      emitError(getOperation()->getLoc(),
                "convert-breg-to-linalg: compress-vector-length must be in "
                "[0, 64], got ")
          << static_cast<int64_t>(compressVectorLength);
      return signalPassFailure();
    }
    // The updates first, so that a compaction of an update's θ' can be
    // lowered with it; then the compactions left.
    populateBregToLinalgPatterns(patterns, tileGroups, compressVectorLength,
                                 /*compress=*/false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (compressVectorLength > 0)
      fuseCompressRowsWithUpdates(getOperation(), compressVectorLength,
                                  compressParallelThreshold);
    RewritePatternSet compactions(&getContext());
    populateBregCompressRowsPatterns(compactions, compressVectorLength);
    if (failed(applyPatternsGreedily(getOperation(), std::move(compactions))))
      return signalPassFailure();
    // A breg op left over means a regulariser without a lowering.
    WalkResult leftover = getOperation()->walk([](Operation *op) {
      if (llvm::isa<SparseConv2DOp>(op)) {
        // breg-sparse-conv-to-loops (CPU pipeline) lowers it first.
        op->emitOpError("(a convolution on CSR) is lowered on the CPU only");
        return WalkResult::interrupt();
      }
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

void mlir::breg::populateBregToLinalgPatterns(RewritePatternSet &patterns,
                                              bool tileGroups,
                                              int64_t compressVectorLength,
                                              bool compress) {
  patterns.add<ProxLowering, SubgradientInitLowering, LinBregUpdateLowering,
               AdaBregUpdateLowering, AdamUpdateLowering, ProxSgdUpdateLowering,
               SgdUpdateLowering>(patterns.getContext(), tileGroups);
  populateBregConvToLinalgPatterns(patterns);
  if (compress)
    populateBregCompressRowsPatterns(patterns, compressVectorLength);
}
