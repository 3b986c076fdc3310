//===- LegacyOpsetTest.cpp - Operators at the opsets before their changes ---===//
//
// The importer's table runs each operator from its first ONNX version; a
// handler reads the form the model's opset selects. Each case here is an
// old form that differs from the current one (an attribute that later
// became an input, another default, the legacy broadcasting before opset 7,
// no broadcasting in Max/Min before 8), imported at that opset, compiled,
// run and compared with a float64 reference written from that version's
// definition. The forms these versions refuse are in
// tests/hostile/data/OnnxAttributesTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace bregman;
using bregman::onnx::OnnxModel;
using Case = bregman::testing::ModelCase;
using bregman::testing::addAttr;
using bregman::testing::setFloatAttr;
using bregman::testing::setIntAttr;
using bregman::testing::setIntsAttr;

namespace {

/// 0.1·(i+1)·(−1)^i: signs mixed, no ties.
std::vector<float> values(int n, float scale = 0.1f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(i + 1) * (i % 2 ? -1.0f : 1.0f);
  return v;
}

/// Reshape-1 (before 5): the target is the `shape` attribute, with 0 and -1
/// as later.
Case reshapeAttribute() {
  Case c(4);
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x);
  setIntsAttr(c.node("Reshape", {"x"}), "shape", {3, -1});
  c.output("y", {3, 2}, {x.begin(), x.end()});
  return c;
}

/// Concat-1 (before 4): `axis` is optional and defaults to 1.
Case concatDefaultAxis() {
  Case c(3);
  std::vector<float> x = values(4);
  c.input("x", {2, 2}, x).weight("w", {2, 1}, {5.0f, 6.0f}).node("Concat", {"x", "w"});
  c.output("y", {2, 3}, {x[0], x[1], 5.0, x[2], x[3], 6.0});
  return c;
}

/// Cast-1 (before 6): `to` names the type.
Case castTypeName() {
  Case c(5);
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x);
  addAttr(c.node("Cast", {"x"}), "to", ::onnx::AttributeProto::STRING)->set_s("FLOAT");
  c.output("y", {2, 3}, {x.begin(), x.end()});
  return c;
}

/// Clip-1 (before 6): bounds are attributes without defaults (absent:
/// unbounded), beside the legacy `consumed_inputs`.
Case clipAttributes() {
  Case c(5);
  std::vector<float> x = values(6, 1.0f);
  c.input("x", {2, 3}, x);
  auto &n = c.node("Clip", {"x"});
  setFloatAttr(n, "min", -2.5f);
  setIntsAttr(n, "consumed_inputs", {0});
  std::vector<double> y;
  for (float v : x)
    y.push_back(std::max(double(v), -2.5));
  c.output("y", {2, 3}, y);
  return c;
}

/// Max-1 and Min-1 (before 8): three inputs of one shape.
Case maxMinLegacy(const std::string &op) {
  Case c(5);
  std::vector<float> a = values(6), b = values(6, -0.15f), d = values(6, 0.12f);
  c.input("a", {2, 3}, a).input("b", {2, 3}, b).input("d", {2, 3}, d);
  setIntsAttr(c.node(op, {"a", "b", "d"}), "consumed_inputs", {0, 0, 0});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    y.push_back(op == "Max" ? std::max({a[i], b[i], d[i]}) : std::min({a[i], b[i], d[i]}));
  c.output("y", {2, 3}, y);
  return c;
}

/// BatchNormalization-1 (before 6): the required `consumed_inputs`, and
/// `is_test` = 1 for inference (0, training, is the default before 7).
Case batchNormIsTest() {
  Case c(5);
  std::vector<float> x = values(8), scale = {1.5f, 0.5f}, shift = {0.1f, -0.2f},
                     mean = {0.2f, -0.1f}, var = {0.5f, 2.0f};
  c.input("x", {1, 2, 2, 2}, x)
      .weight("s", {2}, scale)
      .weight("t", {2}, shift)
      .weight("m", {2}, mean)
      .weight("v", {2}, var);
  auto &n = c.node("BatchNormalization", {"x", "s", "t", "m", "v"});
  setIntsAttr(n, "consumed_inputs", {0, 0, 0, 1, 1});
  setIntAttr(n, "is_test", 1);
  setFloatAttr(n, "epsilon", 1e-3f);
  std::vector<double> y;
  for (int i = 0; i < 8; ++i) {
    int ch = i / 4;
    y.push_back((x[i] - mean[ch]) / std::sqrt(double(var[ch]) + double(1e-3f)) * scale[ch] +
                shift[ch]);
  }
  c.output("y", {1, 2, 2, 2}, y);
  return c;
}

/// Split-1: the sizes may be an input (from 2 to 12 only an attribute).
Case splitSizesInput() {
  Case c(1);
  std::vector<float> x = values(8);
  c.input("x", {2, 4}, x).ints("sizes", {1, 3});
  setIntAttr(c.node("Split", {"x", "sizes"}, {"y", "z"}), "axis", 1);
  c.output("y", {2, 1}, {x[0], x[4]});
  c.output("z", {2, 3}, {x[1], x[2], x[3], x[5], x[6], x[7]});
  return c;
}

/// Tile-1: `tiles` copies along axis `axis`, both inputs of the data's
/// type (from 6: one integer repeat per axis).
Case tileTilesAxis() {
  Case c(1);
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x)
      .weight("tiles", {1}, {3.0f})
      .weight("axis", {1}, {0.0f});
  c.node("Tile", {"x", "tiles", "axis"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 3; ++j)
      y.push_back(x[(i % 2) * 3 + j]);
  c.output("y", {6, 3}, y);
  return c;
}

/// Before opset 7, with `broadcast` = 1, B matches a run of A's
/// dimensions from `axis` (absent: the trailing ones; B's 1s expand) or is
/// one element: y[i, j] = x[i, j] ∘ b[index(i, j)].
Case legacyBroadcast(const std::string &op, Shape bShape, std::optional<int64_t> axis,
                     const std::function<int(int, int)> &index) {
  Case c(6);
  std::vector<float> x = values(6), b = values(static_cast<int>(numElements(bShape)), 0.7f);
  c.input("x", {2, 3}, x).weight("b", bShape, b);
  auto &n = c.node(op, {"x", "b"});
  setIntAttr(n, "broadcast", 1);
  if (axis)
    setIntAttr(n, "axis", *axis);
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double a = x[i * 3 + j], z = b[index(i, j)];
      y.push_back(op == "Add" ? a + z : op == "Sub" ? a - z : op == "Mul" ? a * z : a / z);
    }
  c.output("y", {2, 3}, y);
  return c;
}

/// Less-6 with B along axis 0, its 0/1 result cast to FLOAT.
Case legacyLess() {
  Case c(6);
  std::vector<float> x = values(6), b = {0.15f, -0.3f};
  c.input("x", {2, 3}, x).weight("b", {2}, b);
  auto &n = c.node("Less", {"x", "b"}, {"lt"});
  setIntAttr(n, "broadcast", 1);
  setIntAttr(n, "axis", 0);
  setIntAttr(c.node("Cast", {"lt"}), "to", ::onnx::TensorProto::FLOAT);
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    y.push_back(x[i] < b[i / 3] ? 1.0 : 0.0);
  c.output("y", {2, 3}, y);
  return c;
}

/// Gemm-6: C broadcasts to [M, N] with `broadcast` = 1.
Case legacyGemm() {
  Case c(6);
  std::vector<float> a = values(6), b = values(12, 0.05f), bias = {1, -1, 0.5f, 2};
  c.input("a", {2, 3}, a).weight("B", {3, 4}, b).weight("C", {4}, bias);
  auto &n = c.node("Gemm", {"a", "B", "C"});
  setIntAttr(n, "broadcast", 1);
  setFloatAttr(n, "beta", 0.5f);
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 3; ++k)
        acc += double(a[i * 3 + k]) * b[k * 4 + j];
      y.push_back(acc + 0.5 * bias[j]);
    }
  c.output("y", {2, 4}, y);
  return c;
}

using LegacyOpset = bregman::testing::ModelCaseTest;

TEST_F(LegacyOpset, OldFormsMatchTheirVersionsDefinition) {
  std::vector<std::pair<std::string, Case>> cases = {
      {"reshape1_shape_attribute", reshapeAttribute()},
      {"concat1_default_axis", concatDefaultAxis()},
      {"cast1_type_name", castTypeName()},
      {"clip1_attributes", clipAttributes()},
      {"max1_same_shapes", maxMinLegacy("Max")},
      {"min1_same_shapes", maxMinLegacy("Min")},
      {"batchnorm1_is_test", batchNormIsTest()},
      {"split1_sizes_input", splitSizesInput()},
      {"tile1_tiles_axis", tileTilesAxis()},
      {"add6_leading_axis",
       legacyBroadcast("Add", {2}, 0, [](int i, int) { return i; })},
      {"sub6_trailing_with_1",
       legacyBroadcast("Sub", {1, 3}, {}, [](int, int j) { return j; })},
      {"mul6_one_element",
       legacyBroadcast("Mul", {1, 1}, {}, [](int, int) { return 0; })},
      {"div6_same_shape",
       legacyBroadcast("Div", {2, 3}, {},
                       [](int i, int j) { return i * 3 + j; })},
      {"less6_leading_axis", legacyLess()},
      {"gemm6_broadcast_c", legacyGemm()},
  };
  for (auto &[name, c] : cases)
    EXPECT_TRUE(bregman::testing::caseMatches(c, dir, name));
}

} // namespace
