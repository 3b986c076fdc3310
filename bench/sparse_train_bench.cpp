//===- sparse_train_bench.cpp - the training step on CSR layers -----------===//
//
// The MLP 784-200-80-10 training step (batch 128, LinBreg, l1 on the
// weights) as the Trainer runs it (parameters and state donated, the
// outputs fed back; learning rate 1e-9 so that the weights and their
// support stay as drawn), at weight densities 1, 5, 10 and 30 %:
// every linear layer on the CSR the previous step made, its batch
// [784, 128] as the Trainer's loader writes it then (forward and input
// gradient on the sparsifier's feature-major loops, weight gradient dense,
// breg.compress_rows of the new weights, which the CPU lowers with the
// update as one loop nest) against the same step on dense
// layers, in the same run, as a ratio; and the CSR step given the batch
// [128, 784], and what the loader's two layouts cost. Then, per layer shape,
// the same step of that one layer (forward, backward, update, compression) over
// densities, and the crossover: the first density tried at which the sparse
// step is not faster. And what the compression itself costs. Times are process
// CPU time (all threads), median of 7 rounds alternating sparse and dense; wall
// time is printed beside it. Run it with OPENBLAS_NUM_THREADS=1 on a loaded
// machine: spinning BLAS threads count as CPU time.
//
//===----------------------------------------------------------------------===//

#include "SparseBenchUtil.h"
#include "bregman/bregman.h"
#include "bregman/data/Dataset.h"
#include "bregman/models/Zoo.h"
#include "bregman/runtime/Buffer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

using namespace bregman;

namespace {

using bench::cpuSeconds;
using bench::randomInput;
using bench::randomWeight;
using bench::Times;

/// Median per-call CPU and wall times of `a` and of `b` over 7 rounds of
/// `iters` calls each, the rounds of the two alternating so that a change
/// of the machine's load falls on both (after one warm-up call of each,
/// which compiles).
template <typename FnA, typename FnB>
std::pair<Times, Times> measurePair(FnA a, FnB b, int iters) {
  a();
  b();
  std::vector<double> cpu[2], wall[2];
  auto round = [&](auto fn, int which) {
    double c0 = cpuSeconds();
    auto w0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i)
      fn();
    auto w1 = std::chrono::steady_clock::now();
    cpu[which].push_back((cpuSeconds() - c0) * 1e6 / iters);
    wall[which].push_back(
        std::chrono::duration<double, std::micro>(w1 - w0).count() / iters);
  };
  for (int r = 0; r < 7; ++r) {
    round(a, 0);
    round(b, 1);
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + 3, v.end());
    return v[3];
  };
  return {Times{median(cpu[0]), median(wall[0])},
          Times{median(cpu[1]), median(wall[1])}};
}

Tensor cyclicLabels(int64_t n, int32_t classes) {
  std::vector<int32_t> y(n);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<int32_t>(i % classes);
  return Tensor::fromVector(y, {n});
}

/// A copy of every tensor in buffers of its own (a donated argument is
/// consumed).
Params hostCopy(const Params &params) {
  Params out;
  for (const auto &[name, t] : params) {
    Tensor c = Tensor::zeros(t.shape(), t.dtype());
    std::memcpy(c.buffer()->data(), t.buffer()->data(), t.buffer()->bytes());
    out.add(name, c);
  }
  return out;
}

/// x [N, F] as a new [F, N] tensor.
Tensor transposedCopy(const Tensor &x) {
  int64_t n = x.dim(0), f = x.dim(1);
  Tensor t = Tensor::zeros({f, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < f; ++k)
      t.data<float>()[k * n + i] = x.data<float>()[i * f + k];
  return t;
}

/// What the loader's two layouts cost: data::Batcher::nextInto of batches
/// of 128 from 60,000 examples of 784 features, sample-major and
/// feature-major (as the Trainer's background thread writes them).
void loaderLine() {
  data::Dataset ds;
  ds.count = 60000;
  ds.rows = ds.cols = 28;
  ds.images.resize(ds.count * ds.features());
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> pixel(-1.0f, 2.0f);
  for (float &v : ds.images)
    v = pixel(rng);
  ds.labels.assign(ds.count, 0);
  data::Batcher rows(ds, 128, true, 1), columns(ds, 128, true, 1);
  std::vector<float> x(128 * ds.features());
  std::vector<int32_t> y(128);
  auto next = [&](data::Batcher &b, bool featureMajor) {
    if (b.nextInto(x.data(), y.data(), featureMajor) == 0) {
      b.startEpoch(b.epoch() + 1);
      b.nextInto(x.data(), y.data(), featureMajor);
    }
  };
  auto [sampleMajor, featureMajor] = measurePair(
      [&] { next(rows, false); }, [&] { next(columns, true); }, 200);
  std::printf("the loader's batch of 128 (data::Batcher::nextInto, on its "
              "background thread): [128, 784] %.1f us, [784, 128] %.1f us "
              "CPU\n",
              sampleMajor.cpuUs, featureMajor.cpuUs);
}

/// LinBreg with l1 on the weights at learning rate `lr`.
optim::LinBreg linbreg(float lr = 0.01f) {
  return optim::LinBreg({{"weights", optim::weights(), Regularizer::L1, lr,
                          1.0f, 1e-4f},
                         {"biases", optim::biases(), Regularizer::None, lr,
                          1.0f, 0.0f}});
}

/// The Trainer's step: `csr` feeds the layers that have one, and the CSR
/// of the updated weights comes back (empty `csr`: the dense step). With
/// `donate`, as the Trainer: parameters and state are donated (updated in
/// place), the CSR is compressed into new output buffers. As in the
/// Trainer, a batch [features, N] (its first dimension not y's) is
/// transposed first: a transpose that the first layer's feature-major CSR
/// product cancels.
template <typename Forward>
auto trainStep(const optim::Optimizer &opt, Forward forward,
               bool donate = false) {
  JitOptions options;
  if (donate)
    options.donateArgnums = {0, 1};
  return jit(
      [&opt, forward](const Params &p, const Params &s, const Params &csr,
                      const Tensor &batch, const Tensor &y) {
        Tensor x = batch.dim(0) != y.dim(0) ? transpose(batch, {1, 0}) : batch;
        auto [loss, grads] = valueAndGrad([&](const Params &q) {
          Params withCsr = q;
          for (const auto &[name, t] : csr)
            withCsr.add(name, t);
          return forward(withCsr, x, y);
        })(p);
        auto [p2, s2] = opt.update(p, s, grads);
        return std::make_tuple(p2, s2, nn::recompressWeights(p2, csr), loss);
      },
      options);
}

void printRow(const std::string &what, Times sparse, Times dense) {
  std::printf("%-30s %9.1f %9.1f   %6.2fx   (wall %8.1f %8.1f us)\n",
              what.c_str(), sparse.cpuUs, dense.cpuUs,
              dense.cpuUs / sparse.cpuUs, sparse.wallUs, dense.wallUs);
}

void mlpStepTable() {
  std::printf("MLP 784-200-80-10 training step, batch 128, LinBreg; CPU us "
              "per step; speed-up = dense / sparse\n%-30s %9s %9s   %7s\n", "",
              "sparse", "dense", "speed-up");
  auto model =
      models::makeModel("mlp", models::InputShape{}, models::ModelOptions{});
  // lr 1e-9: while the outputs are fed back, |v| of a zero weight stays far
  // below λ = 1e-4 over the few hundred steps, so θ's support stays as
  // drawn (every operation runs as at any other rate).
  optim::LinBreg opt = linbreg(1e-9f);
  auto step = trainStep(
      opt,
      [&model](const Params &q, const Tensor &x, const Tensor &y) {
        return crossEntropy((*model)(q, x), y);
      },
      /*donate=*/true);
  std::mt19937 rng(7);
  Tensor x = randomInput(rng, 128, 784), y = cyclicLabels(128, 10);
  // The batch as the Trainer's loader writes it when fc1 runs on its CSR.
  Tensor xFeatureMajor = transposedCopy(x);
  for (double density : {0.01, 0.05, 0.1, 0.3}) {
    Params params = model->init(1, nn::SparseInit{});
    for (const char *w : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
      const Tensor &old = params.at(w);
      params.set(w, randomWeight(rng, old.dim(0), old.dim(1), density));
    }
    Params state = opt.init(params);
    Params csr = nn::csrWeights(params, nn::SparseExec::On);
    // Each path donates its own copies, as the Trainer does its own.
    Params sparseParams = hostCopy(params), sparseState = hostCopy(state);
    Params denseParams = hostCopy(params), denseState = hostCopy(state);
    Params noCsr;
    auto run = [&](Params &p, Params &s, Params &c, const Tensor &batch) {
      auto [p2, s2, c2, loss] = step(p, s, c, batch, y);
      p = p2;
      s = s2;
      c = c2;
    };
    auto [sparse, dense] =
        measurePair([&] { run(sparseParams, sparseState, csr, xFeatureMajor); },
                    [&] { run(denseParams, denseState, noCsr, x); }, 30);
    printRow(fmt::format("step at {:g} %", density * 100), sparse, dense);
    // The same CSR step given the batch [128, 784], which it transposes.
    Params rowsCsr = nn::csrWeights(params, nn::SparseExec::On);
    Params rowsParams = hostCopy(params), rowsState = hostCopy(state);
    auto [rowsSparse, rowsDense] =
        measurePair([&] { run(rowsParams, rowsState, rowsCsr, x); },
                    [&] { run(denseParams, denseState, noCsr, x); }, 30);
    printRow("  ... batch [128, 784] on CSR", rowsSparse, rowsDense);
  }
}

constexpr std::array<std::array<int64_t, 2>, 3> kLayers{
    {{200, 784}, {80, 200}, {10, 80}}};

/// The LinBreg update of the weight `w` (5 %) with the CSR of its result
/// and without, as the Trainer's step makes them (parameters and state
/// donated and fed back; zero gradients keep the support): {with, without}.
std::pair<Times, Times> updateWithAndWithoutCsr(const optim::LinBreg &opt,
                                                const Tensor &w) {
  Params params;
  params.add("fc.weight", w);
  Params grads;
  grads.add("fc.weight", Tensor::zeros(w.shape()));
  JitOptions donate;
  donate.donateArgnums = {0, 1};
  auto withCsr = jit(
      [&opt](const Params &p, const Params &s, const Params &g) {
        auto [p2, s2] = opt.update(p, s, g);
        CsrWeight c = compressRowsInTrace(p2.at("fc.weight"));
        return std::make_tuple(p2, s2, c.positions, c.coordinates, c.values);
      },
      donate);
  auto alone = jit(
      [&opt](const Params &p, const Params &s, const Params &g) {
        return opt.update(p, s, g);
      },
      donate);
  Params p1 = hostCopy(params), s1 = hostCopy(opt.init(params));
  Params p2 = hostCopy(params), s2 = hostCopy(opt.init(params));
  return measurePair(
      [&] {
        auto [p, s, pos, crd, val] = withCsr(p1, s1, grads);
        p1 = p, s1 = s;
      },
      [&] {
        auto [p, s] = alone(p2, s2, grads);
        p2 = p, s2 = s;
      },
      200);
}

/// Per layer shape: the one-layer step (y = relu(x·Wᵀ + b), loss mean(y²))
/// sparse against dense over densities, and the crossover; the cost of
/// breg.compress_rows alone against the whole dense one-layer step; and
/// what the CSR adds to the update that makes it (the step's form: the CPU
/// lowers the two as one loop nest), wall time.
void layerCrossoverTable() {
  const std::vector<double> densities{0.01, 0.02, 0.05, 0.1,
                                      0.2,  0.3,  0.5};
  std::printf("\nOne linear layer's training step at batch 128 (forward, "
              "backward, LinBreg update, compression): sparse/dense CPU time "
              "per density, and the crossover (the first density tried at "
              "which sparse is not faster)\n");
  optim::LinBreg opt = linbreg();
  std::mt19937 rng(9);
  for (auto [rows, cols] : kLayers) {
    nn::Linear layer(cols, rows, "fc");
    auto step = trainStep(opt, [layer](const Params &q, const Tensor &x,
                                       const Tensor &) {
      Tensor h = relu(layer(q, x));
      return mean(h * h);
    });
    auto compress = jit([](const Tensor &w) {
      CsrWeight c = compressRowsInTrace(w);
      return std::make_tuple(c.positions, c.coordinates, c.values);
    });
    Tensor x = randomInput(rng, 128, cols), y = cyclicLabels(128, 10);
    std::printf("[%lld, %lld]", (long long)rows, (long long)cols);
    double crossover = -1;
    Times denseAt5;
    for (double density : densities) {
      Params params;
      params.add("fc.weight", randomWeight(rng, rows, cols, density));
      params.add("fc.bias", Tensor::zeros({rows}));
      Params state = opt.init(params);
      Params csr = nn::csrWeights(params, nn::SparseExec::On);
      auto [s, d] = measurePair([&] { step(params, state, csr, x, y); },
                                [&] { step(params, state, Params(), x, y); },
                                40);
      if (density == 0.05)
        denseAt5 = d;
      std::printf(" %g%%:%.2f", density * 100, s.cpuUs / d.cpuUs);
      if (crossover < 0 && s.cpuUs >= d.cpuUs)
        crossover = density;
    }
    Tensor w = randomWeight(rng, rows, cols, 0.05);
    Times c = measurePair([&] { compress(w); }, [] {}, 200).first;
    auto [withCsr, alone] = updateWithAndWithoutCsr(opt, w);
    std::string where =
        crossover < 0 ? "above 50 % (faster at every density tried)"
        : crossover == densities.front()
            ? "none: not faster at any density tried"
            : fmt::format("{:g} %", crossover * 100);
    std::printf("\n    -> crossover %s; compress_rows alone %.1f us = %.2f of "
                "the dense step at 5 %% (%.1f us)\n",
                where.c_str(),
                c.cpuUs, c.cpuUs / denseAt5.cpuUs, denseAt5.cpuUs);
    std::printf("    -> the update with its CSR %.1f us wall, alone %.1f us "
                "(the CSR adds %.1f us)\n",
                withCsr.wallUs, alone.wallUs, withCsr.wallUs - alone.wallUs);
  }
}

} // namespace

int main() {
  try {
    mlpStepTable();
    loaderLine();
    layerCrossoverTable();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bregman_sparse_train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
