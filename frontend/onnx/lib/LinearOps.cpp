//===- LinearOps.cpp - Gemm and MatMul ------------------------------------===//

#include "OpHandlers.h"

#include <fmt/format.h>
#include <optional>

namespace bregman::onnx::detail {

namespace {

/// C broadcasts onto [M, N] only (never the reverse); before opset 7 only
/// with `broadcast` = 1, and without it C is [M, N] itself.
void checkGemmBias(const NodeContext &c, const Shape &bias, const Shape &out) {
  if (c.opset < 7 && c.flagAttr("broadcast", 0) == 0 && bias != out)
    throw c.error(fmt::format("C {} is not [M, N] = {}, and at opset {} (the model's) "
                              "only broadcast = 1 broadcasts it",
                              shapeString(bias), shapeString(out), c.opset));
  std::optional<Shape> joint = broadcastShapes(bias, out);
  if (!joint || *joint != out)
    throw c.error(fmt::format("C {} does not broadcast to [M, N] = {}", shapeString(bias),
                              shapeString(out)));
}

/// The CSR of input `i` when the weights hold one (nn::withCsrWeights under
/// the initializer's name: `bregman run --sparse-exec`), else nothing.
std::optional<CsrWeight> csrOf(const NodeContext &c, int i, const Tensor &dense) {
  auto [pos, crd, val] = nn::csrKeys(c.node.input(i));
  auto p = c.env.find(pos), k = c.env.find(crd), v = c.env.find(val);
  if (p == c.env.end() || k == c.env.end() || v == c.env.end() || dense.rank() != 2)
    return std::nullopt;
  return CsrWeight{p->second.tensor, k->second.tensor, v->second.tensor, dense,
                   dense.dim(0), dense.dim(1)};
}

/// op(A)·op(B) with B in CSR, in the form csrProduct picks for op(A)'s rows;
/// an A given transposed goes to the feature-major form as it is.
Tensor sparseProduct(const Tensor &a, bool transA, const CsrWeight &b, bool transB) {
  if (transA && !csrProductIsBatchMajor(a.dim(1), transB))
    return transpose(sparseMatmulLeft(b, a, !transB), {1, 0});
  return csrProduct(transA ? transpose(a, {1, 0}) : a, b, transB);
}

void gemm(const NodeContext &c) {
  Tensor a = c.tensor(0), b = c.tensor(1);
  if (a.rank() != 2 || b.rank() != 2)
    throw c.unsupported("Gemm operands must be 2-D");
  bool transA = c.flagAttr("transA", 0) != 0, transB = c.flagAttr("transB", 0) != 0;
  std::optional<CsrWeight> csr = csrOf(c, 1, b);
  Tensor y = csr ? sparseProduct(a, transA, *csr, transB) : matmul(a, b, transA, transB);
  double alpha = c.finiteAttr("alpha", 1.0f), beta = c.finiteAttr("beta", 1.0f);
  if (alpha != 1.0)
    y = y * alpha;
  if (c.has(2)) {
    Tensor bias = c.tensor(2);
    checkGemmBias(c, bias.shape(), y.shape());
    y = y + (beta != 1.0 ? bias * beta : bias);
  }
  c.set(y);
}

/// NumPy's matmul: batches broadcast; a 1-D operand is a row (a) or a
/// column (b) vector whose axis is dropped from the result. A 2-D
/// initializer B under an N-D input is nn.Linear on a sequence (one GEMM).
void matMul(const NodeContext &c) {
  Tensor a = c.tensor(0), b = c.tensor(1);
  if (a.rank() < 1 || b.rank() < 1)
    throw c.error(fmt::format("MatMul of {} and {} (scalars are not matrices)",
                              shapeString(a.shape()), shapeString(b.shape())));
  bool rowVector = a.rank() == 1, columnVector = b.rank() == 1;
  if (rowVector)
    a = reshape(a, {1, a.dim(0)});
  if (columnVector)
    b = reshape(b, {b.dim(0), 1});
  int64_t ka = a.dim(-1), kb = b.dim(-2);
  if (ka != kb)
    throw c.error(fmt::format("MatMul of {} and {}: inner dimensions {} and {} differ",
                              shapeString(c.tensor(0).shape()),
                              shapeString(c.tensor(1).shape()), ka, kb));
  std::optional<CsrWeight> csr =
      columnVector || ka == 0 ? std::nullopt : csrOf(c, 1, b);
  Tensor y;
  if (csr) { // a 2-D weight: the leading dimensions of a are rows
    Shape lead(a.shape().begin(), a.shape().end() - 1);
    lead.push_back(b.dim(1));
    Tensor rows = reshape(a, {a.numel() / ka, ka});
    y = reshape(csrProduct(rows, *csr, false), lead);
  } else {
    y = matmul(a, b);
  }
  Shape out = y.shape();
  if (columnVector)
    out.erase(out.end() - 1);
  if (rowVector)
    out.erase(out.end() - (columnVector ? 1 : 2));
  c.set(reshape(y, out));
}

} // namespace

// Gemm from opset 1: before 7 C broadcasts only with `broadcast` = 1;
// before 11 C is required (the ONNX checker enforces it).
std::vector<OpHandler> linearOps() {
  return {
      {"Gemm", 1, kNewestOpset, gemm,
       {{1, ParamRole::LinearWeight}, {2, ParamRole::Bias}}},
      {"MatMul", 1, kNewestOpset, matMul, {{1, ParamRole::LinearWeight}}},
  };
}

} // namespace bregman::onnx::detail
