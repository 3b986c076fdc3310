//===- Trace.cpp - The recorded program -----------------------------------===//

#include "bregman/Trace.h"

#include <fmt/format.h>

namespace bregman {

static thread_local std::vector<Trace *> traceStack;

const char *primName(Prim prim) {
  switch (prim) {
  case Prim::Input: return "input";
  case Prim::Constant: return "constant";
  case Prim::MatMul: return "matmul";
  case Prim::Add: return "add";
  case Prim::Sub: return "sub";
  case Prim::Mul: return "mul";
  case Prim::Div: return "div";
  case Prim::Maximum: return "maximum";
  case Prim::Neg: return "neg";
  case Prim::Exp: return "exp";
  case Prim::Log: return "log";
  case Prim::Relu: return "relu";
  case Prim::Abs: return "abs";
  case Prim::Sqrt: return "sqrt";
  case Prim::ReluGrad: return "relu_grad";
  case Prim::ReduceSum: return "reduce_sum";
  case Prim::ReduceMax: return "reduce_max";
  case Prim::Broadcast: return "broadcast";
  case Prim::Reshape: return "reshape";
  case Prim::Transpose: return "transpose";
  case Prim::StopGradient: return "stop_gradient";
  case Prim::OneHot: return "one_hot";
  case Prim::ArgMax: return "argmax";
  case Prim::Equal: return "equal";
  case Prim::Conv2d: return "conv2d";
  case Prim::Conv2dGradInput: return "conv2d_grad_input";
  case Prim::Conv2dGradFilter: return "conv2d_grad_filter";
  case Prim::MaxPool2d: return "max_pool2d";
  case Prim::MaxPool2dGrad: return "max_pool2d_grad";
  case Prim::SumPool2d: return "sum_pool2d";
  case Prim::SumPool2dGrad: return "sum_pool2d_grad";
  case Prim::Concat: return "concat";
  case Prim::Slice: return "slice";
  case Prim::DropoutMask: return "dropout_mask";
  case Prim::LinBregUpdate: return "linbreg_update";
  case Prim::Prox: return "prox";
  case Prim::SubgradientInit: return "subgradient_init";
  case Prim::AdaBregUpdate: return "adabreg_update";
  case Prim::ProxSgdUpdate: return "proxsgd_update";
  case Prim::SgdUpdate: return "sgd_update";
  case Prim::AdamUpdate: return "adam_update";
  }
  return "?";
}

bool isBregPrimitive(Prim prim) {
  switch (prim) {
  case Prim::LinBregUpdate:
  case Prim::Prox:
  case Prim::SubgradientInit:
  case Prim::AdaBregUpdate:
  case Prim::ProxSgdUpdate:
  case Prim::SgdUpdate:
  case Prim::AdamUpdate:
    return true;
  default:
    return false;
  }
}

const char *regularizerName(Regularizer reg) {
  switch (reg) {
  case Regularizer::None: return "none";
  case Regularizer::L1: return "l1";
  case Regularizer::L1Pos: return "l1_pos";
  case Regularizer::L1L2: return "l1_l2";
  case Regularizer::L1L2Conv: return "l1_l2_conv";
  case Regularizer::L1L1L2: return "l1_l1_l2";
  }
  return "?";
}

Regularizer parseRegularizer(const std::string &name) {
  for (Regularizer r : {Regularizer::None, Regularizer::L1, Regularizer::L1Pos,
                        Regularizer::L1L2, Regularizer::L1L2Conv,
                        Regularizer::L1L1L2})
    if (name == regularizerName(r))
      return r;
  throw Error(fmt::format("unknown regularizer '{}' (known: none, l1, l1_pos, "
                          "l1_l2, l1_l2_conv, l1_l1_l2)",
                          name));
}

void checkRegularizerFits(const char *op, Regularizer reg, const Shape &shape) {
  if ((reg == Regularizer::L1L2 || reg == Regularizer::L1L1L2) &&
      shape.size() != 2)
    throw Error(fmt::format("{}: regularizer {} needs a 2-D weight (its rows "
                            "are the groups), got shape {}",
                            op, regularizerName(reg), shapeString(shape)));
  if (reg == Regularizer::L1L2Conv && shape.size() != 4)
    throw Error(fmt::format("{}: regularizer l1_l2_conv needs a 4-D conv weight "
                            "(its k×k kernels are the groups), got shape {}",
                            op, shapeString(shape)));
}

int Trace::addNode(Prim prim, std::vector<int> inputs,
                   const std::vector<std::pair<Shape, DType>> &results,
                   NodeAttrs attrs) {
  int index = static_cast<int>(nodes_.size());
  Node node{prim, std::move(inputs), {}, std::move(attrs)};
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
    out += fmt::format("  {} = {}({}){}\n", lhs, primName(node.prim), rhs,
                       node.attrs.name.empty() ? "" : " \"" + node.attrs.name + "\"");
  }
  return out;
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
    if (t.trace() != trace)
      throw Error(fmt::format("{}: operand belongs to another trace (a tracer "
                              "escaped from the function that made it)",
                              primName(prim)));
    ids.push_back(t.value());
  }
  if (!trace)
    throw Error(fmt::format("{}: called outside a traced function; run it "
                            "inside bregman::jit",
                            primName(prim)));
  int node = trace->addNode(prim, std::move(ids), results, std::move(attrs));
  std::vector<Tensor> out;
  for (int v : trace->nodes()[node].outputs)
    out.push_back(trace->tensor(v));
  return out;
}

} // namespace bregman
