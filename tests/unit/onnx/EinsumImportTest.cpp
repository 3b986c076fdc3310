//===- EinsumImportTest.cpp - ONNX Einsum against its definition ----------===//
//
// Each equation runs through the importer (transposes, sums and GEMMs) and
// is compared with a float64 evaluation of the definition itself: the sum,
// over every assignment of the labels, of the product of the operands'
// elements. Ellipses are checked against the same equation with the
// ellipsis written out. A weight read by Einsum retrains as a linear weight,
// with the gradient of the definition.
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

namespace {

/// out[o] = Σ over the labels not in the output of Π_k x_k[...], for an
/// explicit equation of letters only.
std::vector<double>
einsumReference(const std::string &equation, const std::vector<Shape> &shapes,
                const std::vector<std::vector<double>> &values,
                Shape &outShape) {
  size_t arrow = equation.find("->");
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = equation.find(',', start);
    terms.push_back(equation.substr(start, std::min(comma, arrow) - start));
    if (comma == std::string::npos || comma > arrow)
      break;
    start = comma + 1;
  }
  std::string out = equation.substr(arrow + 2);
  std::map<char, int64_t> size;
  for (size_t k = 0; k < terms.size(); ++k)
    for (size_t a = 0; a < terms[k].size(); ++a)
      size[terms[k][a]] = shapes[k][a];
  std::vector<char> labels;
  for (const auto &[l, n] : size)
    labels.push_back(l);
  outShape.clear();
  int64_t outCount = 1;
  for (char l : out) {
    outShape.push_back(size[l]);
    outCount *= size[l];
  }
  std::vector<double> y(static_cast<size_t>(outCount), 0.0);
  std::map<char, int64_t> at;
  for (char l : labels)
    at[l] = 0;
  for (;;) {
    double product = 1.0;
    for (size_t k = 0; k < terms.size(); ++k) {
      int64_t flat = 0;
      for (size_t a = 0; a < terms[k].size(); ++a)
        flat = flat * shapes[k][a] + at[terms[k][a]];
      product *= values[k][static_cast<size_t>(flat)];
    }
    int64_t o = 0;
    for (char l : out)
      o = o * size[l] + at[l];
    y[static_cast<size_t>(o)] += product;
    size_t d = labels.size();
    while (d > 0 && ++at[labels[d - 1]] == size[labels[d - 1]])
      at[labels[--d]] = 0;
    if (d == 0)
      break;
  }
  return y;
}

struct EinsumCase {
  std::string equation;  // as written in the model
  std::string reference; // explicit, letters only
  std::vector<Shape> shapes;
};

class EinsumImport : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_einsum_import_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  /// The model of one Einsum node over graph inputs x0, x1, ...
  ModelCase model(const std::string &equation, const std::vector<Shape> &shapes,
                  const std::vector<std::vector<double>> &values,
                  const Shape &outShape) {
    ModelCase c(12);
    std::vector<std::string> names;
    for (size_t k = 0; k < shapes.size(); ++k) {
      names.push_back("x" + std::to_string(k));
      c.input(names.back(), shapes[k],
              std::vector<float>(values[k].begin(), values[k].end()));
    }
    bregman::testing::addAttr(c.node("Einsum", names, {"y"}, "/attn/Einsum"),
                              "equation", ::onnx::AttributeProto::STRING)
        ->set_s(equation);
    c.output("y", outShape);
    // A scalar output still has a (rank-0) shape.
    c.graph()
        .mutable_output(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape();
    return c;
  }
  fs::path dir;
};

TEST_F(EinsumImport, EquationsMatchTheirDefinitionInFloat64) {
  const std::vector<EinsumCase> cases = {
      {"bij,bjk->bik", "bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}},
      {"bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", {{2, 2, 3, 4}, {2, 2, 5, 4}}},
      {"ij,jk", "ij,jk->ik", {{3, 4}, {4, 2}}}, // implicit output
      {"ba,ac",
       "ba,ac->bc",
       {{3, 4}, {4, 2}}},             // implicit: letters used once, sorted
      {"i,i->", "i,i->", {{5}, {5}}}, // a dot product: a scalar
      {"ij,ij->i",
       "ij,ij->i",
       {{3, 4}, {3, 4}}},                  // row-wise dots: i is a batch label
      {"i,j->ij", "i,j->ij", {{3}, {4}}},  // outer product
      {"ijk->ki", "ijk->ki", {{2, 3, 4}}}, // sum over j, transposed
      {"ij->", "ij->", {{3, 4}}},          // everything summed
      {"bij,jk->bki", "bij,jk->bki", {{2, 3, 4}, {4, 5}}},
      {"bn,nd,de->be",
       "bn,nd,de->be",
       {{2, 3}, {3, 4}, {4, 5}}}, // three operands
      {"...ij,jk->...ik", "xyij,jk->xyik", {{2, 3, 4, 5}, {5, 6}}},
      {"...ij,...jk->...ik", "xij,xjk->xik", {{2, 3, 4}, {2, 4, 5}}},
      {"b i j , j k -> b i k", "bij,jk->bik", {{2, 3, 4}, {4, 2}}}, // spaces
      {"ab,cb->ac",
       "ab,cb->ac",
       {{3, 4}, {5, 4}}}, // x·Wᵀ, as nn.Linear in einsum
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (const EinsumCase &k : cases) {
    SCOPED_TRACE(k.equation);
    std::vector<std::vector<double>> values;
    for (const Shape &s : k.shapes) {
      int64_t n = 1;
      for (int64_t d : s)
        n *= d;
      std::vector<double> v(static_cast<size_t>(n));
      for (double &e : v)
        e = static_cast<float>(uniform(rng)); // representable as floats
      values.push_back(v);
    }
    Shape outShape;
    std::vector<double> want =
        einsumReference(k.reference, k.shapes, values, outShape);
    ModelCase c = model(k.equation, k.shapes, values, outShape);
    OnnxModel m =
        OnnxModel::load(bregman::testing::writeModel(c.model, dir, "einsum"));
    ASSERT_TRUE(m.unsupported().empty()) << m.unsupported().front();
    Tensor y = runOnnx(m, c.inputs).at("y");
    EXPECT_EQ(y.shape(), outShape);
    std::vector<float> got = y.toVector<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::abs(want[i]))
          << "y[" << i << "]";
  }
}

TEST_F(EinsumImport, WhatItCannotComputeIsRefusedNamingTheEquation) {
  struct Refusal {
    std::string equation;
    std::vector<Shape> shapes;
    std::string message;
  };
  const std::vector<Refusal> cases = {
      {"ii->i", {{3, 3}}, "label 'i' twice in operand 0 (a diagonal or trace)"},
      {"ij,jk->ik", {{3, 4}}, "must have one term per input (1)"},
      {"ij,kj->ik",
       {{3, 4}, {2, 5}},
       "label 'j' is 4 in one operand and 5 in operand 1"},
      {"i1->i", {{3, 3}}, "'1' is not a label"},
      {"ij->iq", {{3, 4}}, "output label 'q' is repeated or in no input"},
      {"ij->ii", {{3, 4}}, "output label 'i' is repeated or in no input"},
      {"ijk->i",
       {{3, 4}},
       "term 'ijk' has 3 label(s) for an operand of rank 2"},
      {"...ij,...jk->...ik",
       {{2, 3, 4}, {1, 4, 5}},
       "broadcasting a 1 is not supported"},
  };
  for (const Refusal &r : cases) {
    SCOPED_TRACE(r.equation);
    std::vector<std::vector<double>> values;
    for (const Shape &s : r.shapes) {
      int64_t n = 1;
      for (int64_t d : s)
        n *= d;
      values.emplace_back(static_cast<size_t>(n), 0.5);
    }
    ModelCase c = model(r.equation, r.shapes, values, {1});
    std::string why;
    try {
      OnnxModel m =
          OnnxModel::load(bregman::testing::writeModel(c.model, dir, "bad"));
      if (!m.unsupported().empty())
        why = m.unsupported().front();
      else
        runOnnx(m, c.inputs);
    } catch (const Error &e) {
      why = e.what();
    }
    EXPECT_NE(why.find(r.message), std::string::npos) << why;
    EXPECT_NE(why.find("/attn/Einsum"), std::string::npos) << why;
  }
}

// y = einsum("bi,oi->bo", x, W) + b retrains W as a linear weight (--reg),
// with the gradient Σ_b g[b, o]·x[b, i] of the definition.
TEST_F(EinsumImport, AWeightReadByEinsumTrainsWithTheDefinitionsGradient) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto randoms = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float &e : v)
      e = uniform(rng);
    return v;
  };
  std::vector<float> x = randoms(2 * 4), w = randoms(3 * 4), g = randoms(2 * 3);
  ModelCase c(12);
  c.input("x", {2, 4}, x);
  c.weight("proj.weight", {3, 4}, w);
  bregman::testing::addAttr(
      c.node("Einsum", {"x", "proj.weight"}, {"y"}, "/proj/Einsum"), "equation",
      ::onnx::AttributeProto::STRING)
      ->set_s("bi,oi->bo");
  c.output("y", {2, 3});
  auto model = std::make_shared<OnnxModel>(
      OnnxModel::load(bregman::testing::writeModel(c.model, dir, "proj")));
  ASSERT_TRUE(model->unsupported().empty()) << model->unsupported().front();
  bregman::onnx::OnnxNetwork net(model, "proj.onnx", /*fromPretrained=*/true);
  bool found = false;
  for (const auto &role : net.initializerRoles())
    if (role.onnxName == "proj.weight") {
      found = true;
      EXPECT_TRUE(role.trained);
      EXPECT_EQ(role.role, "weight (--reg)");
    }
  EXPECT_TRUE(found);
  Params p = net.init(1, nn::SparseInit{});
  Params aux{{"x", Tensor::fromVector(x, {2, 4})},
             {"g", Tensor::fromVector(g, {2, 3})}};
  std::string name = net.onnxNames().begin()->first;
  std::vector<float> dw =
      jit([&net](const Params &q, const Params &a) {
        return grad([&](const Params &r) {
          return sum(net.forward(r, a.at("x"), nn::Mode{}) * a.at("g"));
        })(q);
      })(p, aux)
          .at(name)
          .toVector<float>();
  ASSERT_EQ(dw.size(), w.size());
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t i = 0; i < 4; ++i) {
      double want = 0.0;
      for (int64_t b = 0; b < 2; ++b)
        want += double(g[b * 3 + o]) * double(x[b * 4 + i]);
      EXPECT_NEAR(dw[o * 4 + i], want, 1e-5) << "dW[" << o << ", " << i << "]";
    }
}

} // namespace
