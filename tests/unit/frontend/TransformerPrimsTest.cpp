//===- TransformerPrimsTest.cpp - Batched matmul, softmax, layer norm... --===//
//
// The primitives and compositions of issue 18 (batched matmul with
// broadcast batches, erf/GELU, where, less, softmax with an additive mask,
// layer normalization, take): the forward pass against float64 references
// written here from each op's definition, and every gradient against central
// finite differences in float64 (as GradTest.cpp: f = Σ op(x)·w with a fixed
// random w, h = 1e-6, tolerance 1e-8 + 1e-6·|fd|, far below what a wrong rule
// gives). The f32 forward runs through the BLAS library call (one GEMM per
// batch) and is checked against the same references.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace bregman;

namespace {

using ScalarFn = std::function<Tensor(const Params &p, const Params &aux)>;

Tensor randomTensor(std::mt19937 &rng, const Shape &shape, double lo = -1.0,
                    double hi = 1.0) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(numElements(shape));
  for (double &x : v)
    x = u(rng);
  return Tensor::fromVector(v, shape);
}

Tensor toF32(const Tensor &t) {
  std::vector<double> v = t.toVector<double>();
  return Tensor::fromVector(std::vector<float>(v.begin(), v.end()), t.shape());
}

/// grad f against central differences for every element of every entry of p.
void checkGradient(const ScalarFn &f, const Params &p, const Params &aux) {
  const double h = 1e-6;
  auto forward = jit([f](const Params &q, const Params &a) { return f(q, a); },
                     JitOptions{{}, "transformer_test.forward"});
  auto gradient = jit(
      [f](const Params &q, const Params &a) {
        return grad([&](const Params &r) { return f(r, a); })(q);
      },
      JitOptions{{}, "transformer_test.grad"});
  Params g = gradient(p, aux);
  for (const auto &[name, t] : p) {
    std::vector<double> analytic = g.at(name).toVector<double>();
    std::vector<double> base = t.toVector<double>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      Params plus = p.copy(), minus = p.copy();
      plus.at(name).data<double>()[i] = base[i] + h;
      minus.at(name).data<double>()[i] = base[i] - h;
      double fd = (forward(plus, aux).item() - forward(minus, aux).item()) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd))
          << "d f / d " << name << "[" << i << "]";
    }
  }
  EXPECT_EQ(forward.compileCount(), 1u);
}

/// f = Σ op(p)·w, with w = aux["w"] of op's result shape.
ScalarFn contracted(std::function<Tensor(const Params &, const Params &)> op) {
  return [op](const Params &p, const Params &aux) { return sum(op(p, aux) * aux.at("w")); };
}

/// Runs op on `inputs` (compiled) and returns its result.
Tensor runForward(std::function<Tensor(const Params &)> op, const Params &inputs) {
  auto f = jit([op](const Params &q) { return op(q); });
  return f(inputs);
}

void expectClose(const Tensor &got, const std::vector<double> &expected, double tol) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(expected.size()));
  std::vector<double> g = got.dtype() == DType::F64
                              ? got.toVector<double>()
                              : [&] {
                                  std::vector<float> f = got.toVector<float>();
                                  return std::vector<double>(f.begin(), f.end());
                                }();
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(g[i], expected[i], tol * (1.0 + std::abs(expected[i]))) << "element " << i;
}

//===----------------------------------------------------------------------===//
// Batched matmul
//===----------------------------------------------------------------------===//

/// NumPy matmul in double with broadcast batches and optional transposes
/// (of the last two axes).
std::vector<double> matmulReference(const Tensor &a, const Tensor &b, bool ta, bool tb,
                                    Shape &out) {
  std::vector<double> av = a.toVector<double>(), bv = b.toVector<double>();
  int64_t ra = a.rank(), rb = b.rank(), rank = std::max(ra, rb);
  int64_t m = ta ? a.dim(-1) : a.dim(-2), k = ta ? a.dim(-2) : a.dim(-1);
  int64_t n = tb ? b.dim(-2) : b.dim(-1);
  Shape batch(rank - 2);
  for (int64_t i = 0; i < rank - 2; ++i) {
    int64_t da = i - (rank - ra) >= 0 ? a.shape()[i - (rank - ra)] : 1;
    int64_t db = i - (rank - rb) >= 0 ? b.shape()[i - (rank - rb)] : 1;
    batch[i] = std::max(da, db);
  }
  out = batch;
  out.push_back(m);
  out.push_back(n);
  std::vector<double> y;
  int64_t count = numElements(batch);
  for (int64_t bi = 0; bi < count; ++bi) {
    // The matrix offset of operand x for batch index bi (broadcast dims read 0).
    auto offset = [&](const Tensor &x) {
      int64_t rem = bi, off = 0, stride = x.dim(-1) * x.dim(-2);
      for (int64_t i = rank - 3; i >= 0; --i) {
        int64_t idx = rem % batch[i];
        rem /= batch[i];
        int64_t xi = i - (rank - x.rank());
        if (xi >= 0) {
          if (x.shape()[xi] != 1)
            off += idx * stride;
          stride *= x.shape()[xi];
        }
      }
      return off;
    };
    int64_t oa = offset(a), ob = offset(b);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q) {
          double x = ta ? av[oa + q * m + i] : av[oa + i * k + q];
          double z = tb ? bv[ob + j * k + q] : bv[ob + q * n + j];
          acc += x * z;
        }
        y.push_back(acc);
      }
  }
  return y;
}

struct BatchCase {
  Shape a, b;
  bool ta, tb;
  const char *label;
};

const BatchCase kBatchCases[] = {
    {{2, 3, 4}, {2, 4, 5}, false, false, "SameBatch"},
    {{2, 3, 4}, {2, 5, 4}, false, true, "SameBatchNT"},
    {{2, 4, 3}, {2, 4, 5}, true, false, "SameBatchTN"},
    {{2, 2, 3, 4}, {1, 2, 4, 5}, false, false, "BroadcastLeading"},
    {{3, 4}, {2, 4, 5}, false, false, "MatrixTimesBatch"},
    {{2, 1, 3, 4}, {3, 4, 2}, false, false, "BroadcastBothWays"},
    {{2, 3, 3, 4}, {4, 5}, false, false, "SharedWeight"},
    {{2, 3, 3, 4}, {5, 4}, false, true, "SharedWeightNT"},
};

class BatchMatmul : public ::testing::TestWithParam<BatchCase> {};

TEST_P(BatchMatmul, GradientMatchesFiniteDifferences) {
  const BatchCase &c = GetParam();
  std::mt19937 rng(5);
  Params p{{"a", randomTensor(rng, c.a)}, {"b", randomTensor(rng, c.b)}};
  Shape out;
  matmulReference(p.at("a"), p.at("b"), c.ta, c.tb, out);
  Params aux{{"w", randomTensor(rng, out)}};
  bool ta = c.ta, tb = c.tb;
  checkGradient(contracted([ta, tb](const Params &q, const Params &) {
                  return matmul(q.at("a"), q.at("b"), ta, tb);
                }),
                p, aux);
}

TEST_P(BatchMatmul, ForwardMatchesTheReferenceInF64AndF32) {
  const BatchCase &c = GetParam();
  std::mt19937 rng(6);
  Params p{{"a", randomTensor(rng, c.a)}, {"b", randomTensor(rng, c.b)}};
  Shape out;
  std::vector<double> expected = matmulReference(p.at("a"), p.at("b"), c.ta, c.tb, out);
  bool ta = c.ta, tb = c.tb;
  auto op = [ta, tb](const Params &q) { return matmul(q.at("a"), q.at("b"), ta, tb); };
  Tensor y64 = runForward(op, p);
  EXPECT_EQ(y64.shape(), out);
  expectClose(y64, expected, 1e-12);
  // f32: the GEMM library call per batch.
  Tensor y32 = runForward(op, Params{{"a", toF32(p.at("a"))}, {"b", toF32(p.at("b"))}});
  EXPECT_EQ(y32.shape(), out);
  expectClose(y32, expected, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchMatmul, ::testing::ValuesIn(kBatchCases),
                         [](const auto &info) { return std::string(info.param.label); });

TEST(BatchMatmul, MismatchedShapesAreRefused) {
  auto f = jit([](const Tensor &a, const Tensor &b) { return matmul(a, b); });
  try {
    (void)f(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5}));
    ADD_FAILURE() << "broadcast of batches 2 and 3 accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("cannot be broadcast"), std::string::npos)
        << e.what();
  }
  try {
    (void)f(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 5, 5}));
    ADD_FAILURE() << "inner dimensions 4 and 5 accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("inner dimensions differ"), std::string::npos)
        << e.what();
  }
}

//===----------------------------------------------------------------------===//
// erf, GELU, where, less
//===----------------------------------------------------------------------===//

TEST(TransformerPrims, ErfAndGeluForward) {
  std::vector<double> x = {-4.0, -2.5, -1.0, -0.3, 0.0, 0.2, 0.7, 1.5, 3.0, 6.0};
  Params p{{"x", Tensor::fromVector(x, {10})}};
  std::vector<double> erfRef, geluRef, tanhRef;
  for (double v : x) {
    erfRef.push_back(std::erf(v));
    geluRef.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    double u = std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v);
    tanhRef.push_back(0.5 * v * (1 + std::tanh(u)));
  }
  expectClose(runForward([](const Params &q) { return erf(q.at("x")); }, p), erfRef, 1e-14);
  expectClose(runForward([](const Params &q) { return gelu(q.at("x")); }, p), geluRef, 1e-14);
  expectClose(runForward([](const Params &q) { return gelu(q.at("x"), true); }, p), tanhRef,
              1e-14);
  Params p32{{"x", toF32(p.at("x"))}};
  expectClose(runForward([](const Params &q) { return gelu(q.at("x")); }, p32), geluRef, 1e-6);
  expectClose(runForward([](const Params &q) { return gelu(q.at("x"), true); }, p32), tanhRef,
              1e-6);
}

TEST(TransformerPrims, ErfAndGeluGradients) {
  std::mt19937 rng(8);
  Params p{{"x", randomTensor(rng, {3, 4}, -3.0, 3.0)}};
  Params aux{{"w", randomTensor(rng, {3, 4})}};
  checkGradient(contracted([](const Params &q, const Params &) { return erf(q.at("x")); }), p,
                aux);
  checkGradient(contracted([](const Params &q, const Params &) { return gelu(q.at("x")); }), p,
                aux);
  checkGradient(
      contracted([](const Params &q, const Params &) { return gelu(q.at("x"), true); }), p, aux);
}

// The tanh form is x·σ(2u): finite values and gradients where 1/(1 + e^−z)
// would overflow.
TEST(TransformerPrims, TanhGeluStaysFiniteFarOut) {
  auto f = jit([](const Tensor &x) {
    auto [y, g] = valueAndGrad([](const Params &q) { return sum(gelu(q.at("x"), true)); })(
        Params{{"x", x}});
    return Params{{"y", reshape(y, {1})}, {"g", g.at("x")}};
  });
  Params r = f(Tensor::fromVector(std::vector<float>{-100.0f, -30.0f, 30.0f, 100.0f}, {4}));
  std::vector<float> g = r.at("g").toVector<float>();
  EXPECT_NEAR(r.at("y").toVector<float>()[0], 130.0, 1e-3);
  EXPECT_FLOAT_EQ(g[0], 0.0f);
  EXPECT_FLOAT_EQ(g[1], 0.0f);
  EXPECT_FLOAT_EQ(g[2], 1.0f);
  EXPECT_FLOAT_EQ(g[3], 1.0f);
}

TEST(TransformerPrims, WhereAndLessForward) {
  Params p{{"a", Tensor::fromVector(std::vector<double>{1, -2, 3, -4, 5, -6}, {2, 3})},
           {"b", Tensor::fromVector(std::vector<double>{0.5, 0.5, 10}, {3})}};
  Tensor y = runForward(
      [](const Params &q) {
        Tensor mask = less(q.at("a"), q.at("b")); // broadcast [2, 3]
        return where(mask, q.at("a"), -q.at("b")) + greater(q.at("a"), q.at("b")) * 100.0;
      },
      p);
  // less: a < b at (−2, 3, −4, −6): picks a there, −b elsewhere; greater
  // adds 100 where a > b.
  expectClose(y, {-0.5 + 100, -2, 3, -4, -0.5 + 100, -6}, 1e-15);
}

TEST(TransformerPrims, WhereGradientGoesToThePickedSide) {
  std::mt19937 rng(9);
  Params p{{"a", randomTensor(rng, {3, 4})}, {"b", randomTensor(rng, {4})}};
  Params aux{{"c", Tensor::fromVector(std::vector<double>{1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0},
                                      {3, 4})},
             {"w", randomTensor(rng, {3, 4})}};
  checkGradient(contracted([](const Params &q, const Params &a) {
                  return where(a.at("c"), q.at("a"), q.at("b"));
                }),
                p, aux);
}

// A masked −∞ on the side not picked gives no NaN in the other's gradient.
TEST(TransformerPrims, WhereWithInfiniteFillHasFiniteGradients) {
  auto f = jit([](const Tensor &x, const Tensor &c) {
    return grad([&](const Params &q) {
      Tensor masked = where(c, q.at("x"), full({}, -INFINITY));
      return sum(softmax(masked, -1));
    })(Params{{"x", x}});
  });
  Params g = f(Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {1, 4}),
               Tensor::fromVector(std::vector<float>{1, 1, 0, 1}, {1, 4}));
  for (float v : g.at("x").toVector<float>())
    EXPECT_TRUE(std::isfinite(v));
}

//===----------------------------------------------------------------------===//
// softmax with a mask, layer norm
//===----------------------------------------------------------------------===//

TEST(TransformerPrims, SoftmaxWithMaskOnAnyAxis) {
  std::mt19937 rng(10);
  Tensor x = randomTensor(rng, {2, 3, 4}, -3, 3);
  // Mask [3, 1]: −∞ removes row 1 of axis 1 when the softmax runs over axis 1.
  Tensor mask = Tensor::fromVector(std::vector<double>{0, -INFINITY, 0.5}, {3, 1});
  Params p{{"x", x}, {"m", mask}};
  std::vector<double> xv = x.toVector<double>(), expected(24);
  double mv[3] = {0, -INFINITY, 0.5};
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double mx = -INFINITY, total = 0;
      for (int j = 0; j < 3; ++j)
        mx = std::max(mx, xv[(i * 3 + j) * 4 + k] + mv[j]);
      for (int j = 0; j < 3; ++j)
        total += std::exp(xv[(i * 3 + j) * 4 + k] + mv[j] - mx);
      for (int j = 0; j < 3; ++j)
        expected[(i * 3 + j) * 4 + k] = std::exp(xv[(i * 3 + j) * 4 + k] + mv[j] - mx) / total;
    }
  expectClose(runForward([](const Params &q) { return softmax(q.at("x"), 1, q.at("m")); }, p),
              expected, 1e-14);
  // Gradients on the last axis with a finite mask, and on axis 1 with −∞.
  Params aux{{"w", randomTensor(rng, {2, 3, 4})}, {"m", mask}};
  Params px{{"x", x}};
  checkGradient(contracted([](const Params &q, const Params &a) {
                  return softmax(q.at("x"), 1, a.at("m"));
                }),
                px, aux);
  checkGradient(contracted([](const Params &q, const Params &) { return softmax(q.at("x")); }),
                px, aux);
}

TEST(TransformerPrims, LayerNormOverTheLastAxes) {
  std::mt19937 rng(12);
  Tensor x = randomTensor(rng, {2, 3, 4}, -2, 2);
  Tensor scale = randomTensor(rng, {3, 4}), bias = randomTensor(rng, {3, 4});
  std::vector<double> xv = x.toVector<double>(), s = scale.toVector<double>(),
                      b = bias.toVector<double>(), expected;
  const double eps = 1e-5;
  for (int i = 0; i < 2; ++i) {
    double mu = 0, var = 0;
    for (int j = 0; j < 12; ++j)
      mu += xv[i * 12 + j] / 12;
    for (int j = 0; j < 12; ++j)
      var += (xv[i * 12 + j] - mu) * (xv[i * 12 + j] - mu) / 12;
    for (int j = 0; j < 12; ++j)
      expected.push_back((xv[i * 12 + j] - mu) / std::sqrt(var + eps) * s[j] + b[j]);
  }
  Params p{{"x", x}, {"s", scale}, {"b", bias}};
  auto op = [](const Params &q) { return layerNorm(q.at("x"), 2, q.at("s"), q.at("b")); };
  expectClose(runForward(op, p), expected, 1e-13);
  Params p32{{"x", toF32(x)}, {"s", toF32(scale)}, {"b", toF32(bias)}};
  expectClose(runForward(op, p32), expected, 1e-5);
  Params aux{{"w", randomTensor(rng, {2, 3, 4})}};
  checkGradient(contracted([](const Params &q, const Params &) {
                  return layerNorm(q.at("x"), 2, q.at("s"), q.at("b"));
                }),
                p, aux);
  // One axis, no scale or bias.
  checkGradient(contracted([](const Params &q, const Params &) {
                  return layerNorm(q.at("x"), 1);
                }),
                Params{{"x", x}}, aux);
}

TEST(TransformerPrims, LayerNormRefusesBadAxesAndScales) {
  auto f = jit([](const Tensor &x, const Tensor &s) { return layerNorm(x, 1, s); });
  try {
    (void)f(Tensor::zeros({2, 4}), Tensor::zeros({3}));
    ADD_FAILURE() << "a scale of 3 for 4 features accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("do not broadcast"), std::string::npos) << e.what();
  }
  auto g = jit([](const Tensor &x) { return layerNorm(x, 3); });
  EXPECT_THROW((void)g(Tensor::zeros({2, 4})), Error);
}

//===----------------------------------------------------------------------===//
// take (embedding lookup)
//===----------------------------------------------------------------------===//

TEST(TransformerPrims, TakePicksRowsAndScattersGradients) {
  std::mt19937 rng(13);
  Tensor table = randomTensor(rng, {5, 3});
  // Repeated rows 2 (gradients add up; once as −3), an index out of
  // range (zero row), −1 for the last row.
  std::vector<int32_t> idx = {2, 0, -3, -1, 7, 1};
  Tensor indices = Tensor::fromVector(idx, {2, 3});
  std::vector<double> t = table.toVector<double>(), expected;
  for (int32_t i : idx)
    for (int j = 0; j < 3; ++j)
      expected.push_back(i >= -5 && i < 5 ? t[(i < 0 ? i + 5 : i) * 3 + j] : 0.0);
  auto op = [](const Params &q) { return take(q.at("t"), q.at("i")); };
  Tensor y = runForward(op, Params{{"t", table}, {"i", indices}});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3}));
  expectClose(y, expected, 0.0);
  expectClose(runForward(op, Params{{"t", toF32(table)}, {"i", indices}}), expected, 1e-7);
  Params aux{{"i", indices}, {"w", randomTensor(rng, {2, 3, 3})}};
  checkGradient(contracted([](const Params &q, const Params &a) {
                  return take(q.at("t"), a.at("i"));
                }),
                Params{{"t", table}}, aux);
}

} // namespace
