//===- CompressRowsToLoops.cpp - breg.compress_rows -> scf loops ----------===//
//
// A compaction is sequential (each entry's slot is the count of non-zeros
// before it), which no linalg op expresses: the op becomes two scf.for loops
// on tensors, rows then columns, carrying the three outputs and the count.
// Each element is written to slot `count` before `count` grows by
// (x != 0): no branch in the inner loop, and the capacity O·I that the
// verifier demands makes every slot in bounds. One-shot bufferization turns
// the tensor.insert chains into stores in place.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::breg;

namespace {

/// An index as the CSR's i32.
Value toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

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
        Value x = tensor::ExtractOp::create(nb, l, matrix, ValueRange{row, col});
        crd = tensor::InsertOp::create(nb, l, toI32(nb, l, col), crd, count);
        val = tensor::InsertOp::create(nb, l, x, val, count);
        // Unordered: NaN counts as a non-zero and stays visible.
        Value zeroF = arith::ConstantFloatOp::create(
            nb, l, nb.getF32Type(), APFloat(0.0f));
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
    auto empty = [&](Value result) {
      auto type = llvm::cast<RankedTensorType>(result.getType());
      return tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                     type.getElementType())
          .getResult();
    };
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value rows =
        arith::ConstantIndexOp::create(rewriter, loc, matrixType.getDimSize(0));
    Value cols =
        arith::ConstantIndexOp::create(rewriter, loc, matrixType.getDimSize(1));
    Value positions = tensor::InsertOp::create(
        rewriter, loc, toI32(rewriter, loc, zero), empty(op.getPositions()),
        zero);
    SmallVector<Value> init{positions, empty(op.getCoordinates()),
                            empty(op.getValues()), zero};
    auto rowLoop = scf::ForOp::create(
        rewriter, loc, zero, rows, one, init,
        [&](OpBuilder &b, Location l, Value row, ValueRange args) {
          scf::ForOp inner = compactRow(b, l, op.getMatrix(), row, cols,
                                        args.drop_front());
          Value count = inner.getResult(2);
          Value slot = arith::AddIOp::create(
              b, l, row, arith::ConstantIndexOp::create(b, l, 1));
          Value pos = tensor::InsertOp::create(b, l, toI32(b, l, count),
                                               args[0], slot);
          scf::YieldOp::create(b, l,
                               ValueRange{pos, inner.getResult(0),
                                          inner.getResult(1), count});
        });
    rewriter.replaceOp(op, rowLoop.getResults().take_front(3));
    return success();
  }
};

} // namespace

void mlir::breg::populateBregCompressRowsPatterns(RewritePatternSet &patterns) {
  patterns.add<CompressRowsLowering>(patterns.getContext());
}
