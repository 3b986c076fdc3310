//===- Emit.h - Trace -> MLIR (internal) ------------------------*- C++ -*-===//

#ifndef BREGMAN_LIB_EMIT_H
#define BREGMAN_LIB_EMIT_H

#include "bregman/Trace.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace bregman::detail {

/// What `jit` asks of the emitter: which trace values leave the function and,
/// for each, the trace input whose buffer it overwrites (donation) or -1.
struct EmitSpec {
  const Trace *trace = nullptr;
  std::vector<int> outputs;
  std::vector<int> outputAlias; // index into trace->inputs(), or -1
  std::string functionName = "main";
};

/// Emits `func.func @<name>(inputs..., fresh outputs...)` on memrefs with the
/// computation on tensors (linalg, tensor, arith, math, breg) in between.
/// Inputs are read through `bufferization.to_tensor`, results are written with
/// `bufferization.materialize_in_destination`, so that the function has no
/// results and every buffer is the caller's.
mlir::OwningOpRef<mlir::ModuleOp> emitModule(mlir::MLIRContext &context,
                                             const EmitSpec &spec);

/// For each of `spec.trace`'s inputs, whether the code emitModule emits for
/// `spec` reads it: a node's emission reads it, it is an output, or an output
/// overwrites it. (A sparse_matmul node carries the dense weight for its VJP
/// only; its emission reads the CSR.) Jitted::save stores no value for the
/// others.
std::vector<bool> emittedInputReads(const EmitSpec &spec);

} // namespace bregman::detail

#endif // BREGMAN_LIB_EMIT_H
