//===- gemm_bench.cpp - OpenBLAS against oneDNN, per GEMM shape -----------===//
//
// The measurement behind bregman_cpu_sgemm's choice of backend (CpuBlas.cpp).
// Each benchmark is one shape; every iteration of it times a burst of calls
// in each backend one after the other (OpenBLAS cblas_sgemm, oneDNN's matmul
// primitive as the runtime caches it, oneDNN's dnnl_sgemm, and the runtime's
// own bregman_cpu_sgemm), so that the ratios compare runs under the same
// load. Counters: the median over iterations of the wall and the process CPU
// time per call, in µs, and dnnl/blas = oneDNN matmul / OpenBLAS (wall).
//
// Shapes: the eight GEMMs of the MLP step (784-200-80-10, batch 128, as the
// step calls them), the six of the ConvNet's linear layers (1024-128-10,
// batch 128), batch-1 inference, a square 512³ and a beta = 1 accumulation.
// BM_MlpStepGemms runs the MLP's eight back to back in each backend;
// BM_BiasReluFusion measures what fusing bias and ReLU into the forward GEMM
// (oneDNN post-ops) would save.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/CpuLibrary.h"

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <vector>

using bregman::runtime::GemmShape;

namespace {

struct Case {
  const char *name;
  GemmShape shape;
};

// Transposes as the compiled steps call them: the forward x·Wᵀ (NT), the
// input gradient δ·W (NN), the weight gradient δᵀ·x (TN).
const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      {"mlp NT 128x200x784", {false, true, 128, 200, 784, 0.0f}},
      {"mlp NT 128x80x200", {false, true, 128, 80, 200, 0.0f}},
      {"mlp NT 128x10x80", {false, true, 128, 10, 80, 0.0f}},
      {"mlp NN 128x80x10", {false, false, 128, 80, 10, 0.0f}},
      {"mlp NN 128x200x80", {false, false, 128, 200, 80, 0.0f}},
      {"mlp TN 10x80x128", {true, false, 10, 80, 128, 0.0f}},
      {"mlp TN 80x200x128", {true, false, 80, 200, 128, 0.0f}},
      {"mlp TN 200x784x128", {true, false, 200, 784, 128, 0.0f}},
      {"convnet NT 128x128x1024", {false, true, 128, 128, 1024, 0.0f}},
      {"convnet NT 128x10x128", {false, true, 128, 10, 128, 0.0f}},
      {"convnet NN 128x128x10", {false, false, 128, 128, 10, 0.0f}},
      {"convnet NN 128x1024x128", {false, false, 128, 1024, 128, 0.0f}},
      {"convnet TN 10x128x128", {true, false, 10, 128, 128, 0.0f}},
      {"convnet TN 128x1024x128", {true, false, 128, 1024, 128, 0.0f}},
      {"batch-1 NT 1x200x784", {false, true, 1, 200, 784, 0.0f}},
      {"batch-1 NT 1x80x200", {false, true, 1, 80, 200, 0.0f}},
      {"batch-1 NT 1x10x80", {false, true, 1, 10, 80, 0.0f}},
      {"batch-4 NT 4x200x784", {false, true, 4, 200, 784, 0.0f}},
      {"batch-16 NT 16x200x784", {false, true, 16, 200, 784, 0.0f}},
      {"batch-32 NT 32x200x784", {false, true, 32, 200, 784, 0.0f}},
      {"square NN 512x512x512", {false, false, 512, 512, 512, 0.0f}},
      {"accumulate TN 200x784x128 beta 1", {true, false, 200, 784, 128, 1.0f}},
  };
  return all;
}

struct Operands {
  std::vector<float> a, b, c;
  explicit Operands(const GemmShape &s)
      : a(s.m * s.k), b(s.k * s.n), c(s.m * s.n) {
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = std::sin(0.37f * static_cast<float>(i));
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = std::cos(0.11f * static_cast<float>(i));
    std::fill(c.begin(), c.end(), 0.0f);
  }
};

using Gemm = std::function<void(const GemmShape &, Operands &)>;

struct Backend {
  const char *name;
  Gemm run;
};

const std::vector<Backend> &allBackends() {
  static const std::vector<Backend> all = {
      {"blas",
       [](const GemmShape &s, Operands &o) {
         bregman::runtime::sgemmOpenBlas(s, o.a.data(), o.b.data(), o.c.data());
       }},
      {"dnnl",
       [](const GemmShape &s, Operands &o) {
         bregman::runtime::sgemmOneDnn(s, o.a.data(), o.b.data(), o.c.data());
       }},
      {"dnnl_sgemm",
       [](const GemmShape &s, Operands &o) {
         bregman::runtime::sgemmOneDnnBlas(s, o.a.data(), o.b.data(),
                                           o.c.data());
       }},
      {"ours",
       [](const GemmShape &s, Operands &o) {
         bregman_cpu_sgemm(s.transA, s.transB, s.m, s.n, s.k, s.beta,
                           reinterpret_cast<intptr_t>(o.a.data()),
                           reinterpret_cast<intptr_t>(o.b.data()),
                           reinterpret_cast<intptr_t>(o.c.data()));
       }},
  };
  return all;
}

/// The backends named in GEMM_BENCH_BACKENDS (comma-separated), all if unset:
/// each alone in its own process shows what the others' idle threads cost it.
const std::vector<Backend> &backends() {
  static const std::vector<Backend> chosen = [] {
    const char *list = std::getenv("GEMM_BENCH_BACKENDS");
    std::vector<Backend> result;
    for (const Backend &b : allBackends())
      if (!list || ("," + std::string(list) + ",").find(
                       "," + std::string(b.name) + ",") != std::string::npos)
        result.push_back(b);
    return result;
  }();
  return chosen;
}

double processCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Times `calls` runs of `body`; adds µs per call (wall, CPU) to the samples.
void timeBurst(const std::function<void()> &body, int calls,
               std::vector<double> &wall, std::vector<double> &cpu) {
  auto start = std::chrono::steady_clock::now();
  double cpuStart = processCpuSeconds();
  for (int i = 0; i < calls; ++i)
    body();
  double cpuSeconds = processCpuSeconds() - cpuStart;
  double wallSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  wall.push_back(1e6 * wallSeconds / calls);
  cpu.push_back(1e6 * cpuSeconds / calls);
}

/// Runs `work(backend)` in bursts of about 2 ms per backend per iteration
/// and reports the medians and the oneDNN / OpenBLAS ratio as counters.
void compareBackends(benchmark::State &state, double flops,
                     const std::function<void(const Backend &)> &work) {
  const auto &all = backends();
  for (const Backend &b : all) // warm-up; creates oneDNN's primitive
    for (int i = 0; i < 3; ++i)
      work(b);
  if (all.empty()) {
    state.SkipWithError("GEMM_BENCH_BACKENDS names no backend");
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  work(all[0]);
  double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                    .count();
  int calls = std::max(1, static_cast<int>(2e-3 / std::max(once, 1e-7)));
  std::vector<std::vector<double>> wall(all.size()), cpu(all.size());
  for (auto _ : state)
    for (size_t i = 0; i < all.size(); ++i)
      timeBurst([&] { work(all[i]); }, calls, wall[i], cpu[i]);
  std::map<std::string, double> us;
  for (size_t i = 0; i < all.size(); ++i) {
    std::string name = all[i].name;
    us[name] = median(wall[i]);
    state.counters[name + "_us"] = us[name];
    state.counters[name + "_cpu_us"] = median(cpu[i]);
    state.counters[name + "_GFLOPs"] = flops / (us[name] * 1e3);
  }
  for (const char *name : {"dnnl", "ours"})
    if (us.count(name) && us.count("blas"))
      state.counters[std::string(name) + "/blas"] = us[name] / us["blas"];
}

void BM_Gemm(benchmark::State &state) {
  const Case &c = cases()[state.range(0)];
  state.SetLabel(c.name);
  Operands operands(c.shape);
  double flops = 2.0 * c.shape.m * c.shape.n * c.shape.k;
  compareBackends(state, flops,
                  [&](const Backend &b) { b.run(c.shape, operands); });
}

void BM_MlpStepGemms(benchmark::State &state) {
  state.SetLabel("the MLP step's 8 GEMMs back to back");
  std::vector<Operands> operands;
  double flops = 0;
  for (int i = 0; i < 8; ++i) {
    operands.emplace_back(cases()[i].shape);
    const GemmShape &s = cases()[i].shape;
    flops += 2.0 * s.m * s.n * s.k;
  }
  compareBackends(state, flops, [&](const Backend &b) {
    for (int i = 0; i < 8; ++i)
      b.run(cases()[i].shape, operands[i]);
  });
}

/// The forward GEMM of a layer followed by its bias and ReLU: oneDNN's matmul
/// then one pass over C (what the generated code does), against the same
/// matmul with the bias as its bias argument and ReLU as an eltwise post-op.
struct FusedLinear {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul primitive;
  dnnl::memory a, w, bias, c;

  FusedLinear(const GemmShape &s, Operands &o, std::vector<float> &biasData) {
    using dnnl::memory;
    memory::desc aDesc({s.m, s.k}, memory::data_type::f32, memory::dims{s.k, 1});
    memory::desc wDesc({s.k, s.n}, memory::data_type::f32, memory::dims{1, s.k});
    memory::desc biasDesc({1, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
    memory::desc cDesc({s.m, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    primitive = dnnl::matmul(dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(aDesc, wDesc, biasDesc, cDesc), attr, engine));
    a = memory(aDesc, engine, o.a.data());
    w = memory(wDesc, engine, o.b.data());
    bias = memory(biasDesc, engine, biasData.data());
    c = memory(cDesc, engine, o.c.data());
  }
  void run() {
    primitive.execute(stream, {{DNNL_ARG_SRC, a},
                               {DNNL_ARG_WEIGHTS, w},
                               {DNNL_ARG_BIAS, bias},
                               {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

void BM_BiasReluFusion(benchmark::State &state) {
  const Case &c = cases()[state.range(0)];
  state.SetLabel(std::string(c.name) + " + bias + ReLU");
  GemmShape s = c.shape;
  Operands o(s);
  std::vector<float> bias(s.n);
  for (int64_t j = 0; j < s.n; ++j)
    bias[j] = 0.01f * static_cast<float>(j % 7) - 0.03f;
  FusedLinear fused(s, o, bias);
  auto separate = [&] {
    bregman::runtime::sgemmOneDnn(s, o.a.data(), o.b.data(), o.c.data());
    float *out = o.c.data();
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j)
        out[i * s.n + j] = std::max(out[i * s.n + j] + bias[j], 0.0f);
    benchmark::DoNotOptimize(out);
  };
  for (int i = 0; i < 3; ++i) {
    separate();
    fused.run();
  }
  std::vector<double> wall[2], cpu[2];
  for (auto _ : state) {
    timeBurst(separate, 50, wall[0], cpu[0]);
    timeBurst([&] { fused.run(); }, 50, wall[1], cpu[1]);
  }
  state.counters["separate_us"] = median(wall[0]);
  state.counters["fused_us"] = median(wall[1]);
  state.counters["fused/separate"] = median(wall[1]) / median(wall[0]);
}

} // namespace

BENCHMARK(BM_BiasReluFusion)
    ->Arg(0)
    ->Arg(1)
    ->Arg(8)
    ->Iterations(15)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm)
    ->DenseRange(0, static_cast<int>(cases().size()) - 1)
    ->Iterations(15)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStepGemms)->Iterations(15)->Unit(benchmark::kMillisecond);

int main(int argc, char **argv) {
  // Which kernels OpenBLAS runs here decides what "ours" picks.
  benchmark::AddCustomContext("gemm",
                              bregman::runtime::gemmLibrarySummary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bregman_gemm_bench: %s\n", e.what());
    benchmark::Shutdown();
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
