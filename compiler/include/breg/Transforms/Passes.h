//===- Passes.h - Rewrites within linalg ------------------------*- C++ -*-===//
//
// Same-level rewrites of linalg programs: elementwise fusion, collapsing,
// vectorization, copies as linalg ops.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_TRANSFORMS_PASSES_H
#define BREG_TRANSFORMS_PASSES_H

// The passes' anchor (func.func) and dependent dialects (the generated
// pass bases register them).
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace breg {

#define GEN_PASS_DECL
#include "breg/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "breg/Transforms/Passes.h.inc"

} // namespace breg
} // namespace mlir

#endif // BREG_TRANSFORMS_PASSES_H
