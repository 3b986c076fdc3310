//===- Opset19To22Test.cpp - Operators in their opset-19 to 22 forms ------===//
//
// PyTorch 2.15's exporter writes opset 20 by default. Of the importer's
// operators, opsets 19 to 22 changed AveragePool (dilations), Pad (wrap),
// Resize (half_pixel_symmetric) and Cast (saturate, for float8 only), and
// added Gelu and GroupNormalization-21 (its deprecated 18 is refused); the
// rest only gained element types. Each new form is imported,
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
using bregman::testing::setIntAttr;
using bregman::testing::setIntsAttr;
using bregman::testing::setStringAttr;
using bregman::testing::signedRamp;

namespace {

/// AveragePool-19 with dilations 2 on x [1, 1, 5, 5]: kernel 2×2, one row
/// and one column of padding at the top and left; each window's mean over
/// its cells inside the input (count_include_pad = 0) or inside the padded
/// input (1: all four cells here).
Case dilatedAveragePool(int64_t opset, bool countPads) {
  Case c(opset);
  std::vector<float> x = signedRamp(25);
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

/// AveragePool-19, 1-D, x = 1..6, kernel 2, dilation 2, stride 2,
/// ceil_mode, count_include_pad: [2, 4, 5] (ONNX 1.20's reference): the
/// last window starts inside the input and its tap past the end is not
/// counted.
Case dilatedStridedCeilPool() {
  Case c(19);
  c.input("x", {1, 1, 6}, {1, 2, 3, 4, 5, 6});
  auto &n = c.node("AveragePool", {"x"});
  setIntsAttr(n, "kernel_shape", {2});
  setIntsAttr(n, "dilations", {2});
  setIntsAttr(n, "strides", {2});
  setIntAttr(n, "ceil_mode", 1);
  setIntAttr(n, "count_include_pad", 1);
  c.output("y", {1, 1, 3}, {2, 4, 5});
  return c;
}

/// Wrap on the axis an axes input names, with a negative pad: the axis is
/// cropped first, then wrapped (as PyTorch's circular padding, which
/// exports as wrap): [a b c d] with pads (−1, +1) is [b c d b].
Case wrapWithAxesAndCrop() {
  Case c(19);
  c.input("x", {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})
      .ints("pads", {-1, 1})
      .ints("axes", {-1});
  setStringAttr(c.node("Pad", {"x", "pads", "", "axes"}), "mode", "wrap");
  c.output("y", {2, 4}, {2, 3, 4, 2, 6, 7, 8, 6});
  return c;
}

/// Pad-19's wrap on x [2, 3]: one row before, two columns before and four
/// after (more than the axis holds: whole copies, as NumPy's wrap).
Case wrapPad(int64_t opset) {
  Case c(opset);
  std::vector<float> x = signedRamp(6);
  c.input("x", {2, 3}, x).ints("pads", {1, 2, 0, 4});
  setStringAttr(c.node("Pad", {"x", "pads"}), "mode", "wrap");
  std::vector<double> y;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 9; ++j)
      y.push_back(x[((i - 1 + 2) % 2) * 3 + (j - 2 + 3) % 3]);
  c.output("y", {3, 9}, y);
  return c;
}

/// Resize-19 with half_pixel_symmetric on x [1, 1, 1, 5], scales (one
/// axis) or sizes; the expected values are ONNX 1.20's reference
/// implementation's (onnx.reference.ReferenceEvaluator), not this formula
/// again: downsampling by 0.7 gives ⌊3.5⌋ = 3 columns, so the input's centre
/// moves against half_pixel's.
Case symmetricResize(int64_t opset, const std::string &mode, float scale,
                     int64_t size, std::vector<double> expected) {
  Case c(opset);
  c.input("x", {1, 1, 1, 5}, {0.1f, -0.2f, 0.3f, -0.4f, 0.5f});
  std::vector<std::string> inputs{"x", ""};
  if (size > 0) {
    c.ints("sizes", {1, 1, 1, size});
    inputs.insert(inputs.end(), {"", "sizes"});
  } else {
    c.weight("scales", {4}, {1.0f, 1.0f, 1.0f, scale});
    inputs.push_back("scales");
  }
  auto &n = c.node("Resize", inputs);
  setStringAttr(n, "mode", mode);
  setStringAttr(n, "coordinate_transformation_mode", "half_pixel_symmetric");
  int64_t columns = static_cast<int64_t>(expected.size());
  c.output("y", {1, 1, 1, columns}, std::move(expected));
  return c;
}

Case symmetricDownsample(int64_t opset) {
  return symmetricResize(
      opset, "linear", 0.7f, 0,
      {-0.0714285746216774, 0.29999998211860657, -0.014285663142800331});
}

/// Gelu-20, exact (erf) or its tanh form, on x from −3.6 to 3.3.
Case gelu(int64_t opset, const std::string &approximate) {
  Case c(opset);
  std::vector<float> x = signedRamp(12);
  for (float &v : x)
    v *= 3.0f;
  c.input("x", {12}, x);
  setStringAttr(c.node("Gelu", {"x"}), "approximate", approximate);
  std::vector<double> y;
  for (double v : x)
    y.push_back(approximate == "tanh"
                    ? 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                    : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
  c.output("y", {12}, y);
  return c;
}

/// GroupNormalization on x [2, 4, 1, 3] in 2 groups (each 2 channels × 3
/// positions), epsilon 1e-3; scale and bias per group (opset 18) or per
/// channel (21).
Case groupNorm(int64_t opset, int64_t groups = 2) {
  Case c(opset);
  std::vector<float> x = signedRamp(24);
  int64_t affine = opset >= 21 ? 4 : 2;
  std::vector<float> scale = {0.5f, -1.5f, 2.0f, 1.0f},
                     shift = {0.1f, 0.2f, -0.3f, 0.4f};
  scale.resize(affine);
  shift.resize(affine);
  c.input("x", {2, 4, 1, 3}, x)
      .weight("scale", {affine}, scale)
      .weight("bias", {affine}, shift);
  auto &n = c.node("GroupNormalization", {"x", "scale", "bias"});
  setIntAttr(n, "num_groups", groups);
  bregman::testing::setFloatAttr(n, "epsilon", 1e-3f);
  std::vector<double> y(24);
  for (int sample = 0; sample < 2; ++sample)
    for (int g = 0; g < 2; ++g) {
      double mean = 0, var = 0;
      for (int k = 0; k < 6; ++k)
        mean += x[sample * 12 + g * 6 + k] / 6.0;
      for (int k = 0; k < 6; ++k)
        var += std::pow(x[sample * 12 + g * 6 + k] - mean, 2) / 6.0;
      for (int k = 0; k < 6; ++k) {
        int channel = g * 2 + k / 3, at = sample * 12 + g * 6 + k;
        int a = opset >= 21 ? channel : g;
        y[at] = (x[at] - mean) / std::sqrt(var + double(1e-3f)) * scale[a] +
                shift[a];
      }
    }
  c.output("y", {2, 4, 1, 3}, y);
  return c;
}

/// GroupNormalization-22 on x [2, 4] (no positions): each sample's two
/// groups of two channels normalized, epsilon 1e-5, unit scale, zero bias.
Case groupNormRank2() {
  Case c(22);
  std::vector<float> x = signedRamp(8);
  c.input("x", {2, 4}, x)
      .weight("scale", {4}, {1, 1, 1, 1})
      .weight("bias", {4}, {0, 0, 0, 0});
  setIntAttr(c.node("GroupNormalization", {"x", "scale", "bias"}), "num_groups",
             2);
  std::vector<double> y;
  for (int pair = 0; pair < 4; ++pair) {
    double a = x[2 * pair], b = x[2 * pair + 1], mean = (a + b) / 2,
           var = ((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 2;
    y.push_back((a - mean) / std::sqrt(var + double(1e-5f)));
    y.push_back((b - mean) / std::sqrt(var + double(1e-5f)));
  }
  c.output("y", {2, 4}, y);
  return c;
}

/// Cast-19's saturate (it only changes casts to float8): FLOAT to FLOAT.
Case saturatingCast() {
  Case c(19);
  std::vector<float> x = signedRamp(4);
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
  std::vector<float> x = signedRamp(6);
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
      {"resize19_symmetric_down_linear", symmetricDownsample(19)},
      {"resize19_symmetric_up_linear",
       symmetricResize(19, "linear", 2.3f, 0,
                       {0.10000000149011612, 0.02173912711441517,
                        -0.10869566351175308, -0.1347825974225998,
                        0.08260872215032578, 0.29999998211860657,
                        -0.004347863141447306, -0.3086957037448883,
                        -0.12608689069747925, 0.26521745324134827, 0.5})},
      {"resize19_symmetric_up_nearest",
       symmetricResize(
           19, "nearest", 2.3f, 0,
           {0.1, 0.1, -0.2, -0.2, 0.3, 0.3, 0.3, -0.4, -0.4, 0.5, 0.5})},
      {"resize19_symmetric_sizes_linear",
       symmetricResize(19, "linear", 0, 8,
                       {0.10000000149011612, -0.03125, -0.16875000298023224,
                        0.14375001192092896, 0.08125000447034836,
                        -0.35625001788139343, 0.10624999552965164, 0.5})},
      {"averagepool19_dilated_strided_ceil", dilatedStridedCeilPool()},
      {"pad19_wrap_axes_crop", wrapWithAxesAndCrop()},
      {"gelu20_none", gelu(20, "none")},
      {"gelu20_tanh", gelu(20, "tanh")},
      {"gelu22_none", gelu(22, "none")},
      {"cast19_saturate", saturatingCast()},
      {"reducemax20_axes_input", reduceMax20()},
      {"groupnorm21_per_channel", groupNorm(21)},
      {"groupnorm22_rank2", groupNormRank2()},
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
// half_pixel_symmetric by their handlers, Gelu by its first version.
TEST_F(Opset19To22, NewFormsAreRefusedBeforeTheirOpset) {
  std::string pool = errorOf(dilatedAveragePool(18, false), "averagepool18_dilations");
  EXPECT_NE(pool.find("AveragePool-11"), std::string::npos) << pool;
  EXPECT_NE(pool.find("dilations"), std::string::npos) << pool;
  std::string pad = errorOf(wrapPad(18), "pad18_wrap");
  EXPECT_NE(pad.find("mode wrap (constant, edge and reflect are supported; wrap from opset 19)"),
            std::string::npos)
      << pad;
  std::string resize = errorOf(symmetricDownsample(18), "resize18_symmetric");
  EXPECT_NE(resize.find("(half_pixel_symmetric from 19)"), std::string::npos)
      << resize;
  std::string gelu19 = errorOf(gelu(19, "none"), "gelu19");
  EXPECT_NE(
      gelu19.find(
          "the model's opset 19 is before Gelu's first version, opset 20"),
      std::string::npos)
      << gelu19;
  std::string groups = errorOf(groupNorm(21, 3), "groupnorm21_3_groups");
  EXPECT_NE(
      groups.find(
          "attribute num_groups = 3: must be >= 1 and divide the input's 4 "
          "channels"),
      std::string::npos)
      << groups;
  std::string groupNorm18 = errorOf(groupNorm(18), "groupnorm18");
  EXPECT_NE(groupNorm18.find("GroupNormalization-18, deprecated by ONNX"),
            std::string::npos)
      << groupNorm18;
  std::string groupNorm17 = errorOf(groupNorm(17), "groupnorm17");
  EXPECT_NE(
      groupNorm17.find("before GroupNormalization's first version, opset 18"),
      std::string::npos)
      << groupNorm17;
  std::string approximate = errorOf(gelu(20, "fast"), "gelu20_fast");
  EXPECT_NE(approximate.find("attribute approximate = fast: must be none or tanh"),
            std::string::npos)
      << approximate;
}

// PyTorch 2.15 writes IR version 10 at every opset, which libonnx 1.12's
// checker (IR 8) refused outright: such a model's graph is checked as IR 8
// (9 and 10 only add element types and metadata), so a broken graph is still
// refused.
TEST_F(Opset19To22, IrVersion10ModelsAreCheckedAsIr8) {
  // A weight: checked as IR 3 or below, an initializer must be an input.
  Case good(17);
  good.model.set_ir_version(10);
  good.input("x", {2}, signedRamp(2))
      .weight("w", {2}, {2.0f, 3.0f})
      .node("Mul", {"x", "w"});
  good.output("y", {2}, {0.2, -0.6});
  EXPECT_TRUE(bregman::testing::caseMatches(good, dir, "mul17_ir10"));
  // Exported at opset 17, the whole-model check runs on the IR-10 file.
  OnnxModel model = load(good, "mul17_ir10_export");
  std::string path = (dir / "mul17_ir10_out.onnx").string();
  EXPECT_GT(model.save(path, model.weights(), /*sparse=*/true), 0);
  EXPECT_EQ(
      bregman::testing::runOnnx(OnnxModel::load(path), good.inputs)
          .at("y")
          .toVector<float>(),
      bregman::testing::runOnnx(model, good.inputs).at("y").toVector<float>());
  Case broken = good;
  broken.graph().mutable_node(0)->set_input(0, "nowhere");
  std::string message = errorOf(broken, "relu17_ir10_broken");
  EXPECT_NE(message.find("the ONNX checker rejects the model"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("nowhere"), std::string::npos) << message;
}

// The export checks what the import checked: an opset-20, IR-10 model (a
// Gemm, a wrap Pad, a Gelu) was refused by the whole-model checker when
// written back; now it is written, and reads back with the same outputs.
TEST_F(Opset19To22, AnOpset20ModelIsExportedAndReadBack) {
  Case c(20);
  c.model.set_ir_version(10);
  std::vector<float> x = signedRamp(6);
  c.input("x", {2, 3}, x)
      .weight("w", {2, 3}, signedRamp(6))
      .ints("pads", {0, 1, 0, 1});
  auto &gemm = c.node("Gemm", {"x", "w"}, {"h"});
  setIntAttr(gemm, "transB", 1);
  setStringAttr(c.node("Pad", {"h", "pads"}, {"p"}), "mode", "wrap");
  c.node("Gelu", {"p"});
  c.output("y", {2, 4});
  OnnxModel model = load(c, "export20");
  ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
  std::string path = (dir / "export20_out.onnx").string();
  EXPECT_GT(model.save(path, model.weights(), /*sparse=*/false), 0);
  OnnxModel back = OnnxModel::load(path);
  EXPECT_EQ(
      bregman::testing::runOnnx(back, c.inputs).at("y").toVector<float>(),
      bregman::testing::runOnnx(model, c.inputs).at("y").toVector<float>());
}

// Past libonnx's schemas the attributes are still type-checked: Gelu's by
// hand, AveragePool's and Cast's additions by hand and the rest of the node
// by the older schema.
TEST_F(Opset19To22, AttributesOfNewerFormsAreTypeChecked) {
  Case geluInt = gelu(20, "none");
  geluInt.graph().mutable_node(0)->clear_attribute();
  setIntAttr(*geluInt.graph().mutable_node(0), "approximate", 1);
  std::string g = errorOf(geluInt, "gelu20_int");
  EXPECT_NE(g.find("attribute approximate has type INT, Gelu takes STRING"),
            std::string::npos)
      << g;
  Case geluExtra = gelu(20, "none");
  setIntAttr(*geluExtra.graph().mutable_node(0), "axis", 1);
  std::string e = errorOf(geluExtra, "gelu20_extra");
  EXPECT_NE(e.find("attribute axis is not one of Gelu's"), std::string::npos)
      << e;
  Case floatDilations = dilatedAveragePool(19, false);
  auto *d = floatDilations.graph().mutable_node(0)->mutable_attribute(1);
  ASSERT_EQ(d->name(), "dilations");
  d->set_type(::onnx::AttributeProto::FLOATS);
  std::string f = errorOf(floatDilations, "averagepool19_float_dilations");
  EXPECT_NE(
      f.find("attribute dilations has type FLOATS, AveragePool takes INTS"),
      std::string::npos)
      << f;
  // The operators changed in 18 are checked by their handlers, whose
  // accessors take types on trust: a FLOAT keepdims was read as 0.
  Case floatKeepdims = reduceMax20();
  auto *keep = floatKeepdims.graph().mutable_node(0)->mutable_attribute(0);
  ASSERT_EQ(keep->name(), "keepdims");
  keep->set_type(::onnx::AttributeProto::FLOAT);
  keep->set_f(1.0f);
  std::string k = errorOf(floatKeepdims, "reducemax20_float_keepdims");
  EXPECT_NE(k.find("attribute keepdims has type FLOAT, ReduceMax takes INT"),
            std::string::npos)
      << k;
  // count_include_pad as a FLOAT was read as 0: the old schema refuses it.
  Case floatCount = dilatedAveragePool(19, true);
  auto *count = floatCount.graph().mutable_node(0)->mutable_attribute(3);
  ASSERT_EQ(count->name(), "count_include_pad");
  count->set_type(::onnx::AttributeProto::FLOAT);
  count->set_f(1.0f);
  std::string cc = errorOf(floatCount, "averagepool19_float_count");
  EXPECT_NE(cc.find("the ONNX checker rejects it under AveragePool-11"),
            std::string::npos)
      << cc;
}

TEST_F(Opset19To22, OpsetsPast22AreRefusedWithTheRange) {
  Case c(23);
  c.input("x", {2}, signedRamp(2)).node("Relu", {"x"});
  c.output("y", {2}, {0.1, 0.0});
  std::string message = errorOf(c, "relu23");
  EXPECT_NE(message.find("opset is 23"), std::string::npos) << message;
  EXPECT_NE(message.find("opsets 1 to 22"), std::string::npos) << message;
}

} // namespace
