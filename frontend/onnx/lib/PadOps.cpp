//===- PadOps.cpp - Pad: constant, edge, reflect and wrap ----------------===//
//
// PyTorch exports F.pad and the reflect/replicate padding of its
// convolutions as Pad. Each axis is padded on its own, by concatenation:
// constant values, copies of the edge, the mirror of the elements next to
// the edge (without it), or (from opset 19, wrap) the other end's elements;
// a negative pad crops. Everything is slices, broadcasts and concats, so
// the gradient flows to the data.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

/// A mirror's elements are sliced one by one: at most this many per side.
constexpr int64_t kMostReflected = 1024;

/// `count` rows (along `axis`) of `value`, shaped like `x` otherwise.
Tensor constantRows(const Tensor &x, int64_t axis, int64_t count, double value) {
  Shape shape = x.shape();
  shape[axis] = count;
  return full(shape, value, x.dtype());
}

/// Pad-19's wrap (NumPy's; a negative pad on the axis has cropped `x`
/// already, as PyTorch's circular padding does): the rows before x are x's
/// last `count` rows cyclically, its last count mod dim rows and then whole
/// copies of x; the rows after are whole copies and then its first count
/// mod dim rows.
Tensor wrappedRows(const NodeContext &c, const Tensor &x, int64_t axis,
                   int64_t count, bool atStart) {
  int64_t dim = x.dim(axis), copies = count / dim, rest = count % dim;
  if (copies > kMostReflected)
    throw c.unsupported(
        fmt::format("mode wrap over {} copies of an axis of {} (at most {})",
                    copies, dim, kMostReflected));
  std::vector<Tensor> rows(static_cast<size_t>(copies), x);
  if (rest > 0)
    rows.insert(atStart ? rows.begin() : rows.end(),
                slice(x, axis, atStart ? dim - rest : 0, rest));
  return rows.size() == 1 ? rows[0] : concat(rows, axis);
}

/// The rows added before (`atStart`) or after `x` along `axis`.
Tensor padRows(const NodeContext &c, const Tensor &x, int64_t axis, int64_t count,
               bool atStart, const std::string &mode, double value) {
  int64_t dim = x.dim(axis);
  if (mode == "constant")
    return constantRows(x, axis, count, value);
  if (dim == 0)
    throw c.error(fmt::format("mode {} pads an empty axis {}", mode, axis));
  if (mode == "edge") {
    Shape shape = x.shape();
    shape[axis] = count;
    return broadcastTo(slice(x, axis, atStart ? 0 : dim - 1, 1), shape);
  }
  if (mode == "wrap")
    return wrappedRows(c, x, axis, count, atStart);
  // reflect: x[count], ..., x[1] before; x[dim-2], ..., x[dim-1-count] after.
  if (count >= dim)
    throw c.error(fmt::format("mode reflect pads {} elements on an axis of {} "
                              "(at most {})",
                              count, dim, dim - 1));
  if (count > kMostReflected)
    throw c.unsupported(fmt::format("mode reflect over {} elements (at most {})",
                                    count, kMostReflected));
  std::vector<Tensor> rows;
  for (int64_t k = 0; k < count; ++k)
    rows.push_back(slice(x, axis, atStart ? count - k : dim - 2 - k, 1));
  return rows.size() == 1 ? rows[0] : concat(rows, axis);
}

/// `x` padded by `before` and `after` along `axis` (negative: cropped).
Tensor padAxis(const NodeContext &c, Tensor x, int64_t axis, int64_t before,
               int64_t after, const std::string &mode, double value) {
  if (before < 0 || after < 0) {
    int64_t dim = x.dim(axis), drop = std::max<int64_t>(-before, 0) +
                                      std::max<int64_t>(-after, 0);
    if (drop > dim)
      throw c.error(fmt::format("pads crop {} of the {} elements of axis {}",
                                drop, dim, axis));
    x = slice(x, axis, std::max<int64_t>(-before, 0), dim - drop);
  }
  std::vector<Tensor> parts;
  if (before > 0)
    parts.push_back(padRows(c, x, axis, before, true, mode, value));
  parts.push_back(x);
  if (after > 0)
    parts.push_back(padRows(c, x, axis, after, false, mode, value));
  return parts.size() == 1 ? x : concat(parts, axis);
}

/// The pads (attribute before opset 11, input after), the constant value
/// and the axes they apply to (an input from opset 18; all axes before).
struct PadSpec {
  std::vector<int64_t> pads, axes;
  double value = 0;
};

PadSpec padSpec(const NodeContext &c, int64_t rank) {
  PadSpec s;
  s.pads = c.opset >= 11 ? c.staticInts(1) : c.intsAttr(c.opset < 2 ? "paddings" : "pads");
  if (c.opset >= 11 && c.has(2)) {
    auto value = c.hostFloats(2);
    if (!value || value->size() != 1)
      throw c.unsupported("a constant value that is not a constant scalar");
    s.value = (*value)[0];
  } else if (c.opset < 11) {
    s.value = c.finiteAttr("value", 0.0f);
  }
  if (c.opset >= 18 && c.has(3))
    for (int64_t a : c.staticInts(3))
      s.axes.push_back(c.axis(a, rank));
  else
    for (int64_t a = 0; a < rank; ++a)
      s.axes.push_back(a);
  if (s.pads.size() != 2 * s.axes.size())
    throw c.error(fmt::format("{} pads for {} axes (two per axis: [{}])",
                              s.pads.size(), s.axes.size(), fmt::join(s.pads, ", ")));
  return s;
}

void pad(const NodeContext &c) {
  Tensor x = c.tensor(0);
  std::string mode = c.stringAttr("mode", "constant");
  bool wrapKnown = c.opset >= 19;
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      !(mode == "wrap" && wrapKnown))
    throw c.unsupported(
        fmt::format("mode {} (constant, edge and reflect are "
                    "supported{})",
                    mode, wrapKnown ? ", and wrap" : "; wrap from opset 19"));
  PadSpec s = padSpec(c, x.rank());
  size_t n = s.axes.size();
  for (size_t i = 0; i < n; ++i)
    x = padAxis(c, x, s.axes[i], s.pads[i], s.pads[n + i], mode, s.value);
  c.set(x);
}

} // namespace

// Pad-1 names its pads `paddings`, Pad-2 `pads`; from 11 they are an input
// (and the value too), from 18 the axes, from 19 the mode may be wrap.
std::vector<OpHandler> padOps() {
  return {{"Pad", 1, kNewestOpset, pad, {}}};
}

} // namespace bregman::onnx::detail
