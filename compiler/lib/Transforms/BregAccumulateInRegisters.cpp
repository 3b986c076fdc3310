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

#include "OutlineUtils.h"
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
using mlir::breg::rootBuffer;

namespace {

/// At most this many vectors carried at once (AVX-512 has 32 registers; each
/// chunk also needs its operand and product).
constexpr int64_t kMaxChunks = 8;

/// The chunk loop of an entry loop and the output chunk it accumulates:
/// out[..., j] loaded and stored, both plain or both under one mask (the
/// sparsifier masks every chunk when the batch is not a multiple of the
/// vector length).
struct RowAccumulation {
  scf::ForOp entries, chunks;
  Operation *load = nullptr, *store = nullptr;
  Value base, mask, passThru, stored;
  SmallVector<Value> indices;
  VectorType type;
  int64_t lower = 0, step = 0, count = 0;
};

/// The output chunk's load and store in `row.chunks`, if it has exactly one
/// store (into a fresh allocation) and one load of that buffer, alike.
bool findChunkAccess(RowAccumulation &row) {
  for (Operation &op : row.chunks.getBody()->without_terminator()) {
    if (!isa<vector::StoreOp, vector::MaskedStoreOp>(op))
      continue;
    if (row.store)
      return false;
    row.store = &op;
  }
  if (auto store = dyn_cast_or_null<vector::StoreOp>(row.store)) {
    row.base = store.getBase();
    row.stored = store.getValueToStore();
    row.indices = llvm::to_vector(store.getIndices());
  } else if (auto masked = dyn_cast_or_null<vector::MaskedStoreOp>(row.store)) {
    row.base = masked.getBase();
    row.stored = masked.getValueToStore();
    row.mask = masked.getMask();
    row.indices = llvm::to_vector(masked.getIndices());
  } else {
    return false;
  }
  if (!rootBuffer(row.base).getDefiningOp<memref::AllocOp>())
    return false;
  for (Operation &op : row.chunks.getBody()->without_terminator()) {
    auto load = dyn_cast<vector::LoadOp>(op);
    auto masked = dyn_cast<vector::MaskedLoadOp>(op);
    if (!(load && load.getBase() == row.base) &&
        !(masked && masked.getBase() == row.base))
      continue;
    if (row.load || (masked && masked.getMask() != row.mask) ||
        (load && row.mask) ||
        !llvm::equal(load ? load.getIndices() : masked.getIndices(),
                     row.indices))
      return false;
    row.load = &op;
    row.passThru = masked ? masked.getPassThru() : Value();
    row.type = load ? load.getVectorType() : masked.getVectorType();
  }
  return row.load && row.stored.getType() == row.type &&
         row.type.getRank() == 1;
}

/// Whether `value` is computed in the chunk loop from its index and values
/// from outside the entry loop by pure ops only (a chunk's mask), so that it
/// can be computed again for a constant chunk index anywhere.
bool computedFromChunkIndex(Value value, RowAccumulation &row, int depth = 0) {
  if (value == row.chunks.getInductionVar() ||
      row.entries.isDefinedOutsideOfLoop(value))
    return true;
  Operation *def = value.getDefiningOp();
  if (depth > 8 || !def || def->getBlock() != row.chunks.getBody() ||
      !isPure(def) || def->getNumRegions() != 0)
    return false;
  return llvm::all_of(def->getOperands(), [&](Value operand) {
    return computedFromChunkIndex(operand, row, depth + 1);
  });
}

/// Clones into `b` what computes `value` from the chunk index (mapped in
/// `map`).
Value cloneComputation(OpBuilder &b, Value value, IRMapping &map,
                       RowAccumulation &row) {
  if (map.contains(value) || row.entries.isDefinedOutsideOfLoop(value))
    return map.lookupOrDefault(value);
  Operation *def = value.getDefiningOp();
  for (Value operand : def->getOperands())
    cloneComputation(b, operand, map, row);
  b.clone(*def, map);
  return map.lookup(value);
}

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
           rootBuffer(e.getValue()) != outRoot;
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
      if (user == row.load || user == row.store ||
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
  if (!lower || !upper || !step || *step <= 0 || *upper <= *lower)
    return std::nullopt;
  RowAccumulation row;
  row.entries = entries;
  row.chunks = chunks;
  row.lower = *lower;
  row.step = *step;
  row.count = llvm::divideCeil(*upper - *lower, *step);
  // Whole chunks, or every chunk under a mask computed from its index.
  if (!findChunkAccess(row) || !entries.isDefinedOutsideOfLoop(row.base) ||
      row.type.getNumElements() != *step ||
      (!row.mask && (*upper - *lower) % *step != 0) ||
      (row.mask && !computedFromChunkIndex(row.mask, row)))
    return std::nullopt;
  // The chunk index is the last, every other index fixed in both loops.
  if (row.indices.back() != chunks.getInductionVar())
    return std::nullopt;
  for (Value index : ArrayRef<Value>(row.indices).drop_back())
    if (!entries.isDefinedOutsideOfLoop(index))
      return std::nullopt;
  auto type = cast<MemRefType>(row.base.getType());
  if (!type.hasStaticShape() ||
      type.getShape().back() < (row.mask ? *upper : *lower + row.count * *step))
    return std::nullopt;
  Value outRoot = rootBuffer(row.base);
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
  SmallVector<Value> offsets, masks, initial;
  SmallVector<Value> fixed(ArrayRef<Value>(row.indices).drop_back());
  for (int64_t c = first; c < first + count; ++c) {
    offsets.push_back(
        arith::ConstantIndexOp::create(b, loc, row.lower + c * row.step));
    SmallVector<Value> indices(fixed);
    indices.push_back(offsets.back());
    if (row.mask) {
      IRMapping chunk;
      chunk.map(row.chunks.getInductionVar(), offsets.back());
      masks.push_back(cloneComputation(b, row.mask, chunk, row));
      initial.push_back(vector::MaskedLoadOp::create(
          b, loc, row.type, row.base, indices, masks.back(), row.passThru));
    } else {
      initial.push_back(
          vector::LoadOp::create(b, loc, row.type, row.base, indices));
    }
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
          chunk.map(row.load->getResult(0), sums[c]);
          for (Operation &op : row.chunks.getBody()->without_terminator())
            if (&op != row.load && &op != row.store)
              inner.clone(op, chunk);
          updated.push_back(fuseMultiplyAdd(
              inner, chunk.lookupOrDefault(row.stored), sums[c]));
        }
        scf::YieldOp::create(inner, loc, updated);
      });
  for (int64_t c = 0; c < count; ++c) {
    SmallVector<Value> indices(fixed);
    indices.push_back(offsets[c]);
    if (row.mask)
      vector::MaskedStoreOp::create(b, loc, row.base, indices, masks[c],
                                    loop.getResult(c));
    else
      vector::StoreOp::create(b, loc, loop.getResult(c), row.base, indices);
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
