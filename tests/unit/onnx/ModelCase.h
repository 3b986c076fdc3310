//===- ModelCase.h - Small ONNX models built with the protobuf classes ----===//
//
// A model under construction for the importer's tests: graph inputs (with
// the values the test feeds), initializers of each type, nodes with their
// attributes, and outputs with their expected values.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_UNIT_ONNX_MODELCASE_H
#define BREGMAN_TESTS_UNIT_ONNX_MODELCASE_H

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace bregman::testing {

struct ModelCase {
  ::onnx::ModelProto model;
  Params inputs;
  std::map<std::string, std::vector<double>> expected; // by output name

  explicit ModelCase(int64_t opset = 13) {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(opset);
    model.mutable_graph()->set_name("case");
  }
  ::onnx::GraphProto &graph() { return *model.mutable_graph(); }

  static void valueInfo(::onnx::ValueInfoProto *v, const std::string &name,
                        const Shape &shape) {
    v->set_name(name);
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  ModelCase &input(const std::string &name, const Shape &shape,
                   const std::vector<float> &values) {
    valueInfo(graph().add_input(), name, shape);
    inputs.add(name, Tensor::fromVector(values, shape));
    return *this;
  }
  static void floatTensor(::onnx::TensorProto *t, const std::string &name,
                          const Shape &shape, const std::vector<float> &values) {
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  }
  /// An INT64 graph input (token ids), fed as i32.
  ModelCase &intInput(const std::string &name, const Shape &shape,
                      const std::vector<int32_t> &values) {
    auto *v = graph().add_input();
    valueInfo(v, name, shape);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::INT64);
    inputs.add(name, Tensor::fromVector(values, shape));
    return *this;
  }
  ModelCase &weight(const std::string &name, const Shape &shape,
                    const std::vector<float> &values) {
    floatTensor(graph().add_initializer(), name, shape, values);
    return *this;
  }
  /// An INT64 initializer (`shape` empty: 1-D of the values' length).
  ModelCase &ints(const std::string &name, const std::vector<int64_t> &values,
                  Shape shape = {}) {
    auto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    if (shape.empty())
      shape = {static_cast<int64_t>(values.size())};
    for (int64_t d : shape)
      t->add_dims(d);
    for (int64_t v : values)
      t->add_int64_data(v);
    return *this;
  }
  /// A BOOL scalar initializer, stored as raw bytes (as PyTorch writes it)
  /// or in int32_data.
  ModelCase &boolean(const std::string &name, bool value, bool raw = true) {
    auto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::BOOL);
    if (raw)
      t->set_raw_data(std::string(1, value ? '\1' : '\0'));
    else
      t->add_int32_data(value ? 1 : 0);
    return *this;
  }
  ::onnx::NodeProto &node(const std::string &op, const std::vector<std::string> &in,
                          const std::vector<std::string> &out = {"y"},
                          const std::string &name = "") {
    auto *n = graph().add_node();
    n->set_name(name.empty() ? "node" + std::to_string(graph().node_size()) : name);
    n->set_op_type(op);
    for (const auto &i : in)
      n->add_input(i);
    for (const auto &o : out)
      n->add_output(o);
    return *n;
  }
  ModelCase &output(const std::string &name, const Shape &shape,
                    std::vector<double> values = {}) {
    valueInfo(graph().add_output(), name, shape);
    expected[name] = std::move(values);
    return *this;
  }
};

/// `count` values uniform in [-1, 1).
inline std::vector<float> uniformValues(std::mt19937 &rng, int64_t count) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float &e : v)
    e = value(rng);
  return v;
}

inline ::onnx::AttributeProto *addAttr(::onnx::NodeProto &n, const std::string &name,
                                       ::onnx::AttributeProto::AttributeType type) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}
inline void setIntAttr(::onnx::NodeProto &n, const std::string &name, int64_t v) {
  addAttr(n, name, ::onnx::AttributeProto::INT)->set_i(v);
}
inline void setFloatAttr(::onnx::NodeProto &n, const std::string &name, float v) {
  addAttr(n, name, ::onnx::AttributeProto::FLOAT)->set_f(v);
}
inline void setStringAttr(::onnx::NodeProto &n, const std::string &name,
                          const std::string &v) {
  addAttr(n, name, ::onnx::AttributeProto::STRING)->set_s(v);
}
/// 0.1·(i+1)·(−1)^i (or `scale` for 0.1): signs mixed, no ties.
inline std::vector<float> signedRamp(int n, float scale = 0.1f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(i + 1) * (i % 2 ? -1.0f : 1.0f);
  return v;
}
inline void setIntsAttr(::onnx::NodeProto &n, const std::string &name,
                        const std::vector<int64_t> &v) {
  auto *a = addAttr(n, name, ::onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

/// Writes `model` to `dir/name.onnx` and returns the path.
inline std::string writeModel(const ::onnx::ModelProto &model,
                              const std::filesystem::path &dir, const std::string &name) {
  std::filesystem::path path = dir / (name + ".onnx");
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  return path.string();
}

/// Compiles the model's graph and runs it on `inputs`.
inline Params runOnnx(const onnx::OnnxModel &m, const Params &inputs) {
  auto compiled = jit([&m](const Params &w, const Params &c, const Params &in) {
    return m.apply(w, c, in);
  });
  return compiled(m.weights(), m.constants(), inputs);
}

/// d Σ `output` / d inputs of the model at `inputs`, compiled (a handler's
/// gradient: each input element counted as often as the output holds it,
/// for data movement).
inline Params outputSumGradient(const std::shared_ptr<const onnx::OnnxModel> &m,
                                const Params &inputs,
                                const std::string &output) {
  auto gradient =
      jit([m, output](const Params &w, const Params &k, const Params &in) {
        return valueAndGrad([&](const Params &x) {
          return sum(m->apply(w, k, x).at(output));
        })(in);
      });
  return std::get<1>(gradient(m->weights(), m->constants(), inputs));
}

/// Writes `c` as `dir/name.onnx`, imports, compiles and runs it, and
/// compares every output with its expected values (1e-6 absolute plus
/// relative).
/// Whether the case imports and every output matches its reference within
/// 1e-6 relative (for EXPECT_TRUE: the first difference is the message).
inline ::testing::AssertionResult caseMatches(const ModelCase &c,
                                              const std::filesystem::path &dir,
                                              const std::string &name) {
  onnx::OnnxModel model = onnx::OnnxModel::load(writeModel(c.model, dir, name));
  if (!model.unsupported().empty())
    return ::testing::AssertionFailure() << name << ": refused: " << model.unsupported().front();
  Params got = runOnnx(model, c.inputs);
  for (const auto &[output, expected] : c.expected) {
    std::vector<float> y = got.at(output).toVector<float>();
    if (y.size() != expected.size())
      return ::testing::AssertionFailure() << name << ": " << output << " has " << y.size()
                                           << " values, expected " << expected.size();
    for (size_t i = 0; i < y.size(); ++i)
      if (!(std::abs(y[i] - expected[i]) <= 1e-6 + 1e-6 * std::abs(expected[i])))
        return ::testing::AssertionFailure() << name << ": " << output << "[" << i << "] = " << y[i]
                                             << ", expected " << expected[i];
  }
  return ::testing::AssertionSuccess();
}

/// A fixture with a directory of its own for the models a test writes.
class ModelCaseTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = std::filesystem::temp_directory_path() /
          ("bregman_" + std::string(info->test_suite_name()) + "_" +
           std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

} // namespace bregman::testing

#endif // BREGMAN_TESTS_UNIT_ONNX_MODELCASE_H
