//===- CompressRowsVector.h - The vector compaction's pieces ----*- C++ -*-===//
//
// Shared by the compaction of a matrix (CompressRowsToLoops.cpp) and the one
// fused into the update that makes the matrix (CompressRowsWithUpdate.cpp);
// private to compiler/lib/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_LIB_CONVERSION_COMPRESSROWSVECTOR_H
#define BREG_LIB_CONVERSION_COMPRESSROWSVECTOR_H

#include "breg/Dialect/Breg/IR/BregDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::breg {

/// An index as the CSR's i32.
Value toI32(OpBuilder &b, Location loc, Value index);

/// The tensors the three results of `op` start from: its `into` operands, or
/// new empty tensors (at the insertion point).
SmallVector<Value> compressRowsDestinations(OpBuilder &b, CompressRowsOp op);

/// Lowers each breg.compress_rows under `root` whose matrix is the first
/// result of an elementwise update generic, together with that generic, to
/// one vector loop nest (CompressRowsWithUpdate.cpp): the CSR becomes a
/// by-product of the update. Blocks of rows run in parallel where the update
/// moves at least `parallelThreshold` (0: never). Others are left alone.
void fuseCompressRowsWithUpdates(Operation *root, int64_t vectorLength,
                                 int64_t parallelThreshold);

/// Packs chunks of V f32 lanes into a CSR's coordinates and values, which
/// are tensors carried by the caller's loops ({coordinates, values, count}).
struct VectorPacker {
  Value laneIndices; // vector<Vxi32>: 0..V-1
  int64_t vectorLength = 0;
  LLVM::LLVMFuncOp compressF32, compressI32;

  /// The helpers (in `module`) and the lane indices (at the insertion point).
  static VectorPacker create(RewriterBase &rewriter, Location loc,
                             ModuleOp module, int64_t vectorLength);

  /// Stores the non-zero lanes of `x` (x != 0 unordered: NaN stored, -0.0
  /// not; with `inRow`, a chunk's tail, only lanes under it) and their
  /// columns (col + lane), packed at slot `count` of `carried`; returns them
  /// with count grown by the number stored. A full chunk stores whole
  /// vectors (in bounds when slot count + V <= the capacity: the caller's
  /// bound); a tail stores only the packed lanes (it may end at the
  /// capacity).
  SmallVector<Value> pack(OpBuilder &b, Location loc, Value x, Value col,
                          ValueRange carried, Value inRow = Value()) const;

private:
  Value compress(OpBuilder &b, Location loc, Value vector, Value mask) const;
  Value popCount(OpBuilder &b, Location loc, Value mask) const;
};

} // namespace mlir::breg

#endif // BREG_LIB_CONVERSION_COMPRESSROWSVECTOR_H
