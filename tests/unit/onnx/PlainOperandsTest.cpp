//===- PlainOperandsTest.cpp - Plainly read parameters train --------------===//
//
// Issue 18: a float initializer read only as a plain operand trains when
// PyTorch would train it (a position table added by Add, a cls token
// expanded and concatenated, a learned scale multiplied in) and stays a
// constant when the exporter wrote it as one (an "onnx::"-named scalar in a
// Mul, a Pow exponent). The rule (onnx::plainOperandVerdict) on the names
// and reads torch.onnx.export 2.15 writes; the network built on it
// (names, roles, the --freeze and --train-operands options, the export);
// the forward pass against the definition written out in float64 and the
// gradient against central finite differences (h = 1e-6, tolerance
// 1e-8 + 1e-6·|fd|, as EmbeddingRoleTest.cpp).
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"

#include "bregman/onnx/OnnxNetwork.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <unistd.h>

using namespace bregman;
using bregman::onnx::OnnxModel;
using bregman::onnx::OnnxNetwork;
using bregman::onnx::OperandVerdict;
using bregman::onnx::ParamRole;
using bregman::onnx::PlainRead;
using bregman::onnx::RetrainOptions;
using bregman::testing::ModelCase;
namespace fs = std::filesystem;

namespace {

Tensor randomTensor(std::mt19937 &rng, const Shape &shape) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(numElements(shape));
  for (double &x : v)
    x = u(rng);
  return Tensor::fromVector(v, shape);
}

Tensor filled(const Shape &shape, float value) {
  return Tensor::fromVector(std::vector<float>(numElements(shape), value), shape);
}

OperandVerdict verdict(const std::string &name, const Tensor &value,
                       std::vector<PlainRead> reads) {
  return bregman::onnx::plainOperandVerdict(name, value, reads);
}

// --- The rule, on what torch.onnx.export 2.15 writes ----------------------

TEST(PlainOperandRule, ModulePathParametersReadAsDataTrain) {
  std::mt19937 rng(1);
  OperandVerdict pos = verdict("pos", randomTensor(rng, {1, 5, 8}), {{"Add", "/Add", 1}});
  EXPECT_TRUE(pos.trained);
  EXPECT_EQ(pos.role, ParamRole::Learned);
  EXPECT_NE(pos.reason.find("Add input 1 of node '/Add'"), std::string::npos) << pos.reason;
  EXPECT_TRUE(verdict("encoder.cls_token", randomTensor(rng, {1, 1, 8}),
                      {{"Expand", "/Expand", 0}})
                  .trained);
  EXPECT_TRUE(verdict("temp", filled({}, 0.7f), {{"Div", "/Div_1", 1}}).trained);
  EXPECT_TRUE(verdict("cls", randomTensor(rng, {1, 1, 8}), {{"Concat", "/Concat", 0}}).trained);
  // nn.Linear on a sequence: MatMul + Add, the bias an Add operand.
  OperandVerdict bias = verdict("fc.bias", randomTensor(rng, {8}), {{"Add", "/fc/Add", 0}});
  EXPECT_TRUE(bias.trained);
  EXPECT_EQ(bias.role, ParamRole::Bias);
  // A ≥2-D tensor a matrix product reads is a weight (regularized).
  OperandVerdict w = verdict("proj", randomTensor(rng, {4, 8}), {{"MatMul", "/MatMul", 0}});
  EXPECT_TRUE(w.trained);
  EXPECT_EQ(w.role, ParamRole::LinearWeight);
}

TEST(PlainOperandRule, ExporterConstantsStayFrozen) {
  // Names of folded constants (TorchScript, TorchScript's node outputs,
  // dynamo), even as data operands.
  for (const char *name : {"onnx::Mul_123", "/attn/Constant_output_0", "val_13", "_val_4"}) {
    OperandVerdict v = verdict(name, filled({}, 0.35f), {{"Mul", "/Mul", 1}});
    EXPECT_FALSE(v.trained) << name;
    EXPECT_EQ(v.reason, "named as an exporter's constant") << name;
  }
  // Attribute-like inputs (dynamo names Clip's bounds "add_1_min"): the
  // reason names the op, the input and the node.
  OperandVerdict exponent = verdict("exponent", filled({}, 2.0f), {{"Pow", "/Pow", 1}});
  EXPECT_FALSE(exponent.trained);
  EXPECT_EQ(exponent.reason, "read as Pow input 1 (exponent) by node '/Pow'");
  EXPECT_FALSE(verdict("add_1_min", filled({}, -3.0f), {{"Clip", "/Clip", 1}}).trained);
  EXPECT_FALSE(verdict("scales", filled({4}, 2.0f), {{"Resize", "/Resize", 2}}).trained);
  // One data read and one attribute-like read: a constant.
  EXPECT_FALSE(verdict("two", filled({}, 2.0f), {{"Mul", "/Mul", 1}, {"Pow", "/Pow", 1}}).trained);
}

// Dynamo merges two LayerScale γ (1e-5 each) into one tensor read twice:
// training it would tie them, so it stays frozen; a tensor of distinct
// values read twice is a real sharing and trains once.
TEST(PlainOperandRule, ConstantValuedTensorReadTwiceStaysFrozen) {
  std::vector<PlainRead> twice = {{"Mul", "/Mul_1", 0}, {"Mul", "/Mul_2", 0}};
  OperandVerdict merged = verdict("ls1", filled({8}, 1e-5f), twice);
  EXPECT_FALSE(merged.trained);
  EXPECT_NE(merged.reason.find("read by 2 nodes"), std::string::npos) << merged.reason;
  std::mt19937 rng(2);
  EXPECT_TRUE(verdict("shared", randomTensor(rng, {8}), twice).trained);
}

// --- The network -------------------------------------------------------

constexpr int64_t kBatch = 2;

/// y[2, 4, 3] = ((0.5 · (concat(cls, x) + pos) ⊙ scale) ^ 2) · W, as a
/// ViT-style module exports: cls [1, 1, 4] expanded to the batch and
/// concatenated before the tokens x [2, 3, 4], pos [1, 4, 4] added, a
/// learned scale [4] multiplied in; "onnx::Mul_7" (0.5) a folded constant
/// and "exponent" (2) Pow's exponent.
ModelCase vitLikeModel() {
  std::mt19937 rng(3);
  auto values = [&](int64_t n) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float &x : v)
      x = u(rng);
    return v;
  };
  ModelCase c;
  c.input("x", {kBatch, 3, 4}, values(kBatch * 12))
      .weight("cls", {1, 1, 4}, values(4))
      .weight("pos", {1, 4, 4}, values(16))
      .weight("scale", {4}, values(4))
      .weight("onnx::Mul_7", {}, {0.5f})
      .weight("exponent", {}, {2.0f})
      .weight("head.weight", {4, 3}, values(12))
      .ints("cls_shape", {kBatch, 1, 4});
  c.node("Expand", {"cls", "cls_shape"}, {"c"}, "/Expand");
  bregman::testing::setIntAttr(c.node("Concat", {"c", "x"}, {"t"}, "/Concat"), "axis", 1);
  c.node("Add", {"t", "pos"}, {"p"}, "/Add");
  c.node("Mul", {"p", "scale"}, {"s"}, "/Mul");
  c.node("Mul", {"s", "onnx::Mul_7"}, {"h"}, "/Mul_1");
  c.node("Pow", {"h", "exponent"}, {"q"}, "/Pow");
  c.node("MatMul", {"q", "head.weight"}, {"y"}, "/head/MatMul");
  c.output("y", {kBatch, 4, 3});
  return c;
}

class PlainOperands : public ::testing::Test {
protected:
  fs::path dir;
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_plain_operands_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::shared_ptr<const OnnxModel> load(const ModelCase &c, const std::string &name) {
    auto model = std::make_shared<const OnnxModel>(
        OnnxModel::load(bregman::testing::writeModel(c.model, dir, name)));
    EXPECT_TRUE(model->unsupported().empty()) << model->unsupported().front();
    return model;
  }
};

TEST_F(PlainOperands, PositionClsAndScaleTrainConstantsStayFrozen) {
  OnnxNetwork net(load(vitLikeModel(), "roles"), "roles.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.onnxNames(), (std::map<std::string, std::string>{
                                 {"cls.learned", "cls"},
                                 {"pos.learned", "pos"},
                                 {"scale.learned", "scale"},
                                 {"head.weight", "head.weight"}}));
  // The imported values are the starting point, also without
  // --from-pretrained (the model's own init is not in the file).
  OnnxNetwork fresh(load(vitLikeModel(), "fresh"), "fresh.onnx", /*fromPretrained=*/false);
  Params init = fresh.init(0, nn::SparseInit{});
  EXPECT_EQ(init.at("pos.learned").toVector<float>(),
            fresh.model().weights().at("pos").toVector<float>());
  // The frozen ones travel as buffers, with the reason inspect prints.
  Params buffers = net.initBuffers();
  EXPECT_TRUE(buffers.contains("frozen:onnx::Mul_7"));
  EXPECT_TRUE(buffers.contains("frozen:exponent"));
  EXPECT_EQ(buffers.size(), 2u);
  std::map<std::string, bregman::onnx::InitializerRole> roles;
  for (const bregman::onnx::InitializerRole &r : net.initializerRoles())
    roles[r.onnxName] = r;
  ASSERT_EQ(roles.size(), 6u);
  EXPECT_TRUE(roles.at("pos").trained);
  EXPECT_EQ(roles.at("pos").role, "learned operand (no regularizer)");
  EXPECT_EQ(roles.at("head.weight").reason, "the operator's table");
  EXPECT_FALSE(roles.at("onnx::Mul_7").trained);
  EXPECT_EQ(roles.at("onnx::Mul_7").reason, "named as an exporter's constant");
  EXPECT_EQ(roles.at("exponent").reason, "read as Pow input 1 (exponent) by node '/Pow'");
}

TEST_F(PlainOperands, FreezeAndTrainOperandsNoneKeepThemAsImported) {
  auto model = load(vitLikeModel(), "options");
  OnnxNetwork frozen(model, "options.onnx", true, RetrainOptions{true, {"pos", "head.weight"}, {}});
  EXPECT_EQ(frozen.onnxNames(), (std::map<std::string, std::string>{
                                    {"cls.learned", "cls"}, {"scale.learned", "scale"}}));
  EXPECT_TRUE(frozen.initBuffers().contains("frozen:pos"));
  for (const bregman::onnx::InitializerRole &r : frozen.initializerRoles())
    if (r.onnxName == "pos")
      EXPECT_EQ(r.reason, "--freeze pos");
  OnnxNetwork none(model, "options.onnx", true, RetrainOptions{false, {}, {}});
  EXPECT_EQ(none.onnxNames(),
            (std::map<std::string, std::string>{{"head.weight", "head.weight"}}));
  // An unknown name (and an int64 initializer) is refused by name.
  for (const char *name : {"position", "cls_shape"}) {
    try {
      OnnxNetwork bad(model, "options.onnx", true, RetrainOptions{true, {name}, {}});
      ADD_FAILURE() << "--freeze " << name << " was accepted";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(std::string("no float initializer '") + name + "'"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("options.onnx"), std::string::npos) << e.what();
    }
  }
}

// --unfreeze trains what the rule keeps (an exporter-constant name), and
// refuses an attribute-like read, an unknown name, a name also frozen and a
// batch-norm statistic, each by name.
TEST_F(PlainOperands, UnfreezeTrainsWhatTheRuleKeeps) {
  auto model = load(vitLikeModel(), "unfreeze");
  OnnxNetwork net(model, "unfreeze.onnx", true, RetrainOptions{true, {}, {"onnx::Mul_7"}});
  bool found = false;
  for (const bregman::onnx::InitializerRole &r : net.initializerRoles())
    if (r.onnxName == "onnx::Mul_7") {
      found = true;
      EXPECT_TRUE(r.trained);
      EXPECT_EQ(r.reason, "--unfreeze onnx::Mul_7 (the rule would keep it: named as an "
                          "exporter's constant)");
    }
  EXPECT_TRUE(found);
  auto refused = [&](RetrainOptions options, const std::string &expected) {
    try {
      OnnxNetwork bad(model, "unfreeze.onnx", true, options);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused(RetrainOptions{true, {}, {"exponent"}},
          "--unfreeze exponent: in unfreeze.onnx, it is read as Pow input 1 (exponent) by "
          "node '/Pow': a setting");
  refused(RetrainOptions{true, {}, {"position"}},
          "--unfreeze position: unfreeze.onnx has no float initializer 'position'");
  refused(RetrainOptions{true, {"pos"}, {"pos"}}, "--unfreeze pos: also given to --freeze");
}

/// net's output for params `q` (f64) and aux: "x" the batch, the rest the
/// network's buffers (frozen constants) under their names.
Tensor forwardWithBuffers(const OnnxNetwork &net, const Params &q, const Params &aux) {
  Params buffers;
  for (const auto &[name, t] : aux)
    if (name != "x" && name != "w")
      buffers.add(name, t);
  nn::Mode mode;
  mode.buffers = &buffers;
  return net.forward(q, aux.at("x"), mode);
}

// A batch norm's running statistic is not something --freeze can keep.
TEST_F(PlainOperands, FreezeRefusesARunningStatistic) {
  ModelCase c;
  c.input("x", {2, 3}, std::vector<float>(6, 1.0f))
      .weight("bn.weight", {3}, {1.0f, 2.0f, 3.0f})
      .weight("bn.bias", {3}, {0.5f, 0.25f, 0.125f})
      .weight("bn.running_mean", {3}, {0.1f, 0.2f, 0.3f})
      .weight("bn.running_var", {3}, {1.5f, 2.5f, 3.5f});
  c.node("BatchNormalization",
         {"x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, {"y"}, "bn");
  c.output("y", {2, 3});
  auto model = load(c, "statistics");
  EXPECT_NO_THROW(OnnxNetwork(model, "statistics.onnx", true, RetrainOptions{true, {"bn.weight"}, {}}));
  try {
    OnnxNetwork(model, "statistics.onnx", true, RetrainOptions{true, {"bn.running_var"}, {}});
    ADD_FAILURE() << "--freeze bn.running_var was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("--freeze bn.running_var: in statistics.onnx, "
                                         "'bn.running_var' is a running statistic"),
              std::string::npos)
        << e.what();
  }
  try {
    OnnxNetwork(model, "statistics.onnx", true, RetrainOptions{true, {}, {"bn.running_mean"}});
    ADD_FAILURE() << "--unfreeze bn.running_mean was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("--unfreeze bn.running_mean: in statistics.onnx, "
                                         "'bn.running_mean' is a running statistic"),
              std::string::npos)
        << e.what();
  }
}

// The forward pass against the definition in f64, and d(Σ w ⊙ y) by
// central differences for every element of cls, pos, scale and W; the
// constants are not parameters (no gradient is asked of them) and keep
// their values in the output (0.5 and the square).
TEST_F(PlainOperands, GradientsOfPositionClsAndScaleMatchFiniteDifferences) {
  OnnxNetwork net(load(vitLikeModel(), "grad"), "grad.onnx", /*fromPretrained=*/true);
  std::mt19937 rng(11);
  Params p{{"cls.learned", randomTensor(rng, {1, 1, 4})},
           {"pos.learned", randomTensor(rng, {1, 4, 4})},
           {"scale.learned", randomTensor(rng, {4})},
           {"head.weight", randomTensor(rng, {4, 3})}};
  Tensor x = randomTensor(rng, {kBatch, 12});
  Params aux{{"x", x}, {"w", randomTensor(rng, {kBatch, 4, 3})}};
  for (const auto &[name, t] : net.initBuffers()) {
    std::vector<float> v = t.toVector<float>();
    aux.add(name, Tensor::fromVector(std::vector<double>(v.begin(), v.end()), t.shape()));
  }

  Tensor y = jit([&net](const Params &q, const Params &a) {
    return forwardWithBuffers(net, q, a);
  })(p, aux);
  ASSERT_EQ(y.shape(), (Shape{kBatch, 4, 3}));
  std::vector<double> cls = p.at("cls.learned").toVector<double>(),
                      pos = p.at("pos.learned").toVector<double>(),
                      scale = p.at("scale.learned").toVector<double>(),
                      w = p.at("head.weight").toVector<double>(), xv = x.toVector<double>(),
                      got = y.toVector<double>();
  for (int n = 0; n < kBatch; ++n)
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < 3; ++j) {
        double want = 0.0;
        for (int k = 0; k < 4; ++k) {
          double token = t == 0 ? cls[k] : xv[n * 12 + (t - 1) * 4 + k];
          double h = 0.5 * (token + pos[t * 4 + k]) * scale[k];
          want += h * h * w[k * 3 + j];
        }
        EXPECT_NEAR(got[(n * 4 + t) * 3 + j], want, 1e-12) << n << "," << t << "," << j;
      }

  auto f = [&net](const Params &q, const Params &a) {
    return sum(forwardWithBuffers(net, q, a) * a.at("w"));
  };
  auto forward = jit([f](const Params &q, const Params &a) { return f(q, a); });
  Params g = jit([f](const Params &q, const Params &a) {
    return grad([&](const Params &r) { return f(r, a); })(q);
  })(p, aux);
  EXPECT_EQ(g.size(), 4u);
  const double h = 1e-6;
  for (const auto &[name, t] : p) {
    std::vector<double> analytic = g.at(name).toVector<double>(), base = t.toVector<double>();
    double largest = 0.0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      Params plus = p.copy(), minus = p.copy();
      plus.at(name).data<double>()[i] = base[i] + h;
      minus.at(name).data<double>()[i] = base[i] - h;
      double fd = (forward(plus, aux).item() - forward(minus, aux).item()) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << name << "[" << i << "]";
      largest = std::max(largest, std::abs(fd));
    }
    EXPECT_GT(largest, 1e-3) << name << " has no gradient to check";
  }
}

// The export writes the trained values back under the initializer names
// of the file; the frozen constants keep theirs.
TEST_F(PlainOperands, ExportWritesTrainedOperandsUnderTheirNames) {
  auto model = load(vitLikeModel(), "export");
  OnnxNetwork net(model, "export.onnx", /*fromPretrained=*/true);
  Params trained;
  for (const auto &[name, t] : net.init(0, nn::SparseInit{}))
    trained.add(name, filled(t.shape(), 0.25f));
  Params initializers = net.onnxInitializers(trained, net.initBuffers());
  fs::path out = dir / "exported.onnx";
  net.model().save(out.string(), initializers);
  OnnxModel back = OnnxModel::load(out.string());
  for (const char *name : {"cls", "pos", "scale", "head.weight"})
    EXPECT_EQ(back.weights().at(name).toVector<float>(),
              std::vector<float>(back.weights().at(name).numel(), 0.25f))
        << name;
  EXPECT_EQ(back.weights().at("onnx::Mul_7").toVector<float>(), std::vector<float>{0.5f});
  EXPECT_EQ(back.weights().at("exponent").toVector<float>(), std::vector<float>{2.0f});
}

} // namespace

// The Trainer writes training batches feature-major for a model whose 2-D
// input goes straight into one Gemm or MatMul (nn::Model::
// inputLinearWeight): that layer's CSR product reads them untransposed.
// Any other first reader, a second reader, or Gemm's transA keeps them
// sample-major.
TEST_F(PlainOperands, InputLinearWeightIsTheOnlyReadersWeight) {
  enum class Case { Gemm, MatMul, ReluFirst, TwoReaders, TransA };
  auto network = [&](Case k) {
    ModelCase c;
    bool transA = k == Case::TransA;
    c.input("x", transA ? Shape{3, 2} : Shape{2, 3},
            std::vector<float>(6, 1.0f))
        .weight("fc.weight", {4, 3}, std::vector<float>(12, 0.5f))
        .weight("fc.bias", {4}, std::vector<float>(4, 0.0f))
        .weight("w.t", {3, 4}, std::vector<float>(12, 0.5f));
    std::string a = "x";
    if (k == Case::ReluFirst) {
      c.node("Relu", {"x"}, {"r"});
      a = "r";
    }
    if (k == Case::MatMul) {
      c.node("MatMul", {a, "w.t"}, {"h"});
    } else {
      auto &gemm = c.node("Gemm", {a, "fc.weight", "fc.bias"}, {"h"});
      bregman::testing::setIntAttr(gemm, "transB", 1);
      if (transA)
        bregman::testing::setIntAttr(gemm, "transA", 1);
    }
    if (k == Case::TwoReaders) {
      c.node("MatMul", {"x", "w.t"}, {"h2"});
      c.node("Add", {"h", "h2"}, {"y"});
      c.output("y", {2, 4});
    } else {
      c.output("h", {2, 4});
    }
    return OnnxNetwork(load(c, "input-linear-" + std::to_string(int(k))),
                       "m.onnx", true);
  };
  EXPECT_EQ(network(Case::Gemm).inputLinearWeight(), "fc.weight");
  // The parameter's name (a linear weight's ends in ".weight").
  EXPECT_EQ(network(Case::MatMul).inputLinearWeight(), "w.t.weight");
  EXPECT_EQ(network(Case::ReluFirst).inputLinearWeight(), "");
  EXPECT_EQ(network(Case::TwoReaders).inputLinearWeight(), "");
  EXPECT_EQ(network(Case::TransA).inputLinearWeight(), "");
}
