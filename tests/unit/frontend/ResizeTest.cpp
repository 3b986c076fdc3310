//===- ResizeTest.cpp - resample, resize, upsample2d ----------------------===//
//
// The resizing of issue 18 (ONNX Resize's nearest and linear modes, every
// coordinate rule): the forward pass against a float64 reference written
// here from the ONNX specification as a direct 2-D formula (bilinear: four
// neighbours with the product weights; nearest: one pixel), not through the
// per-axis tables the library builds; gradients against central finite
// differences in float64 (f = Σ resize(x)·w, h = 1e-6, tolerance 1e-8 +
// 1e-6·|fd|, far below what a wrong transposed table gives). The f32 path
// is checked against the same reference.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace bregman;

namespace {

Tensor randomTensor(std::mt19937 &rng, const Shape &shape) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(numElements(shape));
  for (double &x : v)
    x = u(rng);
  return Tensor::fromVector(v, shape);
}

/// The ONNX specification's input coordinate of output position o (the
/// resized length is in·scale, as ONNX's reference implementation has it).
double specCoordinate(int64_t o, int64_t in, double scale, ResizeCoordinates c) {
  double resized = in * scale;
  switch (c) {
  case ResizeCoordinates::HalfPixel: return (o + 0.5) / scale - 0.5;
  case ResizeCoordinates::PytorchHalfPixel: return resized > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
  case ResizeCoordinates::AlignCorners:
    return resized == 1 ? 0.0 : o * (in - 1.0) / (resized - 1.0);
  case ResizeCoordinates::Asymmetric: return o / scale;
  case ResizeCoordinates::TfHalfPixelForNearest: return (o + 0.5) / scale;
  }
  return 0;
}

int64_t specNearest(double x, ResizeRounding r, int64_t in) {
  double f = std::floor(x);
  double i = r == ResizeRounding::Floor  ? f
             : r == ResizeRounding::Ceil ? std::ceil(x)
             : x - f == 0.5              ? (r == ResizeRounding::RoundPreferFloor ? f : f + 1)
                                         : std::round(x);
  return std::min<int64_t>(std::max<int64_t>(static_cast<int64_t>(i), 0), in - 1);
}

/// resize of x [N, C, H, W] to [N, C, OH, OW], pixel by pixel.
std::vector<double> reference(const std::vector<double> &x, const Shape &s, int64_t oh,
                              int64_t ow, double sh, double sw, const ResizeOptions &o) {
  int64_t planes = s[0] * s[1], h = s[2], w = s[3];
  auto at = [&](int64_t p, int64_t r, int64_t c) {
    r = std::min(std::max<int64_t>(r, 0), h - 1);
    c = std::min(std::max<int64_t>(c, 0), w - 1);
    return x[(p * h + r) * w + c];
  };
  std::vector<double> y;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double yr = specCoordinate(i, h, sh, o.coordinates);
        double yc = specCoordinate(j, w, sw, o.coordinates);
        if (o.mode == ResizeMode::Nearest) {
          y.push_back(at(p, specNearest(yr, o.rounding, h), specNearest(yc, o.rounding, w)));
          continue;
        }
        double r0 = std::floor(yr), c0 = std::floor(yc), fr = yr - r0, fc = yc - c0;
        auto r = static_cast<int64_t>(r0), c = static_cast<int64_t>(c0);
        y.push_back((1 - fr) * (1 - fc) * at(p, r, c) + (1 - fr) * fc * at(p, r, c + 1) +
                    fr * (1 - fc) * at(p, r + 1, c) + fr * fc * at(p, r + 1, c + 1));
      }
  return y;
}

struct Case {
  ResizeOptions options;
  int64_t oh, ow;
  double sh, sw;
};

std::vector<Case> cases() {
  using C = ResizeCoordinates;
  using R = ResizeRounding;
  ResizeOptions linear{ResizeMode::Linear, C::HalfPixel, R::RoundPreferFloor};
  std::vector<Case> out;
  for (C c : {C::HalfPixel, C::PytorchHalfPixel, C::AlignCorners, C::Asymmetric}) {
    linear.coordinates = c;
    out.push_back({linear, 9, 7, 9 / 5.0, 7 / 4.0});  // up, sizes given
    out.push_back({linear, 3, 2, 0.6, 0.5});          // down, scales given
  }
  for (C c : {C::HalfPixel, C::AlignCorners, C::Asymmetric, C::TfHalfPixelForNearest})
    for (R r : {R::RoundPreferFloor, R::RoundPreferCeil, R::Floor, R::Ceil}) {
      out.push_back({{ResizeMode::Nearest, c, r}, 10, 8, 2.0, 2.0});
      out.push_back({{ResizeMode::Nearest, c, r}, 3, 3, 0.6, 0.75});
    }
  return out;
}

const Shape kImage = {2, 3, 5, 4};

TEST(Resize, MatchesTheSpecificationInFloat64AndFloat32) {
  std::mt19937 rng(7);
  Tensor x = randomTensor(rng, kImage);
  std::vector<double> xv = x.toVector<double>();
  std::vector<float> xf(xv.begin(), xv.end());
  for (const Case &c : cases()) {
    SCOPED_TRACE(::testing::Message() << "mode " << int(c.options.mode) << " coordinates "
                                      << int(c.options.coordinates) << " rounding "
                                      << int(c.options.rounding) << " to " << c.oh << "x"
                                      << c.ow);
    auto run = jit([&c](const Tensor &t) {
      return resize(t, {2, 3, c.oh, c.ow}, {1.0, 1.0, c.sh, c.sw}, c.options);
    });
    std::vector<double> want = reference(xv, kImage, c.oh, c.ow, c.sh, c.sw, c.options);
    std::vector<double> got = run(x).toVector<double>();
    std::vector<float> got32 = run(Tensor::fromVector(xf, kImage)).toVector<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-12) << i;
      EXPECT_NEAR(got32[i], want[i], 1e-6) << i;
    }
  }
}

TEST(Resize, UpsampleLayerIsPyTorchsNearestAndBilinear) {
  std::mt19937 rng(3);
  Tensor x = randomTensor(rng, kImage);
  std::vector<double> xv = x.toVector<double>();
  using C = ResizeCoordinates;
  struct Mode {
    ResizeMode mode;
    bool alignCorners;
    ResizeOptions spec;
  };
  for (const Mode &m :
       {Mode{ResizeMode::Nearest, false, {ResizeMode::Nearest, C::Asymmetric, ResizeRounding::Floor}},
        Mode{ResizeMode::Linear, false, {ResizeMode::Linear, C::HalfPixel, ResizeRounding::Floor}},
        Mode{ResizeMode::Linear, true, {ResizeMode::Linear, C::AlignCorners, ResizeRounding::Floor}}}) {
    nn::Upsample layer(3, m.mode, m.alignCorners);
    auto run = jit([&layer](const Tensor &t) { return layer(t); });
    std::vector<double> got = run(x).toVector<double>();
    std::vector<double> want = reference(xv, kImage, 15, 12, 3.0, 3.0, m.spec);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-12) << i;
  }
}

TEST(Resize, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(11);
  const double h = 1e-6;
  for (const Case &c : cases()) {
    if (c.options.mode == ResizeMode::Nearest && c.options.rounding != ResizeRounding::Floor)
      continue; // the nearest tables differ only in which pixel: one rounding suffices
    SCOPED_TRACE(::testing::Message() << "mode " << int(c.options.mode) << " coordinates "
                                      << int(c.options.coordinates) << " to " << c.oh << "x"
                                      << c.ow);
    Shape small = {1, 2, 5, 4}, out = {1, 2, c.oh, c.ow};
    Tensor w = randomTensor(rng, out);
    auto f = [&c, out](const Tensor &x, const Tensor &weights) {
      return sum(resize(x, out, {1.0, 1.0, c.sh, c.sw}, c.options) * weights);
    };
    auto forward = jit(f);
    auto gradient = jit([f](const Tensor &x, const Tensor &weights) {
      return grad([&](const Tensor &y) { return f(y, weights); })(x);
    });
    Tensor x = randomTensor(rng, small);
    std::vector<double> analytic = gradient(x, w).toVector<double>();
    std::vector<double> base = x.toVector<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      std::vector<double> plus = base, minus = base;
      plus[i] += h;
      minus[i] -= h;
      double fd = (forward(Tensor::fromVector(plus, small), w).item() -
                   forward(Tensor::fromVector(minus, small), w).item()) /
                  (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << "d f / d x[" << i << "]";
    }
  }
}

TEST(Resize, BadTablesAndSizesAreRefusedByName) {
  auto message = [](const std::function<void()> &f) {
    try {
      f();
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ResampleTable outside;
  outside.index = {0, 5};
  outside.weight = {1.0, 1.0};
  auto bad = jit([&outside](const Tensor &t) { return resample(t, 2, outside); });
  Tensor x = Tensor::fromVector(std::vector<float>(40, 1.0f), {1, 2, 5, 4});
  EXPECT_NE(message([&] { bad(x); }).find("index 5 is outside [0, 5)"), std::string::npos);
  EXPECT_NE(message([] { resizeTable(4, 0, 1.0, {}); }).find("4 elements to 0"),
            std::string::npos);
  EXPECT_NE(message([] { resizeTable(4, 8, -2.0, {}); }).find("scale -2"), std::string::npos);
  auto wrongRank = jit([](const Tensor &t) { return resize(t, {1, 2}, {1.0, 1.0}, {}); });
  EXPECT_NE(message([&] { wrongRank(x); }).find("2 sizes and 2 scales for [1, 2, 5, 4]"),
            std::string::npos);
}

} // namespace
