//===- OnnxNetwork.cpp - An imported ONNX graph as a trainable model ------===//

#include "bregman/onnx/OnnxNetwork.h"

#include "GraphEdits.h"
#include "OpHandlers.h"

#include "bregman/bregman.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <set>

namespace bregman::onnx {

namespace {

bool isBuffer(ParamRole role) {
  return role == ParamRole::RunningMean || role == ParamRole::RunningVar;
}

const char *roleSuffix(ParamRole role) {
  switch (role) {
  case ParamRole::ConvWeight:
  case ParamRole::LinearWeight:
  case ParamRole::Embedding: return ".weight";
  case ParamRole::Bias: return ".bias";
  case ParamRole::Scale: return ".scale";
  case ParamRole::Shift: return ".shift";
  case ParamRole::RunningMean: return ".running_mean";
  case ParamRole::RunningVar: return ".running_var";
  case ParamRole::Learned: return ".learned";
  }
  return "";
}

const char *roleName(ParamRole role) {
  switch (role) {
  case ParamRole::ConvWeight: return "conv weight (--conv-reg)";
  case ParamRole::LinearWeight: return "weight (--reg)";
  case ParamRole::Embedding: return "embedding table (--reg, rows as groups)";
  case ParamRole::Bias: return "bias (no regularizer)";
  case ParamRole::Scale: return "normalization scale (no regularizer)";
  case ParamRole::Shift: return "normalization shift (no regularizer)";
  case ParamRole::RunningMean: return "running mean (buffer)";
  case ParamRole::RunningVar: return "running variance (buffer)";
  case ParamRole::Learned: return "learned operand (no regularizer)";
  }
  return "";
}

/// The fan-in of the nn.Linear whose MatMul output `read` (an Add) adds
/// the bias to: rows of that MatMul's 2-D weight initializer; 1 if none.
int64_t addedBiasFanIn(const NodeSummary &add,
                       const std::map<std::string, const NodeSummary *> &producers,
                       const Params &weights) {
  if (add.opType != "Add")
    return 1;
  for (const std::string &operand : add.inputs) {
    auto it = producers.find(operand);
    if (it == producers.end() || it->second->opType != "MatMul" ||
        it->second->inputs.size() < 2 || !weights.contains(it->second->inputs[1]))
      continue;
    const Tensor &w = weights.at(it->second->inputs[1]);
    if (w.rank() == 2)
      return w.dim(0);
  }
  return 1;
}

/// The rank-3 initializers that only Convs and ConvTransposes read, as their
/// weight: each trains as its 2-D filter, so that it joins the conv group
/// and its kernels are the groups of l1_l2_conv, as a Conv2d's. (Another
/// reader would see the wrong shape: such a filter keeps the file's.)
std::set<std::string>
filtersOfHeightOne(const std::vector<NodeSummary> &summary,
                   const Params &weights) {
  std::set<std::string> filters, other;
  for (const NodeSummary &n : summary)
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::string &name = n.inputs[i];
      if (!weights.contains(name) || weights.at(name).rank() != 3)
        continue;
      bool filter =
          (n.opType == "Conv" || n.opType == "ConvTranspose") && i == 1;
      (filter ? filters : other).insert(name);
    }
  for (const std::string &name : other)
    filters.erase(name);
  return filters;
}

struct LayerShape {
  int64_t fanIn = 1, rowSize = 1;
};

/// The fan-in (and, linear, the row size) of the node's weight; nullopt
/// when its weight input is not an initializer of the expected rank.
std::optional<LayerShape> layerShape(const NodeSummary &n, const Params &weights) {
  for (const auto &[index, role] : n.parameterRoles) {
    if (role != ParamRole::ConvWeight && role != ParamRole::LinearWeight)
      continue;
    if (index >= static_cast<int>(n.inputs.size()) || !weights.contains(n.inputs[index]))
      return std::nullopt;
    const Shape &w = weights.at(n.inputs[index]).shape();
    if (role == ParamRole::ConvWeight) {
      int64_t fanIn = 1; // [M, C/group, kernel...]: all but the outputs
      for (size_t d = 1; d < w.size(); ++d)
        fanIn *= w[d];
      return LayerShape{w.size() >= 3 ? fanIn : 1, 1};
    }
    if (w.size() != 2)
      return std::nullopt;
    bool transposed = n.intAttributes.count("transB") && n.intAttributes.at("transB") != 0;
    return LayerShape{transposed ? w[1] : w[0], w[1]};
  }
  return LayerShape{};
}
/// The elements of one row of an embedding table (what one index picks
/// along axis 0: a token's vector); 1 when `name` is not an initializer.
int64_t embeddingRowSize(const std::string &name, const Params &weights) {
  if (!weights.contains(name) || weights.at(name).rank() == 0)
    return 1;
  const Tensor &t = weights.at(name);
  return t.dim(0) > 0 ? t.numel() / t.dim(0) : 1;
}

/// The float initializers that graph value `value` is moved out of by data
/// movement alone (Slice, Concat, Unsqueeze, Squeeze, Reshape, Transpose,
/// Identity): PyTorch's export of nn.LSTM and nn.GRU reorders the gates of
/// its weights so. Empty when anything else takes part.
std::vector<std::string> movedFrom(const std::string &value,
                                   const std::map<std::string, const NodeSummary *> &producers,
                                   const Params &weights, int depth = 0) {
  if (weights.contains(value))
    return {value};
  auto it = producers.find(value);
  if (it == producers.end() || depth > 16)
    return {};
  const NodeSummary &n = *it->second;
  static const std::set<std::string> moves = {"Slice",   "Concat",    "Unsqueeze", "Squeeze",
                                              "Reshape", "Transpose", "Identity"};
  if (!moves.count(n.opType) || n.inputs.empty())
    return {};
  // Only Concat moves every input; the others' later inputs are shapes.
  size_t data = n.opType == "Concat" ? n.inputs.size() : 1;
  std::vector<std::string> sources;
  for (size_t i = 0; i < data; ++i) {
    std::vector<std::string> part = movedFrom(n.inputs[i], producers, weights, depth + 1);
    if (part.empty())
      return {};
    sources.insert(sources.end(), part.begin(), part.end());
  }
  return sources;
}

} // namespace

OnnxNetwork::OnnxNetwork(std::shared_ptr<const OnnxModel> model, std::string file,
                         bool fromPretrained, RetrainOptions options)
    : model_(std::move(model)), file_(std::move(file)),
      fromPretrained_(fromPretrained), options_(std::move(options)) {
  // The import's own reason first (a dynamic input is otherwise seen as a
  // model with 0 inputs).
  model_->checkSupported();
  // One tensor per role and layer (GraphEdits.cpp says why).
  splits_ = model_->tiedInitializers();
  identityCopies_ = model_->identityCopies().size();
  if (!splits_.empty() || identityCopies_ > 0)
    model_ = std::make_shared<const OnnxModel>(model_->untied());
  claimRoles();
  checkTrainNames();
  applyFreeze();
  std::set<std::string> claimed;
  for (const auto &[name, e] : entries_)
    claimed.insert(e.onnxName);
  for (const auto &[name, t] : model_->weights())
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
  // Once: the Trainer asks every epoch, and the graph's summary copies every
  // weight.
  inputLinearWeight_ = findInputLinearWeight();
}

void OnnxNetwork::claimRoles() {
  const Params &weights = model_->weights();
  auto claim = [&](const std::string &onnxName, ParamRole role, int64_t fanIn,
                   int64_t rowSize) {
    if (!weights.contains(onnxName))
      return;
    // An initializer reached again through data movement (a weight the
    // file ties by a Transpose into two layers) trains once, in its first
    // role: the graph reads the one tensor in both places.
    for (const auto &[other, e] : entries_)
      if (e.onnxName == onnxName)
        return;
    // Untied: each initializer has at most one role. Names that would
    // collide ("a.weight" and "a.bias" both biases) get the full ONNX name.
    std::string name = detail::initializerStem(onnxName) + roleSuffix(role);
    if (onnxNames_.count(name))
      name = onnxName + roleSuffix(role);
    for (int k = 2; onnxNames_.count(name); ++k)
      name = fmt::format("{}_{}{}", onnxName, k, roleSuffix(role));
    entries_[name] = Entry{onnxName, role, fanIn, rowSize};
    onnxNames_[name] = onnxName;
  };
  // The roles come from the importer's table of operators
  // (NodeSummary::parameterRoles); the layer's weight gives the fan-in.
  std::vector<NodeSummary> summary = model_->summary();
  std::map<std::string, const NodeSummary *> producers;
  for (const NodeSummary &n : summary)
    for (const std::string &out : n.outputs)
      producers[out] = &n;
  for (const NodeSummary &n : summary) {
    auto input = [&](int i) {
      return i < static_cast<int>(n.inputs.size()) ? n.inputs[i] : std::string();
    };
    std::optional<LayerShape> layer = layerShape(n, weights);
    if (!layer) {
      claimMoved(n, producers, claim);
      continue;
    }
    for (const auto &[index, role] : n.parameterRoles) {
      bool weight = role == ParamRole::ConvWeight || role == ParamRole::LinearWeight;
      if (role == ParamRole::Embedding) {
        claim(input(index), role, 1, embeddingRowSize(input(index), weights));
        continue;
      }
      claim(input(index), role, weight || role == ParamRole::Bias ? layer->fanIn : 1,
            weight ? layer->rowSize : 1);
    }
  }
  claimPlainOperands(summary, claim);
  unitHeightFilters_ = filtersOfHeightOne(summary, weights);
}

Shape OnnxNetwork::trainedShape(const Entry &e) const {
  const Shape &file = model_->weights().at(e.onnxName).shape();
  return e.role == ParamRole::ConvWeight && unitHeightFilters_.count(e.onnxName)
             ? detail::signalFilterAsImage(file)
             : file;
}

void OnnxNetwork::checkTrainNames() const {
  for (const std::string &name : options_.unfreeze) {
    if (!model_->weights().contains(name) || name.empty())
      throw Error(fmt::format("--unfreeze {}: {} has no float initializer '{}'", name, file_,
                              name));
    if (std::count(options_.freeze.begin(), options_.freeze.end(), name))
      throw Error(fmt::format("--unfreeze {}: also given to --freeze", name));
    for (const auto &[parameter, e] : entries_)
      if (e.onnxName == name && isBuffer(e.role))
        throw Error(fmt::format("--unfreeze {}: in {}, '{}' is a running statistic of batch "
                                "normalization, which training updates as a statistic",
                                name, file_, name));
  }
}

/// `--unfreeze NAME`: the rule's verdict on a plain operand overridden, unless
/// a read makes training meaningless (an attribute-like input) or nothing
/// reads it.
OperandVerdict OnnxNetwork::forcedVerdict(const std::string &name, const OperandVerdict &v,
                                          const std::vector<PlainRead> &reads) const {
  if (v.trained)
    return v;
  if (reads.empty())
    throw Error(fmt::format("--unfreeze {}: in {}, no node reads '{}'", name, file_, name));
  for (const PlainRead &r : reads)
    if (!isDataRead(r))
      throw Error(fmt::format("--unfreeze {}: in {}, it is {}: a setting, not something "
                              "a gradient step can change",
                              name, file_, v.reason));
  bool matrixProduct = std::any_of(reads.begin(), reads.end(), [](const PlainRead &r) {
    return r.opType == "MatMul" || r.opType == "Gemm" || r.opType == "Einsum";
  });
  const Tensor &t = model_->weights().at(name);
  ParamRole role = t.rank() >= 2 && matrixProduct ? ParamRole::LinearWeight : ParamRole::Learned;
  return {true, role, "--unfreeze " + name + " (the rule would keep it: " + v.reason + ")"};
}

void OnnxNetwork::claimPlainOperands(const std::vector<NodeSummary> &summary,
                                     const Claim &claim) {
  const Params &weights = model_->weights();
  std::set<std::string> claimed;
  for (const auto &[name, e] : entries_)
    claimed.insert(e.onnxName);
  std::map<std::string, std::vector<PlainRead>> reads;
  std::map<std::string, const NodeSummary *> firstReader, producers;
  for (const NodeSummary &n : summary)
    for (const std::string &out : n.outputs)
      producers[out] = &n;
  for (const NodeSummary &n : summary)
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const std::string &name = n.inputs[k];
      if (!weights.contains(name) || claimed.count(name) ||
          n.parameterRoles.count(static_cast<int>(k)))
        continue;
      reads[name].push_back(PlainRead{n.opType, n.name, static_cast<int>(k)});
      firstReader.emplace(name, &n);
    }
  for (const auto &[name, t] : weights) {
    if (claimed.count(name))
      continue;
    auto it = reads.find(name);
    OperandVerdict v = plainOperandVerdict(
        name, t, it == reads.end() ? std::vector<PlainRead>{} : it->second);
    if (std::count(options_.unfreeze.begin(), options_.unfreeze.end(), name))
      v = forcedVerdict(name, v, it == reads.end() ? std::vector<PlainRead>{} : it->second);
    if (v.trained && !options_.trainOperands) {
      frozenWhy_[name] = "--train-operands none (the rule would train it: " + v.reason + ")";
      continue;
    }
    if (!v.trained) {
      frozenWhy_[name] = v.reason;
      continue;
    }
    trainedWhy_[name] = v.reason;
    if (v.role == ParamRole::Bias)
      claim(name, v.role, addedBiasFanIn(*firstReader.at(name), producers, weights), 1);
    else
      claim(name, v.role, t.rank() >= 2 ? t.dim(t.rank() - 1) : 1,
            t.rank() >= 2 ? t.dim(t.rank() - 1) : 1);
  }
}

void OnnxNetwork::applyFreeze() {
  // The names the user knows are the file's; an untie gives some uses
  // copies of their own, which freeze with their initializer.
  std::map<std::string, std::set<std::string>> copies;
  for (const InitializerSplit &s : splits_)
    copies[s.initializer].insert(s.copy);
  for (const std::string &name : options_.freeze) {
    if (!model_->weights().contains(name) || name.empty()) {
      std::vector<std::string> known;
      for (const auto &[w, t] : model_->weights())
        if (known.size() < 12)
          known.push_back(w);
      throw Error(fmt::format("--freeze {}: {} has no float initializer '{}' (its float "
                              "initializers include: {})",
                              name, file_, name, fmt::join(known, ", ")));
    }
    copies[name].insert(name);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!copies[name].count(it->second.onnxName)) {
        ++it;
        continue;
      }
      // Batch norm updates its running statistics in training: nothing
      // to keep as imported there that the user could mean.
      if (isBuffer(it->second.role))
        throw Error(fmt::format("--freeze {}: in {}, '{}' is a running statistic of batch "
                                "normalization (a buffer the training updates), not a "
                                "parameter",
                                name, file_, name));
      frozenWhy_[it->second.onnxName] = "--freeze " + name;
      trainedWhy_.erase(it->second.onnxName);
      onnxNames_.erase(it->first);
      it = entries_.erase(it);
    }
  }
}

void OnnxNetwork::claimMoved(
    const NodeSummary &n, const std::map<std::string, const NodeSummary *> &producers,
    const std::function<void(const std::string &, ParamRole, int64_t, int64_t)> &claim) {
  // A weight the graph moves out of 2-D initializers (rows of PyTorch's
  // [gates·hidden, in] LSTM/GRU weights, reordered): each source trains
  // with the role, its columns the fan-in; biases (1-D) take the fan-in
  // of the node's first such weight. Other shapes stay frozen.
  const Params &weights = model_->weights();
  int64_t fanIn = 0;
  std::vector<std::pair<std::string, ParamRole>> biases;
  std::set<std::string> seen; // gates are slices of one initializer
  for (const auto &[index, role] : n.parameterRoles) {
    if (index >= static_cast<int>(n.inputs.size()))
      continue;
    for (const std::string &source : movedFrom(n.inputs[index], producers, weights)) {
      if (!seen.insert(source).second)
        continue;
      const Shape &shape = weights.at(source).shape();
      if (role == ParamRole::LinearWeight && shape.size() == 2) {
        fanIn = fanIn ? fanIn : shape[1];
        claim(source, role, shape[1], shape[1]);
      } else if (role == ParamRole::Bias && shape.size() == 1) {
        biases.push_back({source, role});
      }
    }
  }
  for (const auto &[source, role] : biases)
    claim(source, role, std::max<int64_t>(fanIn, 1), 1);
}

Params OnnxNetwork::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  for (const auto &[name, e] : entries_) {
    if (isBuffer(e.role))
      continue;
    const Tensor &imported = model_->weights().at(e.onnxName);
    if (fromPretrained_) {
      std::vector<float> values = imported.toVector<float>();
      // Training from NaN would end at step 1 with a NaN loss, blamed on the
      // learning rate. (Infinities can be meant: an attention mask's -inf.)
      size_t bad = static_cast<size_t>(std::count_if(
          values.begin(), values.end(), [](float x) { return std::isnan(x); }));
      if (bad > 0)
        throw Error(fmt::format("{}: initializer '{}' holds {} NaN value(s) of "
                                "{}; --from-pretrained cannot train from them",
                                file_, e.onnxName, bad, values.size()));
      params.add(name, Tensor::fromVector(values, trainedShape(e)));
      continue;
    }
    nn::checkSparseInit(name, config);
    const Shape shape = trainedShape(e);
    switch (e.role) {
    case ParamRole::ConvWeight: {
      // The kernel: the dimensions after [out, in] (a 1-D filter that keeps
      // the file's rank-3 shape has one).
      int64_t kernel = 1;
      for (size_t d = 2; d < shape.size(); ++d)
        kernel *= shape[d];
      params.add(name, nn::sparseWeight(shape, e.fanIn, kernel,
                                        config.perKernel, rng, config));
      break;
    }
    case ParamRole::LinearWeight:
      params.add(name, nn::sparseWeight(shape, e.fanIn, e.rowSize, config.perRow,
                                        rng, config));
      break;
    case ParamRole::Bias:
      params.add(name, nn::uniformBias(imported.numel(), e.fanIn, rng, config));
      break;
    case ParamRole::Embedding:
      // As nn::Embedding: rows (tokens) are the groups, N(0, r²) entries
      // (fan-in 2 makes the deviation r·√(2/2) = r).
      params.add(name, nn::sparseWeight(shape, 2, e.rowSize, config.perRow, rng, config));
      break;
    case ParamRole::Scale:
      params.add(name, Tensor::fromVector(std::vector<float>(imported.numel(), 1.0f),
                                          shape));
      break;
    case ParamRole::Learned:
      // A position table's or a scale's initialization is the model's own
      // (randn·0.02, ones, 1e-5): the file's values are all that says it.
      params.add(name, Tensor::fromVector(imported.toVector<float>(), shape));
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
    if (isBuffer(e.role)) {
      const Tensor &t = model_->weights().at(e.onnxName);
      buffers.add(name, Tensor::fromVector(t.toVector<float>(), t.shape()));
    }
  return buffers;
}

std::string OnnxNetwork::findInputLinearWeight() const {
  const ValueSpec &input = model_->inputs().front();
  if (input.shape.size() != 2)
    return ""; // reshaped first ([N, C, H, W]): its transpose stays
  std::vector<NodeSummary> readers;
  for (const NodeSummary &node : model_->summary())
    if (std::count(node.inputs.begin(), node.inputs.end(), input.name) > 0)
      readers.push_back(node);
  if (readers.size() != 1 || readers[0].inputs.size() < 2 ||
      readers[0].inputs[0] != input.name || readers[0].inputs[1] == input.name)
    return "";
  const NodeSummary &reader = readers[0];
  auto transA = reader.intAttributes.find("transA");
  bool gemm = reader.opType == "Gemm" &&
              (transA == reader.intAttributes.end() || transA->second == 0);
  if (!gemm && reader.opType != "MatMul")
    return "";
  for (const auto &[name, e] : entries_)
    if (e.onnxName == reader.inputs[1] && e.role == ParamRole::LinearWeight)
      return name;
  return "";
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
    if (isBuffer(e.role)) {
      const Params *buffers = mode.buffers;
      if (!buffers || !buffers->contains(name))
        throw Error(fmt::format("{}: batch norm '{}' needs the model's buffers "
                                "(running statistics)",
                                file_, name));
      weights.add(e.onnxName, buffers->at(name));
    } else {
      weights.add(e.onnxName, params.at(name));
      // Its CSR (nn::withCsrWeights, evaluation with --sparse-exec), under
      // the ONNX name, where Gemm and MatMul look it up.
      // A filter's second CSR (its transpose's) likewise, for Conv.
      for (auto keys : {nn::csrKeys, nn::filterColumnsKeys}) {
        auto csr = keys(name), onnxCsr = keys(e.onnxName);
        if (params.contains(csr[0]))
          for (size_t k = 0; k < csr.size(); ++k)
            weights.add(onnxCsr[k], params.at(csr[k]));
      }
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
      if (isBuffer(e.role) && statistics.contains(e.onnxName))
        mode.updated->add(name, statistics.at(e.onnxName));
  return outputs.at(model_->outputs().front().name);
}

Params OnnxNetwork::onnxInitializers(const Params &params, const Params &buffers) const {
  Params out;
  for (const auto &[name, e] : entries_) {
    const Params &from = isBuffer(e.role) ? buffers : params;
    if (!from.contains(name))
      throw Error(fmt::format("{}: no {} '{}' to write as ONNX initializer '{}'", file_,
                              isBuffer(e.role) ? "buffer" : "parameter", name,
                              e.onnxName));
    const Tensor &t = from.at(name);
    const Shape &file = model_->weights().at(e.onnxName).shape();
    // A 1-D filter goes back to the file's [M, C/group, K].
    bool unitHeight = t.shape() != file && t.shape() == trainedShape(e);
    out.add(e.onnxName,
            unitHeight ? Tensor::fromVector(t.toVector<float>(), file) : t);
  }
  return out;
}

std::vector<InitializerRole> OnnxNetwork::initializerRoles() const {
  std::map<std::string, std::pair<std::string, const Entry *>> byOnnx;
  for (const auto &[name, e] : entries_)
    byOnnx[e.onnxName] = {name, &e};
  std::vector<InitializerRole> roles;
  for (const auto &[onnxName, t] : model_->weights()) {
    auto it = byOnnx.find(onnxName);
    if (it == byOnnx.end()) {
      auto why = frozenWhy_.find(onnxName);
      roles.push_back(InitializerRole{onnxName, "", false, "frozen",
                                      why == frozenWhy_.end() ? "" : why->second});
      continue;
    }
    const Entry &e = *it->second.second;
    auto why = trainedWhy_.find(onnxName);
    roles.push_back(InitializerRole{
        onnxName, it->second.first, !isBuffer(e.role), roleName(e.role),
        why == trainedWhy_.end() ? "the operator's table" : why->second});
  }
  return roles;
}

nn::SparseFilters OnnxNetwork::sparseFilters() const {
  std::map<std::string, SparseConvWeight> onnxFilters = sparseConvWeights(*model_);
  nn::SparseFilters filters;
  for (const auto &[name, e] : entries_)
    if (auto it = onnxFilters.find(e.onnxName);
        !isBuffer(e.role) && it != onnxFilters.end())
      filters.emplace(name, nn::SparseFilter{it->second.options});
  return filters;
}

std::string OnnxNetwork::describe() const {
  std::string copies =
      identityCopies_ ? fmt::format("; {} Identity copies of initializers made tensors of "
                                    "their own",
                                    identityCopies_)
                      : std::string();
  // What the plain-operand rule and the options decided, in short
  // (`bregman inspect` lists each initializer with the reason).
  if (!trainedWhy_.empty() || !frozen_.empty())
    copies += fmt::format("; {} plain operand(s) trained, {} initializer(s) frozen",
                          trainedWhy_.size(), frozen_.size());
  if (splits_.empty())
    return fmt::format("onnx {} ({} nodes{})", file_, model_->summary().size(), copies);
  std::set<std::string> tied;
  for (const InitializerSplit &s : splits_)
    tied.insert(s.initializer);
  return fmt::format("onnx {} ({} nodes; {} tied initializer(s) split into {} "
                     "more tensors{})",
                     file_, model_->summary().size(), tied.size(), splits_.size(), copies);
}

} // namespace bregman::onnx
