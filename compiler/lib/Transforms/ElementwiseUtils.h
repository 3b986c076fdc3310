//===- ElementwiseUtils.h - Elementwise generics on buffers -----*- C++ -*-===//
//
// Shared by breg-collapse-elementwise and breg-vectorize-elementwise (private
// to compiler/lib/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef BREG_LIB_TRANSFORMS_ELEMENTWISEUTILS_H
#define BREG_LIB_TRANSFORMS_ELEMENTWISEUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
class IRRewriter;
namespace breg {

/// All-parallel, static, on buffers: the ops both passes handle.
bool isStaticElementwiseOnBuffers(linalg::GenericOp op);

/// The ops under `root` that isStaticElementwiseOnBuffers accepts, collected
/// first so that rewriting them does not disturb the walk.
SmallVector<linalg::GenericOp> staticElementwiseOpsIn(Operation *root);

/// `op` as a one-dimensional generic when every shaped operand is a
/// contiguous buffer read or written with the identity map (scalars are
/// fine), else `op` itself.
linalg::LinalgOp collapseContiguous(IRRewriter &rewriter, linalg::GenericOp op);

/// A flat (1-D) view of a contiguous (identity-layout) buffer; 0-D and 1-D
/// buffers as they are.
Value flattenContiguous(OpBuilder &b, Location loc, Value buffer);

} // namespace breg
} // namespace mlir

#endif // BREG_LIB_TRANSFORMS_ELEMENTWISEUTILS_H
