//===- CompressRowsWithUpdate.cpp - An update and its CSR in one pass -----===//
//
// On CSR the training step compacts each sparse layer's new weights right
// after their update: a breg.compress_rows of the update generic's θ'
// (convert-breg-to-linalg lowers the update first). On the CPU both become
// one loop nest here, so that the CSR is a by-product of the update: each
// row runs V columns at a time through the update's body on vectors, writes
// θ' and the new state, and packs the chunk's non-zeros into the CSR from
// registers; θ' is not read back. A convolution filter's compaction (of
// its rows [O, C·KH·KW], a collapse_shape of θ') runs the update on its
// operands collapsed alike (collapseUpdate).
//
// A matrix whose update moves at least `parallelThreshold` (in the units of
// breg-vectorize-elementwise: 8 bytes) is split into equal blocks of whole
// rows run in parallel (scf.forall; threads through OpenMP). Block b, rows
// [r0, r1), compacts into the slots from r0·cols, which hold it (at most one
// entry per element, so its whole-vector stores stay below r1·cols), and
// its positions count from there. A serial pass then moves each later
// block's entries down behind the previous ones (downwards and front to
// back, so in place) and offsets its positions: work in proportion to the
// stored entries and the rows, not to the matrix.
//
//===----------------------------------------------------------------------===//

#include "CompressRowsVector.h"
#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::breg;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Whether `generic` computes its results elementwise over `shape` from
/// tensors of that shape (identity maps) and plain scalars (rank-0 maps),
/// with a body of scalar elementwise ops that cannot trap: what
/// `ChunkUpdate` can run on vectors, whose masked last chunk also computes
/// on zero padding (an integer division by it would fault). An input that
/// is also an init is refused: the loops would read the original while
/// writing the carried copy, which bufferization can only resolve with a
/// copy. (A group regulariser's update, which reads per-group norms, is not
/// such a generic and keeps the separate compaction.)
bool isChunkable(linalg::GenericOp generic, ArrayRef<int64_t> shape) {
  if (!generic.hasPureTensorSemantics() ||
      generic.getNumLoops() != static_cast<int64_t>(shape.size()) ||
      generic.getNumReductionLoops() != 0)
    return false;
  for (OpOperand &operand : generic->getOpOperands()) {
    AffineMap map = generic.getMatchingIndexingMap(&operand);
    Type type = operand.get().getType();
    if (auto tensor = llvm::dyn_cast<RankedTensorType>(type)) {
      if (tensor.getShape() != shape || !map.isIdentity() ||
          !tensor.getElementType().isIntOrFloat())
        return false;
    } else if (!type.isIntOrFloat() || map.getNumResults() != 0 ||
               generic.isDpsInit(&operand)) {
      return false;
    }
  }
  for (Value init : generic.getDpsInits())
    if (llvm::is_contained(generic.getDpsInputs(), init))
      return false;
  auto scalar = [](Type type) { return type.isIntOrFloat(); };
  for (Operation &op : generic.getBody()->without_terminator()) {
    if (op.getNumRegions() != 0 || !isPure(&op) ||
        (!llvm::isa<arith::ConstantOp>(op) &&
         !OpTrait::hasElementwiseMappableTraits(&op)) ||
        !llvm::all_of(op.getOperandTypes(), scalar) ||
        !llvm::all_of(op.getResultTypes(), scalar))
      return false;
  }
  return true;
}

/// The update generic whose θ' (its first result) `op` compacts, directly
/// or as the rows of a filter (a collapse_shape of θ'), when the two can
/// become one loop nest where the generic is: in the same block (a
/// compaction under a condition must not run unconditionally), with the
/// compaction's `into` operands defined before the generic.
linalg::GenericOp fusableUpdate(CompressRowsOp op, DominanceInfo &dominance) {
  Value theta = op.getMatrix();
  if (auto rowsOf = theta.getDefiningOp<tensor::CollapseShapeOp>())
    theta = rowsOf.getSrc(); // a filter's rows [O, C·KH·KW]
  auto generic = theta.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic->getResult(0) != theta ||
      generic->getBlock() != op->getBlock() || !op->getParentOfType<ModuleOp>())
    return {};
  auto type = llvm::cast<RankedTensorType>(theta.getType());
  if (!isChunkable(generic, type.getShape()))
    return {};
  // The fused loops write the CSR where the generic is.
  for (Value init : op.getInits())
    if (!dominance.properlyDominates(init, generic))
      return {};
  return generic;
}

/// `generic` (elementwise over a rank-n shape) as the same generic over the
/// matrix that `rowsOf` makes of its θ' (a filter's rows [O, C·KH·KW]):
/// linalg's collapseOpIterationDims collapses its iteration dimensions and
/// operands alike and expands the results back for their other users; `op`
/// then compacts the new θ'. Returns the new generic, or null.
linalg::GenericOp collapseUpdate(RewriterBase &rewriter, CompressRowsOp op,
                                 linalg::GenericOp generic,
                                 tensor::CollapseShapeOp rowsOf) {
  rewriter.setInsertionPoint(generic);
  FailureOr<linalg::CollapseResult> collapsed = linalg::collapseOpIterationDims(
      generic, rowsOf.getReassociationIndices(), rewriter);
  if (failed(collapsed))
    return {};
  auto matrices =
      llvm::cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
  rewriter.replaceOp(generic, collapsed->results);
  rewriter.modifyOpInPlace(
      op, [&] { op.getMatrixMutable().assign(matrices.getResult(0)); });
  if (rowsOf->use_empty())
    rewriter.eraseOp(rowsOf);
  return matrices;
}

/// The update generic's body on vector<V> chunks of a row.
struct ChunkUpdate {
  linalg::GenericOp generic;
  int64_t vectorLength;
  IRMapping scalars; // scalar inputs -> their broadcasts (made once)

  VectorType vectorOf(Type element) const {
    return VectorType::get({vectorLength}, element);
  }

  /// Chunk (row, col) of a [rows, cols] tensor (lanes under `mask` only).
  Value read(OpBuilder &b, Location loc, Value tensor, Value row, Value col,
             Value mask) const {
    Type element =
        llvm::cast<RankedTensorType>(tensor.getType()).getElementType();
    Value padding = arith::ConstantOp::create(
        b, loc, llvm::cast<TypedAttr>(b.getZeroAttr(element)));
    return vector::TransferReadOp::create(
        b, loc, vectorOf(element), tensor, ValueRange{row, col},
        AffineMapAttr::get(
            AffineMap::getMinorIdentityMap(2, 1, b.getContext())),
        padding, mask, b.getBoolArrayAttr({true}));
  }

  Value write(OpBuilder &b, Location loc, Value vector, Value tensor, Value row,
              Value col, Value mask) const {
    return vector::TransferWriteOp::create(
               b, loc, vector, tensor, ValueRange{row, col},
               AffineMapAttr::get(
                   AffineMap::getMinorIdentityMap(2, 1, b.getContext())),
               mask, b.getBoolArrayAttr({true}))
        .getResult();
  }

  /// Runs the body on chunk `col` of row `inputRow` of the inputs and row
  /// `row` of `outs` (the outputs' old values, where the body reads them),
  /// writes the results into `outs`; returns the outs and θ' (the first).
  std::pair<SmallVector<Value>, Value> apply(OpBuilder &b, Location loc,
                                             Value inputRow, Value row,
                                             Value col, ValueRange outs,
                                             Value mask) const {
    linalg::GenericOp generic = this->generic; // its accessors are not const
    Block *body = generic.getBody();
    IRMapping onLanes(scalars);
    for (OpOperand *input : generic.getDpsInputOperands())
      if (llvm::isa<RankedTensorType>(input->get().getType()) &&
          generic.payloadUsesValueFromOperand(input))
        onLanes.map(generic.getMatchingBlockArgument(input),
                    read(b, loc, input->get(), inputRow, col, mask));
    for (OpOperand &init : generic.getDpsInitsMutable())
      if (generic.payloadUsesValueFromOperand(&init))
        onLanes.map(
            generic.getMatchingBlockArgument(&init),
            read(b, loc,
                 outs[init.getOperandNumber() - generic.getNumDpsInputs()], row,
                 col, mask));
    auto lookup = [&](Value scalar) {
      if (!onLanes.contains(scalar)) // defined above the generic
        onLanes.map(scalar, vector::BroadcastOp::create(
                                b, loc, vectorOf(scalar.getType()), scalar));
      return onLanes.lookup(scalar);
    };
    for (Operation &op : body->without_terminator()) {
      if (auto constant = llvm::dyn_cast<arith::ConstantOp>(op)) {
        auto type = vectorOf(constant.getType());
        onLanes.map(constant.getResult(),
                    arith::ConstantOp::create(
                        b, loc, type,
                        SplatElementsAttr::get(type, constant.getValue())));
        continue;
      }
      for (Value operand : op.getOperands())
        lookup(operand);
      Operation *vectorOp = b.clone(op, onLanes);
      for (Value result : vectorOp->getResults())
        result.setType(vectorOf(result.getType()));
    }
    SmallVector<Value> written;
    for (auto [value, out] :
         llvm::zip(body->getTerminator()->getOperands(), outs))
      written.push_back(write(b, loc, lookup(value), out, row, col, mask));
    return {written, lookup(body->getTerminator()->getOperand(0))};
  }
};

/// The fused loops of one block of rows.
struct FusedRows {
  ChunkUpdate update;
  VectorPacker packer;
  int64_t cols;

  /// The update of chunk (row, col) (the first `valid` lanes) and the
  /// packing of its θ'; `carried` = {outs..., coordinates, values, count}.
  SmallVector<Value> chunk(OpBuilder &b, Location loc, Value inputRow,
                           Value row, Value col, int64_t valid,
                           ValueRange carried) const {
    int64_t lanes = update.vectorLength;
    size_t numOuts = carried.size() - 3;
    Value mask;
    if (valid < lanes)
      mask = vector::ConstantMaskOp::create(
          b, loc, VectorType::get({lanes}, b.getI1Type()), valid);
    auto [outs, theta] = update.apply(b, loc, inputRow, row, col,
                                      carried.take_front(numOuts), mask);
    SmallVector<Value> packed =
        packer.pack(b, loc, theta, col, carried.drop_front(numOuts), mask);
    outs.append(packed);
    return outs;
  }

  /// Rows [0, rowCount) of `outs` (inputs at firstRow + row), packed into
  /// csr = {positions, coordinates, values} from slot 0: positions[posBase +
  /// row] = the entries up to the end of the row. Returns the outs, then
  /// the positions, coordinates and values.
  SmallVector<Value> updateRows(OpBuilder &b, Location loc, Value firstRow,
                                int64_t rowCount, ValueRange outs,
                                ValueRange csr, int64_t posBase) const {
    int64_t lanes = update.vectorLength;
    int64_t fullCols = cols - cols % lanes;
    size_t numOuts = outs.size();
    SmallVector<Value> init(outs);
    init.append({csr[0], csr[1], csr[2], indexConstant(b, loc, 0)});
    auto rowLoop = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, rowCount),
        indexConstant(b, loc, 1), init,
        [&](OpBuilder &rb, Location l, Value row, ValueRange args) {
          Value inputRow = arith::AddIOp::create(rb, l, firstRow, row);
          SmallVector<Value> carried(args.take_front(numOuts));
          ValueRange packing = args.drop_front(numOuts + 1);
          carried.append(packing.begin(), packing.end());
          auto colLoop = scf::ForOp::create(
              rb, l, indexConstant(rb, l, 0), indexConstant(rb, l, fullCols),
              indexConstant(rb, l, lanes), carried,
              [&](OpBuilder &cb, Location cl, Value col, ValueRange chunkArgs) {
                scf::YieldOp::create(
                    cb, cl,
                    chunk(cb, cl, inputRow, row, col, lanes, chunkArgs));
              });
          carried.assign(colLoop.getResults().begin(),
                         colLoop.getResults().end());
          if (fullCols < cols)
            carried =
                chunk(rb, l, inputRow, row, indexConstant(rb, l, fullCols),
                      cols - fullCols, carried);
          Value count = carried.back();
          Value slot =
              arith::AddIOp::create(rb, l, row, indexConstant(rb, l, posBase));
          Value positions = tensor::InsertOp::create(
              rb, l, toI32(rb, l, count), args[numOuts], ValueRange{slot});
          SmallVector<Value> yielded(carried.begin(),
                                     carried.begin() + numOuts);
          yielded.append(
              {positions, carried[numOuts], carried[numOuts + 1], count});
          scf::YieldOp::create(rb, l, yielded);
        });
    return SmallVector<Value>(rowLoop.getResults().drop_back());
  }
};

/// The entries stored up to positions[slot], as an index.
Value entriesAt(OpBuilder &b, Location loc, Value positions, Value slot) {
  Value count = tensor::ExtractOp::create(b, loc, positions, ValueRange{slot});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), count);
}

/// Blocks of `rowsPerBlock` rows, each compacted from its own first slot,
/// joined: block b >= 1's entries move from slot b·rowsPerBlock·cols to
/// right behind block b - 1's, V at a time under a mask (each chunk read
/// before it is written, and the destination is below the source), and
/// block b's positions grow by where its entries now start. csr =
/// {positions, coordinates, values}; returns them.
SmallVector<Value> joinBlocks(OpBuilder &b, Location loc, int64_t lanes,
                              int64_t blockCount, int64_t rowsPerBlock,
                              int64_t cols, ValueRange csr) {
  auto i1Lanes = VectorType::get({lanes}, b.getI1Type());
  AffineMapAttr flat =
      AffineMapAttr::get(AffineMap::getMinorIdentityMap(1, 1, b.getContext()));
  auto move = [&](OpBuilder &mb, Location l, Value tensor, Value from, Value to,
                  Value mask) {
    Type element =
        llvm::cast<RankedTensorType>(tensor.getType()).getElementType();
    Value padding = arith::ConstantOp::create(
        mb, l, llvm::cast<TypedAttr>(mb.getZeroAttr(element)));
    Value chunk = vector::TransferReadOp::create(
        mb, l, VectorType::get({lanes}, element), tensor, ValueRange{from},
        flat, padding, mask, mb.getBoolArrayAttr({true}));
    return vector::TransferWriteOp::create(mb, l, chunk, tensor, ValueRange{to},
                                           flat, mask,
                                           mb.getBoolArrayAttr({true}))
        .getResult();
  };
  Value end = entriesAt(b, loc, csr[0], indexConstant(b, loc, rowsPerBlock));
  auto blockLoop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 1), indexConstant(b, loc, blockCount),
      indexConstant(b, loc, 1), ValueRange{csr[0], csr[1], csr[2], end},
      [&](OpBuilder &bb, Location l, Value block, ValueRange args) {
        Value firstRow = arith::MulIOp::create(
            bb, l, block, indexConstant(bb, l, rowsPerBlock));
        Value source =
            arith::MulIOp::create(bb, l, firstRow, indexConstant(bb, l, cols));
        Value lastSlot = arith::AddIOp::create(
            bb, l, firstRow, indexConstant(bb, l, rowsPerBlock));
        Value count = entriesAt(bb, l, args[0], lastSlot);
        Value start = args[3];
        auto moveLoop = scf::ForOp::create(
            bb, l, indexConstant(bb, l, 0), count, indexConstant(bb, l, lanes),
            ValueRange{args[1], args[2]},
            [&](OpBuilder &mb, Location ml, Value k, ValueRange entries) {
              Value left = arith::SubIOp::create(mb, ml, count, k);
              Value mask = vector::CreateMaskOp::create(mb, ml, i1Lanes, left);
              Value from = arith::AddIOp::create(mb, ml, source, k);
              Value to = arith::AddIOp::create(mb, ml, start, k);
              scf::YieldOp::create(
                  mb, ml,
                  ValueRange{move(mb, ml, entries[0], from, to, mask),
                             move(mb, ml, entries[1], from, to, mask)});
            });
        Value offset = toI32(bb, l, start);
        auto offsetLoop = scf::ForOp::create(
            bb, l,
            arith::AddIOp::create(bb, l, firstRow, indexConstant(bb, l, 1)),
            arith::AddIOp::create(bb, l, lastSlot, indexConstant(bb, l, 1)),
            indexConstant(bb, l, 1), ValueRange{args[0]},
            [&](OpBuilder &ob, Location ol, Value slot, ValueRange positions) {
              Value local = tensor::ExtractOp::create(ob, ol, positions[0],
                                                      ValueRange{slot});
              Value global = arith::AddIOp::create(ob, ol, local, offset);
              scf::YieldOp::create(ob, ol,
                                   tensor::InsertOp::create(ob, ol, global,
                                                            positions[0],
                                                            ValueRange{slot})
                                       .getResult());
            });
        scf::YieldOp::create(
            bb, l,
            ValueRange{offsetLoop.getResult(0), moveLoop.getResult(0),
                       moveLoop.getResult(1),
                       arith::AddIOp::create(bb, l, start, count)});
      });
  return SmallVector<Value>(blockLoop.getResults().take_front(3));
}

/// `rows` split into blocks of `rowsPerBlock` updated and compacted in
/// parallel (scf.forall over slices of `outs` and `csr`), then joined.
/// Returns the outs, then the positions, coordinates and values.
SmallVector<Value> parallelBlocks(OpBuilder &b, Location loc,
                                  const FusedRows &fused, int64_t rows,
                                  int64_t rowsPerBlock, ValueRange outs,
                                  ValueRange csr) {
  int64_t blockCount = rows / rowsPerBlock, cols = fused.cols;
  SmallVector<Value> shared(outs);
  shared.append(csr.begin(), csr.end());
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(blockCount)}, shared,
      std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value block = forall.getInductionVars()[0];
    Value firstRow = arith::MulIOp::create(b, loc, block,
                                           indexConstant(b, loc, rowsPerBlock));
    Value firstSlot =
        arith::MulIOp::create(b, loc, firstRow, indexConstant(b, loc, cols));
    Value firstPosition =
        arith::AddIOp::create(b, loc, firstRow, indexConstant(b, loc, 1));
    OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
    // Per shared tensor: offsets and sizes of this block's slice.
    SmallVector<std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>>
        slices;
    for (size_t i = 0; i < outs.size(); ++i)
      slices.push_back({{firstRow, zero},
                        {b.getIndexAttr(rowsPerBlock), b.getIndexAttr(cols)}});
    slices.push_back({{firstPosition}, {b.getIndexAttr(rowsPerBlock)}});
    for (int i = 0; i < 2; ++i)
      slices.push_back({{firstSlot}, {b.getIndexAttr(rowsPerBlock * cols)}});
    ValueRange args = forall.getRegionIterArgs();
    SmallVector<Value> pieces;
    for (auto [arg, slice] : llvm::zip(args, slices))
      pieces.push_back(tensor::ExtractSliceOp::create(
          b, loc, arg, slice.first, slice.second,
          SmallVector<OpFoldResult>(slice.first.size(), one)));
    ArrayRef<Value> all(pieces);
    SmallVector<Value> done = fused.updateRows(
        b, loc, firstRow, rowsPerBlock, all.take_front(outs.size()),
        all.drop_front(outs.size()), /*posBase=*/0);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [piece, arg, slice] : llvm::zip(done, args, slices))
      tensor::ParallelInsertSliceOp::create(
          b, loc, piece, arg, slice.first, slice.second,
          SmallVector<OpFoldResult>(slice.first.size(), one));
  }
  SmallVector<Value> results(forall.getResults());
  ArrayRef<Value> joined(results);
  SmallVector<Value> csrJoined =
      joinBlocks(b, loc, fused.update.vectorLength, blockCount, rowsPerBlock,
                 cols, joined.drop_front(outs.size()));
  SmallVector<Value> all(joined.take_front(outs.size()));
  all.append(csrJoined);
  return all;
}

/// Rows per parallel block, when the update moves at least
/// `parallelThreshold` (8-byte units, as breg-vectorize-elementwise counts):
/// the largest proper divisor of `rows` whose block holds at most 64 Ki
/// elements (that pass's largest chunk), if that block holds at least 4 Ki
/// (its smallest: below, a thread costs more than it saves). Otherwise all
/// rows, one serial loop.
int64_t rowsPerBlock(linalg::GenericOp generic, int64_t rows, int64_t cols,
                     int64_t parallelThreshold) {
  if (parallelThreshold <= 0)
    return rows;
  int64_t bytesPerElement = 0;
  for (OpOperand &operand : generic->getOpOperands()) {
    auto type = llvm::dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type)
      continue;
    int64_t moves = generic.payloadUsesValueFromOperand(&operand) +
                    generic.isDpsInit(&operand);
    bytesPerElement += moves * ((type.getElementTypeBitWidth() + 7) / 8);
  }
  if (rows * cols * bytesPerElement / 8 < parallelThreshold)
    return rows;
  for (int64_t d = rows - 1; d > 0; --d)
    if (rows % d == 0 && d * cols <= (1 << 16))
      return d * cols >= 4096 ? d : rows;
  return rows;
}

/// What the loops carry for an output of `generic`: its init, unless the
/// body never reads it and it is a read-only argument (not donated), which
/// bufferization would copy into a new buffer before the first write (the
/// loops write chunks, which it counts as reads of the rest); the generic
/// wrote a new buffer without that copy, and so does a tensor.empty.
Value startingTensor(OpBuilder &b, Location loc, linalg::GenericOp generic,
                     OpOperand &init) {
  auto argument = init.get().getDefiningOp<bufferization::ToTensorOp>();
  if (generic.payloadUsesValueFromOperand(&init) || !argument ||
      argument.getWritable())
    return init.get();
  auto type = llvm::cast<RankedTensorType>(init.get().getType());
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType());
}

/// Replaces `generic` and `op` by one loop nest where the generic is.
void fuse(RewriterBase &rewriter, CompressRowsOp op, linalg::GenericOp generic,
          int64_t vectorLength, int64_t parallelThreshold) {
  auto type = llvm::cast<RankedTensorType>(op.getMatrix().getType());
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(generic);
  FusedRows fused{ChunkUpdate{generic, vectorLength, {}},
                  VectorPacker::create(rewriter, loc,
                                       op->getParentOfType<ModuleOp>(),
                                       vectorLength),
                  cols};
  for (OpOperand *input : generic.getDpsInputOperands())
    if (!llvm::isa<RankedTensorType>(input->get().getType()))
      fused.update.scalars.map(
          generic.getMatchingBlockArgument(input),
          vector::BroadcastOp::create(
              rewriter, loc, fused.update.vectorOf(input->get().getType()),
              input->get()));
  SmallVector<Value> csr = compressRowsDestinations(rewriter, op);
  Value zero = indexConstant(rewriter, loc, 0);
  csr[0] = tensor::InsertOp::create(rewriter, loc, toI32(rewriter, loc, zero),
                                    csr[0], ValueRange{zero});
  SmallVector<Value> outs;
  for (OpOperand &init : generic.getDpsInitsMutable())
    outs.push_back(startingTensor(rewriter, loc, generic, init));
  int64_t perBlock = rowsPerBlock(generic, rows, cols, parallelThreshold);
  SmallVector<Value> results =
      perBlock == rows
          ? fused.updateRows(rewriter, loc, zero, rows, outs, csr,
                             /*posBase=*/1)
          : parallelBlocks(rewriter, loc, fused, rows, perBlock, outs, csr);
  ArrayRef<Value> all(results);
  rewriter.replaceOp(op, all.drop_front(outs.size()));
  rewriter.replaceOp(generic, all.take_front(outs.size()));
}

} // namespace

void mlir::breg::fuseCompressRowsWithUpdates(Operation *root,
                                             int64_t vectorLength,
                                             int64_t parallelThreshold) {
  SmallVector<CompressRowsOp> compactions;
  root->walk([&](CompressRowsOp op) { compactions.push_back(op); });
  DominanceInfo dominance(root);
  IRRewriter rewriter(root->getContext());
  for (CompressRowsOp op : compactions) {
    linalg::GenericOp generic = fusableUpdate(op, dominance);
    if (!generic)
      continue;
    if (auto rowsOf = op.getMatrix().getDefiningOp<tensor::CollapseShapeOp>())
      generic = collapseUpdate(rewriter, op, generic, rowsOf);
    if (generic)
      fuse(rewriter, op, generic, vectorLength, parallelThreshold);
  }
}
