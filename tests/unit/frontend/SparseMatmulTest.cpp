//===- SparseMatmulTest.cpp - CSR layers against float64 references -------===//
//
// sparseMatmul runs through MLIR's sparsifier (breg-bufferize). Its forward
// a·Wᵀ and input gradient δ·W are checked against float64 products of the
// same float32 data, over densities from 0 % to 100 %, empty rows, all-zero
// weights, batch 1 and 128, exact and full (rows·cols) CSR capacities; the
// gradient through it against the dense rules (da = g·W, dW = gᵀ·a).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <random>
#include <vector>

using namespace bregman;
using bregman::testing::errorMessage;
using bregman::testing::expectWithinRounding;

namespace {

/// The GPU pipeline (and its emulation, under which ctest runs this suite
/// again) has no sparse lowering: there the layer must fail with an error
/// naming the op, which this checks instead (true).
bool refusedOnGpu(const std::function<void()> &run) {
  return bregman::testing::expectGpuRefusal(
      run, {"sparse_matmul", "sparse tensors are lowered on the CPU only"});
}

/// A [rows, cols] weight with about `density` of its entries non-zero (row
/// 1 always empty), uniform in ±[0.5, 1.5).
std::vector<float> sparseWeight(std::mt19937 &rng, int64_t rows, int64_t cols,
                                double density) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> w(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (r != 1 && u(rng) < density)
        w[r * cols + c] = static_cast<float>((u(rng) < 0.5 ? -1 : 1) *
                                             (0.5 + u(rng)));
  return w;
}

/// out[b, j] = Σ_k a[b, k]·W(k, j) in float64 with W(k, j) = w[j, k]
/// (transposed: a·Wᵀ) or w[k, j]; `bound` gets Σ|a·W|, the scale of float32
/// rounding in the sum.
std::vector<double> refProduct(const std::vector<float> &a,
                               const std::vector<float> &w, int64_t batch,
                               int64_t rows, int64_t cols, bool transposed,
                               std::vector<double> &bound) {
  int64_t inner = transposed ? cols : rows, outer = transposed ? rows : cols;
  std::vector<double> out(batch * outer, 0.0);
  bound.assign(out.size(), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < outer; ++j)
      for (int64_t k = 0; k < inner; ++k) {
        double wkj = transposed ? w[j * cols + k] : w[k * cols + j];
        double term = static_cast<double>(a[b * inner + k]) * wkj;
        out[b * outer + j] += term;
        bound[b * outer + j] += std::abs(term);
      }
  return out;
}

/// The [rows, cols] row-major `m` as [cols, rows].
std::vector<float> transposed(const std::vector<float> &m, int64_t rows,
                              int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[c * rows + r] = m[r * cols + c];
  return t;
}


struct Case {
  double density;
  int64_t batch;
  bool fullCapacity;
};

} // namespace

class SparseMatmul : public ::testing::TestWithParam<Case> {};

TEST_P(SparseMatmul, ForwardAndInputGradientMatchFloat64) {
  const Case c = GetParam();
  constexpr int64_t rows = 24, cols = 37;
  std::mt19937 rng(11);
  std::vector<float> w = sparseWeight(rng, rows, cols, c.density);
  CsrWeight csr = compressRows(Tensor::fromVector(w, {rows, cols}),
                               c.fullCapacity ? rows * cols : -1);
  std::vector<float> x = bregman::testing::randomFloats(rng, c.batch * cols);
  std::vector<float> d = bregman::testing::randomFloats(rng, c.batch * rows);
  auto layer = jit([](const Tensor &x, const Tensor &d, const Tensor &pos,
                      const Tensor &crd, const Tensor &val) {
    CsrWeight w{pos, crd, val, Tensor(), rows, cols};
    // Both forms: batch-major (a·Wᵀ, δ·W) and feature-major (W·xᵀ, Wᵀ·δᵀ).
    return std::make_tuple(sparseMatmul(x, w, /*transposeW=*/true),
                           sparseMatmul(d, w, /*transposeW=*/false),
                           sparseMatmulLeft(w, transpose(x, {1, 0}), false),
                           sparseMatmulLeft(w, transpose(d, {1, 0}), true));
  });
  auto run = [&] {
    return layer(Tensor::fromVector(x, {c.batch, cols}),
                 Tensor::fromVector(d, {c.batch, rows}), csr.positions,
                 csr.coordinates, csr.values);
  };
  if (refusedOnGpu([&] { run(); }))
    return;
  auto [y, dx, yt, dxt] = run();
  ASSERT_EQ(yt.shape(), (Shape{rows, c.batch}));
  ASSERT_EQ(dxt.shape(), (Shape{cols, c.batch}));
  ASSERT_EQ(y.shape(), (Shape{c.batch, rows}));
  ASSERT_EQ(dx.shape(), (Shape{c.batch, cols}));
  std::vector<double> bound;
  std::vector<double> yRef = refProduct(x, w, c.batch, rows, cols, true, bound);
  expectWithinRounding(y.toVector<float>(), yRef, bound, "x·Wᵀ");
  std::vector<double> dxRef =
      refProduct(d, w, c.batch, rows, cols, false, bound);
  expectWithinRounding(dx.toVector<float>(), dxRef, bound, "δ·W");
  expectWithinRounding(transposed(dxt.toVector<float>(), cols, c.batch), dxRef, bound,
             "Wᵀ·δᵀ");
  refProduct(x, w, c.batch, rows, cols, true, bound);
  expectWithinRounding(transposed(yt.toVector<float>(), rows, c.batch), yRef, bound,
             "W·xᵀ");
  // Row 1 is empty: its outputs are exactly zero.
  for (int64_t b = 0; b < c.batch; ++b)
    EXPECT_EQ(y.toVector<float>()[b * rows + 1], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Densities, SparseMatmul,
    ::testing::Values(Case{0.0, 1, false}, Case{0.0, 128, true},
                      Case{0.01, 1, false}, Case{0.01, 128, true},
                      Case{0.05, 1, true}, Case{0.05, 128, false},
                      Case{0.5, 1, false}, Case{0.5, 128, true},
                      Case{1.0, 1, true}, Case{1.0, 128, false}));

TEST(SparseMatmulGrad, InputGradientOnCsrWeightGradientDense) {
  // loss = Σ c ⊙ (x·Wᵀ): dx = c·W (on the CSR), dW = cᵀ·x (dense).
  constexpr int64_t rows = 9, cols = 13, batch = 5;
  std::mt19937 rng(5);
  std::vector<float> w = sparseWeight(rng, rows, cols, 0.2);
  CsrWeight csr = compressRows(Tensor::fromVector(w, {rows, cols}), rows * cols);
  std::vector<float> x = bregman::testing::randomFloats(rng, batch * cols);
  std::vector<float> c = bregman::testing::randomFloats(rng, batch * rows);
  auto step = jit([](const Tensor &x, const Tensor &w, const Tensor &c,
                     const Tensor &pos, const Tensor &crd, const Tensor &val) {
    return grad([&](const Params &p) {
      CsrWeight sw{pos, crd, val, p.at("w"), rows, cols};
      return sum(sparseMatmul(p.at("x"), sw, true) * c);
    })(Params{{"x", x}, {"w", w}});
  });
  auto run = [&] {
    return step(Tensor::fromVector(x, {batch, cols}),
                Tensor::fromVector(w, {rows, cols}),
                Tensor::fromVector(c, {batch, rows}), csr.positions,
                csr.coordinates, csr.values);
  };
  if (refusedOnGpu([&] { run(); }))
    return;
  Params g = run();
  std::vector<double> bound;
  expectWithinRounding(g.at("x").toVector<float>(),
             refProduct(c, w, batch, rows, cols, false, bound), bound,
             "dx = c·W");
  // dW[o, i] = Σ_b c[b, o]·x[b, i]: the product cᵀ·x, written out.
  std::vector<double> dw(rows * cols, 0.0), dwBound(rows * cols, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t i = 0; i < cols; ++i) {
        double term = static_cast<double>(c[b * rows + o]) * x[b * cols + i];
        dw[o * cols + i] += term;
        dwBound[o * cols + i] += std::abs(term);
      }
  expectWithinRounding(g.at("w").toVector<float>(), dw, dwBound, "dW = cᵀ·x");
}

TEST(SparseMatmulGrad, LeftFormOnFeatureMajorActivations) {
  // loss = Σ c ⊙ (W·xt), xt [cols, N]: dxt = Wᵀ·c, dW = c·xtᵀ; checked
  // against the same loss through the dense matmul in float64 terms.
  constexpr int64_t rows = 7, cols = 11, n = 6;
  std::mt19937 rng(8);
  std::vector<float> w = sparseWeight(rng, rows, cols, 0.3);
  CsrWeight csr = compressRows(Tensor::fromVector(w, {rows, cols}), rows * cols);
  std::vector<float> xt = bregman::testing::randomFloats(rng, cols * n);
  std::vector<float> c = bregman::testing::randomFloats(rng, rows * n);
  auto step = jit([](const Tensor &xt, const Tensor &w, const Tensor &c,
                     const Tensor &pos, const Tensor &crd, const Tensor &val) {
    return grad([&](const Params &p) {
      CsrWeight sw{pos, crd, val, p.at("w"), rows, cols};
      return sum(sparseMatmulLeft(sw, p.at("xt"), false) * c);
    })(Params{{"xt", xt}, {"w", w}});
  });
  auto run = [&] {
    return step(Tensor::fromVector(xt, {cols, n}),
                Tensor::fromVector(w, {rows, cols}),
                Tensor::fromVector(c, {rows, n}), csr.positions,
                csr.coordinates, csr.values);
  };
  if (refusedOnGpu([&] { run(); }))
    return;
  Params g = run();
  // dxt[i, j] = Σ_o W[o, i]·c[o, j]; dW[o, i] = Σ_j c[o, j]·xt[i, j].
  std::vector<double> dxt(cols * n, 0.0), dxtBound(cols * n, 0.0);
  std::vector<double> dw(rows * cols, 0.0), dwBound(rows * cols, 0.0);
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double t1 = static_cast<double>(w[o * cols + i]) * c[o * n + j];
        dxt[i * n + j] += t1;
        dxtBound[i * n + j] += std::abs(t1);
        double t2 = static_cast<double>(c[o * n + j]) * xt[i * n + j];
        dw[o * cols + i] += t2;
        dwBound[o * cols + i] += std::abs(t2);
      }
  expectWithinRounding(g.at("xt").toVector<float>(), dxt, dxtBound, "dxt = Wᵀ·c");
  expectWithinRounding(g.at("w").toVector<float>(), dw, dwBound, "dW = c·xtᵀ");
}

struct ProductCase {
  int64_t batch;
  bool transposeW;
};

class CsrProduct : public ::testing::TestWithParam<ProductCase> {};

// csrProduct picks the batch-major or the feature-major form by the rows of
// a; on both sides of the switch (batch 15 / 16) the product and its
// gradients with respect to a (on the CSR) and W (dense) match float64.
TEST_P(CsrProduct, ForwardAndBothGradientsMatchFloat64) {
  const ProductCase pc = GetParam();
  constexpr int64_t rows = 12, cols = 19;
  int64_t inner = pc.transposeW ? cols : rows, outer = pc.transposeW ? rows : cols;
  std::mt19937 rng(17 + pc.batch);
  std::vector<float> w = sparseWeight(rng, rows, cols, 0.25);
  CsrWeight csr = compressRows(Tensor::fromVector(w, {rows, cols}), rows * cols);
  std::vector<float> a = bregman::testing::randomFloats(rng, pc.batch * inner);
  std::vector<float> c = bregman::testing::randomFloats(rng, pc.batch * outer);
  bool tw = pc.transposeW;
  auto step = jit([tw](const Tensor &a, const Tensor &w, const Tensor &c,
                       const Tensor &pos, const Tensor &crd, const Tensor &val) {
    return valueAndGrad([&](const Params &p) {
      CsrWeight sw{pos, crd, val, p.at("w"), rows, cols};
      return sum(csrProduct(p.at("a"), sw, tw) * c);
    })(Params{{"a", a}, {"w", w}});
  });
  auto run = [&] {
    return step(Tensor::fromVector(a, {pc.batch, inner}),
                Tensor::fromVector(w, {rows, cols}),
                Tensor::fromVector(c, {pc.batch, outer}), csr.positions,
                csr.coordinates, csr.values);
  };
  if (refusedOnGpu([&] { run(); }))
    return;
  auto [loss, g] = run();
  // loss = Σ c ⊙ (a·op(W)); da = c·op(W)ᵀ; dW = cᵀ·a (op = ᵀ) or aᵀ·c.
  std::vector<double> bound, lossBound;
  std::vector<double> y = refProduct(a, w, pc.batch, rows, cols, tw, bound);
  double lossRef = 0, lossScale = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    lossRef += y[i] * c[i];
    lossScale += (bound[i] + std::abs(y[i])) * std::abs(c[i]);
  }
  EXPECT_NEAR(loss.item(), lossRef, 1e-6 * lossScale + 1e-6);
  expectWithinRounding(g.at("a").toVector<float>(),
                       refProduct(c, w, pc.batch, rows, cols, !tw, bound), bound,
                       "da = c·op(W)ᵀ");
  std::vector<double> dw(rows * cols, 0.0), dwBound(rows * cols, 0.0);
  for (int64_t b = 0; b < pc.batch; ++b)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t o = 0; o < outer; ++o) {
        double term = static_cast<double>(a[b * inner + i]) * c[b * outer + o];
        size_t at = tw ? o * cols + i : i * cols + o;
        dw[at] += term;
        dwBound[at] += std::abs(term);
      }
  expectWithinRounding(g.at("w").toVector<float>(), dw, dwBound, "dW");
}

INSTANTIATE_TEST_SUITE_P(
    BothSidesOfTheFormSwitch, CsrProduct,
    ::testing::Values(ProductCase{1, true}, ProductCase{15, true},
                      ProductCase{16, true}, ProductCase{33, true},
                      ProductCase{1, false}, ProductCase{16, false}),
    [](const ::testing::TestParamInfo<ProductCase> &info) {
      return "batch_" + std::to_string(info.param.batch) +
             (info.param.transposeW ? "_a_Wt" : "_a_W");
    });

TEST(CsrProduct, FormSwitchesAtTheVectorWidth) {
  // a·Wᵀ is batch-major below the feature-major loop's 16 lanes; a·W (a
  // scatter in the batch-major form) is always feature-major.
  EXPECT_TRUE(csrProductIsBatchMajor(1, true));
  EXPECT_TRUE(csrProductIsBatchMajor(kCsrFeatureMajorMinRows - 1, true));
  EXPECT_FALSE(csrProductIsBatchMajor(kCsrFeatureMajorMinRows, true));
  EXPECT_FALSE(csrProductIsBatchMajor(1, false));
  EXPECT_EQ(kCsrFeatureMajorMinRows, 16);
  // ... and the trace is built in that form: sparse_matmul's transposeA
  // attribute marks the feature-major (left) form, which transposes a on
  // entry and the product on exit.
  auto traced = [](int64_t rows, bool transposeW) {
    Trace trace;
    TraceScope scope(trace);
    Tensor a = trace.addInput({rows, 6}, DType::F32, "a");
    Shape stored = transposeW ? Shape{4, 6} : Shape{6, 4};
    CsrWeight w{trace.addInput({stored[0] + 1}, DType::I32, "pos"),
                trace.addInput({24}, DType::I32, "crd"),
                trace.addInput({24}, DType::F32, "val"), Tensor(), stored[0],
                stored[1]};
    Tensor y = csrProduct(a, w, transposeW);
    EXPECT_EQ(y.shape(), (Shape{rows, 4}));
    int transposes = 0, left = -1;
    for (const Node &node : trace.nodes()) {
      transposes += node.prim == Prim::Transpose;
      if (node.prim == Prim::SparseMatMul)
        left = node.attrs.transposeA;
    }
    return std::make_pair(left, transposes);
  };
  EXPECT_EQ(traced(15, true), std::make_pair(0, 0));
  EXPECT_EQ(traced(16, true), std::make_pair(1, 2));
  EXPECT_EQ(traced(1, false), std::make_pair(1, 2));
}

TEST(SparseMatmulErrors, NameTheMismatch) {
  CsrWeight csr = compressRows(
      Tensor::fromVector(std::vector<float>{1, 0, 0, 2, 0, 3}, {2, 3}));
  EXPECT_EQ(csr.positions.toVector<int32_t>(), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(csr.coordinates.toVector<int32_t>(),
            (std::vector<int32_t>{0, 0, 2}));
  EXPECT_EQ(csr.values.toVector<float>(), (std::vector<float>{1, 2, 3}));
  std::string shape = errorMessage([&] {
    jit([](const Tensor &x, const Tensor &p, const Tensor &c, const Tensor &v) {
      return sparseMatmul(x, CsrWeight{p, c, v, Tensor(), 2, 3}, true);
    })(Tensor::zeros({4, 2}), csr.positions, csr.coordinates, csr.values);
  });
  EXPECT_NE(shape.find("f32[B, 3] for a·Wᵀ with W [2, 3], got f32[4, 2]"),
            std::string::npos)
      << shape;
  std::string positions = errorMessage([&] {
    jit([](const Tensor &x, const Tensor &p, const Tensor &c, const Tensor &v) {
      return sparseMatmul(x, CsrWeight{p, c, v, Tensor(), 3, 3}, true);
    })(Tensor::zeros({4, 3}), csr.positions, csr.coordinates, csr.values);
  });
  EXPECT_NE(positions.find("positions must be i32[4], got i32[3]"),
            std::string::npos)
      << positions;
  std::string capacity = errorMessage([&] {
    compressRows(Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {2, 2}), 3);
  });
  EXPECT_NE(capacity.find("4 non-zeros do not fit the CSR capacity of 3"),
            std::string::npos)
      << capacity;
}

TEST(SparseExec, ZooMlpOnCsrMatchesDenseForwardAndGradient) {
  // The MLP 784-200-80-10 at its sparse initialisation (density 0.05): the
  // logits and the loss gradient with every linear layer on its CSR
  // (withCsrWeights, On) against the dense layers, to float32 rounding.
  auto model = models::makeModel("mlp", models::InputShape{},
                                 models::ModelOptions{});
  nn::SparseInit init;
  init.p = 0.05;
  Params params = model->init(3, init);
  std::vector<std::string> sparse;
  Params withCsr = nn::withCsrWeights(params, nn::SparseExec::On, &sparse);
  EXPECT_EQ(sparse.size(), 3u);
  EXPECT_TRUE(nn::withCsrWeights(params, nn::SparseExec::Off).size() ==
              params.size());
  auto [x, y] = bregman::testing::fixedBatch(32, 784, 10);
  auto step = jit([&model](const Params &p, const Tensor &x, const Tensor &y) {
    auto [loss, logits, g] = valueAndGrad([&](const Params &q) {
      Tensor out = (*model)(q, x);
      return std::make_pair(crossEntropy(out, y), out);
    })(p);
    return std::make_tuple(logits, g);
  });
  auto run = [&, &x = x, &y = y] { return step(withCsr, x, y); };
  if (refusedOnGpu([&] { run(); }))
    return;
  auto [sparseLogits, sparseGrads] = run();
  auto [denseLogits, denseGrads] = step(params, x, y);
  std::vector<float> a = sparseLogits.toVector<float>(),
                     b = denseLogits.toVector<float>();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-5 * (1.0 + std::abs(b[i]))) << "logit " << i;
  for (const auto &[name, g] : denseGrads) {
    std::vector<float> gs = sparseGrads.at(name).toVector<float>(),
                       gd = g.toVector<float>();
    double scale = 1e-6;
    for (float v : gd)
      scale = std::max(scale, static_cast<double>(std::abs(v)));
    for (size_t i = 0; i < gd.size(); ++i)
      ASSERT_NEAR(gs[i], gd[i], 1e-5 * scale) << name << " at " << i;
  }
}
