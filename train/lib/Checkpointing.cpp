//===- Checkpointing.cpp - A training run saved and resumed ---------------===//

#include "Checkpointing.h"

#include "ParamsUtil.h"
#include "bregman/Checkpoint.h"
#include "bregman/Error.h"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>

#include <optional>
#include <type_traits>
#include <vector>
#include <zlib.h>

namespace bregman::train {

namespace {

/// An optional as JSON: null when unset (the reference setting).
template <typename T> nlohmann::json orNull(const std::optional<T> &v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

/// The options a resumed run must share with the checkpoint's run, by their
/// command-line names: the optimizer state and schedules restored from the
/// checkpoint were made with them, so a changed one would be silently
/// ignored or mixed in.
nlohmann::json resumeOptions(const TrainConfig &c) {
  return {{"--reg", orNull(c.regularizer)},
          {"--conv-reg", orNull(c.convRegularizer)},
          {"--head-reg", orNull(c.headRegularizer)},
          {"--lr", orNull(c.lr)},
          {"--lambda", orNull(c.lambda)},
          {"--delta", c.delta},
          {"--momentum", c.momentum},
          {"--lambda2", c.lambda2},
          {"--beta1", c.beta1},
          {"--beta2", c.beta2},
          {"--eps", c.eps},
          {"--group", c.groups},
          {"--dataset", c.dataset},
          {"--mean", orNull(c.mean)},
          {"--std", orNull(c.std)},
          {"--val-fraction", c.valFraction},
          {"--train-limit", c.trainLimit},
          {"--test-limit", c.testLimit},
          {"--batch-size", c.batchSize},
          // null for the default, as checkpoints from before the option.
          {"--last-batch", c.fillLastBatch ? nlohmann::json("fill")
                                           : nlohmann::json()},
          {"--seed", c.seed},
          // null unless pruning, as checkpoints from before these options.
          {"--prune-density", c.pruneDensity > 0 ? nlohmann::json(c.pruneDensity)
                                                 : nlohmann::json()},
          {"--prune-rows", c.pruneDensity > 0 && c.pruneGroups
                               ? nlohmann::json(true)
                               : nlohmann::json()},
          {"--no-lr-plateau", !c.lrPlateau},
          {"--lambda-target", c.lambdaTarget},
          {"--lambda-increment", c.lambdaIncrement},
          {"--lambda-warmup", c.lambdaWarmup},
          {"--lambda-cooldown", c.lambdaCooldown}};
}

std::string shown(const nlohmann::json &v) {
  if (v.is_null())
    return "unset (the default)";
  if (v.is_string())
    return v.get<std::string>();
  // Settings are f32: their shortest decimal form, not the double's.
  if (v.is_number_float())
    return fmt::format("{}", static_cast<float>(v.get<double>()));
  return v.dump();
}

/// `text` as one shell word: quoted unless it is plain.
std::string shellWord(const std::string &text) {
  bool plain = !text.empty() &&
               text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
                                      "NOPQRSTUVWXYZ0123456789._,:=/+-") ==
                   std::string::npos;
  if (plain)
    return text;
  std::string quoted = "'";
  for (char ch : text)
    quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

/// What to type for `option` to be `value` again: "pass --lr 0.1", "leave
/// --no-lr-plateau out", "pass --group 'a:fc*' --group b:fc2.weight".
std::string typedAs(const std::string &option, const nlohmann::json &value) {
  if (value.is_null() || value == false || (value.is_array() && value.empty()))
    return fmt::format("leave {} out", option);
  if (value == true)
    return fmt::format("pass {}", option);
  std::string words;
  for (const nlohmann::json &v :
       value.is_array() ? value : nlohmann::json::array({value}))
    words += fmt::format(" {} {}", option, shellWord(shown(v)));
  return "pass" + words;
}

/// Refuses a resumed run whose options differ from the checkpoint's.
void checkResumeOptions(const TrainConfig &config, const nlohmann::json &saved,
                        const std::string &path) {
  nlohmann::json now = resumeOptions(config);
  // --reg first: the resolved --conv-reg and --head-reg follow it by
  // default, and the error should name the option that was changed.
  std::vector<std::string> order = {"--reg"};
  for (const auto &[option, value] : now.items())
    if (option != "--reg")
      order.push_back(option);
  for (const std::string &option : order) {
    const nlohmann::json &value = now.at(option);
    nlohmann::json before = saved.contains(option) ? saved.at(option) : nlohmann::json();
    if (before != value)
      throw Error(fmt::format(
          "--resume {}: {} is {} in the checkpoint but {} here; "
          "a resumed run keeps its options ({} or start "
          "a new run)",
          path, option, shown(before), shown(value), typedAs(option, before)));
  }
}

/// Refuses a resumed run on other data than the checkpoint's (checkpoints
/// from before the fingerprint are not checked).
void checkResumeData(const std::string &now, const nlohmann::json &meta,
                     const std::string &path) {
  if (now.empty() || !meta.contains("data"))
    return;
  if (!meta["data"].is_object())
    throw Error(fmt::format("--resume {}: the checkpoint's metadata 'data' is "
                            "{}, not an object",
                            path, meta["data"].dump()));
  nlohmann::json current = nlohmann::json::parse(now);
  for (const char *split : {"train", "val", "test"}) {
    nlohmann::json before = meta["data"].value(split, nlohmann::json());
    if (before != current[split])
      throw Error(fmt::format(
          "--resume {}: the {} set differs from the run's ({} then, {} now): "
          "resume with the data the run was started on (--data, --dataset)",
          path, split, before.dump(), current[split].dump()));
  }
}

/// meta[key] as T, or an Error naming the file (`origin`: "--resume
/// run.ckpt"), the field and its value.
template <typename T>
T field(const nlohmann::json &meta, const std::string &pointer,
        const std::string &origin) {
  nlohmann::json::json_pointer p(pointer);
  if (!meta.contains(p))
    throw Error(fmt::format("{}: the checkpoint's metadata has no '{}'", origin,
                            pointer));
  const nlohmann::json &v = meta.at(p);
  bool ok = std::is_same_v<T, bool>             ? v.is_boolean()
            : std::is_same_v<T, std::string>   ? v.is_string()
            : std::is_floating_point_v<T>      ? v.is_number()
                                               : v.is_number_integer();
  if (!ok)
    throw Error(fmt::format("{}: the checkpoint's metadata '{}' is {}, not {}",
                            origin, pointer, v.dump(),
                            std::is_same_v<T, std::string> ? "a string"
                            : std::is_same_v<T, bool>      ? "a boolean"
                            : std::is_floating_point_v<T>  ? "a number"
                                                           : "an integer"));
  // An integer beyond T's range (an epoch of 2^63 read as 0) is refused.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    if (!(v.is_number_unsigned()
              ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max())
              : v.get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                    v.get<int64_t>() <= int64_t(std::numeric_limits<T>::max())))
      throw Error(fmt::format("{}: the checkpoint's metadata '{}' is "
                              "{}, out of range",
                              origin, pointer, v.dump()));
  return v.get<T>();
}

/// The section called `name`, or nullptr.
const Params *findSection(const Checkpoint &checkpoint, const std::string &name) {
  for (const auto &[sectionName, section] : checkpoint.sections)
    if (sectionName == name)
      return &section;
  return nullptr;
}

/// The best model's buffers; a checkpoint of an older bregman has none (its
/// best model kept no running statistics) and is refused.
const Params &bestBuffers(const Checkpoint &checkpoint, const std::string &origin,
                          const char *advice) {
  if (const Params *section = findSection(checkpoint, "best_buffers"))
    return *section;
  throw Error(fmt::format("{}: the checkpoint has no buffers of the best "
                          "model (section 'best_buffers'): it was written by an "
                          "older bregman, whose best model kept no batch-norm "
                          "statistics; {}",
                          origin, advice));
}

} // namespace

std::string dataFingerprint(const data::DataSplits &splits) {
  auto checksum = [](const auto &values) {
    uLong crc = ::crc32(0L, Z_NULL, 0);
    const auto *bytes = reinterpret_cast<const Bytef *>(values.data());
    // zlib takes at most 4 GiB (uInt) per call.
    for (size_t left = values.size() * sizeof(values[0]); left > 0;) {
      uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
      crc = ::crc32(crc, bytes, n);
      bytes += n;
      left -= n;
    }
    return static_cast<uint32_t>(crc);
  };
  nlohmann::json fingerprint;
  for (const auto &[name, set] :
       {std::pair<const char *, const data::Dataset *>{"train", &splits.train},
        {"val", &splits.val},
        {"test", &splits.test}})
    fingerprint[name] = {{"examples", set->count},
                         {"images_crc32", checksum(set->images)},
                         {"labels_crc32", checksum(set->labels)}};
  return fingerprint.dump();
}

void writeCheckpoint(const TrainConfig &config, int epoch, const RunState &run) {
  optim::ReduceLROnPlateau::Memory plateau = run.plateau.memory();
  nlohmann::json meta = {
      {"epoch", epoch},
      {"model", run.model},
      {"optimizer", config.optimizer},
      {"seed", config.seed},
      {"options", resumeOptions(config)},
      {"plateau", {{"best", plateau.best},
                   {"started", plateau.started},
                   {"bad_epochs", plateau.badEpochs}}},
      {"best", {{"val_acc", run.best.valAcc},
                {"epoch", run.best.epoch},
                {"test_acc", run.best.testAcc},
                {"density", run.best.density}}}};
  if (!run.masks.empty())
    meta["pruned_after"] = config.epochs;
  if (!run.data.empty())
    meta["data"] = nlohmann::json::parse(run.data);
  Checkpoint checkpoint;
  checkpoint.metadata = meta.dump();
  checkpoint.sections = {{"params", run.params},
                         {"state", run.state},
                         {"buffers", run.buffers},
                         {"best", run.best.params},
                         {"best_buffers", run.best.buffers}};
  if (!run.masks.empty())
    checkpoint.sections.emplace_back("masks", run.masks);
  saveCheckpoint(config.checkpointPath, checkpoint);
}

/// Copies the tensors of `saved` into `target`, which must hold the same
/// names and shapes (the model and optimizer of the run being resumed).
/// `origin` begins the errors ("--resume run.ckpt").
static void restoreTensors(Params &target, const Params &saved,
                           const std::string &what, const std::string &origin) {
  for (auto &[name, t] : target) {
    if (!saved.contains(name))
      throw Error(fmt::format("{}: the checkpoint has no {} tensor "
                              "'{}' (another model or optimizer?)",
                              origin, what, name));
    const Tensor &s = saved.at(name);
    if (s.shape() != t.shape() || s.dtype() != t.dtype())
      throw Error(fmt::format("{}: {} tensor '{}' is {}{} in the "
                              "checkpoint but {}{} here",
                              origin, what, name, dtypeName(s.dtype()),
                              shapeString(s.shape()), dtypeName(t.dtype()),
                              shapeString(t.shape())));
    t = s.copy();
  }
  if (saved.size() != target.size())
    throw Error(fmt::format("{}: the checkpoint holds {} {} tensors, "
                            "this run {}",
                            origin, saved.size(), what, target.size()));
}

/// The pruning baseline's masks: restored from a checkpoint written while
/// retraining (its pruning epoch must be this run's), none before pruning
/// (which must then still be ahead).
static void restoreMasks(const TrainConfig &config, const Checkpoint &checkpoint,
                         const nlohmann::json &meta, int epoch, RunState &run) {
  const std::string &path = config.resumePath;
  const Params *masks = findSection(checkpoint, "masks");
  if (!masks) {
    if (config.pruneDensity > 0 && epoch > config.epochs)
      throw Error(fmt::format("--resume {}: the checkpoint is of epoch {}, before "
                              "pruning, so pruning after epoch {} (--epochs) "
                              "would never happen; pass --epochs {} or more",
                              path, epoch, config.epochs, epoch));
    return;
  }
  int prunedAfter = field<int>(meta, "/pruned_after", "--resume " + path);
  if (prunedAfter != config.epochs)
    throw Error(fmt::format("--resume {}: the checkpoint was pruned after epoch "
                            "{} and is retraining, but --epochs is {} here; pass "
                            "--epochs {}",
                            path, prunedAfter, config.epochs, prunedAfter));
  for (const auto &[name, mask] : *masks)
    if (!run.params.contains(name) || run.params.at(name).shape() != mask.shape() ||
        run.params.at(name).dtype() != mask.dtype())
      throw Error(fmt::format("--resume {}: mask '{}' {}{} has no parameter of "
                              "that dtype and shape",
                              path, name, dtypeName(mask.dtype()),
                              shapeString(mask.shape())));
  run.masks = masks->copy();
}

int restoreCheckpoint(const TrainConfig &config, RunState &run) {
  const std::string &path = config.resumePath;
  Checkpoint checkpoint = loadCheckpoint(path);
  nlohmann::json meta = nlohmann::json::parse(checkpoint.metadata);
  std::string model = field<std::string>(meta, "/model", "--resume " + path);
  std::string optimizer = field<std::string>(meta, "/optimizer", "--resume " + path);
  if (model != run.model || optimizer != config.optimizer)
    throw Error(fmt::format("--resume {}: the checkpoint is of '{}' with {}, "
                            "this run is '{}' with {}",
                            path, model, optimizer, run.model, config.optimizer));
  int epoch = field<int>(meta, "/epoch", "--resume " + path);
  if (epoch < 1)
    throw Error(fmt::format("--resume {}: the checkpoint's metadata 'epoch' is {}; "
                            "checkpoints are written after epoch 1 or later",
                            path, epoch));
  // --epochs is the total: fewer than done would train nothing, silently.
  // (As many as done finishes the run: its result, export and artifacts.)
  if (epoch > config.epochs + config.retrainEpochs)
    throw Error(fmt::format("--resume {}: the checkpoint is of epoch {}, but "
                            "this run ends after epoch {} (--epochs is the "
                            "total, not the epochs to add); pass --epochs {} "
                            "or more",
                            path, epoch, config.epochs + config.retrainEpochs,
                            epoch));
  if (!meta.contains("options") || !meta["options"].is_object())
    throw Error(fmt::format("--resume {}: the checkpoint's metadata has no 'options' "
                            "object",
                            path));
  checkResumeOptions(config, meta["options"], path);
  checkResumeData(run.data, meta, path);
  const std::string origin = "--resume " + path;
  restoreTensors(run.params, checkpoint.section("params"), "parameter", origin);
  restoreTensors(run.state, checkpoint.section("state"), "optimizer state",
                 origin);
  restoreTensors(run.buffers, checkpoint.section("buffers"), "buffer", origin);
  int badEpochs = field<int>(meta, "/plateau/bad_epochs", "--resume " + path);
  if (badEpochs < 0)
    throw Error(fmt::format("--resume {}: the checkpoint's metadata "
                            "'/plateau/bad_epochs' is {}, negative",
                            path, badEpochs));
  run.plateau.restore({field<double>(meta, "/plateau/best", "--resume " + path),
                       field<bool>(meta, "/plateau/started", "--resume " + path), badEpochs});
  run.best.valAcc = field<double>(meta, "/best/val_acc", "--resume " + path);
  run.best.density = field<double>(meta, "/best/density", "--resume " + path);
  run.best.epoch = field<int>(meta, "/best/epoch", "--resume " + path);
  run.best.testAcc = field<double>(meta, "/best/test_acc", "--resume " + path);
  // Scores are accuracies or mean SSIMs (in [-1, 1]), the density a
  // fraction, the best epoch one of those done.
  for (auto [name, value, low] : {std::tuple{"val_acc", run.best.valAcc, -1.0},
                                  {"test_acc", run.best.testAcc, -1.0},
                                  {"density", run.best.density, 0.0}})
    if (!(value >= low && value <= 1))
      throw Error(fmt::format("--resume {}: the checkpoint's metadata "
                              "'/best/{}' is {}, not in [{}, 1]",
                              path, name, value, low));
  if (run.best.epoch < 0 || run.best.epoch > epoch)
    throw Error(fmt::format("--resume {}: the checkpoint's metadata "
                            "'/best/epoch' is {}, not one of its {} epochs",
                            path, run.best.epoch, epoch));
  // The best model is checked like the current one (a header edited to
  // other shapes failed only after training, in the model's own code).
  run.best.params = run.params.copy();
  restoreTensors(run.best.params, checkpoint.section("best"), "best-model",
                 origin);
  run.best.buffers = run.buffers.copy();
  restoreTensors(run.best.buffers,
                 bestBuffers(checkpoint, origin, "start a new run"),
                 "best-model buffer", origin);
  restoreMasks(config, checkpoint, meta, epoch, run);
  return epoch;
}

void readSavedModel(const std::string &path, bool last, SavedModel &saved) {
  const std::string origin = "checkpoint " + path;
  Checkpoint checkpoint = loadCheckpoint(path);
  nlohmann::json meta = nlohmann::json::parse(checkpoint.metadata);
  saved.model = field<std::string>(meta, "/model", origin);
  int epoch = field<int>(meta, "/epoch", origin);
  saved.best = !last;
  if (last) {
    saved.epoch = epoch;
    restoreTensors(saved.params, checkpoint.section("params"), "parameter",
                   origin);
    restoreTensors(saved.buffers, checkpoint.section("buffers"), "buffer",
                   origin);
    return;
  }
  saved.epoch = field<int>(meta, "/best/epoch", origin);
  if (saved.epoch < 1 || saved.epoch > epoch)
    throw Error(fmt::format("{}: its best model is of epoch {}, not one of its "
                            "{} epochs (no validation yet?): export the last "
                            "epoch's weights instead",
                            origin, saved.epoch, epoch));
  saved.valAcc = field<double>(meta, "/best/val_acc", origin);
  saved.testAcc = field<double>(meta, "/best/test_acc", origin);
  saved.density = field<double>(meta, "/best/density", origin);
  restoreTensors(saved.params, checkpoint.section("best"), "best-model",
                 origin);
  restoreTensors(saved.buffers,
                 bestBuffers(checkpoint, origin, "export the last epoch's"),
                 "best-model buffer", origin);
}

} // namespace bregman::train
