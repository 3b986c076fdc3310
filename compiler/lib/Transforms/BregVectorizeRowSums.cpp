//===- BregVectorizeRowSums.cpp - Sums over contiguous rows as vectors ----===//
//
// A convolution's bias gradient sums dy over each output plane: a generic
// reducing the trailing, contiguous dimensions of [N, C, H, W] (into [N, C],
// or with N summed too into [C], as batch norm's statistics do). Only
// all-parallel generics are vectorized by breg-vectorize-elementwise, so this
// ran as a scalar nest, one dependent add per element (4.4 ms of the
// ConvNet step's 12.6 ms of generated code on CSR). Here each output
// element's rows are summed into one vector accumulator, reduced once, and
// the output elements run on threads when there are many.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"
#include "ElementwiseUtils.h"

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

/// A sum over rows of a contiguous buffer: the trailing reduction loops are
/// a row of `length` elements (`width` lanes per vector); the loops before
/// it (`outer`, in order) either index the output (`indexesOutput`) or are
/// summed over too (a bias gradient [N, C, H, W] → [C]: N summed, C
/// indexing, H·W the row).
struct RowSum {
  SmallVector<int64_t> outer;
  SmallVector<bool> indexesOutput;
  int64_t length = 1, width = 1;

  /// The product of the outer extents that do (or do not) index the output.
  int64_t extent(bool output) const {
    int64_t n = 1;
    for (auto [e, o] : llvm::zip(outer, indexesOutput))
      if (o == output)
        n *= e;
    return n;
  }
};

/// Whether `type` is a static, contiguous (identity layout) buffer of
/// floats of whole bytes.
bool isContiguousFloatBuffer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity() &&
         isa<FloatType>(memref.getElementType()) &&
         memref.getElementTypeBitWidth() % 8 == 0;
}

/// Whether the body is yield(in + out), either way round.
bool addsInputToOutput(linalg::GenericOp op) {
  Block *body = op.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body->front() != add.getOperation())
    return false;
  Value in = body->getArgument(0), out = body->getArgument(1);
  return (add.getLhs() == in && add.getRhs() == out) ||
         (add.getLhs() == out && add.getRhs() == in);
}

/// The row sum `op` is, if it is one: one input read with the identity map,
/// the trailing loops reductions (the row), one output indexed by the
/// parallel loops before them in order, and a body that adds the input to
/// the output.
std::optional<RowSum> rowSumOf(linalg::GenericOp op, int64_t vectorSize) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return std::nullopt;
  OpOperand *input = op.getDpsInputOperand(0);
  OpOperand *output = op.getDpsInitOperand(0);
  if (!isContiguousFloatBuffer(input->get().getType()) ||
      !isContiguousFloatBuffer(output->get().getType()) ||
      input->get() == output->get() ||
      !op.getMatchingIndexingMap(input).isIdentity() || !addsInputToOutput(op))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::is_contained(ranges, 0))
    return std::nullopt;
  auto isReduction = [&](int64_t d) {
    return iterators[d] == utils::IteratorType::reduction;
  };
  int64_t loops = ranges.size(), rowStart = loops;
  while (rowStart > 0 && isReduction(rowStart - 1))
    --rowStart;
  RowSum sum;
  SmallVector<AffineExpr> outputDims;
  for (int64_t d = 0; d < loops; ++d) {
    if (d >= rowStart) {
      sum.length *= ranges[d];
      continue;
    }
    sum.outer.push_back(ranges[d]);
    sum.indexesOutput.push_back(!isReduction(d));
    if (!isReduction(d))
      outputDims.push_back(getAffineDimExpr(d, op.getContext()));
  }
  if (op.getMatchingIndexingMap(output) !=
      AffineMap::get(loops, 0, outputDims, op.getContext()))
    return std::nullopt;
  while (sum.width * 2 <= vectorSize && sum.length % (sum.width * 2) == 0)
    sum.width *= 2;
  if (sum.width < 4)
    return std::nullopt;
  return sum;
}

/// Emits out[o] += Σ rows (o, q) for one output element `o`.
class RowSumEmitter {
public:
  RowSumEmitter(OpBuilder &b, Location loc, const RowSum &sum, Value in,
                Value out)
      : b(b), loc(loc), sum(sum), in(in), out(out) {}

  void emit(Value output) {
    Type element = cast<MemRefType>(in.getType()).getElementType();
    auto vectorType = VectorType::get({sum.width}, element);
    Value zero = arith::ConstantOp::create(
        b, loc, vectorType,
        DenseElementsAttr::get(vectorType, b.getFloatAttr(element, 0.0)));
    int64_t rows = sum.extent(false);
    Value acc = zero;
    if (rows == 1) {
      acc = addRow(rowIndex(output, index(0)), zero);
    } else {
      auto loop = scf::ForOp::create(
          b, loc, index(0), index(rows), index(1), ValueRange{zero},
          [&](OpBuilder &nb, Location l, Value q, ValueRange carried) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            scf::YieldOp::create(
                b, l, ValueRange{addRow(rowIndex(output, q), carried[0])});
          });
      acc = loop.getResult(0);
    }
    // The lanes in any order (as any vectorized sum, not the scalar loop's).
    Value total = vector::ReductionOp::create(
        b, loc, vector::CombiningKind::ADD, acc, arith::FastMathFlags::reassoc);
    // (A 0-D output, a sum of everything, has no index.)
    SmallVector<Value> at;
    if (cast<MemRefType>(out.getType()).getRank() == 1)
      at.push_back(output);
    Value old = memref::LoadOp::create(b, loc, out, at);
    memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, old, total),
                            out, at);
  }

private:
  Value index(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  }

  /// The row of output element `output` and summed-over index `q`: their
  /// digits (row-major over the outer loops of each kind) placed back in
  /// the outer loops' order.
  Value rowIndex(Value output, Value q) {
    SmallVector<Value> digits(sum.outer.size());
    Value rest[2] = {q, output};
    for (int64_t d = sum.outer.size() - 1; d >= 0; --d) {
      Value &x = rest[sum.indexesOutput[d]];
      // The outermost loop of its kind takes what is left.
      bool outermost = llvm::none_of(
          ArrayRef<bool>(sum.indexesOutput).take_front(d),
          [&](bool o) { return o == sum.indexesOutput[d]; });
      if (outermost) {
        digits[d] = x;
        continue;
      }
      Value extent = index(sum.outer[d]);
      digits[d] = arith::RemUIOp::create(b, loc, x, extent);
      x = arith::DivUIOp::create(b, loc, x, extent);
    }
    Value row = digits.empty() ? index(0) : digits[0];
    for (size_t d = 1; d < digits.size(); ++d)
      row = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, row, index(sum.outer[d])),
          digits[d]);
    return row;
  }

  /// `acc` plus the row `row`, a vector at a time.
  Value addRow(Value row, Value acc) {
    auto vectorType = cast<VectorType>(acc.getType());
    Value start = arith::MulIOp::create(b, loc, row, index(sum.length));
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(sum.length), index(sum.width), ValueRange{acc},
        [&](OpBuilder &nb, Location l, Value k, ValueRange carried) {
          Value at = arith::AddIOp::create(nb, l, start, k);
          Value v =
              vector::LoadOp::create(nb, l, vectorType, in, ValueRange{at});
          scf::YieldOp::create(
              nb, l, ValueRange{arith::AddFOp::create(nb, l, carried[0], v)});
        });
    return loop.getResult(0);
  }

  OpBuilder &b;
  Location loc;
  const RowSum &sum;
  Value in, out;
};

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
      Value in =
          flattenContiguous(rewriter, loc, op.getDpsInputOperand(0)->get());
      Value out =
          flattenContiguous(rewriter, loc, op.getDpsInitOperand(0)->get());
      int64_t outputs = sum.extent(true);
      RowSumEmitter emitter(rewriter, loc, sum, in, out);
      // Output elements are independent: each sums its own rows.
      bool parallel = parallelThreshold > 0 && outputs > 1 &&
                      outputs * sum.extent(false) * sum.length >=
                          parallelThreshold;
      if (parallel) {
        auto forall = scf::ForallOp::create(
            rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(outputs)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)}, ValueRange{},
            std::nullopt);
        rewriter.setInsertionPointToStart(forall.getBody());
        emitter.emit(forall.getInductionVars()[0]);
      } else {
        Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
        Value count = arith::ConstantIndexOp::create(rewriter, loc, outputs);
        Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
        auto loop = scf::ForOp::create(rewriter, loc, zero, count, one);
        rewriter.setInsertionPointToStart(loop.getBody());
        emitter.emit(loop.getInductionVar());
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
