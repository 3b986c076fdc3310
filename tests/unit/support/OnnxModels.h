//===- OnnxModels.h - Small ONNX models built by the tests -----*- C++ -*-===//
//
// Models with batch normalization, written with the protobuf classes as
// PyTorch's exporter writes them, for the retraining and export tests. The
// tied variant is what torch.onnx.export makes of a freshly initialised
// module in evaluation mode: it merges initializers of equal values, so
// every batch norm of one width reads one tensor of ones as γ and as
// running variance, and one of zeros as β and as running mean.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_SUPPORT_ONNXMODELS_H
#define BREGMAN_TESTS_SUPPORT_ONNXMODELS_H

#include "bregman/Params.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace bregman::testmodels {

class OnnxGraph {
public:
  explicit OnnxGraph(const std::string &name, int64_t opset = 13) {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(opset);
    model.mutable_graph()->set_name(name);
  }
  void input(const std::string &name, const Shape &shape) {
    valueInfo(model.mutable_graph()->add_input(), name, shape);
  }
  void output(const std::string &name, const Shape &shape) {
    valueInfo(model.mutable_graph()->add_output(), name, shape);
  }
  void initializer(const std::string &name, const Shape &shape,
                   const std::vector<float> &values) {
    auto *t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  }
  ::onnx::NodeProto *node(const std::string &opType, const std::string &name,
                          const std::vector<std::string> &inputs,
                          const std::vector<std::string> &outputs) {
    auto *n = model.mutable_graph()->add_node();
    n->set_op_type(opType);
    n->set_name(name);
    for (const std::string &i : inputs)
      n->add_input(i);
    for (const std::string &o : outputs)
      n->add_output(o);
    return n;
  }
  static void intAttr(::onnx::NodeProto *n, const std::string &name, int64_t v) {
    auto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void floatAttr(::onnx::NodeProto *n, const std::string &name, float v) {
    auto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  /// Serializes the model to `path`; returns `path`.
  std::string write(const std::string &path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    model.SerializeToOstream(&out);
    return path;
  }

  ::onnx::ModelProto model;

private:
  static void valueInfo(::onnx::ValueInfoProto *v, const std::string &name,
                        const Shape &shape) {
    v->set_name(name);
    auto *tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      tensor->mutable_shape()->add_dim()->set_dim_value(d);
  }
};

/// x[1, in] -> (Gemm -> BatchNormalization -> Relu) x 2 -> Gemm -> y[1,
/// classes], the Gemms' weights uniform in ±1/sqrt(fan-in) from `seed`, the
/// batch norms fresh (γ 1, β 0, mean 0, variance 1; PyTorch's momentum 0.1
/// = ONNX 0.9). `tied`: both batch norms read "bn1.weight" as γ and running
/// variance and "bn1.bias" as β and running mean, as exported by PyTorch.
inline OnnxGraph batchNormMlp(int64_t in, int64_t hidden, int64_t classes, bool tied,
                              uint32_t seed = 1) {
  OnnxGraph g(tied ? "bn_mlp_tied" : "bn_mlp");
  g.input("x", {1, in});
  g.output("y", {1, classes});
  std::mt19937 rng(seed);
  auto uniform = [&](int64_t count, int64_t fanIn) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(count);
    for (float &x : v)
      x = u(rng) / std::sqrt(static_cast<float>(fanIn));
    return v;
  };
  auto gemm = [&](const std::string &layer, const std::string &x, int64_t from,
                  int64_t to, const std::string &y) {
    g.initializer(layer + ".weight", {to, from}, uniform(to * from, from));
    g.initializer(layer + ".bias", {to}, uniform(to, from));
    OnnxGraph::intAttr(g.node("Gemm", layer, {x, layer + ".weight", layer + ".bias"}, {y}),
                       "transB", 1);
  };
  std::vector<float> ones(hidden, 1.0f), zeros(hidden, 0.0f);
  auto batchNorm = [&](const std::string &layer, const std::string &x,
                       const std::string &y) {
    std::string owner = tied ? "bn1" : layer;
    if (!tied || layer == "bn1") {
      g.initializer(owner + ".weight", {hidden}, ones);
      g.initializer(owner + ".bias", {hidden}, zeros);
    }
    std::string mean = tied ? "bn1.bias" : layer + ".running_mean";
    std::string var = tied ? "bn1.weight" : layer + ".running_var";
    if (!tied) {
      g.initializer(mean, {hidden}, zeros);
      g.initializer(var, {hidden}, ones);
    }
    auto *n = g.node("BatchNormalization", layer,
                     {x, owner + ".weight", owner + ".bias", mean, var}, {y});
    OnnxGraph::floatAttr(n, "momentum", 0.9f);
    OnnxGraph::floatAttr(n, "epsilon", 1e-5f);
  };
  gemm("fc1", "x", in, hidden, "h1");
  batchNorm("bn1", "h1", "n1");
  g.node("Relu", "relu1", {"n1"}, {"r1"});
  gemm("fc2", "r1", hidden, hidden, "h2");
  batchNorm("bn2", "h2", "n2");
  g.node("Relu", "relu2", {"n2"}, {"r2"});
  gemm("fc3", "r2", hidden, classes, "y");
  return g;
}

} // namespace bregman::testmodels

#endif // BREGMAN_TESTS_SUPPORT_ONNXMODELS_H
