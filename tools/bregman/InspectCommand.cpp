//===- InspectCommand.cpp - `bregman inspect model.onnx` ------------------===//

#include "Commands.h"

#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

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

/// What `bregman retrain` makes of each float initializer: the table
/// OnnxNetwork trains from (so the two cannot disagree).
static void printRetrainRoles(const std::string &path,
                              std::shared_ptr<const onnx::OnnxModel> model) {
  std::vector<onnx::InitializerRole> roles;
  try {
    roles = onnx::OnnxNetwork(std::move(model), path, /*fromPretrained=*/true)
                .initializerRoles();
  } catch (const Error &e) {
    fmt::print("\nretraining: not possible ({})\n", e.what());
    return;
  }
  fmt::print("\nretraining (--train-operands auto): float initializers\n");
  fmt::print("{:<36} {:<40} {}\n", "initializer", "role", "parameter / why");
  int trained = 0, frozen = 0;
  for (const onnx::InitializerRole &r : roles) {
    trained += r.trained;
    frozen += r.parameter.empty();
    std::string detail = r.parameter.empty() ? r.reason
                         : r.reason == "the operator's table"
                             ? r.parameter
                             : fmt::format("{} ({})", r.parameter, r.reason);
    fmt::print("{:<36} {:<40} {}\n", r.onnxName, r.role, detail);
  }
  fmt::print("{} trained, {} frozen (--freeze NAME keeps one as imported)\n", trained,
             frozen);
}

int InspectCommand::run() {
  auto shared = std::make_shared<const onnx::OnnxModel>(onnx::OnnxModel::load(path));
  const onnx::OnnxModel &model = *shared;
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
    if (std::string note = model.batchGuessNote(0); !note.empty())
      fmt::print("note: {}\n", note);
  } else {
    fmt::print("not supported ({}):\n", model.unsupported().size());
    for (const std::string &u : model.unsupported())
      fmt::print("  {}\n", u);
  }
  if (model.unsupported().empty())
    printRetrainRoles(path, shared);
  return 0;
}

} // namespace bregman::tools
