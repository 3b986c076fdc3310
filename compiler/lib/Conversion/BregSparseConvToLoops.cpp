//===- BregSparseConvToLoops.cpp - breg.sparse_conv2d -> vector loops -----===//
//
// A convolution whose filter is mostly zero (Bregman training keeps 95-99 %
// of a layer's kernels dead) visits only the stored entries of its CSR. For
// each (sample, CSR row) the output plane is computed in tiles of vector
// accumulators held in registers: per stored entry one broadcast of its
// value and, per accumulator, one load of the padded input at the entry's
// offset and one multiply-add. The entries' offsets (channel and tap,
// flipped for the input gradient) are decoded once per call, not per tile.
// At a column stride s the padded input is stored with each row split by
// column phase (x mod s; the copy loads s vectors and shuffles each phase
// out): an output vector's taps are then contiguous.
//
// MLIR's sparsifier was tried first (a linalg.generic with the filter as a
// block CSR, levels (dense, compressed, dense, dense)): it orders the loops
// sample, row, entry, oh, ow, kh, kw and leaves the tap sums as scalar
// reductions; a flattened [R, C·KH·KW] CSR needs floordiv/mod indexing of
// the input, which it refuses. Hence these loops.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGSPARSECONVTOLOOPS
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

/// The static geometry of one breg.sparse_conv2d.
struct Geometry {
  int64_t samples, channels, height, width; // the input
  int64_t top, left, bottom, right;         // its padding
  int64_t paddedHeight, paddedWidth;
  int64_t rows, outHeight, outWidth; // the output [samples, rows, OH, OW]
  int64_t kernelHeight, kernelWidth, dilationH, dilationW;
  int64_t strideH, strideW;
  // A padded row as stored: strideW phases (columns x ≡ φ mod strideW) of
  // phaseWidth columns each; column x is at (x mod sW)·phaseWidth + x / sW.
  int64_t phaseWidth, rowPitch;
  bool flip;

  explicit Geometry(SparseConv2DOp op) {
    ArrayRef<int64_t> in = op.getInput().getType().getShape();
    ArrayRef<int64_t> out = op.getResult().getType().getShape();
    samples = in[0], channels = in[1], height = in[2], width = in[3];
    top = op.getPadding()[0], left = op.getPadding()[1];
    bottom = op.getPadding()[2], right = op.getPadding()[3];
    paddedHeight = height + top + bottom, paddedWidth = width + left + right;
    rows = out[1], outHeight = out[2], outWidth = out[3];
    kernelHeight = op.getKernel()[0], kernelWidth = op.getKernel()[1];
    dilationH = op.getDilations()[0], dilationW = op.getDilations()[1];
    strideH = op.getStrides()[0], strideW = op.getStrides()[1];
    phaseWidth = llvm::divideCeil(paddedWidth, strideW);
    rowPitch = phaseWidth * strideW;
    flip = op.getFlip();
  }
  bool padded() const { return top || left || bottom || right; }
  /// Whether the input is copied (padding, or columns split by phase).
  bool copied() const { return padded() || strideW > 1; }
  int64_t sampleSize() const { return channels * paddedHeight * rowPitch; }
};

/// A tile of an output plane: `rows` output rows of `vectors` vectors each,
/// the last of which has `lastLanes` lanes in use.
struct Tile {
  int64_t rows, vectors, lastLanes;
};

class SparseConvLowering {
public:
  SparseConvLowering(SparseConv2DOp op, OpBuilder &builder, int64_t lanes,
                     int64_t accumulators)
      : op(op), b(builder), loc(op.getLoc()), g(op), lanes(lanes),
        accumulators(accumulators),
        vectorType(VectorType::get({lanes}, builder.getF32Type())) {}

  void rewrite() {
    b.setInsertionPoint(op);
    Value input = paddedInput(readBuffer(op.getInput()));
    positions = readBuffer(op.getPositions());
    values = readBuffer(op.getValues());
    if (op.getBias())
      bias = readBuffer(op.getBias());
    offsets = entryOffsets(readBuffer(op.getCoordinates()));
    inputFlat = flatten(input);
    auto resultType = op.getResult().getType();
    Value result = memref::AllocOp::create(
        b, loc, MemRefType::get(resultType.getShape(), b.getF32Type()),
        b.getI64IntegerAttr(64));
    outputFlat = flatten(result);
    emitPlanes();
    Value tensor = bufferization::ToTensorOp::create(
        b, loc, resultType, result, /*restrict=*/true, /*writable=*/true);
    op.getResult().replaceAllUsesWith(tensor);
    op.erase();
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, index(c));
  }
  Value loadIndex(Value buffer, Value at) {
    Value v = memref::LoadOp::create(b, loc, buffer, at);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  /// `v` clamped to [lo, hi]: an invalid CSR reads wrong entries, never
  /// memory outside its buffers.
  Value clamp(Value v, int64_t lo, Value hi) {
    Value low = arith::MaxSIOp::create(b, loc, v, index(lo));
    return arith::MinSIOp::create(b, loc, low, hi);
  }

  Value readBuffer(Value tensor) {
    auto type = llvm::cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  }

  Value flatten(Value buffer) {
    auto type = llvm::cast<MemRefType>(buffer.getType());
    ReassociationIndices all;
    for (int64_t d = 0; d < type.getRank(); ++d)
      all.push_back(d);
    return memref::CollapseShapeOp::create(b, loc, buffer,
                                           ArrayRef<ReassociationIndices>{all});
  }

  /// The input copied into a zero-filled buffer with the padding around it
  /// (every tap of every output is then in bounds), its rows split by
  /// column phase at a column stride.
  Value paddedInput(Value input) {
    if (!g.copied())
      return input;
    auto type = MemRefType::get(
        {g.samples, g.channels, g.paddedHeight, g.rowPitch}, b.getF32Type());
    Value padded = memref::AllocOp::create(b, loc, type, b.getI64IntegerAttr(64));
    // Without padding every element a tap reads is an input element copied
    // below (the phases' spare columns and the rows no tap reaches are never
    // read), so only padding needs the zeros.
    if (g.padded()) {
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
      linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{padded});
    }
    if (g.strideW > 1)
      copyColumnsByPhase(input, padded);
    else
      copyRows(input, padded);
    return padded;
  }

  /// Whether some tap reads padded row (or column) residue r modulo the
  /// stride: r ≡ dilation·k for a tap k of the kernel.
  static bool residueRead(int64_t r, int64_t stride, int64_t dilation,
                          int64_t kernel) {
    for (int64_t k = 0; k < kernel; ++k)
      if (dilation * k % stride == r)
        return true;
    return false;
  }

  /// Every element of `input` that a tap reads into its phase's place
  /// inside `padded` (column X = x + left at (X mod sW)·phaseWidth + X /
  /// sW): a loop over the rows of each residue modulo sH that a tap
  /// reaches (a 1×1 kernel at stride 2: every other row); per row, a chunk
  /// of sW·lanes columns at a time is loaded as one vector and each read
  /// phase's lanes shuffled out and stored as one vector; the columns past
  /// the last full chunk one by one.
  void copyColumnsByPhase(Value input, Value padded) {
    Value from = flatten(input), to = flatten(padded);
    auto planes = scf::ParallelOp::create(
        b, loc, ValueRange{index(0)}, ValueRange{index(g.samples * g.channels)},
        ValueRange{index(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(planes.getBody()->getTerminator());
    Value plane = planes.getInductionVars()[0];
    for (int64_t r = 0; r < g.strideH; ++r) {
      if (!residueRead(r, g.strideH, g.dilationH, g.kernelHeight))
        continue;
      // Input rows h with (h + top) mod sH = r.
      int64_t first = ((r - g.top) % g.strideH + g.strideH) % g.strideH;
      if (first >= g.height)
        continue;
      auto rows = scf::ForOp::create(b, loc, index(first), index(g.height),
                                     index(g.strideH));
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(rows.getBody()->getTerminator());
      copyRowByPhase(from, to, plane, rows.getInductionVar());
    }
  }

  void copyRowByPhase(Value from, Value to, Value plane, Value h) {
    Value source = add(mul(plane, g.height * g.width), mul(h, g.width));
    Value target = add(mul(plane, g.paddedHeight * g.rowPitch),
                       mul(add(h, index(g.top)), g.rowPitch));
    int64_t chunk = g.strideW * lanes, chunks = g.width / chunk;
    if (chunks > 0) {
      auto loop = scf::ForOp::create(b, loc, index(0), index(chunks), index(1));
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      copyChunk(from, add(source, mul(loop.getInductionVar(), chunk)), to,
                add(target, mul(loop.getInductionVar(), lanes)));
    }
    if (chunks * chunk == g.width)
      return;
    auto columns = scf::ForOp::create(b, loc, index(chunks * chunk),
                                      index(g.width), index(1));
    b.setInsertionPoint(columns.getBody()->getTerminator());
    Value x = columns.getInductionVar();
    Value column = add(x, index(g.left));
    Value phase = arith::RemUIOp::create(b, loc, column, index(g.strideW));
    Value within = arith::DivUIOp::create(b, loc, column, index(g.strideW));
    Value value = memref::LoadOp::create(b, loc, from, ValueRange{add(source, x)});
    memref::StoreOp::create(b, loc, value, to,
                            ValueRange{add(target, add(mul(phase, g.phaseWidth),
                                                       within))});
  }

  /// sW·lanes input columns from `at` (a multiple of sW·lanes into its row):
  /// phase φ's are the lanes k ≡ φ − left (mod sW), stored from column
  /// (left + k) / sW of that phase, `target` being the chunk's row start
  /// plus its first column / sW.
  void copyChunk(Value from, Value at, Value to, Value target) {
    auto chunkType = VectorType::get({g.strideW * lanes}, b.getF32Type());
    Value chunk = vector::LoadOp::create(b, loc, chunkType, from, ValueRange{at});
    for (int64_t phase = 0; phase < g.strideW; ++phase) {
      if (!residueRead(phase, g.strideW, g.dilationW, g.kernelWidth))
        continue; // no tap reads this phase
      int64_t first = ((phase - g.left) % g.strideW + g.strideW) % g.strideW;
      SmallVector<int64_t> lanesOfPhase;
      for (int64_t j = 0; j < lanes; ++j)
        lanesOfPhase.push_back(first + g.strideW * j);
      Value part = vector::ShuffleOp::create(b, loc, chunk, chunk, lanesOfPhase);
      int64_t offset = phase * g.phaseWidth + (g.left + first) / g.strideW;
      vector::StoreOp::create(b, loc, part, to, ValueRange{add(target, index(offset))});
    }
  }

  /// Every row of `input` into its place inside `padded`, a vector at a
  /// time (the last one of a row masked): an scf.parallel over the (sample,
  /// channel) planes, a loop over their rows.
  void copyRows(Value input, Value padded) {
    Value from = flatten(input), to = flatten(padded);
    auto planes = scf::ParallelOp::create(
        b, loc, ValueRange{index(0)}, ValueRange{index(g.samples * g.channels)},
        ValueRange{index(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(planes.getBody()->getTerminator());
    Value plane = planes.getInductionVars()[0];
    auto rows = scf::ForOp::create(b, loc, index(0), index(g.height), index(1));
    b.setInsertionPoint(rows.getBody()->getTerminator());
    Value h = rows.getInductionVar();
    Value source = add(mul(plane, g.height * g.width), mul(h, g.width));
    Value target = add(mul(plane, g.paddedHeight * g.paddedWidth),
                       add(mul(h, g.paddedWidth),
                           index(g.top * g.paddedWidth + g.left)));
    int64_t full = g.width / lanes * lanes;
    if (full > 0) {
      auto columns =
          scf::ForOp::create(b, loc, index(0), index(full), index(lanes));
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(columns.getBody()->getTerminator());
      Value column = columns.getInductionVar();
      Value row = readVector(from, add(source, column), lanes);
      writeVector(row, to, add(target, column), lanes);
    }
    if (int64_t rest = g.width - full) {
      Value row = readVector(from, add(source, index(full)), rest);
      writeVector(row, to, add(target, index(full)), rest);
    }
  }

  /// offsets[e] = c·HP·P + dh·h·P + column(dw·w) for the stored entries e <
  /// positions[rows], where the coordinate is c·KH·KW + kh·KW + kw, (h, w)
  /// is (kh, kw) or, under flip, (KH − 1 − kh, KW − 1 − kw), P the row
  /// pitch and column(x) = (x mod sW)·phaseWidth + x / sW (x at stride 1).
  Value entryOffsets(Value coordinates) {
    int64_t capacity =
        llvm::cast<MemRefType>(coordinates.getType()).getDimSize(0);
    Value offsets = memref::AllocOp::create(
        b, loc, MemRefType::get({capacity}, b.getI32Type()),
        b.getI64IntegerAttr(64));
    stored = clamp(loadIndex(positions, index(g.rows)), 0, index(capacity));
    auto loop = scf::ForOp::create(b, loc, index(0), stored, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value e = loop.getInductionVar();
    int64_t taps = g.kernelHeight * g.kernelWidth;
    Value j = clamp(loadIndex(coordinates, e), 0,
                    index(g.channels * taps - 1));
    Value channel = arith::DivUIOp::create(b, loc, j, index(taps));
    Value tap = arith::RemUIOp::create(b, loc, j, index(taps));
    Value kh = arith::DivUIOp::create(b, loc, tap, index(g.kernelWidth));
    Value kw = arith::RemUIOp::create(b, loc, tap, index(g.kernelWidth));
    if (g.flip) {
      kh = arith::SubIOp::create(b, loc, index(g.kernelHeight - 1), kh);
      kw = arith::SubIOp::create(b, loc, index(g.kernelWidth - 1), kw);
    }
    Value column = mul(kw, g.dilationW);
    if (g.strideW > 1) // the tap's column phase, then its place within it
      column = add(mul(arith::RemUIOp::create(b, loc, column, index(g.strideW)),
                       g.phaseWidth),
                   arith::DivUIOp::create(b, loc, column, index(g.strideW)));
    Value offset = add(mul(channel, g.paddedHeight * g.rowPitch),
                       add(mul(kh, g.dilationH * g.rowPitch), column));
    memref::StoreOp::create(
        b, loc, arith::IndexCastOp::create(b, loc, b.getI32Type(), offset),
        offsets, e);
    return offsets;
  }

  /// scf.parallel over (sample, CSR row); each iteration computes one
  /// output plane tile by tile.
  void emitPlanes() {
    auto parallel = scf::ParallelOp::create(
        b, loc, ValueRange{index(0), index(0)},
        ValueRange{index(g.samples), index(g.rows)},
        ValueRange{index(1), index(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(parallel.getBody()->getTerminator());
    Value sample = parallel.getInductionVars()[0];
    Value row = parallel.getInductionVars()[1];
    // Within the entries whose offsets entryOffsets() decoded.
    start = clamp(loadIndex(positions, row), 0, stored);
    end = clamp(loadIndex(positions, add(row, index(1))), 0, stored);
    inputBase = mul(sample, g.sampleSize());
    // The tiles' accumulators start from the row's bias, or from zero.
    start0 = bias ? Value(vector::BroadcastOp::create(
                        b, loc, vectorType,
                        memref::LoadOp::create(b, loc, bias, row)))
                  : Value(arith::ConstantOp::create(
                        b, loc, vectorType,
                        DenseElementsAttr::get(vectorType, 0.0f)));
    outputBase =
        mul(add(mul(sample, g.rows), row), g.outHeight * g.outWidth);
    emitRowTiles();
  }

  /// The output rows in tiles of `tileRows` (a loop over the full tiles,
  /// then the remainder), each across the columns.
  void emitRowTiles() {
    int64_t vectorsPerRow = llvm::divideCeil(g.outWidth, lanes);
    int64_t blockVectors = std::min<int64_t>(vectorsPerRow, accumulators);
    int64_t tileRows = std::clamp<int64_t>(accumulators / blockVectors, 1,
                                           g.outHeight);
    int64_t fullTiles = g.outHeight / tileRows;
    auto loop = scf::ForOp::create(b, loc, index(0), index(fullTiles * tileRows),
                                   index(tileRows));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emitColumnBlocks(loop.getInductionVar(), tileRows, blockVectors);
    }
    if (int64_t rest = g.outHeight % tileRows)
      emitColumnBlocks(index(fullTiles * tileRows), rest, blockVectors);
  }

  /// Rows [row, row + rows) across the columns in blocks of `blockVectors`
  /// vectors: a loop over the full blocks, then the remainder.
  void emitColumnBlocks(Value row, int64_t rows, int64_t blockVectors) {
    int64_t blockWidth = blockVectors * lanes;
    int64_t fullBlocks = g.outWidth / blockWidth;
    if (fullBlocks > 0) {
      auto loop = scf::ForOp::create(b, loc, index(0),
                                     index(fullBlocks * blockWidth),
                                     index(blockWidth));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emitTile(row, loop.getInductionVar(), Tile{rows, blockVectors, lanes});
    }
    int64_t restWidth = g.outWidth - fullBlocks * blockWidth;
    if (restWidth == 0)
      return;
    int64_t vectors = llvm::divideCeil(restWidth, lanes);
    emitTile(row, index(fullBlocks * blockWidth),
             Tile{rows, vectors, restWidth - (vectors - 1) * lanes});
  }

  Value laneMask(int64_t used) {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ArrayRef<int64_t>{used});
  }

  /// One tile: accumulators in registers over the row's stored entries,
  /// then stored (the last vector of each tile row under a mask when it is
  /// not full: its lanes past the row would read the next row's input).
  void emitTile(Value row, Value column, Tile tile) {
    SmallVector<Value> inits(tile.rows * tile.vectors, start0);
    auto loop = scf::ForOp::create(b, loc, start, end, index(1), inits);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value e = loop.getInductionVar();
      Value weight = vector::BroadcastOp::create(
          b, loc, vectorType, memref::LoadOp::create(b, loc, values, e));
      // Output (row, column) reads input row sH·row, phase column `column`.
      int64_t rowStep = g.strideH * g.rowPitch;
      Value base = add(add(inputBase, loadIndex(offsets, e)),
                       add(mul(row, rowStep), column));
      SmallVector<Value> sums;
      for (int64_t r = 0; r < tile.rows; ++r)
        for (int64_t v = 0; v < tile.vectors; ++v) {
          Value at = add(base, index(r * rowStep + v * lanes));
          Value x = readVector(inputFlat, at, usedLanes(tile, v));
          sums.push_back(vector::FMAOp::create(
              b, loc, weight, x,
              loop.getRegionIterArgs()[r * tile.vectors + v]));
        }
      scf::YieldOp::create(b, loc, sums);
    }
    Value outBase = add(outputBase, add(mul(row, g.outWidth), column));
    for (int64_t r = 0; r < tile.rows; ++r)
      for (int64_t v = 0; v < tile.vectors; ++v) {
        Value at = add(outBase, index(r * g.outWidth + v * lanes));
        Value sum = loop.getResult(r * tile.vectors + v);
        writeVector(sum, outputFlat, at, usedLanes(tile, v));
      }
  }

  int64_t usedLanes(Tile tile, int64_t v) const {
    return v + 1 == tile.vectors ? tile.lastLanes : lanes;
  }

  void writeVector(Value vector, Value buffer, Value at, int64_t used) {
    if (used == lanes)
      vector::StoreOp::create(b, loc, vector, buffer, ValueRange{at});
    else
      vector::MaskedStoreOp::create(b, loc, buffer, ValueRange{at},
                                    laneMask(used), vector);
  }

  Value readVector(Value buffer, Value at, int64_t used) {
    if (used == lanes)
      return vector::LoadOp::create(b, loc, vectorType, buffer, ValueRange{at});
    Value zero = arith::ConstantOp::create(
        b, loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
    return vector::MaskedLoadOp::create(b, loc, vectorType, buffer,
                                        ValueRange{at}, laneMask(used), zero);
  }

  SparseConv2DOp op;
  OpBuilder &b;
  Location loc;
  Geometry g;
  int64_t lanes, accumulators;
  VectorType vectorType;
  // Set by rewrite() and emitPlanes() for the loops inside.
  Value positions, values, bias, offsets, stored, inputFlat, outputFlat;
  Value start, end, inputBase, outputBase, start0;
};

struct BregSparseConvToLoopsPass
    : breg::impl::BregSparseConvToLoopsBase<BregSparseConvToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorLength < 1 || accumulators < 1) {
      getOperation().emitError("breg-sparse-conv-to-loops: vector-length and "
                               "accumulators must be positive");
      return signalPassFailure();
    }
    SmallVector<SparseConv2DOp> convs;
    getOperation().walk([&](SparseConv2DOp op) { convs.push_back(op); });
    OpBuilder builder(&getContext());
    for (SparseConv2DOp op : convs)
      SparseConvLowering(op, builder, vectorLength, accumulators).rewrite();
  }
};

} // namespace
