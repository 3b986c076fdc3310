//===- Checkpointing.cpp - A training run saved and resumed ---------------===//

#include "Checkpointing.h"

#include "ParamsUtil.h"
#include "bregman/Checkpoint.h"
#include "bregman/Error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bregman::train {

void writeCheckpoint(const TrainConfig &config, int epoch, const RunState &run) {
  optim::ReduceLROnPlateau::Memory plateau = run.plateau.memory();
  nlohmann::json meta = {
      {"epoch", epoch},
      {"model", run.model},
      {"optimizer", config.optimizer},
      {"seed", config.seed},
      {"plateau", {{"best", plateau.best},
                   {"started", plateau.started},
                   {"bad_epochs", plateau.badEpochs}}},
      {"best", {{"val_acc", run.best.valAcc},
                {"epoch", run.best.epoch},
                {"test_acc", run.best.testAcc},
                {"density", run.best.density}}}};
  Checkpoint checkpoint;
  checkpoint.metadata = meta.dump();
  checkpoint.sections = {{"params", run.params},
                         {"state", run.state},
                         {"buffers", run.buffers},
                         {"best", run.best.params}};
  saveCheckpoint(config.checkpointPath, checkpoint);
}

/// Copies the tensors of `saved` into `target`, which must hold the same
/// names and shapes (the model and optimizer of the run being resumed).
static void restoreTensors(Params &target, const Params &saved,
                           const std::string &what, const std::string &path) {
  for (auto &[name, t] : target) {
    if (!saved.contains(name))
      throw Error(fmt::format("--resume {}: the checkpoint has no {} tensor "
                              "'{}' (another model or optimizer?)",
                              path, what, name));
    const Tensor &s = saved.at(name);
    if (s.shape() != t.shape() || s.dtype() != t.dtype())
      throw Error(fmt::format("--resume {}: {} tensor '{}' is {}{} in the "
                              "checkpoint but {}{} here",
                              path, what, name, dtypeName(s.dtype()),
                              shapeString(s.shape()), dtypeName(t.dtype()),
                              shapeString(t.shape())));
    t = copyParams(Params{{name, s}}).at(name);
  }
  if (saved.size() != target.size())
    throw Error(fmt::format("--resume {}: the checkpoint holds {} {} tensors, "
                            "this run {}",
                            path, saved.size(), what, target.size()));
}

int restoreCheckpoint(const TrainConfig &config, RunState &run) {
  const std::string &path = config.resumePath;
  Checkpoint checkpoint = loadCheckpoint(path);
  nlohmann::json meta = nlohmann::json::parse(checkpoint.metadata);
  if (meta.value("model", "") != run.model ||
      meta.value("optimizer", "") != config.optimizer)
    throw Error(fmt::format("--resume {}: the checkpoint is of '{}' with {}, "
                            "this run is '{}' with {}",
                            path, meta.value("model", "?"),
                            meta.value("optimizer", "?"), run.model,
                            config.optimizer));
  restoreTensors(run.params, checkpoint.section("params"), "parameter", path);
  restoreTensors(run.state, checkpoint.section("state"), "optimizer state",
                 path);
  restoreTensors(run.buffers, checkpoint.section("buffers"), "buffer", path);
  run.plateau.restore({meta["plateau"]["best"], meta["plateau"]["started"],
                       meta["plateau"]["bad_epochs"]});
  run.best.valAcc = meta["best"]["val_acc"];
  run.best.density = meta["best"]["density"];
  run.best.epoch = meta["best"]["epoch"];
  run.best.testAcc = meta["best"]["test_acc"];
  run.best.params = copyParams(checkpoint.section("best"));
  return meta["epoch"].get<int>();
}

} // namespace bregman::train
