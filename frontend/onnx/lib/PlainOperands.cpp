//===- PlainOperands.cpp - Which plainly read initializers PyTorch trains --===//
//
// The operator table gives roles to weights, biases and normalization
// entries. A float initializer read otherwise is either a tensor PyTorch
// trains (an nn.Parameter used directly: a position table added by Add, a
// cls token expanded and concatenated, a learned scale or temperature, the
// bias of an nn.Linear on a sequence, exported as MatMul + Add) or a
// constant the exporter wrote (a folded shape or scale, a Pow exponent, a
// Clip bound). What torch.onnx.export (2.15, TorchScript and dynamo)
// writes tells them apart:
//   - parameters keep their module path as the name ("pos", "cls",
//     "encoder.cls_token", "patch.bias"); constants it folds into
//     initializers are named after the value they replace ("onnx::Mul_123",
//     "/attn/Constant_output_0") or numbered ("val_12", "_val_12");
//   - a parameter is a data operand (arithmetic, concatenation, data
//     movement, a matrix product); a constant is also read where an
//     operator takes an attribute-like input (an exponent, bounds, scales,
//     a ratio), which PyTorch never trains.
// Both must hold. One exception: PyTorch's exporter merges tensors of equal
// values, so a constant-valued initializer read by two nodes (two
// LayerScale γ of 1e-5) may be two parameters; training one tensor for both
// would tie them, so it stays frozen and says so.
//
//===----------------------------------------------------------------------===//

#include "bregman/onnx/OnnxNetwork.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

namespace bregman::onnx {

namespace {

/// Which inputs of an operator are data PyTorch could have trained:
/// every input, or the listed ones.
struct DataInputs {
  bool all = false;
  std::set<int> inputs;
};

const std::map<std::string, DataInputs> &dataOperandTable() {
  static const std::map<std::string, DataInputs> table = [] {
    std::map<std::string, DataInputs> t;
    for (const char *op : {"Add", "Sub", "Mul", "Div", "Concat", "Sum", "Max",
                           "Min", "Mean", "MatMul", "Einsum", "PRelu"})
      t[op] = DataInputs{true, {}};
    // Elementwise functions and data movement: the data is input 0, the
    // later inputs (shapes, indices, axes) are integers or settings.
    for (const char *op :
         {"Neg", "Exp", "Log", "Sigmoid", "Tanh", "Relu", "Abs", "Sqrt", "Softplus", "Softmax",
          "LogSoftmax", "Erf", "Sin", "Cos", "Reciprocal", "Identity", "Pow", "Expand",
          "Reshape", "Slice", "Squeeze", "Unsqueeze", "Transpose", "Tile", "Flatten", "Split",
          "Cast"})
      t[op] = DataInputs{false, {0}};
    t["Gemm"] = DataInputs{false, {0, 1}};
    t["Where"] = DataInputs{false, {1, 2}};
    return t;
  }();
  return table;
}

/// The attribute-like inputs the exporter fills with constants, by name.
std::string settingName(const std::string &opType, int input) {
  static const std::map<std::pair<std::string, int>, const char *> names = {
      {{"Pow", 1}, "exponent"},     {{"Clip", 1}, "lower bound"},
      {{"Clip", 2}, "upper bound"}, {{"Resize", 1}, "region of interest"},
      {{"Resize", 2}, "scales"},    {{"Upsample", 1}, "scales"},
      {{"Dropout", 1}, "ratio"},    {{"Pad", 2}, "padding value"},
      {{"Where", 0}, "condition"}};
  auto it = names.find({opType, input});
  return it != names.end() ? it->second : "not a data operand";
}

bool isDataOperand(const PlainRead &read) {
  auto it = dataOperandTable().find(read.opType);
  return it != dataOperandTable().end() &&
         (it->second.all || it->second.inputs.count(read.input));
}

/// Names torch.onnx.export gives the constants it writes as initializers.
bool isExporterConstantName(std::string_view name) {
  return name.rfind("onnx::", 0) == 0 || name.rfind("/", 0) == 0 ||
         name.rfind("val_", 0) == 0 || name.rfind("_val_", 0) == 0 ||
         name.find("Constant") != std::string_view::npos;
}

template <typename T> bool allEqualAs(const Tensor &t) {
  std::vector<T> v = t.toVector<T>();
  return std::all_of(v.begin(), v.end(), [&](T x) { return x == v.front(); });
}

bool allEqual(const Tensor &t) {
  return t.dtype() == DType::F64 ? allEqualAs<double>(t) : allEqualAs<float>(t);
}

} // namespace

bool isDataRead(const PlainRead &read) { return isDataOperand(read); }

OperandVerdict plainOperandVerdict(const std::string &name, const Tensor &value,
                                   const std::vector<PlainRead> &reads) {
  if (reads.empty())
    return {false, ParamRole::Learned, "read by no node"};
  if (isExporterConstantName(name))
    return {false, ParamRole::Learned, "named as an exporter's constant"};
  bool matrixProduct = false;
  for (const PlainRead &r : reads) {
    if (!isDataOperand(r))
      return {false, ParamRole::Learned,
              fmt::format("read as {} input {} ({}) by node '{}'", r.opType, r.input,
                          settingName(r.opType, r.input), r.node)};
    matrixProduct |= r.opType == "MatMul" || r.opType == "Gemm" || r.opType == "Einsum";
  }
  if (reads.size() > 1 && allEqual(value))
    return {false, ParamRole::Learned,
            fmt::format("read by {} nodes, every element equal: PyTorch's exporter may have "
                        "merged that many tensors",
                        reads.size())};
  std::string where = fmt::format("{} input {} of node '{}'", reads.front().opType,
                                  reads.front().input, reads.front().node);
  if (value.rank() >= 2 && matrixProduct)
    return {true, ParamRole::LinearWeight, "a matrix product's operand, " + where};
  if (value.rank() == 1 && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
    return {true, ParamRole::Bias, "a bias added as data, " + where};
  return {true, ParamRole::Learned, "a data operand, " + where};
}

} // namespace bregman::onnx
