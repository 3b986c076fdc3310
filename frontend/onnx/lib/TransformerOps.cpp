//===- TransformerOps.cpp - LayerNormalization, Erf, Where, Expand... ----===//
//
// The operators a transformer export needs beyond the CNN ones: layer
// normalization, Erf (GELU), comparisons and Where (masks), Expand, Gather
// on float data (embeddings, static picks). Booleans are f32 0/1 tensors, or
// static integers when they come from shape arithmetic (folded).
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

Shape shapeOf(const Value &v) { return v.isStatic ? v.shape : v.tensor.shape(); }

void layerNormalization(const NodeContext &c) {
  Tensor x = c.tensor(0);
  int64_t axis = c.axisAttr("axis", -1, x.rank());
  double eps = c.finiteAttr("epsilon", 1e-5f);
  if (eps < 0)
    throw c.badAttr("epsilon", fmt::format("{}", eps), "must be >= 0");
  if (c.intAttr("stash_type", 1) != 1)
    throw c.unsupported(fmt::format("stash_type = {} (only 1, float statistics)",
                                    c.intAttr("stash_type", 1)));
  Tensor scale = c.tensor(1), bias = c.has(2) ? c.tensor(2) : Tensor();
  int64_t normalized = x.rank() - axis;
  Shape normalizedShape(x.shape().begin() + axis, x.shape().end());
  for (const Tensor *p : {&scale, &bias})
    if (p->defined() && broadcastShape(c, p->shape(), normalizedShape) != normalizedShape)
      throw c.error(fmt::format("{} {} does not fit the normalized axes {} of {}",
                                p == &scale ? "Scale" : "B", shapeString(p->shape()),
                                shapeString(normalizedShape), shapeString(x.shape())));
  c.set(layerNorm(x, normalized, scale, bias, eps));
  // The optional Mean and InvStdDev outputs: [..., 1, ..., 1].
  bool wantsMean = c.node.output_size() > 1 && !c.node.output(1).empty();
  bool wantsInv = c.node.output_size() > 2 && !c.node.output(2).empty();
  if (!wantsMean && !wantsInv)
    return;
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < x.rank(); ++a)
    axes.push_back(a);
  Tensor mu = mean(x, axes, /*keepDims=*/true);
  Tensor centered = x - mu;
  Tensor var = mean(centered * centered, axes, /*keepDims=*/true);
  if (wantsMean)
    c.set(mu, 1);
  if (wantsInv)
    c.set(full({}, 1.0, x.dtype()) / sqrt(var + eps), 2);
}

void erfOp(const NodeContext &c) { c.set(erf(c.tensor(0))); }

/// Equal, Less, Greater (and their static folds).
void comparison(const NodeContext &c) {
  const std::string &op = c.op();
  bool folded =
      op == "Equal"  ? foldStatic(c, 2, [](const std::vector<int64_t> &a) -> int64_t { return a[0] == a[1]; })
      : op == "Less" ? foldStatic(c, 2, [](const std::vector<int64_t> &a) -> int64_t { return a[0] < a[1]; })
                     : foldStatic(c, 2, [](const std::vector<int64_t> &a) -> int64_t { return a[0] > a[1]; });
  if (folded)
    return;
  Tensor a = c.tensor(0), b = legacyBroadcastOperand(c, a, c.tensor(1));
  c.set(op == "Equal" ? equal(a, b) : op == "Less" ? less(a, b) : greater(a, b));
}

void notOp(const NodeContext &c) {
  if (foldStatic(c, 1, [](const std::vector<int64_t> &a) -> int64_t { return a[0] == 0; }))
    return;
  Tensor x = c.tensor(0);
  c.set(full({}, 1.0, x.dtype()) - x);
}

void whereOp(const NodeContext &c) {
  if (foldStatic(c, 3, [](const std::vector<int64_t> &a) { return a[0] ? a[1] : a[2]; }))
    return;
  const Value &cond = c.value(0);
  Tensor a = c.tensor(1), b = c.tensor(2);
  if (!cond.isStatic)
    return c.set(where(cond.tensor, a, b));
  // A constant condition picks one side everywhere, or it is a mask (a
  // causal mask folded by the exporter: torch.triu), held in the trace as
  // its runs of equal values.
  bool all = std::all_of(cond.ints.begin(), cond.ints.end(), [](int64_t v) { return v != 0; });
  bool none = std::none_of(cond.ints.begin(), cond.ints.end(),
                           [](int64_t v) { return v != 0; });
  Shape out = broadcastShape(c, cond.shape, broadcastShape(c, a.shape(), b.shape()));
  if (all || none)
    return c.set(broadcastTo(all ? a : b, out));
  std::vector<double> mask(cond.ints.begin(), cond.ints.end());
  c.set(
      where(tracedConstant(mask, cond.shape, nodeLabel(c.node) + " condition"),
            a, b));
}

/// The upper (or lower) triangle of the last two axes, from diagonal k
/// (torch.triu / tril, as scaled_dot_product_attention's is_causal mask
/// exports): the rest zero, by a constant mask of the last two axes.
void trilu(const NodeContext &c) {
  Tensor x = c.tensor(0);
  if (x.rank() < 2)
    throw c.error(fmt::format("input {} has fewer than two axes",
                              shapeString(x.shape())));
  int64_t k = 0;
  if (c.has(1)) {
    const std::vector<int64_t> &given = c.staticInts(1);
    if (given.size() != 1)
      throw c.error("k must be one integer");
    k = given[0];
  }
  bool upper = c.intAttr("upper", 1) != 0;
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  // The mask is a traced constant of at most 4096 runs, about two per row:
  // refused before rows·cols doubles are made on the host.
  constexpr int64_t kMostMaskRows = 2048;
  if (rows > kMostMaskRows && cols > 1)
    throw c.unsupported(fmt::format("a triangle of {} rows (its mask is traced "
                                    "as a constant; at most {} rows)",
                                    rows, kMostMaskRows));
  std::vector<double> mask(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      mask[i * cols + j] = upper ? j - i >= k : j - i <= k;
  Tensor kept = tracedConstant(mask, {rows, cols}, nodeLabel(c.node) + " mask");
  c.set(where(kept, x, full({}, 0.0, x.dtype())));
}

void expand(const NodeContext &c) {
  const Value &data = c.value(0);
  const std::vector<int64_t> &target = c.staticInts(1);
  for (int64_t d : target)
    if (d < 0)
      throw c.error(fmt::format("negative dimension in the shape [{}]", fmt::join(target, ", ")));
  Shape out = broadcastShape(c, shapeOf(data), Shape(target.begin(), target.end()));
  checkedCount(out, fmt::format("node '{}' (Expand) result", c.node.name()));
  if (data.isStatic) {
    std::vector<int64_t> ints(numElements(out));
    for (int64_t k = 0; k < static_cast<int64_t>(ints.size()); ++k)
      ints[k] = broadcastRead(data, out, k);
    return c.setStatic(ints, out);
  }
  c.set(broadcastTo(data.tensor, out));
}

/// Moves axis `from` of x to position `to`.
Tensor moveAxis(const Tensor &x, int64_t from, int64_t to) {
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (i != from)
      perm.push_back(i);
  perm.insert(perm.begin() + to, from);
  return transpose(x, perm);
}

/// Gather of float data along `axis` at static indices: one slice per index.
Tensor gatherStatic(const NodeContext &c, const Tensor &x, int64_t axis,
                    const Value &indices) {
  int64_t dim = x.dim(axis);
  if (indices.ints.size() > 4096)
    throw c.unsupported(fmt::format("{} constant indices (at most 4096 are traced as "
                                    "slices)",
                                    indices.ints.size()));
  std::vector<Tensor> parts;
  for (int64_t i : indices.ints) {
    if (i < -dim || i >= dim)
      throw c.error(fmt::format("index {} out of range for axis {} of {}", i, axis,
                                shapeString(x.shape())));
    parts.push_back(slice(x, axis, i < 0 ? i + dim : i, 1));
  }
  Tensor picked = parts.size() == 1 ? parts[0] : concat(parts, axis);
  Shape out(x.shape().begin(), x.shape().begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), x.shape().begin() + axis + 1, x.shape().end());
  return reshape(picked, out);
}

void gather(const NodeContext &c) {
  const Value &data = c.value(0), &indices = c.value(1);
  int64_t rank = static_cast<int64_t>(shapeOf(data).size());
  if (rank < 1)
    throw c.error("Gather on a scalar");
  int64_t axis = c.axisAttr("axis", 0, rank);
  if (data.isStatic) {
    // Shape vectors picked by constant indices: folded.
    if (data.shape.size() != 1 || !indices.isStatic)
      throw c.unsupported("Gather on integer data computed at run time (only constant "
                          "shape vectors are folded)");
    std::vector<int64_t> picked;
    int64_t n = static_cast<int64_t>(data.ints.size());
    for (int64_t i : indices.ints) {
      if (i < -n || i >= n)
        throw c.error(fmt::format("index {} out of range for {} values", i, n));
      picked.push_back(data.ints[i < 0 ? i + n : i]);
    }
    return c.setStatic(picked, indices.shape);
  }
  const Tensor &x = data.tensor;
  if (indices.isStatic)
    return c.set(gatherStatic(c, x, axis, indices));
  if (indices.tensor.dtype() != DType::I32)
    throw c.error(fmt::format("indices of type {} (integers expected)",
                              dtypeName(indices.tensor.dtype())));
  // Computed indices (token ids): rows of the data with the axis moved first.
  Tensor rows = take(moveAxis(x, axis, 0), indices.tensor);
  // rows: indices.shape + the other axes of x in order; put x's leading
  // axes back in front.
  int64_t q = indices.tensor.rank();
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < axis; ++i)
    perm.push_back(q + i);
  for (int64_t i = 0; i < q; ++i)
    perm.push_back(i);
  for (int64_t i = q + axis; i < rows.rank(); ++i)
    perm.push_back(i);
  c.set(transpose(rows, perm));
}

} // namespace

// LayerNormalization is an operator from opset 17 (a function before);
// Where from 9, Expand from 8, Erf from 9; Equal, Less and Greater from 1
// (before 7 with the legacy broadcasting), Not and Gather from 1. Gather's
// data initializer is an embedding table (token or position embeddings):
// it trains, its rows picked by the indices (take's gradient adds the rows'
// gradients back, a scatter-add; static indices are slices).
std::vector<OpHandler> transformerOps() {
  return {
      {"LayerNormalization",
       17,
       kNewestOpset,
       layerNormalization,
       {{1, ParamRole::Scale}, {2, ParamRole::Shift}}},
      {"Erf", 9, kNewestOpset, erfOp, {}},
      {"Equal", 1, kNewestOpset, comparison, {}},
      {"Less", 1, kNewestOpset, comparison, {}},
      {"Greater", 1, kNewestOpset, comparison, {}},
      {"Not", 1, kNewestOpset, notOp, {}},
      {"Where", 9, kNewestOpset, whereOp, {}},
      {"Trilu", 14, kNewestOpset, trilu, {}},
      {"Expand", 8, kNewestOpset, expand, {}},
      {"Gather", 1, kNewestOpset, gather, {{0, ParamRole::Embedding}}},
  };
}

} // namespace bregman::onnx::detail
