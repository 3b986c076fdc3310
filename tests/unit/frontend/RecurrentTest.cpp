//===- RecurrentTest.cpp - lstm, gru, nn::LSTM, nn::GRU -------------------===//
//
// The unrolled recurrent nets of issue 18: forward passes against the
// float64 loops of RecurrentReference.h (PyTorch's gate order through the
// nn layers, ONNX's through the functions, forward and reverse), and every
// gradient (input, both weights, both biases, initial states) against
// central finite differences in float64 (f = Σ y·w + Σ h·v, h = 1e-6,
// tolerance 1e-8 + 1e-6·|fd|).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "RecurrentReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace bregman;
using bregman::testing::RnnShape;
using bregman::testing::RnnWeights;

namespace {

std::vector<double> randomValues(std::mt19937 &rng, int64_t n, double scale = 0.5) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(n);
  for (double &x : v)
    x = u(rng);
  return v;
}

const RnnShape kShape{4, 2, 3, 3}; // T, N, I, H

/// Parameters of one layer in float64, PyTorch's names.
Params layerParams(std::mt19937 &rng, int64_t gates) {
  int64_t rows = gates * kShape.hidden;
  Params p;
  p.add("rnn.weight_ih", Tensor::fromVector(randomValues(rng, rows * kShape.features),
                                            {rows, kShape.features}));
  p.add("rnn.weight_hh", Tensor::fromVector(randomValues(rng, rows * kShape.hidden),
                                            {rows, kShape.hidden}));
  p.add("rnn.bias_ih", Tensor::fromVector(randomValues(rng, rows), {rows}));
  p.add("rnn.bias_hh", Tensor::fromVector(randomValues(rng, rows), {rows}));
  return p;
}

RnnWeights referenceWeights(const Params &p) {
  return {p.at("rnn.weight_ih").toVector<double>(), p.at("rnn.weight_hh").toVector<double>(),
          p.at("rnn.bias_ih").toVector<double>(), p.at("rnn.bias_hh").toVector<double>(),
          {}, {}};
}

/// x [T, N, I] as the batch-first [N, T, I] the layers take.
std::vector<double> batchFirst(const std::vector<double> &x) {
  std::vector<double> out;
  for (int64_t b = 0; b < kShape.batch; ++b)
    for (int64_t t = 0; t < kShape.steps; ++t)
      for (int64_t i = 0; i < kShape.features; ++i)
        out.push_back(x[(t * kShape.batch + b) * kShape.features + i]);
  return out;
}

TEST(Recurrent, LayersMatchTheFloat64LoopsInPyTorchsGateOrder) {
  std::mt19937 rng(5);
  std::vector<double> x = randomValues(rng, kShape.steps * kShape.batch * kShape.features, 1.0);
  Tensor xb = Tensor::fromVector(batchFirst(x), {kShape.batch, kShape.steps, kShape.features});
  for (bool isLstm : {true, false}) {
    SCOPED_TRACE(isLstm ? "LSTM" : "GRU");
    Params p = layerParams(rng, isLstm ? 4 : 3);
    nn::LSTM lstmLayer(kShape.features, kShape.hidden, "rnn");
    nn::GRU gruLayer(kShape.features, kShape.hidden, "rnn");
    auto run = jit([&](const Params &q, const Tensor &in) {
      RecurrentResult r = isLstm ? lstmLayer(q, in) : gruLayer(q, in);
      return Params{{"y", r.y}, {"h", r.h}};
    });
    Params got = run(p, xb);
    auto want = bregman::testing::referenceRnn(
        isLstm, x, kShape, referenceWeights(p),
        isLstm ? std::vector<int64_t>{0, 1, 2, 3} : std::vector<int64_t>{1, 0, 2},
        /*linearBeforeReset=*/true, /*reverse=*/false);
    std::vector<double> y = got.at("y").toVector<double>(), h = got.at("h").toVector<double>();
    ASSERT_EQ(got.at("y").shape(), (Shape{kShape.batch, kShape.steps, kShape.hidden}));
    for (int64_t b = 0; b < kShape.batch; ++b)
      for (int64_t t = 0; t < kShape.steps; ++t)
        for (int64_t j = 0; j < kShape.hidden; ++j)
          EXPECT_NEAR(y[(b * kShape.steps + t) * kShape.hidden + j],
                      want.y[(t * kShape.batch + b) * kShape.hidden + j], 1e-12);
    for (size_t k = 0; k < h.size(); ++k)
      EXPECT_NEAR(h[k], want.h[k], 1e-12);
  }
}

/// The functional form with ONNX's gate order, initial states, `reverse`
/// and (GRU) linear_before_reset 0; f = Σ y·w + Σ h·v (+ Σ c·u).
struct FunctionalCase {
  bool isLstm, linearBeforeReset, reverse;
};

Tensor functional(const FunctionalCase &fc, const Params &p, const Params &aux) {
  RecurrentWeights w{p.at("w"), p.at("r"), p.at("wb"), p.at("rb")};
  RecurrentResult r = fc.isLstm
                          ? lstm(p.at("x"), w, p.at("h0"), p.at("c0"), GateOrder::Onnx, fc.reverse)
                          : gru(p.at("x"), w, p.at("h0"), GateOrder::Onnx, fc.linearBeforeReset,
                                fc.reverse);
  Tensor f = sum(r.y * aux.at("wy")) + sum(r.h * aux.at("wh"));
  return fc.isLstm ? f + sum(r.c * aux.at("wh")) : f;
}

Params functionalParams(std::mt19937 &rng, bool isLstm) {
  int64_t rows = (isLstm ? 4 : 3) * kShape.hidden, n = kShape.batch, hd = kShape.hidden;
  Params p;
  auto add = [&](const char *name, const Shape &shape) {
    p.add(name, Tensor::fromVector(randomValues(rng, numElements(shape)), shape));
  };
  add("x", {kShape.steps, n, kShape.features});
  add("w", {rows, kShape.features});
  add("r", {rows, hd});
  add("wb", {rows});
  add("rb", {rows});
  add("h0", {n, hd});
  add("c0", {n, hd});
  return p;
}

TEST(Recurrent, FunctionsInOnnxOrderMatchTheLoopsForwardAndReverse) {
  std::mt19937 rng(9);
  for (FunctionalCase fc : {FunctionalCase{true, false, false}, FunctionalCase{true, false, true},
                            FunctionalCase{false, false, false}, FunctionalCase{false, true, true}}) {
    SCOPED_TRACE(::testing::Message() << (fc.isLstm ? "LSTM" : "GRU") << " reverse "
                                      << fc.reverse << " lbr " << fc.linearBeforeReset);
    Params p = functionalParams(rng, fc.isLstm);
    auto run = jit([fc](const Params &q) {
      RecurrentWeights w{q.at("w"), q.at("r"), q.at("wb"), q.at("rb")};
      RecurrentResult r = fc.isLstm ? lstm(q.at("x"), w, q.at("h0"), q.at("c0"),
                                           GateOrder::Onnx, fc.reverse)
                                    : gru(q.at("x"), w, q.at("h0"), GateOrder::Onnx,
                                          fc.linearBeforeReset, fc.reverse);
      return r.y;
    });
    RnnWeights rw{p.at("w").toVector<double>(),  p.at("r").toVector<double>(),
                  p.at("wb").toVector<double>(), p.at("rb").toVector<double>(),
                  p.at("h0").toVector<double>(), p.at("c0").toVector<double>()};
    auto want = bregman::testing::referenceRnn(
        fc.isLstm, p.at("x").toVector<double>(), kShape, rw,
        fc.isLstm ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 1, 2},
        fc.linearBeforeReset, fc.reverse);
    std::vector<double> y = run(p).toVector<double>();
    ASSERT_EQ(y.size(), want.y.size());
    for (size_t k = 0; k < y.size(); ++k)
      EXPECT_NEAR(y[k], want.y[k], 1e-12) << k;
  }
}

TEST(Recurrent, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(13);
  const double h = 1e-6;
  for (FunctionalCase fc : {FunctionalCase{true, false, false}, FunctionalCase{false, false, true},
                            FunctionalCase{false, true, false}}) {
    SCOPED_TRACE(::testing::Message() << (fc.isLstm ? "LSTM" : "GRU") << " reverse "
                                      << fc.reverse << " lbr " << fc.linearBeforeReset);
    Params p = functionalParams(rng, fc.isLstm);
    Params aux;
    Shape y = {kShape.steps, kShape.batch, kShape.hidden}, hs = {kShape.batch, kShape.hidden};
    aux.add("wy", Tensor::fromVector(randomValues(rng, numElements(y)), y));
    aux.add("wh", Tensor::fromVector(randomValues(rng, numElements(hs)), hs));
    auto forward = jit([fc](const Params &q, const Params &a) { return functional(fc, q, a); });
    auto gradient = jit([fc](const Params &q, const Params &a) {
      return grad([&](const Params &r) { return functional(fc, r, a); })(q);
    });
    Params g = gradient(p, aux);
    for (const auto &[name, t] : p) {
      if (!fc.isLstm && name == "c0")
        continue;
      std::vector<double> analytic = g.at(name).toVector<double>(), base = t.toVector<double>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        auto shifted = [&, &shiftedName = name](double delta) {
          Params q;
          for (const auto &[other, u] : p) {
            std::vector<double> v = u.toVector<double>();
            if (other == shiftedName)
              v[i] = base[i] + delta;
            q.add(other, Tensor::fromVector(v, u.shape()));
          }
          return forward(q, aux).item();
        };
        double fd = (shifted(h) - shifted(-h)) / (2 * h);
        EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << "d f / d " << name << "[" << i << "]";
      }
    }
  }
}

TEST(Recurrent, WrongShapesAreRefusedByName) {
  auto message = [](const std::function<void()> &f) {
    try {
      f();
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  nn::LSTM layer(3, 4, "encoder");
  Params p;
  nn::Rng rng(1);
  nn::SparseInit dense;
  dense.p = 1.0;
  dense.r = 1.0;
  layer.init(p, rng, dense);
  EXPECT_EQ(p.at("encoder.weight_ih").shape(), (Shape{16, 3}));
  EXPECT_EQ(p.at("encoder.weight_hh").shape(), (Shape{16, 4}));
  auto run = jit([&layer](const Params &q, const Tensor &x) { return layer(q, x).y; });
  Tensor wrong = Tensor::fromVector(std::vector<float>(10, 0.0f), {1, 2, 5});
  EXPECT_NE(message([&] { run(p, wrong); }).find("encoder: expects input [N, T, 3], got [1, 2, 5]"),
            std::string::npos);
  auto badWeights = jit([](const Tensor &x, const Tensor &w, const Tensor &r) {
    return gru(x, {w, r, {}, {}}, {}, GateOrder::Onnx, false).y;
  });
  Tensor x = Tensor::fromVector(std::vector<float>(6, 0.0f), {1, 2, 3});
  Tensor w = Tensor::fromVector(std::vector<float>(18, 0.0f), {6, 3});
  Tensor r = Tensor::fromVector(std::vector<float>(6, 0.0f), {6, 1});
  EXPECT_NE(message([&] { badWeights(x, w, r); }).find("gru: the recurrent weight must be f32[6, 2]"),
            std::string::npos);
}

} // namespace
