//===- CompressRowsToLoops.cpp - breg.compress_rows -> scf loops ----------===//
//
// A compaction is sequential (each entry's slot is the count of non-zeros
// before it), which no linalg op expresses. Two forms:
//
// - Vector (vector length V > 0, the CPU's): on buffers. Each row is read V
//   columns at a time; the non-zero lanes of the values and of their column
//   indices (iota + column) are packed to the front of a register by LLVM's
//   vector.compress (vcompressps on AVX-512, expanded by LLVM elsewhere) and
//   stored whole at slot `count`, which grows by the popcount of the mask.
//   The last cols % V columns are one masked chunk (no scalar tail) whose
//   packed lanes are stored under a mask. The matrix is read through a
//   read-only buffer; the outputs stay tensors (vector.transfer_write and
//   tensor.insert carried by the loops), so that one-shot bufferization
//   writes them in place into the op's `into` operands when it can — the
//   training step's donated CSR buffers — instead of into new buffers that
//   would then be copied at their full capacity O·I.
// - Scalar (V = 0: the GPU pipeline, where a host loop of vector code has
//   no business): two scf.for loops on tensors, rows then columns, carrying
//   the three outputs and the count. Each element is written to slot
//   `count` before `count` grows by (x != 0): no branch in the inner loop,
//   and the capacity O·I that the verifier demands makes every slot in
//   bounds. One-shot bufferization turns the tensor.insert chains into
//   stores in place.
//
// Both start from the `into` operands when the op has them (their contents
// are never read), from tensor.empty otherwise.
//
// Both count x as non-zero when (x != 0) unordered: NaN is stored, -0.0 is
// not. Slots past the row's last non-zero are unspecified in both.
//
//===----------------------------------------------------------------------===//

#include "CompressRowsVector.h"
#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::breg;

Value mlir::breg::toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

SmallVector<Value> mlir::breg::compressRowsDestinations(OpBuilder &b,
                                                        CompressRowsOp op) {
  if (!op.getInits().empty())
    return llvm::to_vector(op.getInits());
  SmallVector<Value> empty;
  for (Value result : op.getResults()) {
    auto type = llvm::cast<RankedTensorType>(result.getType());
    empty.push_back(tensor::EmptyOp::create(b, op.getLoc(), type.getShape(),
                                            type.getElementType()));
  }
  return empty;
}

namespace {

/// The inner loop over one row's columns: writes every element to slot
/// `count` (column, value) and counts the non-zeros; yields the updated
/// coordinates, values and count.
scf::ForOp compactRow(OpBuilder &b, Location loc, Value matrix, Value row,
                      Value cols, ValueRange carried) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  return scf::ForOp::create(
      b, loc, zero, cols, one, carried,
      [&](OpBuilder &nb, Location l, Value col, ValueRange args) {
        Value crd = args[0], val = args[1], count = args[2];
        Value x =
            tensor::ExtractOp::create(nb, l, matrix, ValueRange{row, col});
        crd = tensor::InsertOp::create(nb, l, toI32(nb, l, col), crd, count);
        val = tensor::InsertOp::create(nb, l, x, val, count);
        // Unordered: NaN counts as a non-zero and stays visible.
        Value zeroF = arith::ConstantFloatOp::create(nb, l, nb.getF32Type(),
                                                     APFloat(0.0f));
        Value nonZero =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNE, x, zeroF);
        Value step = arith::SelectOp::create(
            nb, l, nonZero, arith::ConstantIndexOp::create(nb, l, 1),
            arith::ConstantIndexOp::create(nb, l, 0));
        Value next = arith::AddIOp::create(nb, l, count, step);
        scf::YieldOp::create(nb, l, ValueRange{crd, val, next});
      });
}

struct CompressRowsLowering : OpRewritePattern<CompressRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CompressRowsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto matrixType = llvm::cast<RankedTensorType>(op.getMatrix().getType());
    SmallVector<Value> outputs = compressRowsDestinations(rewriter, op);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value rows =
        arith::ConstantIndexOp::create(rewriter, loc, matrixType.getDimSize(0));
    Value cols =
        arith::ConstantIndexOp::create(rewriter, loc, matrixType.getDimSize(1));
    Value positions = tensor::InsertOp::create(
        rewriter, loc, toI32(rewriter, loc, zero), outputs[0], zero);
    SmallVector<Value> init{positions, outputs[1], outputs[2], zero};
    auto rowLoop = scf::ForOp::create(
        rewriter, loc, zero, rows, one, init,
        [&](OpBuilder &b, Location l, Value row, ValueRange args) {
          scf::ForOp inner =
              compactRow(b, l, op.getMatrix(), row, cols, args.drop_front());
          Value count = inner.getResult(2);
          Value slot = arith::AddIOp::create(
              b, l, row, arith::ConstantIndexOp::create(b, l, 1));
          Value pos =
              tensor::InsertOp::create(b, l, toI32(b, l, count), args[0], slot);
          scf::YieldOp::create(
              b, l,
              ValueRange{pos, inner.getResult(0), inner.getResult(1), count});
        });
    rewriter.replaceOp(op, rowLoop.getResults().take_front(3));
    return success();
  }
};

/// The vector form of a matrix's compaction: the matrix as a read-only
/// buffer, read V columns at a time and packed by `packer`. The outputs are
/// tensors carried through the loops: {coordinates, values, count} per
/// chunk.
struct VectorCompaction {
  Value matrix;
  VectorPacker packer;
  int64_t vectorLength;

  /// positions[0] = 0, then per row its chunks of V columns (the last one
  /// masked when V does not divide cols) and positions[row + 1] = count.
  /// Returns the positions, coordinates and values written into `outputs`.
  SmallVector<Value> compactRows(OpBuilder &b, Location loc, ValueRange outputs,
                                 int64_t rows, int64_t cols) const {
    auto index = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ib, loc, v);
    };
    Value zero = index(b, 0);
    Value positions = tensor::InsertOp::create(b, loc, toI32(b, loc, zero),
                                               outputs[0], ValueRange{zero});
    int64_t fullCols = cols - cols % vectorLength;
    auto rowLoop = scf::ForOp::create(
        b, loc, zero, index(b, rows), index(b, 1),
        ValueRange{positions, outputs[1], outputs[2], zero},
        [&](OpBuilder &rb, Location l, Value row, ValueRange args) {
          auto colLoop = scf::ForOp::create(
              rb, l, index(rb, 0), index(rb, fullCols), index(rb, vectorLength),
              args.drop_front(),
              [&](OpBuilder &cb, Location cl, Value col, ValueRange carried) {
                scf::YieldOp::create(
                    cb, cl,
                    compactChunk(cb, cl, row, col, carried, vectorLength));
              });
          SmallVector<Value> carried(colLoop.getResults());
          if (fullCols < cols)
            carried = compactChunk(rb, l, row, index(rb, fullCols), carried,
                                   cols - fullCols);
          Value slot = arith::AddIOp::create(rb, l, row, index(rb, 1));
          Value pos = tensor::InsertOp::create(rb, l, toI32(rb, l, carried[2]),
                                               args[0], ValueRange{slot});
          scf::YieldOp::create(
              rb, l, ValueRange{pos, carried[0], carried[1], carried[2]});
        });
    return SmallVector<Value>(rowLoop.getResults().take_front(3));
  }

  /// Packs the non-zeros of row `row`, columns [col, col + V) (only the
  /// first `valid` of them when valid < V, a static tail), to slot `count`
  /// of `carried` = {coordinates, values, count}; returns them after it.
  SmallVector<Value> compactChunk(OpBuilder &b, Location loc, Value row,
                                  Value col, ValueRange carried,
                                  int64_t valid) const {
    auto vf32 = VectorType::get({vectorLength}, b.getF32Type());
    auto vi1 = VectorType::get({vectorLength}, b.getI1Type());
    Value zeros = arith::ConstantOp::create(b, loc, vf32,
                                            DenseElementsAttr::get(vf32, 0.0f));
    Value x;
    Value inRow; // the tail's lanes inside the row
    if (valid == vectorLength) {
      x = vector::LoadOp::create(b, loc, vf32, matrix, ValueRange{row, col});
    } else {
      // The lanes past the row's end read nothing.
      inRow = vector::ConstantMaskOp::create(b, loc, vi1, valid);
      x = vector::MaskedLoadOp::create(b, loc, vf32, matrix,
                                       ValueRange{row, col}, inRow, zeros);
    }
    // In bounds: count <= row·cols + col (at most one entry per element
    // before this chunk) and col + V <= cols for a full chunk, so its V
    // slots lie within the capacity rows·cols.
    return packer.pack(b, loc, x, col, carried, inRow);
  }
};

/// An always-inlined llvm.func returning LLVM's vector.compress of its
/// vector<V x element> and mask: vcompressps/vpcompressd on a register with
/// AVX-512, a generic expansion elsewhere. (Not vector.compressstore: its
/// memory form is microcoded on AMD Zen 4, 3x slower here than the scalar
/// loops. A function rather than the llvm.call_intrinsic inline: buffer
/// deallocation refuses an op with unknown memory effects, and analyses
/// calls only through their callee.)
LLVM::LLVMFuncOp getOrCreateCompressHelper(RewriterBase &rewriter,
                                           ModuleOp module, Type element,
                                           int64_t vectorLength) {
  std::string name =
      llvm::formatv("breg_vector_compress_v{0}{1}", vectorLength,
                    llvm::isa<FloatType>(element) ? "f32" : "i32");
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(module.getBody());
  Location loc = module.getLoc();
  auto vectorType = VectorType::get({vectorLength}, element);
  auto maskType = VectorType::get({vectorLength}, rewriter.getI1Type());
  auto helper = LLVM::LLVMFuncOp::create(
      rewriter, loc, name,
      LLVM::LLVMFunctionType::get(vectorType, {vectorType, maskType}),
      LLVM::Linkage::Internal);
  helper.setAlwaysInline(true);
  Block *body = helper.addEntryBlock(rewriter);
  rewriter.setInsertionPointToStart(body);
  Value vector = body->getArgument(0);
  Value packed =
      LLVM::CallIntrinsicOp::create(
          rewriter, loc, vectorType,
          rewriter.getStringAttr("llvm.experimental.vector.compress"),
          ValueRange{vector, body->getArgument(1), vector})
          .getResult(0);
  LLVM::ReturnOp::create(rewriter, loc, packed);
  return helper;
}

} // namespace

VectorPacker VectorPacker::create(RewriterBase &rewriter, Location loc,
                                  ModuleOp module, int64_t vectorLength) {
  VectorPacker packer;
  packer.vectorLength = vectorLength;
  packer.compressF32 = getOrCreateCompressHelper(
      rewriter, module, rewriter.getF32Type(), vectorLength);
  packer.compressI32 = getOrCreateCompressHelper(
      rewriter, module, rewriter.getI32Type(), vectorLength);
  SmallVector<int32_t> lanes(vectorLength);
  for (int64_t i = 0; i < vectorLength; ++i)
    lanes[i] = static_cast<int32_t>(i);
  auto laneType = VectorType::get({vectorLength}, rewriter.getI32Type());
  packer.laneIndices = arith::ConstantOp::create(
      rewriter, loc, laneType,
      DenseElementsAttr::get(laneType, ArrayRef<int32_t>(lanes)));
  return packer;
}

/// `vector` written at `at` of the 1-D tensor `dest` (under `mask` when
/// there is one): the tensor after it.
static Value storeAt(OpBuilder &b, Location loc, Value vector, Value dest,
                     Value at, Value mask) {
  AffineMap identity = AffineMap::getMinorIdentityMap(1, 1, b.getContext());
  return vector::TransferWriteOp::create(b, loc, dest.getType(), vector, dest,
                                         ValueRange{at}, identity, mask,
                                         b.getBoolArrayAttr({true}))
      .getResult();
}

SmallVector<Value> VectorPacker::pack(OpBuilder &b, Location loc, Value x,
                                      Value col, ValueRange carried,
                                      Value inRow) const {
  Value coordinates = carried[0], values = carried[1], count = carried[2];
  auto vf32 = VectorType::get({vectorLength}, b.getF32Type());
  Value zeros = arith::ConstantOp::create(b, loc, vf32,
                                          DenseElementsAttr::get(vf32, 0.0f));
  Value nonZero =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x, zeros);
  if (inRow) // lanes past the row's end count as zero
    nonZero = arith::AndIOp::create(b, loc, inRow, nonZero);
  Value base = vector::BroadcastOp::create(
      b, loc, llvm::cast<VectorType>(laneIndices.getType()),
      toI32(b, loc, col));
  Value columns = arith::AddIOp::create(b, loc, base, laneIndices);
  Value packedValues = compress(b, loc, x, nonZero);
  Value packedColumns = compress(b, loc, columns, nonZero);
  Value added = popCount(b, loc, nonZero);
  // A whole vector at `count` (the caller bounds count + V by the capacity);
  // the lanes past the non-zeros are overwritten by the next ones or lie
  // past the end. The tail may end at the capacity: only its packed lanes
  // are stored.
  auto vi1 = VectorType::get({vectorLength}, b.getI1Type());
  Value stored =
      inRow ? vector::CreateMaskOp::create(b, loc, vi1, added).getResult()
            : Value();
  values = storeAt(b, loc, packedValues, values, count, stored);
  coordinates = storeAt(b, loc, packedColumns, coordinates, count, stored);
  return {coordinates, values, arith::AddIOp::create(b, loc, count, added)};
}

/// The lanes of `vector` selected by `mask`, packed to the front (the
/// rest unspecified).
Value VectorPacker::compress(OpBuilder &b, Location loc, Value vector,
                             Value mask) const {
  LLVM::LLVMFuncOp helper =
      llvm::isa<FloatType>(
          llvm::cast<VectorType>(vector.getType()).getElementType())
          ? compressF32
          : compressI32;
  return LLVM::CallOp::create(b, loc, helper, ValueRange{vector, mask})
      .getResult();
}

/// The number of set lanes of `mask`, as an index: the mask as one
/// integer (kmov on AVX-512) and its ctpop.
Value VectorPacker::popCount(OpBuilder &b, Location loc, Value mask) const {
  auto bits = b.getIntegerType(vectorLength);
  Value word =
      vector::BitCastOp::create(b, loc, VectorType::get({1}, bits), mask);
  Value scalar = vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
  Value ones = math::CtPopOp::create(b, loc, scalar);
  Value wide = arith::ExtUIOp::create(b, loc, b.getI64Type(), ones);
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), wide);
}

namespace {

struct CompressRowsVectorLowering : OpRewritePattern<CompressRowsOp> {
  CompressRowsVectorLowering(MLIRContext *context, int64_t vectorLength)
      : OpRewritePattern(context, /*benefit=*/2), vectorLength(vectorLength) {}

  LogicalResult matchAndRewrite(CompressRowsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto matrixType = llvm::cast<RankedTensorType>(op.getMatrix().getType());
    int64_t rows = matrixType.getDimSize(0), cols = matrixType.getDimSize(1);
    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return rewriter.notifyMatchFailure(op, "not inside a module");
    VectorCompaction compaction;
    compaction.vectorLength = vectorLength;
    compaction.packer =
        VectorPacker::create(rewriter, loc, module, vectorLength);
    compaction.matrix = bufferization::ToBufferOp::create(
        rewriter, loc,
        MemRefType::get(matrixType.getShape(), matrixType.getElementType()),
        op.getMatrix(), /*read_only=*/true);
    SmallVector<Value> outputs = compressRowsDestinations(rewriter, op);
    rewriter.replaceOp(
        op, compaction.compactRows(rewriter, loc, outputs, rows, cols));
    return success();
  }

private:
  int64_t vectorLength;
};

} // namespace

void mlir::breg::populateBregCompressRowsPatterns(RewritePatternSet &patterns,
                                                  int64_t vectorLength) {
  if (vectorLength > 0)
    patterns.add<CompressRowsVectorLowering>(patterns.getContext(),
                                             vectorLength);
  else
    patterns.add<CompressRowsLowering>(patterns.getContext());
}
