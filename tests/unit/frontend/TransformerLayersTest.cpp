//===- TransformerLayersTest.cpp - nn's LayerNorm, Embedding, attention ---===//
//
// The transformer layers of bregman/nn.h: the f32 forward pass against
// float64 references written here from each layer's definition (PyTorch's
// nn.LayerNorm, nn.Embedding, nn.MultiheadAttention with batch_first, and
// nn.TransformerEncoderLayer post-norm), the gradients of attention and of
// the embedding table against central finite differences in float64, the
// head count and the errors for bad shapes.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/nn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace bregman;

namespace {

using Vec = std::vector<double>;

Vec randomValues(std::mt19937 &rng, int64_t n, double scale = 1.0) {
  std::normal_distribution<double> normal(0.0, scale);
  Vec v(n);
  for (double &x : v)
    x = normal(rng);
  return v;
}

Vec values(const Tensor &t) {
  if (t.dtype() == DType::F64)
    return t.toVector<double>();
  std::vector<float> f = t.toVector<float>();
  return Vec(f.begin(), f.end());
}

/// Params of f32 copies (or f64 ones) of `p`.
Params withDType(const Params &p, DType dtype) {
  Params out;
  for (const auto &[name, t] : p) {
    Vec v = values(t);
    out.add(name, dtype == DType::F64
                      ? Tensor::fromVector(v, t.shape())
                      : Tensor::fromVector(std::vector<float>(v.begin(), v.end()),
                                           t.shape()));
  }
  return out;
}

/// Every parameter replaced by f32 N(0, scale²) values (the init's draws
/// make the biases positive and test less).
Params randomized(const Params &p, std::mt19937 &rng, double scale) {
  Params out;
  for (const auto &[name, t] : p) {
    Vec v = randomValues(rng, t.numel(), scale);
    out.add(name, Tensor::fromVector(std::vector<float>(v.begin(), v.end()), t.shape()));
  }
  return out;
}

void expectNear(const Vec &got, const Vec &expected, double tol) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], tol * (1.0 + std::abs(expected[i])))
        << "element " << i;
}

//===----------------------------------------------------------------------===//
// float64 references
//===----------------------------------------------------------------------===//

/// y = (x − mean)/√(var + eps)·scale + shift over rows of `width`.
Vec refLayerNorm(const Vec &x, int64_t width, const Vec &scale, const Vec &shift,
                 double eps = 1e-5) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / width; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < width; ++i)
      mean += x[r * width + i] / width;
    for (int64_t i = 0; i < width; ++i)
      var += (x[r * width + i] - mean) * (x[r * width + i] - mean) / width;
    for (int64_t i = 0; i < width; ++i)
      y[r * width + i] =
          (x[r * width + i] - mean) / std::sqrt(var + eps) * scale[i] + shift[i];
  }
  return y;
}

/// y[r, o] = Σ_i x[r, i]·W[o, i] + b[o] (W row-major [out, in]), or with
/// `inputMajor` W read as [in, out].
Vec refLinear(const Vec &x, int64_t in, const Vec &w, const Vec &b, int64_t out,
              bool inputMajor = false) {
  int64_t rows = static_cast<int64_t>(x.size()) / in;
  Vec y(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[o];
      for (int64_t i = 0; i < in; ++i)
        acc += x[r * in + i] * (inputMajor ? w[i * out + o] : w[o * in + i]);
      y[r * out + o] = acc;
    }
  return y;
}

/// nn.MultiheadAttention(batch_first) on x [n, s, e] with the layer's
/// parameters (`prefix`.{q,k,v,out}) and an optional additive mask [s, s].
Vec refAttention(const Params &p, const std::string &prefix, const Vec &x,
                 int64_t n, int64_t s, int64_t e, int64_t heads,
                 const Vec &mask = {}) {
  auto param = [&](const std::string &which) { return values(p.at(prefix + "." + which)); };
  Vec q = refLinear(x, e, param("q.weight"), param("q.bias"), e);
  Vec k = refLinear(x, e, param("k.weight"), param("k.bias"), e);
  Vec v = refLinear(x, e, param("v.weight"), param("v.bias"), e);
  int64_t d = e / heads;
  Vec context(n * s * e, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < s; ++i) {
        Vec score(s);
        double top = -INFINITY;
        for (int64_t j = 0; j < s; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c)
            dot += q[(b * s + i) * e + h * d + c] * k[(b * s + j) * e + h * d + c];
          score[j] = dot / std::sqrt(double(d)) + (mask.empty() ? 0.0 : mask[i * s + j]);
          top = std::max(top, score[j]);
        }
        double total = 0;
        for (double &z : score)
          total += (z = std::exp(z - top));
        for (int64_t j = 0; j < s; ++j)
          for (int64_t c = 0; c < d; ++c)
            context[(b * s + i) * e + h * d + c] +=
                score[j] / total * v[(b * s + j) * e + h * d + c];
      }
  // out.weight is stored [heads·d, e]: PyTorch's out_proj.weight transposed.
  return refLinear(context, e, param("out.weight"), param("out.bias"), e,
                   /*inputMajor=*/true);
}

double refGelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

/// nn.TransformerEncoderLayer (post-norm, no dropout) on x [n, s, e].
Vec refEncoderLayer(const Params &p, const std::string &prefix, const Vec &x,
                    int64_t n, int64_t s, int64_t e, int64_t heads, int64_t ff,
                    bool gelu) {
  auto param = [&](const std::string &which) { return values(p.at(prefix + "." + which)); };
  Vec a = refAttention(p, prefix + ".attn", x, n, s, e, heads);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] += x[i];
  Vec h = refLayerNorm(a, e, param("norm1.scale"), param("norm1.shift"));
  Vec hidden = refLinear(h, e, param("linear1.weight"), param("linear1.bias"), ff);
  for (double &z : hidden)
    z = gelu ? refGelu(z) : std::max(z, 0.0);
  Vec y = refLinear(hidden, ff, param("linear2.weight"), param("linear2.bias"), e);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] += h[i];
  return refLayerNorm(y, e, param("norm2.scale"), param("norm2.shift"));
}

/// Runs f(params, x) compiled.
Tensor run(std::function<Tensor(const Params &, const Tensor &)> f,
           const Params &params, const Tensor &x) {
  auto compiled = jit([f](const Params &p, const Tensor &in) { return f(p, in); });
  return compiled(params, x);
}

constexpr int64_t kN = 2, kS = 5, kE = 8, kHeads = 2;

Params attentionParams(std::mt19937 &rng) {
  nn::MultiHeadAttention attn(kE, kHeads, "attn");
  nn::Rng init(1);
  Params p;
  attn.init(p, init, nn::SparseInit{1.0, 1.0});
  return randomized(p, rng, 0.5);
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

TEST(TransformerLayers, LayerNormMatchesReference) {
  std::mt19937 rng(11);
  nn::LayerNorm norm(kE, "ln");
  Params p;
  norm.init(p);
  EXPECT_EQ(values(p.at("ln.scale")), Vec(kE, 1.0));
  p = randomized(p, rng, 1.0);
  Vec x = randomValues(rng, kN * kS * kE, 2.0);
  Tensor y = run([&](const Params &q, const Tensor &in) { return norm(q, in); }, p,
                 Tensor::fromVector(std::vector<float>(x.begin(), x.end()), {kN, kS, kE}));
  EXPECT_EQ(y.shape(), (Shape{kN, kS, kE}));
  expectNear(values(y), refLayerNorm(x, kE, values(p.at("ln.scale")), values(p.at("ln.shift"))),
             1e-5);
}

TEST(TransformerLayers, EmbeddingLooksUpAndTrainsItsTable) {
  nn::Embedding embed(6, 3, "tok");
  nn::Rng rng(5);
  Params p;
  embed.init(p, rng, nn::SparseInit{1.0, 1.0});
  // Dense, r = 1: N(0, 1) as PyTorch's nn.Embedding.
  Vec table = values(p.at("tok.weight"));
  double var = 0;
  for (double t : table)
    var += t * t / table.size();
  EXPECT_GT(var, 0.3);
  EXPECT_LT(var, 3.0);
  Tensor idx = Tensor::fromVector(std::vector<int32_t>{4, 0, 4, 2}, {2, 2});
  auto lookup = jit([&](const Params &q, const Tensor &i) { return embed(q, i); });
  Tensor y = lookup(p, idx);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  Vec got = values(y);
  int rows[] = {4, 0, 4, 2};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c)
      EXPECT_EQ(got[r * 3 + c], table[rows[r] * 3 + c]);
  // d Σ(y·w) / d table: the scatter-add of w's rows (row 4 twice).
  std::mt19937 g(2);
  Vec w = randomValues(g, 12);
  auto gradient = jit([&](const Params &q, const Tensor &i, const Tensor &wt) {
    return grad([&](const Params &r) { return sum(embed(r, i) * wt); })(q);
  });
  Vec d = values(gradient(withDType(p, DType::F64), idx, Tensor::fromVector(w, {2, 2, 3}))
                     .at("tok.weight"));
  Vec expected(18, 0.0);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c)
      expected[rows[r] * 3 + c] += w[r * 3 + c];
  expectNear(d, expected, 1e-12);
}

TEST(TransformerLayers, AttentionMatchesReference) {
  std::mt19937 rng(21);
  Params p = attentionParams(rng);
  EXPECT_EQ(p.at("attn.q.weight").shape(), (Shape{kHeads, kE / kHeads, kE}));
  nn::MultiHeadAttention attn(kE, kHeads, "attn");
  Vec x = randomValues(rng, kN * kS * kE);
  Tensor xt = Tensor::fromVector(std::vector<float>(x.begin(), x.end()), {kN, kS, kE});
  Tensor y = run([&](const Params &q, const Tensor &in) { return attn(q, in); }, p, xt);
  EXPECT_EQ(y.shape(), (Shape{kN, kS, kE}));
  expectNear(values(y), refAttention(p, "attn", x, kN, kS, kE, kHeads), 2e-5);

  // A causal mask: −∞ above the diagonal.
  Vec mask(kS * kS, 0.0);
  std::vector<float> maskF(kS * kS, 0.0f);
  for (int64_t i = 0; i < kS; ++i)
    for (int64_t j = i + 1; j < kS; ++j) {
      mask[i * kS + j] = -INFINITY;
      maskF[i * kS + j] = -INFINITY;
    }
  auto masked = jit([&](const Params &q, const Tensor &in, const Tensor &m) {
    return attn(q, in, m);
  });
  Tensor ym = masked(p, xt, Tensor::fromVector(maskF, {kS, kS}));
  expectNear(values(ym), refAttention(p, "attn", x, kN, kS, kE, kHeads, mask), 2e-5);
}

TEST(TransformerLayers, AttentionGradientsMatchFiniteDifferences) {
  std::mt19937 rng(31);
  const int64_t n = 1, s = 3, e = 4, heads = 2;
  nn::MultiHeadAttention attn(e, heads, "a");
  nn::Rng init(1);
  Params p;
  attn.init(p, init, nn::SparseInit{1.0, 1.0});
  p = withDType(randomized(p, rng, 0.7), DType::F64);
  Tensor x = Tensor::fromVector(randomValues(rng, n * s * e), {n, s, e});
  Tensor w = Tensor::fromVector(randomValues(rng, n * s * e), {n, s, e});
  auto f = [&](const Params &q, const Tensor &in, const Tensor &wt) {
    return sum(attn(q, in, Tensor()) * wt);
  };
  auto forward = jit(f);
  auto gradient = jit([&](const Params &q, const Tensor &in, const Tensor &wt) {
    return grad([&](const Params &r) { return f(r, in, wt); })(q);
  });
  Params g = gradient(p, x, w);
  const double h = 1e-6;
  for (const auto &[name, t] : p) {
    Vec analytic = values(g.at(name)), base = values(t);
    for (int64_t i = 0; i < t.numel(); ++i) {
      Params plus = withDType(p, DType::F64), minus = withDType(p, DType::F64);
      plus.at(name).data<double>()[i] = base[i] + h;
      minus.at(name).data<double>()[i] = base[i] - h;
      double fd = (forward(plus, x, w).item() - forward(minus, x, w).item()) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << name << "[" << i << "]";
    }
  }
}

TEST(TransformerLayers, EncoderLayerMatchesReference) {
  for (bool gelu : {true, false}) {
    std::mt19937 rng(41);
    nn::TransformerEncoderLayer layer(
        kE, kHeads, 12, "enc",
        gelu ? nn::TransformerEncoderLayer::Activation::Gelu
             : nn::TransformerEncoderLayer::Activation::Relu,
        /*dropout=*/0.1);
    nn::Rng init(2);
    Params p;
    layer.init(p, init, nn::SparseInit{1.0, 1.0});
    p = randomized(p, rng, 0.5);
    Vec x = randomValues(rng, kN * kS * kE);
    Tensor xt = Tensor::fromVector(std::vector<float>(x.begin(), x.end()), {kN, kS, kE});
    // Evaluation (and training without a seed): no dropout.
    Tensor y = run([&](const Params &q, const Tensor &in) { return layer(q, in, nn::Mode{}); },
                   p, xt);
    expectNear(values(y), refEncoderLayer(p, "enc", x, kN, kS, kE, kHeads, 12, gelu), 5e-5);
  }
}

TEST(TransformerLayers, EncoderLayerDropoutIsSeededAndTrainingOnly) {
  std::mt19937 rng(51);
  nn::TransformerEncoderLayer layer(kE, kHeads, 12, "enc",
                                    nn::TransformerEncoderLayer::Activation::Gelu, 0.5);
  nn::Rng init(2);
  Params p;
  layer.init(p, init, nn::SparseInit{1.0, 1.0});
  Vec x = randomValues(rng, kN * kS * kE);
  Tensor xt = Tensor::fromVector(std::vector<float>(x.begin(), x.end()), {kN, kS, kE});
  auto step = jit([&](const Params &q, const Tensor &in, const Tensor &seed) {
    nn::Mode mode;
    mode.training = true;
    mode.dropoutSeed = seed;
    return layer(q, in, mode);
  });
  auto eval = jit([&](const Params &q, const Tensor &in) { return layer(q, in, nn::Mode{}); });
  Vec a = values(step(p, xt, Tensor::fromVector(std::vector<int32_t>{7}, {})));
  Vec b = values(step(p, xt, Tensor::fromVector(std::vector<int32_t>{7}, {})));
  Vec c = values(step(p, xt, Tensor::fromVector(std::vector<int32_t>{8}, {})));
  Vec plain = values(eval(p, xt));
  EXPECT_EQ(a, b);
  double diffSeed = 0, diffEval = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diffSeed += std::abs(a[i] - c[i]);
    diffEval += std::abs(a[i] - plain[i]);
  }
  EXPECT_GT(diffSeed, 1e-3);
  EXPECT_GT(diffEval, 1e-3);
}

TEST(TransformerLayers, ActiveHeadsCountsNonZeroHeads) {
  std::mt19937 rng(61);
  Params p = withDType(attentionParams(rng), DType::F32);
  nn::MultiHeadAttention attn(kE, kHeads, "attn");
  EXPECT_EQ(attn.activeHeads(p), 2);
  // Head 1 zero in every projection: off. One weight of it in out: on.
  int64_t perHead = (kE / kHeads) * kE;
  for (const char *w : {"q", "k", "v", "out"}) {
    float *data = p.at(std::string("attn.") + w + ".weight").data<float>();
    std::fill(data + perHead, data + 2 * perHead, 0.0f);
  }
  EXPECT_EQ(attn.activeHeads(p), 1);
  p.at("attn.out.weight").data<float>()[perHead + 3] = 0.5f;
  EXPECT_EQ(attn.activeHeads(p), 2);
}

TEST(TransformerLayers, BadShapesAreNamed) {
  try {
    nn::MultiHeadAttention bad(10, 3, "enc.attn");
    FAIL() << "width 10 with 3 heads accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("enc.attn"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("heads 3"), std::string::npos) << e.what();
  }
  std::mt19937 rng(71);
  Params p = attentionParams(rng);
  nn::MultiHeadAttention attn(kE, kHeads, "attn");
  try {
    run([&](const Params &q, const Tensor &in) { return attn(q, in); }, p,
        Tensor::zeros({2, 5, 6}));
    FAIL() << "width 6 accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("attn: expects input [N, S, 8], got [2, 5, 6]"),
              std::string::npos)
        << e.what();
  }
  nn::Embedding embed(4, 2, "tok");
  try {
    embed(p, Tensor::zeros({3}));
    FAIL() << "f32 indices accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("tok: expects i32 indices"), std::string::npos)
        << e.what();
  }
}

} // namespace
