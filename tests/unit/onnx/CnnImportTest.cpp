//===- CnnImportTest.cpp - What real CNN exports need of the importer -----===//
//
// Issue 18 part A on small built models: pooling with ceil_mode (SqueezeNet)
// against a float64 reference, Mod folded on constants, BOOL constants
// (Dropout's training_mode), retraining through Sigmoid/Tanh/SiLU far in
// their tails without NaN, a batch size baked into a Reshape by the
// exporter (ShuffleNetV2's channel shuffle), and `inspect`'s verdict
// (unsupported()) agreeing with what `run` does.
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <gtest/gtest.h>

#include <array>
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

class CnnImport : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bregman_cnn_import_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  OnnxModel load(const ModelCase &c, const std::string &name) {
    return OnnxModel::load(bregman::testing::writeModel(c.model, dir, name));
  }
  /// Runs `c` and compares every output with its expected values.
  void expectOutputs(const ModelCase &c, const std::string &name, double tol = 1e-5) {
    OnnxModel model = load(c, name);
    ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
    Params got = runOnnx(model, c.inputs);
    for (const auto &[out, expected] : c.expected) {
      std::vector<float> y = got.at(out).toVector<float>();
      ASSERT_EQ(y.size(), expected.size()) << name << " " << out;
      for (size_t i = 0; i < y.size(); ++i)
        EXPECT_NEAR(y[i], expected[i], tol + tol * std::abs(expected[i]))
            << name << " " << out << "[" << i << "]";
    }
  }
  fs::path dir;
};

std::vector<float> signedValues(int n, float scale = 0.1f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>((i * 7) % 11 - 5) + 0.01f * static_cast<float>(i);
  return v;
}

//===----------------------------------------------------------------------===//
// MaxPool / AveragePool with ceil_mode = 1
//===----------------------------------------------------------------------===//

struct PoolSpec {
  std::string op;
  int64_t size, kernel, stride, dilation;
  std::array<int64_t, 4> pads; // top, left, bottom, right
  bool includePad;
};

/// PyTorch's and ONNX's output size with ceil_mode: rounded up, but the last
/// window starts inside the input or its leading padding.
int64_t ceilOutput(int64_t in, int64_t before, int64_t after, int64_t k, int64_t s,
                   int64_t d) {
  int64_t span = in + before + after - d * (k - 1) - 1;
  int64_t out = static_cast<int64_t>(std::ceil(double(span) / double(s))) + 1;
  if ((out - 1) * s >= in + before)
    --out;
  return out;
}

/// The pool over x[N, C, H, W] (square) in double. Average divisor: the
/// cells inside the input, or (includePad) inside the explicitly padded
/// input.
std::vector<double> poolReference(const std::vector<float> &x, int64_t planes,
                                  const PoolSpec &p, int64_t &out) {
  int64_t n = p.size, k = p.kernel, s = p.stride, d = p.dilation;
  out = ceilOutput(n, p.pads[0], p.pads[2], k, s, d);
  EXPECT_EQ(out, ceilOutput(n, p.pads[1], p.pads[3], k, s, d)); // square cases
  std::vector<double> y;
  for (int64_t plane = 0; plane < planes; ++plane)
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < out; ++j) {
        double acc = p.op == "MaxPool" ? -INFINITY : 0.0;
        int64_t counted = 0;
        for (int64_t u = 0; u < k; ++u)
          for (int64_t v = 0; v < k; ++v) {
            int64_t r = i * s - p.pads[0] + u * d, q = j * s - p.pads[1] + v * d;
            bool inside = r >= 0 && r < n && q >= 0 && q < n;
            bool padded = r >= -p.pads[0] && r < n + p.pads[2] && q >= -p.pads[1] &&
                          q < n + p.pads[3];
            counted += p.includePad ? padded : inside;
            if (!inside)
              continue;
            double e = x[(plane * n + r) * n + q];
            acc = p.op == "MaxPool" ? std::max(acc, e) : acc + e;
          }
        y.push_back(p.op == "MaxPool" ? acc : acc / double(counted));
      }
  return y;
}

TEST_F(CnnImport, CeilModePoolsMatchTheReference) {
  const std::vector<PoolSpec> specs = {
      {"MaxPool", 6, 3, 2, 1, {0, 0, 0, 0}, false},  // 3x3, floor gives 2x2
      {"MaxPool", 5, 2, 2, 1, {1, 1, 1, 1}, false},  // the last-window rule: 3, not 4
      {"MaxPool", 8, 2, 2, 2, {0, 0, 0, 0}, false},  // dilated: 4, floor 3
      {"MaxPool", 7, 3, 2, 1, {1, 1, 0, 0}, false},  // SqueezeNet-like, uneven pads
      {"AveragePool", 6, 3, 2, 1, {0, 0, 0, 0}, false},
      {"AveragePool", 6, 3, 2, 1, {1, 1, 1, 1}, false},
      {"AveragePool", 6, 3, 2, 1, {1, 1, 1, 1}, true}, // padding counted, ceil cells not
      {"AveragePool", 5, 2, 2, 1, {1, 1, 1, 1}, true},
  };
  for (size_t t = 0; t < specs.size(); ++t) {
    const PoolSpec &p = specs[t];
    SCOPED_TRACE(p.op + " case " + std::to_string(t));
    ModelCase c;
    std::vector<float> x = signedValues(static_cast<int>(2 * 2 * p.size * p.size));
    c.input("x", {2, 2, p.size, p.size}, x);
    auto &n = c.node(p.op, {"x"});
    setIntsAttr(n, "kernel_shape", {p.kernel, p.kernel});
    setIntsAttr(n, "strides", {p.stride, p.stride});
    setIntsAttr(n, "pads", {p.pads[0], p.pads[1], p.pads[2], p.pads[3]});
    setIntAttr(n, "ceil_mode", 1);
    if (p.dilation != 1)
      setIntsAttr(n, "dilations", {p.dilation, p.dilation});
    if (p.op == "AveragePool")
      setIntAttr(n, "count_include_pad", p.includePad);
    int64_t out = 0;
    std::vector<double> y = poolReference(x, 4, p, out);
    c.output("y", {2, 2, out, out}, y);
    expectOutputs(c, "pool" + std::to_string(t));
  }
}

//===----------------------------------------------------------------------===//
// Mod on constants, BOOL constants, Dropout
//===----------------------------------------------------------------------===//

TEST_F(CnnImport, ModFoldsIntegerConstantsWithBothSignConventions) {
  const std::vector<int64_t> a = {7, -7, 7, -7, 0}, b = {3, 3, -3, -3, 5};
  for (int fmod : {0, 1}) {
    ModelCase c;
    std::vector<float> x = signedValues(5);
    c.input("x", {5}, x).ints("a", a).ints("b", b);
    setIntAttr(c.node("Mod", {"a", "b"}, {"m"}), "fmod", fmod);
    c.node("Add", {"x", "m"});
    std::vector<double> y;
    for (size_t i = 0; i < a.size(); ++i) {
      // Python's % (the divisor's sign) or C's fmod (the dividend's).
      double r = fmod ? std::fmod(double(a[i]), double(b[i]))
                      : double(a[i]) - double(b[i]) * std::floor(double(a[i]) / double(b[i]));
      y.push_back(x[i] + r);
    }
    c.output("y", {5}, y);
    expectOutputs(c, "mod" + std::to_string(fmod));
  }
  // Shape arithmetic: a Reshape target computed by Mod.
  ModelCase c;
  std::vector<float> x = signedValues(12);
  c.input("x", {12}, x).ints("a", {20, 6}).ints("b", {9, 7});
  c.node("Mod", {"a", "b"}, {"shape"});
  c.node("Reshape", {"x", "shape"});
  c.output("y", {2, 6}, std::vector<double>(x.begin(), x.end()));
  expectOutputs(c, "modshape");
}

TEST_F(CnnImport, ModRefusesWhatItCannotFold) {
  {
    ModelCase c;
    c.input("x", {3}, signedValues(3)).weight("b", {3}, {2, 2, 2});
    setIntAttr(c.node("Mod", {"x", "b"}, {"y"}, "mod1"), "fmod", 1);
    c.output("y", {3});
    OnnxModel m = load(c, "modrt");
    ASSERT_EQ(m.unsupported().size(), 1u);
    EXPECT_EQ(m.unsupported()[0], "node 'mod1' (Mod): Mod of values computed at run time "
                                  "(only constants are folded)");
  }
  {
    ModelCase c;
    c.input("x", {3}, signedValues(3)).weight("a", {3}, {5, 6, 7}).weight("b", {3}, {2, 2, 2});
    c.node("Mod", {"a", "b"}, {"m"}, "mod2"); // fmod = 0 on floats: the spec forbids it
    c.node("Add", {"x", "m"});
    c.output("y", {3});
    OnnxModel m = load(c, "modf0");
    ASSERT_EQ(m.unsupported().size(), 1u);
    EXPECT_EQ(m.unsupported()[0], "node 'mod2' (Mod): attribute fmod = 0: must be 1 for "
                                  "floating-point inputs");
  }
}

// PyTorch writes Dropout's training_mode as a BOOL initializer (raw bytes)
// or Constant; true or false, the importer runs inference: the identity.
TEST_F(CnnImport, DropoutWithBoolTrainingModeIsTheIdentity) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    ModelCase c;
    std::vector<float> x = signedValues(6);
    c.input("x", {2, 3}, x).weight("ratio", {}, {0.3f});
    if (variant < 2) {
      c.boolean("training", variant == 0, /*raw=*/variant == 0);
    } else {
      auto &k = c.node("Constant", {}, {"training"});
      auto *t = bregman::testing::addAttr(k, "value", ::onnx::AttributeProto::TENSOR)
                    ->mutable_t();
      t->set_data_type(::onnx::TensorProto::BOOL);
      t->set_raw_data(std::string(1, '\1'));
    }
    c.node("Dropout", {"x", "ratio", "training"}, {"d"});
    c.node("Relu", {"d"});
    std::vector<double> y;
    for (float v : x)
      y.push_back(std::max(0.0, double(v)));
    c.output("y", {2, 3}, y);
    expectOutputs(c, "dropout" + std::to_string(variant), 0.0);
  }
  ModelCase c;
  c.input("x", {2, 3}, signedValues(6)).weight("ratio", {}, {1.5f});
  c.node("Dropout", {"x", "ratio"}, {"y"}, "drop1");
  c.output("y", {2, 3});
  OnnxModel m = load(c, "dropoutbad");
  ASSERT_EQ(m.unsupported().size(), 1u);
  EXPECT_EQ(m.unsupported()[0], "node 'drop1' (Dropout): ratio 1.5 is not a scalar in [0, 1)");
}

//===----------------------------------------------------------------------===//
// Sigmoid, Tanh, SiLU (Sigmoid · x, as PyTorch exports it), Elu and
// Softplus retrained
//===----------------------------------------------------------------------===//

// Pre-activations of a few hundred in magnitude: the old 1/(exp(−x) + 1)
// gave NaN gradients at the first step.
TEST_F(CnnImport, RetrainingThroughSaturatedActivationsStaysFinite) {
  std::mt19937 rng(18);
  std::uniform_real_distribution<float> u(-1, 1);
  auto randoms = [&](int n, float scale) {
    std::vector<float> v(n);
    for (float &e : v)
      e = scale * u(rng);
    return v;
  };
  const int64_t batch = 8;
  ModelCase c;
  c.input("x", {batch, 4}, randoms(batch * 4, 3.0f));
  c.weight("fc1.weight", {6, 4}, randoms(24, 60.0f)).weight("fc1.bias", {6}, randoms(6, 1));
  c.weight("fc2.weight", {6, 6}, randoms(36, 40.0f)).weight("fc2.bias", {6}, randoms(6, 1));
  c.weight("fc3.weight", {3, 6}, randoms(18, 1.0f)).weight("fc3.bias", {3}, randoms(3, 1));
  auto gemm = [&](const std::string &in, const std::string &layer, const std::string &out) {
    setIntAttr(c.node("Gemm", {in, layer + ".weight", layer + ".bias"}, {out}), "transB", 1);
  };
  gemm("x", "fc1", "h1");
  c.node("Sigmoid", {"h1"}, {"s1"});
  c.node("Mul", {"h1", "s1"}, {"m1"}); // SiLU
  c.node("Elu", {"h1"}, {"e1"});
  c.node("Softplus", {"h1"}, {"p1"});
  c.node("Add", {"m1", "e1"}, {"q1"});
  c.node("Sub", {"q1", "p1"}, {"a1"});
  gemm("a1", "fc2", "h2");
  c.node("Tanh", {"h2"}, {"a2"});
  c.node("Sigmoid", {"a2"}, {"a3"});
  gemm("a3", "fc3", "y");
  c.output("y", {batch, 3});
  auto model = std::make_shared<OnnxModel>(load(c, "saturated"));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();

  // The first layer really reaches past −88 (and +88).
  Tensor x = c.inputs.at("x");
  std::vector<float> xs = x.toVector<float>(), w1 = model->weights().at("fc1.weight").toVector<float>();
  float lowest = 0, highest = 0;
  for (int64_t r = 0; r < batch; ++r)
    for (int o = 0; o < 6; ++o) {
      float h = 0;
      for (int k = 0; k < 4; ++k)
        h += xs[r * 4 + k] * w1[o * 4 + k];
      lowest = std::min(lowest, h);
      highest = std::max(highest, h);
    }
  ASSERT_LT(lowest, -88.0f);
  ASSERT_GT(highest, 88.0f);

  bregman::onnx::OnnxNetwork net(model, "saturated.onnx", /*fromPretrained=*/true);
  optim::SGD opt({{"all", optim::all(), Regularizer::None, 0.01f}});
  Params params = net.init(0, nn::SparseInit{});
  Params state = opt.init(params);
  auto step = jit([&](const Params &p, const Params &s, const Tensor &xb, const Tensor &yb) {
    auto [loss, g] = valueAndGrad([&](const Params &q) { return crossEntropy(net(q, xb), yb); })(p);
    auto [p2, s2] = opt.update(p, s, g);
    return std::make_tuple(p2, s2, loss, g);
  });
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1}, {batch});
  std::vector<float> losses;
  for (int i = 0; i < 5; ++i) {
    auto [p2, s2, loss, g] = step(params, state, x, labels);
    losses.push_back(loss.item());
    ASSERT_TRUE(std::isfinite(losses.back())) << "step " << i;
    for (const auto &[name, t] : g)
      for (float v : t.toVector<float>())
        ASSERT_TRUE(std::isfinite(v)) << "gradient of " << name << " at step " << i;
    params = p2;
    state = s2;
  }
  for (const auto &[name, t] : params)
    for (float v : t.toVector<float>())
      ASSERT_TRUE(std::isfinite(v)) << name;
  EXPECT_LT(losses.back(), losses.front());
}

//===----------------------------------------------------------------------===//
// A batch size baked into a Reshape (ShuffleNetV2's channel shuffle)
//===----------------------------------------------------------------------===//

/// x[1, 8, 3, 3] → channel shuffle (groups 2) with the targets PyTorch
/// writes at batch 1: Reshape [1, 2, 4, 3, 3], Transpose, Reshape [1, -1, 3, 3];
/// with `head`, a 1x1 Conv before and GlobalAveragePool, Flatten, Gemm to
/// y[1, 5] after.
ModelCase shuffleModel(bool head, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  auto randoms = [&](int n) {
    std::vector<float> v(n);
    for (float &e : v)
      e = u(rng);
    return v;
  };
  ModelCase c;
  c.input("x", {1, 8, 3, 3}, randoms(72));
  c.ints("split", {1, 2, 4, 3, 3}).ints("merge", {1, -1, 3, 3});
  std::string in = "x";
  if (head) {
    c.weight("conv.weight", {8, 8, 1, 1}, randoms(64)).weight("conv.bias", {8}, randoms(8));
    c.node("Conv", {"x", "conv.weight", "conv.bias"}, {"c"});
    in = "c";
  }
  c.node("Reshape", {in, "split"}, {"r"}, "shuffle_split");
  setIntsAttr(c.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1, 3, 4});
  c.node("Reshape", {"t", "merge"}, {head ? "s" : "y"}, "shuffle_merge");
  if (!head) {
    c.output("y", {1, 8, 3, 3});
    return c;
  }
  c.weight("fc.weight", {5, 8}, randoms(40)).weight("fc.bias", {5}, randoms(5));
  c.node("GlobalAveragePool", {"s"}, {"g"});
  c.node("Flatten", {"g"}, {"f"});
  setIntAttr(c.node("Gemm", {"f", "fc.weight", "fc.bias"}), "transB", 1);
  c.output("y", {1, 5});
  return c;
}

Tensor randomBatch(std::mt19937 &rng, const Shape &shape) {
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> v(numElements(shape));
  for (float &e : v)
    e = u(rng);
  return Tensor::fromVector(v, shape);
}

// The shuffle alone at batch 128 against its definition: output channel
// j·2 + i of each example is its input channel i·4 + j.
TEST_F(CnnImport, BakedBatchReshapeShufflesEveryExampleAtBatch128) {
  std::mt19937 rng(4);
  OnnxModel model = load(shuffleModel(false, rng), "shuffle");
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  EXPECT_EQ(model.batchRestriction(), "");
  Tensor x = randomBatch(rng, {128, 8, 3, 3});
  std::vector<float> in = x.toVector<float>();
  std::vector<float> y = runOnnx(model, Params{{"x", x}}).at("y").toVector<float>();
  ASSERT_EQ(y.size(), in.size());
  for (int64_t n = 0; n < 128; ++n)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t p = 0; p < 9; ++p)
          ASSERT_EQ(y[(n * 8 + j * 2 + i) * 9 + p], in[(n * 8 + i * 4 + j) * 9 + p])
              << "example " << n << " channel " << i * 4 + j;
}

// Evaluation and the training gradient at batch 128 equal the model run
// example by example at its exported batch 1.
TEST_F(CnnImport, BakedBatchModelRetrainsAtBatch128LikePerExampleRuns) {
  std::mt19937 rng(5);
  ModelCase c = shuffleModel(true, rng);
  auto model = std::make_shared<OnnxModel>(load(c, "shufflenet"));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  EXPECT_EQ(model->batchRestriction(), "");
  bregman::onnx::OnnxNetwork net(model, "shufflenet.onnx", /*fromPretrained=*/true);
  Params params = net.init(0, nn::SparseInit{});
  const int64_t batch = 128;
  Tensor x = randomBatch(rng, {batch, 72});
  std::vector<int32_t> labels(batch);
  for (int64_t n = 0; n < batch; ++n)
    labels[n] = static_cast<int32_t>((n * 3) % 5);
  auto lossAndGrad = jit([&net](const Params &p, const Tensor &xb, const Tensor &yb) {
    Tensor logits = net(p, xb);
    auto [loss, g] = valueAndGrad([&](const Params &q) { return crossEntropy(net(q, xb), yb); })(p);
    return std::make_tuple(logits, loss, g);
  });
  auto [logits, loss, grads] =
      lossAndGrad(params, x, Tensor::fromVector(labels, {batch}));
  std::vector<float> all = logits.toVector<float>(), xs = x.toVector<float>();
  std::map<std::string, std::vector<double>> meanGrad;
  for (int64_t n = 0; n < batch; ++n) {
    Tensor xn = Tensor::fromVector(std::vector<float>(xs.begin() + n * 72, xs.begin() + (n + 1) * 72), {1, 72});
    auto [ln, lossN, gn] = lossAndGrad(params, xn, Tensor::fromVector(std::vector<int32_t>{labels[n]}, {1}));
    std::vector<float> one = ln.toVector<float>();
    for (int k = 0; k < 5; ++k)
      ASSERT_NEAR(all[n * 5 + k], one[k], 1e-5 + 1e-5 * std::abs(one[k])) << "example " << n;
    for (const auto &[name, t] : gn) {
      std::vector<float> v = t.toVector<float>();
      auto &acc = meanGrad[name];
      acc.resize(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i)
        acc[i] += double(v[i]) / double(batch);
    }
  }
  for (const auto &[name, t] : grads) {
    std::vector<float> v = t.toVector<float>();
    ASSERT_EQ(v.size(), meanGrad.at(name).size()) << name;
    for (size_t i = 0; i < v.size(); ++i)
      EXPECT_NEAR(v[i], meanGrad.at(name)[i], 1e-6 + 1e-4 * std::abs(meanGrad.at(name)[i]))
          << name << "[" << i << "]";
  }
}

// A target that holds the batch elsewhere than in front cannot be
// rewritten: refused at another batch, with what to re-export, and
// inspect knows it at load.
TEST_F(CnnImport, BakedBatchThatIsNotLeadingIsRefusedWithTheReexport) {
  ModelCase c;
  c.input("x", {1, 8, 3, 3}, signedValues(72)).ints("flat", {72});
  c.node("Reshape", {"x", "flat"}, {"y"}, "flatten_all");
  c.output("y", {72});
  OnnxModel model = load(c, "flatall");
  EXPECT_TRUE(model.unsupported().empty());
  const std::string why =
      "node 'flatten_all' (Reshape): the target shape [72] was fixed for the exported batch 1 "
      "and does not fit the data [2, 8, 3, 3] at batch 2 (its leading dimension is not the "
      "batch); re-export with a dynamic batch, torch.onnx.export(..., input_names=['x'], "
      "dynamic_axes={'x': {0: 'batch'}}), or write this reshape with -1 or x.size(0) for the "
      "batch";
  EXPECT_EQ(model.batchRestriction(), "at batch 2: " + why);
  // At the exported batch it runs; at another, apply refuses with the same reason.
  EXPECT_EQ(runOnnx(model, c.inputs).at("y").numel(), 72);
  try {
    (void)runOnnx(model, Params{{"x", Tensor::zeros({2, 8, 3, 3})}});
    ADD_FAILURE() << "a batch-2 run of a batch-1 flatten did not fail";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), "unsupported: " + why);
  }
}

// BERT's cls.expand(b, 1, d) exported at batch 1: the 1 of b is folded
// into the Expand's shape among other 1s, so at batch 2 the Concat with the
// tokens fails; the refusal names the node and says what to re-export.
TEST_F(CnnImport, BatchFoldedAmongOnesIsRefusedWithTheReexport) {
  ModelCase c;
  c.input("x", {1, 2, 3}, signedValues(6))
      .weight("cls", {1, 1, 3}, {0.5f, -0.5f, 0.25f})
      .ints("cls_shape", {1, 1, 3});
  c.node("Expand", {"cls", "cls_shape"}, {"c"}, "/Expand");
  setIntAttr(c.node("Concat", {"c", "x"}, {"y"}, "/Concat"), "axis", 1);
  c.output("y", {1, 3, 3});
  OnnxModel model = load(c, "clsexpand");
  EXPECT_TRUE(model.unsupported().empty());
  EXPECT_EQ(runOnnx(model, c.inputs).at("y").numel(), 9);
  const std::string &why = model.batchRestriction();
  EXPECT_EQ(why.rfind("at batch 2: node '/Concat' (Concat): ", 0), 0u) << why;
  EXPECT_NE(why.find("(at batch 2; the model's inputs declare a static batch 1"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("dynamic_axes={'x': {0: 'batch'}}"), std::string::npos) << why;
}

// Exported with dynamic axes, the batch is symbolic: imported, its shape
// arithmetic folded at the batch of each call.
TEST_F(CnnImport, DynamicBatchInputsImportAndRunAtAnyBatch) {
  std::mt19937 rng(6);
  ModelCase c;
  c.input("x", {1, 8, 3, 3}, signedValues(72));
  for (auto *v : {c.graph().mutable_input(0)})
    v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("batch");
  c.ints("zero", {0}).ints("rest", {2, 4, 3, 3}).ints("merge", {-1, 8, 3, 3});
  c.node("Shape", {"x"}, {"shape"});
  c.node("Gather", {"shape", "zero"}, {"n"});
  setIntAttr(c.node("Concat", {"n", "rest"}, {"split"}), "axis", 0);
  c.node("Reshape", {"x", "split"}, {"r"});
  setIntsAttr(c.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1, 3, 4});
  c.node("Reshape", {"t", "merge"});
  c.output("y", {1, 8, 3, 3});
  c.graph().mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
      ->mutable_dim(0)->set_dim_param("batch");
  OnnxModel model = load(c, "dynamic");
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  EXPECT_TRUE(model.inputs()[0].dynamicBatch);
  EXPECT_EQ(model.batchRestriction(), "");
  Tensor x = randomBatch(rng, {3, 8, 3, 3});
  std::vector<float> in = x.toVector<float>();
  std::vector<float> y = runOnnx(model, Params{{"x", x}}).at("y").toVector<float>();
  ASSERT_EQ(y.size(), in.size());
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_EQ(y[(n * 8 + j * 2 + i) * 9], in[(n * 8 + i * 4 + j) * 9]);
}

//===----------------------------------------------------------------------===//
// inspect's verdict is run's
//===----------------------------------------------------------------------===//

/// Whether the model compiles and runs on `inputs`.
bool runs(const OnnxModel &model, const Params &inputs) {
  try {
    (void)runOnnx(model, inputs);
    return true;
  } catch (const Error &) {
    return false;
  }
}

/// `inputs` with the batch (dimension 0) of each grown by one.
Params nextBatch(const Params &inputs) {
  Params out;
  for (const auto &[name, t] : inputs) {
    Shape shape = t.shape();
    shape[0] += 1;
    out.add(name, Tensor::zeros(shape));
  }
  return out;
}

// The two models the issue found inspect passing and run refusing:
// whatever the importer's verdict on them (ceil_mode is supported now; 3-D
// MatMul until batched matmul lands), inspect (unsupported(), from the
// load-time replay through the handlers) and run agree, at the declared
// batch and (batchRestriction()) at another.
TEST_F(CnnImport, InspectAndRunAgree) {
  std::vector<std::pair<std::string, ModelCase>> models;
  {
    ModelCase c;
    c.input("x", {1, 1, 4, 4}, signedValues(16));
    auto &n = c.node("MaxPool", {"x"}, {"y"}, "pool1");
    setIntsAttr(n, "kernel_shape", {3, 3});
    setIntsAttr(n, "strides", {2, 2});
    setIntAttr(n, "ceil_mode", 1);
    c.output("y", {1, 1, 2, 2});
    models.emplace_back("maxpool_ceil", c);
  }
  {
    ModelCase c;
    c.input("a", {2, 3, 4}, signedValues(24)).input("b", {2, 4, 3}, signedValues(24));
    c.node("MatMul", {"a", "b"}, {"y"}, "mm1");
    c.output("y", {2, 3, 3});
    models.emplace_back("matmul_3d", c);
  }
  for (const auto &[name, c] : models) {
    SCOPED_TRACE(name);
    OnnxModel model = load(c, name);
    bool supported = model.unsupported().empty();
    EXPECT_EQ(supported, runs(model, c.inputs));
    if (supported)
      EXPECT_EQ(model.batchRestriction().empty(), runs(model, nextBatch(c.inputs)));
  }
}

//===----------------------------------------------------------------------===//
// ConvTranspose weights are trained (a U-Net's up-convolutions)
//===----------------------------------------------------------------------===//

/// up: ConvTranspose x[2, 2, 3, 3] → y[2, 3, 6, 6], weight [2, 3, 3, 3],
/// bias [3], stride 2, pads 1, output_padding 1 (the U-Net's upsampling).
struct UpConv {
  static constexpr int64_t kN = 2, kIn = 2, kOut = 3, kSize = 3, kK = 3, kOutSize = 6;
  std::vector<double> x, w, b;

  /// y = ConvTranspose(x, w) + b in float64: each input cell (i, j) adds
  /// its kernel, scaled, at output rows 2i − 1 + u and columns 2j − 1 + v.
  template <typename Visit> void forEachTap(Visit visit) const {
    for (int64_t n = 0; n < kN; ++n)
      for (int64_t c = 0; c < kIn; ++c)
        for (int64_t o = 0; o < kOut; ++o)
          for (int64_t i = 0; i < kSize; ++i)
            for (int64_t j = 0; j < kSize; ++j)
              for (int64_t u = 0; u < kK; ++u)
                for (int64_t v = 0; v < kK; ++v) {
                  int64_t r = 2 * i - 1 + u, q = 2 * j - 1 + v;
                  if (r < 0 || r >= kOutSize || q < 0 || q >= kOutSize)
                    continue;
                  visit(((c * kSize + i) * kSize + j) + n * kIn * kSize * kSize,
                        ((c * kOut + o) * kK + u) * kK + v,
                        ((n * kOut + o) * kOutSize + r) * kOutSize + q);
                }
  }
  std::vector<double> forward() const {
    std::vector<double> y(kN * kOut * kOutSize * kOutSize);
    for (size_t e = 0; e < y.size(); ++e)
      y[e] = b[(e / (kOutSize * kOutSize)) % kOut];
    forEachTap([&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
    return y;
  }
};

// Issue 18: ConvTranspose had no parameter roles, so retraining kept its
// weight and bias as frozen constants (a U-Net's up-convolutions never
// trained; scripts/onnx/check-training.sh found it against PyTorch). They
// are now the layer's parameters, and their gradient through the network
// equals the float64 one written out and central finite differences.
TEST_F(CnnImport, ConvTransposeWeightsAreTrainedParameters) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  auto randoms = [&](int64_t n) {
    std::vector<double> v(n);
    for (double &e : v)
      e = uniform(rng);
    return v;
  };
  UpConv ref{randoms(2 * 2 * 9), randoms(2 * 3 * 9), randoms(3)};
  auto asFloat = [](const std::vector<double> &v) { return std::vector<float>(v.begin(), v.end()); };
  ModelCase c;
  c.input("x", {2, 2, 3, 3}, asFloat(ref.x));
  c.weight("up.weight", {2, 3, 3, 3}, asFloat(ref.w)).weight("up.bias", {3}, asFloat(ref.b));
  auto &n = c.node("ConvTranspose", {"x", "up.weight", "up.bias"}, {"y"}, "/up/ConvTranspose");
  setIntsAttr(n, "strides", {2, 2});
  setIntsAttr(n, "pads", {1, 1, 1, 1});
  setIntsAttr(n, "output_padding", {1, 1});
  c.output("y", {2, 3, 6, 6});
  auto model = std::make_shared<OnnxModel>(load(c, "upconv"));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  bregman::onnx::OnnxNetwork net(model, "upconv.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.onnxNames(), (std::map<std::string, std::string>{
                                 {"up.weight", "up.weight"}, {"up.bias", "up.bias"}}));
  EXPECT_TRUE(net.initBuffers().empty()) << "nothing is left frozen";

  Params p{{"up.weight", Tensor::fromVector(ref.w, {2, 3, 3, 3})},
           {"up.bias", Tensor::fromVector(ref.b, {3})}};
  Tensor x = Tensor::fromVector(ref.x, {2, 18}); // the network takes flattened rows
  std::vector<double> g = randoms(2 * 3 * 6 * 6);
  Tensor gt = Tensor::fromVector(g, {2, 3, 6, 6});
  // Concrete tensors enter jit functions as arguments.
  Params aux{{"x", x}, {"g", gt}};
  auto f = [&net](const Params &q, const Params &a) {
    return sum(net.forward(q, a.at("x"), nn::Mode{}) * a.at("g"));
  };
  std::vector<double> y = jit([&net](const Params &q, const Params &a) {
                            return net.forward(q, a.at("x"), nn::Mode{});
                          })(p, aux).toVector<double>();
  std::vector<double> want = ref.forward();
  ASSERT_EQ(y.size(), want.size());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], want[i], 1e-12) << "y[" << i << "]";

  // d/dw Σ g ⊙ y = Σ over taps of x · g; d/db = Σ of g over the channel.
  std::vector<double> dw(ref.w.size(), 0.0), db(3, 0.0);
  ref.forEachTap([&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += ref.x[xi] * g[yi]; });
  for (size_t e = 0; e < g.size(); ++e)
    db[(e / 36) % 3] += g[e];
  Params analytic = jit([f](const Params &q, const Params &a) {
    return grad([&](const Params &r) { return f(r, a); })(q);
  })(p, aux);
  auto forward = jit([f](const Params &q, const Params &a) { return f(q, a); });
  const double h = 1e-6;
  for (const auto &[name, expected] :
       std::map<std::string, std::vector<double>>{{"up.weight", dw}, {"up.bias", db}}) {
    std::vector<double> got = analytic.at(name).toVector<double>();
    ASSERT_EQ(got.size(), expected.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], expected[i], 1e-10) << "d/d" << name << "[" << i << "]";
      Params plus = p, minus = p;
      std::vector<double> up = p.at(name).toVector<double>(), down = up;
      up[i] += h;
      down[i] -= h;
      plus.set(name, Tensor::fromVector(up, p.at(name).shape()));
      minus.set(name, Tensor::fromVector(down, p.at(name).shape()));
      double fd = (forward(plus, aux).item() - forward(minus, aux).item()) / (2 * h);
      EXPECT_NEAR(got[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << "finite differences, " << name;
    }
  }
}

} // namespace
