//===- ExportCommand.cpp - `bregman export model.onnx run.ckpt -o out` ----===//

#include "Commands.h"

#include <iostream>

namespace bregman::tools {

ExportCommand::ExportCommand(CLI::App &app) {
  command = app.add_subcommand(
      "export", "Write the model a retraining run checkpointed (its best "
                "validation epoch's, or --last) back into its ONNX graph, "
                "without training again");
  command->add_option("model", config.onnxPath,
                      "The ONNX model the run retrained")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("checkpoint", config.checkpointPath,
                      "The run's --checkpoint")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("-o,--output", config.outputPath,
                      "The ONNX file to write (a new one, or one bregman "
                      "exported)")
      ->required();
  command->add_flag("--sparse-initializers", config.sparseInitializers,
                    "Store the weights as ONNX sparse_initializers");
  command->add_flag("--last", config.last,
                    "The last epoch's weights instead of the best validation "
                    "epoch's");
  command->add_option("--train-operands", trainOperands,
                      "As the run was given (they decide which initializers "
                      "are parameters)")
      ->check(CLI::IsMember({"auto", "none"}))
      ->capture_default_str();
  command->add_option("--freeze", config.freeze, "As the run was given")
      ->delimiter(',');
  command->add_option("--unfreeze", config.unfreeze, "As the run was given")
      ->delimiter(',');
}

int ExportCommand::run() {
  config.trainOperands = trainOperands == "auto";
  train::exportCheckpoint(config, std::cout);
  return 0;
}

} // namespace bregman::tools
