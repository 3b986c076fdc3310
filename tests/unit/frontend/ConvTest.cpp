//===- ConvTest.cpp - f32 convolutions and pooling against float64 loops --===//
//
// The f32 path of a convolution is a library call (oneDNN); its
// forward result and both gradients (through `grad`, so the VJP wiring is
// covered too) are compared with direct float64 loops written from the
// definition. The tolerance, 1e-5 relative to the sum of |terms| of each
// output, is what f32 accumulation allows and far below a wrong index.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

using namespace bregman;
using namespace bregman::testing;

namespace {

struct Geometry {
  const char *label;
  Shape x, w;
  Conv2dOptions o;
  int64_t oh() const {
    return (x[2] + o.padding[0] + o.padding[2] - o.dilation[0] * (w[2] - 1) - 1) /
               o.stride[0] + 1;
  }
  int64_t ow() const {
    return (x[3] + o.padding[1] + o.padding[3] - o.dilation[1] * (w[3] - 1) - 1) /
               o.stride[1] + 1;
  }
};

/// y, dx, dw of f = Σ conv(x, w)·r in float64, and for each of them the sum
/// of |terms| (the scale of the rounding error).
struct Reference {
  std::vector<double> y, dx, dw, yScale, dxScale, dwScale;
};

Reference reference(const Geometry &g, const std::vector<float> &x,
                    const std::vector<float> &w, const std::vector<float> &r) {
  const int64_t n = g.x[0], c = g.x[1], h = g.x[2], wd = g.x[3];
  const int64_t f = g.w[0], cg = g.w[1], kh = g.w[2], kw = g.w[3];
  const int64_t oh = g.oh(), ow = g.ow(), groups = g.o.groups, fg = f / groups;
  Reference ref;
  ref.y.assign(n * f * oh * ow, 0);
  ref.yScale = ref.y;
  ref.dx.assign(x.size(), 0);
  ref.dxScale = ref.dx;
  ref.dw.assign(w.size(), 0);
  ref.dwScale = ref.dw;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < f; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t yi = ((b * f + o) * oh + i) * ow + j;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                int64_t row = i * g.o.stride[0] - g.o.padding[0] + p * g.o.dilation[0];
                int64_t col = j * g.o.stride[1] - g.o.padding[1] + q * g.o.dilation[1];
                if (row < 0 || row >= h || col < 0 || col >= wd)
                  continue;
                int64_t channel = (o / fg) * cg + ci;
                int64_t xi = ((b * c + channel) * h + row) * wd + col;
                int64_t wi = ((o * cg + ci) * kh + p) * kw + q;
                ref.y[yi] += double(x[xi]) * w[wi];
                ref.yScale[yi] += std::abs(double(x[xi]) * w[wi]);
                ref.dx[xi] += double(r[yi]) * w[wi];
                ref.dxScale[xi] += std::abs(double(r[yi]) * w[wi]);
                ref.dw[wi] += double(r[yi]) * x[xi];
                ref.dwScale[wi] += std::abs(double(r[yi]) * x[xi]);
              }
        }
  return ref;
}

std::vector<double> tolerance(const std::vector<double> &scale) {
  std::vector<double> tol(scale.size());
  for (size_t i = 0; i < scale.size(); ++i)
    tol[i] = 1e-5 * scale[i] + 1e-6;
  return tol;
}

const Geometry kGeometries[] = {
    {"ConvNetFirstLayer", {8, 1, 28, 28}, {64, 1, 5, 5}, {}},
    {"ConvNetSecondLayer", {4, 64, 12, 12}, {64, 64, 5, 5}, {}},
    {"ResNetStem", {2, 3, 32, 32}, {16, 3, 3, 3}, {{1, 1}, {1, 1, 1, 1}}},
    {"ResNetDownsample", {2, 8, 16, 16}, {16, 8, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    {"Shortcut1x1Stride2", {2, 8, 16, 16}, {16, 8, 1, 1}, {{2, 2}}},
    {"AsymmetricEverything", {3, 4, 11, 9}, {6, 2, 3, 2},
     {{2, 3}, {2, 0, 1, 1}, {2, 1}, 2}},
    {"Depthwise", {2, 6, 10, 10}, {6, 1, 3, 3}, {{1, 1}, {1, 1, 1, 1}, {1, 1}, 6}},
    // ResNet-18's last stages at 32×32: 4×4 → 2×2 and 2×2 → 1×1 maps.
    {"Stride2To2x2", {8, 32, 4, 4}, {64, 32, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    {"Stride2To1x1", {8, 64, 2, 2}, {128, 64, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    {"Shortcut1x1Stride2To1x1", {8, 64, 2, 2}, {128, 64, 1, 1}, {{2, 2}}},
    {"Pad1On1x1", {8, 64, 1, 1}, {64, 64, 3, 3}, {{1, 1}, {1, 1, 1, 1}}},
    {"ResNet18Layer4Conv1", {128, 256, 2, 2}, {512, 256, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    {"ResNet18Layer4Downsample", {128, 256, 2, 2}, {512, 256, 1, 1}, {{2, 2}}},
    {"ResNet18Layer3Conv2", {128, 256, 2, 2}, {256, 256, 3, 3}, {{1, 1}, {1, 1, 1, 1}}},
    {"ResNet18Layer3Conv1", {128, 128, 4, 4}, {256, 128, 3, 3}, {{2, 2}, {1, 1, 1, 1}}},
    // A larger batch and image (blocked layouts with remainders).
    {"ManyChunks", {40, 16, 30, 30}, {8, 16, 3, 3}, {{1, 1}, {1, 1, 1, 1}}},
};

class ConvF32 : public ::testing::TestWithParam<Geometry> {};

TEST_P(ConvF32, ForwardAndGradientsMatchFloat64Loops) {
  const Geometry &g = GetParam();
  std::mt19937 rng(std::hash<std::string>{}(g.label) % 997);
  std::vector<float> x = randomFloats(rng, numElements(g.x));
  std::vector<float> w = randomFloats(rng, numElements(g.w));
  Shape yShape = {g.x[0], g.w[0], g.oh(), g.ow()};
  std::vector<float> r = randomFloats(rng, numElements(yShape));
  Conv2dOptions options = g.o;
  auto step = jit([options](const Tensor &xt, const Tensor &wt, const Tensor &rt) {
    Tensor y = conv2d(xt, wt, options);
    auto [value, grads] = valueAndGrad([&](const Params &p) {
      return sum(conv2d(p.at("x"), p.at("w"), options) * rt);
    })(Params{{"x", xt}, {"w", wt}});
    return std::make_tuple(y, grads.at("x"), grads.at("w"));
  });
  auto [y, dx, dw] = step(f32(x, g.x), f32(w, g.w), f32(r, yShape));
  Reference ref = reference(g, x, w, r);
  ASSERT_EQ(y.shape(), yShape);
  EXPECT_TRUE(within(y.toVector<float>(), ref.y, tolerance(ref.yScale))) << "y";
  EXPECT_TRUE(within(dx.toVector<float>(), ref.dx, tolerance(ref.dxScale))) << "dx";
  EXPECT_TRUE(within(dw.toVector<float>(), ref.dw, tolerance(ref.dwScale))) << "dw";
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvF32, ::testing::ValuesIn(kGeometries),
                         [](const auto &info) { return info.param.label; });

TEST(Pool, MaxAndAverageForwardF32) {
  std::mt19937 rng(5);
  Shape shape = {2, 3, 7, 6};
  std::vector<float> x = randomFloats(rng, numElements(shape));
  Pool2dOptions options{{3, 2}, {2, 2}, {1, 0, 1, 1}};
  auto pools = jit([options](const Tensor &t) {
    return std::make_tuple(maxPool2d(t, options), avgPool2d(t, options));
  });
  auto [mx, av] = pools(f32(x, shape));
  // OH = (7 + 2 − 3)/2 + 1 = 4, OW = (6 + 1 − 2)/2 + 1 = 3.
  ASSERT_EQ(mx.shape(), (Shape{2, 3, 4, 3}));
  std::vector<double> refMax, refAvg;
  for (int64_t b = 0; b < 6; ++b)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        double best = -INFINITY, total = 0;
        for (int64_t p = 0; p < 3; ++p)
          for (int64_t q = 0; q < 2; ++q) {
            int64_t row = 2 * i - 1 + p, col = 2 * j + q;
            if (row < 0 || row >= 7 || col < 0 || col >= 6)
              continue; // padding: −∞ for max, 0 for the sum
            best = std::max(best, double(x[(b * 7 + row) * 6 + col]));
            total += x[(b * 7 + row) * 6 + col];
          }
        refMax.push_back(best);
        refAvg.push_back(total / 6.0);
      }
  EXPECT_TRUE(closeTo(mx.toVector<float>(), refMax, 1.0, 0.0));
  EXPECT_TRUE(closeTo(av.toVector<float>(), refAvg, 1.0, 1e-6));
}

/// On flat regions (image backgrounds) every element of a window ties; the
/// gradient goes to the first one of each window, not to each of them.
void checkTiesGoToFirstElement(const Pool2dOptions &options, const Shape &shape) {
  auto gradOfPool = jit([options](const Tensor &x) {
    return grad([&](const Tensor &t) { return sum(maxPool2d(t, options)); })(x);
  });
  std::vector<float> flat(numElements(shape), 0.5f);
  Tensor g = gradOfPool(f32(flat, shape));
  std::vector<float> got = g.toVector<float>();
  // Expected: count, per element, the windows whose first in-range element
  // it is (padding is −∞ and never the maximum).
  std::vector<float> expected(got.size(), 0.0f);
  int64_t stride0 = options.stride[0] ? options.stride[0] : options.kernel[0];
  int64_t stride1 = options.stride[1] ? options.stride[1] : options.kernel[1];
  int64_t h = shape[2], w = shape[3];
  int64_t oh = (h + options.padding[0] + options.padding[2] -
                options.dilation[0] * (options.kernel[0] - 1) - 1) / stride0 + 1;
  int64_t ow = (w + options.padding[1] + options.padding[3] -
                options.dilation[1] * (options.kernel[1] - 1) - 1) / stride1 + 1;
  for (int64_t b = 0; b < shape[0] * shape[1]; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        bool found = false;
        for (int64_t p = 0; p < options.kernel[0] && !found; ++p)
          for (int64_t q = 0; q < options.kernel[1] && !found; ++q) {
            int64_t row = i * stride0 - options.padding[0] + p * options.dilation[0];
            int64_t col = j * stride1 - options.padding[1] + q * options.dilation[1];
            if (row >= 0 && row < h && col >= 0 && col < w) {
              expected[(b * h + row) * w + col] += 1.0f;
              found = true;
            }
          }
      }
  EXPECT_EQ(got, expected);
  double total = 0;
  for (float v : got)
    total += v;
  EXPECT_EQ(total, double(shape[0] * shape[1] * oh * ow)) << "one unit per window";
}

TEST(Pool, MaxGradientOnTiesGoesToOneElementTiled) {
  checkTiesGoToFirstElement({}, {2, 3, 8, 6});
}

TEST(Pool, MaxGradientOnTiesGoesToOneElementOverlappingPadded) {
  checkTiesGoToFirstElement({{3, 3}, {2, 2}, {1, 1, 1, 1}}, {1, 2, 9, 7});
}

TEST(Pool, MaxGradientPicksTheMaximum) {
  // One window [[1, 3], [3, 2]]: the first 3 (row-major) gets the gradient.
  auto gradOfPool = jit([](const Tensor &x) {
    return grad([&](const Tensor &t) { return sum(maxPool2d(t)); })(x);
  });
  Tensor g = gradOfPool(f32({1, 3, 3, 2}, {1, 1, 2, 2}));
  EXPECT_EQ(g.toVector<float>(), (std::vector<float>{0, 1, 0, 0}));
}

/// maxPool2d(relu(x)) with windows that tile x (stride = kernel), and the
/// gradient of sum(pool · r), against float64 computed here: the ConvNet's
/// pooling, whose generics breg-vectorize-windows turns into vector lanes.
/// The shapes cover a row of outputs per vector (OW 12), a short row taken
/// with the rows below it (OW 4 and 5), 3-wide windows, and a gradient large
/// enough to run on threads where the OpenMP runtime is there.
void checkTiledMaxPoolOfRelu(const Shape &shape, int64_t k) {
  SCOPED_TRACE(::testing::Message() << "input " << shapeString(shape) << ", "
                                    << k << "×" << k << " windows");
  std::mt19937 rng(static_cast<unsigned>(shape[2] * 31 + shape[3] + k));
  Pool2dOptions options{{k, k}};
  const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
  const int64_t oh = h / k, ow = w / k;
  Shape pooled = {shape[0], shape[1], oh, ow};
  std::vector<float> x = randomFloats(rng, numElements(shape));
  std::vector<float> r = randomFloats(rng, numElements(pooled));
  auto step = jit([options](const Tensor &xt, const Tensor &rt) {
    Tensor y = maxPool2d(relu(xt), options);
    Tensor dx = grad([&](const Tensor &t) {
      return sum(maxPool2d(relu(t), options) * rt);
    })(xt);
    return std::make_tuple(y, dx);
  });
  auto [y, dx] = step(f32(x, shape), f32(r, pooled));
  std::vector<double> refY(numElements(pooled)), refDx(x.size(), 0.0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        int64_t first = -1;
        double best = -INFINITY;
        for (int64_t a = 0; a < k; ++a)
          for (int64_t c = 0; c < k; ++c) {
            int64_t at = (p * h + i * k + a) * w + j * k + c;
            double v = std::max(0.0, double(x[at]));
            if (v > best) { // strictly: the first maximum wins
              best = v;
              first = at;
            }
          }
        int64_t out = (p * oh + i) * ow + j;
        refY[out] = best;
        if (best > 0)
          refDx[first] = r[out];
      }
  EXPECT_TRUE(closeTo(y.toVector<float>(), refY, 1.0, 0.0)) << "pool";
  EXPECT_TRUE(closeTo(dx.toVector<float>(), refDx, 1.0, 0.0)) << "gradient";
}

TEST(Pool, TiledMaxPoolOfReluAndItsGradientMatchFloat64) {
  checkTiledMaxPoolOfRelu({2, 3, 24, 24}, 2);
  checkTiledMaxPoolOfRelu({2, 3, 8, 8}, 2);
  checkTiledMaxPoolOfRelu({1, 2, 6, 10}, 2);
  checkTiledMaxPoolOfRelu({2, 2, 9, 9}, 3);
  checkTiledMaxPoolOfRelu({8, 16, 48, 48}, 2);
}

// Sums over each [H, W] plane of [N, C, H, W], over N, H and W per channel
// (a convolution's bias gradient sums dy so) and over everything
// (breg-vectorize-row-sums turns each into vector accumulations) against
// float64, for planes of 24×24 (36 vectors a
// row), 8×8 (4) and 5×5 (no divisor of 4: left as loops), and a batch large
// enough to sum its rows on threads.
TEST(Reduce, PlaneSumsMatchFloat64) {
  for (auto [n, hw] : {std::pair<int64_t, int64_t>{4, 24}, {4, 8}, {3, 5},
                       {128, 24}}) {
    SCOPED_TRACE(::testing::Message() << "batch " << n << ", planes " << hw);
    std::mt19937 rng(static_cast<unsigned>(n * 100 + hw));
    Shape shape = {n, 6, hw, hw};
    std::vector<float> x = randomFloats(rng, numElements(shape));
    auto sums = jit([](const Tensor &t) {
      return std::make_tuple(sum(t, {2, 3}), sumTo(t, {1, 6, 1, 1}), sum(t));
    });
    auto [planes, channels, total] = sums(f32(x, shape));
    ASSERT_EQ(planes.shape(), (Shape{n, 6}));
    std::vector<double> expected(n * 6, 0.0), perChannel(6, 0.0);
    for (int64_t row = 0; row < n * 6; ++row)
      for (int64_t k = 0; k < hw * hw; ++k) {
        expected[row] += x[row * hw * hw + k];
        perChannel[row % 6] += x[row * hw * hw + k];
      }
    // Float sums of up to 576 (per channel 73,728) terms in [-1, 1] in
    // another order.
    EXPECT_TRUE(closeTo(planes.toVector<float>(), expected, double(hw * hw), 1e-6));
    EXPECT_TRUE(closeTo(channels.toVector<float>(), perChannel,
                        double(n * hw * hw), 1e-6));
    double all = 0;
    for (double c : perChannel)
      all += c;
    EXPECT_TRUE(closeTo(total.toVector<float>(), {all},
                        double(n * 6 * hw * hw), 1e-6));
  }
}

TEST(Conv, ShapeErrorsNameTheProblem) {
  auto run = [](Shape xs, Shape ws, Conv2dOptions o) {
    return [=] {
      auto f = jit([o](const Tensor &x, const Tensor &w) { return conv2d(x, w, o); });
      f(Tensor::zeros(xs), Tensor::zeros(ws));
    };
  };
  expectError(run({2, 3, 8}, {4, 3, 3, 3}, {}), {"conv2d", "input", "4-D", "[2, 3, 8]"});
  expectError(run({2, 3, 8, 8}, {4, 2, 3, 3}, {}),
              {"conv2d", "[4, 2, 3, 3]", "2 channels per filter", "needs 3"});
  expectError(run({2, 4, 8, 8}, {6, 2, 3, 3}, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 3}),
              {"groups = 3", "must divide"});
  expectError(run({2, 3, 4, 4}, {4, 3, 5, 5}, {}), {"does not fit", "[2, 3, 4, 4]"});
  expectError(run({2, 3, 8, 8}, {4, 3, 3, 3}, {{0, 1}}), {"positive"});
  auto pool = [] {
    auto f = jit([](const Tensor &x) { return maxPool2d(x, {{3, 3}}); });
    f(Tensor::zeros({1, 1, 2, 2}));
  };
  expectError(pool, {"max_pool2d", "does not fit", "[1, 1, 2, 2]"});
}

// Windows past 2^30 overflowed 64-bit extent arithmetic (a dilation of 2^62
// times a kernel's span) before any size check could refuse them.
TEST(Conv, HugeWindowsAreRefusedBeforeTheirArithmetic) {
  auto conv = [](Conv2dOptions o) {
    return [=] {
      auto f = jit(
          [o](const Tensor &x, const Tensor &w) { return conv2d(x, w, o); });
      f(Tensor::zeros({1, 2, 4, 4}), Tensor::zeros({2, 2, 3, 3}));
    };
  };
  const int64_t huge = int64_t(1) << 62;
  expectError(conv({{1, 1}, {0, 0, 0, 0}, {huge, 1}}),
              {"conv2d", "at most 2^30", "dilations [4611686018427387904, 1]"});
  expectError(conv({{1, huge}}),
              {"conv2d", "at most 2^30", "strides [1, 4611686018427387904]"});
  // Padding may pass 2^30 (SAME's, derived from a long dilated kernel),
  // not 2^61.
  expectError(conv({{1, 1}, {0, huge, 0, huge}}),
              {"conv2d", "padding must be at most 2^61"});
  auto transposed = [](Conv2dOptions o, Shape xs) {
    return [=] {
      auto f = jit([o](const Tensor &x, const Tensor &w) {
        return convTranspose2d(x, w, o, {0, 0});
      });
      f(Tensor::zeros(xs), Tensor::zeros({2, 2, 3, 3}));
    };
  };
  expectError(transposed({{huge, 1}}, {1, 2, 4, 4}),
              {"conv_transpose2d", "at most 2^30"});
  expectError(transposed({{1, 1}, {huge, 0, huge, 0}}, {1, 2, 4, 4}),
              {"conv_transpose2d", "padding must be at most 2^61"});
  // Negative values reached the output's arithmetic before the checks.
  expectError(transposed({{INT64_MIN, 1}}, {1, 2, 4, 4}),
              {"conv_transpose2d", "positive"});
  expectError(transposed({{1, 1}, {INT64_MIN, 0, 0, 0}}, {1, 2, 4, 4}),
              {"conv_transpose2d", "non-negative"});
  // Within bounds, but 2^30 · 2047 columns is more than 2^40.
  expectError(transposed({{1, int64_t(1) << 30}}, {1, 2, 1, 2048}),
              {"conv_transpose2d", "more than 2^40 rows or columns",
               "[1, 2, 1, 2048]"});
  auto pool = [huge] {
    auto f = jit([huge](const Tensor &x) {
      return maxPool2d(x, {{2, 2}, {huge, 1}});
    });
    f(Tensor::zeros({1, 1, 4, 4}));
  };
  expectError(pool, {"max_pool2d", "at most 2^30"});
}

} // namespace

namespace {

TEST(BatchNorm, TrainingOutputAndRunningStatisticsMatchFloat64) {
  std::mt19937 rng(17);
  const int64_t n = 6, c = 3, hw = 5 * 4;
  Shape shape = {n, c, 5, 4};
  std::vector<float> x = randomFloats(rng, numElements(shape), -2.0f, 3.0f);
  std::vector<float> scale = randomFloats(rng, c, 0.5f, 1.5f);
  std::vector<float> shift = randomFloats(rng, c);
  nn::BatchNorm2d bn(c, "bn", /*momentum=*/0.1, /*eps=*/1e-5);
  Params buffers;
  bn.initBuffers(buffers);
  auto f = jit([&bn](const Params &p, const Params &b, const Tensor &xt) {
    Params updated;
    Tensor y = bn(p, xt, nn::Mode{true, &b, &updated, {}});
    return std::make_tuple(y, updated);
  });
  auto [y, updated] = f(Params{{"bn.scale", f32(scale, {c})}, {"bn.shift", f32(shift, {c})}},
                        buffers, f32(x, shape));
  std::vector<double> refY(x.size()), refMean(c), refVar(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < hw; ++i)
        mean += x[(b * c + ch) * hw + i];
    mean /= n * hw;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < hw; ++i)
        var += std::pow(x[(b * c + ch) * hw + i] - mean, 2);
    var /= n * hw; // biased for normalizing, unbiased for the running value
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < hw; ++i) {
        int64_t k = (b * c + ch) * hw + i;
        refY[k] = (x[k] - mean) / std::sqrt(var + 1e-5) * scale[ch] + shift[ch];
      }
    refMean[ch] = 0.9 * 0.0 + 0.1 * mean;
    refVar[ch] = 0.9 * 1.0 + 0.1 * var * (n * hw) / (n * hw - 1.0);
  }
  EXPECT_TRUE(closeTo(y.toVector<float>(), refY, 1.0, 1e-5));
  EXPECT_TRUE(closeTo(updated.at("bn.running_mean").toVector<float>(), refMean, 1.0, 1e-5));
  EXPECT_TRUE(closeTo(updated.at("bn.running_var").toVector<float>(), refVar, 1.0, 1e-5));
}

TEST(BatchNorm, EvaluationWithoutRunningStatisticsIsAnError) {
  nn::BatchNorm2d bn(2, "stage.bn");
  Params p;
  bn.init(p);
  auto f = jit([&bn](const Params &q, const Tensor &x) { return bn(q, x, nn::Mode{}); });
  expectError([&] { f(p, Tensor::zeros({1, 2, 2, 2})); },
              {"stage.bn", "running statistics"});
}

} // namespace

namespace {

TEST(Dropout, MaskIsSeededScaledAndItsOwnGradient) {
  const double rate = 0.3;
  auto f = jit([rate](const Tensor &x, const Tensor &seed) {
    Tensor y = dropout(x, rate, seed);
    Tensor g = grad([&](const Tensor &t) { return sum(dropout(t, rate, seed)); })(x);
    return std::make_tuple(y, g);
  });
  Shape shape = {64, 32, 5};
  Tensor ones = Tensor::fromVector(std::vector<float>(numElements(shape), 1.0f), shape);
  auto seed = [](int32_t s) { return Tensor::fromVector(std::vector<int32_t>{s}, {}); };
  auto [y1, g1] = f(ones, seed(1));
  auto [y1again, g1again] = f(ones, seed(1));
  auto [y2, g2] = f(ones, seed(2));
  std::vector<float> a = y1.toVector<float>();
  EXPECT_EQ(a, y1again.toVector<float>()) << "same seed, same mask";
  EXPECT_NE(a, y2.toVector<float>()) << "another seed, another mask";
  EXPECT_EQ(a, g1.toVector<float>()) << "the gradient of x·mask is the mask";
  int64_t zeros = 0;
  for (float v : a) {
    ASSERT_TRUE(v == 0.0f || std::abs(v - 1.0f / 0.7f) < 1e-6f) << v;
    zeros += v == 0.0f;
  }
  // 10240 Bernoulli(0.3) draws: within 5 standard deviations (±0.023).
  EXPECT_NEAR(double(zeros) / a.size(), rate, 0.023);
  expectError([&] { f(ones, Tensor::fromVector(std::vector<float>{1.0f}, {})); },
              {"dropout", "i32 scalar"});
}

TEST(Concat, MismatchedPartsNameTheShapes) {
  auto f = jit([](const Tensor &a, const Tensor &b) { return concat({a, b}, 1); });
  expectError([&] { f(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 3, 5})); },
              {"concat", "part 1", "[2, 3, 5]", "axis 1"});
}

} // namespace
