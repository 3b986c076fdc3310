//===- TransformerImportTest.cpp - A transformer encoder block from ONNX --===//
//
// A pre-norm encoder block built as PyTorch's exporter writes one at opset
// 17 (LayerNormalization, nn.Linear on a sequence as MatMul + Add,
// Reshape/Transpose into heads, batched Q·Kᵀ, a causal additive mask,
// Softmax, erf-GELU, residuals), mean-pooled into a 3-class head. It must
// import, match a float64 forward written here, and retrain: SGD on the
// imported network lowers the cross-entropy.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace bregman;

namespace {

constexpr int64_t B = 2, T = 4, D = 8, H = 2, Dh = 4, F = 16, C = 3;

using Vec = std::vector<double>;

/// The block's weights (float, as stored in the model).
struct Weights {
  std::map<std::string, std::pair<Shape, std::vector<float>>> all;
  const std::vector<float> &operator[](const std::string &n) const { return all.at(n).second; }
};

Weights randomWeights(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Weights w;
  auto add = [&](const std::string &name, const Shape &shape, float scale, float offset = 0) {
    std::vector<float> v(numElements(shape));
    for (float &x : v)
      x = offset + scale * u(rng);
    w.all[name] = {shape, v};
  };
  for (const char *ln : {"ln1", "ln2"}) {
    add(std::string(ln) + ".weight", {D}, 0.4f, 1.0f);
    add(std::string(ln) + ".bias", {D}, 0.2f);
  }
  for (const char *p : {"q", "k", "v", "o"}) {
    add(std::string(p) + ".weight", {D, D}, 0.8f);
    add(std::string(p) + ".bias", {D}, 0.2f);
  }
  add("ff1.weight", {D, F}, 0.8f);
  add("ff1.bias", {F}, 0.2f);
  add("ff2.weight", {F, D}, 0.6f);
  add("ff2.bias", {D}, 0.2f);
  add("head.weight", {D, C}, 1.0f);
  add("head.bias", {C}, 0.1f);
  return w;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

struct Builder {
  ::onnx::GraphProto &g;
  int count = 0;

  ::onnx::NodeProto &node(const std::string &op, const std::vector<std::string> &in,
                          const std::string &out) {
    auto *n = g.add_node();
    n->set_name(op + "_" + std::to_string(count++));
    n->set_op_type(op);
    for (const auto &i : in)
      n->add_input(i);
    n->add_output(out);
    return *n;
  }
  void floats(const std::string &name, const Shape &shape, const std::vector<float> &v) {
    auto *t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->add_dims(d);
    for (float x : v)
      t->add_float_data(x);
  }
  void ints(const std::string &name, const std::vector<int64_t> &v) {
    auto *t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v)
      t->add_int64_data(x);
  }
  void attrInts(::onnx::NodeProto &n, const std::string &name, const std::vector<int64_t> &v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
  }
  void attrInt(::onnx::NodeProto &n, const std::string &name, int64_t v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  /// nn.Linear on a sequence: MatMul by W [in, out], then Add of the bias.
  std::string linear(const std::string &x, const std::string &layer) {
    node("MatMul", {x, layer + ".weight"}, layer + ".mm");
    node("Add", {layer + ".mm", layer + ".bias"}, layer + ".out");
    return layer + ".out";
  }
  /// [B, T, D] -> [B, H, T, Dh] (or [B, H, Dh, T] for keys).
  std::string heads(const std::string &x, bool keys) {
    node("Reshape", {x, "heads_shape"}, x + ".split");
    attrInts(node("Transpose", {x + ".split"}, x + ".heads"), "perm",
             keys ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
    return x + ".heads";
  }
};

::onnx::ModelProto encoderModel(const Weights &w) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto *g = model.mutable_graph();
  g->set_name("encoder_block");
  auto info = [](::onnx::ValueInfoProto *v, const std::string &name, const Shape &shape) {
    v->set_name(name);
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  info(g->add_input(), "x", {B, T, D});
  info(g->add_output(), "logits", {B, C});
  Builder b{*g};
  for (const auto &[name, entry] : w.all)
    b.floats(name, entry.first, entry.second);
  std::vector<float> mask(T * T);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j)
      mask[i * T + j] = j > i ? -INFINITY : 0.0f;
  b.floats("causal_mask", {T, T}, mask);
  b.floats("inv_sqrt_dh", {}, {1.0f / std::sqrt(float(Dh))});
  b.floats("sqrt2", {}, {std::sqrt(2.0f)});
  b.floats("one", {}, {1.0f});
  b.floats("half", {}, {0.5f});
  b.ints("heads_shape", {0, 0, H, Dh});
  b.ints("merge_shape", {0, 0, D});

  b.node("LayerNormalization", {"x", "ln1.weight", "ln1.bias"}, "h1");
  std::string q = b.heads(b.linear("h1", "q"), false);
  std::string k = b.heads(b.linear("h1", "k"), true);
  std::string v = b.heads(b.linear("h1", "v"), false);
  b.node("MatMul", {q, k}, "scores");
  b.node("Mul", {"scores", "inv_sqrt_dh"}, "scaled");
  b.node("Add", {"scaled", "causal_mask"}, "masked");
  b.attrInt(b.node("Softmax", {"masked"}, "probs"), "axis", -1);
  b.node("MatMul", {"probs", v}, "context");
  b.attrInts(b.node("Transpose", {"context"}, "context.t"), "perm", {0, 2, 1, 3});
  b.node("Reshape", {"context.t", "merge_shape"}, "context.m");
  b.node("Add", {"x", b.linear("context.m", "o")}, "r1");
  b.node("LayerNormalization", {"r1", "ln2.weight", "ln2.bias"}, "h2");
  std::string f1 = b.linear("h2", "ff1");
  b.node("Div", {f1, "sqrt2"}, "g.div");
  b.node("Erf", {"g.div"}, "g.erf");
  b.node("Add", {"g.erf", "one"}, "g.add");
  b.node("Mul", {f1, "g.add"}, "g.mul");
  b.node("Mul", {"g.mul", "half"}, "gelu");
  b.node("Add", {"r1", b.linear("gelu", "ff2")}, "r2");
  auto &pool = b.node("ReduceMean", {"r2"}, "pooled");
  b.attrInts(pool, "axes", {1});
  b.attrInt(pool, "keepdims", 0);
  b.node("MatMul", {"pooled", "head.weight"}, "head.mm");
  b.node("Add", {"head.mm", "head.bias"}, "logits");
  return model;
}

//===----------------------------------------------------------------------===//
// The float64 reference
//===----------------------------------------------------------------------===//

/// y[rows, out] = x[rows, in]·W[in, out] + b.
Vec linearRef(const Vec &x, int64_t rows, const std::vector<float> &wt,
              const std::vector<float> &bias, int64_t in, int64_t out) {
  Vec y(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias[o];
      for (int64_t i = 0; i < in; ++i)
        acc += x[r * in + i] * wt[i * out + o];
      y[r * out + o] = acc;
    }
  return y;
}

Vec layerNormRef(const Vec &x, int64_t rows, const std::vector<float> &s,
                 const std::vector<float> &b) {
  Vec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < D; ++j)
      mu += x[r * D + j] / D;
    for (int64_t j = 0; j < D; ++j)
      var += (x[r * D + j] - mu) * (x[r * D + j] - mu) / D;
    for (int64_t j = 0; j < D; ++j)
      y[r * D + j] = (x[r * D + j] - mu) / std::sqrt(var + 1e-5) * s[j] + b[j];
  }
  return y;
}

/// Causal multi-head attention on q, k, v [B·T, D] (heads are column blocks).
Vec attentionRef(const Vec &q, const Vec &k, const Vec &v) {
  Vec out(B * T * D, 0.0);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> s(i + 1);
        double mx = -INFINITY, total = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < Dh; ++d)
            dot += q[(n * T + i) * D + h * Dh + d] * k[(n * T + j) * D + h * Dh + d];
          s[j] = dot / std::sqrt(double(Dh));
          mx = std::max(mx, s[j]);
        }
        for (double &e : s)
          total += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < Dh; ++d)
            out[(n * T + i) * D + h * Dh + d] += s[j] / total * v[(n * T + j) * D + h * Dh + d];
      }
  return out;
}

Vec encoderRef(const Weights &w, const std::vector<float> &xf) {
  const int64_t rows = B * T;
  Vec x(xf.begin(), xf.end());
  Vec h1 = layerNormRef(x, rows, w["ln1.weight"], w["ln1.bias"]);
  auto lin = [&](const Vec &in, const std::string &l, int64_t a, int64_t b) {
    return linearRef(in, rows, w[l + ".weight"], w[l + ".bias"], a, b);
  };
  Vec att = attentionRef(lin(h1, "q", D, D), lin(h1, "k", D, D), lin(h1, "v", D, D));
  Vec o = lin(att, "o", D, D), r1(rows * D);
  for (int64_t i = 0; i < rows * D; ++i)
    r1[i] = x[i] + o[i];
  Vec f1 = lin(layerNormRef(r1, rows, w["ln2.weight"], w["ln2.bias"]), "ff1", D, F);
  for (double &e : f1)
    e = 0.5 * e * (1 + std::erf(e / std::sqrt(2.0)));
  Vec f2 = lin(f1, "ff2", F, D), pooled(B * D, 0.0);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < D; ++d)
        pooled[n * D + d] += (r1[(n * T + t) * D + d] + f2[(n * T + t) * D + d]) / T;
  return linearRef(pooled, B, w["head.weight"], w["head.bias"], D, C);
}

//===----------------------------------------------------------------------===//

class TransformerImport : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bregman_transformer_import_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const ::onnx::ModelProto &model) {
    fs::path path = dir / "encoder.onnx";
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path.string();
  }
  fs::path dir;
};

std::vector<float> inputValues() {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  std::vector<float> x(B * T * D);
  for (float &v : x)
    v = normal(rng);
  return x;
}

TEST_F(TransformerImport, EncoderBlockMatchesTheFloat64Forward) {
  Weights w = randomWeights(1);
  bregman::onnx::OnnxModel model = bregman::onnx::OnnxModel::load(write(encoderModel(w)));
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  std::vector<float> x = inputValues();
  auto run = jit([&model](const Params &wt, const Params &c, const Params &in) {
    return model.apply(wt, c, in);
  });
  Params out = run(model.weights(), model.constants(),
                   Params{{"x", Tensor::fromVector(x, {B, T, D})}});
  std::vector<float> got = out.at("logits").toVector<float>();
  Vec expected = encoderRef(w, x);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-5 + 1e-5 * std::abs(expected[i])) << "logit " << i;
}

// The imported block retrains: its linear weights and layer-norm scales and
// shifts are parameters, and plain SGD on them lowers the loss.
TEST_F(TransformerImport, EncoderBlockRetrainsWithAFallingLoss) {
  Weights w = randomWeights(2);
  auto model = std::make_shared<bregman::onnx::OnnxModel>(bregman::onnx::OnnxModel::load(write(encoderModel(w))));
  bregman::onnx::OnnxNetwork net(model, "encoder.onnx", /*fromPretrained=*/true);
  Params params = net.init(0, nn::SparseInit{});
  for (const char *name : {"q.weight", "ff2.weight", "head.weight", "ln1.scale", "ln2.shift"})
    EXPECT_TRUE(params.contains(name)) << name;
  Params buffers = net.initBuffers();
  // The network takes its input flattened: [N, T·D].
  Tensor x = Tensor::fromVector(inputValues(), {B, T * D});
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{2, 0}, {B});
  auto step = jit([&net](const Params &p, const Params &b, const Tensor &xt, const Tensor &y) {
    auto [loss, g] = valueAndGrad([&](const Params &q) {
      return crossEntropy(net.forward(q, xt, nn::Mode{false, &b, nullptr, {}}), y);
    })(p);
    Params next;
    for (const auto &[name, t] : p)
      next.add(name, t - g.at(name) * 0.05);
    return std::make_tuple(loss, next);
  });
  std::vector<double> losses;
  for (int i = 0; i < 8; ++i) {
    auto [loss, next] = step(params, buffers, x, labels);
    losses.push_back(loss.item());
    params = next;
  }
  for (double l : losses)
    ASSERT_TRUE(std::isfinite(l));
  std::printf("encoder block retraining: loss %.4f -> %.4f in %zu SGD steps\n", losses.front(),
              losses.back(), losses.size());
  EXPECT_LT(losses.back(), 0.7 * losses.front())
      << "loss " << losses.front() << " -> " << losses.back();
  EXPECT_EQ(step.compileCount(), 1u);
}

} // namespace
