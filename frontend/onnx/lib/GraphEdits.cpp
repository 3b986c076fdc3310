//===- GraphEdits.cpp - Initializers written into an ONNX graph -----------===//
//
// Tied initializers. PyTorch's exporter merges initializers of equal values
// (torch.onnx.export in evaluation mode deduplicates by value), so one ONNX
// initializer can stand for several tensors of the original module: a fresh
// batch norm's γ (ones) and running variance, its β (zeros) and running
// mean, the γ and β of every batch norm of that width, zero biases of equal
// width. Retraining them as one tensor trains another model. The file cannot
// say whether a sharing was such an accident or a real weight tying (one
// module called twice), so every use of an initializer in a parameter role
// gets a tensor of its own once the initializer is read more than once: two
// independent tensors that start equal can only relax a real tying (and
// the export writes both), while one tensor for two independent ones
// silently changes the model. The exception is a read through a Transpose
// into a parameter role (tiedByTranspose below): only a deliberate tying
// writes that, and it stays one tensor, as PyTorch trains it.
//
//===----------------------------------------------------------------------===//

#include "GraphEdits.h"

#include "OpHandlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace bregman::onnx::detail {

std::string initializerStem(const std::string &name) {
  for (std::string_view suffix : {".weight", ".bias", ".running_mean", ".running_var"})
    if (name.size() > suffix.size() && endsWith(name, suffix))
      return name.substr(0, name.size() - suffix.size());
  return name;
}

void addDenseInitializer(::onnx::GraphProto *graph, const std::string &name,
                         const Tensor &t) {
  std::vector<float> values = t.toVector<float>();
  auto *proto = graph->add_initializer();
  proto->set_name(name);
  proto->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : t.shape())
    proto->add_dims(d);
  proto->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()),
                                  values.size() * sizeof(float)));
}

void addSparseInitializer(::onnx::GraphProto *graph, const std::string &name,
                          const Tensor &t) {
  std::vector<float> values = t.toVector<float>();
  auto *proto = graph->add_sparse_initializer();
  for (int64_t d : t.shape())
    proto->add_dims(d);
  std::vector<float> nz;
  std::vector<int64_t> at;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] != 0.0f) {
      nz.push_back(values[i]);
      at.push_back(static_cast<int64_t>(i));
    }
  auto *v = proto->mutable_values();
  v->set_name(name);
  v->set_data_type(::onnx::TensorProto::FLOAT);
  v->add_dims(static_cast<int64_t>(nz.size()));
  v->set_raw_data(std::string(reinterpret_cast<const char *>(nz.data()),
                              nz.size() * sizeof(float)));
  auto *ix = proto->mutable_indices();
  ix->set_data_type(::onnx::TensorProto::INT64);
  ix->add_dims(static_cast<int64_t>(at.size()));
  ix->set_raw_data(std::string(reinterpret_cast<const char *>(at.data()),
                               at.size() * sizeof(int64_t)));
}

namespace {

struct RoleUse {
  int node = 0, input = 0;
  ParamRole role = ParamRole::ConvWeight;
};

/// How the graph reads each float initializer: in a parameter role (by
/// (node, input), in graph order), or plainly (an operand without a role,
/// a graph output).
struct Uses {
  std::map<std::string, std::vector<RoleUse>> inRole;
  std::set<std::string> plain;
};

std::map<int, ParamRole> rolesOf(const ::onnx::NodeProto &n, int64_t opset) {
  try {
    return handlerFor(n, opset).roles;
  } catch (const Error &) {
    return {}; // not in the table: the model is refused anyway
  }
}

/// The values some node reads in a parameter role.
std::set<std::string> readInRole(const ::onnx::GraphProto &g, int64_t opset) {
  std::set<std::string> values;
  for (const auto &n : g.node())
    for (const auto &[k, role] : rolesOf(n, opset))
      if (k < n.input_size())
        values.insert(n.input(k));
  return values;
}

/// A Transpose of an initializer straight into a parameter role: PyTorch's
/// deliberate weight tying (a GPT-style head `head.weight = embed.weight`,
/// exported without constant folding as MatMul(h, Transpose(E)) next to
/// Gather(E, ids)). A merge by value joins initializers read as they are,
/// never a table and its transpose, so this read is neither plain nor a
/// reason to split: the consumer trains the same tensor
/// (OnnxNetwork::claimMoved), its gradient the sum of both uses.
bool tiedByTranspose(const ::onnx::NodeProto &n, const std::set<std::string> &roleReads) {
  return n.op_type() == "Transpose" && n.domain().empty() && n.input_size() == 1 &&
         n.output_size() == 1 && roleReads.count(n.output(0));
}

Uses usesOf(const ::onnx::GraphProto &g, const Params &weights, int64_t opset) {
  Uses uses;
  std::set<std::string> roleReads = readInRole(g, opset);
  for (int i = 0; i < g.node_size(); ++i) {
    const ::onnx::NodeProto &n = g.node(i);
    if (tiedByTranspose(n, roleReads))
      continue;
    std::map<int, ParamRole> roles = rolesOf(n, opset);
    for (int k = 0; k < n.input_size(); ++k) {
      if (!weights.contains(n.input(k)))
        continue;
      auto role = roles.find(k);
      if (role == roles.end())
        uses.plain.insert(n.input(k));
      else
        uses.inRole[n.input(k)].push_back(RoleUse{i, k, role->second});
    }
  }
  for (const auto &o : g.output())
    if (weights.contains(o.name()))
      uses.plain.insert(o.name());
  return uses;
}

/// PyTorch's name for a role ("bn1" + ".running_var").
const char *pytorchSuffix(ParamRole role) {
  switch (role) {
  case ParamRole::ConvWeight:
  case ParamRole::LinearWeight:
  case ParamRole::Embedding:
  case ParamRole::Scale: return ".weight";
  case ParamRole::Bias:
  case ParamRole::Shift: return ".bias";
  case ParamRole::RunningMean: return ".running_mean";
  case ParamRole::RunningVar: return ".running_var";
  case ParamRole::Learned: return ""; // not in the operator table: never split
  }
  return "";
}

/// Names of a graph's values, and fresh ones that differ from them all.
class GraphNames {
public:
  explicit GraphNames(const ::onnx::GraphProto &g) {
    for (const auto &t : g.initializer())
      taken.insert(t.name());
    for (const auto &s : g.sparse_initializer())
      taken.insert(s.values().name());
    for (const auto *infos : {&g.input(), &g.output(), &g.value_info()})
      for (const auto &v : *infos)
        taken.insert(v.name());
    for (const auto &n : g.node()) {
      taken.insert(n.input().begin(), n.input().end());
      taken.insert(n.output().begin(), n.output().end());
    }
  }
  /// stem + suffix, else stem_2 + suffix, stem_3 + suffix, ...
  std::string fresh(const std::string &stem, const std::string &suffix) {
    std::string name = stem + suffix;
    for (int k = 2; taken.count(name); ++k)
      name = fmt::format("{}_{}{}", stem, k, suffix);
    taken.insert(name);
    return name;
  }

private:
  std::set<std::string> taken;
};

/// The layer a node's copies are named after: the stem of an initializer it
/// keeps (bn1.weight -> bn1), else its node name as a module path
/// ("/layer1/bn2/BatchNormalization" -> "layer1.bn2"), else op and index.
std::string layerStem(const ::onnx::GraphProto &g, int index,
                      const std::set<std::pair<int, int>> &kept, int64_t opset) {
  const ::onnx::NodeProto &n = g.node(index);
  for (const auto &[k, role] : rolesOf(n, opset))
    if (kept.count({index, k}))
      return initializerStem(n.input(k));
  std::string path = n.name();
  std::replace(path.begin(), path.end(), '/', '.');
  if (path.size() > n.op_type().size() && endsWith(path, "." + n.op_type()))
    path.resize(path.size() - n.op_type().size() - 1);
  path.erase(0, path.find_first_not_of('.'));
  return path.empty() ? fmt::format("{}_{}", n.op_type(), index) : path;
}

} // namespace

std::vector<InitializerSplit> planSplits(const ::onnx::GraphProto &graph,
                                         const Params &weights, int64_t opset) {
  Uses uses = usesOf(graph, weights, opset);
  // The first role use keeps the initializer, unless it is also read
  // plainly (that reader keeps the imported value then).
  std::set<std::pair<int, int>> kept;
  std::vector<std::pair<RoleUse, std::string>> moved;
  for (const auto &[name, list] : uses.inRole)
    for (size_t k = 0; k < list.size(); ++k) {
      if (k == 0 && !uses.plain.count(name))
        kept.insert({list[k].node, list[k].input});
      else
        moved.emplace_back(list[k], name);
    }
  std::sort(moved.begin(), moved.end(), [](const auto &a, const auto &b) {
    return std::pair(a.first.node, a.first.input) < std::pair(b.first.node, b.first.input);
  });
  GraphNames names(graph);
  std::vector<InitializerSplit> splits;
  for (const auto &[use, name] : moved)
    splits.push_back(InitializerSplit{
        use.node, graph.node(use.node).name(), use.input, use.role, name,
        names.fresh(layerStem(graph, use.node, kept, opset), pytorchSuffix(use.role))});
  return splits;
}

void applySplits(::onnx::ModelProto &model, const std::vector<InitializerSplit> &splits,
                 const Params &weights) {
  auto *g = model.mutable_graph();
  for (const InitializerSplit &s : splits) {
    g->mutable_node(s.nodeIndex)->set_input(s.input, s.copy);
    addDenseInitializer(g, s.copy, weights.at(s.initializer));
    // Before IR version 4 every initializer is also a graph input.
    if (model.ir_version() >= 4)
      continue;
    for (int i = 0; i < g->input_size(); ++i)
      if (g->input(i).name() == s.initializer) {
        ::onnx::ValueInfoProto copy = g->input(i);
        copy.set_name(s.copy);
        *g->add_input() = copy;
        break;
      }
  }
}

namespace {

bool isIdentityCopy(const ::onnx::NodeProto &n, const Params &weights,
                    const std::set<std::string> &graphOutputs) {
  return n.op_type() == "Identity" && n.domain().empty() && n.input_size() == 1 &&
         n.output_size() == 1 && weights.contains(n.input(0)) &&
         !graphOutputs.count(n.output(0));
}

std::set<std::string> graphOutputNames(const ::onnx::GraphProto &g) {
  std::set<std::string> names;
  for (const auto &o : g.output())
    names.insert(o.name());
  return names;
}

} // namespace

std::vector<std::string> identityCopies(const ::onnx::GraphProto &graph,
                                        const Params &weights) {
  std::set<std::string> outputs = graphOutputNames(graph);
  std::vector<std::string> copies;
  for (const auto &n : graph.node())
    if (isIdentityCopy(n, weights, outputs))
      copies.push_back(n.output(0));
  return copies;
}

void materializeIdentityCopies(::onnx::ModelProto &model, const Params &weights) {
  auto *g = model.mutable_graph();
  std::set<std::string> outputs = graphOutputNames(*g);
  ::google::protobuf::RepeatedPtrField<::onnx::NodeProto> kept;
  for (const auto &n : g->node()) {
    if (!isIdentityCopy(n, weights, outputs)) {
      *kept.Add() = n;
      continue;
    }
    addDenseInitializer(g, n.output(0), weights.at(n.input(0)));
    // Before IR version 4 every initializer is also a graph input.
    if (model.ir_version() >= 4)
      continue;
    for (int i = 0; i < g->input_size(); ++i)
      if (g->input(i).name() == n.input(0)) {
        ::onnx::ValueInfoProto copy = g->input(i);
        copy.set_name(n.output(0));
        *g->add_input() = copy;
        break;
      }
  }
  g->mutable_node()->Swap(&kept);
}

} // namespace bregman::onnx::detail
