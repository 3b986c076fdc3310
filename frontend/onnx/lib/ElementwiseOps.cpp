//===- ElementwiseOps.cpp - Activations and elementwise arithmetic --------===//

#include "OpHandlers.h"

#include <fmt/format.h>

#include <cmath>

namespace bregman::onnx::detail {

namespace {

Tensor one(const Tensor &like) { return full({}, 1.0, like.dtype()); }

void relu(const NodeContext &c) { c.set(bregman::relu(c.tensor(0))); }

void leakyRelu(const NodeContext &c) {
  double alpha = c.finiteAttr("alpha", 0.01f);
  Tensor x = c.tensor(0);
  c.set(bregman::relu(x) - bregman::relu(-x) * alpha);
}

/// x where x ≥ 0, else slope·x; the slope broadcasts to x (PyTorch's
/// nn.PReLU: one per channel, [C, 1, 1], trained). Before opset 7 a 1-D
/// slope of x's channel count is one per channel.
void prelu(const NodeContext &c) {
  Tensor x = c.tensor(0), slope = c.tensor(1);
  if (c.opset < 7 && slope.rank() == 1 && x.rank() >= 2 &&
      slope.dim(0) == x.dim(1) && slope.dim(0) != 1)
    slope = c.perChannel(slope, x);
  std::optional<Shape> shape = broadcastShapes(x.shape(), slope.shape());
  if (!shape || *shape != x.shape())
    throw c.error(fmt::format("slope {} does not broadcast to the input {}",
                              shapeString(slope.shape()),
                              shapeString(x.shape())));
  c.set(bregman::relu(x) - bregman::relu(-x) * slope);
}

// The DSL's stable primitives: 1/(exp(−x) + 1) overflowed to a NaN
// gradient below −88 (−44 for tanh).
void sigmoid(const NodeContext &c) { c.set(bregman::sigmoid(c.tensor(0))); }
void tanh(const NodeContext &c) { c.set(bregman::tanh(c.tensor(0))); }

/// max(0, min(1, αx + β)), min as −max(−a, −1).
Tensor hardSigmoidOf(const Tensor &x, double alpha, double beta) {
  Tensor a = x * alpha + beta;
  Tensor upper = -maximum(-a, full({}, -1.0, x.dtype()));
  return maximum(upper, full({}, 0.0, x.dtype()));
}

void hardSigmoid(const NodeContext &c) {
  c.set(hardSigmoidOf(c.tensor(0), c.finiteAttr("alpha", 0.2f), c.finiteAttr("beta", 0.5f)));
}

void hardSwish(const NodeContext &c) {
  Tensor x = c.tensor(0);
  c.set(x * hardSigmoidOf(x, 1.0 / 6.0, 0.5));
}

// Softplus and Elu only ever take exp of −|x| or of min(x, 0): no overflow
// in the value or the gradient.
void softplus(const NodeContext &c) {
  Tensor x = c.tensor(0);
  c.set(bregman::relu(x) + bregman::log(bregman::exp(-bregman::abs(x)) + 1.0));
}

void elu(const NodeContext &c) {
  Tensor x = c.tensor(0);
  double alpha = c.finiteAttr("alpha", 1.0f);
  Tensor negativePart = bregman::exp(-bregman::relu(-x)) - 1.0; // exp(min(x, 0)) − 1
  c.set(bregman::relu(x) + negativePart * alpha);
}

/// γ·(x for x > 0, α·(exp(x) − 1) otherwise), α and γ SELU's constants
/// by default; exp only of min(x, 0), as elu.
void selu(const NodeContext &c) {
  Tensor x = c.tensor(0);
  double alpha = c.finiteAttr("alpha", 1.67326319217681884765625f);
  double gamma = c.finiteAttr("gamma", 1.05070102214813232421875f);
  Tensor negativePart = bregman::exp(-bregman::relu(-x)) - 1.0;
  c.set((bregman::relu(x) + negativePart * alpha) * gamma);
}

/// Gelu-20: x·Φ(x) (approximate = none, through erf) or its tanh form
/// (approximate = tanh), as PyTorch's nn.GELU.
void gelu(const NodeContext &c) {
  std::string approximate = c.stringAttr("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    throw c.badAttr("approximate", approximate, "must be none or tanh");
  c.set(bregman::gelu(c.tensor(0), approximate == "tanh"));
}

/// max(0, x) + min(0, α·(exp(x/α) − 1)).
void celu(const NodeContext &c) {
  Tensor x = c.tensor(0);
  double alpha = c.finiteAttr("alpha", 1.0f);
  if (alpha == 0)
    throw c.badAttr("alpha", "0", "must not be 0");
  Tensor negativePart = bregman::exp(-bregman::relu(-x) * (1.0 / alpha)) - 1.0;
  c.set(bregman::relu(x) + negativePart * alpha);
}

/// x / (1 + |x|).
void softsign(const NodeContext &c) {
  Tensor x = c.tensor(0);
  c.set(x / (bregman::abs(x) + 1.0));
}

void reciprocal(const NodeContext &c) {
  Tensor x = c.tensor(0);
  c.set(one(x) / x);
}

void exp(const NodeContext &c) { c.set(bregman::exp(c.tensor(0))); }
void log(const NodeContext &c) { c.set(bregman::log(c.tensor(0))); }
void neg(const NodeContext &c) { c.set(-c.tensor(0)); }
void abs(const NodeContext &c) { c.set(bregman::abs(c.tensor(0))); }
void sqrt(const NodeContext &c) { c.set(bregman::sqrt(c.tensor(0))); }
void sin(const NodeContext &c) { c.set(bregman::sin(c.tensor(0))); }
void cos(const NodeContext &c) { c.set(bregman::cos(c.tensor(0))); }

} // namespace

// Before opset 7 a binary operator broadcasts only with `broadcast` = 1, and
// then only B onto A: B is one element, or its shape is a run of A's
// dimensions starting at `axis` (absent: the trailing ones). Reshaped with
// trailing 1s, B then means the same under numpy's rules (the DSL's).
Tensor legacyBroadcastOperand(const NodeContext &c, const Tensor &a, const Tensor &b) {
  if (c.opset >= 7)
    return b;
  const Shape &sa = a.shape(), &sb = b.shape();
  if (c.flagAttr("broadcast", 0) == 0) {
    if (sa != sb)
      throw c.error(fmt::format("A {} and B {} differ in shape, and at opset {} (the "
                                "model's) only broadcast = 1 broadcasts (numpy's rules "
                                "from opset 7)",
                                shapeString(sa), shapeString(sb), c.opset));
    return b;
  }
  if (b.numel() == 1)
    return reshape(b, {});
  int64_t rankA = a.rank(), rankB = b.rank();
  bool hasAxis = findAttr(c.node, "axis") != nullptr;
  int64_t axis = hasAxis ? c.intAttr("axis", 0) : rankA - rankB;
  if (hasAxis && axis < 0)
    axis += rankA;
  // Size-1 dimensions of B expand: the spec's "1-dim expansion doesn't work
  // yet" aside, PyTorch's exports at these opsets rely on it (the ONNX test
  // data test_operator_add_size1_*_broadcast expect it).
  auto fits = [&](int64_t k) { return sb[k] == 1 || sb[k] == sa[axis + k]; };
  bool aligned = axis >= 0 && axis + rankB <= rankA;
  for (int64_t k = 0; aligned && k < rankB; ++k)
    aligned = fits(k);
  if (!aligned)
    throw c.error(fmt::format("B {} does not broadcast onto A {} at axis {} (at opset {}, "
                              "the model's, B must be one element or match a run of A's "
                              "dimensions, where its 1s expand)",
                              shapeString(sb), shapeString(sa),
                              hasAxis ? c.intAttr("axis", 0) : axis, c.opset));
  Shape padded = sb;
  padded.resize(static_cast<size_t>(rankA - axis), 1);
  return reshape(b, padded);
}

namespace {

/// Add, Sub, Mul, Div: folded when both sides are static integers (shape
/// arithmetic), traced otherwise.
void arithmetic(const NodeContext &c) {
  const std::string &op = c.op();
  // Integer division truncates (C's, as onnxruntime); by zero it gives 0
  // rather than trapping at load time.
  using Args = const std::vector<int64_t> &;
  bool folded =
      op == "Add"   ? foldStatic(c, 2, [](Args v) { return v[0] + v[1]; })
      : op == "Sub" ? foldStatic(c, 2, [](Args v) { return v[0] - v[1]; })
      : op == "Mul" ? foldStatic(c, 2, [](Args v) { return v[0] * v[1]; })
                    : foldStatic(c, 2, [](Args v) { return v[1] ? v[0] / v[1] : int64_t(0); });
  if (folded)
    return;
  Tensor x = c.tensor(0), y = legacyBroadcastOperand(c, x, c.tensor(1));
  c.set(op == "Add"   ? x + y
        : op == "Sub" ? x - y
        : op == "Mul" ? x * y
                      : x / y);
}

/// Index of operand element for result element `i` when one side may be a
/// single element (the broadcasting Mod folds).
size_t pick(size_t size, size_t i) { return size == 1 ? 0 : i; }

/// Mod of values known at load time: integers (shape arithmetic) folded
/// exactly, float constants folded in double. fmod = 0 gives the divisor's
/// sign (Python's %), fmod = 1 the dividend's (C's fmod); floats need
/// fmod = 1 (the spec).
void mod(const NodeContext &c) {
  bool cStyle = c.flagAttr("fmod", 0) != 0;
  const Value &a = c.value(0), &b = c.value(1);
  auto sizesFit = [&](size_t x, size_t y, const Shape &sx, const Shape &sy) {
    if (x != y && x != 1 && y != 1)
      throw c.unsupported(fmt::format("Mod of constants shaped {} and {} (equal shapes or "
                                      "one element are folded)",
                                      shapeString(sx), shapeString(sy)));
    return x == 1 ? sy : sx;
  };
  if (a.isStatic && b.isStatic) {
    Shape shape = sizesFit(a.ints.size(), b.ints.size(), a.shape, b.shape);
    std::vector<int64_t> r(std::max(a.ints.size(), b.ints.size()));
    for (size_t i = 0; i < r.size(); ++i) {
      int64_t x = a.ints[pick(a.ints.size(), i)], y = b.ints[pick(b.ints.size(), i)];
      if (y == 0)
        throw c.error("integer Mod by zero");
      r[i] = x % y; // C's: the dividend's sign
      if (!cStyle && r[i] != 0 && ((r[i] < 0) != (y < 0)))
        r[i] += y;
    }
    return c.setStatic(r, shape);
  }
  std::optional<std::vector<float>> x = c.hostFloats(0), y = c.hostFloats(1);
  if (!x || !y)
    throw c.unsupported("Mod of values computed at run time (only constants are folded)");
  if (!cStyle)
    throw c.badAttr("fmod", "0", "must be 1 for floating-point inputs");
  Shape shape = sizesFit(x->size(), y->size(), c.tensor(0).shape(), c.tensor(1).shape());
  std::vector<double> r(std::max(x->size(), y->size()));
  for (size_t i = 0; i < r.size(); ++i) // f32's remainder is exact: rounding it is too
    r[i] = static_cast<float>(
        std::fmod(double((*x)[pick(x->size(), i)]), double((*y)[pick(y->size(), i)])));
  c.set(tracedConstant(r, shape, fmt::format("node '{}' (Mod)", c.node.name())));
}

/// x^e for the exponents Pow supports; nullopt for the others.
std::optional<Tensor> power(const Tensor &x, float e) {
  if (e == 1.0f)
    return x;
  if (e == 2.0f)
    return x * x;
  if (e == 3.0f)
    return x * x * x;
  if (e == 0.5f)
    return bregman::sqrt(x);
  if (e == -1.0f)
    return one(x) / x;
  return std::nullopt;
}

void pow(const NodeContext &c) {
  auto exponent = c.hostFloats(1);
  if (!exponent || exponent->size() != 1)
    throw c.unsupported("an exponent that is not a constant scalar");
  float e = (*exponent)[0];
  Tensor x = c.tensor(0);
  Tensor shapedExponent = legacyBroadcastOperand(c, x, c.tensor(1));
  std::optional<Tensor> y = power(x, e);
  if (!y)
    throw c.unsupported(
        fmt::format("exponent {} (1, 2, 3, 0.5 and -1 are supported)", e));
  // One value, but it broadcasts like any operand: x [3] ^ e [1, 1] is
  // [1, 3] (it came out [3]).
  std::optional<Shape> shape =
      broadcastShapes(x.shape(), shapedExponent.shape());
  if (shape && *shape != x.shape())
    *y = broadcastTo(*y, *shape);
  c.set(*y);
}

void clip(const NodeContext &c) {
  Tensor x = c.tensor(0);
  std::optional<float> lo, hi;
  if (c.opset < 11) { // bounds are attributes before opset 11, inputs after
    if (findAttr(c.node, "min"))
      lo = c.floatAttr("min", 0);
    if (findAttr(c.node, "max"))
      hi = c.floatAttr("max", 0);
  } else {
    for (int i : {1, 2}) {
      if (!c.has(i))
        continue;
      auto bound = c.hostFloats(i);
      if (!bound || bound->size() != 1)
        throw c.unsupported("a bound that is not a constant scalar");
      (i == 1 ? lo : hi) = (*bound)[0];
    }
  }
  if (lo)
    x = maximum(x, full({}, *lo, x.dtype()));
  if (hi)
    x = -maximum(-x, full({}, -*hi, x.dtype()));
  c.set(x);
}

/// Max and Min of any number of inputs (Min as −max(−a, −b)); before
/// opset 8 the inputs share one shape (no broadcasting).
/// Max, Min, Sum and Mean of any number of inputs (Sum and Mean were
/// refused: torch.stack(...).sum(0) exports as Sum).
void maxMin(const NodeContext &c) {
  const std::string &op = c.op();
  Tensor y = c.tensor(0);
  for (int i = 1; i < c.node.input_size(); ++i) {
    Tensor x = c.tensor(i);
    if (c.opset < 8 && x.shape() != c.tensor(0).shape())
      throw c.error(fmt::format("inputs of shapes {} and {}: at opset {} (the model's) "
                                "they must be equal (broadcasting from opset 8)",
                                shapeString(c.tensor(0).shape()), shapeString(x.shape()),
                                c.opset));
    y = op == "Max" ? maximum(y, x) : op == "Min" ? -maximum(-y, -x) : y + x;
  }
  if (op == "Mean")
    y = y * (1.0 / c.node.input_size());
  c.set(y);
}

void softmax(const NodeContext &c) {
  Tensor x = c.tensor(0);
  int64_t axis = c.axisAttr("axis", c.opset >= 13 ? -1 : 1, x.rank());
  bool isSoftmax = c.op() == "Softmax";
  if (c.opset < 13) {
    // Before opset 13 the input is coerced to 2-D at `axis` ([d0·…·d(axis−1),
    // d(axis)·…]) and normalized along the second axis.
    Shape shape = x.shape();
    int64_t outer = numElements(Shape(shape.begin(), shape.begin() + axis));
    Tensor flat = reshape(x, {outer, x.numel() / std::max<int64_t>(outer, 1)});
    Tensor y = isSoftmax ? bregman::softmax(flat, 1) : logSoftmax(flat, 1);
    return c.set(reshape(y, shape));
  }
  c.set(isSoftmax ? bregman::softmax(x, axis) : logSoftmax(x, axis));
}

} // namespace

// Every entry runs from the operator's first opset. Opset 1 forms only add
// `consumed_inputs` (a legacy memory hint the handlers need not read);
// Add..Div and Pow before 7 broadcast as legacyBroadcastOperand says; Clip's
// bounds are attributes before 11 (without defaults in Clip-1: unbounded);
// Max and Min do not broadcast before 8; Softmax coerces to 2-D before 13.
std::vector<OpHandler> elementwiseOps() {
  return {
      {"Relu", 1, kNewestOpset, relu, {}},
      {"LeakyRelu", 1, kNewestOpset, leakyRelu, {}},
      {"PRelu", 1, kNewestOpset, prelu, {}},
      {"Sigmoid", 1, kNewestOpset, sigmoid, {}},
      {"Tanh", 1, kNewestOpset, tanh, {}},
      {"HardSigmoid", 1, kNewestOpset, hardSigmoid, {}},
      {"HardSwish", 14, kNewestOpset, hardSwish, {}},
      {"Softplus", 1, kNewestOpset, softplus, {}},
      {"Elu", 1, kNewestOpset, elu, {}},
      {"Selu", 1, kNewestOpset, selu, {}},
      {"Celu", 12, kNewestOpset, celu, {}},
      {"Gelu", 20, kNewestOpset, gelu, {}},
      {"Softsign", 1, kNewestOpset, softsign, {}},
      {"Reciprocal", 1, kNewestOpset, reciprocal, {}},
      {"Exp", 1, kNewestOpset, exp, {}},
      {"Log", 1, kNewestOpset, log, {}},
      {"Neg", 1, kNewestOpset, neg, {}},
      {"Abs", 1, kNewestOpset, abs, {}},
      {"Sqrt", 1, kNewestOpset, sqrt, {}},
      {"Sin", 7, kNewestOpset, sin, {}},
      {"Cos", 7, kNewestOpset, cos, {}},
      {"Add", 1, kNewestOpset, arithmetic, {}},
      {"Sub", 1, kNewestOpset, arithmetic, {}},
      {"Mul", 1, kNewestOpset, arithmetic, {}},
      {"Div", 1, kNewestOpset, arithmetic, {}},
      {"Pow", 1, kNewestOpset, pow, {}},
      {"Mod", 10, kNewestOpset, mod, {}},
      {"Clip", 1, kNewestOpset, clip, {}},
      {"Max", 1, kNewestOpset, maxMin, {}},
      {"Min", 1, kNewestOpset, maxMin, {}},
      {"Sum", 1, kNewestOpset, maxMin, {}},
      {"Mean", 1, kNewestOpset, maxMin, {}},
      {"Softmax", 1, kNewestOpset, softmax, {}},
      {"LogSoftmax", 1, kNewestOpset, softmax, {}},
  };
}

} // namespace bregman::onnx::detail
