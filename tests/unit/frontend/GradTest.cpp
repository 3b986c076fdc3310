//===- GradTest.cpp - Every VJP rule against central finite differences ---===//
//
// Each test jits a scalar function f(params, aux) in float64 twice: once the
// forward pass alone, once its gradient (grad / valueAndGrad). The gradient is
// compared, element by element, with central differences
//   (f(x + h·e_i) − f(x − h·e_i)) / 2h,   h = 1e-6,
// evaluated with the SAME compiled forward function (a cache hit: only the
// values change). Non-scalar results are contracted with a fixed random weight
// w (f = Σ op(x)·w) so that every output element's cotangent is exercised.
// Tolerances (abs 1e-8 + rel 1e-6) are far below the O(1) error that a wrong
// rule (missing transpose, factor 2, wrong sign, wrong broadcast reduction)
// produces.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

using namespace bregman;
using bregman::testing::errorMessage;

namespace {

constexpr double kStep = 1e-6;
constexpr double kAbsTol = 1e-8;
constexpr double kRelTol = 1e-6;

/// A scalar function of differentiable inputs `p` and constant inputs `aux`.
using ScalarFn = std::function<Tensor(const Params &p, const Params &aux)>;

/// Uniform values in [lo, hi], with a random sign when `randomSign`.
std::vector<double> randomValues(std::mt19937 &rng, int64_t n, double lo,
                                 double hi, bool randomSign = false) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::bernoulli_distribution coin(0.5);
  std::vector<double> v(n);
  for (double &x : v) {
    x = u(rng);
    if (randomSign && coin(rng))
      x = -x;
  }
  return v;
}

Tensor randomF64(std::mt19937 &rng, const Shape &shape, double lo = -1.0,
                 double hi = 1.0, bool randomSign = false) {
  return Tensor::fromVector(randomValues(rng, numElements(shape), lo, hi,
                                         randomSign),
                            shape);
}

/// Checks grad f against central differences for every element of every
/// entry of `p`. Also checks that valueAndGrad's value equals the forward.
void checkGradient(const ScalarFn &f, const Params &p, const Params &aux,
                   double absTol = kAbsTol, double relTol = kRelTol) {
  auto forward = jit([f](const Params &q, const Params &a) { return f(q, a); },
                     JitOptions{{}, "grad_test.forward"});
  auto gradient = jit(
      [f](const Params &q, const Params &a) {
        return valueAndGrad([&](const Params &r) { return f(r, a); })(q);
      },
      JitOptions{{}, "grad_test.grad"});

  auto [value, g] = gradient(p, aux);
  Tensor f0 = forward(p, aux);
  ASSERT_EQ(f0.numel(), 1);
  ASSERT_EQ(f0.dtype(), DType::F64);
  EXPECT_NEAR(value.item(), f0.item(), 1e-12 * (1.0 + std::abs(f0.item())));
  ASSERT_EQ(g.size(), p.size());

  int64_t checked = 0;
  for (const auto &[name, t] : p) {
    const Tensor &gt = g.at(name);
    ASSERT_EQ(gt.shape(), t.shape()) << name;
    ASSERT_EQ(gt.dtype(), DType::F64) << name;
    std::vector<double> analytic = gt.toVector<double>();
    std::vector<double> base = t.toVector<double>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      Params plus = p.copy(), minus = p.copy();
      plus.at(name).data<double>()[i] = base[i] + kStep;
      minus.at(name).data<double>()[i] = base[i] - kStep;
      double fd =
          (forward(plus, aux).item() - forward(minus, aux).item()) / (2 * kStep);
      EXPECT_NEAR(analytic[i], fd, absTol + relTol * std::abs(fd))
          << "d f / d " << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  // Every perturbation reused the one compiled forward.
  EXPECT_EQ(forward.compileCount(), 1u);
  EXPECT_EQ(gradient.compileCount(), 1u);
}

/// f = Σ op(inputs)·w, with w = aux["w"] of op's result shape.
ScalarFn contracted(std::function<Tensor(const Params &)> op) {
  return [op](const Params &p, const Params &aux) {
    return sum(op(p) * aux.at("w"));
  };
}

Params weightFor(std::mt19937 &rng, const Shape &shape) {
  return Params{{"w", randomF64(rng, shape, -1.0, 1.0)}};
}

//===----------------------------------------------------------------------===//
// matmul: all four transpose combinations, non-square so a wrong transpose
// fails (or does not even type-check)
//===----------------------------------------------------------------------===//

struct MatmulCase {
  bool ta, tb;
};

class MatmulGrad : public ::testing::TestWithParam<MatmulCase> {};

TEST_P(MatmulGrad, MatchesFiniteDifferences) {
  auto [ta, tb] = GetParam();
  std::mt19937 rng(11 + 2 * ta + tb);
  const int64_t m = 3, k = 4, n = 5;
  Shape sa = ta ? Shape{k, m} : Shape{m, k};
  Shape sb = tb ? Shape{n, k} : Shape{k, n};
  Params p{{"a", randomF64(rng, sa)}, {"b", randomF64(rng, sb)}};
  checkGradient(contracted([ta = ta, tb = tb](const Params &q) {
                  return matmul(q.at("a"), q.at("b"), ta, tb);
                }),
                p, weightFor(rng, {m, n}));
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, MatmulGrad,
                         ::testing::Values(MatmulCase{false, false},
                                           MatmulCase{false, true},
                                           MatmulCase{true, false},
                                           MatmulCase{true, true}),
                         [](const auto &info) {
                           return std::string(info.param.ta ? "T" : "N") +
                                  (info.param.tb ? "T" : "N");
                         });

//===----------------------------------------------------------------------===//
// add / sub / mul / div with broadcasting in both directions
//===----------------------------------------------------------------------===//

enum class BinOp { Add, Sub, Mul, Div };

struct BroadcastCase {
  Shape a, b;
  const char *label;
};

const BroadcastCase kBroadcastCases[] = {
    {{3, 4}, {3, 4}, "Same"},
    {{3, 4}, {4}, "MatrixRow"},
    {{4}, {3, 4}, "RowMatrix"},
    {{3, 1}, {1, 4}, "ColumnRow"},
    {{1, 4}, {3, 1}, "RowColumn"},
    {{3, 4}, {}, "MatrixScalar"},
    {{}, {3, 4}, "ScalarMatrix"},
    {{2, 3, 4}, {3, 1}, "Rank3Column"},
};

Shape broadcastShape(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    out[i] = std::max(da, db);
  }
  return out;
}

void checkBinary(BinOp op) {
  int seed = 100 * static_cast<int>(op);
  for (const BroadcastCase &c : kBroadcastCases) {
    SCOPED_TRACE(c.label);
    std::mt19937 rng(seed++);
    // Divisors away from zero.
    Tensor b = op == BinOp::Div ? randomF64(rng, c.b, 0.5, 2.0, true)
                                : randomF64(rng, c.b);
    Params p{{"a", randomF64(rng, c.a)}, {"b", b}};
    checkGradient(contracted([op](const Params &q) {
                    const Tensor &x = q.at("a"), &y = q.at("b");
                    switch (op) {
                    case BinOp::Add: return x + y;
                    case BinOp::Sub: return x - y;
                    case BinOp::Mul: return x * y;
                    case BinOp::Div: return x / y;
                    }
                    return x;
                  }),
                  p, weightFor(rng, broadcastShape(c.a, c.b)));
  }
}

TEST(Grad, AddBroadcasting) { checkBinary(BinOp::Add); }
TEST(Grad, SubBroadcasting) { checkBinary(BinOp::Sub); }
TEST(Grad, MulBroadcasting) { checkBinary(BinOp::Mul); }
TEST(Grad, DivBroadcasting) { checkBinary(BinOp::Div); }

/// How many nodes of `prim` the trace holds.
int countNodes(const Trace &trace, Prim prim) {
  int count = 0;
  for (const Node &node : trace.nodes())
    count += node.prim == prim;
  return count;
}

// The reverse pass computes cotangents only for inputs that depend on what
// is differentiated: a constant factor, the images under a first
// convolution get none traced (they would be emitted and compiled, then
// dropped).
TEST(Grad, TracesNoCotangentForConstants) {
  Trace trace;
  TraceScope scope(trace);
  Tensor x = trace.addInput({4, 3}, DType::F32, "x");
  Tensor c = trace.addInput({3}, DType::F32, "c");
  Tensor images = trace.addInput({2, 1, 5, 5}, DType::F32, "images");
  Tensor w = trace.addInput({2, 1, 3, 3}, DType::F32, "w");
  auto [value, gradient] = valueAndGrad([&](const Params &p) {
    return sum(p.at("x") * c) + sum(conv2d(images, p.at("w")));
  })(Params{{"x", x}, {"w", w}});
  (void)value;
  EXPECT_EQ(gradient.size(), 2u);
  // x·c forward and g·c backward; no g·x for c.
  EXPECT_EQ(countNodes(trace, Prim::Mul), 2) << trace.str();
  // The filter's gradient only; no input gradient for the images.
  EXPECT_EQ(countNodes(trace, Prim::Conv2dGradInput), 0) << trace.str();
}

TEST(Grad, ArithmeticWithDoubleConstants) {
  std::mt19937 rng(7);
  Params p{{"x", randomF64(rng, {3, 4}, 0.5, 2.0, true)}};
  checkGradient(contracted([](const Params &q) {
                  const Tensor &x = q.at("x");
                  return (x + 1.5) * (x - 0.25) + 3.0 * x / 2.0 - (x * 0.5) / x;
                }),
                p, weightFor(rng, {3, 4}));
}

//===----------------------------------------------------------------------===//
// maximum
//===----------------------------------------------------------------------===//

/// a, b with |a − b| ≥ 0.2 everywhere (no ties, far from the kink).
std::pair<std::vector<double>, std::vector<double>>
separatedPair(std::mt19937 &rng, int64_t n) {
  std::vector<double> a = randomValues(rng, n, -1.0, 1.0);
  std::vector<double> gap = randomValues(rng, n, 0.2, 1.0, true);
  std::vector<double> b(n);
  for (int64_t i = 0; i < n; ++i)
    b[i] = a[i] + gap[i];
  return {a, b};
}

// Regression (fixed in 2a3990b, equal() keeps the float type): the
// Maximum VJP multiplies the f64 cotangent by equal(a, b), which used to be
// always f32, so differentiating maximum in float64 threw "mul: element types differ (f64[3, 4] vs f32[3, 4])" while tracing.
TEST(Grad, MaximumNoTiesF64) {
  std::mt19937 rng(21);
  auto [a, b] = separatedPair(rng, 12);
  Params p{{"a", Tensor::fromVector(a, {3, 4})},
           {"b", Tensor::fromVector(b, {3, 4})}};
  checkGradient(contracted([](const Params &q) {
                  return maximum(q.at("a"), q.at("b"));
                }),
                p, weightFor(rng, {3, 4}));
}

// Regression (2a3990b): as above (f64 maximum VJP with equal()); broadcast.
TEST(Grad, MaximumBroadcastF64) {
  std::mt19937 rng(22);
  // a: [3, 4]; b: [4] chosen away from every a[:, j].
  std::vector<double> a = randomValues(rng, 12, -1.0, 1.0);
  std::vector<double> b = {-0.1, 1.5, -1.5, 0.05};
  for (int64_t i = 0; i < 3; ++i)
    a[i * 4 + 3] = (i % 2 ? 0.6 : -0.6); // column 3 straddles b[3]
  Params p{{"a", Tensor::fromVector(a, {3, 4})},
           {"b", Tensor::fromVector(b, {4})}};
  // Guard: no element within 0.05 of its partner.
  for (int64_t i = 0; i < 12; ++i)
    ASSERT_GT(std::abs(a[i] - b[i % 4]), 0.01);
  checkGradient(contracted([](const Params &q) {
                  return maximum(q.at("a"), q.at("b"));
                }),
                p, weightFor(rng, {3, 4}));
}

/// The maximum VJP in float32, checked against the analytic rule (works
/// around the f64 bug above so the formula itself is still covered): the
/// cotangent goes to a where a > b, to b where b > a, and to the FIRST
/// operand on ties (documented in Tensor.h: "gradient to a where a > b,
/// else to b" is refined by Grad.cpp to a >= b).
TEST(Grad, MaximumRuleAndTiesF32) {
  auto step = jit([](const Tensor &a, const Tensor &b, const Tensor &w) {
    return grad([&](const Params &q) {
      return sum(maximum(q.at("a"), q.at("b")) * w);
    })(Params{{"a", a}, {"b", b}});
  });
  std::vector<float> a = {1.0f, 2.0f, -3.0f, 0.5f, 4.0f, -1.0f};
  std::vector<float> b = {1.0f, 3.0f, -4.0f, 0.5f, 4.0f, -2.0f};
  std::vector<float> w = {2.0f, 3.0f, 5.0f, 7.0f, 11.0f, 13.0f};
  Params g = step(Tensor::fromVector(a, {2, 3}), Tensor::fromVector(b, {2, 3}),
                  Tensor::fromVector(w, {2, 3}));
  // Ties at 0, 3, 4 → half to each (JAX, PyTorch).
  EXPECT_EQ(g.at("a").toVector<float>(),
            (std::vector<float>{1.0f, 0.0f, 5.0f, 3.5f, 5.5f, 13.0f}));
  EXPECT_EQ(g.at("b").toVector<float>(),
            (std::vector<float>{1.0f, 3.0f, 0.0f, 3.5f, 5.5f, 0.0f}));
}

TEST(Grad, MaximumTiesWithBroadcastF32) {
  // b broadcasts along rows: its gradient sums, per column, 1 where b won
  // and 1/2 where it tied.
  auto step = jit([](const Tensor &a, const Tensor &b) {
    return grad([&](const Params &q) {
      return sum(maximum(q.at("a"), q.at("b")));
    })(Params{{"a", a}, {"b", b}});
  });
  Params g = step(Tensor::fromVector(std::vector<float>{0, 1, 2, 3, 1, -1}, {2, 3}),
                  Tensor::fromVector(std::vector<float>{1, 1, 1}, {3}));
  EXPECT_EQ(g.at("a").toVector<float>(),
            (std::vector<float>{0, 0.5f, 1, 1, 0.5f, 0}));
  EXPECT_EQ(g.at("b").toVector<float>(), (std::vector<float>{1, 1, 1}));
}

//===----------------------------------------------------------------------===//
// unary
//===----------------------------------------------------------------------===//

TEST(Grad, Neg) {
  std::mt19937 rng(31);
  Params p{{"x", randomF64(rng, {3, 4})}};
  checkGradient(contracted([](const Params &q) { return -q.at("x"); }), p,
                weightFor(rng, {3, 4}));
}

TEST(Grad, Exp) {
  std::mt19937 rng(32);
  Params p{{"x", randomF64(rng, {3, 4}, -2.0, 2.0)}};
  checkGradient(contracted([](const Params &q) { return exp(q.at("x")); }), p,
                weightFor(rng, {3, 4}));
}

TEST(Grad, Log) {
  std::mt19937 rng(33);
  Params p{{"x", randomF64(rng, {3, 4}, 0.3, 3.0)}};
  checkGradient(contracted([](const Params &q) { return log(q.at("x")); }), p,
                weightFor(rng, {3, 4}));
}

TEST(Grad, Relu) {
  std::mt19937 rng(34);
  // |x| ≥ 0.1: away from the kink; both signs present.
  Params p{{"x", randomF64(rng, {4, 5}, 0.1, 1.0, true)}};
  checkGradient(contracted([](const Params &q) { return relu(q.at("x")); }), p,
                weightFor(rng, {4, 5}));
}

TEST(Grad, ReluGradIsLinearInG) {
  // reluGrad(x, g) is differentiable in g (mask), constant in x.
  std::mt19937 rng(35);
  Params p{{"g", randomF64(rng, {3, 4})}};
  Params aux = weightFor(rng, {3, 4});
  aux.add("x", randomF64(rng, {3, 4}, 0.1, 1.0, true));
  checkGradient(
      [](const Params &q, const Params &a) {
        return sum(reluGrad(a.at("x"), q.at("g")) * a.at("w"));
      },
      p, aux);
}

TEST(Grad, Composite) {
  // Shares values across several uses (cotangent accumulation).
  std::mt19937 rng(36);
  Params p{{"x", randomF64(rng, {3, 4}, 0.5, 1.5)}, {"y", randomF64(rng, {4})}};
  checkGradient(contracted([](const Params &q) {
                  const Tensor &x = q.at("x"), &y = q.at("y");
                  Tensor z = x * y + exp(y) / x;
                  return z * z - log(x) * x;
                }),
                p, weightFor(rng, {3, 4}));
}

//===----------------------------------------------------------------------===//
// reductions and shape ops
//===----------------------------------------------------------------------===//

struct ReduceCase {
  std::vector<int64_t> axes; // empty = all axes
  bool keepDims;
  Shape result;
  const char *label;
};

const ReduceCase kReduceCases[] = {
    {{0}, false, {3, 4}, "Axis0"},
    {{1}, false, {2, 4}, "Axis1"},
    {{-1}, false, {2, 3}, "LastAxis"},
    {{0, 2}, false, {3}, "Axes02"},
    {{1}, true, {2, 1, 4}, "Axis1Keep"},
    {{-1, 0}, true, {1, 3, 1}, "AxesLast0Keep"},
    {{}, false, {}, "All"},
};

TEST(Grad, Sum) {
  int seed = 40;
  for (const ReduceCase &c : kReduceCases) {
    SCOPED_TRACE(c.label);
    std::mt19937 rng(seed++);
    Params p{{"x", randomF64(rng, {2, 3, 4})}};
    checkGradient(contracted([c](const Params &q) {
                    return c.axes.empty() ? sum(q.at("x"))
                                          : sum(q.at("x"), c.axes, c.keepDims);
                  }),
                  p, weightFor(rng, c.result));
  }
}

TEST(Grad, Mean) {
  int seed = 50;
  for (const ReduceCase &c : kReduceCases) {
    SCOPED_TRACE(c.label);
    std::mt19937 rng(seed++);
    Params p{{"x", randomF64(rng, {2, 3, 4})}};
    checkGradient(contracted([c](const Params &q) {
                    return c.axes.empty() ? mean(q.at("x"))
                                          : mean(q.at("x"), c.axes, c.keepDims);
                  }),
                  p, weightFor(rng, c.result));
  }
}

// Regression (2a3990b): the ReduceMax VJP divides the f64 cotangent by a
// count built from equal(), which used to be always f32, so differentiating
// max() in float64 threw "div: element types differ (f64[...] vs f32[...])".
TEST(Grad, MaxReductionF64) {
  int seed = 60;
  for (const ReduceCase &c : kReduceCases) {
    SCOPED_TRACE(c.label);
    std::mt19937 rng(seed++);
    // Distinct values (continuous random; ties have probability 0 and the
    // gaps are far larger than h).
    Params p{{"x", randomF64(rng, {2, 3, 4})}};
    std::vector<int64_t> all = {0, 1, 2};
    checkGradient(contracted([c, all](const Params &q) {
                    return max(q.at("x"), c.axes.empty() ? all : c.axes,
                               c.keepDims);
                  }),
                  p, weightFor(rng, c.result));
  }
}

/// The max-reduction rule in float32 (covers the formula despite the f64 bug
/// above): cotangent to the arg-max, split evenly among ties.
TEST(Grad, MaxReductionRuleF32) {
  auto step = jit([](const Tensor &x, const Tensor &w) {
    return grad([&](const Tensor &y) { return sum(max(y, {1}) * w); })(x);
  });
  Tensor g = step(
      Tensor::fromVector(std::vector<float>{1, 5, 2, /**/ 7, 7, 0, /**/ -1, -3, -2},
                         {3, 3}),
      Tensor::fromVector(std::vector<float>{2, 4, 6}, {3}));
  EXPECT_EQ(g.toVector<float>(),
            (std::vector<float>{0, 2, 0, /**/ 2, 2, 0, /**/ 6, 0, 0}));
}

TEST(Grad, BroadcastTo) {
  struct Case {
    Shape from, to;
  } cases[] = {{{4}, {2, 3, 4}},
               {{3, 1}, {2, 3, 4}},
               {{1, 4}, {3, 4}},
               {{}, {2, 3}},
               {{2, 1, 4}, {2, 3, 4}}};
  int seed = 70;
  for (const Case &c : cases) {
    SCOPED_TRACE(shapeString(c.from) + " -> " + shapeString(c.to));
    std::mt19937 rng(seed++);
    Params p{{"x", randomF64(rng, c.from)}};
    Shape to = c.to;
    checkGradient(contracted([to](const Params &q) {
                    return broadcastTo(q.at("x"), to);
                  }),
                  p, weightFor(rng, c.to));
  }
}

TEST(Grad, Reshape) {
  struct Case {
    Shape from, to;
  } cases[] = {{{2, 3, 4}, {6, 4}}, {{6, 4}, {2, 12}}, {{24}, {4, 3, 2}},
               {{1, 1}, {}},        {{}, {1, 1, 1}}};
  int seed = 80;
  for (const Case &c : cases) {
    SCOPED_TRACE(shapeString(c.from) + " -> " + shapeString(c.to));
    std::mt19937 rng(seed++);
    Params p{{"x", randomF64(rng, c.from)}};
    Shape to = c.to;
    checkGradient(contracted([to](const Params &q) {
                    // A non-linear op after the reshape so a permuted
                    // cotangent would be detected.
                    return reshape(q.at("x"), to) * reshape(q.at("x"), to);
                  }),
                  p, weightFor(rng, c.to));
  }
}

//===----------------------------------------------------------------------===//
// logSoftmax, crossEntropy, a whole MLP
//===----------------------------------------------------------------------===//

TEST(Grad, LogSoftmaxLastAxis) {
  std::mt19937 rng(90);
  Params p{{"x", randomF64(rng, {4, 5}, -3.0, 3.0)}};
  checkGradient(contracted([](const Params &q) { return logSoftmax(q.at("x")); }),
                p, weightFor(rng, {4, 5}));
}

TEST(Grad, LogSoftmaxAxis0) {
  std::mt19937 rng(91);
  Params p{{"x", randomF64(rng, {4, 5}, -3.0, 3.0)}};
  checkGradient(
      contracted([](const Params &q) { return logSoftmax(q.at("x"), 0); }), p,
      weightFor(rng, {4, 5}));
}

TEST(Grad, CrossEntropy) {
  std::mt19937 rng(92);
  Params p{{"logits", randomF64(rng, {6, 4}, -3.0, 3.0)}};
  Params aux{{"labels",
              Tensor::fromVector(std::vector<int32_t>{0, 3, 1, 1, 2, 3}, {6})}};
  checkGradient(
      [](const Params &q, const Params &a) {
        return crossEntropy(q.at("logits"), a.at("labels"));
      },
      p, aux);
}

TEST(Grad, CrossEntropyMatchesSoftmaxMinusOneHot) {
  // The closed form ∂CE/∂z = (softmax(z) − onehot(y)) / N, exactly.
  std::mt19937 rng(93);
  const int64_t n = 5, c = 3;
  std::vector<double> z = randomValues(rng, n * c, -2.0, 2.0);
  std::vector<int32_t> y = {2, 0, 1, 2, 0};
  auto step = jit([](const Tensor &logits, const Tensor &labels) {
    return grad([&](const Tensor &l) { return crossEntropy(l, labels); })(logits);
  });
  std::vector<double> g =
      step(Tensor::fromVector(z, {n, c}), Tensor::fromVector(y, {n}))
          .toVector<double>();
  for (int64_t i = 0; i < n; ++i) {
    double m = -1e300, s = 0;
    for (int64_t j = 0; j < c; ++j)
      m = std::max(m, z[i * c + j]);
    for (int64_t j = 0; j < c; ++j)
      s += std::exp(z[i * c + j] - m);
    for (int64_t j = 0; j < c; ++j) {
      double expected =
          (std::exp(z[i * c + j] - m) / s - (y[i] == j ? 1.0 : 0.0)) / n;
      EXPECT_NEAR(g[i * c + j], expected, 1e-14) << i << "," << j;
    }
  }
}

TEST(Grad, ValueAndGradOfCrossEntropyOnTwoByThreeF32) {
  // This size crashed LLVM's code generator: its SROA had made an invalid
  // module from stack buffers left between loop nests (breg-hoist-allocas).
  const int64_t n = 2, c = 3;
  std::vector<float> z = {0.5f, -1.25f, 2.0f, 0.0f, 1.5f, -0.75f};
  std::vector<int32_t> y = {2, 0};
  auto step = jit([](const Tensor &logits, const Tensor &labels) {
    return valueAndGrad(
        [&](const Tensor &l) { return crossEntropy(l, labels); })(logits);
  });
  auto [loss, g] =
      step(Tensor::fromVector(z, {n, c}), Tensor::fromVector(y, {n}));
  std::vector<float> gradient = g.toVector<float>();
  double expectedLoss = 0;
  for (int64_t i = 0; i < n; ++i) {
    double m = -1e300, s = 0;
    for (int64_t j = 0; j < c; ++j)
      m = std::max(m, double(z[i * c + j]));
    for (int64_t j = 0; j < c; ++j)
      s += std::exp(z[i * c + j] - m);
    expectedLoss += (std::log(s) + m - z[i * c + y[i]]) / n;
    for (int64_t j = 0; j < c; ++j)
      EXPECT_NEAR(
          gradient[i * c + j],
          (std::exp(z[i * c + j] - m) / s - (y[i] == j ? 1.0 : 0.0)) / n, 1e-6)
          << i << "," << j;
  }
  EXPECT_NEAR(loss.item(), expectedLoss, 1e-6);
}

TEST(Grad, MlpLossAllParams) {
  // MLP 5-4-3 with ReLU, f64 parameters, cross-entropy loss.
  std::mt19937 rng(94);
  models::MLP model({5, 4, 3});
  const int64_t batch = 6;
  Params p;
  p.add("fc1.weight", randomF64(rng, {4, 5}));
  p.add("fc1.bias", randomF64(rng, {4}, -0.5, 0.5));
  p.add("fc2.weight", randomF64(rng, {3, 4}));
  p.add("fc2.bias", randomF64(rng, {3}, -0.5, 0.5));
  Params aux{{"x", randomF64(rng, {batch, 5})},
             {"y", Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 2, 1, 0},
                                      {batch})}};
  // Guard: no hidden pre-activation within 1e-3 of the ReLU kink.
  {
    std::vector<double> x = aux.at("x").toVector<double>();
    std::vector<double> w = p.at("fc1.weight").toVector<double>();
    std::vector<double> b = p.at("fc1.bias").toVector<double>();
    int positive = 0;
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < 4; ++j) {
        double s = b[j];
        for (int64_t k = 0; k < 5; ++k)
          s += x[i * 5 + k] * w[j * 5 + k];
        ASSERT_GT(std::abs(s), 1e-3);
        positive += s > 0;
      }
    ASSERT_GT(positive, 0); // some units active, some not
    ASSERT_LT(positive, batch * 4);
  }
  checkGradient(
      [model](const Params &q, const Params &a) {
        return crossEntropy(model(q, a.at("x")), a.at("y"));
      },
      p, aux);
}

TEST(Grad, MlpLossSquareLayers) {
  // MLP 4-4-4-4: three weight gradients [4, 4] and three bias gradients [4]
  // returned together (same-shape matmul / reduction outputs).
  std::mt19937 rng(95);
  models::MLP model({4, 4, 4, 4});
  const int64_t batch = 5;
  Params p;
  for (int l = 1; l <= 3; ++l) {
    p.add("fc" + std::to_string(l) + ".weight", randomF64(rng, {4, 4}));
    p.add("fc" + std::to_string(l) + ".bias", randomF64(rng, {4}, -0.5, 0.5));
  }
  Params aux{{"x", randomF64(rng, {batch, 4})},
             {"y", Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 3, 1},
                                      {batch})}};
  checkGradient(
      [model](const Params &q, const Params &a) {
        return crossEntropy(model(q, a.at("x")), a.at("y"));
      },
      p, aux);
}

//===----------------------------------------------------------------------===//
// stopGradient, zero gradients and errors
//===----------------------------------------------------------------------===//

TEST(Grad, StopGradientGivesZero) {
  auto step = jit([](const Tensor &x) {
    auto g1 = grad([](const Tensor &y) { return sum(stopGradient(y) * 3.0); })(x);
    // d/dy Σ sg(y)·y = sg(y) = y (not 2y).
    auto g2 = grad([](const Tensor &y) { return sum(stopGradient(y) * y); })(x);
    return std::make_tuple(g1, g2);
  });
  std::vector<double> x = {1.5, -2.0, 0.25, 4.0};
  auto [g1, g2] = step(Tensor::fromVector(x, {2, 2}));
  EXPECT_EQ(g1.toVector<double>(), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(g2.toVector<double>(), x);
}

TEST(Grad, UnusedParameterGetsZeros) {
  auto step = jit([](const Params &p) {
    return grad([](const Params &q) { return sum(q.at("used") * 2.0); })(p);
  });
  Params g = step(Params{{"used", Tensor::fromVector(std::vector<double>{1, 2}, {2})},
                         {"unused", Tensor::fromVector(std::vector<double>{3, 4, 5}, {3})}});
  EXPECT_EQ(g.at("used").toVector<double>(), (std::vector<double>{2, 2}));
  EXPECT_EQ(g.at("unused").shape(), (Shape{3}));
  EXPECT_EQ(g.at("unused").toVector<double>(), (std::vector<double>{0, 0, 0}));
}

TEST(Grad, ValuesComputedBeforeAreConstants) {
  // As in JAX: a value computed from x before grad's function is called is a
  // constant for the derivative.
  auto step = jit([](const Tensor &x) {
    Tensor c = x * x;
    return grad([&](const Tensor &y) { return sum(y * c); })(x);
  });
  EXPECT_EQ(step(Tensor::fromVector(std::vector<double>{2, 3}, {2}))
                .toVector<double>(),
            (std::vector<double>{4, 9}));
}

TEST(Grad, UsesOfTheArgumentThroughACaptureAreConstants) {
  // As in JAX: inside grad(f)(p), f's own argument is what is
  // differentiated; p captured by f is a constant (the gradient of
  // Σq² + 10·Σp at p = [1, 2] is 2q = [2, 4], not [12, 14]).
  auto step = jit([](const Params &p) {
    Params g = grad([&](const Params &q) {
      return sum(q.at("w") * q.at("w")) + sum(p.at("w") * 10.0);
    })(p);
    auto [value, h] = valueAndGrad(
        [&](const Tensor &x) { return sum(x * p.at("w")) * 1.0; })(p.at("w"));
    return std::make_tuple(g.at("w"), value, h);
  });
  auto [g, value, h] =
      step(Params{{"w", Tensor::fromVector(std::vector<double>{1, 2}, {2})}});
  EXPECT_EQ(g.toVector<double>(), (std::vector<double>{2, 4}));
  EXPECT_EQ(value.item(), 5.0);
  EXPECT_EQ(h.toVector<double>(), (std::vector<double>{1, 2}));
}

TEST(Grad, OutsideJitThrows) {
  Tensor x = Tensor::fromVector(std::vector<double>{1, 2}, {2});
  auto f = [](const Tensor &y) { return sum(y * y); };
  EXPECT_THROW(grad(f)(x), Error);
  EXPECT_NE(errorMessage([&] { grad(f)(x); }).find("jit"), std::string::npos)
      << errorMessage([&] { grad(f)(x); });
  EXPECT_NE(errorMessage([&] { valueAndGrad(f)(x); }).find("jit"),
            std::string::npos);
}

TEST(Grad, NonScalarThrows) {
  auto step = jit([](const Tensor &x) {
    return grad([](const Tensor &y) { return y * 2.0; })(x);
  });
  Tensor x = Tensor::fromVector(std::vector<double>{1, 2, 3}, {3});
  EXPECT_THROW(step(x), Error);
  std::string msg = errorMessage([&] { step(x); });
  EXPECT_NE(msg.find("scalar"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
}

TEST(Grad, ShapeOneResultIsAcceptedAsScalar) {
  auto step = jit([](const Tensor &x) {
    return grad([](const Tensor &y) { return sum(y * y, {0}, true); })(x);
  });
  EXPECT_EQ(step(Tensor::fromVector(std::vector<double>{1, -2}, {2}))
                .toVector<double>(),
            (std::vector<double>{2, -4}));
}

//===----------------------------------------------------------------------===//
// valueAndGrad: the value and the gradient as two outputs of one jit
//===----------------------------------------------------------------------===//

TEST(Grad, ValueAndGradMatrixParam) {
  // f(x) = Σ x²·w: value and gradient 2·x·w.
  auto step = jit([](const Tensor &x, const Tensor &w) {
    return valueAndGrad([&](const Tensor &y) { return sum(y * y * w); })(x);
  });
  std::vector<double> x = {1, -2, 3, 0.5}, w = {2, 3, -1, 4};
  auto [value, g] = step(Tensor::fromVector(x, {2, 2}), Tensor::fromVector(w, {2, 2}));
  EXPECT_EQ(value.item(), 1 * 2 + 4 * 3 - 9 + 0.25 * 4);
  EXPECT_EQ(g.toVector<double>(), (std::vector<double>{4, -12, -6, 4}));
}

TEST(Grad, ValueAndGradWithAux) {
  auto step = jit([](const Tensor &x) {
    return valueAndGrad([&](const Tensor &y) {
      return std::make_pair(sum(y * y), y * 3.0);
    })(x);
  });
  auto [value, aux, g] = step(Tensor::fromVector(std::vector<double>{1, 2, 3}, {3}));
  EXPECT_EQ(value.item(), 14.0);
  EXPECT_EQ(aux.toVector<double>(), (std::vector<double>{3, 6, 9}));
  EXPECT_EQ(g.toVector<double>(), (std::vector<double>{2, 4, 6}));
}

// Regression (fixed in 2a3990b by dropping eliminate-empty-tensors): a
// jitted function whose outputs include two reductions (or matmuls) of the
// same result shape returned the FIRST one's values for both. Here the
// value Σ x·w and the gradient of the scalar x, Σ w, are both rank-0
// reductions; the gradient came back equal to the value (42 instead of 21).
// Cause (see JitTest Jit.TwoSameShapeReductionOutputs): cse merged the two
// `linalg.fill` inits, eliminate-empty-tensors rewrote the shared
// tensor.empty into a second `bufferization.to_tensor %out0 restrict
// writable` of the first output's memref, and one-shot-bufferize (trusting
// `restrict`) computed the second reduction in %out0 and then overwrote it
// with the first output before copying it to %out1.
TEST(Grad, ValueAndGradScalarParam) {
  auto step = jit([](const Tensor &x, const Tensor &w) {
    return valueAndGrad(
        [&](const Tensor &y) { return sum(broadcastTo(y, {2, 3}) * w); })(x);
  });
  auto [value, g] =
      step(Tensor::fromVector(std::vector<double>{2}, {}),
           Tensor::fromVector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_EQ(value.item(), 42.0);
  EXPECT_EQ(g.item(), 21.0);
}

// Two gradients that are different reductions of the same shape [4] (a
// guard against the multiple-output miscompilation above).
TEST(Grad, TwoSameShapeReductionGradients) {
  auto step = jit([](const Params &p, const Tensor &x, const Tensor &y) {
    return grad([&](const Params &q) {
      return sum(q.at("a") * x + q.at("b") * y);
    })(p);
  });
  std::vector<double> x(12), y(12);
  for (int i = 0; i < 12; ++i) {
    x[i] = i;
    y[i] = 100 - i;
  }
  Params g = step(Params{{"a", Tensor::fromVector(std::vector<double>(4, 1.0), {4})},
                         {"b", Tensor::fromVector(std::vector<double>(4, 1.0), {4})}},
                  Tensor::fromVector(x, {3, 4}), Tensor::fromVector(y, {3, 4}));
  EXPECT_EQ(g.at("a").toVector<double>(), (std::vector<double>{12, 15, 18, 21}));
  EXPECT_EQ(g.at("b").toVector<double>(), (std::vector<double>{288, 285, 282, 279}));
}

} // namespace

//===----------------------------------------------------------------------===//
// conv2d (both operands) and pooling, float64, through the generated linalg
// form of the convolution ops (f64 is never a library call)
//===----------------------------------------------------------------------===//

struct ConvCase {
  const char *label;
  Shape input, filter;
  Conv2dOptions options;
};

Shape convOutput(const ConvCase &c) {
  Shape out = {c.input[0], c.filter[0], 0, 0};
  for (int i = 0; i < 2; ++i)
    out[2 + i] = (c.input[2 + i] + c.options.padding[i] + c.options.padding[i + 2] -
                  c.options.dilation[i] * (c.filter[2 + i] - 1) - 1) /
                     c.options.stride[i] +
                 1;
  return out;
}

const ConvCase kConvCases[] = {
    {"Plain", {2, 3, 6, 5}, {4, 3, 3, 2}, {}},
    {"Stride2Padding1", {2, 2, 7, 7}, {3, 2, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    {"AsymmetricStridePadding", {1, 2, 8, 6}, {2, 2, 3, 3}, {{2, 1}, {0, 2, 1, 0}}},
    {"Dilation2", {2, 2, 7, 8}, {3, 2, 2, 3}, {{1, 1}, {1, 0, 1, 0}, {2, 2}}},
    {"Groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, {{1, 1}, {1, 1, 1, 1}, {1, 1}, 2}},
    {"Depthwise", {1, 3, 6, 6}, {3, 1, 3, 3}, {{2, 2}, {1, 1, 1, 1}, {1, 1}, 3}},
    {"StrideLeavesRows", {1, 1, 8, 8}, {2, 1, 3, 3}, {{3, 3}, {0, 0, 0, 0}}},
};

class ConvGrad : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGrad, MatchesFiniteDifferences) {
  const ConvCase &c = GetParam();
  std::mt19937 rng(std::hash<std::string>{}(c.label) % 1000);
  Params p{{"x", randomF64(rng, c.input)}, {"w", randomF64(rng, c.filter)}};
  Conv2dOptions options = c.options;
  checkGradient(contracted([options](const Params &q) {
                  return conv2d(q.at("x"), q.at("w"), options);
                }),
                p, weightFor(rng, convOutput(c)));
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvGrad, ::testing::ValuesIn(kConvCases),
                         [](const auto &info) { return info.param.label; });

struct PoolCase {
  const char *label;
  Shape input;
  Pool2dOptions options;
};

const PoolCase kPoolCases[] = {
    {"Tiled2x2", {2, 3, 6, 4}, {}},
    {"Overlapping3x3Stride2Padded", {1, 2, 7, 7}, {{3, 3}, {2, 2}, {1, 1, 1, 1}}},
    {"Stride1", {1, 2, 5, 4}, {{2, 2}, {1, 1}}},
    {"DilatedRemainder", {1, 1, 9, 8}, {{2, 2}, {2, 3}, {0, 1, 0, 0}, {2, 1}}},
};

Shape poolOutput(const PoolCase &c) {
  Shape out = {c.input[0], c.input[1], 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t stride = c.options.stride[i] ? c.options.stride[i] : c.options.kernel[i];
    out[2 + i] = (c.input[2 + i] + c.options.padding[i] + c.options.padding[i + 2] -
                  c.options.dilation[i] * (c.options.kernel[i] - 1) - 1) /
                     stride +
                 1;
  }
  return out;
}

class PoolGrad : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolGrad, MaxMatchesFiniteDifferences) {
  const PoolCase &c = GetParam();
  std::mt19937 rng(std::hash<std::string>{}(c.label) % 1000);
  // Distinct values (no ties: finite differences are then well defined).
  Params p{{"x", randomF64(rng, c.input)}};
  Pool2dOptions options = c.options;
  checkGradient(contracted([options](const Params &q) {
                  return maxPool2d(q.at("x"), options);
                }),
                p, weightFor(rng, poolOutput(c)));
}

TEST_P(PoolGrad, AverageMatchesFiniteDifferences) {
  const PoolCase &c = GetParam();
  std::mt19937 rng(7 + std::hash<std::string>{}(c.label) % 1000);
  Params p{{"x", randomF64(rng, c.input)}};
  Pool2dOptions options = c.options;
  checkGradient(contracted([options](const Params &q) {
                  return avgPool2d(q.at("x"), options);
                }),
                p, weightFor(rng, poolOutput(c)));
}

INSTANTIATE_TEST_SUITE_P(Windows, PoolGrad, ::testing::ValuesIn(kPoolCases),
                         [](const auto &info) { return info.param.label; });

TEST(Grad, ConvPoolReluChain) {
  // conv → max pool → relu → global average: the ConvNet's shape of use.
  std::mt19937 rng(91);
  Params p{{"x", randomF64(rng, {2, 2, 8, 8})}, {"w", randomF64(rng, {3, 2, 3, 3})},
           {"b", randomF64(rng, {1, 3, 1, 1})}};
  checkGradient(contracted([](const Params &q) {
                  Tensor h = conv2d(q.at("x"), q.at("w")) + q.at("b");
                  return globalAvgPool2d(relu(maxPool2d(h)));
                }),
                p, weightFor(rng, {2, 3, 1, 1}));
}

TEST(Grad, BatchNormTrainingMode) {
  // Batch statistics depend on every input: the VJP has the two extra terms
  // through the mean and the variance.
  std::mt19937 rng(92);
  nn::BatchNorm2d bn(3, "bn");
  Params p{{"x", randomF64(rng, {4, 3, 3, 2})},
           {"bn.scale", randomF64(rng, {3}, 0.5, 1.5)},
           {"bn.shift", randomF64(rng, {3})}};
  checkGradient(contracted([bn](const Params &q) {
                  return bn(q, q.at("x"), nn::Mode{/*training=*/true, nullptr, nullptr, {}});
                }),
                p, weightFor(rng, {4, 3, 3, 2}));
}

TEST(Grad, BatchNormInferenceMode) {
  std::mt19937 rng(93);
  nn::BatchNorm2d bn(3, "bn");
  Params p{{"x", randomF64(rng, {2, 3, 2, 2})},
           {"bn.scale", randomF64(rng, {3}, 0.5, 1.5)},
           {"bn.shift", randomF64(rng, {3})}};
  Params aux = weightFor(rng, {2, 3, 2, 2});
  aux.add("bn.running_mean", randomF64(rng, {3}));
  aux.add("bn.running_var", randomF64(rng, {3}, 0.5, 2.0));
  checkGradient(
      [bn](const Params &q, const Params &a) {
        nn::Mode mode{/*training=*/false, &a, nullptr, {}};
        return sum(bn(q, q.at("x"), mode) * a.at("w"));
      },
      p, aux);
}

// Sums of 1,024 terms per channel run in steps (Tensor.cpp's sumInSteps):
// the rule's sums must be the same. f sums 2,048 terms, so the central
// differences themselves are only good to ~5e-8 (f's rounding over the
// step); a wrong or missing term of the rule is ~1e-2.
TEST(Grad, BatchNormOverALongBatch) {
  std::mt19937 rng(95);
  Params p{{"x", randomF64(rng, {4, 2, 16, 16})},
           {"scale", randomF64(rng, {2}, 0.5, 1.5)},
           {"shift", randomF64(rng, {2})}};
  checkGradient(contracted([](const Params &q) {
                  return batchNorm(q.at("x"), q.at("scale"), q.at("shift"), 1e-5);
                }),
                p, weightFor(rng, {4, 2, 16, 16}), /*absTol=*/5e-7);
}

// Axes that are not the trailing ones, and a rank-2 batch norm ([N, C]).
TEST(Grad, StandardizeAndRankTwoBatchNorm) {
  std::mt19937 rng(96);
  Params p{{"x", randomF64(rng, {3, 2, 4})}};
  checkGradient(contracted([](const Params &q) {
                  return standardize(q.at("x"), {0, 2}, 1e-3);
                }),
                p, weightFor(rng, {3, 2, 4}));
  Params q{{"x", randomF64(rng, {5, 3})},
           {"scale", randomF64(rng, {3}, 0.5, 1.5)},
           {"shift", randomF64(rng, {3})}};
  checkGradient(contracted([](const Params &r) {
                  return batchNorm(r.at("x"), r.at("scale"), r.at("shift"), 0.0);
                }),
                q, weightFor(rng, {5, 3}));
}

// The point of batchNorm's own rule: its reverse pass is two sums and one
// pass over the input (the primitives' own rules traced about twenty
// operations, among them a second division and the square root's).
TEST(Grad, BatchNormReverseIsTwoSums) {
  Trace trace;
  TraceScope scope(trace);
  Tensor x = trace.addInput({4, 3, 2, 2}, DType::F32, "x");
  Tensor scale = trace.addInput({3}, DType::F32, "scale");
  Tensor shift = trace.addInput({3}, DType::F32, "shift");
  int before = 0;
  auto [value, gradient] = valueAndGrad([&](const Params &p) {
    Tensor y = batchNorm(p.at("x"), p.at("scale"), p.at("shift"), 1e-5);
    before = static_cast<int>(trace.nodes().size());
    return sum(y);
  })(Params{{"x", x}, {"scale", scale}, {"shift", shift}});
  (void)value;
  ASSERT_EQ(gradient.size(), 3u);
  // Forward: mean and variance, then the loss; reverse: Σȳ and Σȳ·x̂.
  EXPECT_EQ(countNodes(trace, Prim::ReduceSum), 5) << trace.str();
  // x̂ = (x − μ)/d forward, γ/d in the rule; no sqrt in the reverse pass.
  EXPECT_EQ(countNodes(trace, Prim::Div), 2) << trace.str();
  EXPECT_EQ(countNodes(trace, Prim::Sqrt), 1) << trace.str();
  EXPECT_LT(static_cast<int>(trace.nodes().size()) - before, 30) << trace.str();
}

//===----------------------------------------------------------------------===//
// customVjp
//===----------------------------------------------------------------------===//

// The rule replaces the primitives' derivative, however the value was
// computed: here 3·ȳ for x·x (whose true derivative is 2x·ȳ).
TEST(Grad, CustomVjpReplacesTheRule) {
  auto f = jit([](const Tensor &x) {
    return grad([](const Tensor &t) {
      Tensor square = customVjp(t * t, {t}, [](const Tensor &g) {
        return std::vector<Tensor>{g * 3.0};
      });
      return sum(square * 2.0) + sum(t);
    })(x);
  });
  Tensor g = f(Tensor::fromVector(std::vector<float>{1, 2, 3}, {3}));
  EXPECT_EQ(g.toVector<float>(), (std::vector<float>{7, 7, 7}));
}

// A straight-through estimator: the value is stopGradient(...), which has
// no derivative, and the rule passes the cotangent through.
TEST(Grad, CustomVjpGivesAStopGradientASurrogate) {
  auto f = jit([](const Tensor &x) {
    return grad([](const Tensor &t) {
      Tensor hard = customVjp(stopGradient(relu(t)), {t},
                              [](const Tensor &g) { return std::vector<Tensor>{g}; });
      return sum(hard * t);
    })(x);
  });
  // d/dt Σ hard·t with hard's surrogate derivative 1: t + relu(t).
  Tensor g = f(Tensor::fromVector(std::vector<float>{-2, 0.5, 3}, {3}));
  EXPECT_EQ(g.toVector<float>(), (std::vector<float>{-2, 1, 6}));
}

void expectCustomVjpError(const std::function<Tensor(const Tensor &)> &body,
                          const std::string &expected) {
  auto f = jit([body](const Tensor &x) { return grad(body)(x); });
  try {
    (void)f(Tensor::fromVector(std::vector<float>{1, 2}, {2}));
    ADD_FAILURE() << "accepted; expected: " << expected;
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(Grad, CustomVjpRefusesBadRules) {
  expectCustomVjpError(
      [](const Tensor &t) {
        return sum(customVjp(t * 2.0, {t}, [](const Tensor &g) {
          return std::vector<Tensor>{sum(g)};
        }));
      },
      "the rule's cotangent 0 has shape []");
  expectCustomVjpError(
      [](const Tensor &t) {
        return sum(customVjp(t * 2.0, {t}, [](const Tensor &g) {
          return std::vector<Tensor>{g, g};
        }));
      },
      "the rule returned 2 cotangents for 1 inputs");
  expectCustomVjpError(
      [](const Tensor &t) {
        Tensor y = t * 2.0;
        Tensor later = t + 1.0;
        return sum(customVjp(y, {later}, [](const Tensor &g) {
          return std::vector<Tensor>{g};
        }));
      },
      "input 0 is not computed before the value");
  expectCustomVjpError(
      [](const Tensor &t) {
        auto identity = [](const Tensor &g) { return std::vector<Tensor>{g}; };
        Tensor y = customVjp(t * 2.0, {t}, identity);
        return sum(customVjp(y, {t}, identity));
      },
      "the value already has a rule");
}

TEST(Grad, ConcatAlongChannels) {
  std::mt19937 rng(94);
  Params p{{"a", randomF64(rng, {2, 3, 2, 2})}, {"b", randomF64(rng, {2, 1, 2, 2})},
           {"c", randomF64(rng, {2, 2, 2, 2})}};
  checkGradient(contracted([](const Params &q) {
                  return concat({q.at("a"), q.at("b"), q.at("c")}, 1);
                }),
                p, weightFor(rng, {2, 6, 2, 2}));
}

TEST(Grad, SliceInTheMiddle) {
  std::mt19937 rng(95);
  Params p{{"x", randomF64(rng, {3, 7})}};
  checkGradient(contracted([](const Params &q) { return slice(q.at("x"), 1, 2, 4); }),
                p, weightFor(rng, {3, 4}));
}

TEST(Grad, Transpose) {
  std::mt19937 rng(96);
  Params p{{"x", randomF64(rng, {2, 3, 4})}};
  checkGradient(contracted([](const Params &q) { return transpose(q.at("x"), {2, 0, 1}); }),
                p, weightFor(rng, {4, 2, 3}));
}

TEST(Grad, ConvTranspose) {
  // The transposed convolution is conv2d_grad_input as a layer; its VJP is
  // the forward convolution and the filter gradient with roles swapped.
  std::mt19937 rng(97);
  Params p{{"x", randomF64(rng, {2, 4, 3, 3})}, {"w", randomF64(rng, {4, 3, 3, 2})}};
  Conv2dOptions o{{2, 1}, {1, 0, 0, 1}, {1, 2}, 2};
  // OH = 2·2 + 1 + 1·2 + 1 − 1 − 0 = 7, OW = 1·2 + 0 + 2·1 + 1 − 0 − 1 = 4.
  checkGradient(contracted([o](const Params &q) {
                  return convTranspose2d(q.at("x"), q.at("w"), o, {1, 0});
                }),
                p, weightFor(rng, {2, 6, 7, 4}));
}
