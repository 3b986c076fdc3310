//===- Trace.cpp - The recorded program -----------------------------------===//

#include "bregman/Trace.h"

#include <atomic>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman {

static thread_local std::vector<Trace *> traceStack;

namespace {

struct PrimInfo {
  const char *name;
  PrimGradient gradient;
};

const PrimInfo kPrims[] = {
#define BREGMAN_PRIM(Name, Text, Gradient, Emitter) {Text, PrimGradient::Gradient},
#include "bregman/Prims.def"
};

struct RegularizerInfo {
  Regularizer reg;
  const char *name;
  int rank; // of the parameters it applies to; 0: any
};

const RegularizerInfo kRegularizers[] = {
#define BREGMAN_REGULARIZER(Name, Text, AttrClass, Rank)                        \
  {Regularizer::Name, Text, Rank},
#include "bregman/Regularizers.def"
};

const RegularizerInfo &info(Regularizer reg) {
  return kRegularizers[static_cast<size_t>(reg)];
}

} // namespace

const char *primName(Prim prim) {
  return kPrims[static_cast<size_t>(prim)].name;
}

PrimGradient primGradient(Prim prim) {
  return kPrims[static_cast<size_t>(prim)].gradient;
}

bool isBregPrimitive(Prim prim) {
  return primGradient(prim) == PrimGradient::Breg;
}

const char *regularizerName(Regularizer reg) { return info(reg).name; }

std::vector<std::string> regularizerNames(int rank) {
  std::vector<std::string> names;
  for (const RegularizerInfo &r : kRegularizers)
    if (rank < 0 || r.rank == 0 || r.rank == rank)
      names.push_back(r.name);
  return names;
}

Regularizer parseRegularizer(const std::string &name) {
  for (const RegularizerInfo &r : kRegularizers)
    if (name == r.name)
      return r.reg;
  throw Error(fmt::format("unknown regularizer '{}' (known: {})", name,
                          fmt::join(regularizerNames(), ", ")));
}

void checkRegularizerFits(const char *op, Regularizer reg, const Shape &shape) {
  int rank = info(reg).rank;
  if (rank == 0 || static_cast<int>(shape.size()) == rank)
    return;
  if (rank == 2)
    throw Error(fmt::format("{}: regularizer {} needs a 2-D weight (its rows "
                            "are the groups), got shape {}",
                            op, regularizerName(reg), shapeString(shape)));
  if (rank == 3)
    throw Error(fmt::format("{}: regularizer {} needs a 3-D attention "
                            "projection [heads, d, E] (its heads are the "
                            "groups), got shape {}",
                            op, regularizerName(reg), shapeString(shape)));
  throw Error(fmt::format("{}: regularizer {} needs a 4-D conv weight (its "
                          "k×k kernels are the groups), got shape {}",
                          op, regularizerName(reg), shapeString(shape)));
}

int Trace::addNode(Prim prim, std::vector<int> inputs,
                   const std::vector<std::pair<Shape, DType>> &results,
                   NodeAttrs attrs) {
  int index = static_cast<int>(nodes_.size());
  Node node{prim, std::move(inputs), {}, std::move(attrs), CallSite::current()};
  for (const auto &[shape, dtype] : results) {
    node.outputs.push_back(static_cast<int>(values_.size()));
    values_.push_back({shape, dtype, index});
  }
  nodes_.push_back(std::move(node));
  return index;
}

Tensor Trace::addInput(const Shape &shape, DType dtype,
                       const std::string &name) {
  NodeAttrs attrs;
  attrs.name = name;
  int node = addNode(Prim::Input, {}, {{shape, dtype}}, attrs);
  int value = nodes_[node].outputs[0];
  inputs_.push_back(value);
  return tensor(value);
}

void Trace::setCustomVjp(int value, CustomVjp vjp) {
  customVjps_[value] = std::move(vjp);
}

const CustomVjp *Trace::customVjp(int value) const {
  auto it = customVjps_.find(value);
  return it == customVjps_.end() ? nullptr : &it->second;
}

Tensor Trace::tensor(int value) const {
  const ValueInfo &info = values_.at(value);
  return Tensor::traced(const_cast<Trace *>(this), value, info.shape,
                        info.dtype);
}

std::string Trace::str() const {
  std::string out;
  for (const Node &node : nodes_) {
    std::string lhs, rhs;
    for (int v : node.outputs)
      lhs += fmt::format("{}%{}: {}{}", lhs.empty() ? "" : ", ", v,
                         dtypeName(values_[v].dtype),
                         shapeString(values_[v].shape));
    for (int v : node.inputs)
      rhs += fmt::format("{}%{}", rhs.empty() ? "" : ", ", v);
    out += fmt::format("  {} = {}({}){}{}\n", lhs, primName(node.prim), rhs,
                       node.attrs.name.empty() ? ""
                                               : " \"" + node.attrs.name + "\"",
                       node.site.known() ? "  @ " + node.site.str() : "");
  }
  return out;
}

uint64_t Trace::nextSerial() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

Trace *Trace::current() {
  return traceStack.empty() ? nullptr : traceStack.back();
}

TraceScope::TraceScope(Trace &trace) { traceStack.push_back(&trace); }
TraceScope::~TraceScope() { traceStack.pop_back(); }

std::vector<Tensor> apply(Prim prim, const std::vector<Tensor> &inputs,
                          const std::vector<std::pair<Shape, DType>> &results,
                          NodeAttrs attrs) {
  Trace *trace = Trace::current();
  std::vector<int> ids;
  for (const Tensor &t : inputs) {
    if (!t.defined())
      throw Error(fmt::format("{}: operand is an empty tensor", primName(prim)));
    if (!trace)
      throw Error(fmt::format(
          "{}: operands are concrete tensors outside a traced function; run "
          "the computation inside bregman::jit (pass the tensors as arguments)",
          primName(prim)));
    if (t.isConcrete())
      throw Error(fmt::format(
          "{}: a concrete tensor was captured inside a jit function; pass it "
          "as an argument instead",
          primName(prim)));
    if (!t.belongsTo(*trace))
      throw Error(fmt::format("{}: operand belongs to another trace (a tracer "
                              "escaped from the function that made it)",
                              primName(prim)));
    ids.push_back(t.value());
  }
  if (!trace)
    throw Error(fmt::format("{}: called outside a traced function; run it "
                            "inside bregman::jit",
                            primName(prim)));
  // A result no buffer could hold is refused here, naming the op, not by a
  // failed allocation when it runs.
  for (const auto &[shape, dtype] : results)
    requireAllocatable(primName(prim), shape, dtype);
  int node = trace->addNode(prim, std::move(ids), results, std::move(attrs));
  std::vector<Tensor> out;
  for (int v : trace->nodes()[node].outputs)
    out.push_back(trace->tensor(v));
  return out;
}

std::vector<Tensor> applyUpdate(Prim prim, const UpdateOperands &operands,
                                const std::vector<std::pair<Shape, DType>> &results,
                                NodeAttrs attrs) {
  std::vector<Tensor> inputs;
  attrs.updateRoles = 0;
  operands.forEachRole([&](unsigned role, const Tensor &t) {
    if (!t.defined())
      return;
    inputs.push_back(t);
    attrs.updateRoles |= 1u << role;
  });
  return apply(prim, inputs, results, std::move(attrs));
}

UpdateOperandsOf<int> updateOperands(const Node &node) {
  UpdateOperandsOf<int> ids;
  size_t next = 0;
  ids.forEachRole([&](unsigned role, int &id) {
    id = node.attrs.updateRoles & (1u << role) ? node.inputs.at(next++) : -1;
  });
  if (next != node.inputs.size())
    throw Error(fmt::format("{}: {} operands but {} roles", primName(node.prim),
                            node.inputs.size(), next));
  return ids;
}

} // namespace bregman
