//===- Opset18Test.cpp - Operators in their opset-18 forms ----------------===//
//
// Opset 18 is the default of PyTorch's dynamo exporter. Debian's libonnx
// 1.12 knows schemas up to opset 17, so the operators that changed in 18
// (axes of ReduceMax/Mean/Min as an input, Split's num_outputs, Resize's new
// attributes) are checked by their handlers alone. Each form is imported at
// opset 18, compiled, run and compared with a float64 reference; the
// additions whose meaning the importer does not implement are refused by
// name. (Opsets 19 to 22: Opset19To22Test.cpp.)
//
//===----------------------------------------------------------------------===//

#include "ModelCase.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace bregman;
using bregman::onnx::OnnxModel;
using Case = bregman::testing::ModelCase;
using bregman::testing::setIntAttr;
using bregman::testing::signedRamp;

namespace {

/// ReduceMean-18 / ReduceMax-18 over axis 1 of [2, 3, 2], axes an input.
Case reduceWithAxesInput(const std::string &op) {
  Case c(18);
  std::vector<float> x = signedRamp(12);
  c.input("x", {2, 3, 2}, x).ints("axes", {1});
  setIntAttr(c.node(op, {"x", "axes"}), "keepdims", 0);
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 2; ++k) {
      double acc = op == "ReduceMax" ? -1e30 : 0.0;
      for (int j = 0; j < 3; ++j) {
        double v = x[(i * 3 + j) * 2 + k];
        acc = op == "ReduceMax"  ? std::max(acc, v)
              : op == "ReduceL2" ? acc + v * v
                                 : acc + v / 3.0;
      }
      y.push_back(op == "ReduceL2" ? std::sqrt(acc) : acc);
    }
  c.output("y", {2, 2}, y);
  return c;
}

/// Pad-18 with its axes input: axis -1 of x [2, 3] by 1 before and 2
/// after, edge mode.
Case padWithAxes() {
  Case c(18);
  std::vector<float> x = signedRamp(6);
  c.input("x", {2, 3}, x).ints("pads", {1, 2}).ints("axes", {-1});
  auto *mode = c.node("Pad", {"x", "pads", "", "axes"}).add_attribute();
  mode->set_name("mode");
  mode->set_type(::onnx::AttributeProto::STRING);
  mode->set_s("edge");
  std::vector<double> y;
  for (int r = 0; r < 2; ++r)
    for (int k : {0, 0, 1, 2, 2, 2})
      y.push_back(x[3 * r + k]);
  c.output("y", {2, 6}, y);
  return c;
}

/// ReduceMin-18 without axes: every axis.
Case reduceMinAllAxes() {
  Case c(18);
  std::vector<float> x = signedRamp(6);
  c.input("x", {2, 3}, x);
  setIntAttr(c.node("ReduceMin", {"x"}), "keepdims", 0);
  c.output("y", {}, {*std::min_element(x.begin(), x.end())});
  return c;
}

/// Split-18 of 7 columns into num_outputs = 3: parts of ⌈7/3⌉ = 3, 3, 1.
Case splitNumOutputs(int64_t opset) {
  Case c(opset);
  std::vector<float> x = signedRamp(14);
  c.input("x", {2, 7}, x);
  auto &n = c.node("Split", {"x"}, {"a", "b", "c"});
  setIntAttr(n, "axis", 1);
  if (opset >= 18)
    setIntAttr(n, "num_outputs", 3);
  auto columns = [&](int from, int count) {
    std::vector<double> part;
    for (int i = 0; i < 2; ++i)
      for (int j = from; j < from + count; ++j)
        part.push_back(x[i * 7 + j]);
    return part;
  };
  c.output("a", {2, 3}, columns(0, 3)).output("b", {2, 3}, columns(3, 3));
  c.output("c", {2, 1}, columns(6, 1));
  return c;
}

class Opset18 : public bregman::testing::ModelCaseTest {
protected:
  OnnxModel load(const Case &c, const std::string &name) {
    return OnnxModel::load(bregman::testing::writeModel(c.model, dir, name));
  }
  /// The message of `fn`'s exception, or a failure.
  template <typename Fn> std::string errorOf(Fn fn) {
    try {
      fn();
    } catch (const std::exception &e) {
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }
};

TEST_F(Opset18, ChangedOperatorsMatchTheirDefinition) {
  std::vector<std::pair<std::string, Case>> cases = {
      {"reducemean18_axes_input", reduceWithAxesInput("ReduceMean")},
      {"reducemax18_axes_input", reduceWithAxesInput("ReduceMax")},
      // F.normalize's ReduceL2 and Pad with its axes: refused by the
      // opset-17 checker's schemas.
      {"reducel2_18_axes_input", reduceWithAxesInput("ReduceL2")},
      {"pad18_axes_input", padWithAxes()},
      {"reducemin18_all_axes", reduceMinAllAxes()},
      {"split18_num_outputs_uneven", splitNumOutputs(18)},
  };
  for (auto &[name, c] : cases)
    EXPECT_TRUE(bregman::testing::caseMatches(c, dir, name));
}

// Before opset 18 a Split without sizes must divide evenly.
TEST_F(Opset18, UnevenSplitWithoutSizesIsRefusedBefore18) {
  OnnxModel model = load(splitNumOutputs(17), "split17_uneven");
  std::string message = errorOf([&] {
    bregman::testing::runOnnx(model, splitNumOutputs(17).inputs);
  });
  EXPECT_NE(message.find("uneven split of 7 into 3 parts"), std::string::npos) << message;
}

// Resize-18's antialias changes what a downsampling computes: refused by
// name, as are axes and a keep_aspect_ratio_policy other than stretch.
TEST_F(Opset18, ResizeAdditionsAreRefusedByName) {
  for (const char *attribute : {"antialias", "keep_aspect_ratio_policy"}) {
    SCOPED_TRACE(attribute);
    Case c(18);
    c.input("x", {1, 1, 4, 4}, signedRamp(16)).weight("roi", {0}, {});
    c.weight("scales", {4}, {1.0f, 1.0f, 0.5f, 0.5f});
    auto &n = c.node("Resize", {"x", "roi", "scales"});
    if (std::string(attribute) == "antialias") {
      setIntAttr(n, "antialias", 1);
    } else {
      auto *a = n.add_attribute();
      a->set_name("keep_aspect_ratio_policy");
      a->set_type(::onnx::AttributeProto::STRING);
      a->set_s("not_larger");
    }
    c.output("y", {1, 1, 2, 2}, std::vector<double>(4, 0.0));
    OnnxModel model = load(c, std::string("resize18_") + attribute);
    std::string message = errorOf([&] { bregman::testing::runOnnx(model, c.inputs); });
    EXPECT_NE(message.find(attribute), std::string::npos) << message;
  }
}

} // namespace
