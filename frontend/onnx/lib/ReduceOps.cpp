//===- ReduceOps.cpp - ReduceMean, ReduceSum, ReduceMax, ReduceMin --------===//

#include "OpHandlers.h"

#include <fmt/format.h>

namespace bregman::onnx::detail {

namespace {

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
  c.set(op == "ReduceMean" ? mean(x, axes, keep) : sum(x, axes, keep));
}

} // namespace

std::vector<OpHandler> reduceOps() {
  return {
      {"ReduceMean", 1, kNewestOpset, reduce, {}},
      {"ReduceSum", 1, kNewestOpset, reduce, {}},
      {"ReduceMax", 1, kNewestOpset, reduce, {}},
      {"ReduceMin", 1, kNewestOpset, reduce, {}},
  };
}

} // namespace bregman::onnx::detail
