//===- BregVectorizeTranspose.cpp - Transposes as tiles of vectors --------===//
//
// Sparse layers run feature-major, so a training step on CSR transposes its
// activations and their gradients at every layer (a [128, 784] input among
// them). Lowered by convert-linalg-to-loops, a transpose is a scalar nest
// that strides through one side of the copy an element at a time; as w×w
// tiles of w contiguous vector loads, an in-register transpose and w
// contiguous vector stores it moves a cache line per load.
//
//===----------------------------------------------------------------------===//

#include "breg/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGVECTORIZETRANSPOSE
#include "breg/Transforms/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// The tile of one transpose: a vector size per output dimension (1 but for
/// the tiled ones) and the side of the square tile.
struct TransposeTile {
  SmallVector<int64_t> sizes;
  int64_t side = 0;
};

/// The widest power of two up to `limit` dividing every size in `sizes`.
int64_t widestDividingPowerOfTwo(ArrayRef<int64_t> sizes, int64_t limit) {
  int64_t width = 1;
  while (width * 2 <= limit &&
         llvm::all_of(sizes, [&](int64_t s) { return s % (width * 2) == 0; }))
    width *= 2;
  return width;
}

/// The tile for `op`, or nothing when it is not a static transpose on
/// buffers whose tiled sizes have a divisor of at least 4.
std::optional<TransposeTile> tileFor(linalg::TransposeOp op, int64_t limit) {
  auto output = llvm::dyn_cast<MemRefType>(op.getInit().getType());
  if (!op.hasPureBufferSemantics() || !output || !output.hasStaticShape() ||
      output.getRank() < 2 ||
      !llvm::cast<MemRefType>(op.getInput().getType()).hasStaticShape())
    return std::nullopt;
  ArrayRef<int64_t> permutation = op.getPermutation();
  int64_t rank = output.getRank();
  // Output dimension `fromInner` reads the input's innermost dimension.
  int64_t fromInner = llvm::find(permutation, rank - 1) - permutation.begin();
  SmallVector<int64_t> tiled{output.getDimSize(rank - 1)};
  if (fromInner != rank - 1)
    tiled.push_back(output.getDimSize(fromInner));
  TransposeTile tile;
  tile.side = widestDividingPowerOfTwo(tiled, limit);
  if (tile.side < 4)
    return std::nullopt;
  tile.sizes.assign(rank, 1);
  tile.sizes[rank - 1] = tile.side;
  tile.sizes[fromInner] = tile.side;
  return tile;
}

struct BregVectorizeTransposePass
    : breg::impl::BregVectorizeTransposeBase<BregVectorizeTransposePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::TransposeOp> transposes;
    getOperation().walk(
        [&](linalg::TransposeOp op) { transposes.push_back(op); });
    IRRewriter rewriter(&getContext());
    int64_t largestSide = 0;
    for (linalg::TransposeOp op : transposes)
      if (std::optional<TransposeTile> tile = tileFor(op, vectorSize))
        if (vectorizeOne(rewriter, op, *tile))
          largestSide = std::max(largestSide, tile->side);
    if (largestSide > 0 && failed(lowerTiles(largestSide)))
      signalPassFailure();
  }

  /// Tiles `op` by `tile` and vectorizes the tile; false when either fails
  /// (the op is then left as it was).
  bool vectorizeOne(IRRewriter &rewriter, linalg::TransposeOp op,
                    const TransposeTile &tile) {
    if (failed(linalg::vectorizeOpPrecondition(op)))
      return false;
    scf::SCFTilingOptions options;
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), tile.sizes));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return false;
    rewriter.eraseOp(op);
    Operation *tileOp = tiled->tiledOps.back();
    rewriter.setInsertionPoint(tileOp);
    SmallVector<bool> scalable(tile.sizes.size(), false);
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, tileOp, tile.sizes, scalable);
    if (succeeded(result))
      rewriter.eraseOp(tileOp);
    return succeeded(result);
  }

  /// The permuted transfer_read of each tile as an identity read and a
  /// vector.transpose, leading unit dimensions dropped, and the transpose as
  /// shuffles.
  LogicalResult lowerTiles(int64_t largestSide) {
    RewritePatternSet patterns(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, largestSide == 16
                      ? vector::VectorTransposeLowering::Shuffle16x16
                      : vector::VectorTransposeLowering::Shuffle1D);
    return applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
