//===- infer_artifact_bench.cpp - Inference artifacts against the JIT
//------===//
//
// bregman_infer_artifact_bench MODEL.onnx X.pb [X.pb ...]
//
// For each input file (its first dimension is the batch), the model's
// inference dense (--sparse-exec off) and on CSR (on), each called through
// the JIT as `bregman run` does and as a saved inference artifact loaded by
// the runtime (`bregman run --save-artifact`, `bregman-run DIR --input`), in
// one process: per-call process CPU time (all threads) and wall time, the
// median of 7 rounds, and the ratios of the four. The artifacts go to a
// temporary directory this program creates and removes.
//
// docs/PERFORMANCE.md ("Inference artifacts") has the figures for the MLP
// 784-200-80-10 at 5 % density made by the test fixture:
//   build/bin/bregman_onnx_fixture mlp mlp5.onnx 784,200,80,10 0.05 7
//   build/bin/bregman_onnx_fixture input x128.pb 128,784 3
//   build/bin/bregman_onnx_fixture input x1.pb 1,784 4
//
//===----------------------------------------------------------------------===//

#include "SparseBenchUtil.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/Artifact.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace bregman;

namespace {

using bench::measure;
using bench::Times;

struct PathTimes {
  Times jit, artifact;
};

/// The JIT's and the saved artifact's time per inference with `policy`.
PathTimes timePaths(const onnx::OnnxModel &model, const Params &feeds,
                    int64_t batch, nn::SparseExec policy,
                    const std::string &dir, int iters) {
  std::vector<onnx::SparseLayer> layers;
  Params weights = onnx::withSparseLayers(model, policy, &layers, batch, &feeds);
  auto infer = jit([&model](const Params &w, const Params &c,
                            const Params &in) { return model.apply(w, c, in); },
                   JitOptions{{}, "onnx_run"});
  PathTimes t;
  t.jit = measure([&] { infer(weights, model.constants(), feeds); }, iters);
  infer.save(dir, weights, model.constants(), feeds);
  std::unique_ptr<runtime::Artifact> artifact = runtime::Artifact::load(dir);
  t.artifact = measure([&] { artifact->step(); }, iters);
  return t;
}

void benchInput(const onnx::OnnxModel &model, const std::string &inputPath,
                const std::string &tmp) {
  Params feeds;
  feeds.add(model.inputs().at(0).name, onnx::readTensorProto(inputPath));
  int64_t batch = feeds.at(model.inputs()[0].name).dim(0);
  int iters = batch >= 64 ? 300 : 3000;
  std::string tag = std::to_string(batch);
  PathTimes dense = timePaths(model, feeds, batch, nn::SparseExec::Off,
                              tmp + "/dense-" + tag, iters);
  PathTimes csr = timePaths(model, feeds, batch, nn::SparseExec::On,
                            tmp + "/csr-" + tag, iters);
  auto row = [](const char *what, const Times &t) {
    fmt::print("  {:<28} {:9.2f} us cpu {:9.2f} us wall\n", what, t.cpuUs,
               t.wallUs);
  };
  fmt::print("batch {} ({}):\n", batch, inputPath);
  row("JIT, dense", dense.jit);
  row("JIT, CSR", csr.jit);
  row("artifact, dense", dense.artifact);
  row("artifact, CSR", csr.artifact);
  fmt::print(
      "  CPU-time ratios: artifact dense / artifact CSR {:.2f}; JIT dense / "
      "artifact CSR {:.2f}; JIT CSR / artifact CSR {:.2f}; JIT dense / JIT CSR "
      "{:.2f}\n",
      dense.artifact.cpuUs / csr.artifact.cpuUs,
      dense.jit.cpuUs / csr.artifact.cpuUs, csr.jit.cpuUs / csr.artifact.cpuUs,
      dense.jit.cpuUs / csr.jit.cpuUs);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx X.pb [X.pb ...]\n", argv[0]);
    return 2;
  }
  try {
    bench::ScratchDir tmp("bregman-infer-bench");
    onnx::OnnxModel model = onnx::OnnxModel::load(argv[1]);
    model.checkSupported();
    for (int i = 2; i < argc; ++i)
      benchInput(model, argv[i], tmp.path());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
