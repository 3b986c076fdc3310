//===- BregVectorizeRowSums.cpp - Sums over contiguous rows as vectors ----===//
//
// A convolution's bias gradient sums dy over each output plane: a generic
// reducing the trailing, contiguous dimensions of [N, C, H, W] into [N, C].
// breg-vectorize-elementwise takes only all-parallel generics, so it ran as
// a scalar nest, one dependent add per element (4.4 ms of the ConvNet step's
// 12.6 ms of generated code on CSR). Here each row is summed into a vector
// accumulator, reduced once at the end of the row, and the rows run on
// threads when there are many.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGVECTORIZEROWSUMS
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// A sum of each row of a contiguous buffer into one element of another:
/// `rows` outputs, `length` inputs each, `width` lanes per vector.
struct RowSum {
  int64_t rows = 1, length = 1, width = 1;
};

/// Whether `type` is a static, contiguous (identity layout) float buffer.
bool isContiguousFloatBuffer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity() &&
         isa<FloatType>(memref.getElementType());
}

/// The row sum `op` is, if it is one: one input read with the identity map,
/// one output read and written through the leading (parallel) loops, the
/// reduction loops trailing, and a body that adds the input to the output.
std::optional<RowSum> rowSumOf(linalg::GenericOp op, int64_t vectorSize) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return std::nullopt;
  OpOperand *input = op.getDpsInputOperand(0);
  OpOperand *output = op.getDpsInitOperand(0);
  if (!isContiguousFloatBuffer(input->get().getType()) ||
      !isContiguousFloatBuffer(output->get().getType()) ||
      input->get() == output->get())
    return std::nullopt;
  unsigned loops = op.getNumLoops(), parallel = op.getNumParallelLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < loops; ++d)
    if ((d < parallel) != (iterators[d] == utils::IteratorType::parallel))
      return std::nullopt;
  AffineMap outputMap = op.getMatchingIndexingMap(output);
  if (!op.getMatchingIndexingMap(input).isIdentity() ||
      outputMap != AffineMap::getMultiDimIdentityMap(loops, op.getContext())
                       .getMajorSubMap(parallel))
    return std::nullopt;
  // The body: yield (in + out), either way round.
  Block *body = op.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body->front() != add.getOperation())
    return std::nullopt;
  Value in = body->getArgument(0), out = body->getArgument(1);
  if (!((add.getLhs() == in && add.getRhs() == out) ||
        (add.getLhs() == out && add.getRhs() == in)))
    return std::nullopt;
  RowSum sum;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned d = 0; d < loops; ++d)
    (d < parallel ? sum.rows : sum.length) *= ranges[d];
  while (sum.width * 2 <= vectorSize && sum.length % (sum.width * 2) == 0)
    sum.width *= 2;
  if (sum.width < 4)
    return std::nullopt;
  return sum;
}

/// A flat view of a contiguous buffer.
Value flatten(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1)
    return buffer;
  ReassociationIndices all;
  for (int64_t r = 0; r < type.getRank(); ++r)
    all.push_back(r);
  return memref::CollapseShapeOp::create(
      b, loc, buffer, SmallVector<ReassociationIndices>{all});
}

/// out[row] += the sum of in[row · length, (row + 1) · length).
void emitRow(OpBuilder &b, Location loc, const RowSum &sum, Value in,
             Value out, Value row) {
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  Type element = cast<MemRefType>(in.getType()).getElementType();
  auto vectorType = VectorType::get({sum.width}, element);
  Value start = arith::MulIOp::create(b, loc, row, index(sum.length));
  Value zero = arith::ConstantOp::create(
      b, loc, vectorType,
      DenseElementsAttr::get(vectorType, b.getFloatAttr(element, 0.0)));
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(sum.length), index(sum.width), ValueRange{zero},
      [&](OpBuilder &nb, Location l, Value k, ValueRange acc) {
        Value at = arith::AddIOp::create(nb, l, start, k);
        Value v = vector::LoadOp::create(nb, l, vectorType, in, ValueRange{at});
        scf::YieldOp::create(
            nb, l, ValueRange{arith::AddFOp::create(nb, l, acc[0], v)});
      });
  // The row's lanes in any order (a sum in another order than the scalar
  // loop's, as any vectorized sum).
  Value total = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::ADD, loop.getResult(0),
      arith::FastMathFlags::reassoc);
  Value old = memref::LoadOp::create(b, loc, out, ValueRange{row});
  memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, old, total),
                          out, ValueRange{row});
}

struct BregVectorizeRowSumsPass
    : breg::impl::BregVectorizeRowSumsBase<BregVectorizeRowSumsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, RowSum>> sums;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<RowSum> sum = rowSumOf(op, vectorSize))
        sums.push_back({op, *sum});
    });
    IRRewriter rewriter(&getContext());
    for (auto &[op, sum] : sums) {
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      Value in = flatten(rewriter, loc, op.getDpsInputOperand(0)->get());
      Value out = flatten(rewriter, loc, op.getDpsInitOperand(0)->get());
      bool parallel = parallelThreshold > 0 && sum.rows > 1 &&
                      sum.rows * sum.length >= parallelThreshold;
      if (parallel) {
        // Rows are independent: each writes its own output element.
        auto forall = scf::ForallOp::create(
            rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(sum.rows)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)}, ValueRange{},
            std::nullopt);
        rewriter.setInsertionPointToStart(forall.getBody());
        emitRow(rewriter, loc, sum, in, out, forall.getInductionVars()[0]);
      } else {
        Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
        Value rows = arith::ConstantIndexOp::create(rewriter, loc, sum.rows);
        Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
        scf::ForOp::create(rewriter, loc, zero, rows, one, ValueRange{},
                           [&](OpBuilder &nb, Location l, Value row,
                               ValueRange) {
                             emitRow(nb, l, sum, in, out, row);
                             scf::YieldOp::create(nb, l);
                           });
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
