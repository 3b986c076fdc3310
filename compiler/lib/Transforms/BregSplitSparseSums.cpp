//===- BregSplitSparseSums.cpp - A CSR row's sum in groups of entries -----===//
//
// At batch 1 the CSR product x·Wᵀ runs the sparsifier's scalar loops
//   for i in rows: s = out[i]; for k in row i's entries: s += W[k]·x[crd[k]]
// whose additions form one dependent chain per row: each waits for the last
// (four cycles), while the loads of an entry take about one. (On the Ice
// Lake Xeon measured the sparsifier's 8-lane gathers were slower still:
// docs/PERFORMANCE.md, "Row sums in four-entry groups".) Here the entry loop
// takes `entries` entries per iteration, adds their terms pairwise and then
// into the row's one running sum, so one dependent addition waits per group;
// the last entries run in a remainder loop. The row's sum is reassociated,
// as a GEMM's is. (Separate running sums, one per entry of a group, were
// tried first: LLVM's SLP vectorizer packed them into a vector fed by a
// gather, the slow form again.)
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGSPLITSPARSESUMS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

/// An entry loop whose one result is a float sum: the yield is `add` of the
/// loop's accumulator (used by nothing else) and a term.
struct SumChain {
  scf::ForOp loop;
  arith::AddFOp add;
};

/// Whether `op` at most reads memory: then the loop's iterations may run in
/// any grouping.
bool readsOnly(Operation &op) {
  if (op.getNumRegions() != 0)
    return false;
  if (isMemoryEffectFree(&op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  return effects && effects.onlyHasEffect<MemoryEffects::Read>();
}

/// Marks the loops this pass made: a second run leaves them alone.
constexpr llvm::StringLiteral kSplitMark = "breg.split_sum";

std::optional<SumChain> matchSumChain(scf::ForOp loop) {
  // Only the sparsifier's loops: elsewhere a loop's order may be the point.
  // (Unsigned bounds would need an unsigned remainder: not emitted there.)
  if (!loop->hasAttr("Emitted from") || loop->hasAttr(kSplitMark) ||
      loop.getUnsignedCmp() || loop.getNumRegionIterArgs() != 1)
    return std::nullopt;
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  BlockArgument acc = loop.getRegionIterArgs()[0];
  if (!step || *step != 1 || !isa<FloatType>(acc.getType()) || !acc.hasOneUse())
    return std::nullopt;
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != loop.getBody() || !add->hasOneUse() ||
      (add.getLhs() == acc) == (add.getRhs() == acc))
    return std::nullopt;
  if (!llvm::all_of(loop.getBody()->without_terminator(), readsOnly))
    return std::nullopt;
  return SumChain{loop, add};
}

/// The term one iteration of the chain's body adds, at `iv`.
Value cloneTerm(OpBuilder &b, SumChain chain, Value iv) {
  IRMapping map;
  map.map(chain.loop.getInductionVar(), iv);
  for (Operation &op : chain.loop.getBody()->without_terminator())
    if (&op != chain.add.getOperation())
      b.clone(op, map);
  BlockArgument acc = chain.loop.getRegionIterArgs()[0];
  Value term =
      chain.add.getLhs() == acc ? chain.add.getRhs() : chain.add.getLhs();
  return map.lookupOrDefault(term);
}

/// The sums added pairwise, (s0 + s1) + (s2 + s3) for four.
Value addPairwise(OpBuilder &b, Location loc, SmallVector<Value> sums,
                  arith::FastMathFlagsAttr flags) {
  while (sums.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < sums.size(); i += 2)
      next.push_back(
          arith::AddFOp::create(b, loc, sums[i], sums[i + 1], flags));
    if (sums.size() % 2)
      next.push_back(sums.back());
    sums = std::move(next);
  }
  return sums.front();
}

void split(SumChain chain, int64_t count) {
  scf::ForOp loop = chain.loop;
  Location loc = loop.getLoc();
  arith::FastMathFlagsAttr flags = chain.add.getFastmathAttr();
  OpBuilder b(loop);
  Value lower = loop.getLowerBound(), upper = loop.getUpperBound();
  Type indexType = lower.getType();
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantOp::create(b, loc,
                                     b.getIntegerAttr(indexType, value));
  };
  // The main loop covers the largest multiple of `count` entries (none when
  // the row is shorter: a signed remainder keeps an empty range empty).
  Value step = constant(count);
  Value length = arith::SubIOp::create(b, loc, upper, lower);
  Value tail = arith::RemSIOp::create(b, loc, length, step);
  Value middle = arith::AddIOp::create(
      b, loc, lower, arith::SubIOp::create(b, loc, length, tail));
  auto main = scf::ForOp::create(
      b, loc, lower, middle, step, loop.getInitArgs(),
      [&](OpBuilder &body, Location, Value iv, ValueRange sums) {
        SmallVector<Value> terms;
        for (int64_t j = 0; j < count; ++j) {
          Value at = j == 0 ? iv
                            : arith::AddIOp::create(body, loc, iv, constant(j))
                                  .getResult();
          terms.push_back(cloneTerm(body, chain, at));
        }
        Value group = addPairwise(body, loc, terms, flags);
        scf::YieldOp::create(body, loc,
                             ValueRange{arith::AddFOp::create(
                                 body, loc, sums[0], group, flags)});
      });
  auto rest = scf::ForOp::create(
      b, loc, middle, upper, loop.getStep(), main.getResults(),
      [&](OpBuilder &body, Location, Value iv, ValueRange sums) {
        Value term = cloneTerm(body, chain, iv);
        scf::YieldOp::create(
            body, loc,
            ValueRange{arith::AddFOp::create(body, loc, sums[0], term, flags)});
      });
  for (scf::ForOp made : {main, rest}) {
    made->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
    made->setAttr(kSplitMark, b.getUnitAttr());
  }
  loop.replaceAllUsesWith(rest.getResults());
  loop.erase();
}

struct BregSplitSparseSums
    : public breg::impl::BregSplitSparseSumsBase<BregSplitSparseSums> {
  using Base::Base;

  void runOnOperation() override {
    // The loop body is cloned once per entry of a group.
    if (entries < 2 || entries > 16) {
      getOperation().emitError("breg-split-sparse-sums: entries must be "
                               "in [2, 16], got ")
          << static_cast<int64_t>(entries);
      return signalPassFailure();
    }
    SmallVector<SumChain> chains;
    getOperation().walk([&](scf::ForOp loop) {
      if (std::optional<SumChain> chain = matchSumChain(loop))
        chains.push_back(*chain);
    });
    for (SumChain chain : chains)
      split(chain, entries);
  }
};

} // namespace
