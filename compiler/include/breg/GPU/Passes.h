//===- Passes.h - Mapping to the GPU ----------------------------*- C++ -*-===//
//
// The mapping of a bufferized program's linalg ops to gpu.launch and the
// finalization of the host code around the launches.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_GPU_PASSES_H
#define BREG_GPU_PASSES_H

// The passes' anchor (func.func) and dependent dialects (the generated
// pass bases register them).
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace breg {

#define GEN_PASS_DECL
#include "breg/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "breg/GPU/Passes.h.inc"

} // namespace breg
} // namespace mlir

#endif // BREG_GPU_PASSES_H
