//===- SignalImportTest.cpp - 1-D convolutions and pooling (NCL) ----------===//
//
// PyTorch's Conv1d, MaxPool1d, AvgPool1d and AdaptiveAvgPool1d(1) export as
// Conv, MaxPool, AveragePool and GlobalAveragePool on [N, C, L] with 1-D
// attributes. The importer runs them as 2-D ops of height 1; these tests
// hold the results to direct float64 loops over the 1-D definitions
// (strides, dilations, uneven pads, groups, auto_pad, count_include_pad),
// and a retrained 1-D filter to its gradient and to the file's shape.
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

namespace fs = std::filesystem;
using namespace bregman;
using bregman::onnx::OnnxModel;
using bregman::testing::ModelCase;
using bregman::testing::runOnnx;
using bregman::testing::setIntAttr;
using bregman::testing::setIntsAttr;

namespace {

/// A signal batch [n, c, l] in float64.
struct Signal {
  int64_t n = 0, c = 0, l = 0;
  std::vector<double> v;
  double at(int64_t i, int64_t ch, int64_t t) const {
    return v[(i * c + ch) * l + t];
  }
};

struct Conv1d {
  int64_t stride = 1, dilation = 1, before = 0, after = 0, group = 1;
};

/// y[i, m, t] = b[m] + Σ_{ch in m's group, k} w[m, ch, k] · x[i, ch, t·s + k·d
/// − before].
Signal conv1d(const Signal &x, const std::vector<double> &w,
              const std::vector<double> &b, int64_t outChannels, int64_t kernel,
              const Conv1d &o) {
  int64_t perGroup = x.c / o.group, outPerGroup = outChannels / o.group;
  Signal y{x.n, outChannels,
           (x.l + o.before + o.after - o.dilation * (kernel - 1) - 1) /
                   o.stride +
               1};
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t m = 0; m < outChannels; ++m)
      for (int64_t t = 0; t < y.l; ++t) {
        double acc = b[m];
        for (int64_t ch = 0; ch < perGroup; ++ch)
          for (int64_t k = 0; k < kernel; ++k) {
            int64_t at = t * o.stride + k * o.dilation - o.before;
            if (at >= 0 && at < x.l)
              acc += w[(m * perGroup + ch) * kernel + k] *
                     x.at(i, (m / outPerGroup) * perGroup + ch, at);
          }
        y.v.push_back(acc);
      }
  return y;
}

/// Max (or average over the cells inside the input, or inside the padded
/// input with includePad) of each window. With `ceil` the output length
/// rounds up, but the last window starts inside the input or its leading
/// padding (ONNX, PyTorch).
Signal pool1d(const Signal &x, bool max, int64_t kernel, int64_t stride,
              int64_t before, int64_t after, bool includePad,
              bool ceil = false) {
  int64_t span = x.l + before + after - kernel;
  int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil && (out - 1) * stride >= x.l + before)
    --out;
  Signal y{x.n, x.c, out};
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t ch = 0; ch < x.c; ++ch)
      for (int64_t t = 0; t < y.l; ++t) {
        double acc = max ? -INFINITY : 0.0;
        int64_t counted = 0;
        for (int64_t k = 0; k < kernel; ++k) {
          int64_t at = t * stride + k - before;
          bool inside = at >= 0 && at < x.l;
          counted += includePad ? 1 : inside;
          if (inside)
            acc = max ? std::max(acc, x.at(i, ch, at)) : acc + x.at(i, ch, at);
        }
        y.v.push_back(max ? acc : acc / static_cast<double>(counted));
      }
  return y;
}

/// The transposed convolution: each input cell x[i, ch, t] adds
/// x · w[ch, m, k] to y[i, group's m, t·s + k·d − before]; length
/// s·(L − 1) + outputPadding + d·(K − 1) + 1 − before − after.
Signal convTranspose1d(const Signal &x, const std::vector<double> &w,
                       const std::vector<double> &b, int64_t outPerGroup,
                       int64_t kernel, const Conv1d &o, int64_t outputPadding) {
  int64_t inPerGroup = x.c / o.group, outChannels = outPerGroup * o.group;
  Signal y{x.n, outChannels,
           o.stride * (x.l - 1) + outputPadding + o.dilation * (kernel - 1) +
               1 - o.before - o.after};
  y.v.assign(static_cast<size_t>(y.n * y.c * y.l), 0.0);
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t m = 0; m < outChannels; ++m)
      for (int64_t t = 0; t < y.l; ++t)
        y.v[(i * outChannels + m) * y.l + t] = b[m];
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t ch = 0; ch < x.c; ++ch)
      for (int64_t t = 0; t < x.l; ++t)
        for (int64_t m = 0; m < outPerGroup; ++m)
          for (int64_t k = 0; k < kernel; ++k) {
            int64_t at = t * o.stride + k * o.dilation - o.before;
            if (at < 0 || at >= y.l)
              continue;
            int64_t out = (ch / inPerGroup) * outPerGroup + m;
            y.v[(i * outChannels + out) * y.l + at] +=
                x.at(i, ch, t) * w[(ch * outPerGroup + m) * kernel + k];
          }
  return y;
}

std::vector<double> randoms(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> v(n);
  for (double &e : v)
    e = uniform(rng);
  return v;
}

std::vector<float> asFloat(const std::vector<double> &v) {
  return std::vector<float>(v.begin(), v.end());
}

/// Doubles that are floats already (what the float model computes from).
std::vector<double> asFloats(const std::vector<double> &v) {
  std::vector<float> f = asFloat(v);
  return std::vector<double>(f.begin(), f.end());
}

class SignalImport : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_signal_import_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  OnnxModel load(const ModelCase &c, const std::string &name) {
    return OnnxModel::load(bregman::testing::writeModel(c.model, dir, name));
  }
  fs::path dir;
};

TEST_F(SignalImport, ConvolutionsAndPoolsMatchTheFloat64Reference) {
  std::mt19937 rng(5);
  Signal x{2, 3, 11, asFloats(randoms(rng, 2 * 3 * 11))};
  std::vector<double> w1 = asFloats(randoms(rng, 4 * 3 * 3)),
                      b1 = asFloats(randoms(rng, 4));
  std::vector<double> w2 = asFloats(randoms(rng, 4 * 2 * 2)),
                      b2 = asFloats(randoms(rng, 4));
  // Strided, dilated, unevenly padded; then grouped with SAME_UPPER (kernel
  // 2: one cell of padding, after the signal); max with a leading pad;
  // average without the padded cells; the global average.
  Signal c1 = conv1d(x, w1, b1, 4, 3, Conv1d{2, 2, 1, 2, 1});
  Signal c2 = conv1d(c1, w2, b2, 4, 2, Conv1d{1, 1, 0, 1, 2});
  Signal m = pool1d(c2, /*max=*/true, 2, 1, 1, 0, false);
  Signal a = pool1d(m, /*max=*/false, 3, 2, 1, 1, /*includePad=*/false);
  ASSERT_EQ(c1.l, 5);
  ASSERT_EQ(a.l, 3);
  std::vector<double> g;
  for (int64_t i = 0; i < a.n * a.c; ++i) {
    double s = 0;
    for (int64_t t = 0; t < a.l; ++t)
      s += a.v[i * a.l + t];
    g.push_back(s / static_cast<double>(a.l));
  }

  ModelCase c;
  c.input("x", {2, 3, 11}, asFloat(x.v));
  c.weight("w1", {4, 3, 3}, asFloat(w1)).weight("b1", {4}, asFloat(b1));
  c.weight("w2", {4, 2, 2}, asFloat(w2)).weight("b2", {4}, asFloat(b2));
  auto &conv1 = c.node("Conv", {"x", "w1", "b1"}, {"c1"});
  setIntsAttr(conv1, "kernel_shape", {3});
  setIntsAttr(conv1, "strides", {2});
  setIntsAttr(conv1, "dilations", {2});
  setIntsAttr(conv1, "pads", {1, 2});
  auto &conv2 = c.node("Conv", {"c1", "w2", "b2"}, {"c2"});
  setIntAttr(conv2, "group", 2);
  bregman::testing::addAttr(conv2, "auto_pad", ::onnx::AttributeProto::STRING)
      ->set_s("SAME_UPPER");
  auto &maxPool = c.node("MaxPool", {"c2"}, {"m"});
  setIntsAttr(maxPool, "kernel_shape", {2});
  setIntsAttr(maxPool, "pads", {1, 0});
  auto &avgPool = c.node("AveragePool", {"m"}, {"y"});
  setIntsAttr(avgPool, "kernel_shape", {3});
  setIntsAttr(avgPool, "strides", {2});
  setIntsAttr(avgPool, "pads", {1, 1});
  c.node("GlobalAveragePool", {"y"}, {"g"});
  c.output("y", {2, 4, 3}, a.v).output("g", {2, 4, 1}, g);

  OnnxModel model = load(c, "signal");
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  Params got = runOnnx(model, c.inputs);
  for (const auto &[out, expected] : c.expected) {
    ASSERT_EQ(got.at(out).shape(),
              (out == "y" ? Shape{2, 4, 3} : Shape{2, 4, 1}))
        << out;
    std::vector<float> y = got.at(out).toVector<float>();
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], expected[i], 1e-5 + 1e-5 * std::abs(expected[i]))
          << out << "[" << i << "]";
  }
}

// SAME_LOWER (the extra cell of padding before the signal), MaxPool with
// ceil_mode (a last window half outside), AveragePool counting the padded
// cells.
TEST_F(SignalImport, LowerPaddingCeilModeAndCountedPadsMatchTheReference) {
  std::mt19937 rng(6);
  Signal x{1, 2, 9, asFloats(randoms(rng, 2 * 9))};
  std::vector<double> w = asFloats(randoms(rng, 2 * 2 * 4));
  // Kernel 4 at stride 1: three cells of padding, two before and one after.
  Signal c1 = conv1d(x, w, {0.0, 0.0}, 2, 4, Conv1d{1, 1, 2, 1, 1});
  Signal m = pool1d(c1, /*max=*/true, 2, 2, 0, 0, false, /*ceil=*/true);
  Signal a = pool1d(m, /*max=*/false, 3, 1, 1, 1, /*includePad=*/true);
  ASSERT_EQ(c1.l, 9);
  ASSERT_EQ(m.l, 5) << "ceil_mode: 5 windows, the last one cell wide";
  ModelCase c;
  c.input("x", {1, 2, 9}, asFloat(x.v));
  c.weight("w", {2, 2, 4}, asFloat(w));
  bregman::testing::addAttr(c.node("Conv", {"x", "w"}, {"c1"}), "auto_pad",
                            ::onnx::AttributeProto::STRING)
      ->set_s("SAME_LOWER");
  auto &maxPool = c.node("MaxPool", {"c1"}, {"m"});
  setIntsAttr(maxPool, "kernel_shape", {2});
  setIntsAttr(maxPool, "strides", {2});
  setIntAttr(maxPool, "ceil_mode", 1);
  auto &avgPool = c.node("AveragePool", {"m"}, {"y"});
  setIntsAttr(avgPool, "kernel_shape", {3});
  setIntsAttr(avgPool, "pads", {1, 1});
  setIntAttr(avgPool, "count_include_pad", 1);
  c.output("y", {1, 2, 5}, a.v);
  OnnxModel model = load(c, "signal_lower");
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  std::vector<float> y = runOnnx(model, c.inputs).at("y").toVector<float>();
  ASSERT_EQ(y.size(), a.v.size());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], a.v[i], 1e-5 + 1e-5 * std::abs(a.v[i]))
        << "y[" << i << "]";
}

// ConvTranspose1d (a decoder's upsampling): strided, unevenly padded, with
// output_padding, and grouped and dilated; its filter [C, M/group, K]
// retrains as [C, M/group, 1, K] and goes back to the file's shape.
TEST_F(SignalImport, TransposedConvolutionsMatchTheReferenceAndTrainAsKernels) {
  std::mt19937 rng(7);
  Signal x{2, 4, 5, asFloats(randoms(rng, 2 * 4 * 5))};
  std::vector<double> w1 = asFloats(randoms(rng, 4 * 3 * 3)),
                      b1 = asFloats(randoms(rng, 3));
  std::vector<double> w2 = asFloats(randoms(rng, 3 * 2 * 2)),
                      b2 = asFloats(randoms(rng, 6));
  Signal u1 = convTranspose1d(x, w1, b1, 3, 3, Conv1d{2, 1, 1, 0, 1},
                              /*outputPadding=*/1);
  ASSERT_EQ(u1.l, 11);
  // Grouped (3 groups of one input channel, two outputs each), dilated.
  Signal u2 = convTranspose1d(u1, w2, b2, 2, 2, Conv1d{1, 2, 0, 1, 3}, 0);
  ModelCase c;
  c.input("x", {2, 4, 5}, asFloat(x.v));
  c.weight("up1.weight", {4, 3, 3}, asFloat(w1))
      .weight("up1.bias", {3}, asFloat(b1));
  c.weight("up2.weight", {3, 2, 2}, asFloat(w2))
      .weight("up2.bias", {6}, asFloat(b2));
  auto &up1 = c.node("ConvTranspose", {"x", "up1.weight", "up1.bias"}, {"u1"},
                     "/up1/ConvTranspose");
  setIntsAttr(up1, "strides", {2});
  setIntsAttr(up1, "pads", {1, 0});
  setIntsAttr(up1, "output_padding", {1});
  auto &up2 = c.node("ConvTranspose", {"u1", "up2.weight", "up2.bias"}, {"y"},
                     "/up2/ConvTranspose");
  setIntAttr(up2, "group", 3);
  setIntsAttr(up2, "dilations", {2});
  setIntsAttr(up2, "pads", {0, 1});
  c.output("y", {2, 6, u2.l}, u2.v);
  auto model = std::make_shared<OnnxModel>(load(c, "upsample1d"));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  std::vector<float> y = runOnnx(*model, c.inputs).at("y").toVector<float>();
  ASSERT_EQ(y.size(), u2.v.size());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], u2.v[i], 1e-5 + 1e-5 * std::abs(u2.v[i]))
        << "y[" << i << "]";

  bregman::onnx::OnnxNetwork net(model, "upsample1d.onnx",
                                 /*fromPretrained=*/true);
  Params p = net.init(1, nn::SparseInit{});
  EXPECT_EQ(p.at("up1.weight").shape(), (Shape{4, 3, 1, 3}));
  EXPECT_EQ(p.at("up2.weight").shape(), (Shape{3, 2, 1, 2}));
  Tensor again = jit([&net](const Params &q, const Params &a) {
    return net.forward(q, a.at("x"), nn::Mode{});
  })(p, Params{{"x", Tensor::fromVector(asFloat(x.v), {2, 20})}});
  std::vector<float> viaNetwork = again.toVector<float>();
  ASSERT_EQ(viaNetwork.size(), u2.v.size());
  for (size_t i = 0; i < viaNetwork.size(); ++i)
    EXPECT_NEAR(viaNetwork[i], u2.v[i], 1e-5 + 1e-5 * std::abs(u2.v[i]))
        << "net y[" << i << "]";
  Params files = net.onnxInitializers(p, net.initBuffers());
  EXPECT_EQ(files.at("up1.weight").shape(), (Shape{4, 3, 3}));
  EXPECT_EQ(files.at("up2.weight").shape(), (Shape{3, 2, 2}));
}

TEST_F(SignalImport, AttributesOfAnotherRankAreRefusedNamingThem) {
  struct Case {
    std::string attribute;
    std::vector<int64_t> value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"strides", {1, 1}, "not 1-D, as the input [1, 2, 8] is"},
      {"pads", {1, 1, 1, 1}, "not 1-D, as the input [1, 2, 8] is"},
      {"dilations", {1, 1}, "not 1-D, as the input [1, 2, 8] is"},
      {"kernel_shape", {5}, "contradicts the weight's kernel [3]"},
  };
  for (const Case &k : cases) {
    SCOPED_TRACE(k.attribute);
    ModelCase c;
    c.input("x", {1, 2, 8}, std::vector<float>(16, 0.5f));
    c.weight("w", {3, 2, 3}, std::vector<float>(18, 0.25f));
    setIntsAttr(c.node("Conv", {"x", "w"}, {"y"}, "/conv/Conv"), k.attribute,
                k.value);
    c.output("y", {1, 3, 6});
    try {
      OnnxModel model = load(c, "bad_" + k.attribute);
      runOnnx(model, c.inputs);
      ADD_FAILURE() << "accepted";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(k.message), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("/conv/Conv"), std::string::npos)
          << e.what();
    }
  }
  // A rank-4 weight of height 2 for a signal; a pool with an empty kernel; a
  // 1-D pool's pads as large as its kernel (said in the node's own terms).
  auto refusal = [&](ModelCase &m, const std::string &name) {
    std::string why;
    try {
      OnnxModel model = load(m, name);
      if (!model.unsupported().empty())
        why = model.unsupported().front();
      else
        runOnnx(model, m.inputs);
    } catch (const Error &e) {
      why = e.what();
    }
    return why;
  };
  {
    ModelCase m;
    m.input("x", {1, 2, 8}, std::vector<float>(16, 0.5f));
    m.weight("w", {3, 2, 2, 3}, std::vector<float>(36, 0.25f));
    m.node("Conv", {"x", "w"}, {"y"}, "/tall/Conv");
    m.output("y", {1, 3, 6});
    std::string why = refusal(m, "tall");
    EXPECT_NE(
        why.find("weight [3, 2, 2, 3] for a 1-D input (1-D convolutions take a "
                 "rank-3 weight)"),
        std::string::npos)
        << why;
  }
  {
    ModelCase m;
    m.input("x", {1, 2, 8}, std::vector<float>(16, 0.5f));
    setIntsAttr(m.node("MaxPool", {"x"}, {"y"}, "/pool/MaxPool"),
                "kernel_shape", {});
    m.output("y", {1, 2, 8});
    std::string why = refusal(m, "nokernel"); // the ONNX checker's verdict
    EXPECT_NE(why.find("node '/pool/MaxPool' (MaxPool)"), std::string::npos)
        << why;
    EXPECT_NE(why.find("'kernel_shape'"), std::string::npos) << why;
  }
  {
    ModelCase m;
    m.input("x", {1, 2, 8}, std::vector<float>(16, 0.5f));
    auto &pool = m.node("MaxPool", {"x"}, {"y"}, "/pool/MaxPool");
    setIntsAttr(pool, "kernel_shape", {2});
    setIntsAttr(pool, "pads", {2, 0});
    m.output("y", {1, 2, 9});
    std::string why = refusal(m, "bigpads");
    EXPECT_NE(why.find("pads = [2, 0]: must be smaller than the kernel [2]"),
              std::string::npos)
        << why;
  }
  // Three spatial axes (Conv3d) stay refused, naming the input.
  ModelCase c;
  c.input("x", {1, 1, 2, 2, 2}, std::vector<float>(8, 1.0f));
  c.weight("w", {1, 1, 1, 1, 1}, {1.0f});
  c.node("Conv", {"x", "w"}, {"y"}, "/conv3d/Conv");
  c.output("y", {1, 1, 2, 2, 2});
  std::string why;
  try {
    OnnxModel model = load(c, "conv3d");
    if (!model.unsupported().empty())
      why = model.unsupported().front();
    else
      runOnnx(model, c.inputs);
  } catch (const Error &e) {
    why = e.what();
  }
  EXPECT_NE(why.find("1-D signals [N, C, L] and 2-D images"), std::string::npos)
      << why;
}

// A retrained 1-D filter [M, C, K] is the 2-D filter [M, C, 1, K] its Conv
// runs: it joins the conv group (rank 4), its kernels are l1_l2_conv's
// groups, its fan-in is C·K, and it goes back to the file as [M, C, K].
TEST_F(SignalImport,
       AFilterTrainsAsAUnitHeightKernelAndExportsInTheFilesShape) {
  std::mt19937 rng(8);
  Signal x{2, 2, 7, asFloats(randoms(rng, 2 * 2 * 7))};
  std::vector<double> w = asFloats(randoms(rng, 3 * 2 * 3)),
                      b = asFloats(randoms(rng, 3));
  Conv1d padded{1, 1, 1, 1, 1};
  ModelCase c;
  c.input("x", {2, 2, 7}, asFloat(x.v));
  c.weight("conv.weight", {3, 2, 3}, asFloat(w))
      .weight("conv.bias", {3}, asFloat(b));
  setIntsAttr(
      c.node("Conv", {"x", "conv.weight", "conv.bias"}, {"y"}, "/conv/Conv"),
      "pads", {1, 1});
  c.output("y", {2, 3, 7});
  auto model = std::make_shared<OnnxModel>(load(c, "conv1d"));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  bregman::onnx::OnnxNetwork net(model, "conv1d.onnx", /*fromPretrained=*/true);
  Params p = net.init(1, nn::SparseInit{});
  ASSERT_EQ(p.at("conv.weight").shape(), (Shape{3, 2, 1, 3}));
  EXPECT_EQ(p.at("conv.weight").toVector<float>(), asFloat(w))
      << "the file's values, in order";
  Params fresh = bregman::onnx::OnnxNetwork(model, "conv1d.onnx", false)
                     .init(1, nn::SparseInit{});
  EXPECT_EQ(fresh.at("conv.weight").shape(), (Shape{3, 2, 1, 3}));

  // Forward and the weight's gradient against float64, and finite differences.
  Params aux{{"x", Tensor::fromVector(x.v, {2, 14})}};
  std::vector<double> gv = randoms(rng, 2 * 3 * 7);
  aux.add("g", Tensor::fromVector(gv, {2, 3, 7}));
  Params q{{"conv.weight", Tensor::fromVector(w, {3, 2, 1, 3})},
           {"conv.bias", Tensor::fromVector(b, {3})}};
  std::vector<double> y = jit([&net](const Params &r, const Params &a) {
                            return net.forward(r, a.at("x"), nn::Mode{});
                          })(q, aux)
                              .toVector<double>();
  Signal want = conv1d(x, w, b, 3, 3, padded);
  ASSERT_EQ(y.size(), want.v.size());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], want.v[i], 1e-12) << "y[" << i << "]";
  std::vector<double> dw(w.size(), 0.0);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t t = 0; t < 7; ++t)
        for (int64_t ch = 0; ch < 2; ++ch)
          for (int64_t k = 0; k < 3; ++k)
            if (int64_t at = t + k - 1; at >= 0 && at < 7)
              dw[(m * 2 + ch) * 3 + k] +=
                  x.at(i, ch, at) * gv[(i * 3 + m) * 7 + t];
  auto loss = [&net](const Params &r, const Params &a) {
    return sum(net.forward(r, a.at("x"), nn::Mode{}) * a.at("g"));
  };
  std::vector<double> got =
      jit([loss](const Params &r, const Params &a) {
        return grad([&](const Params &s) { return loss(s, a); })(r);
      })(q, aux)
          .at("conv.weight")
          .toVector<double>();
  auto value =
      jit([loss](const Params &r, const Params &a) { return loss(r, a); });
  ASSERT_EQ(got.size(), dw.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], dw[i], 1e-10) << "dW[" << i << "]";
    Params plus = q, minus = q;
    std::vector<double> up = w, down = w;
    up[i] += 1e-6;
    down[i] -= 1e-6;
    plus.set("conv.weight", Tensor::fromVector(up, {3, 2, 1, 3}));
    minus.set("conv.weight", Tensor::fromVector(down, {3, 2, 1, 3}));
    double fd = (value(plus, aux).item() - value(minus, aux).item()) / 2e-6;
    EXPECT_NEAR(got[i], fd, 1e-8 + 1e-6 * std::abs(fd))
        << "finite differences [" << i << "]";
  }

  // Exported in the file's shape; the saved model computes the same.
  // (Trained parameters are f32, as the file's initializers.)
  std::vector<double> moved = w;
  moved[4] = 0.0; // a pruned tap
  Params trained{
      {"conv.weight", Tensor::fromVector(asFloat(moved), {3, 2, 1, 3})},
      {"conv.bias", Tensor::fromVector(asFloat(b), {3})}};
  Params initializers = net.onnxInitializers(trained, net.initBuffers());
  ASSERT_EQ(initializers.at("conv.weight").shape(), (Shape{3, 2, 3}));
  fs::path exported = dir / "exported.onnx";
  net.model().save(exported.string(), initializers);
  OnnxModel reloaded = OnnxModel::load(exported.string());
  std::vector<float> out =
      runOnnx(reloaded, c.inputs).at("y").toVector<float>();
  Signal again = conv1d(x, asFloats(moved), b, 3, 3, padded);
  ASSERT_EQ(out.size(), again.v.size());
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_NEAR(out[i], again.v[i], 1e-5) << "exported y[" << i << "]";
}

} // namespace
