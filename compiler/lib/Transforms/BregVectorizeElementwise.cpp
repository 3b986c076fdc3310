//===- BregVectorizeElementwise.cpp - Vectorize elementwise generics ------===//
//
// The fused Bregman updates and the elementwise chains of a training step are
// memory-bound loops over whole parameters. After bufferization they are
// `linalg.generic`s on contiguous buffers; this pass makes each one a single
// loop of full-width vector loads, arithmetic and stores (the width is the
// widest power of two up to `vector-size` that divides the loop, so no tail
// and no masks), so that performance does not hinge on LLVM's loop
// vectorizer and its runtime alias checks.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"
#include "ElementwiseUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGVECTORIZEELEMENTWISE
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

/// A flat loop's memory traffic in iterations of a loop that reads one f32
/// and writes one (8 bytes): the threshold counts such loops, and a LinBreg
/// update (reads g and v, writes v and θ: 16 bytes) reaches it at half its
/// elements, an activation at its full size (a fork pays for bytes moved,
/// not iterations). Each buffer counts once: read if the body uses it as an
/// input or reads it as an output, written if it is an output. Scalars,
/// broadcast operands and inputs the body ignores move nothing per
/// iteration. 0 (no threads) for elements of no fixed byte size.
static int64_t streamedWork(linalg::LinalgOp op, int64_t iterations) {
  llvm::MapVector<Value, std::pair<bool, bool>> readWritten;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = llvm::dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !op.getMatchingIndexingMap(&operand).isIdentity())
      continue;
    if (!type.getElementType().isIntOrFloat())
      return 0;
    auto &[read, written] = readWritten[operand.get()];
    read |= op.payloadUsesValueFromOperand(&operand);
    written |= op.isDpsInit(&operand);
  }
  int64_t bytesPerIteration = 0;
  for (auto &[buffer, access] : readWritten) {
    auto type = llvm::cast<MemRefType>(buffer.getType());
    int64_t bytes = (type.getElementTypeBitWidth() + 7) / 8;
    bytesPerIteration += (access.first + access.second) * bytes;
  }
  return iterations * bytesPerIteration / 8;
}

namespace {
struct BregVectorizeElementwisePass
    : breg::impl::BregVectorizeElementwiseBase<BregVectorizeElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : staticElementwiseOpsIn(getOperation()))
      vectorizeOne(rewriter, op);
  }

  void vectorizeOne(IRRewriter &rewriter, linalg::GenericOp op) {
    // 1. One loop instead of a nest when the data is contiguous.
    linalg::LinalgOp linalgOp = collapseContiguous(rewriter, op);

    // 2. Tile the innermost loop by the vector size (the others by 1).
    SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
    int64_t inner = ranges.back();
    // The widest power of two up to vector-size that divides the loop: every
    // vector is full, no masks (which convert-vector-to-scf cannot unroll).
    int64_t width = 1;
    while (width * 2 <= vectorSize && inner % (width * 2) == 0)
      width *= 2;
    if (width == 1)
      return;
    // Large flat loops: first split into equal chunks run in parallel (an
    // scf.forall), each then vectorized as below.
    if (parallelThreshold > 0 && ranges.size() == 1 &&
        streamedWork(linalgOp, ranges[0]) >= parallelThreshold) {
      // The largest chunk of at most 64 Ki elements, a multiple of the
      // width, that divides the loop: all chunks equal and static. Below
      // 4 Ki elements a chunk costs more to schedule than it saves: stay
      // serial (loops whose vector count has no such divisor).
      int64_t vectors = ranges[0] / width, chunk = 0;
      for (int64_t d = std::min<int64_t>(vectors, (1 << 16) / width); d > 0;
           --d)
        if (vectors % d == 0) {
          chunk = d * width;
          break;
        }
      if (chunk >= 4096 && chunk < ranges[0]) {
        scf::SCFTilingOptions options;
        options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
        options.setTileSizes({getAsIndexOpFoldResult(&getContext(), chunk)});
        rewriter.setInsertionPoint(linalgOp);
        FailureOr<scf::SCFTilingResult> chunks = scf::tileUsingSCF(
            rewriter, cast<TilingInterface>(linalgOp.getOperation()), options);
        if (succeeded(chunks)) {
          rewriter.eraseOp(linalgOp);
          linalgOp = cast<linalg::LinalgOp>(chunks->tiledOps.back());
          ranges = linalgOp.getStaticLoopRanges();
        }
      }
    }
    SmallVector<int64_t> vectorSizes(ranges.size(), 1);
    vectorSizes.back() = width;
    // Ask with the full static shape: whether the body is vectorizable at all.
    if (failed(linalg::vectorizeOpPrecondition(linalgOp)))
      return;
    Operation *toVectorize = linalgOp;
    if (!llvm::all_of(llvm::zip(ranges, vectorSizes),
                      [](auto p) { return std::get<0>(p) == std::get<1>(p); })) {
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), vectorSizes));
      rewriter.setInsertionPoint(linalgOp);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(linalgOp.getOperation()), options);
      if (failed(tiled))
        return;
      rewriter.eraseOp(linalgOp);
      toVectorize = tiled->tiledOps.back();
    }

    // 3. Vectorize the tile.
    rewriter.setInsertionPoint(toVectorize);
    // The scalable flags must be spelled out (one per dim): an empty list
    // yields vector types that print alike but do not verify as equal.
    SmallVector<bool> scalable(vectorSizes.size(), false);
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, toVectorize, vectorSizes, scalable);
    if (succeeded(result))
      rewriter.eraseOp(toVectorize);
  }
};
} // namespace
