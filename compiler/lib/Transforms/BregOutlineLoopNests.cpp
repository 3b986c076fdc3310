//===- BregOutlineLoopNests.cpp - One function per loop nest --------------===//
//
// Networks repeat their layers. Outlined with the constants they use, the
// loop nests of same-shaped layers become identical functions, which are
// merged: LLVM then optimizes and generates code for each distinct nest once
// instead of once per layer.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "OutlineUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGOUTLINELOOPNESTS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// The values `nest` uses but does not define, in the order of first use
/// (so that identical nests get identical argument lists).
llvm::SetVector<Value> capturedValues(Operation *nest) {
  llvm::SetVector<Value> captured;
  nest->walk<WalkOrder::PreOrder>([&](Operation *op) {
    for (Value operand : op->getOperands())
      if (!nest->isAncestor(operand.getParentRegion()->getParentOp()))
        captured.insert(operand);
  });
  return captured;
}

/// Constants are cloned into the function: as arguments, a loop bound or a
/// divisor would be unknown to LLVM, and nests differing only in the
/// constants they use must not share a function.
bool isClonedConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->getNumOperands() == 0 && def->getNumResults() == 1 &&
         matchPattern(value, m_Constant());
}

/// Buffers go in as bare pointers (the CPU pipeline's calling convention)
/// and never come back: a returned buffer would lose its allocation pointer,
/// and one the nest frees without allocating it would be freed through its
/// aligned pointer.
bool canOutline(Operation *nest, const llvm::SetVector<Value> &captured) {
  auto isBuffer = [](Type type) { return isa<BaseMemRefType>(type); };
  if (llvm::any_of(nest->getResultTypes(), isBuffer))
    return false;
  return !freesForeignBuffer(nest) &&
         llvm::all_of(captured, passesAsBarePointer);
}

/// Outlined functions equal but for their name: the same type, the same
/// operations on the same values (locations aside).
struct SameBody : llvm::DenseMapInfo<func::FuncOp> {
  static unsigned getHashValue(func::FuncOp fn) {
    if (fn == getEmptyKey() || fn == getTombstoneKey())
      return llvm::DenseMapInfo<func::FuncOp>::getHashValue(fn);
    llvm::hash_code hash = hash_value(fn.getFunctionType());
    fn.getBody().walk([&](Operation *op) {
      hash = llvm::hash_combine(hash,
                                OperationEquivalence::computeHash(
                                    op, OperationEquivalence::ignoreHashValue,
                                    OperationEquivalence::ignoreHashValue,
                                    OperationEquivalence::IgnoreLocations));
    });
    return hash;
  }
  static bool isEqual(func::FuncOp lhs, func::FuncOp rhs) {
    if (lhs == rhs)
      return true;
    if (lhs == getEmptyKey() || lhs == getTombstoneKey() ||
        rhs == getEmptyKey() || rhs == getTombstoneKey())
      return false;
    return lhs.getFunctionType() == rhs.getFunctionType() &&
           OperationEquivalence::isRegionEquivalentTo(
               &lhs.getBody(), &rhs.getBody(),
               OperationEquivalence::IgnoreLocations);
  }
};
using DistinctNests = llvm::DenseSet<func::FuncOp, SameBody>;

/// Outlines `nest` and calls it, or an equal function outlined before.
/// Returns whether the function is a new one.
bool outline(Operation *nest, const llvm::SetVector<Value> &captured,
             func::FuncOp parent, SymbolTable &symbols,
             DistinctNests &distinct) {
  SmallVector<Value> arguments, constants;
  for (Value value : captured)
    (isClonedConstant(value) ? constants : arguments).push_back(value);
  Location loc = nest->getLoc();
  OpBuilder builder(parent->getContext());
  builder.setInsertionPointAfter(parent);
  auto fn = func::FuncOp::create(
      builder, loc, (parent.getSymName() + "_nest").str(),
      builder.getFunctionType(ValueRange(arguments).getTypes(),
                              nest->getResultTypes()));
  symbols.insert(fn); // renames it if the name is taken
  markOutlined(fn);
  Block *entry = fn.addEntryBlock();
  IRMapping mapping;
  mapping.map(arguments, entry->getArguments());
  builder.setInsertionPointToStart(entry);
  for (Value constant : constants)
    mapping.map(constant,
                builder.clone(*constant.getDefiningOp())->getResult(0));
  Operation *body = builder.clone(*nest, mapping);
  func::ReturnOp::create(builder, loc, body->getResults());
  auto [representative, isNew] = distinct.insert(fn);
  builder.setInsertionPoint(nest);
  auto call = func::CallOp::create(builder, loc, *representative, arguments);
  nest->replaceAllUsesWith(call.getResults());
  nest->erase();
  if (!isNew)
    symbols.erase(fn);
  return isNew;
}

struct BregOutlineLoopNestsPass
    : breg::impl::BregOutlineLoopNestsBase<BregOutlineLoopNestsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    DistinctNests distinct;
    for (func::FuncOp fn : functionsAbove(module, minFunctionOps)) {
      SmallVector<Operation *> nests;
      for (Operation &op : fn.getBody().front())
        if (op.getNumRegions() != 0)
          nests.push_back(&op);
      for (Operation *nest : nests) {
        llvm::SetVector<Value> captured = capturedValues(nest);
        if (!canOutline(nest, captured)) {
          ++kept;
          continue;
        }
        distinctFunctions += outline(nest, captured, fn, symbols, distinct);
        ++outlined;
      }
    }
  }
};

} // namespace
