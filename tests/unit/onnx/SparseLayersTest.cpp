//===- SparseLayersTest.cpp - Gemm / MatMul on the CSR of their weights ---===//
//
// onnx::withSparseLayers (what `bregman run --sparse-exec` runs): the three
// forms the importer's linear handlers take (Gemm with transB, Gemm with
// transA and alpha, MatMul of a 3-D input), dense and sparse, against a
// float64 reference; and a model written with sparse_initializers, whose
// CSR comes from the file's indices.
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"
#include "ScopedEnv.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <random>

namespace bregman::testing {
namespace {

namespace fs = std::filesystem;

/// Row-major values with about `density` of them non-zero; `zeroRow` (if
/// >= 0) of the [rows, cols] matrix is all zero.
std::vector<float> sparseValues(std::mt19937 &rng, int64_t rows, int64_t cols,
                                double density, int64_t zeroRow = -1) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::bernoulli_distribution keep(density);
  std::vector<float> v(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (r != zeroRow && keep(rng))
        v[r * cols + c] = value(rng);
  return v;
}

/// x[4, 6] → fc1: Gemm(W1[5, 6], b1, transB) → Relu → Transpose →
/// fc2: Gemm(W2[5, 4], transA, alpha 0.5) → Reshape [2, 2, 4] →
/// fc3: MatMul(W3[4, 3]) → y[2, 2, 3].
struct SparseMlp {
  std::vector<float> x, w1, b1, w2, w3;

  explicit SparseMlp(std::mt19937 &rng) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (int i = 0; i < 24; ++i)
      x.push_back(value(rng));
    for (int i = 0; i < 5; ++i)
      b1.push_back(value(rng));
    w1 = sparseValues(rng, 5, 6, 0.2, /*zeroRow=*/2);
    w2 = sparseValues(rng, 5, 4, 1.0); // dense: auto leaves it
    w3 = sparseValues(rng, 4, 3, 0.15);
  }

  ModelCase model() const {
    ModelCase c;
    c.input("x", {4, 6}, x);
    c.weight("W1", {5, 6}, w1).weight("b1", {5}, b1);
    c.weight("W2", {5, 4}, w2).weight("W3", {4, 3}, w3);
    c.ints("shape", {2, 2, 4});
    setIntAttr(c.node("Gemm", {"x", "W1", "b1"}, {"h1"}, "fc1"), "transB", 1);
    c.node("Relu", {"h1"}, {"r1"}, "relu");
    setIntsAttr(c.node("Transpose", {"r1"}, {"t1"}, "t"), "perm", {1, 0});
    auto &fc2 = c.node("Gemm", {"t1", "W2"}, {"h2"}, "fc2");
    setIntAttr(fc2, "transA", 1);
    setFloatAttr(fc2, "alpha", 0.5f);
    c.node("Reshape", {"h2", "shape"}, {"h3"}, "reshape");
    c.node("MatMul", {"h3", "W3"}, {"y"}, "fc3");
    c.output("y", {2, 2, 3});
    return c;
  }

  /// The graph in float64.
  std::vector<double> reference() const {
    std::vector<double> r1(4 * 5), h2(4 * 4), y(4 * 3);
    for (int n = 0; n < 4; ++n)
      for (int o = 0; o < 5; ++o) {
        double s = b1[o];
        for (int i = 0; i < 6; ++i)
          s += double(x[n * 6 + i]) * w1[o * 6 + i];
        r1[n * 5 + o] = std::max(s, 0.0);
      }
    for (int n = 0; n < 4; ++n)
      for (int o = 0; o < 4; ++o) {
        double s = 0;
        for (int k = 0; k < 5; ++k)
          s += r1[n * 5 + k] * w2[k * 4 + o];
        h2[n * 4 + o] = 0.5 * s;
      }
    for (int n = 0; n < 4; ++n) // the reshape keeps the rows of h2
      for (int o = 0; o < 3; ++o) {
        double s = 0;
        for (int k = 0; k < 4; ++k)
          s += h2[n * 4 + k] * w3[k * 3 + o];
        y[n * 3 + o] = s;
      }
    return y;
  }
};

class OnnxSparseLayers : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_onnx_sparse_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  /// y of `m` with the weights `w` (withSparseLayers' result), of `shape`.
  static std::vector<float> run(const onnx::OnnxModel &m, const Params &w,
                                const Params &inputs, const Shape &shape = {2, 2, 3}) {
    auto compiled = jit([&m](const Params &q, const Params &c, const Params &in) {
      return m.apply(q, c, in);
    });
    Tensor y = compiled(w, m.constants(), inputs).at("y");
    EXPECT_EQ(y.shape(), shape);
    return y.toVector<float>();
  }
  static void expectNear(const std::vector<float> &got,
                         const std::vector<double> &want, const char *what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i])))
          << what << " at " << i;
  }
  /// The three arrays `prefix`positions/coordinates/values in `w` equal
  /// `want`'s, bit for bit.
  static void expectCsrParams(const Params &w, const std::string &prefix,
                              const CsrWeight &want) {
    EXPECT_EQ(w.at(prefix + "positions").toVector<int32_t>(),
              want.positions.toVector<int32_t>()) << prefix;
    EXPECT_EQ(w.at(prefix + "coordinates").toVector<int32_t>(),
              want.coordinates.toVector<int32_t>()) << prefix;
    EXPECT_EQ(w.at(prefix + "values").toVector<float>(),
              want.values.toVector<float>()) << prefix;
  }
  static std::vector<std::string> names(const std::vector<onnx::SparseLayer> &layers) {
    std::vector<std::string> out;
    for (const auto &l : layers)
      out.push_back(l.initializer + " " + l.node);
    return out;
  }

  fs::path dir;
};

TEST_F(OnnxSparseLayers, SparseAndDenseAgreeWithTheReference) {
  std::mt19937 rng(16);
  SparseMlp mlp(rng);
  ModelCase c = mlp.model();
  auto model = onnx::OnnxModel::load(writeModel(c.model, dir, "mlp"));
  ASSERT_TRUE(model.unsupported().empty());
  std::vector<double> want = mlp.reference();

  std::vector<onnx::SparseLayer> none;
  Params dense = onnx::withSparseLayers(model, nn::SparseExec::Off, &none);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(dense.size(), model.weights().size());
  expectNear(run(model, dense, c.inputs), want, "off");

  std::vector<onnx::SparseLayer> all;
  Params onWeights = onnx::withSparseLayers(model, nn::SparseExec::On, &all);
  EXPECT_EQ(names(all), (std::vector<std::string>{"W1 node 'fc1' (Gemm)",
                                                  "W2 node 'fc2' (Gemm)",
                                                  "W3 node 'fc3' (MatMul)"}));
  EXPECT_TRUE(onWeights.contains("W1.csr.positions"));
  EXPECT_FALSE(onWeights.contains("b1.csr.positions")); // a bias is no layer
  EXPECT_DOUBLE_EQ(all[1].density, 1.0);
  expectNear(run(model, onWeights, c.inputs), want, "on");
  // The layers read the CSR, not the dense copy: W3's values halved halve y.
  Params halved = onWeights;
  std::vector<float> v3 = halved.at("W3.csr.values").toVector<float>();
  for (float &v : v3)
    v *= 0.5f;
  halved.set("W3.csr.values", Tensor::fromVector(v3, {int64_t(v3.size())}));
  std::vector<double> half = want;
  for (double &v : half)
    v *= 0.5;
  expectNear(run(model, halved, c.inputs), half, "on, W3's CSR halved");

  std::vector<onnx::SparseLayer> chosen;
  Params autoWeights = onnx::withSparseLayers(model, nn::SparseExec::Auto, &chosen);
  EXPECT_EQ(names(chosen), (std::vector<std::string>{"W1 node 'fc1' (Gemm)",
                                                     "W3 node 'fc3' (MatMul)"}));
  EXPECT_FALSE(autoWeights.contains("W2.csr.positions"));
  expectNear(run(model, autoWeights, c.inputs), want, "auto");
}

// `auto` measures each weight in the product its node runs: x·Wᵀ for a Gemm
// with transB, x·W for one without and for MatMul, whose rows are those of
// its N-D input (N·S·…, from the inferred output shape), not the batch's.
TEST_F(OnnxSparseLayers, AutoCalibratesEachWeightInTheProductItRuns) {
  std::mt19937 rng(16);
  SparseMlp mlp(rng);
  ModelCase c = mlp.model();
  auto model = onnx::OnnxModel::load(writeModel(c.model, dir, "mlp"));
  ASSERT_TRUE(model.unsupported().empty());
  ::setenv("BREGMAN_CACHE_DIR", dir.c_str(), 1);
  std::vector<onnx::SparseLayer> chosen;
  Params weights = onnx::withSparseLayers(model, nn::SparseExec::Auto, &chosen, /*batch=*/2);
  ::unsetenv("BREGMAN_CACHE_DIR");
  std::ifstream in(dir / "sparse-crossover.json");
  std::string cache((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto hasKey = [&](const std::string &tail) {
    return cache.find(tail + "\"") != std::string::npos;
  };
  EXPECT_TRUE(hasKey("[5, 6] x batch 2 | csr batch-major")) << cache;
  EXPECT_TRUE(hasKey("[5, 4] x batch 2 | x.W")) << cache;
  EXPECT_TRUE(hasKey("[4, 3] x batch 4 | x.W")) << cache;
  for (const onnx::SparseLayer &layer : chosen)
    EXPECT_EQ(layer.crossover.source, "measured") << layer.initializer;
  (void)weights;
}

// Conv: the filters of convolutions that fit (strided and grouped ones too)
// get their CSR pair and run on it; one padded beyond dilation·(K − 1)
// keeps its dense filter.
// The outputs equal the dense run's (the op itself is checked against float64
// in tests/unit/frontend/SparseConvTest.cpp); the layers read the CSR.
TEST_F(OnnxSparseLayers, ConvsThatFitRunOnTheirFilterCsr) {
  std::mt19937 rng(21);
  std::vector<float> x = uniformValues(rng, 2 * 3 * 7 * 9);
  ModelCase c;
  c.input("x", {2, 3, 7, 9}, x);
  c.weight("W1", {4, 3, 3, 3}, sparseValues(rng, 4, 27, 0.3));
  c.weight("W2", {5, 4, 3, 3}, sparseValues(rng, 5, 36, 0.3));
  c.weight("W3", {2, 5, 1, 1}, sparseValues(rng, 2, 5, 0.5));
  c.weight("W4", {2, 1, 1, 1}, {0.5f, -2.0f});
  c.weight("W5", {2, 2, 1, 1}, {1.0f, 0.0f, -0.5f, 2.0f});
  setIntsAttr(c.node("Conv", {"x", "W1"}, {"h1"}, "c1"), "pads", {1, 1, 1, 1});
  setIntsAttr(c.node("Conv", {"h1", "W2"}, {"h2"}, "c2"), "strides", {2, 2});
  c.node("Conv", {"h2", "W3"}, {"h3"}, "c3");
  setIntAttr(c.node("Conv", {"h3", "W4"}, {"h4"}, "c4"), "group", 2);
  setIntsAttr(c.node("Conv", {"h4", "W5"}, {"y"}, "c5"), "pads", {1, 1, 1, 1});
  c.output("y", {2, 2, 5, 6});
  auto model = onnx::OnnxModel::load(writeModel(c.model, dir, "convs"));
  ASSERT_TRUE(model.unsupported().empty());
  std::map<std::string, onnx::SparseConvWeight> fits = onnx::sparseConvWeights(model);
  std::vector<std::string> found;
  for (const auto &[name, use] : fits)
    found.push_back(fmt::format("{} {} strides [{}, {}] groups {}", name, use.node,
                                use.options.stride[0], use.options.stride[1],
                                use.options.groups));
  EXPECT_EQ(found,
            (std::vector<std::string>{"W1 node 'c1' (Conv) strides [1, 1] groups 1",
                                      "W2 node 'c2' (Conv) strides [2, 2] groups 1",
                                      "W3 node 'c3' (Conv) strides [1, 1] groups 1",
                                      "W4 node 'c4' (Conv) strides [1, 1] groups 2"}));
  auto y = [&](const Params &w) { return run(model, w, c.inputs, {2, 2, 5, 6}); };
  std::vector<float> dense =
      y(onnx::withSparseLayers(model, nn::SparseExec::Off));
  std::vector<double> want(dense.begin(), dense.end());
  std::vector<onnx::SparseLayer> layers;
  Params sparse = onnx::withSparseLayers(model, nn::SparseExec::On, &layers);
  EXPECT_EQ(names(layers), (std::vector<std::string>{"W1 node 'c1' (Conv)",
                                                     "W2 node 'c2' (Conv)",
                                                     "W3 node 'c3' (Conv)",
                                                     "W4 node 'c4' (Conv)"}));
  EXPECT_TRUE(sparse.contains("W1.csrt.values"));
  EXPECT_TRUE(sparse.contains("W2.csr.positions"));
  // W4's transposed CSR has a row per input channel (2), not per filter
  // channel (1): the groups are read back from it.
  EXPECT_EQ(sparse.at("W4.csrt.positions").shape(), (Shape{3}));
  EXPECT_FALSE(sparse.contains("W5.csr.positions"));
  expectNear(y(sparse), want, "on");
  // c3 is linear in its filter (and c4 in its input): its CSR's values
  // halved halve y.
  Params halved = sparse;
  for (const char *key : {"W3.csr.values", "W3.csrt.values"}) {
    std::vector<float> v = halved.at(key).toVector<float>();
    for (float &e : v)
      e *= 0.5f;
    halved.set(key, Tensor::fromVector(v, {int64_t(v.size())}));
  }
  for (double &v : want)
    v *= 0.5;
  expectNear(y(halved), want, "on, W3's CSR halved");
}

// `auto` with the graph's inputs measures each filter at the size of the
// input its Conv reads (x 7×9; c2's input, after a padded 3×3, 7×9 too; its
// output, stride 2, 3×4); without them at the calibration's own 16×16.
TEST_F(OnnxSparseLayers, AutoMeasuresEachFilterAtItsInputSize) {
  std::mt19937 rng(22);
  ModelCase c;
  c.input("x", {2, 3, 7, 9}, uniformValues(rng, 2 * 3 * 7 * 9));
  c.weight("W1", {4, 3, 3, 3}, sparseValues(rng, 4, 27, 0.3));
  c.weight("W2", {5, 4, 3, 3}, sparseValues(rng, 5, 36, 0.3));
  c.weight("W3", {2, 5, 1, 1}, sparseValues(rng, 2, 5, 0.5));
  setIntsAttr(c.node("Conv", {"x", "W1"}, {"h1"}, "c1"), "pads", {1, 1, 1, 1});
  setIntsAttr(c.node("Conv", {"h1", "W2"}, {"h2"}, "c2"), "strides", {2, 2});
  c.node("Conv", {"h2", "W3"}, {"y"}, "c3");
  c.output("y", {2, 2, 3, 4});
  auto model = onnx::OnnxModel::load(writeModel(c.model, dir, "sized"));
  ASSERT_TRUE(model.unsupported().empty());
  auto cacheAfter = [&](const Params *feeds) {
    std::filesystem::path cacheDir = dir / (feeds ? "with-feeds" : "without");
    {
      testsupport::ScopedEnv cacheEnv("BREGMAN_CACHE_DIR", cacheDir.string());
      std::vector<onnx::SparseLayer> chosen;
      onnx::withSparseLayers(model, nn::SparseExec::Auto, &chosen, 2, feeds);
    }
    std::ifstream in(cacheDir / "sparse-crossover.json");
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  };
  std::string sized = cacheAfter(&c.inputs);
  if (sized.empty())
    GTEST_SKIP() << "nothing measured (the GPU emulation has no sparse lowering)";
  for (const char *key : {"conv [4, 3, 3, 3] strides [1, 1] padding [1, 1, 1, 1] "
                          "dilations [1, 1] forward on 7x9 x batch",
                          "conv [5, 4, 3, 3] strides [2, 2] padding [0, 0, 0, 0] "
                          "dilations [1, 1] forward on 7x9 x batch",
                          "conv [2, 5, 1, 1] strides [1, 1] padding [0, 0, 0, 0] "
                          "dilations [1, 1] forward on 3x4 x batch"})
    EXPECT_NE(sized.find(key), std::string::npos) << key << "\n" << sized;
  std::string unsized = cacheAfter(nullptr);
  EXPECT_NE(unsized.find("conv [4, 3, 3, 3] strides [1, 1] padding [1, 1, 1, 1] "
                         "dilations [1, 1] forward on 16x16 x batch"),
            std::string::npos)
      << unsized;
}

// A depthwise filter written as a sparse_initializer runs on its CSR pair;
// a filter that two Convs read with different groups stays dense (its
// transposed CSR differs by the groups).
TEST_F(OnnxSparseLayers, GroupedFiltersRunOnTheirCsr) {
  std::mt19937 rng(27);
  std::vector<float> x = uniformValues(rng, 2 * 4 * 6 * 7);
  ModelCase c;
  c.input("x", {2, 4, 6, 7}, x);
  c.weight("D", {4, 1, 3, 3}, sparseValues(rng, 4, 9, 0.4, /*zeroRow=*/2));
  c.weight("S", {4, 2, 1, 1}, sparseValues(rng, 4, 2, 0.6));
  c.weight("T", {2, 4, 1, 1}, sparseValues(rng, 2, 4, 0.6));
  ::onnx::NodeProto &depthwise = c.node("Conv", {"x", "D"}, {"h"}, "dw");
  setIntAttr(depthwise, "group", 4);
  setIntsAttr(depthwise, "pads", {1, 1, 1, 1});
  setIntsAttr(depthwise, "strides", {2, 2});
  setIntAttr(c.node("Conv", {"h", "S"}, {"h2"}, "grouped"), "group", 2);
  c.node("Conv", {"h2", "T"}, {"h3"}, "mix");
  c.node("Conv", {"h3", "S"}, {"y"}, "again"); // S with one group
  c.output("y", {2, 4, 3, 4});
  auto original = onnx::OnnxModel::load(writeModel(c.model, dir, "grouped"));
  std::string path = (dir / "sparse-grouped.onnx").string();
  original.save(path, Params{}, /*sparse=*/true);
  auto model = onnx::OnnxModel::load(path);
  ASSERT_TRUE(model.sparseInitializers().count("D"));
  std::vector<onnx::SparseLayer> layers;
  Params sparse = onnx::withSparseLayers(model, nn::SparseExec::On, &layers);
  EXPECT_EQ(names(layers), (std::vector<std::string>{"D node 'dw' (Conv)",
                                                     "T node 'mix' (Conv)"}));
  EXPECT_FALSE(sparse.contains("S.csr.positions"));
  CsrFilter fromDense = compressFilter(model.weights().at("D"), 4);
  expectCsrParams(sparse, "D.csrt.", fromDense.columns);
  auto y = [&](const Params &w) { return run(model, w, c.inputs, {2, 4, 3, 4}); };
  std::vector<float> dense = y(onnx::withSparseLayers(model, nn::SparseExec::Off));
  expectNear(y(sparse), std::vector<double>(dense.begin(), dense.end()),
             "grouped, on");
}

// A filter written as a sparse_initializer: its CSR pair comes from the
// file's indices (the transpose from those entries) and equals the one
// compressed from the dense copy; Conv on it gives the dense output.
TEST_F(OnnxSparseLayers, SparseFilterInitializersGoToTheCsrDirectly) {
  std::mt19937 rng(23);
  std::vector<float> x = uniformValues(rng, 2 * 3 * 6 * 7);
  ModelCase c;
  c.input("x", {2, 3, 6, 7}, x);
  c.weight("W", {4, 3, 3, 2}, sparseValues(rng, 4, 18, 0.25, /*zeroRow=*/1));
  setIntsAttr(c.node("Conv", {"x", "W"}, {"y"}, "conv"), "pads", {1, 0, 1, 1});
  c.output("y", {2, 4, 6, 7});
  auto original = onnx::OnnxModel::load(writeModel(c.model, dir, "conv"));
  std::string path = (dir / "sparse-conv.onnx").string();
  original.save(path, Params{}, /*sparse=*/true);
  auto model = onnx::OnnxModel::load(path);
  ASSERT_TRUE(model.sparseInitializers().count("W"));
  const CsrWeight &fromFile = model.sparseInitializers().at("W");
  EXPECT_EQ(fromFile.rows, 4);
  EXPECT_EQ(fromFile.cols, 18);
  CsrFilter fromDense = compressFilter(model.weights().at("W"));
  std::vector<onnx::SparseLayer> layers;
  Params sparse = onnx::withSparseLayers(model, nn::SparseExec::On, &layers);
  EXPECT_EQ(names(layers), (std::vector<std::string>{"W node 'conv' (Conv)"}));
  expectCsrParams(sparse, "W.csr.", fromDense.rows);
  expectCsrParams(sparse, "W.csrt.", fromDense.columns);
  auto y = [&](const Params &w) { return run(model, w, c.inputs, {2, 4, 6, 7}); };
  std::vector<float> dense = y(onnx::withSparseLayers(model, nn::SparseExec::Off));
  expectNear(y(sparse), std::vector<double>(dense.begin(), dense.end()),
             "sparse filter file, on");
}

// A 1-D filter [O, C, K] (Conv1d) written as a sparse_initializer: the file's
// indices give the CSR of the matrix [O, C·K], the pair is its 2-D view's
// [O, C, 1, K], and Conv on it gives the dense output.
TEST_F(OnnxSparseLayers, SparseOneDimensionalFiltersGoToTheCsrDirectly) {
  std::mt19937 rng(29);
  std::vector<float> x = uniformValues(rng, 2 * 3 * 10);
  std::vector<float> w = sparseValues(rng, 4, 9, 0.25, /*zeroRow=*/1);
  ModelCase c;
  c.input("x", {2, 3, 10}, x);
  c.weight("W", {4, 3, 3}, w);
  auto &conv = c.node("Conv", {"x", "W"}, {"y"}, "conv");
  setIntsAttr(conv, "pads", {1, 0});
  setIntsAttr(conv, "strides", {2});
  c.output("y", {2, 4, 5});
  auto original = onnx::OnnxModel::load(writeModel(c.model, dir, "conv1d"));
  std::string path = (dir / "sparse-conv1d.onnx").string();
  original.save(path, Params{}, /*sparse=*/true);
  auto model = onnx::OnnxModel::load(path);
  ASSERT_TRUE(model.sparseInitializers().count("W"));
  EXPECT_EQ(model.sparseInitializers().at("W").rows, 4);
  EXPECT_EQ(model.sparseInitializers().at("W").cols, 9);
  CsrFilter fromDense = compressFilter(Tensor::fromVector(w, {4, 3, 1, 3}));
  std::vector<onnx::SparseLayer> layers;
  Params sparse = onnx::withSparseLayers(model, nn::SparseExec::On, &layers);
  EXPECT_EQ(names(layers), (std::vector<std::string>{"W node 'conv' (Conv)"}));
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_TRUE(layers[0].filter);
  expectCsrParams(sparse, "W.csr.", fromDense.rows);
  expectCsrParams(sparse, "W.csrt.", fromDense.columns);
  auto y = [&](const Params &p) { return run(model, p, c.inputs, {2, 4, 5}); };
  std::vector<float> dense =
      y(onnx::withSparseLayers(model, nn::SparseExec::Off));
  expectNear(y(sparse), std::vector<double>(dense.begin(), dense.end()),
             "1-D sparse filter file, on");
}

// Written with sparse_initializers: the CSR is read from the file's indices
// and equals the one compressed from the dense copy; the outputs match.
TEST_F(OnnxSparseLayers, SparseInitializersGoToTheCsrDirectly) {
  std::mt19937 rng(61);
  SparseMlp mlp(rng);
  ModelCase c = mlp.model();
  auto original = onnx::OnnxModel::load(writeModel(c.model, dir, "mlp"));
  EXPECT_TRUE(original.sparseInitializers().empty());
  std::string path = (dir / "sparse.onnx").string();
  original.save(path, Params{}, /*sparse=*/true);
  auto model = onnx::OnnxModel::load(path);
  const auto &stored = model.sparseInitializers();
  EXPECT_EQ(stored.size(), 3u); // W1, W2, W3; b1 is 1-D
  for (const char *name : {"W1", "W2", "W3"}) {
    ASSERT_TRUE(stored.count(name)) << name;
    const CsrWeight &fromFile = stored.at(name);
    CsrWeight fromDense = compressRows(model.weights().at(name));
    EXPECT_EQ(fromFile.rows, fromDense.rows) << name;
    EXPECT_EQ(fromFile.cols, fromDense.cols) << name;
    EXPECT_EQ(fromFile.positions.toVector<int32_t>(),
              fromDense.positions.toVector<int32_t>()) << name;
    EXPECT_EQ(fromFile.coordinates.toVector<int32_t>(),
              fromDense.coordinates.toVector<int32_t>()) << name;
    EXPECT_EQ(fromFile.values.toVector<float>(), fromDense.values.toVector<float>())
        << name;
  }
  std::vector<onnx::SparseLayer> layers;
  Params w = onnx::withSparseLayers(model, nn::SparseExec::On, &layers);
  EXPECT_EQ(layers.size(), 3u);
  EXPECT_EQ(w.at("W1.csr.values").numel(), stored.at("W1").values.numel());
  expectNear(run(model, w, c.inputs), mlp.reference(), "sparse file, on");
}

// Retraining's evaluation (--sparse-exec): the CSR nn::withCsrWeights adds
// under a parameter's name reaches the graph under the ONNX name, and the
// layers run on it.
TEST_F(OnnxSparseLayers, RetrainingEvaluationRunsOnTheCsr) {
  std::mt19937 rng(7);
  SparseMlp mlp(rng);
  ModelCase c = mlp.model();
  auto model = std::make_shared<onnx::OnnxModel>(
      onnx::OnnxModel::load(writeModel(c.model, dir, "mlp")));
  onnx::OnnxNetwork net(model, "mlp.onnx", /*fromPretrained=*/true);
  Params params = net.init(0, nn::SparseInit{});
  std::vector<std::string> sparse, weights;
  for (const auto &[name, onnxName] : net.onnxNames())
    if (onnxName == "W1" || onnxName == "W2" || onnxName == "W3") {
      ASSERT_TRUE(isWeightName(name)) << name;
      weights.push_back(name);
    }
  ASSERT_EQ(weights.size(), 3u);
  Params withCsr = nn::withCsrWeights(params, nn::SparseExec::On, &sparse);
  std::sort(sparse.begin(), sparse.end());
  EXPECT_EQ(sparse, weights);
  auto forward = jit([&net](const Params &p, const Tensor &x) {
    return net.forward(p, x, nn::Mode{});
  });
  Tensor x = c.inputs.at("x");
  expectNear(forward(withCsr, x).toVector<float>(), mlp.reference(), "csr");
  auto halve = [&withCsr](const std::string &key) {
    std::vector<float> v = withCsr.at(key).toVector<float>();
    for (float &e : v)
      e *= 0.5f;
    withCsr.set(key, Tensor::fromVector(v, {int64_t(v.size())}));
  };
  for (const std::string &w : weights) // halved CSR values show it is read
    halve(nn::csrKeys(w)[2]);
  for (const auto &[name, onnxName] : net.onnxNames())
    if (onnxName == "b1") // W1's layer halves with its bias
      halve(name);
  std::vector<double> eighth = mlp.reference();
  for (double &v : eighth)
    v *= 0.125; // three layers halved, ReLU positively homogeneous
  expectNear(forward(withCsr, x).toVector<float>(), eighth, "csr halved");
}

} // namespace
} // namespace bregman::testing
