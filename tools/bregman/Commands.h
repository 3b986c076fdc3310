//===- Commands.h - The subcommands of `bregman` ----------------*- C++ -*-===//
//
// Each subcommand registers its options on the CLI11 app and runs once the
// command line is parsed; errors propagate as exceptions to main, which
// maps them to a message and an exit code.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TOOLS_BREGMAN_COMMANDS_H
#define BREGMAN_TOOLS_BREGMAN_COMMANDS_H

#include "bregman/train/Config.h"
#include "bregman/train/Export.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace bregman::tools {

/// A number > 0 (`positive`) or >= 0, finite: CLI11's PositiveNumber says
/// "not in range 0 to" DBL_MAX printed in 309 digits. NaN passes here: the
/// Trainer library's one check of each setting names its range.
inline CLI::Validator numberAtLeast(bool positive) {
  return CLI::Validator(
      [positive](std::string &text) -> std::string {
        double value = 0;
        bool number = CLI::detail::lexical_cast(text, value);
        if (number &&
            (std::isnan(value) ||
             (std::isfinite(value) && (positive ? value > 0 : value >= 0))))
          return "";
        return std::string("must be a ") +
               (positive ? "positive" : "non-negative") +
               " finite number, got " + text;
      },
      positive ? "POSITIVE" : "NONNEGATIVE");
}
inline const CLI::Validator kPositive = numberAtLeast(true);
inline const CLI::Validator kNonNegative = numberAtLeast(false);

/// `bregman train` (alias `retrain` for an ONNX model).
class TrainCommand {
public:
  explicit TrainCommand(CLI::App &app);
  bool parsed() const { return command->parsed(); }
  /// Called as `bregman retrain`: an ONNX model must be given.
  void calledAsRetrain() { retrain = true; }
  int run();

private:
  void addModelOptions();
  void addOptimizerOptions();
  void addInitOptions();
  void addDataOptions();
  void addRunOptions();
  void addBaselineOptions();
  void addOutputOptions();

  CLI::App *command;
  train::TrainConfig config;
  std::string device = "cpu";
  std::string sparseExec = "off"; // --sparse-exec: off, auto, on
  bool noProgress = false, noPlateau = false, profile = false;
  std::string trainOperands = "auto"; // --train-operands auto|none
  bool tf32 = false; // --tf32
  bool retrain = false;
};

/// `bregman inspect model.onnx`.
class InspectCommand {
public:
  explicit InspectCommand(CLI::App &app);
  bool parsed() const { return command->parsed(); }
  int run();

private:
  CLI::App *command;
  std::string path;
};

/// `bregman export model.onnx run.ckpt -o sparse.onnx`: a retraining run's
/// checkpointed model written back as ONNX.
class ExportCommand {
public:
  explicit ExportCommand(CLI::App &app);
  bool parsed() const { return command->parsed(); }
  int run();

private:
  CLI::App *command;
  train::ExportConfig config;
  std::string trainOperands = "auto"; // --train-operands auto|none
};

/// `bregman run model.onnx --input x.pb [--save-artifact DIR]` or
/// `bregman run ARTIFACT_DIR [--input x.pb]`.
class RunCommand {
public:
  explicit RunCommand(CLI::App &app);
  bool parsed() const { return command->parsed(); }
  int run();

private:
  int runOnnx();
  int runDirectory();
  std::string ignoredOption() const;

  CLI::App *command;
  std::string model;
  std::string saveArtifact; // --save-artifact DIR (ONNX)
  std::vector<std::string> inputs, outputs;
  int steps = 10;
  std::string sparseExec = "off"; // --sparse-exec: off, auto, on (ONNX)
  bool tf32 = false;              // --tf32
};

} // namespace bregman::tools

#endif // BREGMAN_TOOLS_BREGMAN_COMMANDS_H
