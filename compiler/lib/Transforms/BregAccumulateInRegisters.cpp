//===- BregAccumulateInRegisters.cpp - A CSR row's sums in registers ------===//
//
// The sparsifier lowers a feature-major CSR product (W·aᵀ, W on CSR) to
//   for i in rows: for k in row i's entries: for j in batch (step V):
//     out[i, j:j+V] += W[k] · aᵀ[crd[k], j:j+V]
// which loads and stores the output chunk at every stored entry: the stores
// and their reloads were half of the loop's time. Here the chunks of one
// row become vectors carried through the entry loop (up to kMaxChunks of
// them), loaded before it and stored after it, and each accumulated product
// is one fused multiply-add (rounded once, as the GEMM libraries compute;
// the separate multiply and add kept the floating-point ports as busy as the
// stores had). Each output element sums its terms in the same order. The
// pass runs right after bufferization, where the only vector code is the
// sparse loops'.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGACCUMULATEINREGISTERS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

/// At most this many vectors carried at once (AVX-512 has 32 registers; each
/// chunk also needs its operand and product).
constexpr int64_t kMaxChunks = 8;

/// The buffer a view was taken of.
Value rootOf(Value memref) {
  while (Operation *def = memref.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      memref = view.getViewSource();
    else
      break;
  }
  return memref;
}

/// The chunk loop of an entry loop and the output chunk it accumulates.
struct RowAccumulation {
  scf::ForOp entries, chunks;
  vector::LoadOp load;   // out[..., j]
  vector::StoreOp store; // out[..., j] = f(load, ...)
  int64_t lower = 0, step = 0, count = 0;
};

/// Whether `op` may run with `out` held in registers: no writes, and no
/// reads of `out`'s buffer (a fresh allocation, so nothing else aliases it).
bool onlyReadsOthers(Operation *op, Value outRoot) {
  if (isPure(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects || op->getNumRegions() != 0)
    return false;
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::all_of(list, [&](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Read>(e.getEffect()) && e.getValue() &&
           rootOf(e.getValue()) != outRoot;
  });
}

/// Whether, inside the entry loop, the output buffer (through views of it or
/// not) is used by the chunk's load and store alone: no read through another
/// kind of op (a memref.transpose, a pointer extraction) can see it stale.
bool onlyLoadAndStoreUse(Value root, RowAccumulation row) {
  SmallVector<Value> worklist{root};
  while (!worklist.empty()) {
    Value buffer = worklist.pop_back_val();
    for (Operation *user : buffer.getUsers()) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == buffer) {
        llvm::append_range(worklist, user->getResults());
        continue;
      }
      if (user == row.load.getOperation() || user == row.store.getOperation() ||
          !row.entries->isAncestor(user))
        continue;
      return false;
    }
  }
  return true;
}

/// `entries` as the sparsifier leaves it: straight-line reads, then a loop
/// over constant chunks of the output that loads one chunk of a fresh
/// buffer, stores it updated, and touches it nowhere else.
std::optional<RowAccumulation> match(scf::ForOp entries) {
  Block *body = entries.getBody();
  // The guard below compares signed, as the loop does by default.
  if (entries.getNumRegionIterArgs() != 0 || entries.getUnsignedCmp() ||
      body->getOperations().size() < 2)
    return std::nullopt;
  auto chunks = dyn_cast<scf::ForOp>(*std::prev(body->end(), 2));
  if (!chunks || chunks.getNumRegionIterArgs() != 0)
    return std::nullopt;
  std::optional<int64_t> lower = getConstantIntValue(chunks.getLowerBound());
  std::optional<int64_t> upper = getConstantIntValue(chunks.getUpperBound());
  std::optional<int64_t> step = getConstantIntValue(chunks.getStep());
  if (!lower || !upper || !step || *step <= 0 || *upper <= *lower ||
      (*upper - *lower) % *step != 0)
    return std::nullopt;
  RowAccumulation row{entries,
                      chunks,
                      nullptr,
                      nullptr,
                      *lower,
                      *step,
                      (*upper - *lower) / *step};
  for (Operation &op : chunks.getBody()->without_terminator())
    if (auto store = dyn_cast<vector::StoreOp>(op)) {
      if (row.store)
        return std::nullopt;
      row.store = store;
    }
  if (!row.store ||
      !rootOf(row.store.getBase()).getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  for (Operation &op : chunks.getBody()->without_terminator())
    if (auto load = dyn_cast<vector::LoadOp>(op))
      if (load.getBase() == row.store.getBase()) {
        if (row.load)
          return std::nullopt;
        row.load = load;
      }
  if (!row.load || !entries.isDefinedOutsideOfLoop(row.load.getBase()) ||
      row.store.getVectorType() != row.load.getVectorType() ||
      !llvm::equal(row.store.getIndices(), row.load.getIndices()) ||
      row.load.getVectorType().getRank() != 1 ||
      row.load.getVectorType().getNumElements() != *step)
    return std::nullopt;
  // The chunk index is the last, every other index fixed in both loops.
  OperandRange indices = row.load.getIndices();
  if (indices.back() != chunks.getInductionVar())
    return std::nullopt;
  for (Value index : indices.drop_back())
    if (!entries.isDefinedOutsideOfLoop(index))
      return std::nullopt;
  auto type = cast<MemRefType>(row.load.getBase().getType());
  if (!type.hasStaticShape() || type.getShape().back() < *upper)
    return std::nullopt;
  Value outRoot = rootOf(row.load.getBase());
  if (!onlyLoadAndStoreUse(outRoot, row))
    return std::nullopt;
  for (Operation &op : body->without_terminator())
    if (&op != chunks.getOperation() && !onlyReadsOthers(&op, outRoot))
      return std::nullopt;
  for (Operation &op : chunks.getBody()->without_terminator())
    if (&op != row.load && &op != row.store && !onlyReadsOthers(&op, outRoot))
      return std::nullopt;
  return row;
}

/// `sum + x * y` (as the sparsifier writes a product's accumulation) as one
/// fused multiply-add, rounded once; anything else as it is.
Value fuseMultiplyAdd(OpBuilder &b, Value value, Value sum) {
  auto add = value.getDefiningOp<arith::AddFOp>();
  if (!add)
    return value;
  Value other = add.getLhs() == sum ? add.getRhs() : add.getLhs();
  auto mul = other.getDefiningOp<arith::MulFOp>();
  if (!mul || (add.getLhs() != sum && add.getRhs() != sum) ||
      !mul->hasOneUse() || !isa<VectorType>(sum.getType()))
    return value;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(add);
  Value fused =
      vector::FMAOp::create(b, add.getLoc(), mul.getLhs(), mul.getRhs(), sum);
  add.getResult().replaceAllUsesWith(fused);
  add->erase();
  mul->erase();
  return fused;
}

/// out[i] = out[i] + x * y where the row's chunks cannot stay in registers
/// (the input gradient Wᵀ·δ scatters each entry into another row): one
/// fused multiply-add all the same.
void fuseScatteredAccumulation(vector::StoreOp store) {
  auto add = store.getValueToStore().getDefiningOp<arith::AddFOp>();
  if (!add)
    return;
  for (Value sum : {add.getLhs(), add.getRhs()}) {
    auto load = sum.getDefiningOp<vector::LoadOp>();
    if (load && load.getBase() == store.getBase() &&
        llvm::equal(load.getIndices(), store.getIndices())) {
      OpBuilder b(add);
      fuseMultiplyAdd(b, add.getResult(), sum);
      return;
    }
  }
}

/// Chunks [first, first + count) of `row` carried through a copy of its entry
/// loop, guarded so that an empty row touches nothing (as before).
void accumulate(OpBuilder &b, RowAccumulation row, int64_t first,
                int64_t count) {
  Location loc = row.entries.getLoc();
  scf::ForOp entries = row.entries;
  Value nonEmpty =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                            entries.getLowerBound(), entries.getUpperBound());
  auto guard = scf::IfOp::create(b, loc, nonEmpty, /*withElseRegion=*/false);
  b.setInsertionPointToStart(guard.thenBlock());
  SmallVector<Value> offsets, initial;
  SmallVector<Value> fixed(row.load.getIndices().drop_back());
  for (int64_t c = first; c < first + count; ++c) {
    offsets.push_back(
        arith::ConstantIndexOp::create(b, loc, row.lower + c * row.step));
    SmallVector<Value> indices(fixed);
    indices.push_back(offsets.back());
    initial.push_back(vector::LoadOp::create(b, loc, row.load.getVectorType(),
                                             row.load.getBase(), indices));
  }
  auto loop = scf::ForOp::create(
      b, loc, entries.getLowerBound(), entries.getUpperBound(),
      entries.getStep(), initial,
      [&](OpBuilder &inner, Location, Value k, ValueRange sums) {
        IRMapping map;
        map.map(entries.getInductionVar(), k);
        for (Operation &op : entries.getBody()->without_terminator())
          if (&op != row.chunks.getOperation())
            inner.clone(op, map);
        SmallVector<Value> updated;
        for (int64_t c = 0; c < count; ++c) {
          IRMapping chunk = map;
          chunk.map(row.chunks.getInductionVar(), offsets[c]);
          chunk.map(row.load.getResult(), sums[c]);
          for (Operation &op : row.chunks.getBody()->without_terminator())
            if (&op != row.load && &op != row.store)
              inner.clone(op, chunk);
          updated.push_back(fuseMultiplyAdd(
              inner, chunk.lookupOrDefault(row.store.getValueToStore()),
              sums[c]));
        }
        scf::YieldOp::create(inner, loc, updated);
      });
  for (int64_t c = 0; c < count; ++c) {
    SmallVector<Value> indices(fixed);
    indices.push_back(offsets[c]);
    vector::StoreOp::create(b, loc, loop.getResult(c), row.load.getBase(),
                            indices);
  }
}

struct BregAccumulateInRegistersPass
    : breg::impl::BregAccumulateInRegistersBase<BregAccumulateInRegistersPass> {
  void runOnOperation() override {
    SmallVector<RowAccumulation> rows;
    getOperation().walk([&](scf::ForOp loop) {
      if (std::optional<RowAccumulation> row = match(loop))
        rows.push_back(*row);
    });
    for (RowAccumulation &row : rows) {
      OpBuilder b(row.entries);
      for (int64_t first = 0; first < row.count; first += kMaxChunks) {
        OpBuilder::InsertionGuard guard(b);
        accumulate(b, row, first, std::min(kMaxChunks, row.count - first));
      }
      row.entries.erase();
    }
    getOperation().walk(fuseScatteredAccumulation);
  }
};

} // namespace
