//===- Grad.cpp - VJP rules and the reverse pass --------------------------===//

#include "bregman/Grad.h"

#include "ConvPrims.h"

#include <cmath>
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
  PrimGradient g = primGradient(prim);
  return g == PrimGradient::Zero || g == PrimGradient::Breg;
}

namespace {

/// What a VJP rule sees: the node, its inputs and (single) output, the
/// cotangent `g` of the output, and which inputs want a cotangent.
struct VjpArgs {
  const Node &node;
  const Trace &trace;
  const Tensor &g;
  Tensor out;
  const std::vector<bool> &active;

  Tensor in(size_t i) const { return trace.tensor(node.inputs[i]); }
  /// Whether input i depends on what is differentiated. A rule computes
  /// only these cotangents: the others would be traced, emitted and
  /// compiled before being dropped (a batch norm's constants, a network's
  /// input images, a mean's divisor).
  bool needs(size_t i) const { return active[node.inputs[i]]; }
  /// `make()` if input i needs a cotangent, else none.
  template <typename F> Tensor ifNeeded(size_t i, F make) const {
    return needs(i) ? make() : Tensor();
  }
  const NodeAttrs &attrs() const { return node.attrs; }
};

/// Cotangents of a node's inputs; entries may be empty for inputs without a
/// gradient.
using VjpRule = std::vector<Tensor> (*)(const VjpArgs &);

std::vector<Tensor> vjpMatMul(const VjpArgs &v) {
  Tensor a = v.in(0), b = v.in(1);
  const Tensor &g = v.g;
  bool ta = v.attrs().transposeA, tb = v.attrs().transposeB;
  // C = op(A)·op(B): dA = g·op(B)ᵀ, dB = op(A)ᵀ·g, transposed back as needed.
  Tensor da = v.ifNeeded(0, [&] {
    return ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
  });
  Tensor db = v.ifNeeded(1, [&] {
    return tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
  });
  return {da, db};
}

std::vector<Tensor> vjpAdd(const VjpArgs &v) {
  return {v.ifNeeded(0, [&] { return sumTo(v.g, v.in(0).shape()); }),
          v.ifNeeded(1, [&] { return sumTo(v.g, v.in(1).shape()); })};
}

std::vector<Tensor> vjpSub(const VjpArgs &v) {
  return {v.ifNeeded(0, [&] { return sumTo(v.g, v.in(0).shape()); }),
          v.ifNeeded(1, [&] { return sumTo(-v.g, v.in(1).shape()); })};
}

std::vector<Tensor> vjpMul(const VjpArgs &v) {
  return {v.ifNeeded(0, [&] { return sumTo(v.g * v.in(1), v.in(0).shape()); }),
          v.ifNeeded(1, [&] { return sumTo(v.g * v.in(0), v.in(1).shape()); })};
}

std::vector<Tensor> vjpDiv(const VjpArgs &v) {
  Tensor a = v.in(0), b = v.in(1);
  Tensor gb = v.g / b;
  return {v.ifNeeded(0, [&] { return sumTo(gb, a.shape()); }),
          v.ifNeeded(1, [&] { return sumTo(-(gb * v.out), b.shape()); })};
}

std::vector<Tensor> vjpMaximum(const VjpArgs &v) {
  // As JAX and PyTorch: the gradient goes to the larger operand, half to
  // each on ties, and to neither where one is NaN.
  Tensor a = v.in(0), b = v.in(1);
  const Shape &shape = v.out.shape();
  Tensor difference = broadcastTo(a - b, shape) + 0.0;
  Tensor halfTies =
      v.g * equal(broadcastTo(a, shape), broadcastTo(b, shape)) * 0.5;
  return {v.ifNeeded(0,
                     [&] {
                       return sumTo(reluGrad(difference, v.g) + halfTies,
                                    a.shape());
                     }),
          v.ifNeeded(1, [&] {
            return sumTo(reluGrad(-difference, v.g) + halfTies, b.shape());
          })};
}

std::vector<Tensor> vjpNeg(const VjpArgs &v) { return {-v.g}; }
std::vector<Tensor> vjpExp(const VjpArgs &v) { return {v.g * v.out}; }
std::vector<Tensor> vjpLog(const VjpArgs &v) { return {v.g / v.in(0)}; }
std::vector<Tensor> vjpRelu(const VjpArgs &v) { return {reluGrad(v.in(0), v.g)}; }

std::vector<Tensor> vjpAbs(const VjpArgs &v) {
  // sign(x)·g, 0 at x = 0.
  return {reluGrad(v.in(0), v.g) - reluGrad(-v.in(0), v.g)};
}

std::vector<Tensor> vjpSqrt(const VjpArgs &v) { return {v.g * 0.5 / v.out}; }

// sigmoid' = s(x)·s(−x) and tanh' = 4·s(2x)·s(−2x): products of values in
// (0, 1], finite everywhere and accurate to the last bit even where s or t
// rounds to ±1 (1 − s and 1 − t² would be 0 there).
std::vector<Tensor> vjpSigmoid(const VjpArgs &v) {
  return {v.g * (v.out * sigmoid(-v.in(0)))};
}
std::vector<Tensor> vjpTanh(const VjpArgs &v) {
  Tensor twice = v.in(0) * 2.0;
  return {v.g * (sigmoid(twice) * sigmoid(-twice) * 4.0)};
}

std::vector<Tensor> vjpReluGrad(const VjpArgs &v) {
  // d/dg of (g where x > 0); x gets none (piecewise constant).
  return {Tensor(), reluGrad(v.in(0), v.g)};
}

/// The input's shape with the reduced axes kept as 1s.
Shape keptDims(const VjpArgs &v) {
  Shape kept = v.in(0).shape();
  for (int64_t axis : v.attrs().axes)
    kept[axis] = 1;
  return kept;
}

std::vector<Tensor> vjpReduceSum(const VjpArgs &v) {
  return {broadcastTo(reshape(v.g, keptDims(v)), v.in(0).shape())};
}

std::vector<Tensor> vjpReduceMax(const VjpArgs &v) {
  // The gradient goes to the maximal entries, split evenly among ties.
  Shape kept = keptDims(v);
  Tensor x = v.in(0);
  Tensor isMax = equal(x, broadcastTo(reshape(v.out, kept), x.shape()));
  Tensor count = sum(isMax, v.attrs().axes, true);
  return {isMax * broadcastTo(reshape(v.g, kept) / count, x.shape())};
}

std::vector<Tensor> vjpBroadcast(const VjpArgs &v) {
  return {sumTo(v.g, v.in(0).shape())};
}

std::vector<Tensor> vjpConv2d(const VjpArgs &v) {
  const Window &w = v.attrs().window;
  return {v.ifNeeded(0, [&] {
            return conv2dGradInput(v.g, v.in(1), v.in(0).shape(), w);
          }),
          v.ifNeeded(1, [&] {
            return conv2dGradFilter(v.in(0), v.g, v.in(1).shape(), w);
          })};
}

std::vector<Tensor> vjpConv2dGradInput(const VjpArgs &v) {
  // A transposed convolution (a layer or a second derivative): its input
  // gradient is the forward convolution, its filter gradient the filter
  // gradient with the roles of input and output cotangent swapped.
  const Window &w = v.attrs().window;
  Conv2dOptions o{w.strides, w.padding, w.dilations, w.groups};
  return {v.ifNeeded(0, [&] { return conv2d(v.g, v.in(1), o); }),
          v.ifNeeded(1, [&] {
            return conv2dGradFilter(v.g, v.in(0), v.in(1).shape(), w);
          })};
}

std::vector<Tensor> vjpMaxPool2d(const VjpArgs &v) {
  return {maxPool2dGrad(v.in(0), v.g, v.attrs().window)};
}

std::vector<Tensor> vjpSumPool2d(const VjpArgs &v) {
  return {sumPool2dGrad(v.g, v.in(0).shape(), v.attrs().window)};
}

std::vector<Tensor> vjpConcat(const VjpArgs &v) {
  std::vector<Tensor> parts;
  int64_t offset = 0, axis = v.attrs().axis;
  for (size_t i = 0; i < v.node.inputs.size(); ++i) {
    int64_t size = v.in(i).dim(axis);
    parts.push_back(v.ifNeeded(i, [&] { return slice(v.g, axis, offset, size); }));
    offset += size;
  }
  return parts;
}

std::vector<Tensor> vjpSlice(const VjpArgs &v) {
  // Zeros around the slice: concat with zero blocks before and after.
  const Tensor &g = v.g;
  Shape before = v.in(0).shape(), after = v.in(0).shape();
  int64_t axis = v.attrs().axis, start = v.attrs().start;
  before[axis] = start;
  after[axis] = v.in(0).dim(axis) - start - g.dim(axis);
  std::vector<Tensor> parts;
  if (before[axis] > 0)
    parts.push_back(full(before, 0.0, g.dtype()));
  parts.push_back(g);
  if (after[axis] > 0)
    parts.push_back(full(after, 0.0, g.dtype()));
  return {parts.size() == 1 ? g : concat(parts, axis)};
}

std::vector<Tensor> vjpGradArgument(const VjpArgs &v) { return {v.g}; }

std::vector<Tensor> vjpReshape(const VjpArgs &v) {
  return {reshape(v.g, v.in(0).shape())};
}

std::vector<Tensor> vjpTranspose(const VjpArgs &v) {
  const std::vector<int64_t> &axes = v.attrs().axes;
  std::vector<int64_t> inverse(axes.size());
  for (size_t i = 0; i < inverse.size(); ++i)
    inverse[axes[i]] = static_cast<int64_t>(i);
  return {transpose(v.g, inverse)};
}

std::vector<Tensor> vjpBatchMatMul(const VjpArgs &v) {
  // The 2-D rule per batch (matmul on rank-3 operands is batched).
  return vjpMatMul(v);
}

std::vector<Tensor> vjpErf(const VjpArgs &v) {
  Tensor x = v.in(0);
  return {v.g * exp(-(x * x)) * (2.0 / std::sqrt(M_PI))};
}

std::vector<Tensor> vjpErfc(const VjpArgs &v) {
  Tensor x = v.in(0);
  return {v.g * exp(-(x * x)) * (-2.0 / std::sqrt(M_PI))};
}

std::vector<Tensor> vjpSin(const VjpArgs &v) { return {v.g * cos(v.in(0))}; }

std::vector<Tensor> vjpCos(const VjpArgs &v) { return {-(v.g * sin(v.in(0)))}; }

std::vector<Tensor> vjpSelect(const VjpArgs &v) {
  // Each side gets the cotangent where it was picked (zeros elsewhere, so
  // that an infinite unpicked value cannot turn into NaN).
  Tensor cond = v.in(0), zero = full({}, 0.0, v.g.dtype());
  return {Tensor(),
          v.ifNeeded(1, [&] { return sumTo(where(cond, v.g, zero), v.in(1).shape()); }),
          v.ifNeeded(2, [&] { return sumTo(where(cond, zero, v.g), v.in(2).shape()); })};
}

std::vector<Tensor> vjpTake(const VjpArgs &v) {
  // Scatter-add of the rows: oneHot(indices)ᵀ·g (one GEMM); indices
  // outside [0, V) have all-zero one-hot rows, as they picked zeros.
  Tensor table = v.in(0), indices = v.in(1);
  int64_t rows = indices.numel(), width = table.numel() / table.dim(0);
  Tensor hot = oneHot(indices, table.dim(0), table.dtype());
  Tensor g = reshape(v.g, {rows, width});
  return {reshape(matmul(hot, g, /*transposeA=*/true), table.shape()), Tensor()};
}

std::vector<Tensor> vjpSparseMatMul(const VjpArgs &v) {
  // Right form y = a·op(W): da = g·op(W)ᵀ on the same CSR, dW = gᵀ·a (op =
  // ᵀ) or aᵀ·g. Left form y = op(W)·a: da = op(W)ᵀ·g, dW = g·aᵀ (op = id)
  // or a·gᵀ. The weight gradient is dense and goes to the dense W when
  // given (the CSR buffers are a by-product of W, without a gradient).
  CsrWeight w{v.in(1), v.in(2), v.in(3), Tensor(), v.attrs().axes.at(0),
              v.attrs().axes.at(1)};
  bool left = v.attrs().transposeA, tw = v.attrs().transposeB;
  bool hasDense = v.node.inputs.size() == 5;
  if (hasDense)
    w.dense = v.in(4);
  Tensor a = v.in(0);
  Tensor da = v.ifNeeded(0, [&] {
    return left ? sparseMatmulLeft(w, v.g, !tw) : csrProduct(v.g, w, !tw);
  });
  std::vector<Tensor> grads{da, Tensor(), Tensor(), Tensor()};
  if (!hasDense || !v.needs(4))
    return grads;
  if (left)
    grads.push_back(tw ? matmul(a, v.g, false, true)
                       : matmul(v.g, a, false, true));
  else
    grads.push_back(tw ? matmul(v.g, a, true, false)
                       : matmul(a, v.g, true, false));
  return grads;
}

std::vector<Tensor> vjpSparseConv2d(const VjpArgs &v) {
  // The input gradient is the loop over the other CSR (its transpose's, or
  // the forward one's for a flipped node); the weight gradient is dense:
  // conv2d's filter gradient, with input and cotangent swapped for a
  // flipped node (whose input is the cotangent of a forward convolution);
  // the bias's, the cotangent summed over samples and positions.
  const NodeAttrs &a = v.attrs();
  std::array<int64_t, 4> filter{a.axes.at(0), a.axes.at(1), a.axes.at(2),
                                a.axes.at(3)};
  bool flip = a.transposeA;
  SparseConvInputs at = sparseConvInputs(a, v.node.inputs.size());
  auto csrAt = [&](size_t i, int64_t rows, int64_t cols) {
    return CsrWeight{v.in(i), v.in(i + 1), v.in(i + 2), Tensor(), rows, cols};
  };
  int64_t taps = filter[2] * filter[3];
  // The forward CSR is [O, (C/g)·taps], the transposed one [C, (O/g)·taps].
  int64_t groups = a.window.groups;
  std::array<int64_t, 2> forwardShape{filter[0], filter[1] * taps};
  std::array<int64_t, 2> transposedShape{filter[1] * groups,
                                         filter[0] / groups * taps};
  Tensor dense = at.dense >= 0 ? v.in(at.dense) : Tensor();
  std::vector<Tensor> grads(v.node.inputs.size());
  grads[0] = v.ifNeeded(0, [&] {
    if (at.other < 0)
      throw Error(fmt::format(
          "sparse_conv2d: the input gradient of a convolution on CSR needs "
          "the CSR of the filter's transpose too (CsrFilter::columns)"));
    auto [usedRows, usedCols] = flip ? transposedShape : forwardShape;
    auto [otherRows, otherCols] = flip ? forwardShape : transposedShape;
    CsrWeight used = csrAt(1, usedRows, usedCols);
    CsrWeight other = csrAt(at.other, otherRows, otherCols);
    return sparseConv2dInputGrad(v.g, v.in(0).shape(), used, other, dense,
                                 filter, a.window, flip);
  });
  if (at.dense >= 0 && v.needs(at.dense)) {
    Shape shape{filter[0], filter[1], filter[2], filter[3]};
    Window forwardWindow = a.window;
    if (flip) // the flipped node's padding is the forward one mirrored
      forwardWindow =
          sparseConvGradientWindow(a.window, true, v.in(0).shape(), v.g.shape());
    grads[at.dense] =
        flip ? conv2dGradFilter(v.g, v.in(0), shape, forwardWindow)
             : conv2dGradFilter(v.in(0), v.g, shape, forwardWindow);
  }
  if (at.bias >= 0 && v.needs(at.bias))
    grads[at.bias] = sum(v.g, {0, 2, 3});
  return grads;
}

std::vector<Tensor> vjpResample(const VjpArgs &v) {
  // y = A·x along the axis (A the table); x̄ = Aᵀ·ȳ, again a table.
  const NodeAttrs &a = v.node.attrs;
  int64_t inputs = v.in(0).dim(a.axis);
  return {resample(v.g, a.axis, transposedTable(a.resample, inputs))};
}

// The table of rules, one entry per primitive of Prims.def: a primitive
// marked Rule there without a vjp<Name> above does not compile.
#define BREGMAN_VJP_Rule(Name) &vjp##Name
#define BREGMAN_VJP_Zero(Name) nullptr
#define BREGMAN_VJP_Breg(Name) nullptr
#define BREGMAN_VJP_Missing(Name) nullptr
const VjpRule kVjpRules[] = {
#define BREGMAN_PRIM(Name, Text, Gradient, Emitter) BREGMAN_VJP_##Gradient(Name),
#include "bregman/Prims.def"
};
#undef BREGMAN_VJP_Rule
#undef BREGMAN_VJP_Zero
#undef BREGMAN_VJP_Breg
#undef BREGMAN_VJP_Missing

} // namespace

/// Cotangents of a node's inputs given the cotangent `g` of its output.
static std::vector<Tensor> vjp(const Node &node, const Trace &trace,
                               const Tensor &g, const std::vector<bool> &active) {
  VjpRule rule = kVjpRules[static_cast<size_t>(node.prim)];
  if (!rule)
    throw Error(fmt::format("grad: primitive '{}' has no VJP rule",
                            primName(node.prim)));
  return rule(VjpArgs{node, trace, g, trace.tensor(node.outputs[0]), active});
}

/// Which values depend on `wrt` through the nodes from `firstNode` on: a
/// differentiable node's results if any input does; a value with a custom
/// rule if any of the rule's inputs does.
static std::vector<bool> activeValues(const Trace &trace,
                                      const std::vector<Tensor> &wrt,
                                      int firstNode) {
  std::vector<bool> active(trace.values().size(), false);
  for (const Tensor &w : wrt) {
    if (!w.belongsTo(trace))
      throw Error("grad: differentiating with respect to a tensor that is "
                  "not a value of the current trace (a concrete or captured "
                  "tensor); pass it as an argument of the jit function");
    active[w.value()] = true;
  }
  auto anyActive = [&](const std::vector<int> &values) {
    for (int v : values)
      if (active[v])
        return true;
    return false;
  };
  int lastNode = static_cast<int>(trace.nodes().size());
  for (int n = firstNode; n < lastNode; ++n) {
    const Node &node = trace.nodes()[n];
    bool differentiable = !isNonDifferentiable(node.prim);
    // Only ever set: a value differentiated with respect to stays active.
    for (int v : node.outputs) {
      const CustomVjp *custom = trace.customVjp(v);
      if (custom ? anyActive(custom->inputs)
                 : differentiable && anyActive(node.inputs))
        active[v] = true;
    }
  }
  return active;
}

/// The cotangents of a custom rule's inputs, checked against them.
static std::vector<Tensor> customCotangents(const CustomVjp &custom,
                                            const Trace &trace,
                                            const Tensor &g) {
  CallSite site(custom.site, /*replace=*/true);
  std::vector<Tensor> grads = custom.rule(g);
  if (grads.size() != custom.inputs.size())
    throw Error(fmt::format("customVjp: the rule returned {} cotangents for "
                            "{} inputs",
                            grads.size(), custom.inputs.size()));
  for (size_t i = 0; i < grads.size(); ++i) {
    const Shape &expected = trace.value(custom.inputs[i]).shape;
    if (grads[i].defined() && grads[i].shape() != expected)
      throw Error(fmt::format("customVjp: the rule's cotangent {} has shape "
                              "{}, its input {}",
                              i, shapeString(grads[i].shape()),
                              shapeString(expected)));
  }
  return grads;
}

/// Adds grads[i] to the cotangent of inputs[i] where that is active.
static void accumulate(std::map<int, Tensor> &cotangent,
                       const std::vector<int> &inputs,
                       const std::vector<Tensor> &grads,
                       const std::vector<bool> &active) {
  for (size_t i = 0; i < inputs.size() && i < grads.size(); ++i) {
    int v = inputs[i];
    if (!active[v] || !grads[i].defined())
      continue;
    auto existing = cotangent.find(v);
    if (existing == cotangent.end())
      cotangent[v] = grads[i];
    else
      existing->second = existing->second + grads[i];
  }
}

Tensor gradArgument(const Tensor &t, SourceLocation loc) {
  if (!t.defined() || !t.isTraced())
    return t;
  CallSite site(loc);
  return apply(Prim::GradArgument, {t}, {{t.shape(), t.dtype()}})[0];
}

std::vector<Tensor> backward(const Tensor &output,
                             const std::vector<Tensor> &wrt, int firstNode) {
  Trace *trace = Trace::current();
  if (!trace || !output.belongsTo(*trace))
    throw Error("grad: the function's result is not a value of the current "
                "trace (did it return a concrete tensor?)");
  if (output.numel() != 1)
    throw Error("grad: the function must return a scalar, got shape " +
                shapeString(output.shape()));
  if (output.dtype() == DType::I32)
    throw Error("grad: the function's result is an integer tensor");

  // What no forward node accounts for (the seed, zero gradients) belongs to
  // the call that computed the output.
  CallSite outputSite(trace->nodes()[trace->value(output.value()).node].site,
                      /*replace=*/true);
  int lastNode = static_cast<int>(trace->nodes().size());
  std::vector<bool> active = activeValues(*trace, wrt, firstNode);

  // Reverse: accumulate cotangents from the output back.
  std::map<int, Tensor> cotangent;
  if (active[output.value()])
    cotangent[output.value()] = full(output.shape(), 1.0, output.dtype());
  for (int n = lastNode - 1; n >= firstNode; --n) {
    const Node node = trace->nodes()[n]; // copy: the trace grows below
    if (node.outputs.size() != 1)
      continue;
    auto it = cotangent.find(node.outputs[0]);
    if (it == cotangent.end())
      continue;
    Tensor g = it->second;
    if (const CustomVjp *found = trace->customVjp(node.outputs[0])) {
      CustomVjp custom = *found; // the rule's nodes may grow the trace
      accumulate(cotangent, custom.inputs,
                 customCotangents(custom, *trace, g), active);
      continue;
    }
    if (isNonDifferentiable(node.prim))
      continue;
    // The gradient's nodes and errors belong to the forward call's place.
    CallSite site(node.site, /*replace=*/true);
    accumulate(cotangent, node.inputs, vjp(node, *trace, g, active), active);
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

Tensor customVjp(const Tensor &out, const std::vector<Tensor> &inputs,
                 VjpFunction rule, SourceLocation loc) {
  CallSite site(loc);
  if (!out.isTraced())
    return out;
  Trace *trace = Trace::current();
  if (!trace || !out.belongsTo(*trace))
    throw Error("customVjp: the value is not of the current trace");
  if (out.dtype() == DType::I32)
    throw Error("customVjp: the value is an integer tensor");
  if (!rule)
    throw Error("customVjp: no rule given");
  const ValueInfo &info = trace->value(out.value());
  if (trace->nodes()[info.node].outputs.size() != 1)
    throw Error("customVjp: the value is one of several results of its "
                "operation; give the rule to a value computed from it");
  if (trace->customVjp(out.value()))
    throw Error("customVjp: the value already has a rule");
  CustomVjp custom{{}, std::move(rule), CallSite::current()};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor &in = inputs[i];
    if (!in.belongsTo(*trace))
      throw Error(fmt::format("customVjp: input {} is not a value of the "
                              "current trace (a concrete or captured "
                              "tensor)",
                              i));
    if (in.value() == out.value() || trace->value(in.value()).node >= info.node)
      throw Error(fmt::format("customVjp: input {} is not computed before "
                              "the value",
                              i));
    custom.inputs.push_back(in.value());
  }
  trace->setCustomVjp(out.value(), std::move(custom));
  return out;
}

} // namespace bregman
