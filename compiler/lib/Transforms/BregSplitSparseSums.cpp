//===- BregSplitSparseSums.cpp - A CSR row's sum in independent chains ----===//
//
// At batch 1 the CSR product x·Wᵀ runs the sparsifier's scalar loops
//   for i in rows: s = out[i]; for k in row i's entries: s += W[k]·x[crd[k]]
// whose additions form one dependent chain per row: each waits for the last
// (four cycles on the CPUs measured), while the loads of an entry take about
// one. The 16- or 8-lane gathers the sparsifier can emit instead were slower
// still on both CPUs measured (docs/PERFORMANCE.md, "How fast batch 1 can
// be"). Here the entry loop steps by `accumulators` entries into as many
// independent sums, the last entries run in a remainder loop, and the sums
// are added pairwise: the row's sum is reassociated, as a GEMM's is.
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

std::optional<SumChain> matchSumChain(scf::ForOp loop) {
  // Only the sparsifier's loops: elsewhere a loop's order may be the point.
  if (!loop->hasAttr("Emitted from") || loop.getNumRegionIterArgs() != 1)
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
  main->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
  rest->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
  loop.replaceAllUsesWith(rest.getResults());
  loop.erase();
}

struct BregSplitSparseSums
    : public breg::impl::BregSplitSparseSumsBase<BregSplitSparseSums> {
  using Base::Base;

  void runOnOperation() override {
    // Each sum is a register, and the loop body is cloned once per sum.
    if (accumulators < 2 || accumulators > 16) {
      getOperation().emitError("breg-split-sparse-sums: accumulators must be "
                               "in [2, 16], got ")
          << static_cast<int64_t>(accumulators);
      return signalPassFailure();
    }
    SmallVector<SumChain> chains;
    getOperation().walk([&](scf::ForOp loop) {
      if (std::optional<SumChain> chain = matchSumChain(loop))
        chains.push_back(*chain);
    });
    for (SumChain chain : chains)
      split(chain, accumulators);
  }
};

} // namespace
