//===- Passes.td - Conversions out of breg ----------------*- tablegen -*-===//

#ifndef BREG_CONVERSION_PASSES_TD
#define BREG_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertBregToLinalg : Pass<"convert-breg-to-linalg"> {
  let summary = "Lower each breg op to one fused linalg.generic";
  let description = [{
    Every `breg` update or prox becomes a single elementwise `linalg.generic`
    on tensors whose scalar hyper-parameters are `ins` with a rank-0 indexing
    map. Updates write into their state operands (θ, v, m are the generic's
    `outs`), so that one-shot bufferization updates them in place.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def BregMatmulToLibraryCall : Pass<"breg-matmul-to-library-call", "::mlir::ModuleOp"> {
  let summary = "Replace linalg.matmul on contiguous memrefs by a GEMM library call";
  let description = [{
    After bufferization, each `linalg.matmul` whose operands are static,
    contiguous f32 buffers (plain or transposed through its indexing maps)
    becomes a call of `bregman_cpu_sgemm(transA, transB, M, N, K, beta, A, B, C)`,
    which the runtime implements with a tuned BLAS. A zero `linalg.fill` of the
    output right before the matmul is folded into beta = 0. Matmuls that do
    not fit stay as they are and are lowered to loops.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

#endif // BREG_CONVERSION_PASSES_TD
