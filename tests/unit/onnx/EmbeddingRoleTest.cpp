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

#include <algorithm>
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
      Params plus = p.copy(), minus = p.copy();
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


/// A GPT-style tied LM head: logits[N, 3, 5] = (E[ids] · W) · Eᵀ, the
/// table E read by the Gather and, through a Transpose, by the head's
/// MatMul, as a module with `head.weight = embed.weight` exports when the
/// exporter does not fold the Transpose.
ModelCase tiedHeadModel() {
  ModelCase c;
  c.weight("embed.weight", {5, 4}, std::vector<float>(20, 0.5f))
      .weight("mix.weight", {4, 4}, std::vector<float>(16, 0.25f))
      .intInput("ids", {2, 3}, kIds);
  c.node("Gather", {"embed.weight", "ids"}, {"tokens"}, "/embed/Gather");
  c.node("MatMul", {"tokens", "mix.weight"}, {"mixed"}, "/mix/MatMul");
  c.node("Transpose", {"embed.weight"}, {"embed_t"}, "/head/Transpose");
  c.node("MatMul", {"mixed", "embed_t"}, {"y"}, "/head/MatMul");
  c.output("y", {2, 3, 5});
  return c;
}

// Tying through a Transpose is PyTorch's deliberate weight sharing (an
// exporter's merge by value joins initializers read directly, never a
// table and its transpose): the table stays one trained tensor, in its
// first role (the embedding, rows = tokens, which are also the head's
// output neurons), nothing is split or frozen, and its gradient is the sum
// of both uses, as in PyTorch.
TEST_F(EmbeddingRole, TableTiedToTheHeadByATransposeTrainsAsOneTensor) {
  auto model = load(tiedHeadModel(), "tied_head");
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  EXPECT_TRUE(model->tiedInitializers().empty());
  OnnxNetwork net(model, "tied_head.onnx", /*fromPretrained=*/true);
  EXPECT_EQ(net.onnxNames(), (std::map<std::string, std::string>{
                                 {"embed.weight", "embed.weight"}, {"mix.weight", "mix.weight"}}));
  EXPECT_TRUE(net.initBuffers().empty());

  std::mt19937 rng(13);
  Params p{{"embed.weight", randomTensor(rng, {5, 4})}, {"mix.weight", randomTensor(rng, {4, 4})}};
  Tensor ids = Tensor::fromVector(kIds, {2, 3});
  Tensor w = randomTensor(rng, {2, 3, 5});
  auto y = jit([&net](const Params &q, const Params &a) {
    return net.forward(q, a.at("ids"), nn::Mode{});
  })(p, Params{{"ids", ids}});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 5}));
  // Forward and gradient written out in f64: h = E[id]·W, y = h·Eᵀ; for
  // f = Σ w ⊙ y, the head gives dE[v] += Σ_t w[t, v] h[t], the embedding
  // dE[id_t] += (Σ_v w[t, v] E[v]) Wᵀ.
  std::vector<double> e = p.at("embed.weight").toVector<double>();
  std::vector<double> mix = p.at("mix.weight").toVector<double>();
  std::vector<double> wv = w.toVector<double>(), got = y.toVector<double>();
  std::vector<double> dHead(20, 0.0), dEmbed(20, 0.0);
  for (int t = 0; t < 6; ++t) {
    int id = kIds[t] < 0 ? kIds[t] + 5 : kIds[t];
    std::vector<double> h(4, 0.0), back(4, 0.0);
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 4; ++k)
        h[j] += e[id * 4 + k] * mix[k * 4 + j];
    for (int v = 0; v < 5; ++v) {
      double logit = 0.0;
      for (int j = 0; j < 4; ++j) {
        logit += h[j] * e[v * 4 + j];
        dHead[v * 4 + j] += wv[t * 5 + v] * h[j];
        back[j] += wv[t * 5 + v] * e[v * 4 + j];
      }
      EXPECT_NEAR(got[t * 5 + v], logit, 1e-12) << "y[" << t << ", " << v << "]";
    }
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 4; ++j)
        dEmbed[id * 4 + k] += back[j] * mix[k * 4 + j];
  }
  auto f = [&net](const Params &q, const Params &a) {
    return sum(net.forward(q, a.at("ids"), nn::Mode{}) * a.at("w"));
  };
  Params aux{{"ids", ids}, {"w", w}};
  Params g = jit([f](const Params &q, const Params &a) {
    return grad([&](const Params &r) { return f(r, a); })(q);
  })(p, aux);
  std::vector<double> dE = g.at("embed.weight").toVector<double>();
  double headAlone = 0.0, embedAlone = 0.0; // how far either use alone is
  for (int i = 0; i < 20; ++i) {
    EXPECT_NEAR(dE[i], dHead[i] + dEmbed[i], 1e-12) << "dE[" << i << "]";
    headAlone = std::max(headAlone, std::abs(dE[i] - dHead[i]));
    embedAlone = std::max(embedAlone, std::abs(dE[i] - dEmbed[i]));
  }
  EXPECT_GT(headAlone, 0.1);
  EXPECT_GT(embedAlone, 0.1);
  checkGradient(f, p, aux);
}


// The exception is narrow: a Transpose of the table into an operand
// without a role (here an Add) is a plain read, and the Gather's use still
// gets a copy of its own (issue 18 A2's rule).
TEST_F(EmbeddingRole, TransposeIntoAPlainOperandStillSplits) {
  ModelCase d;
  d.weight("embed.weight", {3, 3}, std::vector<float>(9, 0.5f))
      .intInput("ids", {2, 3}, {0, 1, 2, 2, 0, 1});
  d.node("Gather", {"embed.weight", "ids"}, {"tokens"}, "/embed/Gather");
  d.node("Transpose", {"embed.weight"}, {"embed_t"}, "/bias/Transpose");
  d.node("Add", {"tokens", "embed_t"}, {"y"}, "/plain/Add");
  d.output("y", {2, 3, 3});
  auto split = load(d, "transpose_plain");
  ASSERT_TRUE(split->unsupported().empty()) << split->unsupported().front();
  ASSERT_EQ(split->tiedInitializers().size(), 1u);
  EXPECT_EQ(split->tiedInitializers().front().node, "/embed/Gather");
}

} // namespace
