//===- ElementwiseUtils.cpp - Elementwise generics on buffers -------------===//

#include "ElementwiseUtils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

SmallVector<linalg::GenericOp>
mlir::breg::staticElementwiseOpsIn(Operation *root) {
  SmallVector<linalg::GenericOp> ops;
  root->walk([&](linalg::GenericOp op) {
    if (isStaticElementwiseOnBuffers(op))
      ops.push_back(op);
  });
  return ops;
}

bool mlir::breg::isStaticElementwiseOnBuffers(linalg::GenericOp op) {
  return op.hasPureBufferSemantics() && op.getNumLoops() > 0 &&
         op.getNumParallelLoops() == op.getNumLoops() &&
         !ShapedType::isDynamicShape(op.getStaticLoopRanges());
}

/// Whether every shaped operand is a contiguous buffer read or written with
/// the identity map (scalars are fine): then the loops can be merged.
static bool isContiguousElementwise(linalg::GenericOp op) {
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = llvm::dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      continue;
    if (!type.getLayout().isIdentity() ||
        !op.getMatchingIndexingMap(&operand).isIdentity())
      return false;
  }
  return true;
}

Value mlir::breg::flattenContiguous(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() <= 1)
    return buffer;
  ReassociationIndices all;
  for (int64_t r = 0; r < type.getRank(); ++r)
    all.push_back(r);
  return memref::CollapseShapeOp::create(
      b, loc, buffer, SmallVector<ReassociationIndices>{all});
}

linalg::LinalgOp mlir::breg::collapseContiguous(IRRewriter &rewriter,
                                               linalg::GenericOp op) {
  if (op.getNumLoops() <= 1 || !isContiguousElementwise(op))
    return op;
  ReassociationIndices all;
  for (unsigned i = 0; i < op.getNumLoops(); ++i)
    all.push_back(i);
  if (!linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), {all}))
    return op;
  rewriter.setInsertionPoint(op);
  linalg::LinalgOp linalgOp = op;
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(linalgOp, {all}, rewriter);
  if (failed(collapsed))
    return op;
  rewriter.eraseOp(op);
  return collapsed->collapsedOp;
}
