//===- Opset19To22Test.cpp - Operators in their opset-19 to 22 forms ------===//
//
// PyTorch 2.15's exporter writes opset 20 by default. Of the importer's
// operators, opsets 19 to 22 changed AveragePool (dilations), Pad (wrap),
// Resize (half_pixel_symmetric) and Cast (saturate, for float8 only), and
// added Gelu; the rest only gained element types. Each new form is imported,
// compiled, run and compared with a float64 reference; before its opset it
// is refused by name, and an opset past 22 with the supported range.
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

using namespace bregman;
using bregman::onnx::OnnxModel;
using Case = bregman::testing::ModelCase;
using bregman::testing::addAttr;
using bregman::testing::setIntAttr;
using bregman::testing::setIntsAttr;

namespace {

/// 0.1·(i+1)·(−1)^i: signs mixed, no ties.
std::vector<float> values(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = 0.1f * static_cast<float>(i + 1) * (i % 2 ? -1.0f : 1.0f);
  return v;
}

void setText(::onnx::NodeProto &n, const std::string &name, const std::string &value) {
  addAttr(n, name, ::onnx::AttributeProto::STRING)->set_s(value);
}

/// AveragePool-19 with dilations 2 on x [1, 1, 5, 5]: kernel 2×2, one row
/// and one column of padding at the top and left; each window's mean over
/// its cells inside the input (count_include_pad = 0) or inside the padded
/// input (1: all four cells here).
Case dilatedAveragePool(int64_t opset, bool countPads) {
  Case c(opset);
  std::vector<float> x = values(25);
  c.input("x", {1, 1, 5, 5}, x);
  auto &n = c.node("AveragePool", {"x"});
  setIntsAttr(n, "kernel_shape", {2, 2});
  setIntsAttr(n, "dilations", {2, 2});
  setIntsAttr(n, "pads", {1, 1, 0, 0});
  setIntAttr(n, "count_include_pad", countPads ? 1 : 0);
  std::vector<double> y;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double total = 0;
      int cells = 0;
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
          int r = i - 1 + 2 * a, col = j - 1 + 2 * b;
          if (r >= 0 && r < 5 && col >= 0 && col < 5) {
            total += x[r * 5 + col];
            ++cells;
          }
        }
      y.push_back(total / (countPads ? 4 : cells));
    }
  c.output("y", {1, 1, 4, 4}, y);
  return c;
}

/// Pad-19's wrap on x [2, 3]: one row before, two columns before and four
/// after (more than the axis holds: whole copies, as NumPy's wrap).
Case wrapPad(int64_t opset) {
  Case c(opset);
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).ints("pads", {1, 2, 0, 4});
  setText(c.node("Pad", {"x", "pads"}), "mode", "wrap");
  std::vector<double> y;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 9; ++j)
      y.push_back(x[((i - 1 + 2) % 2) * 3 + (j - 2 + 3) % 3]);
  c.output("y", {3, 9}, y);
  return c;
}

/// Resize-19, linear, half_pixel_symmetric: 5 columns at scale 0.7 give 3
/// (⌊3.5⌋), so the input's centre moves by 2.5·(1 − 3/3.5) against
/// half_pixel; taps outside the input repeat its edge.
Case symmetricResize(int64_t opset) {
  Case c(opset);
  std::vector<float> x = values(5);
  c.input("x", {1, 1, 1, 5}, x).weight("roi", {0}, {});
  const float scale = 0.7f;
  c.weight("scales", {4}, {1.0f, 1.0f, 1.0f, scale});
  auto &n = c.node("Resize", {"x", "roi", "scales"});
  setText(n, "mode", "linear");
  setText(n, "coordinate_transformation_mode", "half_pixel_symmetric");
  double offset = 2.5 * (1 - 3 / 3.5);
  std::vector<double> y;
  for (int o = 0; o < 3; ++o) {
    double at = offset + (o + 0.5) / static_cast<double>(scale) - 0.5;
    double first = std::floor(at), ratio = at - first;
    auto tap = [&](double i) { return x[static_cast<int>(std::clamp(i, 0.0, 4.0))]; };
    y.push_back((1 - ratio) * tap(first) + ratio * tap(first + 1));
  }
  c.output("y", {1, 1, 1, 3}, y);
  return c;
}

/// Gelu-20, exact (erf) or its tanh form, on x from −3.6 to 3.3.
Case gelu(int64_t opset, const std::string &approximate) {
  Case c(opset);
  std::vector<float> x = values(12);
  for (float &v : x)
    v *= 3.0f;
  c.input("x", {12}, x);
  setText(c.node("Gelu", {"x"}), "approximate", approximate);
  std::vector<double> y;
  for (double v : x)
    y.push_back(approximate == "tanh"
                    ? 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                    : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
  c.output("y", {12}, y);
  return c;
}

/// Cast-19's saturate (it only changes casts to float8): FLOAT to FLOAT.
Case saturatingCast() {
  Case c(19);
  std::vector<float> x = values(4);
  c.input("x", {4}, x);
  auto &n = c.node("Cast", {"x"});
  setIntAttr(n, "to", ::onnx::TensorProto::FLOAT);
  setIntAttr(n, "saturate", 1);
  c.output("y", {4}, std::vector<double>(x.begin(), x.end()));
  return c;
}

/// ReduceMax-20 (bool inputs added) over axis 1 of [2, 3], axes an input.
Case reduceMax20() {
  Case c(20);
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).ints("axes", {1});
  setIntAttr(c.node("ReduceMax", {"x", "axes"}), "keepdims", 0);
  c.output("y", {2}, {std::max({x[0], x[1], x[2]}) + 0.0, std::max({x[3], x[4], x[5]}) + 0.0});
  return c;
}

class Opset19To22 : public bregman::testing::ModelCaseTest {
protected:
  OnnxModel load(const Case &c, const std::string &name) {
    return OnnxModel::load(bregman::testing::writeModel(c.model, dir, name));
  }
  /// The message of loading and running `c`, or a failure.
  std::string errorOf(const Case &c, const std::string &name) {
    try {
      OnnxModel model = load(c, name);
      if (!model.unsupported().empty())
        return model.unsupported().front();
      bregman::testing::runOnnx(model, c.inputs);
    } catch (const std::exception &e) {
      return e.what();
    }
    ADD_FAILURE() << name << ": no error";
    return "";
  }
};

TEST_F(Opset19To22, NewFormsMatchTheirDefinition) {
  std::vector<std::pair<std::string, Case>> cases = {
      {"averagepool19_dilations", dilatedAveragePool(19, false)},
      {"averagepool19_dilations_count_pads", dilatedAveragePool(19, true)},
      {"averagepool22_dilations", dilatedAveragePool(22, false)},
      {"pad19_wrap", wrapPad(19)},
      {"pad21_wrap", wrapPad(21)},
      {"resize19_half_pixel_symmetric", symmetricResize(19)},
      {"gelu20_none", gelu(20, "none")},
      {"gelu20_tanh", gelu(20, "tanh")},
      {"gelu22_none", gelu(22, "none")},
      {"cast19_saturate", saturatingCast()},
      {"reducemax20_axes_input", reduceMax20()},
  };
  for (auto &[name, c] : cases)
    EXPECT_TRUE(bregman::testing::caseMatches(c, dir, name));
}

// Wrap's rows are slices and concats: each element's gradient counts its
// copies (x's row 1 appears twice, row 0 once; every column three times).
TEST_F(Opset19To22, WrapPadGradientCountsTheCopies) {
  Case c = wrapPad(19);
  auto model = std::make_shared<const OnnxModel>(load(c, "pad19_wrap_gradient"));
  Params g = bregman::testing::outputSumGradient(model, c.inputs, "y");
  EXPECT_EQ(g.at("x").toVector<float>(), (std::vector<float>{3, 3, 3, 6, 6, 6}));
}

// Before their opset, the new forms are refused by name: AveragePool's
// dilations by the opset's schema (checked per node at load), wrap and
// half_pixel_symmetric by their handlers, Gelu by the table's range.
TEST_F(Opset19To22, NewFormsAreRefusedBeforeTheirOpset) {
  std::string pool = errorOf(dilatedAveragePool(18, false), "averagepool18_dilations");
  EXPECT_NE(pool.find("AveragePool-11"), std::string::npos) << pool;
  EXPECT_NE(pool.find("dilations"), std::string::npos) << pool;
  std::string pad = errorOf(wrapPad(18), "pad18_wrap");
  EXPECT_NE(pad.find("mode wrap (constant, edge and reflect are supported; wrap from opset 19)"),
            std::string::npos)
      << pad;
  std::string resize = errorOf(symmetricResize(18), "resize18_symmetric");
  EXPECT_NE(resize.find("half_pixel_symmetric from opset 19"), std::string::npos) << resize;
  std::string gelu19 = errorOf(gelu(19, "none"), "gelu19");
  EXPECT_NE(gelu19.find("Gelu"), std::string::npos) << gelu19;
  std::string approximate = errorOf(gelu(20, "fast"), "gelu20_fast");
  EXPECT_NE(approximate.find("attribute approximate = fast: must be none or tanh"),
            std::string::npos)
      << approximate;
}

TEST_F(Opset19To22, OpsetsPast22AreRefusedWithTheRange) {
  Case c(23);
  c.input("x", {2}, values(2)).node("Relu", {"x"});
  c.output("y", {2}, {0.1, 0.0});
  std::string message = errorOf(c, "relu23");
  EXPECT_NE(message.find("opset is 23"), std::string::npos) << message;
  EXPECT_NE(message.find("opsets 1 to 22"), std::string::npos) << message;
}

} // namespace
