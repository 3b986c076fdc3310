//===- EmbeddingRoleTest.cpp - Gather tables are trainable parameters -----===//
//
// Issue 18: a Gather whose data is an initializer (a token embedding, or a
// position table picked by constant indices, as PyTorch exports
// nn.Embedding on torch.arange) trains like a weight: OnnxNetwork names it
// "<name>.weight" (regularized, rows = tokens as groups), its sparse init
// keeps whole rows, and the gradient through the importer (take's
// scatter-add for computed ids, slices for constant ones) equals central
// finite differences in float64 (h = 1e-6, tolerance 1e-8 + 1e-6·|fd|, as
// TransformerPrimsTest.cpp). The forward pass is checked against the
// definition written out here.
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
using bregman::onnx::ParamRole;
using bregman::testing::ModelCase;
namespace fs = std::filesystem;

namespace {

using ScalarFn = std::function<Tensor(const Params &p, const Params &aux)>;

Tensor randomTensor(std::mt19937 &rng, const Shape &shape) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(numElements(shape));
  for (double &x : v)
    x = u(rng);
  return Tensor::fromVector(v, shape);
}

Params copyParams(const Params &p) {
  Params out;
  for (const auto &[name, t] : p)
    out.add(name, Tensor::fromVector(t.toVector<double>(), t.shape()));
  return out;
}

/// grad f against central differences for every element of every entry of
/// p (float64).
void checkGradient(const ScalarFn &f, const Params &p, const Params &aux) {
  const double h = 1e-6;
  auto forward = jit([f](const Params &q, const Params &a) { return f(q, a); },
                     JitOptions{{}, "embedding_role.forward"});
  auto gradient = jit(
      [f](const Params &q, const Params &a) {
        return grad([&](const Params &r) { return f(r, a); })(q);
      },
      JitOptions{{}, "embedding_role.grad"});
  Params g = gradient(p, aux);
  for (const auto &[name, t] : p) {
    std::vector<double> analytic = g.at(name).toVector<double>();
    std::vector<double> base = t.toVector<double>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      Params plus = copyParams(p), minus = copyParams(p);
      plus.at(name).data<double>()[i] = base[i] + h;
      minus.at(name).data<double>()[i] = base[i] - h;
      double fd = (forward(plus, aux).item() - forward(minus, aux).item()) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd))
          << "d f / d " << name << "[" << i << "]";
    }
  }
}

const std::vector<int32_t> kIds = {4, 0, 2, 2, -1, 1}; // [2, 3]: a repeat, −1

/// y[N, 3, 4] = tok[ids] + pos[0, 1, 2]: token embeddings (ids a graph
/// input) and position embeddings (constant indices).
ModelCase embeddingModel() {
  ModelCase c;
  c.weight("tok.weight", {5, 4}, std::vector<float>(20, 0.5f))
      .weight("pos.weight", {3, 4}, std::vector<float>(12, 0.25f))
      .intInput("ids", {2, 3}, kIds)
      .ints("positions", {0, 1, 2});
  c.node("Gather", {"tok.weight", "ids"}, {"tokens"}, "embed");
  c.node("Gather", {"pos.weight", "positions"}, {"where"}, "position");
  c.node("Add", {"tokens", "where"}, {"y"}, "sum");
  c.output("y", {2, 3, 4});
  return c;
}

class EmbeddingRole : public ::testing::Test {
protected:
  fs::path dir;
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_embedding_role_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::shared_ptr<const OnnxModel> load(const ModelCase &c, const std::string &name) {
    return std::make_shared<const OnnxModel>(
        OnnxModel::load(bregman::testing::writeModel(c.model, dir, name)));
  }
};

TEST(EmbeddingRoleTable, GatherDataIsAnEmbedding) {
  for (const bregman::onnx::SupportedOp &op : bregman::onnx::supportedOps())
    if (op.opType == "Gather")
      EXPECT_EQ(op.roles, (std::map<int, ParamRole>{{0, ParamRole::Embedding}}));
}

TEST_F(EmbeddingRole, TablesAreTrainedWeightsNamedForTheirLayer) {
  auto model = load(embeddingModel(), "names");
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  OnnxNetwork net(model, "names.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.onnxNames(), (std::map<std::string, std::string>{
                                 {"tok.weight", "tok.weight"}, {"pos.weight", "pos.weight"}}));
  Params params = net.init(0, nn::SparseInit{});
  EXPECT_EQ(params.at("tok.weight").toVector<float>(), std::vector<float>(20, 0.5f));
  EXPECT_EQ(params.at("pos.weight").toVector<float>(), std::vector<float>(12, 0.25f));
  // Nothing is left frozen: the step's buffers hold no table.
  EXPECT_TRUE(net.initBuffers().empty());
}

// The sparse init of a table keeps whole rows (tokens) with the group
// variant, ⌈rows·p⌉ of them, N(0, r²) entries (as nn::Embedding).
TEST_F(EmbeddingRole, SparseInitKeepsWholeRows) {
  auto model = load(embeddingModel(), "init");
  OnnxNetwork net(model, "init.onnx", /*fromPretrained=*/false);
  nn::SparseInit config;
  config.p = 0.4;
  config.r = 1.0;
  config.perRow = true;
  std::vector<float> table = net.init(7, config).at("tok.weight").toVector<float>();
  ASSERT_EQ(table.size(), 20u);
  int dense = 0;
  for (int row = 0; row < 5; ++row) {
    int nonZero = 0;
    for (int k = 0; k < 4; ++k)
      nonZero += table[row * 4 + k] != 0.0f;
    EXPECT_TRUE(nonZero == 0 || nonZero == 4) << "row " << row << ": " << nonZero;
    dense += nonZero == 4;
  }
  EXPECT_EQ(dense, 2); // ⌈5 · 0.4⌉
}

// The retraining path (OnnxNetwork::forward on a batch of ids): forward
// against tok[ids] + pos[t], gradients against finite differences.
TEST_F(EmbeddingRole, GradientThroughTheNetworkMatchesFiniteDifferences) {
  auto model = load(embeddingModel(), "grad");
  OnnxNetwork net(model, "grad.onnx", /*fromPretrained=*/true);
  std::mt19937 rng(5);
  Params p{{"tok.weight", randomTensor(rng, {5, 4})}, {"pos.weight", randomTensor(rng, {3, 4})}};
  Tensor ids = Tensor::fromVector(kIds, {2, 3});
  auto f = [&net](const Params &q, const Params &a) {
    return sum(net.forward(q, a.at("ids"), nn::Mode{}) * a.at("w"));
  };
  // The forward pass, f64, against the definition.
  auto y = jit([&net](const Params &q, const Params &a) {
    return net.forward(q, a.at("ids"), nn::Mode{});
  })(p, Params{{"ids", ids}});
  std::vector<double> tok = p.at("tok.weight").toVector<double>();
  std::vector<double> pos = p.at("pos.weight").toVector<double>();
  std::vector<double> got = y.toVector<double>();
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (int n = 0; n < 2; ++n)
    for (int t = 0; t < 3; ++t)
      for (int k = 0; k < 4; ++k) {
        int id = kIds[n * 3 + t] < 0 ? kIds[n * 3 + t] + 5 : kIds[n * 3 + t];
        EXPECT_NEAR(got[(n * 3 + t) * 4 + k], tok[id * 4 + k] + pos[t * 4 + k], 1e-12);
      }
  checkGradient(f, p, Params{{"ids", ids}, {"w", randomTensor(rng, {2, 3, 4})}});
}

// Computed ids along axis 1 of the table (Gather's axis attribute): the
// gradient scatters into the columns.
TEST_F(EmbeddingRole, GradientAlongAnotherAxisMatchesFiniteDifferences) {
  ModelCase c;
  c.weight("table", {3, 5}, std::vector<float>(15, 1.0f)).intInput("ids", {2, 2}, {1, 4, 1, -2});
  bregman::testing::setIntAttr(c.node("Gather", {"table", "ids"}, {"y"}, "pick"), "axis", 1);
  c.output("y", {3, 2, 2});
  auto model = load(c, "axis1");
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  std::mt19937 rng(9);
  Tensor ids = Tensor::fromVector(std::vector<int32_t>{1, 4, 1, -2}, {2, 2});
  auto f = [model](const Params &q, const Params &a) {
    Params out = model->apply(q, Params{}, Params{{"ids", a.at("ids")}});
    return sum(out.at("y") * a.at("w"));
  };
  checkGradient(f, Params{{"table", randomTensor(rng, {3, 5})}},
                Params{{"ids", ids}, {"w", randomTensor(rng, {3, 2, 2})}});
}

} // namespace
