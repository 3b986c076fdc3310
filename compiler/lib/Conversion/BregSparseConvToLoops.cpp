//===- BregSparseConvToLoops.cpp - breg.sparse_conv2d -> vector loops -----===//
//
// A convolution whose filter is mostly zero (Bregman training keeps 95-99 %
// of a layer's kernels dead) visits only the stored entries of its CSR. For
// each (sample, CSR row) the output plane is computed in tiles of vector
// accumulators held in registers: per stored entry one broadcast of its
// value and, per accumulator, one load of the padded input at the entry's
// offset and one multiply-add. The entries' offsets (channel and tap,
// flipped for the input gradient) are decoded once per call, not per tile;
// in a grouped convolution they are relative to the first channel of the
// row's group, which the (sample, row) plane adds to its base.
// At a column stride s the padded input is stored with each row split by
// column phase (x mod s; the copy loads s vectors and shuffles each phase
// out): an output vector's taps are then contiguous. Under `flip` at a
// stride (a strided convolution's input gradient) the outputs are split by
// phase instead: the outputs of phase (φh, φw) read, through each tap, the
// cotangent at a fixed shift or only its inserted zeros, so the entries are
// regrouped per (row, phase) once per call and each phase's plane visits
// its own entries only, reading the cotangent contiguously and storing
// every sW-th output (vector.scatter).
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

#include <functional>
#include <tuple>

namespace mlir::breg {
#define GEN_PASS_DEF_BREGSPARSECONVTOLOOPS
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

int64_t floorMod(int64_t a, int64_t m) { return (a % m + m) % m; }

/// Under `flip` at a stride, along one dimension: output o = φ + stride·i
/// (phase φ) reads through flipped tap h the cotangent at i + (φ + dilation·h
/// − pad) / stride when φ ≡ pad − dilation·h (mod stride), else an inserted
/// zero. The padding (before, after) of the cotangent's buffer that keeps
/// every such read of every phase's outputs inside it.
std::pair<int64_t, int64_t> phasedPadding(int64_t in, int64_t out, int64_t pad,
                                          int64_t stride, int64_t dilation,
                                          int64_t kernel) {
  int64_t lowest = 0, highest = in - 1;
  for (int64_t h = 0; h < kernel; ++h) {
    int64_t phase = floorMod(pad - dilation * h, stride);
    int64_t outputs = llvm::divideCeil(std::max<int64_t>(out - phase, 0), stride);
    if (outputs == 0)
      continue;
    int64_t shift = (phase + dilation * h - pad) / stride; // exact
    lowest = std::min(lowest, shift);
    highest = std::max(highest, outputs - 1 + shift);
  }
  return {-lowest, highest - (in - 1)};
}

/// The static geometry of one breg.sparse_conv2d.
struct Geometry {
  int64_t samples, channels, height, width; // the input
  int64_t padTop, padLeft;                  // the op's padding before
  int64_t top, left, bottom, right;         // the input buffer's padding
  int64_t paddedHeight, paddedWidth;
  int64_t rows, outHeight, outWidth; // the output [samples, rows, OH, OW]
  int64_t kernelHeight, kernelWidth, dilationH, dilationW;
  int64_t strideH, strideW;
  // Row r reads the input channels of its group, from ⌊r / groupRows⌋ ·
  // groupChannels on (groups = 1: every channel).
  int64_t groups, groupRows, groupChannels;
  // A padded row as stored: strideW phases (columns x ≡ φ mod strideW) of
  // phaseWidth columns each when the columns are split; column x is at
  // (x mod sW)·phaseWidth + x / sW.
  int64_t phaseWidth, rowPitch;
  bool flip;
  bool phased; // flip at a stride: the outputs split by phase

  explicit Geometry(SparseConv2DOp op) {
    ArrayRef<int64_t> in = op.getInput().getType().getShape();
    ArrayRef<int64_t> out = op.getResult().getType().getShape();
    samples = in[0], channels = in[1], height = in[2], width = in[3];
    rows = out[1], outHeight = out[2], outWidth = out[3];
    kernelHeight = op.getKernel()[0], kernelWidth = op.getKernel()[1];
    dilationH = op.getDilations()[0], dilationW = op.getDilations()[1];
    strideH = op.getStrides()[0], strideW = op.getStrides()[1];
    groups = op.getGroups();
    groupRows = rows / groups, groupChannels = channels / groups;
    padTop = op.getPadding()[0], padLeft = op.getPadding()[1];
    flip = op.getFlip();
    phased = flip && (strideH > 1 || strideW > 1);
    if (phased) {
      std::tie(top, bottom) = phasedPadding(height, outHeight, padTop, strideH,
                                            dilationH, kernelHeight);
      std::tie(left, right) = phasedPadding(width, outWidth, padLeft, strideW,
                                            dilationW, kernelWidth);
    } else {
      top = padTop, left = padLeft;
      bottom = op.getPadding()[2], right = op.getPadding()[3];
    }
    paddedHeight = height + top + bottom, paddedWidth = width + left + right;
    int64_t split = splitColumns() ? strideW : 1;
    phaseWidth = llvm::divideCeil(paddedWidth, split);
    rowPitch = phaseWidth * split;
  }
  bool padded() const { return top || left || bottom || right; }
  /// Whether the padded rows are stored split by column phase (a strided
  /// forward pass).
  bool splitColumns() const { return !flip && strideW > 1; }
  /// Whether the input is copied (padding, or columns split by phase).
  bool copied() const { return padded() || splitColumns(); }
  int64_t sampleSize() const { return channels * paddedHeight * rowPitch; }
  int64_t phases() const { return phased ? strideH * strideW : 1; }
  /// Under `phased`: whether some tap reaches output phase (φh, φw) (a 1×1
  /// kernel at stride 2 reaches one phase of four; the others are 0).
  bool phaseReached(int64_t phaseH, int64_t phaseW) const {
    auto reached = [](int64_t phase, int64_t pad, int64_t stride,
                      int64_t dilation, int64_t kernel) {
      for (int64_t h = 0; h < kernel; ++h)
        if (floorMod(pad - dilation * h, stride) == phase)
          return true;
      return false;
    };
    return reached(phaseH, padTop, strideH, dilationH, kernelHeight) &&
           reached(phaseW, padLeft, strideW, dilationW, kernelWidth);
  }
  bool everyPhaseReached() const {
    for (int64_t phaseH = 0; phaseH < strideH; ++phaseH)
      for (int64_t phaseW = 0; phaseW < strideW; ++phaseW)
        if (!phaseReached(phaseH, phaseW))
          return false;
    return true;
  }
};

/// An output plane the tiles cover, `rows` × `columns`: output (i, j) reads
/// the input at its entry's offset + i·readRowStep + j and is written at
/// writeBase + i·writeRowStep + j·writeColumnStep.
struct Plane {
  int64_t rows, columns, readRowStep, writeRowStep, writeColumnStep;
  Value writeBase;
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
    positions = readBuffer(op.getPositions());
    values = readBuffer(op.getValues());
    Value coordinates = readBuffer(op.getCoordinates());
    if (op.getBias())
      bias = readBuffer(op.getBias());
    int64_t capacity =
        llvm::cast<MemRefType>(coordinates.getType()).getDimSize(0);
    stored = clamp(loadIndex(positions, index(g.rows)), 0, index(capacity));
    Value input = paddedInput(readBuffer(op.getInput()), coordinates);
    if (g.phased)
      phasedEntries(coordinates);
    else
      offsets = entryOffsets(coordinates);
    inputFlat = flatten(input);
    auto resultType = op.getResult().getType();
    Value result = memref::AllocOp::create(
        b, loc, MemRefType::get(resultType.getShape(), b.getF32Type()),
        b.getI64IntegerAttr(64));
    outputFlat = flatten(result);
    // Phases no tap reaches are 0 (without a bias, which they would hold).
    skipUnreached = g.phased && !bias && !g.everyPhaseReached();
    if (skipUnreached) {
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
      linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{result});
    }
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

  /// The input copied into a buffer with zero padding around it (every tap
  /// of every output is then in bounds), its rows split by column phase at
  /// a column stride; only the channels some stored entry reads.
  Value paddedInput(Value input, Value coordinates) {
    if (!g.copied())
      return input;
    auto type = MemRefType::get(
        {g.samples, g.channels, g.paddedHeight, g.rowPitch}, b.getF32Type());
    Value padded = memref::AllocOp::create(b, loc, type, b.getI64IntegerAttr(64));
    channelRead = channelsRead(coordinates);
    if (g.splitColumns())
      copyColumnsByPhase(input, padded);
    else
      copyRows(input, padded);
    return padded;
  }

  /// read[c] = 1 when a stored entry reads input channel c (the first
  /// channel of its row's group + the entry's), else 0. A filter whose
  /// kernels are mostly dead leaves channels unread (a depthwise one with 5
  /// % of its kernels alive reads 5 % of them): their planes are neither
  /// zero-filled nor copied.
  Value channelsRead(Value coordinates) {
    auto type = MemRefType::get({g.channels}, b.getI8Type());
    Value read = memref::AllocOp::create(b, loc, type);
    Value no = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
    linalg::FillOp::create(b, loc, ValueRange{no}, ValueRange{read});
    Value yes = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(1));
    forEachEntry([&](Value row, Value e) {
      Value channel = decodeEntry(coordinates, e)[0];
      if (g.groups > 1)
        channel = add(channel, mul(arith::DivUIOp::create(b, loc, row,
                                                          index(g.groupRows)),
                                   g.groupChannels));
      memref::StoreOp::create(b, loc, yes, read, channel);
    });
    return read;
  }

  /// An scf.parallel over the input's (sample, channel) planes of the
  /// channels read (channelsRead), the builder left inside it (the
  /// caller's InsertionGuard restores it), the plane of `paddedFlat` zero-
  /// filled there when the input is padded; the plane's index. (Without
  /// padding every element a tap reads is an input element the caller
  /// copies: the phases' spare columns and the rows no tap reaches are
  /// never read.)
  Value enterPlanes(Value paddedFlat) {
    auto planes = scf::ParallelOp::create(
        b, loc, ValueRange{index(0)}, ValueRange{index(g.samples * g.channels)},
        ValueRange{index(1)});
    b.setInsertionPoint(planes.getBody()->getTerminator());
    Value plane = planes.getInductionVars()[0];
    Value channel = arith::RemUIOp::create(b, loc, plane, index(g.channels));
    Value read = memref::LoadOp::create(b, loc, channelRead, channel);
    Value no = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
    Value isRead =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, read, no);
    auto ifRead = scf::IfOp::create(b, loc, isRead, /*withElseRegion=*/false);
    b.setInsertionPoint(ifRead.thenBlock()->getTerminator());
    if (g.padded()) {
      int64_t size = g.paddedHeight * g.rowPitch;
      Value view = memref::SubViewOp::create(
          b, loc, paddedFlat, ArrayRef<OpFoldResult>{mul(plane, size)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(size)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
      linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{view});
    }
    return plane;
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
    OpBuilder::InsertionGuard guard(b);
    Value plane = enterPlanes(to);
    for (int64_t r = 0; r < g.strideH; ++r) {
      if (!residueRead(r, g.strideH, g.dilationH, g.kernelHeight))
        continue;
      // Input rows h with (h + top) mod sH = r.
      int64_t first = floorMod(r - g.top, g.strideH);
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
      int64_t first = floorMod(phase - g.left, g.strideW);
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
    OpBuilder::InsertionGuard guard(b);
    Value plane = enterPlanes(to);
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

  /// Entry e's input channel within its row's group and tap (h, w): (kh,
  /// kw) of its coordinate c·KH·KW + kh·KW + kw, or under flip (KH − 1 −
  /// kh, KW − 1 − kw).
  std::array<Value, 3> decodeEntry(Value coordinates, Value e) {
    int64_t taps = g.kernelHeight * g.kernelWidth;
    Value j = clamp(loadIndex(coordinates, e), 0,
                    index(g.groupChannels * taps - 1));
    Value channel = arith::DivUIOp::create(b, loc, j, index(taps));
    Value tap = arith::RemUIOp::create(b, loc, j, index(taps));
    Value kh = arith::DivUIOp::create(b, loc, tap, index(g.kernelWidth));
    Value kw = arith::RemUIOp::create(b, loc, tap, index(g.kernelWidth));
    if (g.flip) {
      kh = arith::SubIOp::create(b, loc, index(g.kernelHeight - 1), kh);
      kw = arith::SubIOp::create(b, loc, index(g.kernelWidth - 1), kw);
    }
    return {channel, kh, kw};
  }

  Value toI32(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), v);
  }

  /// offsets[e] = c·HP·P + dh·h·P + column(dw·w) for the stored entries e <
  /// positions[rows] (decodeEntry), P the row pitch and column(x) = (x mod
  /// sW)·phaseWidth + x / sW when the columns are split, else x.
  Value entryOffsets(Value coordinates) {
    int64_t capacity =
        llvm::cast<MemRefType>(coordinates.getType()).getDimSize(0);
    Value offsets = memref::AllocOp::create(
        b, loc, MemRefType::get({capacity}, b.getI32Type()),
        b.getI64IntegerAttr(64));
    auto loop = scf::ForOp::create(b, loc, index(0), stored, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value e = loop.getInductionVar();
    auto [channel, kh, kw] = decodeEntry(coordinates, e);
    Value column = mul(kw, g.dilationW);
    if (g.splitColumns()) // the tap's column phase, then its place within it
      column = add(mul(arith::RemUIOp::create(b, loc, column, index(g.strideW)),
                       g.phaseWidth),
                   arith::DivUIOp::create(b, loc, column, index(g.strideW)));
    Value offset = add(mul(channel, g.paddedHeight * g.rowPitch),
                       add(mul(kh, g.dilationH * g.rowPitch), column));
    memref::StoreOp::create(b, loc, toI32(offset), offsets, e);
    return offsets;
  }

  /// Under `phased`, along one dimension (phasedPadding): flipped tap k's
  /// output phase, (pad − dilation·k) mod stride, and the buffer row its
  /// phase's output 0 reads, (φ + dilation·k − pad) / stride + before
  /// (exact, and ≥ 0 by the buffer's padding).
  std::pair<Value, Value> tapPhase(Value k, int64_t pad, int64_t stride,
                                   int64_t dilation, int64_t kernel,
                                   int64_t before) {
    Value scaled = mul(k, dilation);
    Value numerator = arith::SubIOp::create(
        b, loc, index(pad + stride * dilation * kernel), scaled);
    Value phase = arith::RemUIOp::create(b, loc, numerator, index(stride));
    Value shifted = add(add(phase, scaled), index(stride * before - pad));
    return {phase, arith::DivUIOp::create(b, loc, shifted, index(stride))};
  }

  /// Entry e's phase (φh·sW + φw) and its offset in a padded sample of the
  /// cotangent, under `phased`.
  std::pair<Value, Value> phasedEntry(Value coordinates, Value e) {
    auto [channel, h, w] = decodeEntry(coordinates, e);
    auto [phaseH, row] = tapPhase(h, g.padTop, g.strideH, g.dilationH,
                                  g.kernelHeight, g.top);
    auto [phaseW, column] = tapPhase(w, g.padLeft, g.strideW, g.dilationW,
                                     g.kernelWidth, g.left);
    Value offset = add(mul(channel, g.paddedHeight * g.rowPitch),
                       add(mul(row, g.rowPitch), column));
    return {add(mul(phaseH, g.strideW), phaseW), offset};
  }

  /// Calls `body(row, e)` for the stored entries of each CSR row (positions
  /// clamped to [0, stored]).
  void forEachEntry(const std::function<void(Value, Value)> &body) {
    auto rows = scf::ForOp::create(b, loc, index(0), index(g.rows), index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(rows.getBody()->getTerminator());
    Value row = rows.getInductionVar();
    Value first = clamp(loadIndex(positions, row), 0, stored);
    Value last = clamp(loadIndex(positions, add(row, index(1))), 0, stored);
    auto entries = scf::ForOp::create(b, loc, first, last, index(1));
    b.setInsertionPoint(entries.getBody()->getTerminator());
    body(row, entries.getInductionVar());
  }

  /// Under `phased`: the stored entries regrouped by (CSR row, phase), a
  /// CSR of rows·phases groups (each entry has exactly one phase), with
  /// their offsets and values: counted, summed, then placed. An invalid CSR
  /// can count more entries than the capacity: their places are clamped
  /// (wrong values, never a write out of bounds).
  void phasedEntries(Value coordinates) {
    int64_t capacity =
        llvm::cast<MemRefType>(coordinates.getType()).getDimSize(0);
    int64_t groups = g.rows * g.phases();
    auto indexBuffer = [&](int64_t size) {
      return memref::AllocOp::create(
          b, loc, MemRefType::get({size}, b.getIndexType()));
    };
    groupStarts = indexBuffer(groups + 1);
    linalg::FillOp::create(b, loc, ValueRange{index(0)}, ValueRange{groupStarts});
    Value one = index(1);
    forEachEntry([&](Value row, Value e) {
      Value at = add(add(mul(row, g.phases()), phasedEntry(coordinates, e).first), one);
      Value count = memref::LoadOp::create(b, loc, groupStarts, at);
      memref::StoreOp::create(b, loc, add(count, one), groupStarts, at);
    });
    {
      auto sums = scf::ForOp::create(b, loc, one, index(groups + 1), one);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(sums.getBody()->getTerminator());
      Value i = sums.getInductionVar();
      Value before = memref::LoadOp::create(
          b, loc, groupStarts, ValueRange{arith::SubIOp::create(b, loc, i, one)});
      Value count = memref::LoadOp::create(b, loc, groupStarts, i);
      memref::StoreOp::create(b, loc, add(before, count), groupStarts, i);
    }
    Value next = indexBuffer(groups); // each group's next place
    {
      auto copy = scf::ForOp::create(b, loc, index(0), index(groups), one);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(copy.getBody()->getTerminator());
      Value i = copy.getInductionVar();
      memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, groupStarts, i),
                              next, i);
    }
    offsets = memref::AllocOp::create(
        b, loc, MemRefType::get({capacity}, b.getI32Type()), b.getI64IntegerAttr(64));
    Value grouped = memref::AllocOp::create(
        b, loc, MemRefType::get({capacity}, b.getF32Type()), b.getI64IntegerAttr(64));
    forEachEntry([&](Value row, Value e) {
      auto [phase, offset] = phasedEntry(coordinates, e);
      Value group = add(mul(row, g.phases()), phase);
      Value place = memref::LoadOp::create(b, loc, next, group);
      memref::StoreOp::create(b, loc, add(place, one), next, group);
      Value at = arith::MinSIOp::create(b, loc, place, index(capacity - 1));
      memref::StoreOp::create(b, loc, toI32(offset), offsets, at);
      memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, values, e),
                              grouped, at);
    });
    values = grouped;
    groupCapacity = capacity;
  }

  /// scf.parallel over (sample, CSR row); each iteration computes one
  /// output plane tile by tile (under `phased`, one plane per phase).
  void emitPlanes() {
    auto parallel = scf::ParallelOp::create(
        b, loc, ValueRange{index(0), index(0)},
        ValueRange{index(g.samples), index(g.rows)},
        ValueRange{index(1), index(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(parallel.getBody()->getTerminator());
    Value sample = parallel.getInductionVars()[0];
    Value row = parallel.getInductionVars()[1];
    inputBase = mul(sample, g.sampleSize());
    if (g.groups > 1) // the first channel of the row's group
      inputBase = add(inputBase, mul(arith::DivUIOp::create(
                                         b, loc, row, index(g.groupRows)),
                                     g.groupChannels * g.paddedHeight * g.rowPitch));
    // The tiles' accumulators start from the row's bias, or from zero.
    start0 = bias ? Value(vector::BroadcastOp::create(
                        b, loc, vectorType,
                        memref::LoadOp::create(b, loc, bias, row)))
                  : Value(arith::ConstantOp::create(
                        b, loc, vectorType,
                        DenseElementsAttr::get(vectorType, 0.0f)));
    Value outputBase =
        mul(add(mul(sample, g.rows), row), g.outHeight * g.outWidth);
    if (!g.phased) {
      // Within the entries whose offsets entryOffsets() decoded.
      start = clamp(loadIndex(positions, row), 0, stored);
      end = clamp(loadIndex(positions, add(row, index(1))), 0, stored);
      emitRowTiles(Plane{g.outHeight, g.outWidth, g.strideH * g.rowPitch,
                         g.outWidth, 1, outputBase});
      return;
    }
    for (int64_t phaseH = 0; phaseH < g.strideH; ++phaseH)
      for (int64_t phaseW = 0; phaseW < g.strideW; ++phaseW)
        emitPhase(row, outputBase, phaseH, phaseW);
  }

  /// The outputs (φh + sH·i, φw + sW·j) of one phase, over the row's
  /// entries of that phase (phasedEntries).
  void emitPhase(Value row, Value outputBase, int64_t phaseH, int64_t phaseW) {
    int64_t rows = llvm::divideCeil(std::max<int64_t>(g.outHeight - phaseH, 0), g.strideH);
    int64_t columns =
        llvm::divideCeil(std::max<int64_t>(g.outWidth - phaseW, 0), g.strideW);
    if (rows == 0 || columns == 0 ||
        (skipUnreached && !g.phaseReached(phaseH, phaseW)))
      return;
    Value group = add(mul(row, g.phases()), index(phaseH * g.strideW + phaseW));
    auto startOf = [&](Value at) {
      return clamp(memref::LoadOp::create(b, loc, groupStarts, at), 0,
                   index(groupCapacity));
    };
    start = startOf(group);
    end = startOf(add(group, index(1)));
    emitRowTiles(Plane{rows, columns, g.rowPitch, g.strideH * g.outWidth, g.strideW,
                       add(outputBase, index(phaseH * g.outWidth + phaseW))});
  }

  /// The plane's rows in tiles of `tileRows` (a loop over the full tiles,
  /// then the remainder), each across the columns.
  void emitRowTiles(const Plane &plane) {
    int64_t vectorsPerRow = llvm::divideCeil(plane.columns, lanes);
    int64_t blockVectors = std::min<int64_t>(vectorsPerRow, accumulators);
    int64_t tileRows = std::clamp<int64_t>(accumulators / blockVectors, 1,
                                           plane.rows);
    int64_t fullTiles = plane.rows / tileRows;
    auto loop = scf::ForOp::create(b, loc, index(0), index(fullTiles * tileRows),
                                   index(tileRows));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emitColumnBlocks(plane, loop.getInductionVar(), tileRows, blockVectors);
    }
    if (int64_t rest = plane.rows % tileRows)
      emitColumnBlocks(plane, index(fullTiles * tileRows), rest, blockVectors);
  }

  /// Rows [row, row + rows) across the columns in blocks of `blockVectors`
  /// vectors: a loop over the full blocks, then the remainder.
  void emitColumnBlocks(const Plane &plane, Value row, int64_t rows,
                        int64_t blockVectors) {
    int64_t blockWidth = blockVectors * lanes;
    int64_t fullBlocks = plane.columns / blockWidth;
    if (fullBlocks > 0) {
      auto loop = scf::ForOp::create(b, loc, index(0),
                                     index(fullBlocks * blockWidth),
                                     index(blockWidth));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emitTile(plane, row, loop.getInductionVar(), Tile{rows, blockVectors, lanes});
    }
    int64_t restWidth = plane.columns - fullBlocks * blockWidth;
    if (restWidth == 0)
      return;
    int64_t vectors = llvm::divideCeil(restWidth, lanes);
    emitTile(plane, row, index(fullBlocks * blockWidth),
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
  void emitTile(const Plane &plane, Value row, Value column, Tile tile) {
    SmallVector<Value> inits(tile.rows * tile.vectors, start0);
    auto loop = scf::ForOp::create(b, loc, start, end, index(1), inits);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value e = loop.getInductionVar();
      Value weight = vector::BroadcastOp::create(
          b, loc, vectorType, memref::LoadOp::create(b, loc, values, e));
      Value base = add(add(inputBase, loadIndex(offsets, e)),
                       add(mul(row, plane.readRowStep), column));
      SmallVector<Value> sums;
      for (int64_t r = 0; r < tile.rows; ++r)
        for (int64_t v = 0; v < tile.vectors; ++v) {
          Value at = add(base, index(r * plane.readRowStep + v * lanes));
          Value x = readVector(inputFlat, at, usedLanes(tile, v));
          sums.push_back(vector::FMAOp::create(
              b, loc, weight, x,
              loop.getRegionIterArgs()[r * tile.vectors + v]));
        }
      scf::YieldOp::create(b, loc, sums);
    }
    Value outBase = add(plane.writeBase, add(mul(row, plane.writeRowStep),
                                             mul(column, plane.writeColumnStep)));
    for (int64_t r = 0; r < tile.rows; ++r)
      for (int64_t v = 0; v < tile.vectors; ++v) {
        Value at = add(outBase, index(r * plane.writeRowStep +
                                      v * lanes * plane.writeColumnStep));
        Value sum = loop.getResult(r * tile.vectors + v);
        writeOutput(sum, at, usedLanes(tile, v), plane.writeColumnStep);
      }
  }

  /// A vector of outputs from `at`, every `step`-th element (a scatter when
  /// the step is not 1).
  void writeOutput(Value vector, Value at, int64_t used, int64_t step) {
    if (step == 1)
      return writeVector(vector, outputFlat, at, used);
    SmallVector<int32_t> strided;
    for (int64_t lane = 0; lane < lanes; ++lane)
      strided.push_back(static_cast<int32_t>(lane * step));
    auto indexType = VectorType::get({lanes}, b.getI32Type());
    Value indices = arith::ConstantOp::create(
        b, loc, indexType, DenseElementsAttr::get(indexType, ArrayRef(strided)));
    vector::ScatterOp::create(b, loc, Type(), outputFlat, ValueRange{at},
                              indices, laneMask(used), vector);
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
  // Set by rewrite() and emitPlanes() for the loops inside (under
  // `phased`, offsets and values are the entries regrouped by phase).
  Value positions, values, bias, offsets, stored, inputFlat, outputFlat;
  Value channelRead; // i8 per input channel: whether an entry reads it
  Value groupStarts; // under `phased`: rows·phases + 1 group starts
  int64_t groupCapacity = 0;
  bool skipUnreached = false; // the result zero-filled, unreached phases skipped
  Value start, end, inputBase, start0;
};

struct BregSparseConvToLoopsPass
    : breg::impl::BregSparseConvToLoopsBase<BregSparseConvToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    // Beyond 64 lanes no target gains, and 10^9 lanes took minutes.
    if (vectorLength < 1 || accumulators < 1 || vectorLength > 64 ||
        accumulators > 64) {
      getOperation().emitError("breg-sparse-conv-to-loops: vector-length and "
                               "accumulators must be in [1, 64]");
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
