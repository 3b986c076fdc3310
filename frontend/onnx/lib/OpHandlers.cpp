//===- OpHandlers.cpp - The operator table and what handlers share --------===//

#include "OpHandlers.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <set>
#include <unordered_map>

namespace bregman::onnx {

namespace detail {

std::string nodeLabel(const ::onnx::NodeProto &node) {
  if (!node.name().empty() || node.output_size() == 0)
    return fmt::format("node '{}' ({})", node.name(), node.op_type());
  return fmt::format("node '' ({}, output '{}')", node.op_type(),
                     node.output(0));
}

Error unsupportedError(const ::onnx::NodeProto &node, const std::string &what) {
  return Error(fmt::format("unsupported: {}: {}", nodeLabel(node), what));
}

Error nodeError(const ::onnx::NodeProto &node, const std::string &what) {
  return Error(fmt::format("{}: {}", nodeLabel(node), what));
}

const ::onnx::AttributeProto *findAttr(const ::onnx::NodeProto &node,
                                       const std::string &name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t intAttr(const ::onnx::NodeProto &node, const std::string &name,
                int64_t fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->i() : fallback;
}

float floatAttr(const ::onnx::NodeProto &node, const std::string &name,
                float fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->f() : fallback;
}

std::string stringAttr(const ::onnx::NodeProto &node, const std::string &name,
                       const std::string &fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> intsAttr(const ::onnx::NodeProto &node,
                              const std::string &name,
                              std::vector<int64_t> fallback) {
  const auto *a = findAttr(node, name);
  if (!a)
    return fallback;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::string typeName(int dataType) {
  const std::string &name = ::onnx::TensorProto::DataType_Name(
      static_cast<::onnx::TensorProto::DataType>(dataType));
  // Types newer than libonnx 1.12 (opsets 19 to 25).
  static const std::map<int, const char *> newer{
      {17, "FLOAT8E4M3FN"}, {18, "FLOAT8E4M3FNUZ"},
      {19, "FLOAT8E5M2"},   {20, "FLOAT8E5M2FNUZ"},
      {21, "UINT4"},        {22, "INT4"},
      {23, "FLOAT4E2M1"},   {24, "FLOAT8E8M0"},
      {25, "UINT2"},        {26, "INT2"}};
  if (auto it = newer.find(dataType); name.empty() && it != newer.end())
    return it->second;
  // An unknown number has no name (the message read "data type  is").
  return name.empty() ? fmt::format("number {} (no ONNX type)", dataType)
                      : name;
}

// Hostile files must not overflow the arithmetic or the allocator.
int64_t checkedCount(const Shape &shape, const std::string &what) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > (int64_t(1) << 32))
      throw Error(fmt::format("{}: dimension {} out of range", what, d));
    if (d != 0 && count > (int64_t(1) << 32) / d)
      throw Error(fmt::format("{}: more than 2^32 elements", what));
    count *= d;
  }
  return count;
}

Tensor tracedConstant(const std::vector<double> &values, const Shape &shape,
                      const std::string &what) {
  constexpr size_t kMaxRuns = 4096;
  if (values.empty())
    return full(shape, 0.0);
  std::vector<Tensor> runs;
  for (size_t i = 0, j = 0; i < values.size(); i = j) {
    for (j = i + 1; j < values.size() && values[j] == values[i];)
      ++j;
    if (runs.size() == kMaxRuns)
      throw Error(fmt::format("{}: a constant of {} values is too varied to fold into "
                              "the trace (at most {} runs of equal values)",
                              what, values.size(), kMaxRuns));
    runs.push_back(full({static_cast<int64_t>(j - i)}, values[i]));
  }
  return reshape(runs.size() == 1 ? runs[0] : concat(runs, 0), shape);
}

bool NodeContext::has(int i) const {
  return i < node.input_size() && !node.input(i).empty();
}

const Value &NodeContext::value(int i) const {
  auto it = env.find(node.input(i));
  if (it == env.end())
    throw error(fmt::format("input '{}' is not computed before it", node.input(i)));
  return it->second;
}

Tensor NodeContext::tensor(int i) const {
  const Value &v = value(i);
  if (v.isStatic) {
    // An integer tensor used as data: as f32 (shape arithmetic results).
    std::vector<double> f(v.ints.begin(), v.ints.end());
    return tracedConstant(f, v.shape, fmt::format("node '{}' input '{}'", node.name(),
                                                  node.input(i)));
  }
  return v.tensor;
}

const std::vector<int64_t> &NodeContext::staticInts(int i) const {
  const Value &v = value(i);
  if (!v.isStatic)
    throw unsupported(fmt::format("input '{}' must be a constant integer tensor "
                                  "(dynamic shapes are not supported)",
                                  node.input(i)));
  return v.ints;
}

std::optional<std::vector<float>> NodeContext::hostFloats(int i) const {
  if (auto it = env.find(node.input(i)); it != env.end() && it->second.known)
    return it->second.known;
  const std::string &name = node.input(i);
  for (const Params *p : {&weights, &constants})
    if (p->contains(name) && p->at(name).dtype() == DType::F32)
      return p->at(name).toVector<float>();
  return std::nullopt;
}

bool NodeContext::carriesBatch(int i) const {
  if (!rebatch || !rebatch->exportedShapes)
    return false;
  auto exported = rebatch->exportedShapes->find(node.input(i));
  if (exported == rebatch->exportedShapes->end() || exported->second.empty())
    return false;
  const Value &v = value(i);
  Shape now = v.isStatic ? v.shape : v.tensor.shape();
  return exported->second[0] == rebatch->exported && !now.empty() &&
         now[0] == rebatch->actual;
}

void NodeContext::set(Tensor t, int output) const {
  Value v;
  v.tensor = std::move(t);
  env[node.output(output)] = v;
}

void NodeContext::setStatic(std::vector<int64_t> ints, Shape shape) const {
  Value v;
  v.isStatic = true;
  v.ints = std::move(ints);
  v.shape = std::move(shape);
  env[node.output(0)] = v;
}

void NodeContext::setValue(const Value &v) const { env[node.output(0)] = v; }

int64_t NodeContext::axis(int64_t axis, int64_t rank) const {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw error(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return a;
}

Error NodeContext::badAttr(const std::string &name, const std::string &value,
                          const std::string &why) const {
  return error(fmt::format("attribute {} = {}: {}", name, value, why));
}

int64_t NodeContext::flagAttr(const std::string &name, int64_t fallback) const {
  int64_t v = intAttr(name, fallback);
  if (v != 0 && v != 1)
    throw badAttr(name, std::to_string(v), "must be 0 or 1");
  return v;
}

float NodeContext::finiteAttr(const std::string &name, float fallback) const {
  float v = floatAttr(name, fallback);
  if (!std::isfinite(v))
    throw badAttr(name, fmt::format("{}", v), "must be finite");
  return v;
}

int64_t NodeContext::axisAttr(const std::string &name, int64_t fallback,
                              int64_t rank, int64_t extra) const {
  int64_t a = intAttr(name, fallback);
  if (a < -rank || a > rank - 1 + extra)
    throw badAttr(name, std::to_string(a),
                  fmt::format("out of range [{}, {}] for a rank-{} input", -rank,
                              rank - 1 + extra, rank));
  return a < 0 ? a + rank : a;
}

std::vector<int64_t> NodeContext::windowInts(const std::string &name,
                                             std::vector<int64_t> fallback,
                                             int64_t min) const {
  std::vector<int64_t> v = intsAttr(name, std::move(fallback));
  for (int64_t x : v) {
    if (x < min)
      throw badAttr(name, fmt::format("[{}]", fmt::join(v, ", ")),
                    min == 0 ? "entries must be >= 0"
                             : fmt::format("entries must be >= {}", min));
    if (x > kMaxWindowValue)
      throw badAttr(name, fmt::format("[{}]", fmt::join(v, ", ")),
                    "entries must be at most 2^30");
  }
  return v;
}

/// NumPy broadcasting of two shapes; an error naming the node otherwise.
Shape broadcastShape(const NodeContext &c, const Shape &a, const Shape &b) {
  if (std::optional<Shape> out = broadcastShapes(a, b))
    return *out;
  throw c.error(fmt::format("shapes {} and {} do not broadcast", shapeString(a),
                            shapeString(b)));
}

/// The element of static `v` that output index `flat` of `out` reads under
/// broadcasting.
int64_t broadcastRead(const Value &v, const Shape &out, int64_t flat) {
  int64_t offset = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    int64_t idx = flat % out[d];
    flat /= out[d];
    int64_t vd = d - (static_cast<int64_t>(out.size()) - static_cast<int64_t>(v.shape.size()));
    if (vd < 0)
      continue;
    if (v.shape[vd] != 1)
      offset += idx * stride;
    stride *= v.shape[vd];
  }
  return v.ints.at(offset);
}

/// Folds an elementwise op on static integers (shape arithmetic); false when
/// an operand is not static.
bool foldStatic(const NodeContext &c, int operands,
                int64_t (*f)(const std::vector<int64_t> &)) {
  Shape out;
  for (int i = 0; i < operands; ++i) {
    if (!c.value(i).isStatic)
      return false;
    out = broadcastShape(c, out, c.value(i).shape);
  }
  int64_t count = checkedCount(out, fmt::format("node '{}'", c.node.name()));
  std::vector<int64_t> result(count), args(operands);
  for (int64_t k = 0; k < count; ++k) {
    for (int i = 0; i < operands; ++i)
      args[i] = broadcastRead(c.value(i), out, k);
    result[k] = f(args);
  }
  c.setStatic(result, out);
  return true;
}

Tensor NodeContext::perChannel(const Tensor &v, const Tensor &x) const {
  if (x.rank() < 2 || v.numel() != x.dim(1))
    throw error(fmt::format("{} values for the channels of {}", v.numel(),
                            shapeString(x.shape())));
  Shape shape(x.rank(), 1);
  shape[1] = v.numel();
  return reshape(v, shape);
}

const std::vector<OpHandler> &opTable() {
  static const std::vector<OpHandler> table = [] {
    std::vector<OpHandler> all;
    for (auto family :
         {elementwiseOps, linearOps, convPoolOps, normalizationOps, reduceOps,
          shapeOps, transformerOps, resizeOps, recurrentOps, padOps, einsumOps,
          rearrangeOps})
      for (OpHandler &h : family())
        all.push_back(std::move(h));
    std::sort(all.begin(), all.end(), [](const OpHandler &a, const OpHandler &b) {
      return a.opType < b.opType;
    });
    return all;
  }();
  return table;
}

const OpHandler &handlerFor(const ::onnx::NodeProto &node, int64_t opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    throw unsupportedError(node, fmt::format("operator domain '{}'", node.domain()));
  const auto &table = opTable();
  auto it = std::lower_bound(table.begin(), table.end(), node.op_type(),
                             [](const OpHandler &h, const std::string &op) {
                               return h.opType < op;
                             });
  if (it == table.end() || it->opType != node.op_type())
    throw unsupportedError(node, "operator not supported");
  if (opset < it->sinceVersion || opset > it->lastVersion)
    throw unsupportedError(node, fmt::format("opset {} (this operator is "
                                             "implemented for opsets {} to {})",
                                             opset, it->sinceVersion,
                                             it->lastVersion));
  return *it;
}

void runNode(const NodeContext &c) {
  // Errors name the ONNX node, not the handler's lines: an unknown call
  // site hides those of the DSL operations the handler calls.
  CallSite site(SourceLocation{});
  handlerFor(c.node, c.opset).handle(c);
}

namespace {

/// Operators of the table newer than libonnx 1.12's schemas: their first
/// opset, and what the spec allows (these attributes and their types, this
/// many inputs, one output), checked by hand as a schema would.
struct NewerSchema {
  int first;
  std::map<std::string, ::onnx::AttributeProto::AttributeType> attributes;
  int inputs = 1;
};
const std::map<std::string, NewerSchema> &newerThanChecker() {
  using A = ::onnx::AttributeProto;
  static const std::map<std::string, NewerSchema> table{
      {"Gelu", {20, {{"approximate", A::STRING}}}},
      {"GroupNormalization",
       {18,
        {{"epsilon", A::FLOAT}, {"num_groups", A::INT}, {"stash_type", A::INT}},
        3}}};
  return table;
}

/// Attributes that opsets 19 to 22 added to operators of the table whose
/// other attributes and inputs did not change (from opset `first`): past the
/// checker's opsets they are type-checked here and the rest of the node by
/// the old schema.
const std::map<std::string, NewerSchema> &addedAttributes() {
  using A = ::onnx::AttributeProto;
  static const std::map<std::string, NewerSchema> table{
      {"AveragePool", {19, {{"dilations", A::INTS}}}},
      {"Cast", {19, {{"saturate", A::INT}}}}};
  return table;
}

/// The first opset that defines default-domain operator `op` (0: none).
int firstVersion(const std::string &op) {
  if (auto it = newerThanChecker().find(op); it != newerThanChecker().end())
    return it->second.first;
  for (int v = 1; v <= kNewestOpset; ++v)
    if (const auto *schema = ::onnx::OpSchemaRegistry::Schema(op, v, ""))
      return schema->SinceVersion();
  return 0;
}

/// The first line of a checker message (later lines repeat the context).
std::string firstLine(const std::string &text) { return text.substr(0, text.find('\n')); }

} // namespace

int64_t checkerNewestOpset() {
  const auto &ranges = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find(::onnx::ONNX_DOMAIN);
  return it == ranges.end() ? 0 : it->second.second;
}

/// The operators of the table whose inputs or attributes' meaning changed
/// after opset 17 (the ONNX changelog), with the first opset of the change:
/// from there, past the checker's newest opset, their schemas are not the
/// model's, so their handlers check them alone. (AveragePool and Cast only
/// gained an attribute in 19: addedAttributes. The others only gained
/// element types; they are still checked against the older schema.)
static int64_t changedSinceOpset17(const std::string &op) {
  static const std::map<std::string, int64_t> changed{
      {"ReduceMax", 18},    {"ReduceMean", 18},
      {"ReduceMin", 18},    {"ReduceL1", 18},
      {"ReduceL2", 18},     {"ReduceSumSquare", 18},
      {"ReduceLogSum", 18}, {"ReduceLogSumExp", 18},
      {"Pad", 18},          {"Resize", 18},
      {"Split", 18}};
  auto it = changed.find(op);
  return it == changed.end() ? 0 : it->second;
}

/// `node`'s attributes named in `allowed` have its types; with `only`,
/// no others are present.
static void checkAttributeTypes(const ::onnx::NodeProto &node,
                                const NewerSchema &allowed, bool only) {
  for (const auto &a : node.attribute()) {
    auto it = allowed.attributes.find(a.name());
    if (it == allowed.attributes.end()) {
      if (only)
        throw nodeError(node, fmt::format("attribute {} is not one of {}'s",
                                          a.name(), node.op_type()));
      continue;
    }
    if (a.type() != it->second)
      throw nodeError(
          node,
          fmt::format("attribute {} has type {}, {} takes {}", a.name(),
                      ::onnx::AttributeProto::AttributeType_Name(a.type()),
                      node.op_type(),
                      ::onnx::AttributeProto::AttributeType_Name(it->second)));
  }
}

/// An operator newer than the checker's schemas, checked by hand.
static void checkNewerOperator(const ::onnx::NodeProto &node, int64_t opset,
                               const NewerSchema &schema) {
  if (opset < schema.first)
    throw nodeError(
        node, fmt::format("the model's opset {} is before {}'s first version, "
                          "opset {}",
                          opset, node.op_type(), schema.first));
  for (const std::string &name : node.input())
    if (name.empty())
      throw nodeError(node,
                      fmt::format("{}'s inputs are all required; one is empty",
                                  node.op_type()));
  if (node.output_size() == 1 && node.output(0).empty())
    throw nodeError(node,
                    fmt::format("{}'s output has no name", node.op_type()));
  if (node.input_size() != schema.inputs || node.output_size() != 1)
    throw nodeError(
        node,
        fmt::format("{} takes {} input(s) and one output, the node has {} "
                    "and {}",
                    node.op_type(), schema.inputs, node.input_size(),
                    node.output_size()));
  checkAttributeTypes(node, schema, /*only=*/true);
}

/// The attributes of the operators changed since 17 (their 18 forms), whose
/// types the handlers' accessors take on trust: a FLOAT keepdims read as 0.
static const NewerSchema &attributesChangedSince17(const std::string &op) {
  using A = ::onnx::AttributeProto;
  static const NewerSchema reduction{
      18, {{"keepdims", A::INT}, {"noop_with_empty_axes", A::INT}}};
  static const std::map<std::string, NewerSchema> table{
      {"Pad", {18, {{"mode", A::STRING}}}},
      {"Split", {18, {{"axis", A::INT}, {"num_outputs", A::INT}}}},
      {"Resize",
       {18,
        {{"mode", A::STRING},
         {"coordinate_transformation_mode", A::STRING},
         {"nearest_mode", A::STRING},
         {"keep_aspect_ratio_policy", A::STRING},
         {"cubic_coeff_a", A::FLOAT},
         {"extrapolation_value", A::FLOAT},
         {"exclude_outside", A::INT},
         {"antialias", A::INT},
         {"axes", A::INTS}}}}};
  auto it = table.find(op);
  return it == table.end() ? reduction : it->second;
}

void checkNodeVersion(const ::onnx::NodeProto &node, int64_t opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return;
  const std::string &op = node.op_type();
  if (int64_t since = changedSinceOpset17(op);
      since > 0 && opset >= since && opset > checkerNewestOpset())
    return checkAttributeTypes(node, attributesChangedSince17(op),
                               /*only=*/false);
  if (auto it = newerThanChecker().find(op); it != newerThanChecker().end())
    return checkNewerOperator(node, opset, it->second);
  // The checker's older schema judges the node without the attributes
  // added since, whose types are checked here.
  ::onnx::NodeProto withoutAdded;
  const ::onnx::NodeProto *checked = &node;
  if (auto it = addedAttributes().find(op); it != addedAttributes().end() &&
                                            opset >= it->second.first &&
                                            opset > checkerNewestOpset()) {
    checkAttributeTypes(node, it->second, /*only=*/false);
    withoutAdded = node;
    withoutAdded.clear_attribute();
    for (const auto &a : node.attribute())
      if (!it->second.attributes.count(a.name()))
        *withoutAdded.add_attribute() = a;
    checked = &withoutAdded;
  }
  // An operator outside the table is refused by name; past the checker's
  // opsets its old schema would reject it for another version's reasons.
  if (opset > checkerNewestOpset() &&
      std::none_of(opTable().begin(), opTable().end(),
                   [&](const OpHandler &h) { return h.opType == op; }))
    return;
  const auto *schema = ::onnx::OpSchemaRegistry::Schema(op, static_cast<int>(opset), "");
  if (!schema) {
    if (int first = firstVersion(op); first > opset)
      throw nodeError(node, fmt::format("the model's opset {} is before {}'s first "
                                        "version, opset {}",
                                        opset, op, first));
    return; // not an ONNX operator: the table refuses it by name
  }
  try {
    schema->Verify(*checked);
  } catch (const std::exception &e) {
    throw nodeError(node, fmt::format("the ONNX checker rejects it under {}-{}, the "
                                      "version the model's opset {} selects: {}",
                                      op, schema->SinceVersion(), opset,
                                      firstLine(e.what())));
  }
}

void checkWholeModel(const ::onnx::ModelProto &model, int64_t opset,
                     const std::string &path) {
  if (opset > checkerNewestOpset())
    return;
  if (model.ir_version() <= ::onnx::Version::IR_VERSION) {
    if (path.empty())
      ::onnx::checker::check_model(model);
    else
      ::onnx::checker::check_model(path);
    return;
  }
  ::onnx::checker::CheckerContext context;
  context.set_ir_version(::onnx::Version::IR_VERSION);
  std::unordered_map<std::string, int> imports;
  for (const auto &o : model.opset_import())
    imports[o.domain()] = static_cast<int>(o.version());
  context.set_opset_imports(imports);
  if (!path.empty())
    context.set_model_dir(std::filesystem::path(path).parent_path().string());
  ::onnx::checker::LexicalScopeContext scope;
  ::onnx::checker::check_graph(model.graph(), context, scope);
}

} // namespace detail

std::vector<SupportedOp> supportedOps() {
  std::vector<SupportedOp> out;
  for (const detail::OpHandler &h : detail::opTable())
    out.push_back(SupportedOp{h.opType, h.sinceVersion, h.lastVersion, h.roles});
  return out;
}

} // namespace bregman::onnx
