//===- BregOutlineChunks.cpp - Large functions as calls of small ones -----===//
//
// LLVM's loop rotation and induction-variable simplification take time that
// grows with the loops of a function times its size: a training step with
// batch norm kept (thousands of loops in one function) spent minutes there.
// Cutting the step into noinline functions of bounded size makes that cost
// linear in the program.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "OutlineUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGOUTLINECHUNKS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// What a chunk reads from its caller and gives back to it.
struct Chunk {
  SmallVector<Operation *> ops;
  llvm::SetVector<Value> captured, results;
  /// Where the call goes: the op after the chunk's last one, taken before
  /// its deallocations leave it (ops that stay in the caller may sit between
  /// them and define what they free).
  Operation *next = nullptr;
};

/// The op of `body` that holds `value`'s definition (null for the
/// function's arguments).
Operation *definingTopLevelOp(Block &body, Value value) {
  Operation *def = value.getDefiningOp();
  if (!def)
    def = cast<BlockArgument>(value).getOwner()->getParentOp();
  return body.findAncestorOpInBlock(*def);
}

void collectBoundary(Block &body, Chunk &chunk) {
  llvm::DenseSet<Operation *> inside(chunk.ops.begin(), chunk.ops.end());
  for (Operation *op : chunk.ops) {
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        Operation *top = definingTopLevelOp(body, operand);
        if (!top || !inside.contains(top))
          chunk.captured.insert(operand);
      }
    });
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (!inside.contains(body.findAncestorOpInBlock(*user)))
          chunk.results.insert(result);
  }
}

/// Buffers go in as bare pointers (the CPU pipeline's calling convention)
/// and never come back: a returned buffer would lose its allocation pointer.
bool passesBarePointers(const Chunk &chunk) {
  return llvm::all_of(chunk.captured, passesAsBarePointer);
}
bool returnsBuffers(const Chunk &chunk) {
  return llvm::any_of(chunk.results,
                      [](Value v) { return isa<BaseMemRefType>(v.getType()); });
}

/// The chunk's own top-level deallocations of values defined before it
/// (buffers allocated in the caller: allocations stay there) are taken out
/// of it; the caller does them right after the call.
SmallVector<Operation *> takeFreesOfCallerBuffers(Block &body, Chunk &chunk) {
  if (chunk.ops.empty())
    return {};
  chunk.next = chunk.ops.back()->getNextNode();
  llvm::DenseSet<Operation *> inside(chunk.ops.begin(), chunk.ops.end());
  SmallVector<Operation *> frees;
  llvm::erase_if(chunk.ops, [&](Operation *op) {
    auto dealloc = dyn_cast<memref::DeallocOp>(op);
    if (!dealloc)
      return false;
    Operation *top = definingTopLevelOp(body, dealloc.getMemref());
    if (top && inside.contains(top))
      return false;
    frees.push_back(op);
    return true;
  });
  return frees;
}

void outline(func::FuncOp parent, SymbolTable &symbols, Chunk &chunk,
             ArrayRef<Operation *> freesAfter) {
  Location loc = chunk.ops.front()->getLoc();
  SmallVector<Value> captured(chunk.captured.begin(), chunk.captured.end());
  SmallVector<Value> results(chunk.results.begin(), chunk.results.end());
  OpBuilder builder(parent->getContext());
  builder.setInsertionPointAfter(parent);
  auto fn = func::FuncOp::create(
      builder, loc, (parent.getSymName() + "_part").str(),
      builder.getFunctionType(ValueRange(captured).getTypes(),
                              ValueRange(results).getTypes()));
  symbols.insert(fn); // renames it if the name is taken
  markOutlined(fn);
  Block *entry = fn.addEntryBlock();
  for (Operation *op : chunk.ops)
    op->moveBefore(entry, entry->end());
  for (auto [value, argument] : llvm::zip(captured, entry->getArguments()))
    value.replaceUsesWithIf(argument, [&](OpOperand &use) {
      return fn->isProperAncestor(use.getOwner());
    });
  builder.setInsertionPointToEnd(entry);
  func::ReturnOp::create(builder, loc, results);
  builder.setInsertionPoint(chunk.next);
  auto call = func::CallOp::create(builder, loc, fn, captured);
  for (auto [value, result] : llvm::zip(results, call.getResults()))
    value.replaceUsesWithIf(result, [&](OpOperand &use) {
      return !fn->isProperAncestor(use.getOwner());
    });
  Operation *last = call;
  for (Operation *free : freesAfter) {
    free->moveAfter(last);
    last = free;
  }
}

/// Allocations and side-effect-free ops without regions stay in the caller
/// (unless they use a value of the chunk being built): chunks then take
/// buffers and views as arguments instead of returning them. Moving a chunk
/// to where its last op was only moves these ops earlier, which is legal.
bool staysInCaller(Operation *op, const llvm::DenseSet<Operation *> &chunk,
                   Block &body) {
  if (op->getNumRegions() != 0 ||
      !(isMemoryEffectFree(op) || isa<memref::AllocOp, memref::AllocaOp>(op)))
    return false;
  return llvm::none_of(op->getOperands(), [&](Value v) {
    Operation *top = definingTopLevelOp(body, v);
    return top && chunk.contains(top);
  });
}

SmallVector<Chunk> chunksOf(Block &body, int64_t maxOps) {
  SmallVector<Chunk> chunks(1);
  llvm::DenseSet<Operation *> current;
  int64_t size = 0;
  for (Operation &op : body.without_terminator()) {
    if (staysInCaller(&op, current, body))
      continue;
    chunks.back().ops.push_back(&op);
    current.insert(&op);
    size += opsWithin(&op);
    if (size >= maxOps) {
      chunks.emplace_back();
      current.clear();
      size = 0;
    }
  }
  return chunks;
}

struct BregOutlineChunksPass
    : breg::impl::BregOutlineChunksBase<BregOutlineChunksPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp fn : functionsAbove(module, maxOps)) {
      Block &body = fn.getBody().front();
      for (Chunk &chunk : chunksOf(body, maxOps)) {
        SmallVector<Operation *> frees = takeFreesOfCallerBuffers(body, chunk);
        if (chunk.ops.size() < 2)
          continue;
        collectBoundary(body, chunk);
        if (returnsBuffers(chunk)) {
          ++keptReturningBuffers;
        } else if (!passesBarePointers(chunk)) {
          ++keptForArguments;
        } else if (freesForeignBuffer(chunk.ops)) {
          ++keptFreeingBuffers;
        } else {
          outline(fn, symbols, chunk, frees);
          ++outlined;
        }
      }
    }
  }
};

} // namespace
