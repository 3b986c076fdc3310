//===- Train.cpp - The training program of `bregman train` ----------------===//

#include "bregman/train/Trainer.h"
#include "bregman/models/Zoo.h"

#include "bregman/bregman.h"
#include "bregman/Checkpoint.h"
#include "bregman/onnx/OnnxNetwork.h"
#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/Profile.h"
#include "bregman/data/Dataset.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <cstring>
#include <fnmatch.h>
#include <fstream>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <ostream>
#include <unistd.h>

namespace bregman::train {


namespace {

std::vector<std::string> split(const std::string &text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = text.find(sep, start)) != std::string::npos;
       start = end + 1)
    parts.push_back(text.substr(start, end - start));
  parts.push_back(text.substr(start));
  return parts;
}

/// "NAME:PATTERNS[:key=value,...]" -> a group with `defaults`' settings
/// overridden by the given keys.
optim::Group parseGroup(const std::string &spec, optim::Group defaults) {
  std::vector<std::string> parts = split(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() ||
      parts[1].empty())
    throw Error(fmt::format("--group '{}': expected NAME:PATTERNS[:key=value,"
                            "...]",
                            spec));
  optim::Group g = defaults;
  g.name = parts[0];
  std::vector<std::string> patterns = split(parts[1], ',');
  g.selects = [patterns](const std::string &name) {
    for (const std::string &p : patterns)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0)
        return true;
    return false;
  };
  if (parts.size() == 3)
    for (const std::string &kv : split(parts[2], ',')) {
      size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (key == "reg") {
        g.regularizer = parseRegularizer(value);
        continue;
      }
      float *field = key == "lr"         ? &g.lr
                     : key == "lambda2"  ? &g.lambda2
                     : key == "delta"    ? &g.delta
                     : key == "lambda"   ? &g.lambda
                     : key == "momentum" ? &g.momentum
                     : key == "beta1"    ? &g.beta1
                     : key == "beta2"    ? &g.beta2
                     : key == "eps"      ? &g.eps
                                         : nullptr;
      char *end = nullptr;
      double number = std::strtod(value.c_str(), &end);
      if (!field || value.empty() || *end != '\0')
        throw Error(fmt::format("--group '{}': '{}' is not key=value with a "
                                "key of reg, lr, delta, lambda, lambda2, momentum, "
                                "beta1, beta2, eps and a number",
                                spec, kv));
      *field = static_cast<float>(number);
    }
  return g;
}

/// The density of the weights a parameter group owns (the λ schedule acts
/// on its own group's density, ALGORITHMS.md §5).
double groupDensity(const SparsityReport &report, const optim::Optimizer &opt,
                    const std::string &group) {
  int64_t nonZero = 0, total = 0;
  for (const TensorSparsity &t : report.tensors)
    if (opt.groupOf(t.name).name == group) {
      nonZero += t.nonZero;
      total += t.numel;
    }
  return total ? double(nonZero) / double(total) : 0.0;
}

/// A host copy of every tensor (for the best model).
Params copyParams(const Params &params) {
  Params out;
  for (const auto &[name, t] : params) {
    Tensor c = Tensor::zeros(t.shape(), t.dtype());
    std::memcpy(c.buffer()->data(), t.buffer()->data(), t.buffer()->bytes());
    out.add(name, c);
  }
  return out;
}

/// A one-line progress bar on stderr, drawn only on a terminal.
class ProgressBar {
public:
  ProgressBar(bool enabled, int epoch, int epochs, int64_t total)
      : enabled(enabled && isatty(STDERR_FILENO)), epoch(epoch),
        epochs(epochs), total(total) {}
  void update(int64_t done, double loss) {
    if (!enabled || (done % 8 != 0 && done != total))
      return;
    const int width = 30;
    int filled = total ? static_cast<int>(width * done / total) : width;
    fmt::print(stderr, "\r  epoch {}/{} [{}{}] {}/{} loss {:.4f} ", epoch,
               epochs, std::string(filled, '='),
               std::string(width - filled, ' '), done, total, loss);
    std::fflush(stderr);
  }
  /// Clears the bar so that the epoch's summary line takes its place.
  void finish() {
    if (enabled)
      fmt::print(stderr, "\r{}\r", std::string(80, ' '));
    enabled = false;
  }
  ~ProgressBar() { finish(); }

private:
  bool enabled;
  int epoch, epochs;
  int64_t total;
};

/// Hands out batches in host tensors that are reused across steps: one
/// pair per batch shape (the last, partial batch has its own shape and so its
/// own compiled function).
class BatchFeeder {
public:
  BatchFeeder(data::Batcher &batcher, int64_t batchSize, int64_t features)
      : batcher(batcher), batchSize(batchSize), features(features) {}

  /// The next batch, or nullptr at the end of the epoch.
  const std::pair<Tensor, Tensor> *next() {
    auto &full = tensorsFor(batchSize);
    int64_t n = batcher.nextInto(full.first.data<float>(),
                                 full.second.data<int32_t>());
    if (n == 0)
      return nullptr;
    if (n == batchSize)
      return &full;
    auto &part = tensorsFor(n);
    std::copy(full.first.data<float>(), full.first.data<float>() + n * features,
              part.first.data<float>());
    std::copy(full.second.data<int32_t>(), full.second.data<int32_t>() + n,
              part.second.data<int32_t>());
    return &part;
  }

private:
  std::pair<Tensor, Tensor> &tensorsFor(int64_t n) {
    auto &entry = byShape[n];
    if (!entry.first.defined())
      entry = {Tensor::zeros({n, features}), Tensor::zeros({n}, DType::I32)};
    return entry;
  }
  data::Batcher &batcher;
  int64_t batchSize, features;
  std::map<int64_t, std::pair<Tensor, Tensor>> byShape;
};

/// Runs the Batcher on a background thread, a few batches ahead of the
/// training steps (augmentation included), so that a step never waits for
/// its data. Batches live in a small pool of host tensors that are reused.
class Prefetcher {
public:
  Prefetcher(data::Batcher &batcher, int64_t features)
      : batcher(batcher), features(features) {
    for (auto &slot : slots)
      slot = {Tensor::zeros({batcher.batchSize(), features}),
              Tensor::zeros({batcher.batchSize()}, DType::I32)};
  }
  ~Prefetcher() { stop(); }

  /// Starts producing the batches of `epoch` (the previous epoch must have
  /// been consumed to its end, or is abandoned).
  void startEpoch(uint64_t epoch) {
    stop();
    ready.clear();
    inUse = -1;
    freeSlots = {0, 1, 2};
    finished = false;
    cancelled = false;
    batcher.startEpoch(epoch);
    worker = std::thread([this] { produce(); });
  }

  /// The next batch (valid until the next call), or nullptr at the end of
  /// the epoch. Rethrows what the loader threw.
  const std::pair<Tensor, Tensor> *next() {
    std::unique_lock<std::mutex> lock(mutex);
    if (inUse >= 0) {
      freeSlots.push_back(inUse);
      inUse = -1;
      changed.notify_all();
    }
    changed.wait(lock, [&] { return !ready.empty() || finished; });
    if (ready.empty()) {
      if (failure)
        std::rethrow_exception(std::exchange(failure, nullptr));
      return nullptr;
    }
    auto [slot, n] = ready.front();
    ready.pop_front();
    inUse = slot;
    if (n == batcher.batchSize())
      return &slots[slot];
    // The last, partial batch: its own tensors (and compiled function).
    partial = {Tensor::zeros({n, features}), Tensor::zeros({n}, DType::I32)};
    std::copy(slots[slot].first.data<float>(),
              slots[slot].first.data<float>() + n * features,
              partial.first.data<float>());
    std::copy(slots[slot].second.data<int32_t>(),
              slots[slot].second.data<int32_t>() + n,
              partial.second.data<int32_t>());
    return &partial;
  }

private:
  void produce() {
    try {
      while (true) {
        int slot;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return !freeSlots.empty() || cancelled; });
          if (cancelled)
            break;
          slot = freeSlots.back();
          freeSlots.pop_back();
        }
        int64_t n = batcher.nextInto(slots[slot].first.data<float>(),
                                     slots[slot].second.data<int32_t>());
        std::lock_guard<std::mutex> lock(mutex);
        if (n == 0)
          break;
        ready.emplace_back(slot, n);
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex);
    finished = true;
    changed.notify_all();
  }

  void stop() {
    if (!worker.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      cancelled = true;
      changed.notify_all();
    }
    worker.join();
  }

  data::Batcher &batcher;
  int64_t features;
  std::array<std::pair<Tensor, Tensor>, 3> slots;
  std::pair<Tensor, Tensor> partial;
  std::thread worker;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<int, int64_t>> ready;
  std::vector<int> freeSlots;
  int inUse = -1;
  bool finished = false, cancelled = false;
  std::exception_ptr failure;
};

/// The network `config.model` (or the imported ONNX model) for the
/// examples of `ds` (flattened images).
std::unique_ptr<nn::Model> makeModel(const TrainConfig &config,
                                     const data::Dataset &ds) {
  if (!config.onnxPath.empty())
    return std::make_unique<onnx::OnnxNetwork>(
        std::make_shared<onnx::OnnxModel>(onnx::OnnxModel::load(config.onnxPath)),
        config.onnxPath, config.fromPretrained);
  models::ModelOptions options;
  options.hidden = config.hidden;
  options.convnetWidths = config.convnetWidths;
  options.width = config.width;
  return models::makeModel(
      config.model, models::InputShape{ds.channels, ds.rows, ds.cols, 10},
      options);
}

/// The first tensor of `params` holding a NaN or an infinity, or "".
std::string firstNonFinite(const Params &params) {
  for (const auto &[name, t] : params) {
    if (t.dtype() != DType::F32)
      continue;
    const float *v = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(v[i]))
        return fmt::format("'{}' holds {} at element {}", name, v[i], i);
  }
  return "";
}

/// Copies the tensors of `saved` into `target`, which must hold the same
/// names and shapes (the model and optimizer of the run being resumed).
void restoreTensors(Params &target, const Params &saved, const std::string &what,
                    const std::string &path) {
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

/// Parameters without a regulariser: biases and batch-norm scale and shift.
bool isUnregularized(const std::string &name) {
  auto endsWith = [&](const char *suffix) {
    size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return endsWith(".bias") || endsWith(".scale") || endsWith(".shift");
}

} // namespace

TrainResult train(const TrainConfig &config, std::ostream &log) {
  optim::Method method = optim::parseMethod(config.optimizer);
  Regularizer weightReg = parseRegularizer(config.regularizer);
  if (config.epochs < 1 || config.batchSize < 1 || config.evalBatchSize < 1)
    throw Error("train: epochs and batch sizes must be at least 1");

  std::ofstream report;
  if (!config.reportPath.empty()) {
    // A resumed run continues its report.
    report.open(config.reportPath,
                std::ios::out | (config.resumePath.empty() ? std::ios::trunc
                                                           : std::ios::app));
    if (!report)
      throw Error(fmt::format("train: cannot write the report '{}'",
                              config.reportPath));
  }

  data::DataSplits splits =
      config.dataset == "cifar10"
          ? data::loadCifar10(config.dataDir,
                              data::ChannelNormalization{
                                  {0.4914, 0.4822, 0.4465},
                                  {0.2023, 0.1994, 0.2010}},
                              config.seed, config.valFraction, config.trainLimit)
          : data::loadMnistLike(config.dataDir,
                                data::Normalization{config.mean, config.std},
                                config.seed, config.valFraction,
                                config.trainLimit);
  const int64_t features = splits.train.features();
  log << fmt::format("data: {} train, {} validation, {} test images of "
                     "{}x{}x{} from {}{}\n",
                     splits.train.count, splits.val.count, splits.test.count,
                     splits.train.channels, splits.train.rows, splits.train.cols,
                     config.dataDir,
                     config.dataset == "cifar10"
                         ? " (training batches augmented: random crop with "
                           "padding 4, horizontal flip)"
                         : "");

  std::unique_ptr<nn::Model> network = makeModel(config, splits.train);
  const nn::Model &model = *network;
  Params params = model.init(
      config.seed, nn::SparseInit{config.initP, config.initR,
                                  config.initBiasScale, config.initPerRow,
                                  config.initPerKernel});
  // Weights carry the regulariser, biases none (ALGORITHMS.md §7).
  optim::Group weightGroup{"weights", optim::weights(), weightReg, config.lr,
                           config.delta, config.lambda, config.momentum,
                           config.beta1, config.beta2, config.eps};
  weightGroup.lambda2 = config.lambda2;
  optim::Group biasGroup = weightGroup;
  biasGroup.name = "biases";
  biasGroup.selects = isUnregularized;
  biasGroup.regularizer = Regularizer::None;
  biasGroup.lambda = 0.0f;
  std::vector<optim::Group> groups;
  for (const std::string &spec : config.groups)
    groups.push_back(parseGroup(spec, weightGroup));
  // Convolution weights (4-D) form their own group, kernels as groups.
  std::set<std::string> convWeights;
  for (const auto &[name, t] : params)
    if (t.rank() == 4)
      convWeights.insert(name);
  if (!convWeights.empty()) {
    optim::Group convGroup = weightGroup;
    convGroup.name = "conv";
    convGroup.selects = [convWeights](const std::string &name) {
      return convWeights.count(name) > 0;
    };
    convGroup.regularizer = parseRegularizer(config.convRegularizer);
    groups.push_back(convGroup);
  }
  groups.push_back(weightGroup);
  groups.push_back(biasGroup);
  optim::Optimizer opt(method, groups);
  Params state = opt.init(params);
  Params buffers = model.initBuffers(); // running statistics of batch norm
  SparsityMeter meter(&opt);
  optim::ReduceLROnPlateau plateau;
  std::optional<optim::LambdaSchedule> lambdaSchedule;
  if (config.lambdaTarget > 0)
    lambdaSchedule = optim::LambdaSchedule{"weights", config.lambdaWarmup,
                                           config.lambdaCooldown,
                                           config.lambdaIncrement,
                                           config.lambdaTarget};
  std::vector<std::string> settings;
  for (const std::string &h : opt.hyperNames("weights"))
    settings.push_back(fmt::format("{} {}", h, opt.hyper(state, "weights", h)));
  log << fmt::format("model: {} ({} parameters), {} with {} on the "
                     "{}weights: {}; initial density {:.4f}\n",
                     model.describe(), params.numel(),
                     optim::methodName(method), config.regularizer,
                     convWeights.empty()
                         ? ""
                         : fmt::format("linear weights and {} on the conv ",
                                       config.convRegularizer),
                     fmt::join(settings, ", "),
                     meter.measure(params, state).netDensity);

  // The training step: forward, backward and every update in one call;
  // params and state are donated, so they are updated in place.
  // `masks` is empty except when retraining after pruning: then the pruned
  // weights are held at zero after every update (its own compilation).
  auto step = jit(
      [&](const Params &p, const Params &s, const Params &b, const Tensor &x,
          const Tensor &y, const Params &masks) {
        Params updatedBuffers;
        auto [loss, logits, grads] = valueAndGrad([&](const Params &q) {
          nn::Mode mode{/*training=*/true, &b, &updatedBuffers};
          Tensor out = model.forward(q, x, mode);
          return std::make_pair(crossEntropy(out, y), out);
        })(p);
        auto [p2, s2] = opt.update(p, s, grads);
        for (const auto &[name, mask] : masks)
          p2.set(name, p2.at(name) * mask);
        // Buffers the forward pass did not update are returned as they are.
        for (const auto &[name, t] : b)
          if (!updatedBuffers.contains(name))
            updatedBuffers.add(name, t);
        return std::make_tuple(p2, s2, updatedBuffers, loss,
                               countCorrect(logits, y));
      },
      JitOptions{{0, 1, 2}, "train_step", config.device, config.cudaChip});
  Params masks;
  auto evaluate = jit(
      [&](const Params &p, const Params &b, const Tensor &x, const Tensor &y) {
        nn::Mode mode{/*training=*/false, &b, nullptr};
        return countCorrect(model.forward(p, x, mode), y);
      },
      JitOptions{{}, "evaluate", config.device});

  auto accuracy = [&](const data::Dataset &ds) {
    if (ds.count == 0)
      return 0.0;
    data::Batcher batcher(ds, config.evalBatchSize, /*shuffle=*/false, 0);
    BatchFeeder feeder(batcher, config.evalBatchSize, features);
    double correct = 0;
    while (const auto *batch = feeder.next())
      correct += evaluate(params, buffers, batch->first, batch->second).item();
    return correct / static_cast<double>(ds.count);
  };

  TrainResult result;
  data::Batcher batcher(splits.train, config.batchSize, /*shuffle=*/true,
                        config.seed);
  if (config.dataset == "cifar10")
    batcher.setAugmentation(data::Augmentation{4, true});
  Prefetcher feeder(batcher, features);
  double bestVal = -1, bestDensity = 0;
  int totalEpochs =
      config.epochs + (config.pruneDensity > 0 ? config.retrainEpochs : 0);
  int firstEpoch = 1;
  if (!config.resumePath.empty()) {
    if (config.pruneDensity > 0)
      throw Error("train: --resume does not support the pruning baseline "
                  "(--prune-density)");
    Checkpoint checkpoint = loadCheckpoint(config.resumePath);
    nlohmann::json meta = nlohmann::json::parse(checkpoint.metadata);
    if (meta.value("model", "") != model.describe() ||
        meta.value("optimizer", "") != config.optimizer)
      throw Error(fmt::format("--resume {}: the checkpoint is of '{}' with {}, "
                              "this run is '{}' with {}",
                              config.resumePath, meta.value("model", "?"),
                              meta.value("optimizer", "?"), model.describe(),
                              config.optimizer));
    restoreTensors(params, checkpoint.section("params"), "parameter",
                   config.resumePath);
    restoreTensors(state, checkpoint.section("state"), "optimizer state",
                   config.resumePath);
    restoreTensors(buffers, checkpoint.section("buffers"), "buffer",
                   config.resumePath);
    plateau.restore({meta["plateau"]["best"], meta["plateau"]["started"],
                     meta["plateau"]["bad_epochs"]});
    firstEpoch = meta["epoch"].get<int>() + 1;
    bestVal = meta["best"]["val_acc"];
    bestDensity = meta["best"]["density"];
    result.bestEpoch = meta["best"]["epoch"];
    result.bestTestAcc = meta["best"]["test_acc"];
    result.bestParams = copyParams(checkpoint.section("best"));
    log << fmt::format("resumed from {} after epoch {}\n", config.resumePath,
                       firstEpoch - 1);
  }
  // Writes everything a resumed run needs; only finite parameters are ever
  // saved, so the last checkpoint is a good one.
  auto writeCheckpoint = [&](int epoch) {
    nlohmann::json meta = {
        {"epoch", epoch},
        {"model", model.describe()},
        {"optimizer", config.optimizer},
        {"seed", config.seed},
        {"plateau", {{"best", plateau.memory().best},
                     {"started", plateau.memory().started},
                     {"bad_epochs", plateau.memory().badEpochs}}},
        {"best", {{"val_acc", bestVal},
                  {"epoch", result.bestEpoch},
                  {"test_acc", result.bestTestAcc},
                  {"density", bestDensity}}}};
    Checkpoint checkpoint;
    checkpoint.metadata = meta.dump();
    checkpoint.sections = {{"params", params},
                           {"state", state},
                           {"buffers", buffers},
                           {"best", result.bestParams}};
    saveCheckpoint(config.checkpointPath, checkpoint);
  };
  int64_t stepsBefore = 0;
  for (int epoch = firstEpoch; epoch <= totalEpochs; ++epoch) {
    if (config.pruneDensity > 0 && epoch == config.epochs + 1) {
      masks = magnitudePruneMasks(params, config.pruneDensity,
                                  config.pruneGroups ? PruneStructure::Groups
                                                     : PruneStructure::Unstructured);
      applyMasks(params, masks);
      bestVal = -1; // the baseline's result is the retrained model
      log << fmt::format("pruned {} to density {:.4f}; retraining the "
                         "survivors for {} epochs\n",
                         config.pruneGroups ? "rows" : "weights",
                         meter.measure(params, state).netDensity,
                         config.retrainEpochs);
    }
    auto start = std::chrono::steady_clock::now();
    feeder.startEpoch(epoch);
    if (!config.saveStepPath.empty()) {
      // The step for the first batch, written ahead of time with the
      // initial state; no training.
      const auto *batch = feeder.next();
      if (!batch)
        throw Error("--save-step: the training set is empty");
      // How bregman-run --data feeds it: the data set as loaded here, the
      // batch inputs and the loss / correct-count outputs (by position).
      size_t stateLeaves = params.size() + state.size() + buffers.size();
      size_t outputsBefore = stateLeaves; // (params, state, buffers) out
      nlohmann::json training = {
          {"dataset", config.dataset},
          {"data_dir", config.dataDir},
          {"mean", config.mean},
          {"std", config.std},
          {"seed", config.seed},
          {"val_fraction", config.valFraction},
          {"train_limit", config.trainLimit},
          {"batch_size", config.batchSize},
          {"x_input", stateLeaves},
          {"y_input", stateLeaves + 1},
          {"loss_output", outputsBefore},
          {"correct_output", outputsBefore + 1}};
      step.setArtifactMetadata(training.dump());
      step.save(config.saveStepPath, params, state, buffers, batch->first,
                batch->second, masks);
      log << fmt::format("saved the training step ({}, batch {}) to {}\n",
                         deviceName(config.device), batch->first.dim(0),
                         config.saveStepPath);
      return result;
    }
    ProgressBar bar(config.progress, epoch, totalEpochs,
                    batcher.batchesPerEpoch());
    double lossSum = 0, correct = 0;
    int64_t seen = 0, batches = 0;
    std::vector<float> batchLoss;
    // BREGMAN_PROFILE=1: where the training steps' time goes, per epoch.
    runtime::ProfileCounters &profile = runtime::profileCounters();
    profile.reset();
    std::atomic<int64_t> dataNs{0}, stepNs{0};
    auto nextBatch = [&] {
      runtime::ProfileScope timed(dataNs);
      return feeder.next();
    };
    // On a device, a step's loss and correct count are read after the next
    // step has been queued, so the host queues step k+1 while the device
    // runs step k (reading the values waits for the device).
    struct Pending {
      Tensor loss, hits;
      int64_t n, step;
    };
    std::optional<Pending> pending;
    auto settle = [&](const Pending &p) {
      double l = p.loss.item();
      if (!std::isfinite(l)) {
        std::string culprit = firstNonFinite(params);
        throw Error(fmt::format(
            "train: the loss became {} at step {} (epoch {}, batch {}){}; "
            "lower the learning rate{}",
            l, p.step, epoch, p.step - stepsBefore,
            culprit.empty() ? "" : "; after it parameter " + culprit,
            config.checkpointPath.empty()
                ? ""
                : "; the last checkpoint " + config.checkpointPath +
                      " (a good state) is kept"));
      }
      lossSum += l * p.n;
      batchLoss.push_back(static_cast<float>(l));
      correct += p.hits.item();
      seen += p.n;
      bar.update(p.step - stepsBefore, lossSum / seen);
    };
    bool pipelined = config.device != Device::Cpu;
    while (const auto *batch = nextBatch()) {
      int64_t n = batch->first.dim(0);
      runtime::ProfileScope timedStep(stepNs);
      auto [p2, s2, b2, loss, hits] =
          step(params, state, buffers, batch->first, batch->second, masks);
      params = p2;
      state = s2;
      buffers = b2;
      ++batches;
      if (pending)
        settle(*pending);
      pending = Pending{loss, hits, n, stepsBefore + batches};
      if (!pipelined) {
        settle(*pending);
        pending.reset();
      }
    }
    if (pending)
      settle(*pending);
    bar.finish();
    if (runtime::profilingEnabled()) {
      // Counters cover the training steps only (evaluation comes after).
      double ms = 1e-6, steps = std::max<int64_t>(batches, 1);
      double gemm = profile.gemmNs * ms, call = profile.compiledCallNs * ms;
      double conv = profile.convNs * ms;
      log << fmt::format(
          "  profile: {} steps, {:.3f} ms/step = compiled code {:.3f} (GEMM "
          "library {:.3f} in {} calls, convolution library {:.3f} in {} "
          "calls, generated code {:.3f}) + jit dispatch and host {:.3f}; data "
          "loading {:.3f} ms/step{}\n",
          batches, stepNs * ms / steps, call / steps, gemm / steps,
          profile.gemmCalls.load() / std::max<int64_t>(batches, 1),
          conv / steps, profile.convCalls.load() / std::max<int64_t>(batches, 1),
          (call - gemm - conv) / steps, (stepNs * ms - call) / steps,
          dataNs * ms / steps,
          epoch == 1 ? " (host time includes the first step's compilation)"
                     : "");
    }
    EpochMetrics m;
    m.epoch = epoch;
    m.trainLoss = lossSum / seen;
    m.trainAcc = correct / seen;
    m.valAcc = accuracy(splits.val);
    m.testAcc = accuracy(splits.test);
    SparsityReport sparsity = meter.measure(params, state);
    m.netDensity = sparsity.netDensity;
    m.nodeDensity = sparsity.nodeDensity;
    m.kernelDensity = sparsity.kernelDensity;
    m.batchLoss = std::move(batchLoss);
    m.lr = opt.hyper(state, "weights", "lr");
    if (state.contains("hyper/weights/lambda"))
      m.lambda = opt.hyper(state, "weights", "lambda");
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              start)
                    .count();
    // Without a validation split every epoch counts as the best so far, so
    // the best model is the last one (never silently epoch 1).
    if (m.valAcc > bestVal || splits.val.count == 0) {
      // Best-model tracking: a host copy of the parameters at the best
      // validation accuracy (the only whole-tensor copy, and only then).
      bestVal = m.valAcc;
      bestDensity = m.netDensity;
      result.bestEpoch = epoch;
      result.bestTestAcc = m.testAcc;
      result.bestParams = copyParams(params);
    }
    auto densities = [](const std::vector<double> &values) {
      std::vector<std::string> text;
      for (double d : values)
        text.push_back(fmt::format("{:.3f}", d));
      return fmt::format("{}", fmt::join(text, " "));
    };
    log << fmt::format("epoch {:>3}/{}  train loss {:.4f} acc {:.2f}%  val "
                       "{:.2f}%  test {:.2f}%  density {:.4f}  {}nodes [{}]  "
                       "{:.1f}s\n",
                       epoch, totalEpochs, m.trainLoss, 100 * m.trainAcc,
                       100 * m.valAcc, 100 * m.testAcc, m.netDensity,
                       m.kernelDensity.empty()
                           ? ""
                           : "kernels [" + densities(m.kernelDensity) + "]  ",
                       densities(m.nodeDensity), m.seconds);
    if (report) {
      nlohmann::json line = {{"epoch", m.epoch},
                             {"train_loss", m.trainLoss},
                             {"train_acc", m.trainAcc},
                             {"val_acc", m.valAcc},
                             {"test_acc", m.testAcc},
                             {"net_density", m.netDensity},
                             {"linear_density", sparsity.linearDensity},
                             {"node_density", m.nodeDensity},
                             {"seconds", m.seconds},
                             {"optimizer", config.optimizer},
                             {"phase", masks.empty() ? "train" : "retrain"},
                             {"regularizer", config.regularizer}};
      if (!sparsity.kernelDensity.empty()) {
        line["conv_density"] = sparsity.convDensity;
        line["kernel_density"] = sparsity.kernelDensity;
      }
      for (const auto &[group, value] : sparsity.regularizerValue)
        line["reg_value"][group] = value;
      for (const std::string &h : opt.hyperNames("weights"))
        line[h] = opt.hyper(state, "weights", h);
      report << line.dump() << "\n";
      report.flush();
    }
    // Schedules act on the state's scalars: no recompilation.
    if (config.lrPlateau && plateau.update(opt, m.trainLoss, state))
      log << fmt::format("  learning rate reduced to {}\n",
                         opt.hyper(state, "weights", "lr"));
    if (lambdaSchedule &&
        lambdaSchedule->update(opt, epoch,
                               groupDensity(sparsity, opt, lambdaSchedule->group),
                               params, state))
      log << fmt::format("  lambda set to {} (density {:.4f}, target {}); v "
                         "re-initialized\n",
                         opt.hyper(state, "weights", "lambda"),
                         groupDensity(sparsity, opt, "weights"),
                         config.lambdaTarget);
    stepsBefore += batches;
    if (std::string culprit = firstNonFinite(params); !culprit.empty())
      throw Error(fmt::format("train: after epoch {} parameter {}{}", epoch,
                              culprit,
                              config.checkpointPath.empty()
                                  ? ""
                                  : "; the last checkpoint " +
                                        config.checkpointPath + " is kept"));
    if (!config.checkpointPath.empty())
      writeCheckpoint(epoch);
    log.flush();
    result.epochs.push_back(m);
  }
  result.compileSeconds = 0;
  result.stepCompilations = step.compileCount();
  result.params = params;
  log << fmt::format("best validation accuracy {:.2f}% at epoch {}: test "
                     "accuracy {:.2f}%, density {:.4f}; {} step "
                     "compilation(s), {:.2f}s compiling\n",
                     100 * bestVal, result.bestEpoch, 100 * result.bestTestAcc,
                     bestDensity,
                     step.compileCount(),
                     step.compileSeconds() + evaluate.compileSeconds());
  result.compileSeconds = step.compileSeconds() + evaluate.compileSeconds();
  if (!config.exportPath.empty()) {
    auto *imported = dynamic_cast<const onnx::OnnxNetwork *>(&model);
    if (!imported)
      throw Error("train: --export writes ONNX models that were imported "
                  "(retrain); this model was built in the DSL");
    // The best model's weights under their ONNX names; buffers unchanged.
    Params byOnnxName;
    for (const auto &[name, t] : result.bestParams)
      byOnnxName.add(imported->onnxNames().at(name), t);
    int64_t bytes = imported->model().save(config.exportPath, byOnnxName,
                                           config.exportSparse);
    result.exportedBytes = bytes;
    log << fmt::format("exported the best model (epoch {}) to {}: {} bytes{}\n",
                       result.bestEpoch, config.exportPath, bytes,
                       config.exportSparse ? " with sparse initializers" : "");
  }
  if (config.threshold > 0) {
    // Lasso / LinBreg + thresholding: zero the best model's small weights.
    Params thresholded = copyParams(result.bestParams);
    int64_t zeroed = thresholdWeights(thresholded, config.threshold);
    std::swap(params, thresholded);
    result.thresholdedTestAcc = accuracy(splits.test);
    result.thresholdedDensity = meter.measure(params).netDensity;
    std::swap(params, thresholded);
    log << fmt::format("thresholding |θ| < {} zeroed {} weights: test "
                       "accuracy {:.2f}%, density {:.4f}\n",
                       config.threshold, zeroed,
                       100 * result.thresholdedTestAcc,
                       result.thresholdedDensity);
  }
  return result;
}

} // namespace bregman::train
