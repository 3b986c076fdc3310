//===- sparse_bench.cpp - CSR layers (sparsifier) against dense GEMMs -------===//
//
// The MLP 784-200-80-10 at 1 % and 5 % weight density: inference at batch 128
// and 1, and forward + backward (input gradients on the CSR, weight
// gradients dense; no update, no CSR rebuild), sparse against our dense path
// (bregman_cpu_sgemm: OpenBLAS or oneDNN by shape) in the same run, as
// ratios, with the CSR layers in both forms: batch-major activations (a·Wᵀ, x gathered at the stored columns)
// and feature-major ones (W·aᵀ, the batch innermost), and as nn::Linear runs
// them (csrProduct: the one of the two it picks for the batch). Then the crossover
// density of x·Wᵀ per layer shape and form: the lowest density tried at
// which the sparse layer is no longer faster. Times are process CPU time (all threads), median of 7
// rounds; wall time is printed beside it. `--forms`: the two CSR forms
// against each other per batch from 1 to 64 (where csrProduct switches).
//
//===----------------------------------------------------------------------===//

#include "SparseBenchUtil.h"
#include "SparseMlp.h"
#include "bregman/bregman.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

using namespace bregman;

namespace {

using bench::measure;
using bench::randomInput;
using bench::randomWeight;
using bench::Times;
using bench::Form;
using bench::kLayers;
using bench::logits;
using bench::Mlp;

/// `t`: gathered, feature-major, as nn::Linear (csrProduct), dense.
void printRow(const std::string &what, const std::array<Times, 4> &t) {
  double dense = t[3].cpuUs;
  std::printf("%-26s %9.1f %9.1f %9.1f %9.1f   %6.2fx %6.2fx %6.2fx   (wall "
              "%7.1f %7.1f %7.1f %7.1f us)\n",
              what.c_str(), t[0].cpuUs, t[1].cpuUs, t[2].cpuUs, dense,
              dense / t[0].cpuUs, dense / t[1].cpuUs, dense / t[2].cpuUs,
              t[0].wallUs, t[1].wallUs, t[2].wallUs, t[3].wallUs);
}

void mlpTable() {
  std::printf("MLP 784-200-80-10, CPU us per call; speed-up = dense / sparse; "
              "nn::Linear = the form csrProduct picks\n"
              "%-26s %9s %9s %9s %9s   %7s %7s %7s\n",
              "", "gathered", "feat-maj", "Linear", "dense", "gath.", "f-maj",
              "Linear");
  std::mt19937 rng(7);
  const std::array<Form, 4> forms{Form::Gathered, Form::FeatureMajor,
                                  Form::Linear, Form::Dense};
  for (double density : {0.01, 0.05}) {
    Mlp mlp(rng, density);
    std::string pct = std::to_string(int(density * 100)) + " %";
    for (int64_t batch : {int64_t(128), int64_t(1)}) {
      Tensor x = randomInput(rng, batch, 784);
      std::array<Times, 4> t;
      for (size_t f = 0; f < forms.size(); ++f) {
        Form form = forms[f];
        auto infer = jit([form](const Params &p, const Params &c,
                                const Tensor &x) {
          return logits(p, c, x, form);
        });
        t[f] = measure([&] { infer(mlp.dense, mlp.csr, x); },
                       batch == 1 ? 2000 : 200);
      }
      printRow("inference " + pct + ", batch " + std::to_string(batch), t);
    }
    Tensor x = randomInput(rng, 128, 784);
    std::vector<int32_t> labels(128);
    for (size_t i = 0; i < labels.size(); ++i)
      labels[i] = static_cast<int32_t>(i % 10);
    Tensor y = Tensor::fromVector(labels, {128});
    std::array<Times, 4> t;
    for (size_t f = 0; f < forms.size(); ++f) {
      Form form = forms[f];
      auto step = jit([form](const Params &p, const Params &c, const Tensor &x,
                             const Tensor &y) {
        return valueAndGrad([&](const Params &q) {
          return crossEntropy(logits(q, c, x, form), y);
        })(p);
      });
      t[f] = measure([&] { step(mlp.dense, mlp.csr, x, y); }, 200);
    }
    printRow("fwd+bwd " + pct + ", batch 128", t);
  }
}

void crossoverTable() {
  const std::vector<double> densities{0.005, 0.01, 0.02, 0.05, 0.1,
                                      0.2,   0.3,  0.5};
  std::printf("\nx·Wᵀ alone: sparse/dense CPU time per density (gathered / "
              "feature-major), and the crossover (the first density tried at "
              "which sparse is not faster)\n");
  std::mt19937 rng(9);
  for (auto [rows, cols] : kLayers)
    for (int64_t batch : {int64_t(128), int64_t(1)}) {
      Tensor x = randomInput(rng, batch, cols);
      auto sparse = jit([rows = rows, cols = cols](
                            const Tensor &x, const Tensor &p, const Tensor &c,
                            const Tensor &v) {
        return sparseMatmul(x, CsrWeight{p, c, v, Tensor(), rows, cols}, true);
      });
      auto featureMajor = jit([rows = rows, cols = cols](
                                  const Tensor &xt, const Tensor &p,
                                  const Tensor &c, const Tensor &v) {
        return sparseMatmulLeft(CsrWeight{p, c, v, Tensor(), rows, cols}, xt,
                                false);
      });
      auto dense = jit([](const Tensor &x, const Tensor &w) {
        return matmul(x, w, false, true);
      });
      std::vector<float> xv = x.toVector<float>(), xtv(xv.size());
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < cols; ++i)
          xtv[i * batch + b] = xv[b * cols + i];
      Tensor xt = Tensor::fromVector(xtv, {cols, batch});
      int iters = batch == 1 ? 2000 : 100;
      std::printf("[%lld, %lld] batch %-4lld", (long long)rows,
                  (long long)cols, (long long)batch);
      double crossover = -1, crossoverT = -1;
      for (double density : densities) {
        Tensor w = randomWeight(rng, rows, cols, density);
        CsrWeight c = compressRows(w, rows * cols);
        Times s = measure(
            [&] { sparse(x, c.positions, c.coordinates, c.values); }, iters);
        Times st = measure(
            [&] { featureMajor(xt, c.positions, c.coordinates, c.values); },
            iters);
        Times d = measure([&] { dense(x, w); }, iters);
        std::printf(" %g%%:%.2f/%.2f", density * 100, s.cpuUs / d.cpuUs,
                    st.cpuUs / d.cpuUs);
        if (crossover < 0 && s.cpuUs >= d.cpuUs)
          crossover = density;
        if (crossoverT < 0 && st.cpuUs >= d.cpuUs)
          crossoverT = density;
      }
      auto show = [](double c) {
        return c < 0 ? std::string("above 50 % (faster at every density tried)")
                     : fmt::format("{:g} %", c * 100);
      };
      std::printf("\n    -> crossover: gathered %s, feature-major %s\n",
                  show(crossover).c_str(), show(crossoverT).c_str());
    }
}

/// Which CSR form is faster at small batches: batch-major (a·Wᵀ: row →
/// stored entries, x gathered; a·W: stored entries scattered into the output
/// row) against feature-major (the batch innermost: one masked vector per
/// stored entry while the batch is below the vector width), per layer shape,
/// density, batch, and W stored [out, in] (a Linear's weight, a·Wᵀ) or
/// [in, out] (an ONNX MatMul's, a·W). Wall time per call.
void formsTable() {
  std::printf("\nCSR forms by batch: feature-major / batch-major wall time "
              "(above 1: batch-major faster)\n");
  std::mt19937 rng(11);
  for (bool transposeW : {true, false})
    for (auto [rows, cols] : kLayers)
      for (double density : {0.01, 0.05, 0.2}) {
        // The stored matrix and the product's inner (in) and outer (out) sizes.
        int64_t in = cols, out = rows;
        int64_t storedRows = transposeW ? out : in, storedCols = transposeW ? in : out;
        Tensor w = randomWeight(rng, storedRows, storedCols, density);
        CsrWeight c = compressRows(w, storedRows * storedCols);
        std::printf("%s [%lld, %lld] %4g %%:", transposeW ? "a·Wᵀ" : "a·W ",
                    (long long)storedRows, (long long)storedCols, density * 100);
        for (int64_t batch : {1, 2, 4, 8, 16, 32, 64}) {
          Tensor x = randomInput(rng, batch, in);
          std::vector<float> xv = x.toVector<float>(), xtv(xv.size());
          for (int64_t b = 0; b < batch; ++b)
            for (int64_t i = 0; i < in; ++i)
              xtv[i * batch + b] = xv[b * in + i];
          Tensor xt = Tensor::fromVector(xtv, {in, batch});
          auto csr = [=](const Tensor &p, const Tensor &k, const Tensor &v) {
            return CsrWeight{p, k, v, Tensor(), storedRows, storedCols};
          };
          auto batchMajor = jit([=](const Tensor &x, const Tensor &p,
                                    const Tensor &k, const Tensor &v) {
            return sparseMatmul(x, csr(p, k, v), transposeW);
          });
          auto featureMajor = jit([=](const Tensor &xt, const Tensor &p,
                                      const Tensor &k, const Tensor &v) {
            return sparseMatmulLeft(csr(p, k, v), xt, !transposeW);
          });
          int iters = batch <= 8 ? 2000 : 300;
          Times g = measure(
              [&] { batchMajor(x, c.positions, c.coordinates, c.values); }, iters);
          Times f = measure(
              [&] { featureMajor(xt, c.positions, c.coordinates, c.values); },
              iters);
          std::printf(" b%lld %.2f", (long long)batch, f.wallUs / g.wallUs);
          std::fflush(stdout);
        }
        std::printf("\n");
      }
}

} // namespace

int main(int argc, char **argv) {
  // --mlp-only: the MLP table alone (bench/sparse_peers.py reads it).
  // --forms: the CSR forms by batch alone.
  std::string mode = argc == 2 ? argv[1] : "";
  if (argc > 2 || (argc == 2 && mode != "--mlp-only" && mode != "--forms")) {
    std::fprintf(stderr, "usage: %s [--mlp-only | --forms]\n", argv[0]);
    return 2;
  }
  try {
    if (mode == "--forms") {
      formsTable();
      return 0;
    }
    mlpTable();
    if (mode != "--mlp-only")
      crossoverTable();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bregman_sparse_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
