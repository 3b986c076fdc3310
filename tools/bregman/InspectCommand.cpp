//===- InspectCommand.cpp - `bregman inspect model.onnx` ------------------===//

#include "Commands.h"

#include "bregman/onnx/OnnxModel.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

namespace bregman::tools {

InspectCommand::InspectCommand(CLI::App &app) {
  command = app.add_subcommand(
      "inspect", "Summarize an ONNX model: operators, shapes, parameters and "
                 "density per layer, and what the importer cannot run");
  command->add_option("model", path, "The .onnx file")->required();
}

/// "[N, 3, 32, 32]" for a dynamic batch, else the static shape.
static std::string specShape(const onnx::ValueSpec &v) {
  std::string shape = shapeString(v.shape);
  if (v.dynamicBatch && shape.size() > 1)
    shape = "[N" + shape.substr(shape.find_first_of(",]"));
  return shape;
}

static void printNodes(const onnx::OnnxModel &model) {
  fmt::print("\n{:<28} {:<20} {:<20} {:>12} {:>9}\n", "node", "op",
             "output shape", "parameters", "density");
  int64_t total = 0, nonZero = 0;
  std::map<std::string, int> ops;
  for (const onnx::NodeSummary &n : model.summary()) {
    ++ops[n.opType];
    total += n.parameters;
    nonZero += n.nonZero;
    std::string density =
        n.parameters
            ? fmt::format("{:.4f}", double(n.nonZero) / double(n.parameters))
            : "";
    fmt::print("{:<28} {:<20} {:<20} {:>12} {:>9}\n",
               n.name.empty() ? "(unnamed)" : n.name.substr(0, 28), n.opType,
               n.outputShape.empty() ? "" : shapeString(n.outputShape),
               n.parameters ? std::to_string(n.parameters) : "", density);
  }
  std::vector<std::string> counts;
  for (const auto &[op, count] : ops)
    counts.push_back(fmt::format("{} {}", op, count));
  fmt::print("\n{} nodes ({}); {} parameters, {} non-zero (density {:.4f})\n",
             model.summary().size(), fmt::join(counts, ", "), total, nonZero,
             total ? double(nonZero) / double(total) : 0.0);
}

int InspectCommand::run() {
  onnx::OnnxModel model = onnx::OnnxModel::load(path);
  fmt::print("{}: opset {}\n", path, model.opsetVersion());
  for (const onnx::ValueSpec &v : model.inputs())
    fmt::print("  input  {} {}{}\n", v.name, dtypeName(v.dtype), specShape(v));
  for (const onnx::ValueSpec &v : model.outputs())
    fmt::print("  output {} {}{}\n", v.name, dtypeName(v.dtype), specShape(v));
  printNodes(model);
  // The same verdict `run` and `retrain` reach: the graph replayed through
  // the importer's handlers at load, at the declared batch and at another.
  if (model.unsupported().empty()) {
    fmt::print("every node is supported\n");
    if (!model.batchRestriction().empty())
      fmt::print("but only at the batch the model was exported with: {}\n",
                 model.batchRestriction());
  } else {
    fmt::print("not supported ({}):\n", model.unsupported().size());
    for (const std::string &u : model.unsupported())
      fmt::print("  {}\n", u);
  }
  return 0;
}

} // namespace bregman::tools
