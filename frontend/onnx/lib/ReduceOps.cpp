//===- ReduceOps.cpp - ReduceMean, ReduceSum, ReduceMax, ReduceMin, norms -===//

#include "OpHandlers.h"

#include <algorithm>
#include <fmt/format.h>

namespace bregman::onnx::detail {

namespace {

/// ReduceSum and the reductions built on a sum: of |x| (L1), of x² (the
/// sum of squares, and its root: L2, F.normalize's norm), of x (log), and
/// log Σ exp(x) from the largest term (no overflow; its gradient is the
/// softmax).
Tensor normLike(const std::string &op, const Tensor &x,
                const std::vector<int64_t> &axes, bool keep) {
  if (op == "ReduceL1")
    return sum(abs(x), axes, keep);
  if (op == "ReduceSumSquare")
    return sum(x * x, axes, keep);
  if (op == "ReduceL2")
    return sqrt(sum(x * x, axes, keep));
  if (op == "ReduceLogSum")
    return log(sum(x, axes, keep));
  if (op == "ReduceLogSumExp") {
    Tensor largest = max(x, axes, /*keepDims=*/true);
    Tensor total =
        log(sum(exp(x - largest), axes, /*keepDims=*/true)) + largest;
    if (keep)
      return total;
    Shape out;
    for (int64_t i = 0; i < x.rank(); ++i)
      if (std::find(axes.begin(), axes.end(), i) == axes.end())
        out.push_back(x.dim(i));
    return reshape(total, out);
  }
  return sum(x, axes, keep);
}

void reduce(const NodeContext &c) {
  const std::string &op = c.op();
  Tensor x = c.tensor(0);
  // ReduceSum takes its axes as an input from opset 13, the others from 18.
  std::vector<int64_t> axes;
  if ((op == "ReduceSum" && c.opset >= 13) || c.opset >= 18) {
    // Past libonnx's newest opset no checker sees the node: the attribute
    // the input replaced would otherwise be silently ignored.
    if (findAttr(c.node, "axes"))
      throw c.error(fmt::format("axes is an attribute, but {} takes it as an input at "
                                "opset {}",
                                op, c.opset));
    if (c.has(1))
      axes = c.staticInts(1);
  } else {
    axes = c.intsAttr("axes");
  }
  if (axes.empty()) {
    if (c.flagAttr("noop_with_empty_axes", 0) != 0)
      return c.set(x);
    for (int64_t i = 0; i < x.rank(); ++i)
      axes.push_back(i);
  }
  for (int64_t &a : axes)
    a = c.axis(a, x.rank());
  bool keep = c.flagAttr("keepdims", 1) != 0;
  if (op == "ReduceMax")
    return c.set(max(x, axes, keep));
  if (op == "ReduceMin")
    return c.set(-max(-x, axes, keep));
  if (op == "ReduceMean")
    return c.set(mean(x, axes, keep));
  c.set(normLike(op, x, axes, keep));
}

} // namespace

std::vector<OpHandler> reduceOps() {
  return {
      {"ReduceMean", 1, kNewestOpset, reduce, {}},
      {"ReduceSum", 1, kNewestOpset, reduce, {}},
      {"ReduceMax", 1, kNewestOpset, reduce, {}},
      {"ReduceMin", 1, kNewestOpset, reduce, {}},
      {"ReduceL1", 1, kNewestOpset, reduce, {}},
      {"ReduceL2", 1, kNewestOpset, reduce, {}},
      {"ReduceSumSquare", 1, kNewestOpset, reduce, {}},
      {"ReduceLogSum", 1, kNewestOpset, reduce, {}},
      {"ReduceLogSumExp", 1, kNewestOpset, reduce, {}},
  };
}

} // namespace bregman::onnx::detail
