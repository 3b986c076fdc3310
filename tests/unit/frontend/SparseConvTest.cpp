//===- SparseConvTest.cpp - Convolutions on CSR against float64 -----------===//
//
// sparseConv2d (breg.sparse_conv2d, lowered by breg-sparse-conv-to-loops)
// against float64 convolutions of the same float32 data: the forward pass,
// the input gradient (the loop over the transposed CSR, flipped taps,
// mirrored padding) and the dense weight gradient, over densities from 0 %
// (an all-zero filter) to 100 %, dead kernels and dead filters, padding
// (asymmetric too), dilation, strides (the input gradient split by output
// phase), groups (depthwise too), 1×1 kernels, rows that are not a
// multiple of the vector length, and output rows wider than one block of
// accumulators.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace bregman;
using bregman::testing::errorMessage;
using bregman::testing::expectWithinRounding;

namespace {

/// Under the GPU pipeline's emulation the op has no lowering: true once the
/// error names it (bregman::testing::expectGpuRefusal).
bool refusedOnGpu(const std::function<void()> &run) {
  return bregman::testing::expectGpuRefusal(
      run, {"breg.sparse_conv2d", "lowered on the CPU only"});
}

struct Geometry {
  int64_t n, c, h, w, o, kh, kw;
  std::array<int64_t, 4> padding;
  int64_t dh, dw;         // dilations
  int64_t sh = 1, sw = 1; // strides
  int64_t groups = 1;     // the filter is [o, c / groups, kh, kw]
  int64_t cg() const { return c / groups; } // input channels per group
  int64_t og() const { return o / groups; } // outputs per group
  int64_t oh() const { return (h + padding[0] + padding[2] - dh * (kh - 1) - 1) / sh + 1; }
  int64_t ow() const { return (w + padding[1] + padding[3] - dw * (kw - 1) - 1) / sw + 1; }
  int64_t taps() const { return kh * kw; }
  Conv2dOptions options() const {
    Conv2dOptions o;
    o.stride = {sh, sw};
    o.padding = padding;
    o.dilation = {dh, dw};
    o.groups = groups;
    return o;
  }
};

/// A filter's CSR pair as the traced function's inputs.
Params csrParams(const CsrFilter &csr) {
  return {{"rp", csr.rows.positions},      {"rc", csr.rows.coordinates},
          {"rv", csr.rows.values},         {"cp", csr.columns.positions},
          {"cc", csr.columns.coordinates}, {"cv", csr.columns.values}};
}

/// The CsrFilter of geometry `g` from csrParams' keys in `k`: the forward
/// CSR, with `withColumns` the transposed one too, and `dense` as its
/// dense filter (where its gradient is taken).
CsrFilter csrFilterOf(const Params &k, const Geometry &g, bool withColumns,
                      const Tensor &dense = Tensor()) {
  CsrFilter f{{k.at("rp"), k.at("rc"), k.at("rv"), Tensor(), g.o, g.cg() * g.taps()},
              {},
              dense,
              {g.o, g.cg(), g.kh, g.kw},
              g.groups};
  if (withColumns)
    f.columns = {k.at("cp"), k.at("cc"), k.at("cv"), Tensor(), g.c, g.og() * g.taps()};
  return f;
}

struct Case {
  const char *name;
  Geometry g;
  double density;
};

/// A filter [o, c / groups, k, k] with about `density` of its kernels
/// alive (filter 1 always dead), each alive kernel with about 80 % of its
/// taps non-zero.
std::vector<float> sparseFilter(std::mt19937 &rng, const Geometry &g,
                                double density) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int64_t taps = g.taps();
  std::vector<float> w(g.o * g.cg() * taps, 0.0f);
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.cg(); ++c) {
      if (o == 1 || !(u(rng) < density))
        continue;
      for (int64_t t = 0; t < taps; ++t)
        if (density == 1.0 || u(rng) < 0.8)
          w[(o * g.cg() + c) * taps + t] =
              static_cast<float>((u(rng) < 0.5 ? -1 : 1) * (0.5 + u(rng)));
    }
  return w;
}

/// The float64 references of y = conv(x, W), dx = convᵀ(d, W) and
/// dW = Σ x ⋆ d, each with Σ|terms| (the scale of float32 rounding).
struct Reference {
  std::vector<double> y, yBound, dx, dxBound, dw, dwBound;
};

Reference reference(const Geometry &g, const std::vector<float> &x,
                    const std::vector<float> &w, const std::vector<float> &d) {
  int64_t oh = g.oh(), ow = g.ow();
  Reference r;
  r.y.assign(g.n * g.o * oh * ow, 0.0);
  r.yBound = r.y;
  r.dx.assign(x.size(), 0.0);
  r.dxBound = r.dx;
  r.dw.assign(w.size(), 0.0);
  r.dwBound = r.dw;
  auto add = [](std::vector<double> &sum, std::vector<double> &bound,
                int64_t i, double term) {
    sum[i] += term;
    bound[i] += std::abs(term);
  };
  // Output o reads the input channels of its group, o / og·cg + cl.
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t cl = 0; cl < g.cg(); ++cl)
        for (int64_t kh = 0; kh < g.kh; ++kh)
          for (int64_t kw = 0; kw < g.kw; ++kw)
            for (int64_t i = 0; i < oh; ++i)
              for (int64_t j = 0; j < ow; ++j) {
                int64_t ih = i * g.sh + kh * g.dh - g.padding[0];
                int64_t iw = j * g.sw + kw * g.dw - g.padding[1];
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
                  continue;
                int64_t c = o / g.og() * g.cg() + cl;
                int64_t xi = ((n * g.c + c) * g.h + ih) * g.w + iw;
                int64_t wi = ((o * g.cg() + cl) * g.kh + kh) * g.kw + kw;
                int64_t yi = ((n * g.o + o) * oh + i) * ow + j;
                add(r.y, r.yBound, yi, double(x[xi]) * w[wi]);
                add(r.dx, r.dxBound, xi, double(d[yi]) * w[wi]);
                add(r.dw, r.dwBound, wi, double(d[yi]) * x[xi]);
              }
  return r;
}


} // namespace

class SparseConv : public ::testing::TestWithParam<Case> {};

TEST_P(SparseConv, ForwardAndBothGradientsMatchFloat64) {
  const Case c = GetParam();
  const Geometry g = c.g;
  std::mt19937 rng(7);
  std::vector<float> w = sparseFilter(rng, g, c.density);
  std::vector<float> x = bregman::testing::randomFloats(rng, g.n * g.c * g.h * g.w);
  std::vector<float> d =
      bregman::testing::randomFloats(rng, g.n * g.o * g.oh() * g.ow());
  std::vector<float> bias = bregman::testing::randomFloats(rng, g.o);
  Tensor filter = Tensor::fromVector(w, {g.o, g.cg(), g.kh, g.kw});
  CsrFilter csr = compressFilter(filter, g.groups);
  Conv2dOptions options = g.options();
  ASSERT_TRUE(sparseConv2dFits(csr.shape, options));
  // loss = Σ d ⊙ (y + b): its gradients are dx = convᵀ(d, W), dW = x ⋆ d
  // and db = Σ d over samples and positions.
  auto step = jit([&](const Tensor &x, const Tensor &w, const Tensor &b,
                      const Tensor &d, const Params &csrs) {
    auto loss = [&](const Params &p) {
      CsrFilter f = csrFilterOf(csrs, g, /*withColumns=*/true, p.at("w"));
      return sum(sparseConv2d(p.at("x"), f, options, p.at("b")) * d);
    };
    CsrFilter f = csrFilterOf(csrs, g, /*withColumns=*/false);
    return std::make_tuple(sparseConv2d(x, f, options),
                           sparseConv2d(x, f, options, b),
                           grad(loss)(Params{{"x", x}, {"w", w}, {"b", b}}));
  });
  Params csrs = csrParams(csr);
  auto run = [&] {
    return step(Tensor::fromVector(x, {g.n, g.c, g.h, g.w}), filter,
                Tensor::fromVector(bias, {g.o}),
                Tensor::fromVector(d, {g.n, g.o, g.oh(), g.ow()}), csrs);
  };
  if (refusedOnGpu([&] { run(); }))
    return;
  auto [y, yb, grads] = run();
  Reference r = reference(g, x, w, d);
  ASSERT_EQ(y.shape(), (Shape{g.n, g.o, g.oh(), g.ow()}));
  expectWithinRounding(y.toVector<float>(), r.y, r.yBound, std::string(c.name) + ": y");
  // With the bias added in the loop; db = Σ d per filter.
  int64_t plane = g.oh() * g.ow();
  std::vector<double> withBias = r.y, biasBound = r.yBound, db(g.o, 0.0),
                      dbBound(g.o, 0.0);
  for (size_t i = 0; i < withBias.size(); ++i) {
    int64_t o = static_cast<int64_t>(i) / plane % g.o;
    withBias[i] += bias[o];
    biasBound[i] += std::abs(bias[o]);
    db[o] += d[i];
    dbBound[o] += std::abs(d[i]);
  }
  expectWithinRounding(yb.toVector<float>(), withBias, biasBound,
             std::string(c.name) + ": y + b");
  expectWithinRounding(grads.at("b").toVector<float>(), db, dbBound,
             std::string(c.name) + ": db");
  expectWithinRounding(grads.at("x").toVector<float>(), r.dx, r.dxBound,
             std::string(c.name) + ": dx");
  expectWithinRounding(grads.at("w").toVector<float>(), r.dw, r.dwBound,
             std::string(c.name) + ": dW");
  // Filter 1 is dead: its output plane is exactly zero.
  std::vector<float> yv = y.toVector<float>();
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < g.oh() * g.ow(); ++i)
      ASSERT_EQ(yv[(n * g.o + 1) * g.oh() * g.ow() + i], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, SparseConv,
    ::testing::Values(
        Case{"5x5 valid, all zero", {3, 4, 12, 12, 5, 5, 5, {0, 0, 0, 0}, 1, 1}, 0.0},
        Case{"5x5 valid, 5 %", {3, 8, 12, 12, 6, 5, 5, {0, 0, 0, 0}, 1, 1}, 0.05},
        Case{"5x5 valid, 30 %", {2, 4, 12, 12, 5, 5, 5, {0, 0, 0, 0}, 1, 1}, 0.3},
        Case{"5x5 valid, dense", {2, 3, 12, 12, 4, 5, 5, {0, 0, 0, 0}, 1, 1}, 1.0},
        Case{"3x3 same, 30 %", {2, 4, 9, 11, 5, 3, 3, {1, 1, 1, 1}, 1, 1}, 0.3},
        // No channel read: no plane of the padded copy is filled or copied.
        Case{"3x3 same, all zero", {2, 4, 9, 11, 5, 3, 3, {1, 1, 1, 1}, 1, 1}, 0.0},
        Case{"3x3 asymmetric padding", {2, 3, 7, 10, 4, 3, 3, {2, 0, 1, 2}, 1, 1}, 0.5},
        Case{"3x3 dilation 2", {2, 3, 11, 13, 4, 3, 3, {2, 1, 0, 2}, 2, 2}, 0.5},
        Case{"2x3 kernel, dilations 2 and 1",
             {2, 3, 9, 10, 4, 2, 3, {1, 0, 2, 2}, 2, 1}, 0.5},
        Case{"1x7 kernel", {2, 2, 5, 12, 3, 1, 7, {0, 3, 0, 3}, 1, 1}, 0.5},
        Case{"1x1, 20 %", {2, 6, 5, 7, 5, 1, 1, {0, 0, 0, 0}, 1, 1}, 0.2},
        Case{"wide rows (several column blocks)",
             {1, 2, 4, 121, 3, 3, 3, {1, 1, 1, 1}, 1, 1}, 0.6},
        Case{"tall planes (several row tiles)",
             {1, 2, 30, 6, 3, 3, 3, {0, 0, 0, 0}, 1, 1}, 0.6},
        // Strided: the padded rows split by column phase (odd padded widths
        // leave the last phase a column short), output row r reading input
        // row s·r; the input gradient on the transposed CSR phase by
        // phase (rows and columns the forward pass never read get 0).
        Case{"3x3 stride 2 same, 30 %",
             {2, 4, 9, 11, 5, 3, 3, {1, 1, 1, 1}, 1, 1, 2, 2}, 0.3},
        Case{"1x1 stride 2 (a shortcut)", {2, 6, 8, 8, 5, 1, 1, {0, 0, 0, 0}, 1, 1, 2, 2}, 0.4},
        Case{"7x7 stride 2 pad 3 (a stem)",
             {2, 3, 17, 18, 4, 7, 7, {3, 3, 3, 3}, 1, 1, 2, 2}, 0.5},
        Case{"strides 3 and 2, dilation 2",
             {2, 3, 14, 13, 4, 3, 3, {1, 2, 0, 1}, 2, 2, 3, 2}, 0.5},
        Case{"3x3 stride 2 valid, a last row and column never read",
             {2, 3, 8, 9, 4, 3, 3, {0, 0, 0, 0}, 1, 1, 2, 2}, 0.5},
        Case{"2x2 stride 2 (the window's own stride)",
             {2, 3, 8, 10, 4, 2, 2, {0, 0, 0, 0}, 1, 1, 2, 2}, 0.5},
        Case{"5x5 stride 3, asymmetric padding",
             {2, 3, 13, 14, 4, 5, 5, {2, 1, 1, 3}, 1, 1, 3, 3}, 0.3},
        Case{"stride 2, wide rows (several column blocks)",
             {1, 2, 5, 241, 3, 3, 3, {1, 1, 1, 1}, 1, 1, 1, 2}, 0.6},
        Case{"column stride 3, rows of chunks and a tail",
             {2, 2, 4, 50, 3, 3, 5, {0, 2, 1, 1}, 1, 1, 1, 3}, 0.6},
        // Groups: each row reads its group's channels only; the transposed
        // CSR is taken per group (row c holds the outputs of c's group).
        Case{"depthwise 3x3 same, 60 %",
             {2, 6, 9, 11, 6, 3, 3, {1, 1, 1, 1}, 1, 1, 1, 1, 6}, 0.6},
        Case{"depthwise 3x3 stride 2 (MobileNet's)",
             {2, 5, 9, 12, 5, 3, 3, {1, 1, 1, 1}, 1, 1, 2, 2, 5}, 0.8},
        Case{"depthwise multiplier 2, 5x5 dilation 2",
             {2, 3, 12, 13, 6, 5, 5, {4, 4, 4, 4}, 2, 2, 1, 1, 3}, 0.7},
        Case{"2 groups of 3 channels, 1x1 (ShuffleNet's)",
             {2, 6, 5, 7, 4, 1, 1, {0, 0, 0, 0}, 1, 1, 1, 1, 2}, 0.5},
        Case{"3 groups, 3x3 stride 2, asymmetric padding (RegNet's)",
             {2, 6, 10, 9, 9, 3, 3, {1, 0, 1, 2}, 1, 1, 2, 2, 3}, 0.4}),
    [](const ::testing::TestParamInfo<Case> &info) {
      std::string name;
      for (const char *p = info.param.name; *p; ++p)
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      return name;
    });

TEST(SparseConvErrors, NameTheProblem) {
  Tensor w = Tensor::zeros({4, 3, 3, 3});
  CsrFilter csr = compressFilter(w);
  EXPECT_EQ(csr.rows.rows, 4);
  EXPECT_EQ(csr.rows.cols, 27);
  EXPECT_EQ(csr.columns.rows, 3);
  EXPECT_EQ(csr.columns.cols, 36);
  Conv2dOptions strided;
  strided.stride = {2, 2};
  EXPECT_TRUE(sparseConv2dFits(csr.shape, strided));
  // Groups must divide the 4 outputs.
  Conv2dOptions grouped;
  grouped.groups = 3;
  EXPECT_FALSE(sparseConv2dFits(csr.shape, grouped));
  Conv2dOptions twoGroups;
  twoGroups.groups = 2;
  EXPECT_TRUE(sparseConv2dFits(csr.shape, twoGroups));
  Conv2dOptions noGroups;
  noGroups.groups = 0;
  EXPECT_FALSE(sparseConv2dFits(csr.shape, noGroups));
  Conv2dOptions zeroStride;
  zeroStride.stride = {0, 1};
  EXPECT_FALSE(sparseConv2dFits(csr.shape, zeroStride));
  Conv2dOptions tooMuchPadding;
  tooMuchPadding.padding = {3, 0, 0, 0};
  EXPECT_FALSE(sparseConv2dFits(csr.shape, tooMuchPadding));
  // A hostile file's dilation must not overflow dilation·(K − 1).
  Conv2dOptions hugeDilation;
  hugeDilation.dilation = {std::numeric_limits<int64_t>::max(), 1};
  hugeDilation.padding = {0, 0, 0, 0};
  EXPECT_FALSE(sparseConv2dFits(csr.shape, hugeDilation));
  Conv2dOptions zeroDilation;
  zeroDilation.dilation = {0, 1};
  EXPECT_FALSE(sparseConv2dFits(csr.shape, zeroDilation));
  // The error of sparseConv2d on an input of shape `input`, the CSR
  // declared as of [4, cols] and `dense` as the dense filter.
  auto call = [&](const Conv2dOptions &options, const Shape &input,
                  int64_t cols = 27, const Tensor &dense = Tensor()) {
    return errorMessage([&] {
      jit([&](const Tensor &x, const Tensor &p, const Tensor &c,
              const Tensor &v) {
        CsrFilter f{{p, c, v, Tensor(), 4, cols}, {}, dense, {4, 3, 3, 3}};
        return sparseConv2d(x, f, options);
      })(Tensor::zeros(input), csr.rows.positions, csr.rows.coordinates,
         csr.rows.values);
    });
  };
  std::string group = call(grouped, {1, 9, 8, 8});
  EXPECT_NE(group.find("needs positive strides, groups that divide its 4 "
                       "outputs"),
            std::string::npos)
      << group;
  // A CSR built for one group, used by a convolution of two.
  std::string groupsOfCsr = call(twoGroups, {1, 6, 8, 8});
  EXPECT_NE(groupsOfCsr.find("the CSR of filter [4, 3, 3, 3] was built for 1 "
                             "group(s), the convolution has 2"),
            std::string::npos)
      << groupsOfCsr;
  std::string channels = call({}, {1, 5, 8, 8});
  EXPECT_NE(channels.find("needs an f32 input [N, 3, H, W], got f32[1, 5, 8, 8]"),
            std::string::npos)
      << channels;
  Conv2dOptions dilated;
  dilated.dilation = {0, 1};
  std::string dilation = call(dilated, {1, 3, 8, 8});
  EXPECT_NE(dilation.find("filter [4, 3, 3, 3] and dilation [0, 1] must be "
                          "positive"),
            std::string::npos)
      << dilation;
  Conv2dOptions padded;
  padded.padding = {3, 0, 0, 0};
  std::string padding = call(padded, {1, 3, 8, 8});
  EXPECT_NE(padding.find("padding of at most dilation·(K − 1) per side (got "
                         "stride [1, 1], groups 1, padding [3, 0, 0, 0])"),
            std::string::npos)
      << padding;
  std::string small = call({}, {1, 3, 2, 8});
  EXPECT_NE(small.find("input [1, 3, 2, 8] is smaller than the filter "
                       "[4, 3, 3, 3]'s dilated window"),
            std::string::npos)
      << small;
  std::string csrShape = call({}, {1, 3, 8, 8}, 26);
  EXPECT_NE(csrShape.find("the forward CSR of filter [4, 3, 3, 3] must be of a "
                          "[4, 27] matrix"),
            std::string::npos)
      << csrShape;
  std::string dense = call({}, {1, 3, 8, 8}, 27, Tensor::zeros({4, 3, 3, 1}));
  EXPECT_NE(dense.find("the dense filter must be f32[4, 3, 3, 3], got "
                       "f32[4, 3, 3, 1]"),
            std::string::npos)
      << dense;
  std::string gradient = errorMessage([&] {
    jit([&](const Tensor &x, const Tensor &p, const Tensor &c, const Tensor &v) {
      return grad([&](const Params &q) {
        CsrFilter f{{p, c, v, Tensor(), 4, 27}, {}, Tensor(), {4, 3, 3, 3}};
        return sum(sparseConv2d(q.at("x"), f, {}));
      })(Params{{"x", x}});
    })(Tensor::zeros({1, 3, 8, 8}), csr.rows.positions, csr.rows.coordinates,
       csr.rows.values);
  });
  EXPECT_NE(gradient.find("needs the CSR of the filter's transpose"),
            std::string::npos)
      << gradient;
}

TEST(SparseConvGrad, SecondOrderRunsTheFlippedLoopBackwards) {
  // g(d, W) = Σ c ⊙ ∂/∂x Σ d ⊙ conv(x, W) = Σ c ⊙ convᵀ(d, W) is linear in
  // d: ∂g/∂d = conv(c, W) (the flipped node's input gradient, the forward
  // loop again, padding mirrored back) and ∂g/∂W = Σ d ⋆ c (its dense
  // weight gradient, input and cotangent swapped) — the float64 forward
  // and weight gradient of `reference` with x := c. At stride 1, and at
  // strides 2 with a last row and column the forward pass never reads (the
  // flipped node pads up to them; back from it, no padding after), and in
  // two groups.
  for (const Geometry &g :
       {Geometry{2, 3, 8, 9, 4, 3, 2, {2, 1, 0, 1}, 1, 2},
        Geometry{2, 3, 9, 10, 4, 3, 2, {1, 1, 0, 1}, 1, 2, 2, 2},
        Geometry{2, 4, 9, 10, 6, 3, 2, {1, 1, 0, 1}, 1, 2, 2, 2, 2}}) {
    SCOPED_TRACE(::testing::Message() << "strides " << g.sh << ", " << g.sw
                                      << ", groups " << g.groups);
    std::mt19937 rng(13);
    std::vector<float> w = sparseFilter(rng, g, 0.5);
    std::vector<float> c = bregman::testing::randomFloats(rng, g.n * g.c * g.h * g.w);
    std::vector<float> d =
        bregman::testing::randomFloats(rng, g.n * g.o * g.oh() * g.ow());
    Tensor filter = Tensor::fromVector(w, {g.o, g.cg(), g.kh, g.kw});
    CsrFilter csr = compressFilter(filter, g.groups);
    Conv2dOptions options = g.options();
    auto step = jit([&](const Tensor &x, const Tensor &w, const Tensor &d,
                        const Tensor &c, const Params &k) {
      return grad([&](const Params &q) {
        CsrFilter f = csrFilterOf(k, g, /*withColumns=*/true, q.at("w"));
        Params dx = grad([&](const Params &r) {
          return sum(sparseConv2d(r.at("x"), f, options) * q.at("d"));
        })(Params{{"x", x}});
        return sum(dx.at("x") * c);
      })(Params{{"d", d}, {"w", w}});
    });
    Params k = csrParams(csr);
    auto run = [&] {
      return step(Tensor::zeros({g.n, g.c, g.h, g.w}), filter,
                  Tensor::fromVector(d, {g.n, g.o, g.oh(), g.ow()}),
                  Tensor::fromVector(c, {g.n, g.c, g.h, g.w}), k);
    };
    if (refusedOnGpu([&] { run(); }))
      return;
    Params grads = run();
    Reference r = reference(g, c, w, d);
    expectWithinRounding(grads.at("d").toVector<float>(), r.y, r.yBound,
                         "∂g/∂d = conv(c, W)");
    expectWithinRounding(grads.at("w").toVector<float>(), r.dw, r.dwBound,
                         "∂g/∂W = Σ d ⋆ c");
  }
}

// The transposed CSR built from the forward one's entries equals the CSR of
// the host-transposed filter [C, O, KH, KW]: positions, coordinates (sorted
// within each row) and values, with a dead filter, a dead input channel and
// a non-square kernel.
TEST(SparseConvCsr, TransposeFromTheEntriesEqualsTheTransposedFilter) {
  const int64_t o = 5, c = 4, kh = 2, kw = 3, taps = kh * kw;
  std::mt19937 rng(29);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> w(o * c * taps, 0.0f), transposed(w.size(), 0.0f);
  for (int64_t i = 0; i < o; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t t = 0; t < taps; ++t)
        if (i != 3 && j != 2 && u(rng) < 0.3) {
          float v = static_cast<float>(u(rng) - 0.5);
          w[(i * c + j) * taps + t] = v;
          transposed[(j * o + i) * taps + t] = v;
        }
  CsrFilter f = compressFilter(Tensor::fromVector(w, {o, c, kh, kw}));
  CsrWeight want = compressRows(Tensor::fromVector(transposed, {c, o * taps}));
  EXPECT_EQ(f.columns.rows, c);
  EXPECT_EQ(f.columns.cols, o * taps);
  EXPECT_EQ(f.columns.positions.toVector<int32_t>(),
            want.positions.toVector<int32_t>());
  EXPECT_EQ(f.columns.coordinates.toVector<int32_t>(),
            want.coordinates.toVector<int32_t>());
  EXPECT_EQ(f.columns.values.toVector<float>(), want.values.toVector<float>());
  EXPECT_EQ(f.rows.values.numel(), f.columns.values.numel());
}

// In groups, the transpose is taken per group: filter [O, C/g, KH, KW]'s
// output i (group i / (O/g)) and channel j of its group land in row
// (i / (O/g))·(C/g) + j at coordinate (i mod O/g)·taps + tap. Built from
// the host's entries and by the compiled function, both equal the CSR of
// that matrix [C, (O/g)·taps].
TEST(SparseConvCsr, GroupedTransposeIsTakenPerGroup) {
  const int64_t o = 6, groups = 3, cg = 2, c = cg * groups, og = o / groups;
  const int64_t kh = 2, kw = 3, taps = kh * kw;
  std::mt19937 rng(31);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> w(o * cg * taps, 0.0f), transposed(c * og * taps, 0.0f);
  for (int64_t i = 0; i < o; ++i)
    for (int64_t j = 0; j < cg; ++j)
      for (int64_t t = 0; t < taps; ++t)
        if (i != 4 && u(rng) < 0.4) {
          float v = static_cast<float>(u(rng) - 0.5);
          w[(i * cg + j) * taps + t] = v;
          transposed[((i / og * cg + j) * og + i % og) * taps + t] = v;
        }
  Tensor filter = Tensor::fromVector(w, {o, cg, kh, kw});
  CsrWeight want = compressRows(Tensor::fromVector(transposed, {c, og * taps}));
  int64_t stored = want.values.numel();
  CsrFilter f = compressFilter(filter, groups);
  EXPECT_EQ(f.groups, groups);
  EXPECT_EQ(f.columns.rows, c);
  EXPECT_EQ(f.columns.cols, og * taps);
  EXPECT_EQ(f.columns.positions.toVector<int32_t>(),
            want.positions.toVector<int32_t>());
  EXPECT_EQ(f.columns.coordinates.toVector<int32_t>(),
            want.coordinates.toVector<int32_t>());
  EXPECT_EQ(f.columns.values.toVector<float>(), want.values.toVector<float>());
  std::string indivisible = errorMessage([&] { compressFilter(filter, 4); });
  EXPECT_NE(indivisible.find("filter [6, 2, 2, 3]: groups (4) must divide its 6 "
                             "outputs"),
            std::string::npos)
      << indivisible;
  if (std::getenv("BREGMAN_EMULATE_GPU") &&
      std::string(std::getenv("BREGMAN_EMULATE_GPU")) == "1")
    return; // breg.compress_rows runs on the CPU only
  auto traced = jit([&](const Tensor &w) {
    CsrFilter t = compressFilterInTrace(w, groups);
    return std::make_tuple(t.columns.positions, t.columns.coordinates,
                           t.columns.values);
  });
  auto [positions, coordinates, values] = traced(filter);
  EXPECT_EQ(positions.toVector<int32_t>(), want.positions.toVector<int32_t>());
  std::vector<int32_t> crd = coordinates.toVector<int32_t>();
  std::vector<float> val = values.toVector<float>();
  ASSERT_GE(static_cast<int64_t>(crd.size()), stored);
  EXPECT_EQ(std::vector<int32_t>(crd.begin(), crd.begin() + stored),
            want.coordinates.toVector<int32_t>());
  EXPECT_EQ(std::vector<float>(val.begin(), val.begin() + stored),
            want.values.toVector<float>());
}

TEST(SparseConvCsr, FilterCsrFromRowsRefusesAnInvalidCsr) {
  CsrFilter good = compressFilter(Tensor::fromVector(std::vector<float>(8, 1.0f), {2, 2, 1, 2}));
  auto withRows = [&](std::vector<int32_t> positions,
                      std::vector<int32_t> coordinates) {
    CsrWeight rows = good.rows;
    rows.positions = Tensor::fromVector(positions, {3});
    rows.coordinates = Tensor::fromVector(coordinates, {8});
    return errorMessage([&] { filterCsrFromRows(rows, {2, 2, 1, 2}); });
  };
  std::string start = withRows({1, 4, 8}, {0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_NE(start.find("positions must rise from 0 to at most the capacity 8; "
                       "row 0 spans [1, 4)"),
            std::string::npos)
      << start;
  std::string falling = withRows({0, 5, 4}, {0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_NE(falling.find("row 1 spans [5, 4)"), std::string::npos) << falling;
  std::string past = withRows({0, 4, 9}, {0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_NE(past.find("row 1 spans [4, 9)"), std::string::npos) << past;
  std::string coordinate = withRows({0, 4, 8}, {0, 1, 2, 3, 0, 4, 2, 3});
  EXPECT_NE(coordinate.find("filter [2, 2, 1, 2]: coordinate 4 of entry 5 is "
                            "outside [0, 4)"),
            std::string::npos)
      << coordinate;
  std::string unsorted = withRows({0, 4, 8}, {0, 2, 1, 3, 0, 1, 2, 3});
  EXPECT_NE(unsorted.find("row 0's coordinates must rise; entry 2 holds 1 after 2"),
            std::string::npos)
      << unsorted;
  std::string twice = withRows({0, 4, 8}, {0, 1, 2, 3, 0, 1, 1, 3});
  EXPECT_NE(twice.find("row 1's coordinates must rise; entry 6 holds 1 after 1"),
            std::string::npos)
      << twice;
  std::string huge = errorMessage(
      [&] { filterCsrFromRows(good.rows, {2, 2, int64_t{1} << 40, int64_t{1} << 40}); });
  EXPECT_NE(huge.find("must have positive dimensions and rows of at most 2^31 - 1"),
            std::string::npos)
      << huge;
  std::string shape =
      errorMessage([&] { filterCsrFromRows(good.rows, {2, 3, 1, 1}); });
  EXPECT_NE(shape.find("the forward CSR of filter [2, 3, 1, 1] must be of a "
                       "[2, 3] matrix"),
            std::string::npos)
      << shape;
  std::string empty =
      errorMessage([&] { filterCsrFromRows(good.rows, {2, 0, 1, 2}); });
  EXPECT_NE(empty.find("filter [2, 0, 1, 2] must have positive dimensions"),
            std::string::npos)
      << empty;
}

// A CSR with room for more entries than it stores (the training step's,
// capacity every entry): only the stored ones are transposed, the capacity
// carries over and nothing past the stored entries is read.
TEST(SparseConvCsr, FilterCsrFromRowsTransposesTheStoredEntriesOnly) {
  // Filter [2, 2, 1, 2]: row 0 holds (c 0, tap 1) = 1.5 and (c 1, tap 0) =
  // -2; row 1 holds (c 1, tap 1) = 3; five unused slots hold garbage.
  CsrWeight rows;
  rows.rows = 2;
  rows.cols = 4;
  rows.positions = Tensor::fromVector(std::vector<int32_t>{0, 2, 3}, {3});
  rows.coordinates =
      Tensor::fromVector(std::vector<int32_t>{1, 2, 3, 99, -7, 99, 99, 99}, {8});
  rows.values = Tensor::fromVector(
      std::vector<float>{1.5f, -2.0f, 3.0f, 9, 9, 9, 9, 9}, {8});
  CsrFilter f = filterCsrFromRows(rows, {2, 2, 1, 2});
  // Transpose [C = 2, O·taps = 4]: channel 0 holds (o 0, tap 1); channel 1
  // holds (o 0, tap 0) and (o 1, tap 1).
  EXPECT_EQ(f.columns.positions.toVector<int32_t>(), (std::vector<int32_t>{0, 1, 3}));
  std::vector<int32_t> crd = f.columns.coordinates.toVector<int32_t>();
  std::vector<float> val = f.columns.values.toVector<float>();
  ASSERT_EQ(crd.size(), 8u);
  EXPECT_EQ(std::vector<int32_t>(crd.begin(), crd.begin() + 3),
            (std::vector<int32_t>{1, 0, 3}));
  EXPECT_EQ(std::vector<float>(val.begin(), val.begin() + 3),
            (std::vector<float>{1.5f, -2.0f, 3.0f}));
}
