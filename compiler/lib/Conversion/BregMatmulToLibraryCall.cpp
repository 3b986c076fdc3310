//===- BregMatmulToLibraryCall.cpp - linalg.matmul -> GEMM library call ---===//
//
// GEMM goes to a tuned library, everything else is generated and fused (the
// split XLA and TorchInductor make). This pass runs after bufferization and
// rewrites each linalg.matmul on static, contiguous f32 buffers into
//
//   func.call @bregman_cpu_sgemm(transA, transB, M, N, K, beta, A, B, C)
//
// with the buffers passed as aligned base addresses (index). The runtime
// (runtime/, no MLIR inside) implements the symbol.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGMATMULTOLIBRARYCALL
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;


/// A buffer the library can read as a dense row-major matrix.
static bool isContiguousF32Matrix(Value v) {
  auto type = llvm::dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == 2 && type.hasStaticShape() &&
         type.getElementType().isF32() && type.getLayout().isIdentity();
}

/// Reads whether an operand map (over m, n, k) is `plain` or transposed.
static std::optional<bool> isTransposed(AffineMap map, unsigned row,
                                        unsigned col) {
  auto ctx = map.getContext();
  if (map == AffineMap::get(3, 0, {getAffineDimExpr(row, ctx),
                                   getAffineDimExpr(col, ctx)}, ctx))
    return false;
  if (map == AffineMap::get(3, 0, {getAffineDimExpr(col, ctx),
                                   getAffineDimExpr(row, ctx)}, ctx))
    return true;
  return std::nullopt;
}

/// The zero fill of `out` right before `op`, if any: it becomes beta = 0.
static linalg::FillOp precedingZeroFill(Operation *op, Value out) {
  auto fill = llvm::dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || fill.getOutputs().front() != out)
    return nullptr;
  auto cst = fill.getInputs().front().getDefiningOp<arith::ConstantOp>();
  auto value = cst ? llvm::dyn_cast<FloatAttr>(cst.getValue()) : nullptr;
  return value && value.getValue().isZero() ? fill : nullptr;
}

/// The declaration of the GEMM symbol in the module enclosing `op` (nested
/// modules get their own), created on first use; `batched`: with the batch
/// size after the transposes. Fails with a diagnostic if the symbol exists
/// with another type.
static func::FuncOp getOrDeclareSgemm(Operation *op, StringRef sgemmSymbol,
                                      OpBuilder &builder, bool batched = false) {
  auto module = op->getParentOfType<ModuleOp>();
  Type i32 = builder.getI32Type(), idx = builder.getIndexType();
  SmallVector<Type> operands{i32, i32, idx, idx, idx, builder.getF32Type(),
                             idx, idx, idx};
  if (batched)
    operands.insert(operands.begin() + 2, idx);
  FunctionType type = builder.getFunctionType(operands, {});
  if (auto existing = module.lookupSymbol<func::FuncOp>(sgemmSymbol)) {
    if (existing.getFunctionType() != type) {
      existing.emitError("'") << sgemmSymbol << "' is declared as "
                              << existing.getFunctionType()
                              << " but the GEMM library call needs " << type;
      return nullptr;
    }
    return existing;
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto callee = func::FuncOp::create(builder, module.getLoc(), sgemmSymbol, type);
  callee.setPrivate();
  return callee;
}

/// A buffer the library can read as dense row-major matrices, one per
/// index of the leading (batch) axis.
static bool isContiguousF32Batch(Value v) {
  auto type = llvm::dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == 3 && type.hasStaticShape() &&
         type.getElementType().isF32() && type.getLayout().isIdentity();
}

/// Like isTransposed for batch_matmul maps over (b, m, n, k): the batch
/// first, then the matrix `plain` or transposed.
static std::optional<bool> isBatchTransposed(AffineMap map, unsigned row,
                                             unsigned col) {
  auto ctx = map.getContext();
  auto dims = [&](unsigned r, unsigned c) {
    return AffineMap::get(4, 0, {getAffineDimExpr(0, ctx),
                                 getAffineDimExpr(r, ctx),
                                 getAffineDimExpr(c, ctx)}, ctx);
  };
  if (map == dims(row, col))
    return false;
  if (map == dims(col, row))
    return true;
  return std::nullopt;
}

/// The GEMM call's operands that stay the same for every batch.
struct GemmCall {
  func::FuncOp callee;
  bool transA, transB;
  int64_t m, n, k;
  float beta;
};

/// Emits `call(transA, transB, M, N, K, beta, a, b, c)` at the builder, or
/// with `batch` > 0 `call(transA, transB, batch, M, N, K, beta, a, b, c)`.
static void emitGemmCall(OpBuilder &builder, Location loc, const GemmCall &g,
                         Value a, Value b, Value c, int64_t batch = 0) {
  auto i32Const = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(builder, loc, v, 32);
  };
  auto idxConst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, v);
  };
  Value betaValue =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(g.beta));
  SmallVector<Value> operands{i32Const(g.transA), i32Const(g.transB),
                              idxConst(g.m),      idxConst(g.n),
                              idxConst(g.k),      betaValue,
                              a,                  b,
                              c};
  if (batch > 0)
    operands.insert(operands.begin() + 2, idxConst(batch));
  func::CallOp::create(builder, loc, g.callee, operands);
}

/// linalg.batch_matmul on static contiguous f32 buffers -> one call of the
/// batched GEMM symbol, or (`batchedSymbol` empty) a loop over the batch
/// calling the GEMM symbol on each matrix (base address + batch index ·
/// matrix bytes). Returns failure only for a symbol clash.
static LogicalResult batchToLibraryCalls(linalg::BatchMatmulOp op,
                                         StringRef symbol,
                                         StringRef batchedSymbol,
                                         OpBuilder &builder) {
  if (!op.hasPureBufferSemantics())
    return success();
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
  Value c = op.getDpsInits()[0];
  if (!isContiguousF32Batch(a) || !isContiguousF32Batch(b) ||
      !isContiguousF32Batch(c))
    return success();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Dims: d0 = batch, d1 = m, d2 = n, d3 = k.
  std::optional<bool> transA = isBatchTransposed(maps[0], 1, 3);
  std::optional<bool> transB = isBatchTransposed(maps[1], 3, 2);
  std::optional<bool> transC = isBatchTransposed(maps[2], 1, 2);
  if (!transA || !transB || !transC || *transC)
    return success();
  auto cType = llvm::cast<MemRefType>(c.getType());
  auto aType = llvm::cast<MemRefType>(a.getType());
  bool batched = !batchedSymbol.empty();
  GemmCall g{getOrDeclareSgemm(op, batched ? batchedSymbol : symbol, builder,
                               batched),
             *transA, *transB, cType.getDimSize(1), cType.getDimSize(2),
             aType.getDimSize(*transA ? 1 : 2), 1.0f};
  if (!g.callee)
    return failure();
  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  if (linalg::FillOp fill = precedingZeroFill(op, c)) {
    fill.erase();
    g.beta = 0.0f;
  }
  auto idxConst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, v);
  };
  int64_t batch = cType.getDimSize(0);
  if (batched) {
    auto base = [&](Value buffer) -> Value {
      return memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
    };
    emitGemmCall(builder, loc, g, base(a), base(b), base(c), batch);
    op.erase();
    return success();
  }
  Value bases[3], strides[3];
  Value buffers[3] = {a, b, c};
  for (int i = 0; i < 3; ++i) {
    auto type = llvm::cast<MemRefType>(buffers[i].getType());
    bases[i] = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc,
                                                              buffers[i]);
    strides[i] = idxConst(type.getDimSize(1) * type.getDimSize(2) * 4);
  }
  auto loop = scf::ForOp::create(builder, loc, idxConst(0), idxConst(batch),
                                 idxConst(1));
  builder.setInsertionPointToStart(loop.getBody());
  Value at[3];
  for (int i = 0; i < 3; ++i)
    at[i] = arith::AddIOp::create(
        builder, loc, bases[i],
        arith::MulIOp::create(builder, loc, loop.getInductionVar(), strides[i]));
  emitGemmCall(builder, loc, g, at[0], at[1], at[2]);
  op.erase();
  return success();
}

namespace {
struct BregMatmulToLibraryCallPass
    : breg::impl::BregMatmulToLibraryCallBase<BregMatmulToLibraryCallPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder builder(module.getContext());
    SmallVector<linalg::MatmulOp> matmuls;
    module.walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
    for (linalg::MatmulOp op : matmuls) {
      if (!op.hasPureBufferSemantics())
        continue;
      Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
      Value c = op.getDpsInits()[0];
      if (!isContiguousF32Matrix(a) || !isContiguousF32Matrix(b) ||
          !isContiguousF32Matrix(c))
        continue;
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      // Dims: d0 = m, d1 = n, d2 = k.
      std::optional<bool> transA = isTransposed(maps[0], 0, 2);
      std::optional<bool> transB = isTransposed(maps[1], 2, 1);
      std::optional<bool> transC = isTransposed(maps[2], 0, 1);
      if (!transA || !transB || !transC || *transC)
        continue;
      auto cType = llvm::cast<MemRefType>(c.getType());
      auto aType = llvm::cast<MemRefType>(a.getType());
      int64_t m = cType.getDimSize(0), n = cType.getDimSize(1);
      int64_t k = aType.getDimSize(*transA ? 0 : 1);

      func::FuncOp callee = getOrDeclareSgemm(op, symbol, builder);
      if (!callee)
        return signalPassFailure();

      builder.setInsertionPoint(op);
      Location loc = op.getLoc();
      float beta = 1.0f;
      if (linalg::FillOp fill = precedingZeroFill(op, c)) {
        fill.erase();
        beta = 0.0f;
      }
      auto i32Const = [&](int64_t v) -> Value {
        return arith::ConstantIntOp::create(builder, loc, v, 32);
      };
      auto idxConst = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(builder, loc, v);
      };
      auto address = [&](Value buffer) -> Value {
        return memref::ExtractAlignedPointerAsIndexOp::create(builder, loc,
                                                              buffer);
      };
      Value betaValue = arith::ConstantOp::create(builder, loc,
                                                  builder.getF32FloatAttr(beta));
      func::CallOp::create(builder, loc, callee,
                           ValueRange{i32Const(*transA), i32Const(*transB),
                                      idxConst(m), idxConst(n), idxConst(k),
                                      betaValue, address(a), address(b),
                                      address(c)});
      op.erase();
    }
    SmallVector<linalg::BatchMatmulOp> batched;
    module.walk([&](linalg::BatchMatmulOp op) { batched.push_back(op); });
    for (linalg::BatchMatmulOp op : batched)
      if (failed(batchToLibraryCalls(op, symbol, batchedSymbol, builder)))
        return signalPassFailure();
  }
};
} // namespace
