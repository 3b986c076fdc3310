//===- compile_bench.cpp - Compile time against graph size ----------------===//
//
// How fast `jit` compiles a function of N chained ops (trace, emission, the
// CPU pipeline, LLVM): ops per second of compilation should stay about
// constant as N grows — compile time linear in the graph. A chain of
// elementwise ops, and a mixed one with row reductions broadcast back. Tiny
// tensors (64 elements) and larger ones (1,024) both: LLVM once unrolled the
// tiny loops into one huge block. The rate is per CPU second of this thread,
// so a busy machine does not distort it; compilation runs on it alone here
// (compileThreads 1: LLVM's parts on other threads would not be counted).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <benchmark/benchmark.h>

using namespace bregman;

namespace {

/// x·(1 + 2⁻¹⁰) and x + 2⁻¹⁰ in turn, `ops` times: one long chain.
Tensor chain(const Tensor &x, int64_t ops) {
  Tensor y = x;
  for (int64_t i = 0; i < ops; ++i)
    y = i % 2 ? y + 0x1p-10 : y * (1 + 0x1p-10);
  return y;
}

/// The chain with, in every eight ops, y + 2⁻¹⁰·mean(y, rows) in place of
/// four elementwise ones (a reduction, its broadcast back and two
/// elementwise ops count as four).
Tensor mixedChain(const Tensor &x, int64_t ops) {
  Tensor y = x;
  for (int64_t i = 0; i < ops;) {
    if (i % 8 == 4) {
      y = y + mean(y, {1}, /*keepDims=*/true) * 0x1p-10;
      i += 4;
    } else {
      y = i % 2 ? y + 0x1p-10 : y * (1 + 0x1p-10);
      ++i;
    }
  }
  return y;
}

/// Rows of 8 floats (what the mixed chain reduces).
template <Tensor (*Chain)(const Tensor &, int64_t)>
void compileChain(benchmark::State &state) {
  int64_t ops = state.range(0);
  int64_t elements = state.range(1);
  Tensor x = Tensor::fromVector(
      std::vector<float>(static_cast<size_t>(elements), 0.5f),
      {elements / 8, 8});
  for (auto _ : state) {
    JitOptions options;
    options.compileThreads = 1;
    auto f = jit([ops](const Tensor &t) { return Chain(t, ops); }, options);
    Tensor y = f(x); // compiles
    benchmark::DoNotOptimize(y.data<float>());
  }
  state.counters["ops_per_s"] = benchmark::Counter(
      static_cast<double>(ops * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_CompileChain(benchmark::State &state) { compileChain<chain>(state); }
void BM_CompileMixedChain(benchmark::State &state) {
  compileChain<mixedChain>(state);
}

} // namespace

BENCHMARK(BM_CompileChain)
    ->ArgNames({"ops", "elements"})
    ->ArgsProduct({{500, 2000, 5000, 20000}, {64, 1024}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompileMixedChain)
    ->ArgNames({"ops", "elements"})
    ->ArgsProduct({{500, 2000, 5000, 20000}, {64, 1024}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
