//===- SsimTest.cpp - The compiled SSIM against scikit-image goldens ------===//
//
// bregman::ssim (metrics.h) compiled and run on the inputs of
// tests/unit/frontend/golden/ssim.json, whose expected values scikit-image
// computed in float64 (scripts/golden/make-ssim-goldens.sh). The tolerance
// (2e-5 absolute, float32 arithmetic) is far below what a wrong formula
// changes: the test also checks that a wrong window (σ = 1, or 7 taps) or a
// wrong constant (K2 = 0.01) lands at least 5 times as far off on every
// case (the K2 change, the smallest, moves the noisy MNIST-sized case by
// 3e-4), so the comparison cannot pass with either.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#ifndef BREGMAN_GOLDEN_DIR
#error "BREGMAN_GOLDEN_DIR must name the folder of ssim.json"
#endif

using namespace bregman;
using json = nlohmann::json;

namespace {

constexpr double kTolerance = 2e-5;

json loadGoldens() {
  std::string path = std::string(BREGMAN_GOLDEN_DIR) + "/ssim.json";
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

struct Case {
  std::string name;
  Tensor x, y;
  double dataRange;
  std::vector<double> expected;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  const json doc = loadGoldens(); // kept alive for the loop
  for (const json &c : doc.at("cases")) {
    Shape shape = c.at("shape").get<Shape>();
    out.push_back({c.at("name"),
                   Tensor::fromVector(c.at("x").get<std::vector<float>>(), shape),
                   Tensor::fromVector(c.at("y").get<std::vector<float>>(), shape),
                   c.at("data_range"), c.at("ssim").get<std::vector<double>>()});
  }
  return out;
}

std::vector<float> compiledSsim(const Case &c, SsimOptions options) {
  options.dataRange = c.dataRange;
  auto fn = jit([options](const Tensor &x, const Tensor &y) {
    return ssim(x, y, options);
  });
  return fn(c.x, c.y).toVector<float>();
}

/// The largest |compiled − golden| over the case's images.
double worstError(const Case &c, const SsimOptions &options) {
  std::vector<float> got = compiledSsim(c, options);
  EXPECT_EQ(got.size(), c.expected.size()) << c.name;
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < c.expected.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - c.expected[i]));
  return worst;
}

TEST(Ssim, MatchesScikitImage) {
  std::vector<Case> all = cases();
  ASSERT_EQ(all.size(), 3u);
  for (const Case &c : all)
    EXPECT_LE(worstError(c, SsimOptions{}), kTolerance) << c.name;
}

TEST(Ssim, WrongWindowOrConstantsWouldFail) {
  SsimOptions narrow, short7, k2;
  narrow.sigma = 1.0;
  short7.window = 7;
  k2.k2 = 0.01;
  for (const Case &c : cases())
    for (const SsimOptions &wrong : {narrow, short7, k2})
      EXPECT_GT(worstError(c, wrong), 5 * kTolerance)
          << c.name << ": window " << wrong.window << ", sigma "
          << wrong.sigma << ", K2 " << wrong.k2;
}

TEST(Ssim, IdenticalImagesScoreOne) {
  Case c = cases().front();
  c.y = c.x;
  for (float v : compiledSsim(c, SsimOptions{}))
    EXPECT_NEAR(v, 1.0, 1e-5);
}

TEST(Ssim, RefusesMismatchedShapesAndSmallImages) {
  auto call = [](Shape a, Shape b) {
    auto fn = jit([](const Tensor &x, const Tensor &y) { return ssim(x, y); });
    fn(Tensor::zeros(a), Tensor::zeros(b));
  };
  try {
    call({2, 1, 28, 28}, {2, 1, 28, 27});
    FAIL() << "mismatched shapes accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("[2, 1, 28, 27]"), std::string::npos)
        << e.what();
  }
  try {
    call({1, 1, 10, 28}, {1, 1, 10, 28});
    FAIL() << "images smaller than the window accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("smaller than the 11x11 window"),
              std::string::npos)
        << e.what();
  }
}

} // namespace
