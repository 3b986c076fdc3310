//===- bregman_bench.cpp - Benchmarks of the compiled kernels -------------===//
//
// The fused LinBreg update is memory bound, so its bandwidth is compared with
// std::memcpy on the same machine; the MLP benchmarks measure the throughput
// of one compiled training step (as `bregman train` builds it) and the cost
// of compiling that step. After the Google Benchmark runs, main() prints a
// summary of its own quick measurements: each update's bandwidth as a
// fraction of the copy bandwidth measured in the same run
// (--no_summary skips it).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"
#include "bregman/models/Zoo.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace bregman;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;

/// n floats on a 64-byte (cache line) boundary, filled with 1.0f so that the
/// pages are touched before timing.
AlignedFloats alignedFloats(int64_t n) {
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  auto *p = static_cast<float *>(std::aligned_alloc(64, bytes));
  if (!p)
    throw std::bad_alloc();
  std::fill(p, p + n, 1.0f);
  return AlignedFloats(p);
}

/// A tensor of n floats drawn uniformly from [lo, hi).
Tensor randomTensor(int64_t n, float lo, float hi, uint64_t seed) {
  Tensor t = Tensor::zeros({n});
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float *p = t.data<float>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = dist(rng);
  return t;
}

// Bytes the update must move per element: g, v read and θ, v written; with
// momentum also m read and written. θ is only written (θ' = prox(δ·v')).
constexpr int64_t kLinBregBytes = 4 * sizeof(float);
constexpr int64_t kMomentumBytes = 6 * sizeof(float);
// memcpy reads and writes each element once.
constexpr int64_t kCopyBytes = 2 * sizeof(float);

//===----------------------------------------------------------------------===//
// The LinBreg update on its own
//===----------------------------------------------------------------------===//

// The jitted updates take θ, v (and m) first and donate them: every output
// has the same shape and the empty name of a bare tensor, so donation pairs
// the outputs with the donated inputs in order (θ'→θ, v'→v, m'→m) and the
// update runs in place. The gradient is not donated, or it could be paired
// with an output instead.
auto makeLinBreg(Device device = Device::Cpu) {
  return jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &g,
         const Tensor &lr, const Tensor &delta, const Tensor &lambda) {
        std::vector<Tensor> r =
            linbregUpdate(Regularizer::L1, theta, v, g, lr, delta, lambda);
        return std::make_tuple(r[0], r[1]);
      },
      JitOptions{{0, 1}, "bench_linbreg", device});
}

auto makeLinBregMomentum() {
  return jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &m, const Tensor &g,
         const Tensor &lr, const Tensor &delta, const Tensor &lambda,
         const Tensor &beta) {
        std::vector<Tensor> r = linbregUpdate(Regularizer::L1, theta, v, g, lr,
                                              delta, lambda, m, beta);
        return std::make_tuple(r[0], r[1], r[2]);
      },
      JitOptions{{0, 1, 2}, "bench_linbreg_momentum"});
}

/// The operands of one update of n elements. Small gradients keep v (which
/// accumulates −lr·g on every call) far from overflow however long it runs.
struct UpdateOperands {
  explicit UpdateOperands(int64_t n)
      : theta(Tensor::zeros({n})), v(randomTensor(n, -0.2f, 0.2f, 1)),
        m(Tensor::zeros({n})), g(randomTensor(n, -1e-3f, 1e-3f, 2)),
        lr(Tensor::scalar(0.1f)), delta(Tensor::scalar(1.0f)),
        lambda(Tensor::scalar(0.1f)), beta(Tensor::scalar(0.9f)) {}
  Tensor theta, v, m, g, lr, delta, lambda, beta;
};

/// One update without momentum, its outputs the next call's operands (the
/// donated ones are consumed); false if it did not run in place.
template <typename J> bool runLinBreg(J &update, UpdateOperands &o) {
  const void *theta = o.theta.buffer().get(), *v = o.v.buffer().get();
  std::tie(o.theta, o.v) = update(o.theta, o.v, o.g, o.lr, o.delta, o.lambda);
  return o.theta.buffer().get() == theta && o.v.buffer().get() == v;
}

template <typename J> bool runMomentum(J &update, UpdateOperands &o) {
  const void *theta = o.theta.buffer().get(), *v = o.v.buffer().get(),
             *m = o.m.buffer().get();
  std::tie(o.theta, o.v, o.m) =
      update(o.theta, o.v, o.m, o.g, o.lr, o.delta, o.lambda, o.beta);
  return o.theta.buffer().get() == theta && o.v.buffer().get() == v &&
         o.m.buffer().get() == m;
}

void BM_Memcpy(benchmark::State &state) {
  int64_t n = state.range(0);
  AlignedFloats src = alignedFloats(n), dst = alignedFloats(n);
  for (auto _ : state) {
    std::memcpy(dst.get(), src.get(), n * sizeof(float));
    benchmark::DoNotOptimize(dst.get());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * kCopyBytes);
}

/// The copy of n floats split over the benchmark's threads (each copies its
/// own n / threads): what all cores together stream, against the one core
/// of BM_Memcpy.
void BM_MemcpyThreads(benchmark::State &state) {
  int64_t n = state.range(0) / state.threads();
  AlignedFloats src = alignedFloats(n), dst = alignedFloats(n);
  for (auto _ : state) {
    std::memcpy(dst.get(), src.get(), n * sizeof(float));
    benchmark::DoNotOptimize(dst.get());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * kCopyBytes);
}

void BM_LinBregUpdate(benchmark::State &state) {
  int64_t n = state.range(0);
  UpdateOperands o(n);
  auto update = makeLinBreg();
  // The first call compiles; the loop measures the cached function.
  if (!runLinBreg(update, o)) {
    state.SkipWithError("the donated update did not run in place");
    return;
  }
  for (auto _ : state)
    runLinBreg(update, o);
  state.SetBytesProcessed(state.iterations() * n * kLinBregBytes);
}

void BM_LinBregMomentum(benchmark::State &state) {
  int64_t n = state.range(0);
  UpdateOperands o(n);
  auto update = makeLinBregMomentum();
  if (!runMomentum(update, o)) {
    state.SkipWithError("the donated update did not run in place");
    return;
  }
  for (auto _ : state)
    runMomentum(update, o);
  state.SetBytesProcessed(state.iterations() * n * kMomentumBytes);
}

//===----------------------------------------------------------------------===//
// The other fused updates and the proxes
//===----------------------------------------------------------------------===//

/// Times `call` (which must run in place) and counts `bytes` per element.
template <typename Call>
void runInPlace(benchmark::State &state, int64_t n, int64_t bytes, Call call) {
  call(); // compiles
  for (auto _ : state)
    call();
  state.SetBytesProcessed(state.iterations() * n * bytes);
}

// AdaBreg: reads g, v, m1, m2 and writes θ, v, m1, m2.
void BM_AdaBregUpdate(benchmark::State &state) {
  int64_t n = state.range(0);
  UpdateOperands o(n);
  Tensor m1 = Tensor::zeros({n}), m2 = Tensor::zeros({n});
  Tensor b1 = Tensor::scalar(0.9f), b2 = Tensor::scalar(0.999f),
         eps = Tensor::scalar(1e-8f), step = Tensor::scalar(1.0f);
  auto update = jit(
      [](const Tensor &t, const Tensor &v, const Tensor &a, const Tensor &b,
         const Tensor &g, const Tensor &lr, const Tensor &d, const Tensor &l,
         const Tensor &b1, const Tensor &b2, const Tensor &e, const Tensor &s) {
        auto r = adabregUpdate(Regularizer::L1, t, v, g, a, b, lr, d, l, b1,
                               b2, e, s);
        return std::make_tuple(r[0], r[1], r[2], r[3]);
      },
      JitOptions{{0, 1, 2, 3}, "bench_adabreg"});
  runInPlace(state, n, 8 * sizeof(float), [&] {
    std::tie(o.theta, o.v, m1, m2) = update(
        o.theta, o.v, m1, m2, o.g, o.lr, o.delta, o.lambda, b1, b2, eps, step);
  });
}

// ProxSGD: reads g, θ and writes θ.
void BM_ProxSgdUpdate(benchmark::State &state) {
  int64_t n = state.range(0);
  UpdateOperands o(n);
  auto update = jit(
      [](const Tensor &t, const Tensor &g, const Tensor &lr, const Tensor &l) {
        return proxsgdUpdate(Regularizer::L1, t, g, lr, l);
      },
      JitOptions{{0}, "bench_proxsgd"});
  runInPlace(state, n, 3 * sizeof(float),
             [&] { o.theta = update(o.theta, o.g, o.lr, o.lambda); });
}

// The prox in place, as ProxSGD applies it (θ' = prox(θ − lr·g)): l1 against
// the row groups of l1_l2 (rows of 1000), which add a norm reduction pass.
template <Regularizer Reg> void BM_ProxStep(benchmark::State &state) {
  int64_t n = state.range(0);
  Tensor theta = randomTensor(n, -1.0f, 1.0f, 3);
  Tensor g = randomTensor(n, -1e-3f, 1e-3f, 4);
  Tensor theta2 = Tensor::fromBuffer(theta.buffer(), {n / 1000, 1000}, DType::F32);
  Tensor g2 = Tensor::fromBuffer(g.buffer(), {n / 1000, 1000}, DType::F32);
  Tensor lr = Tensor::scalar(0.1f), l = Tensor::scalar(1e-6f);
  auto step = jit(
      [](const Tensor &t, const Tensor &g, const Tensor &lr, const Tensor &l) {
        return proxsgdUpdate(Reg, t, g, lr, l);
      },
      JitOptions{{0}, "bench_prox_step"});
  runInPlace(state, n, 3 * sizeof(float),
             [&] { theta2 = step(theta2, g2, lr, l); });
}

// 10⁶ as well as 10⁷ floats for the updates that bench/peers.py compares
// with PyTorch and JAX at both sizes.
BENCHMARK(BM_AdaBregUpdate)->Arg(1000000)->Arg(10000000)->UseRealTime();
BENCHMARK(BM_ProxSgdUpdate)->Arg(10000000)->UseRealTime();
BENCHMARK(BM_ProxStep<Regularizer::L1>)->Name("BM_ProxStepL1")->Arg(10000000)->UseRealTime();
BENCHMARK(BM_ProxStep<Regularizer::L1L2>)
    ->Name("BM_ProxStepL1L2Rows")
    ->Arg(1000000)
    ->Arg(10000000)
    ->UseRealTime();

// Wall time throughout: the MLP step runs OpenBLAS threads, which the
// benchmark thread's CPU time would not see, and the summary uses wall time.
BENCHMARK(BM_Memcpy)->Arg(1000000)->Arg(10000000)->UseRealTime();
BENCHMARK(BM_MemcpyThreads)
    ->Arg(1000000)
    ->Arg(10000000)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_LinBregUpdate)->Arg(1000000)->Arg(10000000)->UseRealTime();
BENCHMARK(BM_LinBregMomentum)->Arg(1000000)->Arg(10000000)->UseRealTime();

//===----------------------------------------------------------------------===//
// The MLP training step
//===----------------------------------------------------------------------===//

constexpr int64_t kBatch = 128;

/// Everything the step of Train.cpp needs: a model with the sparse
/// initialisation, LinBreg with a regulariser on the weights and none on the
/// biases, and one random batch normalised as the trainer normalises images
/// ((pixel − 0.5) / 0.5). The MLP 784-200-80-10 uses l1 (λ = 0.1, lr 0.1,
/// p 0.01, r 7); the ConvNet its reference settings (l1_l2_conv on the
/// convolutions, l1 on the linear weights, λ = 0.5, lr 0.07, p 0.01, r 10).
struct StepSetup {
  StepSetup(std::unique_ptr<nn::Model> network, std::vector<optim::Group> groups,
            nn::SparseInit init)
      : model(std::move(network)), opt(std::move(groups)), init(init),
        x(Tensor::zeros({kBatch, 784})),
        y(Tensor::zeros({kBatch}, DType::I32)) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::uniform_int_distribution<int32_t> label(0, 9);
    float *px = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      px[i] = (pixel(rng) - 0.5f) / 0.5f;
    int32_t *py = y.data<int32_t>();
    for (int64_t i = 0; i < kBatch; ++i)
      py[i] = label(rng);
    reset();
  }

  static StepSetup mlp(float momentum) {
    return StepSetup(
        std::make_unique<models::MLP>(std::vector<int64_t>{784, 200, 80, 10}),
        {{"weights", optim::weights(), Regularizer::L1, 0.1f, 1.0f, 0.1f,
          momentum},
         {"biases", optim::biases(), Regularizer::None, 0.1f, 1.0f, 0.0f,
          momentum}},
        nn::SparseInit{0.01, 7.0});
  }

  static StepSetup convNet() {
    auto isConv = [](const std::string &n) { return n.rfind("conv", 0) == 0; };
    optim::Group conv{"conv", [isConv](const std::string &n) {
                        return isConv(n) && optim::weights()(n);
                      },
                      Regularizer::L1L2Conv, 0.07f, 1.0f, 0.5f};
    return StepSetup(std::make_unique<models::ConvNet>(),
                     {conv,
                      {"weights", optim::weights(), Regularizer::L1, 0.07f,
                       1.0f, 0.5f},
                      {"biases", optim::biases(), Regularizer::None, 0.07f,
                       1.0f, 0.0f}},
                     nn::SparseInit{0.01, 10.0});
  }

  /// The zoo's vit (7×7 patches, 16 tokens, 2 post-norm layers of width 64,
  /// 4 heads, feed-forward 128) with LinBreg l1 as the MLP's (λ = 0.1, lr
  /// 0.1, p 0.01, r 7) on every weight, none on biases and layer norms.
  static StepSetup vit() {
    return StepSetup(std::make_unique<models::Vit>(1, 28, 28, 10),
                     {{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.1f},
                      {"others", optim::all(), Regularizer::None, 0.1f, 1.0f,
                       0.0f}},
                     nn::SparseInit{0.01, 7.0});
  }

  /// Fresh parameters and state (a donated step consumes them).
  void reset() {
    params = model->init(/*seed=*/0, init);
    state = opt.init(params);
  }

  std::unique_ptr<nn::Model> model;
  optim::LinBreg opt;
  nn::SparseInit init;
  Params params, state;
  Tensor x, y;
};

/// The training step exactly as Train.cpp builds it: forward, backward and
/// every update in one call, params and state donated.
auto makeTrainStep(const StepSetup &s, Device device = Device::Cpu) {
  return jit(
      [&s](const Params &p, const Params &st, const Tensor &x,
           const Tensor &y) {
        auto [loss, logits, grads] = valueAndGrad([&](const Params &q) {
          Tensor out = (*s.model)(q, x);
          return std::make_pair(crossEntropy(out, y), out);
        })(p);
        auto [p2, s2] = s.opt.update(p, st, grads);
        return std::make_tuple(p2, s2, loss, countCorrect(logits, y));
      },
      JitOptions{{0, 1}, "train_step", device});
}

/// Times `once` (one step, returning its loss) after a first call that
/// compiles; the loss after the last call must be finite.
template <typename Once>
void timeSteps(benchmark::State &state, Once once) {
  once(); // compiles
  for (auto _ : state) {
    Tensor l = once();
    benchmark::DoNotOptimize(l);
  }
  if (!std::isfinite(once().item()))
    state.SkipWithError("the loss is not finite");
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel("images");
}

void runTrainStep(benchmark::State &state, StepSetup s) {
  auto step = makeTrainStep(s);
  timeSteps(state, [&] {
    auto [p2, s2, l, hits] = step(s.params, s.state, s.x, s.y);
    s.params = p2;
    s.state = s2;
    return l;
  });
  state.counters["compiles"] = static_cast<double>(step.compileCount());
}

/// The step as the Trainer runs it under --sparse-exec on: the CSR of every
/// weight (the convolutions' pairs included) carried from step to step,
/// forward and input gradients on it, the new CSR made by the step.
void runSparseTrainStep(benchmark::State &state, StepSetup s) {
  nn::SparseFilters filters = s.model->sparseFilters();
  auto step = jit(
      [&s](const Params &p, const Params &st, const Params &csr,
           const Tensor &x, const Tensor &y) {
        auto [loss, logits, grads] = valueAndGrad([&](const Params &q) {
          Params withCsr = q;
          for (const auto &[name, t] : csr)
            withCsr.add(name, t);
          Tensor out = (*s.model)(withCsr, x);
          return std::make_pair(crossEntropy(out, y), out);
        })(p);
        auto [p2, s2] = s.opt.update(p, st, grads);
        return std::make_tuple(p2, s2, nn::recompressWeights(p2, csr), loss,
                               countCorrect(logits, y));
      },
      JitOptions{{0, 1}, "train_step"});
  Params csr = nn::csrWeights(s.params, nn::SparseExec::On, nullptr, 0,
                              nullptr, nn::kSparseExecAutoDensity, &filters);
  timeSteps(state, [&] {
    auto [p2, s2, c2, l, hits] = step(s.params, s.state, csr, s.x, s.y);
    s.params = p2;
    s.state = s2;
    csr = c2;
    return l;
  });
  // Kernel densities of the convolutions the step ran sparse, at the end.
  for (const auto &[f, geometry] : filters) {
    std::vector<float> w = s.params.at(f).toVector<float>();
    int64_t taps = s.params.at(f).dim(2) * s.params.at(f).dim(3), alive = 0;
    for (size_t k = 0; k < w.size(); k += taps)
      alive += std::any_of(w.begin() + k, w.begin() + k + taps,
                           [](float v) { return v != 0.0f; });
    state.counters["kernels " + f] =
        static_cast<double>(alive) / static_cast<double>(w.size() / taps);
  }
}

void BM_MlpTrainStep(benchmark::State &state) {
  runTrainStep(state, StepSetup::mlp(0.0f));
}
void BM_MlpTrainStepMomentum(benchmark::State &state) {
  runTrainStep(state, StepSetup::mlp(0.9f));
}
void BM_ConvNetTrainStep(benchmark::State &state) {
  runTrainStep(state, StepSetup::convNet());
}
void BM_ConvNetTrainStepSparse(benchmark::State &state) {
  runSparseTrainStep(state, StepSetup::convNet());
}
void BM_VitTrainStep(benchmark::State &state) {
  runTrainStep(state, StepSetup::vit());
}

BENCHMARK(BM_MlpTrainStep)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MlpTrainStepMomentum)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConvNetTrainStep)->UseRealTime()->Unit(benchmark::kMillisecond);
// On CSR (--sparse-exec on): convolutions and linear layers (issue 16).
BENCHMARK(BM_ConvNetTrainStepSparse)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// Process CPU time: the BLAS and OpenMP threads count (peers.py --vit-only).
BENCHMARK(BM_VitTrainStep)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

/// What a jit call costs besides its compiled code: a function of
/// `state.range(0)` Params leaves (named like a network's, 16 floats each)
/// that adds two of them, so nearly all the time is flattening, the cache
/// lookup, argument checks, output allocation and the call through the
/// execution engine. A small model's inference at batch 1 pays this once
/// per call.
void BM_JitDispatch(benchmark::State &state) {
  Params p;
  for (int64_t i = 0; i < state.range(0); ++i)
    p.add("features." + std::to_string(i) + ".weight", Tensor::zeros({16}));
  auto f = jit([](const Params &q) {
    return q.begin()->second + std::next(q.begin())->second;
  });
  f(p);
  for (auto _ : state)
    benchmark::DoNotOptimize(f(p));
}
BENCHMARK(BM_JitDispatch)->Arg(2)->Arg(16)->Arg(64)->Unit(benchmark::kMicrosecond);

/// The ConvNet step without the update (range 1) or without the backward
/// pass too (range 0): where its time goes.
void BM_ConvNetPartialStep(benchmark::State &state) {
  StepSetup s = StepSetup::convNet();
  bool backward = state.range(0) == 1;
  auto f = jit([&s, backward](const Params &p, const Tensor &x, const Tensor &y) {
    auto loss = [&](const Params &q) { return crossEntropy((*s.model)(q, x), y); };
    if (!backward)
      return Params{{"loss", loss(p)}};
    return grad(loss)(p);
  });
  Params warm = f(s.params, s.x, s.y);
  for (auto _ : state) {
    Params out = f(s.params, s.x, s.y);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ConvNetPartialStep)
    ->ArgName("backward")->Arg(0)->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// The pieces of the ConvNet's first layer on a batch of 128 (where a step's
/// time goes besides the convolution library).
template <typename Build>
void runPiece(benchmark::State &state, const Shape &shape, Build build) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor x = Tensor::zeros(shape);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = u(rng);
  auto f = jit(build);
  Tensor warm = f(x);
  for (auto _ : state) {
    Tensor out = f(x);
    benchmark::DoNotOptimize(out);
  }
}
void BM_MaxPoolForward(benchmark::State &state) {
  runPiece(state, {kBatch, 64, 24, 24},
           [](const Tensor &x) { return maxPool2d(x); });
}
void BM_MaxPoolBackward(benchmark::State &state) {
  runPiece(state, {kBatch, 64, 24, 24}, [](const Tensor &x) {
    return grad([](const Tensor &t) { return sum(maxPool2d(t)); })(x);
  });
}
void BM_BiasGradient(benchmark::State &state) {
  runPiece(state, {kBatch, 64, 24, 24},
           [](const Tensor &g) { return sumTo(g, {1, 64, 1, 1}); });
}
/// Each convolution of the ConvNet's step: forward, and both gradients
/// through `grad` of Σ conv·r (conv1's input gradient is never needed).
void BM_ConvNetConv(benchmark::State &state) {
  bool second = state.range(0) == 2;
  int which = static_cast<int>(state.range(1)); // 0 forward, 1 input, 2 filter
  Shape xs = second ? Shape{kBatch, 64, 12, 12} : Shape{kBatch, 1, 28, 28};
  Shape ws = second ? Shape{64, 64, 5, 5} : Shape{64, 1, 5, 5};
  runPiece(state, xs, [ws, which](const Tensor &x) {
    Tensor w = full(ws, 0.01);
    if (which == 0)
      return conv2d(x, w);
    Tensor r = full({x.dim(0), 64, x.dim(2) - 4, x.dim(3) - 4}, 0.5);
    if (which == 1)
      return grad([&](const Tensor &t) { return sum(conv2d(t, w) * r); })(x);
    return grad([&](const Tensor &t) { return sum(conv2d(x, t) * r); })(w);
  });
}
BENCHMARK(BM_ConvNetConv)
    ->ArgNames({"layer", "pass"})
    ->Args({1, 0})->Args({1, 2})->Args({2, 0})->Args({2, 1})->Args({2, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxPoolForward)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxPoolBackward)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BiasGradient)->UseRealTime()->Unit(benchmark::kMillisecond);


/// From constructing the jit callable to the first result: trace, MLIR
/// emission, the CPU pipeline, LLVM JIT and one run. The setup's opt.init
/// already compiled (and so created the shared MLIR context), so one-time
/// global initialisation is not counted.
void BM_MlpStepCompile(benchmark::State &state) {
  StepSetup s = StepSetup::mlp(0.0f);
  double jitSeconds = 0;
  CompileTimes phases;
  for (auto _ : state) {
    auto step = makeTrainStep(s);
    auto result = step(s.params, s.state, s.x, s.y);
    benchmark::DoNotOptimize(std::get<2>(result));
    jitSeconds += step.compileSeconds();
    phases.passes += step.compileTimes().passes;
    phases.llvmOpt += step.compileTimes().llvmOpt;
    phases.codegen += step.compileTimes().codegen;
    // The donated params and state now hold updated values; start the next
    // compilation from fresh ones, untimed.
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  // The part of the time that jit itself counts as compiling. LLVM
  // optimises and generates code lazily, on the first invoke, so that part
  // is in the benchmark's time but not in this counter.
  state.counters["jit_compile_s"] =
      benchmark::Counter(jitSeconds, benchmark::Counter::kAvgIterations);
  // Where that went: MLIR passes, LLVM optimization, LLVM code generation.
  state.counters["mlir_passes_s"] =
      benchmark::Counter(phases.passes, benchmark::Counter::kAvgIterations);
  state.counters["llvm_opt_s"] =
      benchmark::Counter(phases.llvmOpt, benchmark::Counter::kAvgIterations);
  state.counters["llvm_codegen_s"] =
      benchmark::Counter(phases.codegen, benchmark::Counter::kAvgIterations);
}

BENCHMARK(BM_MlpStepCompile)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

//===----------------------------------------------------------------------===//
// The summary: bandwidth relative to the copy, measured back to back
//===----------------------------------------------------------------------===//

constexpr int kSummaryRuns = 20;

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

/// Wall time of one call of f, right after an untimed call: at n = 10^6 the
/// operands fit in L3, and the warm-up brings back what the other kernels
/// of the round evicted, as in the benchmark loops.
template <typename F> double seconds(F &&f) {
  f();
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void printSummary() {
  std::printf("\nSummary (median of %d interleaved warm runs each, wall time; "
              "bytes as in the benchmarks):\n",
              kSummaryRuns);
  std::printf("%10s %12s %12s %12s %10s %10s\n", "n", "memcpy GB/s",
              "linbreg GB/s", "moment. GB/s", "linbreg/cp", "moment./cp");
  for (int64_t n : {int64_t(1000000), int64_t(10000000)}) {
    AlignedFloats src = alignedFloats(n), dst = alignedFloats(n);
    auto copy = [&] {
      std::memcpy(dst.get(), src.get(), n * sizeof(float));
      benchmark::DoNotOptimize(dst.get());
      benchmark::ClobberMemory();
    };
    UpdateOperands o(n);
    auto plain = makeLinBreg();
    auto momentum = makeLinBregMomentum();
    auto runPlain = [&] { runLinBreg(plain, o); };
    auto runMoment = [&] { runMomentum(momentum, o); };
    // Interleave the three so that a change in load on the machine affects
    // them alike (the first round's warm-up calls compile the updates).
    std::vector<double> tc, tp, tm;
    for (int i = 0; i < kSummaryRuns; ++i) {
      tc.push_back(seconds(copy));
      tp.push_back(seconds(runPlain));
      tm.push_back(seconds(runMoment));
    }
    double copyS = median(tc), tPlain = median(tp), tMomentum = median(tm);
    double gbCopy = n * kCopyBytes / copyS / 1e9;
    double gbPlain = n * kLinBregBytes / tPlain / 1e9;
    double gbMomentum = n * kMomentumBytes / tMomentum / 1e9;
    std::printf("%10lld %12.2f %12.2f %12.2f %10.2f %10.2f\n",
                static_cast<long long>(n), gbCopy, gbPlain, gbMomentum,
                gbPlain / gbCopy, gbMomentum / gbCopy);
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// On the GPU (Device::Cuda): each skips, saying why, without one
//===----------------------------------------------------------------------===//

namespace {

/// Whether the benchmark can run; skips it with the reason otherwise.
bool needGpu(benchmark::State &state) {
  runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
  if (!info.available) {
    state.SkipWithError(("no GPU: " + info.reason).c_str());
    return false;
  }
  state.SetLabel(info.name);
  return true;
}

/// A device-to-device copy of n floats: the yardstick of the fused update.
void BM_GpuDeviceCopy(benchmark::State &state) {
  if (!needGpu(state))
    return;
  int64_t n = state.range(0);
  runtime::DeviceMemory &gpu = runtime::cudaDevice();
  void *src = gpu.allocate(n * sizeof(float));
  void *dst = gpu.allocate(n * sizeof(float));
  gpu.copyWithinDevice(dst, src, n * sizeof(float));
  gpu.synchronize();
  for (auto _ : state) {
    gpu.copyWithinDevice(dst, src, n * sizeof(float));
    gpu.synchronize();
  }
  state.SetBytesProcessed(state.iterations() * n * kCopyBytes);
  gpu.release(src);
  gpu.release(dst);
}

/// The fused LinBreg update of n parameters, resident on the device.
void BM_GpuLinBregUpdate(benchmark::State &state) {
  if (!needGpu(state))
    return;
  int64_t n = state.range(0);
  UpdateOperands o(n);
  auto update = makeLinBreg(Device::Cuda);
  runLinBreg(update, o); // compiles, uploads
  runtime::cudaDevice().synchronize();
  for (auto _ : state) {
    runLinBreg(update, o);
    runtime::cudaDevice().synchronize();
  }
  state.SetBytesProcessed(state.iterations() * n * kLinBregBytes);
}

/// A training step (batch 128) on the device; each call reads the loss back,
/// as training does.
void runGpuTrainStep(benchmark::State &state, StepSetup s) {
  auto step = makeTrainStep(s, Device::Cuda);
  auto once = [&] {
    auto [p2, s2, l, hits] = step(s.params, s.state, s.x, s.y);
    s.params = p2;
    s.state = s2;
    return l.item();
  };
  double loss = once(); // compiles, uploads
  for (auto _ : state)
    loss = once();
  if (!std::isfinite(loss))
    state.SkipWithError("the loss is not finite");
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_GpuMlpTrainStep(benchmark::State &state) {
  if (needGpu(state))
    runGpuTrainStep(state, StepSetup::mlp(state.range(0) ? 0.9f : 0.0f));
}
void BM_GpuConvNetTrainStep(benchmark::State &state) {
  if (needGpu(state))
    runGpuTrainStep(state, StepSetup::convNet());
}

} // namespace

BENCHMARK(BM_GpuConvNetTrainStep)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GpuDeviceCopy)->Arg(1 << 24)->Arg(1 << 26)->UseRealTime();
BENCHMARK(BM_GpuLinBregUpdate)->Arg(1 << 24)->Arg(1 << 26)->UseRealTime();
BENCHMARK(BM_GpuMlpTrainStep)
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

int main(int argc, char **argv) {
  // --no_summary is ours; take it out before Google Benchmark sees the flags.
  bool summary = true;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no_summary") == 0)
      summary = false;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  argv[argc] = nullptr;

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  try {
    benchmark::RunSpecifiedBenchmarks();
    if (summary)
      printSummary();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bregman_bench: %s\n", e.what());
    benchmark::Shutdown();
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
