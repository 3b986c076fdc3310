//===- bregman-run.cpp - Run a compiled step with the runtime alone -------===//
//
// bregman-run STEP_DIR [--steps N]: loads an artifact written by
// Jitted::save (or `bregman compile`), runs N calls from its saved state
// (outputs that overwrite inputs carry the state over), prints the scalar
// outputs of each call and the time per call. No MLIR or LLVM in this
// process; a CUDA artifact needs the NVIDIA driver and cuBLAS, found at run
// time.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/Artifact.h"

#include <CLI/CLI.hpp>


using namespace bregman::runtime;

int main(int argc, char **argv) {
  CLI::App app{"Run a compiled bregman step (an artifact directory) with the "
               "runtime alone"};
  std::string dir;
  int steps = 10;
  bool quiet = false;
  app.add_option("artifact", dir, "The artifact directory")->required();
  app.add_option("--steps", steps, "Calls to run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--quiet", quiet, "Print only the timing");
  CLI11_PARSE(app, argc, argv);
  return runArtifactCommand(dir, steps, quiet);
}
