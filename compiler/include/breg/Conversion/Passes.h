//===- Passes.h - Conversions out of breg and linalg ------------*- C++ -*-===//
//
// Dialect-to-dialect passes: breg -> linalg, breg and linalg -> library
// calls, gpu.launch -> loops.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_CONVERSION_PASSES_H
#define BREG_CONVERSION_PASSES_H

// The dependent dialects of the passes below (the generated pass bases
// register them).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace breg {

#define GEN_PASS_DECL
#include "breg/Conversion/Passes.h.inc"

/// Adds the patterns that lower breg ops to linalg.generic (and, with
/// `compress`, breg.compress_rows to loops on its own; the pass lowers a
/// compaction of an update's θ' together with the update instead).
void populateBregToLinalgPatterns(RewritePatternSet &patterns,
                                  bool tileGroups = true,
                                  int64_t compressVectorLength = 16,
                                  bool compress = true);
/// The generated form of the convolution ops (part of the above).
void populateBregConvToLinalgPatterns(RewritePatternSet &patterns);
/// breg.compress_rows (part of populateBregToLinalgPatterns): with
/// vectorLength > 0 as loops over chunks of that many f32 lanes packed in
/// registers (LLVM's vector.compress) on buffers, with 0 as scalar scf loops
/// on tensors.
void populateBregCompressRowsPatterns(RewritePatternSet &patterns,
                                      int64_t vectorLength = 16);
/// Pooling and its gradients, argmax, one-hot and the dropout mask
/// (convert-breg-pooling-to-linalg).
void populateBregPoolingToLinalgPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "breg/Conversion/Passes.h.inc"

} // namespace breg
} // namespace mlir

#endif // BREG_CONVERSION_PASSES_H
