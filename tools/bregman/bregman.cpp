//===- bregman.cpp - The bregman command line -----------------------------===//
//
// `bregman train|retrain|inspect|export|run`: parses the command line, runs the
// subcommand, and turns every error into a message and a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "bregman/Error.h"
#include "bregman/Jit.h"
#include "bregman/data/Idx.h"
#include "bregman/runtime/Environment.h"

#include <exception>
#include <iostream>
#include <stdexcept>

using namespace bregman;

namespace {

/// The command word: the first argument that is not an option ("" if none).
std::string commandWord(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-')
      return argv[i];
  return "";
}

bool isCommand(const CLI::App &app, const std::string &word) {
  try {
    return app.get_subcommand(word) != nullptr;
  } catch (const CLI::OptionNotFound &) {
    return false;
  }
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"bregman: sparse neural networks trained with Bregman "
               "iterations, compiled through MLIR"};
  app.require_subcommand(1);
  tools::TrainCommand train(app);
  tools::InspectCommand inspect(app);
  tools::RunCommand run(app);
  tools::ExportCommand exportCommand(app);
  // CLI11 said "A subcommand is required" for a misspelt one.
  std::string word = commandWord(argc, argv);
  if (!word.empty() && !isCommand(app, word)) {
    std::cerr << "error: unknown command '" << word
              << "': the commands are train, retrain, inspect, export and run "
                 "(bregman --help)\n";
    return 2;
  }
  if (word == "retrain")
    train.calledAsRetrain();
  CLI11_PARSE(app, argc, argv);
  // Settings the libraries would abort on or misread, said first.
  std::string problem = runtime::environmentProblem();
  if (problem.empty())
    problem = jitEnvironmentProblem();
  if (!problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return 2;
  }
  try {
    if (inspect.parsed())
      return inspect.run();
    if (run.parsed())
      return run.run();
    if (exportCommand.parsed())
      return exportCommand.run();
    return train.run();
  } catch (const Error &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const data::DataError &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: an unknown exception\n";
  }
  return 1;
}
