//===- sparse_conv_bench.cpp - Convolutions on CSR against oneDNN ----------===//
//
// The ConvNet's two convolutions at batch 128 (conv1 1→64 on 28×28, conv2
// 64→64 on 12×12, 5×5 kernels), with a fraction of their kernels alive (the
// sparsity l1_l2_conv's kernel groups give): the forward pass, and the
// forward pass with the input gradient (what a training step takes from
// the filter besides the dense weight gradient), on the CSR
// (breg.sparse_conv2d) against our dense path (oneDNN) in the same run.
// Prints per density the CPU times (all threads; median of 7 rounds), the
// dense/sparse ratios and, per layer, the crossover: the lowest density
// tried at which the CSR is no longer faster, by CPU time and by wall time
// (what the calibration of `--sparse-exec auto` compares).
//
//===----------------------------------------------------------------------===//

#include "SparseBenchUtil.h"
#include "bregman/bregman.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

using namespace bregman;

namespace {

struct Layer {
  const char *name;
  int64_t channels, size, filters, kernel, padding, stride = 1, groups = 1;
  int64_t channelsPerGroup() const { return channels / groups; }
};

// The ConvNet's two, the DenseNet's of the architecture search (NAS.md §1:
// 3×3, padding 1, 12 new channels per layer from 1, 36 and 60 inputs, the
// transition to one channel) and four of the CIFAR ResNet-18 (its first
// convolution, a stage-1 one, and stage 2's strided convolution and
// shortcut), and grouped ones: two of MobileNetV2's depthwise convolutions
// (ImageNet widths at CIFAR's sizes; stride 1 and 2) and a RegNetX-400MF
// stage-2 convolution (groups of 16 channels).
constexpr Layer kLayers[] = {
    {"conv1 [64, 1, 5, 5] on 28×28", 1, 28, 64, 5, 0},
    {"conv2 [64, 64, 5, 5] on 12×12", 64, 12, 64, 5, 0},
    {"densenet stem [12, 1, 3, 3] on 28×28, padding 1", 1, 28, 12, 3, 1},
    {"densenet dense3 [12, 36, 3, 3] on 28×28, padding 1", 36, 28, 12, 3, 1},
    {"densenet dense5 [12, 60, 3, 3] on 28×28, padding 1", 60, 28, 12, 3, 1},
    {"densenet transition [1, 72, 3, 3] on 28×28, padding 1", 72, 28, 1, 3, 1},
    {"resnet18 conv1 [64, 3, 3, 3] on 32×32, padding 1", 3, 32, 64, 3, 1},
    {"resnet18 stage 1 [64, 64, 3, 3] on 32×32, padding 1", 64, 32, 64, 3, 1},
    {"resnet18 stage 2 down [128, 64, 3, 3] on 32×32, stride 2, padding 1", 64, 32, 128,
     3, 1, 2},
    {"resnet18 stage 2 shortcut [128, 64, 1, 1] on 32×32, stride 2", 64, 32, 128, 1, 0,
     2},
    {"mobilenetv2 depthwise [96, 1, 3, 3] on 16×16, padding 1, groups 96", 96, 16, 96, 3, 1,
     1, 96},
    {"mobilenetv2 depthwise [144, 1, 3, 3] on 16×16, stride 2, padding 1, groups 144", 144,
     16, 144, 3, 1, 2, 144},
    {"regnetx stage 2 [64, 16, 3, 3] on 16×16, padding 1, groups 4", 64, 16, 64, 3, 1, 1,
     4}};
constexpr int64_t kBatch = 128;

/// A filter with ⌈density·kernels⌉ of its kernels alive (chosen at random),
/// their taps uniform in ±[0.5, 1.5).
Tensor kernelSparseFilter(const Layer &l, double density, std::mt19937 &rng) {
  int64_t kernels = l.filters * l.channelsPerGroup(), taps = l.kernel * l.kernel;
  std::vector<int64_t> order(kernels);
  for (int64_t i = 0; i < kernels; ++i)
    order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  int64_t alive = static_cast<int64_t>(std::ceil(density * kernels - 1e-9));
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::vector<float> w(kernels * taps, 0.0f);
  for (int64_t i = 0; i < alive; ++i)
    for (int64_t t = 0; t < taps; ++t)
      w[order[i] * taps + t] = (t % 2 ? -1.0f : 1.0f) * u(rng);
  return Tensor::fromVector(w, {l.filters, l.channelsPerGroup(), l.kernel, l.kernel});
}

/// A concrete tensor's data under another shape of as many elements.
Tensor reshape4(const Tensor &t, const Shape &shape) {
  return Tensor::fromVector(t.toVector<float>(), shape);
}

struct Row {
  double density;
  bench::Times denseFwd, sparseFwd, denseBoth, sparseBoth;
};

Row measureLayer(const Layer &l, double density, std::mt19937 &rng) {
  Tensor w = kernelSparseFilter(l, density, rng);
  CsrFilter csr = compressFilter(w, l.groups);
  Tensor x = reshape4(bench::randomInput(rng, kBatch, l.channels * l.size * l.size), {kBatch, l.channels, l.size, l.size});
  int64_t out = (l.size + 2 * l.padding - l.kernel) / l.stride + 1;
  Conv2dOptions options;
  options.stride = {l.stride, l.stride};
  options.padding = {l.padding, l.padding, l.padding, l.padding};
  options.groups = l.groups;
  Tensor d = reshape4(bench::randomInput(rng, kBatch, l.filters * out * out), {kBatch, l.filters, out, out});
  std::array<int64_t, 4> shape = csr.shape;
  int64_t groups = l.groups, taps = shape[2] * shape[3];
  auto filterOf = [shape, groups, taps](const Params &c) {
    return CsrFilter{{c.at("rp"), c.at("rc"), c.at("rv"), Tensor(), shape[0],
                      shape[1] * taps},
                     {c.at("cp"), c.at("cc"), c.at("cv"), Tensor(), shape[1] * groups,
                      shape[0] / groups * taps},
                     Tensor(),
                     shape,
                     groups};
  };
  Params c{{"rp", csr.rows.positions},      {"rc", csr.rows.coordinates},
           {"rv", csr.rows.values},         {"cp", csr.columns.positions},
           {"cc", csr.columns.coordinates}, {"cv", csr.columns.values}};
  auto denseFwd = jit([&](const Tensor &x, const Tensor &w) {
    return conv2d(x, w, options);
  });
  auto sparseFwd = jit([&](const Tensor &x, const Params &c) {
    return sparseConv2d(x, filterOf(c), options);
  });
  // loss = Σ d ⊙ conv(x): its value needs the forward pass, dx the input
  // gradient; the filter's gradient is not taken (dense in both paths).
  auto denseBoth = jit([&](const Tensor &x, const Tensor &w, const Tensor &d) {
    return valueAndGrad([&](const Params &p) {
      return sum(conv2d(p.at("x"), w, options) * d);
    })(Params{{"x", x}});
  });
  auto sparseBoth = jit([&](const Tensor &x, const Params &c, const Tensor &d) {
    return valueAndGrad([&](const Params &p) {
      return sum(sparseConv2d(p.at("x"), filterOf(c), options) * d);
    })(Params{{"x", x}});
  });
  int iters = l.channels == 1 ? 20 : 10;
  Row row{density, {}, {}, {}, {}};
  row.denseFwd = bench::measure([&] { denseFwd(x, w); }, iters);
  row.sparseFwd = bench::measure([&] { sparseFwd(x, c); }, iters);
  row.denseBoth = bench::measure([&] { denseBoth(x, w, d); }, iters);
  row.sparseBoth = bench::measure([&] { sparseBoth(x, c, d); }, iters);
  return row;
}

/// The lowest density tried at which the CSR is no longer faster, as text.
std::string crossoverText(double crossover) {
  return crossover < 0 ? std::string("none (the CSR is faster at every density tried)")
                       : fmt::format("{:.0f} % of the kernels alive", 100 * crossover);
}

} // namespace

/// Optional argument: only the layers whose name contains it.
int main(int argc, char **argv) {
  try {
    std::mt19937 rng(3);
    const double densities[] = {0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0};
    std::string only = argc > 1 ? argv[1] : "";
    for (const Layer &l : kLayers) {
      if (std::string(l.name).find(only) == std::string::npos)
        continue;
      fmt::print("{} at batch {} (CPU µs, median of 7; dense = oneDNN)\n",
                 l.name, kBatch);
      fmt::print("{:>8} {:>10} {:>10} {:>7} {:>12} {:>12} {:>7}\n",
                 "kernels", "dense fwd", "CSR fwd", "ratio", "dense fwd+dx",
                 "CSR fwd+dx", "ratio");
      double forwardCrossover = -1, bothCrossover = -1;
      double forwardWallCrossover = -1, bothWallCrossover = -1;
      for (double density : densities) {
        Row r = measureLayer(l, density, rng);
        double fwd = r.denseFwd.cpuUs / r.sparseFwd.cpuUs;
        double both = r.denseBoth.cpuUs / r.sparseBoth.cpuUs;
        if (forwardWallCrossover < 0 && r.denseFwd.wallUs <= r.sparseFwd.wallUs)
          forwardWallCrossover = density;
        if (bothWallCrossover < 0 && r.denseBoth.wallUs <= r.sparseBoth.wallUs)
          bothWallCrossover = density;
        fmt::print("{:>7.0f}% {:>10.0f} {:>10.0f} {:>6.2f}× {:>12.0f} {:>12.0f} "
                   "{:>6.2f}×\n",
                   100 * density, r.denseFwd.cpuUs, r.sparseFwd.cpuUs, fwd,
                   r.denseBoth.cpuUs, r.sparseBoth.cpuUs, both);
        if (forwardCrossover < 0 && fwd <= 1.0)
          forwardCrossover = density;
        if (bothCrossover < 0 && both <= 1.0)
          bothCrossover = density;
      }
      // CPU time counts the OpenMP threads' spinning; the calibration
      // (`--sparse-exec auto`) compares wall times, so both are printed.
      fmt::print("crossover (fwd): {} (CPU time), {} (wall time)\n"
                 "crossover (fwd+dx): {} (CPU time), {} (wall time)\n\n",
                 crossoverText(forwardCrossover), crossoverText(forwardWallCrossover),
                 crossoverText(bothCrossover), crossoverText(bothWallCrossover));
    }
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sparse_conv_bench: %s\n", e.what());
    return 1;
  }
}
