//===- OnnxNetwork.cpp - An imported ONNX graph as a trainable model ------===//

#include "bregman/onnx/OnnxNetwork.h"

#include "bregman/bregman.h"

#include <cstring>
#include <fmt/format.h>
#include <set>

namespace bregman::onnx {

namespace {
std::string stem(const std::string &name) {
  for (const char *suffix : {".weight", ".bias", ".running_mean", ".running_var"}) {
    size_t n = std::strlen(suffix);
    if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0)
      return name.substr(0, name.size() - n);
  }
  return name;
}
} // namespace

OnnxNetwork::OnnxNetwork(std::shared_ptr<const OnnxModel> model, std::string file,
                         bool fromPretrained)
    : model_(std::move(model)), file_(std::move(file)),
      fromPretrained_(fromPretrained) {
  const Params &weights = model_->weights();
  auto claim = [&](const std::string &onnxName, Role role, const char *suffix,
                   int64_t fanIn, int64_t rowSize) {
    if (!weights.contains(onnxName) || onnxNames_.count(stem(onnxName) + suffix))
      return;
    for (const auto &[name, e] : entries_)
      if (e.onnxName == onnxName)
        return; // shared initializer: its first role wins
    std::string name = stem(onnxName) + suffix;
    entries_[name] = Entry{onnxName, role, fanIn, rowSize};
    onnxNames_[name] = onnxName;
  };
  for (const NodeSummary &n : model_->summary()) {
    auto input = [&](size_t i) { return i < n.inputs.size() ? n.inputs[i] : std::string(); };
    if (n.opType == "Conv" && weights.contains(input(1))) {
      const Shape &w = weights.at(input(1)).shape();
      int64_t fanIn = w.size() == 4 ? w[1] * w[2] * w[3] : 1;
      claim(input(1), Role::ConvWeight, ".weight", fanIn, 1);
      claim(input(2), Role::Bias, ".bias", fanIn, 1);
    } else if ((n.opType == "Gemm" || n.opType == "MatMul") &&
               weights.contains(input(1)) && weights.at(input(1)).rank() == 2) {
      const Shape &w = weights.at(input(1)).shape();
      bool transposed = n.opType == "Gemm" && n.intAttributes.count("transB") &&
                        n.intAttributes.at("transB") != 0;
      int64_t fanIn = transposed ? w[1] : w[0];
      claim(input(1), Role::LinearWeight, ".weight", fanIn, w[1]);
      if (n.opType == "Gemm")
        claim(input(2), Role::Bias, ".bias", fanIn, 1);
    } else if (n.opType == "BatchNormalization") {
      claim(input(1), Role::Scale, ".scale", 1, 1);
      claim(input(2), Role::Shift, ".shift", 1, 1);
      claim(input(3), Role::Mean, ".running_mean", 1, 1);
      claim(input(4), Role::Var, ".running_var", 1, 1);
    }
  }
  std::set<std::string> claimed;
  for (const auto &[name, e] : entries_)
    claimed.insert(e.onnxName);
  for (const auto &[name, t] : weights)
    if (!claimed.count(name))
      frozen_.add(name, t);
  if (model_->inputs().size() != 1)
    throw Error(fmt::format("{}: retraining needs a model with one input, this "
                            "one has {}",
                            file_, model_->inputs().size()));
  if (model_->outputs().size() != 1)
    throw Error(fmt::format("{}: retraining needs a model with one output (the "
                            "logits), this one has {}",
                            file_, model_->outputs().size()));
}

Params OnnxNetwork::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  for (const auto &[name, e] : entries_) {
    if (e.role == Role::Mean || e.role == Role::Var)
      continue;
    const Tensor &imported = model_->weights().at(e.onnxName);
    if (fromPretrained_) {
      params.add(name, Tensor::fromVector(imported.toVector<float>(), imported.shape()));
      continue;
    }
    nn::checkSparseInit(name, config);
    const Shape &shape = imported.shape();
    switch (e.role) {
    case Role::ConvWeight:
      params.add(name, nn::sparseWeight(shape, e.fanIn, shape[2] * shape[3],
                                        config.perKernel, rng, config));
      break;
    case Role::LinearWeight:
      params.add(name, nn::sparseWeight(shape, e.fanIn, e.rowSize, config.perRow,
                                        rng, config));
      break;
    case Role::Bias:
      params.add(name, nn::uniformBias(imported.numel(), e.fanIn, rng, config));
      break;
    case Role::Scale:
      params.add(name, Tensor::fromVector(std::vector<float>(imported.numel(), 1.0f),
                                          shape));
      break;
    default:
      params.add(name, Tensor::zeros(shape));
      break;
    }
  }
  return params;
}

Params OnnxNetwork::initBuffers() const {
  Params buffers;
  // Frozen initializers and Constant nodes travel as buffers too: the step
  // takes them as inputs instead of capturing host tensors.
  for (const auto &[name, t] : frozen_)
    buffers.add("frozen:" + name, Tensor::fromVector(t.toVector<float>(), t.shape()));
  for (const auto &[name, t] : model_->constants())
    buffers.add("constant:" + name, Tensor::fromVector(t.toVector<float>(), t.shape()));
  for (const auto &[name, e] : entries_)
    if (e.role == Role::Mean || e.role == Role::Var) {
      const Tensor &t = model_->weights().at(e.onnxName);
      buffers.add(name, Tensor::fromVector(t.toVector<float>(), t.shape()));
    }
  return buffers;
}

Tensor OnnxNetwork::forward(const Params &params, const Tensor &x,
                            const nn::Mode &mode) const {
  const ValueSpec &input = model_->inputs().front();
  Shape shape = input.shape;
  int64_t perExample = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    perExample *= shape[d];
  if (x.rank() != 2 || x.dim(1) != perExample)
    throw Error(fmt::format("{}: expects a batch [N, {}] of flattened inputs of "
                            "shape {}, got {}",
                            file_, perExample, shapeString(shape),
                            shapeString(x.shape())));
  shape[0] = x.dim(0);
  // ONNX names for the graph: trained parameters, buffers (batch norm runs
  // in inference mode with the imported statistics), frozen initializers.
  Params weights;
  for (const auto &[name, e] : entries_) {
    if (e.role == Role::Mean || e.role == Role::Var) {
      const Params *buffers = mode.buffers;
      if (!buffers || !buffers->contains(name))
        throw Error(fmt::format("{}: batch norm '{}' needs the model's buffers "
                                "(running statistics)",
                                file_, name));
      weights.add(e.onnxName, buffers->at(name));
    } else {
      weights.add(e.onnxName, params.at(name));
    }
  }
  Params constants;
  if (!frozen_.empty() || !model_->constants().empty()) {
    if (!mode.buffers)
      throw Error(fmt::format("{}: the model's constants travel as buffers; "
                              "pass them in the Mode",
                              file_));
    for (const auto &[name, t] : frozen_)
      weights.add(name, mode.buffers->at("frozen:" + name));
    for (const auto &[name, t] : model_->constants())
      constants.add(name, mode.buffers->at("constant:" + name));
  }
  // Training: batch norm on batch statistics, its running statistics
  // updated under their buffer names.
  Params statistics;
  bool training = mode.training && mode.updated;
  Params outputs = model_->apply(weights, constants,
                                 Params{{input.name, reshape(x, shape)}},
                                 training ? &statistics : nullptr);
  if (training)
    for (const auto &[name, e] : entries_)
      if ((e.role == Role::Mean || e.role == Role::Var) &&
          statistics.contains(e.onnxName))
        mode.updated->add(name, statistics.at(e.onnxName));
  return outputs.at(model_->outputs().front().name);
}

std::string OnnxNetwork::describe() const {
  return fmt::format("onnx {} ({} nodes)", file_, model_->summary().size());
}

} // namespace bregman::onnx
