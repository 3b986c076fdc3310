//===- TiedInitializersTest.cpp - One initializer read in several roles ---===//
//
// PyTorch's exporter merges initializers of equal values (issue 18 A2): a
// fresh batch norm's γ is its running variance, β its running mean, and
// every batch norm of one width shares them. Retraining splits them so that
// each role of each layer is a tensor of its own, and the export writes
// each back.
//
//===----------------------------------------------------------------------===//

#include "OnnxModels.h"

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace bregman;
using bregman::onnx::InitializerSplit;
using bregman::onnx::OnnxModel;
using bregman::onnx::OnnxNetwork;
using bregman::onnx::ParamRole;
using bregman::testmodels::OnnxGraph;

namespace {

class TiedInitializers : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bregman_tied_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::shared_ptr<const OnnxModel> load(const OnnxGraph &g, const std::string &name) {
    return std::make_shared<const OnnxModel>(OnnxModel::load(g.write((dir / name).string())));
  }
  fs::path dir;
};

bool sameBits(const Tensor &a, const Tensor &b) {
  std::vector<float> u = a.toVector<float>(), v = b.toVector<float>();
  return a.shape() == b.shape() && std::memcmp(u.data(), v.data(), u.size() * 4) == 0;
}

/// Node `node`'s input names.
std::vector<std::string> inputsOf(const OnnxModel &m, const std::string &node) {
  for (const auto &n : m.summary())
    if (n.name == node)
      return n.inputs;
  ADD_FAILURE() << "no node " << node;
  return {};
}

/// The graph's output in evaluation mode on `x` [1, features].
Tensor evaluate(const OnnxModel &m, const Tensor &x) {
  auto run = jit([&m](const Params &w, const Params &c, const Tensor &xt) {
    return m.apply(w, c, Params{{"x", xt}}).at(m.outputs().front().name);
  });
  return run(m.weights(), m.constants(), x);
}

Tensor randomInput(int64_t n, int64_t features, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> v(n * features);
  for (float &x : v)
    x = u(rng);
  return Tensor::fromVector(v, {n, features});
}

/// a·t + b, on the host.
Tensor affine(const Tensor &t, float a, float b) {
  std::vector<float> v = t.toVector<float>();
  for (float &x : v)
    x = a * x + b;
  return Tensor::fromVector(v, t.shape());
}

std::string describe(const InitializerSplit &s) {
  return s.node + ":" + std::to_string(s.input) + " " + s.initializer + " -> " + s.copy;
}

} // namespace

// What torch.onnx.export writes for a fresh module with two batch norms of
// one width: every role of both layers but bn1's γ and β gets a copy,
// named as PyTorch names the tensor; the graph computes the same.
TEST_F(TiedInitializers, FreshBatchNormsAreSplitPerRoleAndLayer) {
  auto tied = load(testmodels::batchNormMlp(4, 3, 2, /*tied=*/true), "tied.onnx");
  std::vector<std::string> splits;
  for (const InitializerSplit &s : tied->tiedInitializers())
    splits.push_back(describe(s));
  EXPECT_EQ(splits, (std::vector<std::string>{
                        "bn1:3 bn1.bias -> bn1.running_mean",
                        "bn1:4 bn1.weight -> bn1.running_var",
                        "bn2:1 bn1.weight -> bn2.weight",
                        "bn2:2 bn1.bias -> bn2.bias",
                        "bn2:3 bn1.bias -> bn2.running_mean",
                        "bn2:4 bn1.weight -> bn2.running_var",
                    }));
  OnnxModel untied = tied->untied();
  EXPECT_TRUE(untied.unsupported().empty());
  EXPECT_TRUE(untied.tiedInitializers().empty());
  EXPECT_EQ(inputsOf(untied, "bn1"), (std::vector<std::string>{"h1", "bn1.weight", "bn1.bias",
                                                              "bn1.running_mean",
                                                              "bn1.running_var"}));
  EXPECT_EQ(inputsOf(untied, "bn2"), (std::vector<std::string>{"h2", "bn2.weight", "bn2.bias",
                                                              "bn2.running_mean",
                                                              "bn2.running_var"}));
  EXPECT_EQ(untied.weights().size(), 14u); // 3 Gemms x 2 + 2 batch norms x 4
  for (const InitializerSplit &s : tied->tiedInitializers())
    EXPECT_TRUE(sameBits(untied.weights().at(s.copy), tied->weights().at(s.initializer)))
        << describe(s);
  Tensor x = randomInput(5, 4, 3);
  EXPECT_TRUE(sameBits(evaluate(untied, x), evaluate(*tied, x)));
  // A model without ties is left as it is.
  auto plain = load(testmodels::batchNormMlp(4, 3, 2, /*tied=*/false), "plain.onnx");
  EXPECT_TRUE(plain->tiedInitializers().empty());
}

// The case: γ tied to the running variance and β to the running
// mean. The network trains them as a parameter and a buffer each, exactly
// as the untied model, and the export writes every role on its own.
TEST_F(TiedInitializers, NetworkTrainsEveryRoleOnItsOwnAndExportsIt) {
  OnnxNetwork tied(load(testmodels::batchNormMlp(4, 3, 2, true), "tied.onnx"), "tied.onnx",
                   /*fromPretrained=*/true);
  OnnxNetwork untied(load(testmodels::batchNormMlp(4, 3, 2, false), "untied.onnx"),
                     "untied.onnx", /*fromPretrained=*/true);
  Params params = tied.init(0, nn::SparseInit{}), buffers = tied.initBuffers();
  Params untiedParams = untied.init(0, nn::SparseInit{});
  ASSERT_EQ(params.names(), untiedParams.names());
  ASSERT_EQ(buffers.names(), untied.initBuffers().names());
  for (const char *name : {"bn1.running_var", "bn2.running_mean"})
    EXPECT_TRUE(buffers.contains(name)) << name;
  // As after a training step: γ and β moved away from the statistics.
  params.set("bn1.scale", affine(params.at("bn1.scale"), 3.0f, 0.0f));
  params.set("bn2.shift", affine(params.at("bn2.shift"), 1.0f, 0.5f));
  auto step = [](const OnnxNetwork &net) {
    return jit([&net](const Params &p, const Params &b, const Tensor &x) {
      Params updated;
      Tensor train = net.forward(p, x, nn::Mode{true, &b, &updated, {}});
      Tensor eval = net.forward(p, x, nn::Mode{false, &b, nullptr, {}});
      return std::make_tuple(train, eval, updated);
    });
  };
  Tensor x = randomInput(6, 4, 5);
  auto [trainA, evalA, updatedA] = step(tied)(params, buffers, x);
  auto [trainB, evalB, updatedB] = step(untied)(params, buffers, x);
  EXPECT_TRUE(sameBits(trainA, trainB));
  EXPECT_TRUE(sameBits(evalA, evalB)) << "evaluation reads γ as the running variance";
  ASSERT_EQ(updatedA.names(), updatedB.names());
  for (const auto &[name, t] : updatedA)
    EXPECT_TRUE(sameBits(t, updatedB.at(name))) << name;

  // The export: every role its own initializer, with the trained values.
  fs::path exported = dir / "export.onnx";
  tied.model().save(exported.string(), tied.onnxInitializers(params, updatedA));
  OnnxModel back = OnnxModel::load(exported.string());
  std::set<std::string> read;
  for (const char *node : {"bn1", "bn2"})
    for (const std::string &in : inputsOf(back, node))
      read.insert(in);
  EXPECT_EQ(read.size(), 10u); // 2 inputs + 8 tensors
  // No initializer is left that no node reads: the tied originals kept the
  // imported values under the names a loader looks for.
  ::onnx::ModelProto file;
  std::ifstream in(exported, std::ios::binary);
  ASSERT_TRUE(file.ParseFromIstream(&in));
  std::set<std::string> anyRead;
  for (const auto &node : file.graph().node())
    anyRead.insert(node.input().begin(), node.input().end());
  for (const auto &t : file.graph().initializer())
    EXPECT_TRUE(anyRead.count(t.name())) << t.name() << " is read by no node";
  for (const auto &[name, onnxName] : tied.onnxNames()) {
    const Tensor &want = params.contains(name) ? params.at(name) : updatedA.at(name);
    EXPECT_TRUE(sameBits(back.weights().at(onnxName), want)) << name << " as " << onnxName;
  }
}

// A weight read by two Gemms (a module called twice, or equal values) and
// a bias also read by an Add: each role use gets its own tensor, the Add
// keeps the imported initializer; copies are named after their layer, else the
// node's module path, and never reuse a name.
TEST_F(TiedInitializers, SharedWeightsAndPlainUsesAreSplit) {
  OnnxGraph g("shared");
  g.input("x", {1, 3});
  g.output("y", {1, 3});
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1, 1);
  auto values = [&](int n) {
    std::vector<float> v(n);
    for (float &x : v)
      x = u(rng);
    return v;
  };
  g.initializer("fc1.weight", {3, 3}, values(9));
  g.initializer("fc1.bias", {3}, values(3));
  g.initializer("fc2.bias", {3}, values(3));
  for (auto [node, in, bias, out] :
       {std::tuple{"/blk/fc1/Gemm", "x", "fc1.bias", "h1"},
        std::tuple{"/blk/fc2/Gemm", "h1", "fc2.bias", "h2"},
        std::tuple{"/blk/fc3/Gemm", "h2", "fc2.bias", "h3"}})
    OnnxGraph::intAttr(g.node("Gemm", node, {in, "fc1.weight", bias}, {out}), "transB", 1);
  g.node("Add", "add", {"h3", "fc1.bias"}, {"y"});
  auto model = load(g, "shared.onnx");
  std::vector<std::string> splits;
  for (const InitializerSplit &s : model->tiedInitializers())
    splits.push_back(describe(s));
  EXPECT_EQ(splits, (std::vector<std::string>{
                        "/blk/fc1/Gemm:2 fc1.bias -> fc1_2.bias",
                        "/blk/fc2/Gemm:1 fc1.weight -> fc2.weight",
                        "/blk/fc3/Gemm:1 fc1.weight -> blk.fc3.weight",
                        "/blk/fc3/Gemm:2 fc2.bias -> blk.fc3.bias",
                    }));
  OnnxModel untied = model->untied();
  Tensor x = randomInput(4, 3, 9);
  EXPECT_TRUE(sameBits(evaluate(untied, x), evaluate(*model, x)));
  OnnxNetwork net(model, "shared.onnx", /*fromPretrained=*/true);
  std::vector<std::string> names = net.init(0, nn::SparseInit{}).names();
  // The Add's operand keeps the imported name and, a module's bias read as
  // data, trains too (plainOperandVerdict): nothing is left frozen.
  EXPECT_EQ(names, (std::vector<std::string>{"blk.fc3.bias", "blk.fc3.weight", "fc1.bias",
                                             "fc1.weight", "fc1_2.bias", "fc2.bias",
                                             "fc2.weight"}));
  EXPECT_TRUE(net.initBuffers().empty());
  EXPECT_EQ(net.onnxNames().at("fc1.bias"), "fc1.bias") << "the Add's operand";
}

// A fresh nn.TransformerEncoder deep-copies its layer: the exporter writes
// layer 1's weights as Identity(layer 0's), and the MatMul reads them
// through a Transpose. Each Identity becomes an initializer named as its
// output (PyTorch's name for layer 1's tensor), so the two layers train on
// their own; the graph computes what it did.
TEST_F(TiedInitializers, IdentityCopiesBecomeTheirOwnInitializers) {
  OnnxGraph g("deep_copies");
  g.input("x", {1, 2, 3});
  g.output("y", {1, 2, 3});
  std::vector<float> w = {0.5f, -0.25f, 0.125f, 1.0f, 0.75f, -0.5f, 0.25f, 0.0f, -1.0f};
  g.initializer("layers.0.linear.weight", {3, 3}, w);
  g.node("Identity", "Identity_7", {"layers.0.linear.weight"}, {"layers.1.linear.weight"});
  std::string in = "x";
  for (int layer = 0; layer < 2; ++layer) {
    std::string p = "/layers." + std::to_string(layer) + "/linear/";
    g.node("Transpose", p + "Transpose", {"layers." + std::to_string(layer) + ".linear.weight"},
           {p + "t"});
    std::string out = layer == 1 ? "y" : p + "h";
    g.node("MatMul", p + "MatMul", {in, p + "t"}, {out});
    in = out;
  }
  auto model = load(g, "deep_copies.onnx");
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  EXPECT_TRUE(model->tiedInitializers().empty());
  EXPECT_EQ(model->identityCopies(), (std::vector<std::string>{"layers.1.linear.weight"}));
  OnnxModel untied = model->untied();
  EXPECT_TRUE(untied.identityCopies().empty());
  ASSERT_TRUE(untied.weights().contains("layers.1.linear.weight"));
  EXPECT_TRUE(sameBits(untied.weights().at("layers.1.linear.weight"),
                       model->weights().at("layers.0.linear.weight")));
  for (const auto &n : untied.summary())
    EXPECT_NE(n.opType, "Identity");
  Tensor flat = randomInput(4, 6, 11);
  Tensor x = Tensor::fromVector(flat.toVector<float>(), {4, 2, 3});
  EXPECT_TRUE(sameBits(evaluate(untied, x), evaluate(*model, x)));
  OnnxNetwork net(model, "deep_copies.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.init(0, nn::SparseInit{}).names(),
            (std::vector<std::string>{"layers.0.linear.weight", "layers.1.linear.weight"}));
  EXPECT_NE(net.describe().find("1 Identity copies of initializers"), std::string::npos)
      << net.describe();
}

// Before IR version 4 every initializer is also a graph input: so are the
// copies, and the export passes the checker.
TEST_F(TiedInitializers, OldIrVersionDeclaresTheCopiesAsInputs) {
  OnnxGraph g("old", /*opset=*/8);
  g.model.set_ir_version(3);
  g.input("x", {2, 3});
  g.input("bn.weight", {3});
  g.input("bn.bias", {3});
  g.output("y", {2, 3});
  g.initializer("bn.weight", {3}, {1, 1, 1});
  g.initializer("bn.bias", {3}, {0, 0, 0});
  g.node("BatchNormalization", "bn", {"x", "bn.weight", "bn.bias", "bn.bias", "bn.weight"},
         {"y"});
  auto model = load(g, "old.onnx");
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  OnnxNetwork net(model, "old.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.model().inputs().size(), 1u);
  fs::path exported = dir / "old-export.onnx";
  Params params = net.init(0, nn::SparseInit{}), buffers = net.initBuffers();
  params.set("bn.scale", affine(params.at("bn.scale"), 2.0f, 0.0f));
  EXPECT_NO_THROW(net.model().save(exported.string(), net.onnxInitializers(params, buffers)));
  OnnxModel back = OnnxModel::load(exported.string());
  EXPECT_EQ(back.weights().at("bn.weight").toVector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(back.weights().at("bn.running_var").toVector<float>(),
            (std::vector<float>{1, 1, 1}));
}
