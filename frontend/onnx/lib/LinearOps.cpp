//===- LinearOps.cpp - Gemm and MatMul ------------------------------------===//

#include "OpHandlers.h"

#include <fmt/format.h>

namespace bregman::onnx::detail {

namespace {

void gemm(const NodeContext &c) {
  Tensor a = c.tensor(0), b = c.tensor(1);
  if (a.rank() != 2 || b.rank() != 2)
    throw c.unsupported("Gemm operands must be 2-D");
  Tensor y = matmul(a, b, c.flagAttr("transA", 0) != 0, c.flagAttr("transB", 0) != 0);
  double alpha = c.finiteAttr("alpha", 1.0f), beta = c.finiteAttr("beta", 1.0f);
  if (alpha != 1.0)
    y = y * alpha;
  if (c.has(2))
    y = y + (beta != 1.0 ? c.tensor(2) * beta : c.tensor(2));
  c.set(y);
}

void matMul(const NodeContext &c) {
  Tensor a = c.tensor(0), b = c.tensor(1);
  if (a.rank() != 2 || b.rank() != 2)
    throw c.unsupported(fmt::format("MatMul of {} and {} (2-D only)",
                                    shapeString(a.shape()), shapeString(b.shape())));
  c.set(matmul(a, b));
}

} // namespace

std::vector<OpHandler> linearOps() {
  return {
      {"Gemm", 1, kNewestOpset, gemm,
       {{1, ParamRole::LinearWeight}, {2, ParamRole::Bias}}},
      {"MatMul", 1, kNewestOpset, matMul, {{1, ParamRole::LinearWeight}}},
  };
}

} // namespace bregman::onnx::detail
