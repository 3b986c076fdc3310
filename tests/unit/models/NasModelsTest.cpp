//===- NasModelsTest.cpp - The DenseNet and the skip-encoder --------------===//
//
// The skip-encoder's forward pass against a float64 reference written from
// NAS.md §2 on a small instance (every skip non-zero); the DenseNet's shapes
// and its connection matrix on kernels switched off by hand; the PNG of the
// matrix (its signature and size).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/models/DenseNet.h"
#include "bregman/models/SkipEncoder.h"
#include "bregman/models/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

using namespace bregman;
using namespace bregman::models;

namespace {

/// s₀ = (x − mean)/std; s_{i+1} = ReLU(W_i s_i + b_i) + Σ_{j≤i} σ_ij s_j.
std::vector<double> skipEncoderReference(const Params &p, int64_t features,
                                         int64_t blocks,
                                         const std::vector<float> &x,
                                         double mean, double std) {
  std::vector<std::vector<double>> states(1);
  for (float v : x)
    states[0].push_back((v - mean) / std);
  for (int64_t i = 0; i < blocks; ++i) {
    std::string name = "block" + std::to_string(i);
    std::vector<float> w = p.at(name + ".weight").toVector<float>();
    std::vector<float> b = p.at(name + ".bias").toVector<float>();
    std::vector<float> skip = p.at(name + ".skip").toVector<float>();
    std::vector<double> next(features);
    for (int64_t r = 0; r < features; ++r) {
      double z = b[r];
      for (int64_t c = 0; c < features; ++c)
        z += double(w[r * features + c]) * states.back()[c];
      next[r] = std::max(z, 0.0);
      for (size_t j = 0; j < states.size(); ++j)
        next[r] += double(skip[j]) * states[j][r];
    }
    states.push_back(next);
  }
  return states.back();
}

TEST(SkipEncoder, ForwardMatchesFloat64Reference) {
  const int64_t features = 6, blocks = 3;
  SkipEncoder net(features, blocks, 0.25, 0.5);
  nn::SparseInit dense{1.0, 1.0, 1.0, false, false};
  Params p = net.init(7, dense);
  // Skips start at 0; give each a distinct non-zero value.
  for (int64_t i = 0; i < blocks; ++i) {
    std::vector<float> s;
    for (int64_t j = 0; j <= i; ++j)
      s.push_back(0.1f * float(i + 1) - 0.07f * float(j));
    p.set("block" + std::to_string(i) + ".skip",
          Tensor::fromVector(s, {i + 1}));
  }
  std::vector<float> x = {0.0f, 0.3f, 1.0f, 0.5f, 0.9f, 0.1f};
  auto fn = jit([&net](const Params &q, const Tensor &in) {
    return net(q, in);
  });
  std::vector<float> got =
      fn(p, Tensor::fromVector(x, {1, features})).toVector<float>();
  std::vector<double> want =
      skipEncoderReference(p, features, blocks, x, 0.25, 0.5);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << i;
  EXPECT_EQ(net.activeNeurons(p), (std::vector<int64_t>{6, 6, 6}));
  EXPECT_NE(formatSkips(net.skips(p)).find("s0->s3 0.300"), std::string::npos)
      << formatSkips(net.skips(p));
}

TEST(SkipEncoder, RowSparseInitAndSkipsAtZero) {
  SkipEncoder net; // 6 × 784
  nn::SparseInit rows{0.01, 5.0, 1.0, /*perRow=*/true, false};
  Params p = net.init(0, rows);
  for (int64_t n : net.activeNeurons(p))
    EXPECT_EQ(n, 8); // ⌈784 · 0.01⌉
  EXPECT_EQ(formatSkips(net.skips(p)), "none");
}

TEST(DenseNet, ShapesAndConnectionMatrix) {
  DenseNet net; // 1×28×28, growth 12, 5 layers
  nn::SparseInit kernels{1.0, 1.0, 1.0, false, true};
  Params p = net.init(1, kernels);
  EXPECT_EQ(p.at("dense5.weight").shape(), (Shape{12, 60, 3, 3}));
  EXPECT_EQ(p.at("transition.weight").shape(), (Shape{1, 72, 3, 3}));
  EXPECT_EQ(p.at("fc.weight").shape(), (Shape{10, 784}));
  EXPECT_FALSE(p.contains("stem.bias"));
  auto fn = jit([&net](const Params &q, const Tensor &in) {
    return net(q, in);
  });
  EXPECT_EQ(fn(p, Tensor::zeros({2, 784})).shape(), (Shape{2, 10}));

  // Switch off the connection dense1 -> dense3 (channels 12..23 of its
  // input) and half of the stem -> transition kernels.
  std::vector<float> w3 = p.at("dense3.weight").toVector<float>();
  for (int64_t o = 0; o < 12; ++o)
    for (int64_t i = 12; i < 24; ++i)
      for (int64_t e = 0; e < 9; ++e)
        w3[(o * 36 + i) * 9 + e] = 0.0f;
  p.set("dense3.weight", Tensor::fromVector(w3, {12, 36, 3, 3}));
  std::vector<float> wt = p.at("transition.weight").toVector<float>();
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t e = 0; e < 9; ++e)
      wt[i * 9 + e] = 0.0f;
  p.set("transition.weight", Tensor::fromVector(wt, {1, 72, 3, 3}));

  ConnectionMatrix m = net.connections(p);
  ASSERT_EQ(m.layers.size(), 7u); // stem, dense1..5, transition
  ASSERT_EQ(m.sources.size(), 7u); // input, stem, dense1..5
  EXPECT_EQ(m.live[3][2], 0.0);   // dense3 <- dense1
  EXPECT_EQ(m.live[3][1], 1.0);   // dense3 <- stem
  EXPECT_TRUE(std::isnan(m.live[3][4])); // dense3 does not read dense3
  EXPECT_DOUBLE_EQ(m.live[6][1], 0.5);   // transition <- stem
  EXPECT_EQ(m.switchedOff(), 1);
  EXPECT_EQ(m.connections(), 1 + 1 + 2 + 3 + 4 + 5 + 6);
  std::string table = formatConnections(m);
  EXPECT_NE(table.find("1 of 22 dense connections switched off"),
            std::string::npos)
      << table;

  auto png = std::filesystem::temp_directory_path() /
             ("bregman-unit-connections-" + std::to_string(::getpid()) +
              ".png");
  writeConnectionPng(m, png.string());
  std::ifstream in(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(png);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  // IHDR: width and height (7 cells of 24 px plus 8 grid lines = 176).
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) |
           (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint8_t(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 176u);
  EXPECT_EQ(be32(20), 176u);
}

TEST(Zoo, NasModelsByName) {
  EXPECT_EQ(zooEntry("skip-encoder").kind, ModelKind::Restoration);
  EXPECT_EQ(zooEntry("densenet").kind, ModelKind::Classifier);
  auto net = makeModel("densenet", InputShape{}, ModelOptions{});
  EXPECT_NE(net->describe().find("densenet"), std::string::npos);
}

} // namespace
