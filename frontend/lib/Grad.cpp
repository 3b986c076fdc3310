//===- Grad.cpp - VJP rules and the reverse pass --------------------------===//

#include "bregman/Grad.h"

#include "ConvPrims.h"

#include <fmt/format.h>
#include <map>

namespace bregman {
namespace detail {

int currentTraceSize(const char *caller) {
  Trace *trace = Trace::current();
  if (!trace)
    throw Error(fmt::format("{}: must be called inside a function traced by "
                            "bregman::jit",
                            caller));
  return static_cast<int>(trace->nodes().size());
}

/// Primitives whose outputs carry no gradient.
static bool isNonDifferentiable(Prim prim) {
  switch (prim) {
  case Prim::StopGradient:
  case Prim::DropoutMask:
  case Prim::OneHot:
  case Prim::ArgMax:
  case Prim::Equal:
  case Prim::Constant:
  case Prim::Input:
    return true;
  default:
    return isBregPrimitive(prim);
  }
}

/// Cotangents of a node's inputs given the cotangent `g` of its (single)
/// output. Entries may be empty for inputs without a gradient.
static std::vector<Tensor> vjp(const Node &node, const Trace &trace,
                               const Tensor &g) {
  auto in = [&](size_t i) { return trace.tensor(node.inputs[i]); };
  Tensor out = trace.tensor(node.outputs[0]);
  switch (node.prim) {
  case Prim::MatMul: {
    Tensor a = in(0), b = in(1);
    bool ta = node.attrs.transposeA, tb = node.attrs.transposeB;
    // C = op(A)·op(B); see ALGORITHMS-independent matrix calculus.
    Tensor da = ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
    Tensor db = tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
    return {da, db};
  }
  case Prim::Add:
    return {sumTo(g, in(0).shape()), sumTo(g, in(1).shape())};
  case Prim::Sub:
    return {sumTo(g, in(0).shape()), sumTo(-g, in(1).shape())};
  case Prim::Mul:
    return {sumTo(g * in(1), in(0).shape()), sumTo(g * in(0), in(1).shape())};
  case Prim::Div: {
    Tensor a = in(0), b = in(1);
    Tensor gb = g / b;
    return {sumTo(gb, a.shape()), sumTo(-(gb * out), b.shape())};
  }
  case Prim::Maximum: {
    // The gradient goes to `a` where a >= b (one side only on ties).
    Tensor a = in(0), b = in(1);
    Tensor pick = reluGrad(broadcastTo(a - b, out.shape()) + 0.0, g);
    Tensor ties = g * equal(broadcastTo(a, out.shape()), broadcastTo(b, out.shape()));
    Tensor ga = pick + ties;
    return {sumTo(ga, a.shape()), sumTo(g - ga, b.shape())};
  }
  case Prim::Neg:
    return {-g};
  case Prim::Exp:
    return {g * out};
  case Prim::Log:
    return {g / in(0)};
  case Prim::Relu:
    return {reluGrad(in(0), g)};
  case Prim::Abs:
    // sign(x)·g, 0 at x = 0.
    return {reluGrad(in(0), g) - reluGrad(-in(0), g)};
  case Prim::Sqrt:
    return {g * 0.5 / out};
  case Prim::ReluGrad:
    // d/dg of (g where x > 0); x gets none (piecewise constant).
    return {Tensor(), reluGrad(in(0), g)};
  case Prim::ReduceSum: {
    // Put the reduced axes back as 1s, then broadcast.
    Shape kept = in(0).shape();
    for (int64_t axis : node.attrs.axes)
      kept[axis] = 1;
    return {broadcastTo(reshape(g, kept), in(0).shape())};
  }
  case Prim::ReduceMax: {
    // The gradient goes to the maximal entries, split evenly among ties.
    Shape kept = in(0).shape();
    for (int64_t axis : node.attrs.axes)
      kept[axis] = 1;
    Tensor isMax = equal(in(0), broadcastTo(reshape(out, kept), in(0).shape()));
    Tensor count = sum(isMax, node.attrs.axes, true);
    return {isMax * broadcastTo(reshape(g, kept) / count, in(0).shape())};
  }
  case Prim::Broadcast:
    return {sumTo(g, in(0).shape())};
  case Prim::Conv2d: {
    const Window &w = node.attrs.window;
    return {conv2dGradInput(g, in(1), in(0).shape(), w),
            conv2dGradFilter(in(0), g, in(1).shape(), w)};
  }
  case Prim::Conv2dGradInput: {
    // A transposed convolution (a layer or a second derivative): its input
    // gradient is the forward convolution, its filter gradient the filter
    // gradient with the roles of input and output cotangent swapped.
    const Window &w = node.attrs.window;
    Conv2dOptions o{w.strides, w.padding, w.dilations, w.groups};
    return {conv2d(g, in(1), o), conv2dGradFilter(g, in(0), in(1).shape(), w)};
  }
  case Prim::MaxPool2d:
    return {maxPool2dGrad(in(0), g, node.attrs.window)};
  case Prim::SumPool2d:
    return {sumPool2dGrad(g, in(0).shape(), node.attrs.window)};
  case Prim::Concat: {
    std::vector<Tensor> parts;
    int64_t offset = 0;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      int64_t size = in(i).dim(node.attrs.axis);
      parts.push_back(slice(g, node.attrs.axis, offset, size));
      offset += size;
    }
    return parts;
  }
  case Prim::Slice: {
    // Zeros around the slice: concat with zero blocks before and after.
    Shape before = in(0).shape(), after = in(0).shape();
    int64_t axis = node.attrs.axis, start = node.attrs.start;
    before[axis] = start;
    after[axis] = in(0).dim(axis) - start - g.dim(axis);
    std::vector<Tensor> parts;
    if (before[axis] > 0)
      parts.push_back(full(before, 0.0, g.dtype()));
    parts.push_back(g);
    if (after[axis] > 0)
      parts.push_back(full(after, 0.0, g.dtype()));
    return {parts.size() == 1 ? g : concat(parts, axis)};
  }
  case Prim::Reshape:
    return {reshape(g, in(0).shape())};
  case Prim::Transpose: {
    std::vector<int64_t> inverse(node.attrs.axes.size());
    for (size_t i = 0; i < inverse.size(); ++i)
      inverse[node.attrs.axes[i]] = static_cast<int64_t>(i);
    return {transpose(g, inverse)};
  }
  default:
    throw Error(fmt::format("grad: primitive '{}' has no VJP rule",
                            primName(node.prim)));
  }
}

std::vector<Tensor> backward(const Tensor &output,
                             const std::vector<Tensor> &wrt, int firstNode) {
  Trace *trace = Trace::current();
  if (!output.isTraced() || output.trace() != trace)
    throw Error("grad: the function's result is not a value of the current "
                "trace (did it return a concrete tensor?)");
  if (output.numel() != 1)
    throw Error("grad: the function must return a scalar, got shape " +
                shapeString(output.shape()));
  if (output.dtype() == DType::I32)
    throw Error("grad: the function's result is an integer tensor");

  // Forward: which values depend on `wrt` through differentiable nodes.
  int lastNode = static_cast<int>(trace->nodes().size());
  std::vector<bool> active(trace->values().size(), false);
  for (const Tensor &w : wrt) {
    if (!w.isTraced() || w.trace() != trace)
      throw Error("grad: differentiating with respect to a tensor that is "
                  "not a value of the current trace (a concrete or captured "
                  "tensor); pass it as an argument of the jit function");
    active[w.value()] = true;
  }
  for (int n = firstNode; n < lastNode; ++n) {
    const Node &node = trace->nodes()[n];
    if (isNonDifferentiable(node.prim))
      continue;
    bool any = false;
    for (int v : node.inputs)
      any = any || active[v];
    if (any)
      for (int v : node.outputs)
        active[v] = true;
  }

  // Reverse: accumulate cotangents from the output back.
  std::map<int, Tensor> cotangent;
  if (active[output.value()])
    cotangent[output.value()] = full(output.shape(), 1.0, output.dtype());
  for (int n = lastNode - 1; n >= firstNode; --n) {
    const Node node = trace->nodes()[n]; // copy: the trace grows below
    if (isNonDifferentiable(node.prim) || node.outputs.size() != 1)
      continue;
    auto it = cotangent.find(node.outputs[0]);
    if (it == cotangent.end())
      continue;
    Tensor g = it->second;
    std::vector<Tensor> grads = vjp(node, *trace, g);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      int v = node.inputs[i];
      if (!active[v] || i >= grads.size() || !grads[i].defined())
        continue;
      auto existing = cotangent.find(v);
      if (existing == cotangent.end())
        cotangent[v] = grads[i];
      else
        existing->second = existing->second + grads[i];
    }
  }

  std::vector<Tensor> result;
  for (const Tensor &w : wrt) {
    auto it = cotangent.find(w.value());
    result.push_back(it != cotangent.end() ? it->second
                                           : full(w.shape(), 0.0, w.dtype()));
  }
  return result;
}

} // namespace detail
} // namespace bregman
