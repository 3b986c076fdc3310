//===- Trainer.cpp - The training program of `bregman train` --------------===//
//
// The Trainer owns a run: the data, the model, the optimizer, their state,
// the compiled step and evaluation. Step, evaluation and the epoch are
// separate methods; checkpoints, baselines, reports and the export are
// their own units beside this file.
//
//===----------------------------------------------------------------------===//

#include "bregman/train/Trainer.h"

#include "Baselines.h"
#include "Batches.h"
#include "Checkpointing.h"
#include "Export.h"
#include "ParamsUtil.h"
#include "ProgressBar.h"
#include "RunFiles.h"
#include "SaveInference.h"
#include "SparseStepCheck.h"
#include "bregman/bregman.h"
#include "bregman/data/Dataset.h"
#include "bregman/models/Zoo.h"
#include "bregman/onnx/OnnxNetwork.h"
#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/Device.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/Profile.h"
#include "bregman/train/Report.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <ostream>

namespace bregman::train {

namespace {

/// What a batch is scored on. A classifier reads x and is scored against
/// the labels y (cross-entropy; correct count). A restoration model's x
/// holds two images per example, the corrupted input and the clean target
/// (data::restorationPairs); it reads the first and is scored against the
/// second (mean squared error; the sum of the images' SSIM).
struct Objective {
  bool restoration = false;
  models::InputShape image; // of the model's input

  Tensor input(const Tensor &x) const {
    return restoration ? slice(x, 1, 0, image.features()) : x;
  }
  Tensor target(const Tensor &x) const {
    return slice(x, 1, image.features(), image.features());
  }
  Tensor asImages(const Tensor &t) const {
    return reshape(t, {t.dim(0), image.channels, image.rows, image.cols});
  }
  Tensor loss(const Tensor &out, const Tensor &x, const Tensor &y) const {
    if (!restoration)
      return crossEntropy(out, y);
    Tensor error = out - target(x);
    return mean(error * error);
  }
  Tensor score(const Tensor &out, const Tensor &x, const Tensor &y) const {
    if (!restoration)
      return countCorrect(out, y);
    return sum(ssim(asImages(out), asImages(target(x))));
  }
};

/// The model's sparse filters; under --sparse-exec auto each with the height
/// and width of its layer's input (the forward pass traced once on a batch
/// of `features` values), where its crossover is measured. A model whose
/// trace fails here keeps the calibration's own sizes (the step reports
/// the failure itself, if it is one).
nn::SparseFilters sparseFiltersOf(const TrainConfig &c, const nn::Model &model,
                                  const Params &params, const Params &buffers,
                                  int64_t features, std::ostream &log) {
  nn::SparseFilters filters = model.sparseFilters();
  if (c.sparseExec != nn::SparseExec::Auto || filters.empty())
    return filters;
  nn::SparseFilters sized = filters;
  try {
    nn::addFilterInputSizes(
        sized, {params, buffers, Params{{"x", Tensor::zeros({c.batchSize, features})}}},
        [&model](const std::vector<Params> &in) {
          nn::Mode mode{/*training=*/false, &in[1], nullptr, {}};
          model.forward(in[0], in[2].at("x"), mode);
        });
  } catch (const Error &e) {
    log << fmt::format("sparse execution: the convolutions' input sizes are not "
                       "known ({}); their crossovers are measured on 16x16 "
                       "samples\n",
                       e.what());
    return filters;
  }
  return sized;
}

/// The training step: forward, backward and every update in one call.
/// `masks` is empty except when retraining after pruning: then the pruned
/// weights are held at zero after every update (its own compilation).
/// `csr` holds the CSR of the weights whose linear layers run sparse
/// (--sparse-exec; nn::csrKeys): their forward and input gradient read it,
/// and the step returns the CSR of the updated weights for the next step
/// (breg.compress_rows), so no host pass builds it. Which layers have one is
/// part of the compiled signature. `x` is the batch [N, features], or
/// [features, N] when its second dimension is y's first and its first is
/// not (the loader writes it
/// so for a model whose input layer runs feature-major on its CSR:
/// nn::Model::inputLinearWeight).
struct TrainStep {
  const nn::Model *model;
  const optim::Optimizer *opt;
  Objective objective;

  auto operator()(const Params &p, const Params &s, const Params &b,
                  const Params &csr, const Tensor &batch, const Tensor &y,
                  const Params &masks) const {
    bool featureMajor = batch.rank() == 2 && y.rank() >= 1 &&
                        batch.dim(1) == y.dim(0) && batch.dim(0) != y.dim(0);
    Tensor x = featureMajor ? transpose(batch, {1, 0}) : batch;
    Params updatedBuffers;
    auto [loss, out, grads] = valueAndGrad([&](const Params &q) {
      nn::Mode mode{/*training=*/true, &b, &updatedBuffers, {}};
      Params withCsr = q; // the CSR is read, never differentiated
      for (const auto &[name, t] : csr)
        withCsr.add(name, t);
      Tensor out = model->forward(withCsr, objective.input(x), mode);
      return std::make_pair(objective.loss(out, x, y), out);
    })(p);
    auto [p2, s2] = opt->update(p, s, grads);
    for (const auto &[name, mask] : masks)
      p2.set(name, p2.at(name) * mask);
    Params csr2 = nn::recompressWeights(p2, csr);
    // In the order they came in (the next step's signature is this one's),
    // the ones the forward pass did not update as they are.
    Params b2;
    for (const auto &[name, t] : b)
      b2.add(name, updatedBuffers.contains(name) ? updatedBuffers.at(name) : t);
    for (const auto &[name, t] : updatedBuffers)
      if (!b.contains(name))
        b2.add(name, t);
    return std::make_tuple(p2, s2, b2, csr2, loss, objective.score(out, x, y));
  }
};

/// The score of a batch (correct count, or SSIM sum), in evaluation mode.
struct EvaluateStep {
  const nn::Model *model;
  Objective objective;

  Tensor operator()(const Params &p, const Params &b, const Tensor &x,
                    const Tensor &y) const {
    nn::Mode mode{/*training=*/false, &b, nullptr, {}};
    return objective.score(model->forward(p, objective.input(x), mode), x, y);
  }
};

/// The score of the corrupted inputs themselves against their targets (the
/// SSIM a restoration model has to beat).
struct InputScoreStep {
  Objective objective;

  Tensor operator()(const Tensor &x) const {
    return sum(ssim(objective.asImages(objective.input(x)),
                    objective.asImages(objective.target(x))));
  }
};

/// A restoration task's splits: images in [0, 1] (the model normalizes its
/// input itself), each with its corrupted copy drawn once.
data::DataSplits restorationSplits(const TrainConfig &c) {
  if (c.dataset == "cifar10")
    throw Error(fmt::format("--task {}: restoration runs on MNIST-like data "
                            "sets (fashion-mnist, mnist), not cifar10",
                            *c.task));
  data::DataSplits clean = data::loadMnistLike(
      *c.dataDir, data::Normalization{0.0, 1.0}, c.seed, c.valFraction,
      c.trainLimit);
  data::Corruption corruption;
  corruption.blur = *c.task == "deblur";
  corruption.noiseStd = c.noiseStd;
  return {data::restorationPairs(clean.train, corruption, c.seed * 3 + 1),
          data::restorationPairs(clean.val, corruption, c.seed * 3 + 2),
          data::restorationPairs(clean.test, corruption, c.seed * 3 + 3)};
}

data::DataSplits loadSplits(const TrainConfig &c) {
  if (isRestoration(c))
    return restorationSplits(c);
  if (c.dataset == "cifar10")
    return data::loadCifar10(*c.dataDir,
                             data::ChannelNormalization{
                                 {0.4914, 0.4822, 0.4465},
                                 {0.2023, 0.1994, 0.2010}},
                             c.seed, c.valFraction, c.trainLimit);
  return data::loadMnistLike(*c.dataDir, data::Normalization{*c.mean, *c.std},
                             c.seed, c.valFraction, c.trainLimit);
}

/// The splits, refusing an empty training set (its loss would be 0/0 and
/// the run would "succeed" with nothing learnt).
data::DataSplits loadData(const TrainConfig &c) {
  data::DataSplits splits = loadSplits(c);
  if (c.testLimit >= 0 && c.testLimit < splits.test.count) {
    std::vector<int64_t> first(static_cast<size_t>(c.testLimit));
    std::iota(first.begin(), first.end(), int64_t{0});
    splits.test = data::selectExamples(splits.test, first);
  }
  if (splits.train.count == 0)
    throw Error(fmt::format(
        "train: the training set is empty: {} training images from {}{}, {} "
        "of them held out for validation (validation fraction {}), 0 left",
        splits.val.count, *c.dataDir,
        c.trainLimit >= 0 ? fmt::format(" after --train-limit {}", c.trainLimit)
                          : "",
        splits.val.count, c.valFraction));
  // The best epoch is chosen on the validation set: with none, every epoch
  // would score 0 and the choice be meaningless.
  if (splits.val.count == 0 && c.valFraction > 0)
    throw Error(fmt::format(
        "train: no validation images: {} training images{} and a validation "
        "fraction of {} hold out none; use at least {} images",
        splits.train.count, c.trainLimit >= 0 ? " (--train-limit)" : "",
        c.valFraction,
        // The split holds out llround(fraction · n) images.
        static_cast<int64_t>(std::ceil(0.5 / c.valFraction - 1e-9))));
  return splits;
}

/// Refuses an imported model whose output is not [N, classes]: the loss
/// would index logits that do not exist, or ignore classes.
void checkOutputWidth(const TrainConfig &config, const onnx::OnnxModel &model,
                      int64_t classes) {
  if (model.outputs().size() != 1)
    return; // OnnxNetwork says what is wrong with the outputs
  const onnx::ValueSpec &out = model.outputs().front();
  if (out.shape.size() != 2 || out.shape[1] != classes)
    throw Error(fmt::format("{}: output '{}' has shape {}, but the data set "
                            "has {} classes: the model must output [N, {}]",
                            config.onnxPath, out.name, shapeString(out.shape),
                            classes, classes));
}

/// What the model reads of an example of `ds`: the whole example, or for
/// a restoration task its first half (the corrupted image).
models::InputShape modelInput(const TrainConfig &config,
                              const data::Dataset &ds) {
  int64_t channels = isRestoration(config) ? ds.channels / 2 : ds.channels;
  return models::InputShape{channels, ds.rows, ds.cols, ds.classes};
}

/// An ONNX model imported for retraining, before the data set is loaded:
/// what is wrong with the file or with --freeze is said first.
struct ImportedOnnx {
  std::shared_ptr<onnx::OnnxModel> model;
  std::unique_ptr<onnx::OnnxNetwork> network;
};

ImportedOnnx importOnnx(const TrainConfig &config) {
  if (config.onnxPath.empty())
    return {};
  auto onnxModel = std::make_shared<onnx::OnnxModel>(
      onnx::OnnxModel::load(config.onnxPath));
  auto network = std::make_unique<onnx::OnnxNetwork>(
      onnxModel, config.onnxPath, config.fromPretrained,
      onnx::RetrainOptions{config.trainOperands, config.freeze, config.unfreeze});
  return {std::move(onnxModel), std::move(network)};
}

/// The network `config.model` (or the imported ONNX model) for the
/// examples of `ds` (flattened images).
std::unique_ptr<nn::Model> makeModel(const TrainConfig &config,
                                     const data::Dataset &ds,
                                     ImportedOnnx imported) {
  if (imported.network) {
    checkOutputWidth(config, *imported.model, ds.classes);
    return std::move(imported.network);
  }
  models::ModelOptions options;
  options.hidden = config.hidden;
  options.convnetWidths = config.convnetWidths;
  options.width = config.width;
  options.inputMean = *config.mean;
  options.inputStd = *config.std;
  return models::makeModel(config.model, modelInput(config, ds), options);
}

/// Tensors of a parameter's size a training step holds: the parameter, its
/// gradient and the optimizer's state (optim.h: v; m with momentum; Adam's
/// two moments).
int tensorsPerParameter(const TrainConfig &c) {
  switch (optim::parseMethod(c.optimizer)) {
  case optim::Method::LinBreg:
    return 3 + (c.momentum > 0);
  case optim::Method::AdaBreg:
    return 5;
  case optim::Method::ProxSGD:
    return 2;
  case optim::Method::SGD:
    return 2 + (c.momentum > 0);
  case optim::Method::Adam:
    return 4;
  }
  return 5;
}

/// The MLP's layer widths for these options (models/Mlp.cpp): the input's
/// features, the hidden widths, the classes (a restoration task outputs the
/// image).
std::vector<long double> mlpWidths(const TrainConfig &c, long double features) {
  std::vector<long double> widths{features};
  for (int64_t h : c.hidden)
    widths.push_back(static_cast<long double>(h));
  widths.push_back(isRestoration(c) ? features : 10);
  return widths;
}

/// Checks that the model and the batches the options ask for fit in memory,
/// before the data are loaded or anything is allocated. The MLP's sizes are
/// its own: every layer's weights and biases, times the tensors a step keeps
/// per parameter; per example the input, every layer's output (a hidden
/// layer's before and after ReLU), each with its gradient. The convolutional
/// models' are estimated (about 3000·width² parameters, a first-stage
/// feature map per example).
void checkSizes(const TrainConfig &c) {
  long double features = c.dataset == "cifar10" ? 3072 : 784, perExample = 2 * features;
  std::string hidden = fmt::format("{}", fmt::join(c.hidden, ","));
  int copies = tensorsPerParameter(c);
  if (c.onnxPath.empty() && c.model == "mlp") {
    std::vector<long double> widths = mlpWidths(c, features);
    long double params = 0;
    for (size_t i = 1; i < widths.size(); ++i) {
      params += widths[i - 1] * widths[i] + widths[i];
      perExample += 2 * widths[i] * (i + 1 < widths.size() ? 2 : 1);
    }
    runtime::requireAllocation<Error>(
        params * copies, 4,
        fmt::format("train: --hidden {}: the MLP's {:.0f} parameters ({} tensors of "
                    "their size: parameters, gradients, {} state)",
                    hidden, params, copies, c.optimizer));
  } else if (c.onnxPath.empty()) {
    // ResNet-18 at width 64 has 11.2 M parameters, ~2730 w²; VGG fewer.
    long double w = static_cast<long double>(std::max(c.width, c.convnetWidths[2]));
    runtime::requireAllocation<Error>(
        3000 * w * w * copies, 4,
        fmt::format("train: --width {}: the model's parameters", c.width));
    perExample += 2 * w * 1024; // a feature map of the first stage, and its gradient
  }
  for (auto [option, size] : {std::pair{"--batch-size", c.batchSize},
                              std::pair{"--eval-batch-size", c.evalBatchSize}})
    runtime::requireAllocation<Error>(
        static_cast<long double>(size) * perExample, 4,
        fmt::format("train: {} {}: one batch of images and activations", option, size));
}

TrainConfig checked(const TrainConfig &config) {
  // resolveDefaults validates every setting (validateConfig).
  TrainConfig c = resolveDefaults(config);
  optim::parseMethod(c.optimizer);
  parseRegularizer(*c.regularizer);
  // Checked now for every model (they were read only where a group used
  // them, so a misspelt one passed on an MLP).
  for (const auto &[option, name] :
       {std::pair<const char *, const std::optional<std::string> &>{
            "--conv-reg", c.convRegularizer},
        {"--head-reg", c.headRegularizer}})
    if (name && !name->empty())
      try {
        parseRegularizer(*name);
      } catch (const Error &e) {
        throw Error(fmt::format("{} {}: {}", option, *name, e.what()));
      }
  // --export writes an imported model: said before training, not after.
  if (!c.exportPath.empty() && c.onnxPath.empty())
    throw Error(fmt::format("--export {}: writes ONNX models that were "
                            "imported (retrain); this model is built in the "
                            "DSL",
                            c.exportPath));
  checkSizes(c);
  // Before the data is read and the model trained, not after it.
  if (std::string problem = saveInferenceProblem(c); !problem.empty())
    throw Error(problem);
  checkOutputFiles(c);
  return c;
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

/// What an epoch's training steps add up to.
struct EpochTotals {
  double lossSum = 0, correct = 0;
  int64_t seen = 0, batches = 0;
  std::vector<float> batchLoss;
};

} // namespace

struct Trainer::Impl {
  Impl(const TrainConfig &config, std::ostream &log);

  std::pair<Tensor, Tensor> step(const Tensor &x, const Tensor &y);
  /// Chooses the training step's sparse layers by the weights' densities
  /// now (--sparse-exec; the threshold nn::kSparseExecTrainAutoDensity) and,
  /// when the choice changed, builds their CSR on the host: a new step is
  /// compiled then. Otherwise the CSR the last step returned is kept.
  void refreshTrainingCsr();
  /// Whether the training batches come as [features, N]: the model's input
  /// layer runs feature-major on its CSR in the step (see TrainStep).
  bool featureMajorBatches() const;
  double evaluate(const data::Dataset &ds) { return accuracy(params, buffers, ds); }
  double accuracy(const Params &p, const Params &b, const data::Dataset &ds);
  EpochMetrics runEpoch(int epoch);
  double inputScore(const data::Dataset &ds);
  /// The first evaluation batch of the test set (--save-infer's example).
  Tensor firstTestBatch() {
    data::Batcher testBatcher(splits.test, config.evalBatchSize, /*shuffle=*/false, 0);
    BatchFeeder testFeeder(testBatcher, config.evalBatchSize, features);
    const auto *batch = testFeeder.next();
    if (!batch)
      throw Error("--save-infer: the test set is empty");
    return batch->first;
  }
  void logArchitecture(int epoch) const;
  /// "accuracy 91.20%", or for a restoration task "SSIM 0.8123".
  std::string scoreText(double score) const;
  void thresholdBaseline(TrainResult &result);
  void logSetup() const;
  /// What an imported model's run should know: plain operands it trains,
  /// batch sizes read into its reshapes (onnx::OnnxModel::batchGuessNote).
  void logImportNotes() const;
  void logLambdaScheduleWithAdaBreg() const;
  void resume();
  EpochTotals trainBatches(int epoch);
  void logProfile(int epoch, int64_t batches, double stepNs, double dataNs) const;
  /// With profiling and --sparse-exec: which layers ran on their CSR.
  void logSparseProfile() const;
  /// With profiling: where the compilations' time went.
  void logCompileProfile() const;
  EpochMetrics measure(int epoch, const EpochTotals &totals,
                       SparsityReport &sparsity);
  void track(const EpochMetrics &m);
  void applySchedules(int epoch, const EpochMetrics &m,
                      const SparsityReport &sparsity);
  void checkFinite(int epoch) const;
  std::string keptCheckpoint(const char *what) const;
  RunState runState() {
    return RunState{model->describe(), dataPrint, params, state,
                    buffers,           masks,     best,   plateau};
  }
  int totalEpochs() const {
    return config.epochs + (config.pruneDensity > 0 ? config.retrainEpochs : 0);
  }

  /// The process's compilations before this trainer's (first member: taken
  /// before the optimizer's init compiles).
  const CompileTotals compilesBefore = processCompileTotals();
  const TrainConfig config;
  /// Taken before anything is read: a second run on one --checkpoint stops
  /// at once.
  const CheckpointLock checkpointLock;
  /// Opened and locked as early (a refused run removes the file it made).
  ReportWriter report;
  std::ostream &log;
  /// The ONNX model to retrain (empty for a zoo model), moved into `model`.
  ImportedOnnx imported;
  const data::DataSplits splits;
  /// dataFingerprint(splits) where checkpoints are written or read.
  const std::string dataPrint;
  const int64_t features;
  const std::unique_ptr<nn::Model> model;
  /// The zoo's entry of the model (nullptr for an imported one).
  const models::ZooEntry *zooEntry;
  const Objective objective;
  Params params;
  const optim::Optimizer opt;
  Params state, buffers, masks;
  /// The filters its convolutions can run on their CSR (asked once: an
  /// imported model reads them off its graph); under --sparse-exec auto
  /// each with its layer's input size, at which its crossover is measured.
  const nn::SparseFilters sparseFilters;
  SparsityMeter meter;
  optim::ReduceLROnPlateau plateau;
  std::optional<optim::LambdaSchedule> lambdaSchedule;
  Jitted<TrainStep> stepFn;
  Jitted<EvaluateStep> evaluateFn;
  /// The layers the last evaluation ran on their CSR (printed on change).
  std::vector<std::string> lastSparseLayers;
  /// The training step's CSR (nn::csrKeys) of the weights whose layers run
  /// sparse in it, carried from step to step, and those weights' names.
  Params trainCsr;
  std::vector<std::string> trainSparseLayers;
  /// This epoch's training batches come as [features, N] (featureMajorBatches).
  bool batchesFeatureMajor = false;
  Jitted<InputScoreStep> inputScoreFn;
  /// Restoration: the test SSIM of the corrupted inputs themselves.
  double corruptedTestScore = 0;
  data::Batcher batcher;
  Prefetcher feeder;
  BestModel best;
  int firstEpoch = 1;
  int lastEpoch = 0; // the last epoch run (or restored): runEpoch's order
  /// Whether config.checkpointPath holds a checkpoint of this run (written
  /// after an epoch, or the one resumed from when it is the same file).
  bool haveCheckpoint = false;
  int64_t stepsBefore = 0; // training steps of the epochs before
  int64_t stepsTaken = 0;  // of the run, this one included (--check-sparse)
  SparseStepCheck sparseCheck;
};

Trainer::Impl::Impl(const TrainConfig &given, std::ostream &log)
    : config(checked(given)), checkpointLock(config.checkpointPath),
      report(config.reportPath, /*append=*/!config.resumePath.empty()),
      log(log), imported(importOnnx(config)), splits(loadData(config)),
      dataPrint(config.checkpointPath.empty() && config.resumePath.empty()
                    ? ""
                    : dataFingerprint(splits)),
      features(splits.train.features()),
      model(makeModel(config, splits.train, std::move(imported))),
      zooEntry(config.onnxPath.empty() ? &models::zooEntry(config.model)
                                       : nullptr),
      objective{isRestoration(config), modelInput(config, splits.train)},
      params(model->init(config.seed, sparseInit(config))),
      opt(optim::parseMethod(config.optimizer),
          parameterGroups(config, params)),
      state(opt.init(params)),
      buffers(model->initBuffers()), // running statistics of batch norm
      sparseFilters(sparseFiltersOf(config, *model, params, buffers,
                                    objective.image.features(), log)),
      meter(&opt),
      // Parameters, state and buffers are donated (updated in place); the
      // CSR is not: the step compresses the new weights straight into its
      // output buffers, while the sparse layers still read the old CSR.
      stepFn(
          TrainStep{model.get(), &opt, objective},
          JitOptions{{0, 1, 2}, "train_step", config.device, config.cudaChip}),
      evaluateFn(EvaluateStep{model.get(), objective},
                 JitOptions{{}, "evaluate", config.device}),
      inputScoreFn(InputScoreStep{objective},
                   JitOptions{{}, "input_score", config.device}),
      batcher(splits.train, config.batchSize, /*shuffle=*/true, config.seed),
      feeder(batcher, features) {
  if (config.lambdaTarget > 0)
    lambdaSchedule = optim::LambdaSchedule{
        "weights", config.lambdaWarmup, config.lambdaCooldown,
        config.lambdaIncrement, config.lambdaTarget};
  if (config.dataset == "cifar10")
    batcher.setAugmentation(data::Augmentation{4, true});
  // --last-batch fill: every training batch full (the last one filled up
  // with the epoch's first examples), so the step compiles for one shape.
  batcher.setFillLastBatch(config.fillLastBatch);
  logSetup();
  logLambdaScheduleWithAdaBreg();
  if (objective.restoration) {
    corruptedTestScore = inputScore(splits.test);
    log << fmt::format("task {}: noise std {}{}; the corrupted test inputs "
                       "themselves have SSIM {:.4f}\n",
                       *config.task, config.noiseStd,
                       *config.task == "deblur" ? " after a 9x9 blur, sigma 5"
                                                : "",
                       corruptedTestScore);
  }
  if (!config.resumePath.empty())
    resume();
}

void Trainer::Impl::logSetup() const {
  const data::Dataset &train = splits.train;
  // A restoration task's examples are (corrupted, clean) pairs stacked as
  // channels: said as pairs of images (it read "images of 2x28x28").
  bool pairs = objective.restoration;
  log << fmt::format("data: {} train, {} validation, {} test {} of "
                     "{}x{}x{} from {}{}\n",
                     train.count, splits.val.count, splits.test.count,
                     pairs ? "pairs (corrupted, clean) of images" : "images",
                     pairs ? train.channels / 2 : train.channels, train.rows,
                     train.cols, *config.dataDir,
                     config.dataset == "cifar10"
                         ? " (training batches augmented: random crop with "
                           "padding 4, horizontal flip)"
                         : "");
  bool hasConv = false;
  bool hasHeads = false;
  for (const optim::Group &g : opt.groups()) {
    hasConv |= g.name == "conv";
    hasHeads |= g.name == "heads";
  }
  std::vector<std::string> settings;
  for (const std::string &h : opt.hyperNames("weights"))
    settings.push_back(fmt::format("{} {}", h, opt.hyper(state, "weights", h)));
  log << fmt::format("model: {} ({} parameters), {} with {} on the "
                     "{}{}weights: {}; initial density {:.4f}\n",
                     model->describe(), params.numel(),
                     optim::methodName(opt.method()), *config.regularizer,
                     hasHeads ? fmt::format("linear weights and {} on the "
                                            "attention heads' ",
                                            *config.headRegularizer)
                              : "",
                     hasConv ? fmt::format("linear weights and {} on the conv ",
                                           *config.convRegularizer)
                             : "",
                     fmt::join(settings, ", "),
                     meter.measure(params, state).netDensity);
  logImportNotes();
}

void Trainer::Impl::logImportNotes() const {
  const auto *network = dynamic_cast<const onnx::OnnxNetwork *>(model.get());
  if (!network)
    return;
  // A registered buffer (normalization statistics, a fixed sinusoidal
  // table) looks like a learned parameter in the file, and trained.
  if (std::vector<std::string> operands = network->trainedPlainOperands();
      !operands.empty())
    log << fmt::format("note: plain operands trained, as PyTorch trains "
                       "parameters: {}; one the model registered as a buffer "
                       "(register_buffer: statistics, a fixed table) does not "
                       "train in PyTorch: --freeze NAME[,NAME...] keeps it\n",
                       fmt::join(operands, ", "));
  if (std::string note = network->model().batchGuessNote(config.batchSize);
      !note.empty())
    log << "note: " << note << "\n";
}

/// AdaBreg moves each entry of v by about lr per step whatever the gradient,
/// so a zero weight switches on only after about λ/lr steps (for kernel and
/// row groups too: the threshold and the step both scale by √n); every λ
/// change re-initializes v (ALGORITHMS.md §5) and restarts that count. Says
/// below which λ weights can switch on between two changes
/// (docs/EXPERIMENTS.md, Table 1's AdaBreg λ schedules).
void Trainer::Impl::logLambdaScheduleWithAdaBreg() const {
  if (!lambdaSchedule || opt.method() != optim::Method::AdaBreg)
    return;
  double lr = opt.hyper(state, lambdaSchedule->group, "lr");
  double lambda = opt.hyper(state, lambdaSchedule->group, "lambda");
  int64_t perEpoch = batcher.batchesPerEpoch();
  if (lr <= 0 || perEpoch <= 0)
    return;
  int64_t between = int64_t{lambdaSchedule->cooldown} * perEpoch;
  log << fmt::format(
      "lambda schedule with adabreg: v moves by about lr per step, so a zero "
      "weight needs about lambda/lr = {:.0f} steps ({:.1f} epochs) to switch "
      "on; every lambda change re-initializes v and restarts that count, so "
      "with a change at most every {} epoch(s) ({} steps) weights switch on "
      "between changes only while lambda < {:.3g}\n",
      lambda / lr, lambda / lr / static_cast<double>(perEpoch),
      lambdaSchedule->cooldown, between, lr * static_cast<double>(between));
}

void Trainer::Impl::resume() {
  RunState run = runState();
  firstEpoch = restoreCheckpoint(config, run) + 1;
  lastEpoch = firstEpoch - 1;
  report.resumeAfter(firstEpoch - 1);
  log << fmt::format("resumed from {} after epoch {}\n", config.resumePath,
                     firstEpoch - 1);
  haveCheckpoint = config.checkpointPath == config.resumePath;
}

std::string Trainer::Impl::keptCheckpoint(const char *what) const {
  if (config.checkpointPath.empty())
    return "";
  if (!haveCheckpoint)
    return std::filesystem::exists(config.checkpointPath)
               ? fmt::format("; this run wrote no checkpoint yet; {}, from an "
                             "earlier run, is kept unchanged",
                             config.checkpointPath)
               : fmt::format("; no checkpoint was written yet ({} is written "
                             "after each completed epoch)",
                             config.checkpointPath);
  return fmt::format("; the last checkpoint {}{} is kept", config.checkpointPath,
                     what);
}

EpochTotals Trainer::Impl::trainBatches(int epoch) {
  ProgressBar bar(config.progress, epoch, totalEpochs(),
                  batcher.batchesPerEpoch());
  EpochTotals totals;
  stepsTaken = stepsBefore;
  // BREGMAN_PROFILE=1: where the training steps' time goes, per epoch.
  runtime::profileCounters().reset();
  std::atomic<int64_t> dataNs{0}, stepNs{0};
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
          keptCheckpoint(" (a good state)")));
    }
    totals.lossSum += l * p.n;
    totals.batchLoss.push_back(static_cast<float>(l));
    totals.correct += p.hits.item();
    totals.seen += p.n;
    bar.update(p.step - stepsBefore, totals.lossSum / totals.seen);
  };
  bool pipelined = config.device != Device::Cpu;
  auto nextBatch = [&] {
    runtime::ProfileScope timed(dataNs);
    return feeder.next();
  };
  while (const auto *batch = nextBatch()) {
    runtime::ProfileScope timedStep(stepNs);
    auto [loss, hits] = step(batch->first, batch->second);
    ++totals.batches;
    if (pending)
      settle(*pending);
    pending =
        Pending{loss, hits, batch->second.dim(0), stepsBefore + totals.batches};
    if (!pipelined) {
      settle(*pending);
      pending.reset();
    }
  }
  if (pending)
    settle(*pending);
  bar.finish();
  logProfile(epoch, totals.batches, stepNs, dataNs);
  return totals;
}

std::pair<Tensor, Tensor> Trainer::Impl::step(const Tensor &x, const Tensor &y) {
  ++stepsTaken;
  // --check-sparse: the dense step first, from copies (a step donates, that
  // is overwrites, its parameters, state and buffers).
  std::optional<decltype(stepFn(params, state, buffers, trainCsr, x, y, masks))> dense;
  if (config.checkSparse && !trainCsr.empty())
    dense = stepFn(params.copy(), state.copy(), buffers.copy(), Params{}, x, y,
                   masks);
  // params, state and buffers are donated: updated in place.
  auto [p2, s2, b2, csr2, loss, hits] =
      stepFn(params, state, buffers, trainCsr, x, y, masks);
  params = p2;
  state = s2;
  buffers = b2;
  trainCsr = csr2;
  if (dense) {
    const auto &[denseParams, denseState, denseBuffers, noCsr, denseLoss, denseHits] =
        *dense;
    sparseCheck.record(stepsTaken, {loss.item(), params, state, buffers},
                       {denseLoss.item(), denseParams, denseState, denseBuffers},
                       fmt::format("{}", fmt::join(trainSparseLayers, ", ")));
  }
  return {loss, hits};
}

bool Trainer::Impl::featureMajorBatches() const {
  std::string weight = model->inputLinearWeight();
  // At batch N = features the two layouts have one shape (TrainStep tells
  // them apart by it); below kCsrFeatureMajorMinRows the CSR product runs
  // batch-major; a restoration example's input is a slice of it (its first
  // plane), which keeps the transposes apart.
  return !weight.empty() && !objective.restoration &&
         trainCsr.contains(nn::csrKeys(weight).front()) &&
         config.batchSize >= kCsrFeatureMajorMinRows &&
         config.batchSize != features;
}

void Trainer::Impl::refreshTrainingCsr() {
  std::vector<std::string> layers;
  std::vector<nn::SparseLayerDecision> decisions;
  Params csr = nn::csrWeights(params, config.sparseExec, &layers, 0, &decisions,
                              nn::kSparseExecTrainAutoDensity, &sparseFilters);
  if (layers == trainSparseLayers && trainCsr.size() == csr.size())
    return;
  if (config.sparseExec != nn::SparseExec::Off)
    log << fmt::format("sparse execution (training step): {}\n",
                       layers.empty()
                           ? std::string("no layer")
                           : fmt::format("{}", fmt::join(layers, ", ")));
  if (config.sparseExec == nn::SparseExec::Auto)
    for (const nn::SparseLayerDecision &d : decisions)
      log << "  " << nn::describe(d) << "\n";
  trainCsr = csr;
  trainSparseLayers = layers;
}

double Trainer::Impl::accuracy(const Params &p, const Params &b,
                               const data::Dataset &ds) {
  if (ds.count == 0)
    return 0.0;
  // The feeder's buffers hold training-shaped examples.
  if (ds.features() != features)
    throw Error(fmt::format("train: cannot evaluate {}x{}x{} images with a "
                            "model for the training images' {} values",
                            ds.channels, ds.rows, ds.cols, features));
  data::Batcher evalBatcher(ds, config.evalBatchSize, /*shuffle=*/false, 0);
  BatchFeeder evalFeeder(evalBatcher, config.evalBatchSize, features);
  // Linear layers below the --sparse-exec threshold run on their CSR, built
  // once per evaluation on the host.
  std::vector<std::string> sparseLayers;
  std::vector<nn::SparseLayerDecision> decisions;
  Params evalParams = nn::withCsrWeights(p, config.sparseExec, &sparseLayers,
                                         config.evalBatchSize, &decisions,
                                         nn::kSparseExecAutoDensity,
                                         &sparseFilters);
  if (sparseLayers != lastSparseLayers) {
    log << fmt::format("sparse execution (evaluation): {}\n",
                       sparseLayers.empty()
                           ? std::string("no layer")
                           : fmt::format("{}", fmt::join(sparseLayers, ", ")));
    if (config.sparseExec == nn::SparseExec::Auto)
      for (const nn::SparseLayerDecision &d : decisions)
        log << "  " << nn::describe(d) << "\n";
    lastSparseLayers = sparseLayers;
  }
  // A last, partial batch after full ones is padded to the full shape with
  // rows no prediction matches (label -1): the correct count is the same,
  // and the compiled evaluation serves it instead of a second compilation
  // (seconds for a large imported model).
  std::optional<int32_t> padLabel;
  if (!objective.restoration && ds.count > config.evalBatchSize)
    padLabel = -1;
  double correct = 0;
  while (const auto *batch = evalFeeder.next(padLabel))
    correct += evaluateFn(evalParams, b, batch->first, batch->second).item();
  return correct / static_cast<double>(ds.count);
}

double Trainer::Impl::inputScore(const data::Dataset &ds) {
  if (ds.count == 0)
    return 0.0;
  data::Batcher batcher(ds, config.evalBatchSize, /*shuffle=*/false, 0);
  BatchFeeder feeder(batcher, config.evalBatchSize, features);
  double total = 0;
  while (const auto *batch = feeder.next())
    total += inputScoreFn(batch->first).item();
  return total / static_cast<double>(ds.count);
}

std::string Trainer::Impl::scoreText(double score) const {
  return objective.restoration ? fmt::format("SSIM {:.4f}", score)
                               : fmt::format("accuracy {:.2f}%", 100 * score);
}

void Trainer::Impl::logArchitecture(int epoch) const {
  if (!zooEntry || !zooEntry->architecture)
    return;
  log << zooEntry->architecture(*model, params);
  if (config.picturesDir.empty() || !zooEntry->picture)
    return;
  std::string path = fmt::format("{}/connections-epoch-{:03}.png",
                                 config.picturesDir, epoch);
  std::error_code ec; // made with the first picture (RunFiles.cpp)
  std::filesystem::create_directories(config.picturesDir, ec);
  if (ec)
    throw Error(
        fmt::format("--pictures {}: {}", config.picturesDir, ec.message()));
  zooEntry->picture(*model, params, path);
  log << fmt::format("  connection matrix written to {}\n", path);
}

void Trainer::Impl::logSparseProfile() const {
  if (!runtime::profilingEnabled() || config.sparseExec == nn::SparseExec::Off)
    return;
  auto names = [](const std::vector<std::string> &layers) {
    return layers.empty() ? std::string("none")
                          : fmt::format("{}", fmt::join(layers, ", "));
  };
  std::string layout =
      batchesFeatureMajor
          ? fmt::format("; training batches [{}, {}], feature-major: {}'s CSR "
                        "reads them untransposed",
                        features, config.batchSize, model->inputLinearWeight())
          : "";
  log << fmt::format("  profile: sparse layers: training step (batch {}) {}; "
                     "evaluation (batch {}) {}{}\n",
                     config.batchSize, names(trainSparseLayers),
                     config.evalBatchSize, names(lastSparseLayers), layout);
}

void Trainer::Impl::logCompileProfile() const {
  if (!runtime::profilingEnabled())
    return;
  CompileTimes step = stepFn.compileTimes(), eval = evaluateFn.compileTimes();
  log << fmt::format(
      "  profile: compiling {:.2f} s (training step {:.2f} s in {}, "
      "evaluation {:.2f} s in {}) = MLIR emission {:.2f} + MLIR passes {:.2f} "
      "+ LLVM optimization {:.2f} + LLVM code generation {:.2f} (LLVM "
      "compiled {} part(s) in all, each on a thread)\n",
      step.total + eval.total, step.total, stepFn.compileCount(), eval.total,
      evaluateFn.compileCount(), step.emit + eval.emit,
      step.passes + eval.passes, step.llvmOpt + eval.llvmOpt,
      step.codegen + eval.codegen, step.llvmParts + eval.llvmParts);
}

void Trainer::Impl::logProfile(int epoch, int64_t batches, double stepNs,
                               double dataNs) const {
  if (!runtime::profilingEnabled())
    return;
  // Counters cover the training steps only (evaluation comes after).
  const runtime::ProfileCounters &profile = runtime::profileCounters();
  double ms = 1e-6, steps = std::max<int64_t>(batches, 1);
  double gemm = profile.gemmNs * ms, call = profile.compiledCallNs * ms;
  double conv = profile.convNs * ms;
  log << fmt::format(
      "  profile: {} steps, {:.3f} ms/step = compiled code {:.3f} (GEMM "
      "library {:.3f} in {} calls, convolution library {:.3f} in {} "
      "calls, generated code {:.3f}) + jit dispatch and host {:.3f}; data "
      "loading {:.3f} ms/step{}\n",
      batches, stepNs * ms / steps, call / steps, gemm / steps,
      profile.gemmCalls.load() / std::max<int64_t>(batches, 1), conv / steps,
      profile.convCalls.load() / std::max<int64_t>(batches, 1),
      (call - gemm - conv) / steps, (stepNs * ms - call) / steps,
      dataNs * ms / steps,
      epoch == 1 ? " (host time includes the first step's compilation)" : "");
  if (epoch == 1 && config.device == Device::Cpu)
    log << "  " << runtime::gemmLibrarySummary() << "\n";
  // The last step submitted is a training step (evaluation comes later).
  if (config.device == Device::Cuda)
    if (std::string launches = runtime::cudaDevice().stepProfile();
        !launches.empty())
      log << "  " << launches << "\n";
}

EpochMetrics Trainer::Impl::measure(int epoch, const EpochTotals &totals,
                                    SparsityReport &sparsity) {
  EpochMetrics m;
  m.epoch = epoch;
  m.trainLoss = totals.lossSum / totals.seen;
  m.trainAcc = totals.correct / totals.seen;
  m.valAcc = evaluate(splits.val);
  m.testAcc = evaluate(splits.test);
  m.sparseLayers = lastSparseLayers; // of the evaluations just made
  m.sparseLayersTraining = trainSparseLayers; // of the epoch's steps
  sparsity = meter.measure(params, state);
  m.netDensity = sparsity.netDensity;
  m.nodeDensity = sparsity.nodeDensity;
  m.kernelDensity = sparsity.kernelDensity;
  m.heads = sparsity.heads;
  m.batchLoss = totals.batchLoss;
  m.ssim = objective.restoration;
  m.lr = opt.hyper(state, "weights", "lr");
  if (state.contains("hyper/weights/lambda"))
    m.lambda = opt.hyper(state, "weights", "lambda");
  return m;
}

void Trainer::Impl::track(const EpochMetrics &m) {
  // Without a validation split every epoch counts as the best so far, so
  // the best model is the last one (never silently epoch 1).
  if (m.valAcc > best.valAcc || splits.val.count == 0) {
    // Host copies of the parameters and buffers at the best validation
    // accuracy (the only whole-tensor copies, and only then): the buffers'
    // running statistics belong to these parameters.
    best.valAcc = m.valAcc;
    best.density = m.netDensity;
    best.epoch = m.epoch;
    best.testAcc = m.testAcc;
    best.params = params.copy();
    best.buffers = buffers.copy();
  }
}

void Trainer::Impl::applySchedules(int epoch, const EpochMetrics &m,
                                   const SparsityReport &sparsity) {
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
}

void Trainer::Impl::checkFinite(int epoch) const {
  if (std::string culprit = firstNonFinite(params); !culprit.empty())
    throw Error(fmt::format("train: after epoch {} parameter {}{}", epoch,
                            culprit, keptCheckpoint("")));
}

EpochMetrics Trainer::Impl::runEpoch(int epoch) {
  // Epochs run in order, once: a second run() numbered its epochs from 1
  // again over the trained weights, and runEpoch(-1) reported "epoch -1/2".
  if (epoch != lastEpoch + 1 || epoch > totalEpochs())
    throw Error(fmt::format(
        "train: epoch {} cannot run now: {}", epoch,
        lastEpoch >= totalEpochs()
            ? fmt::format("this run's {} epochs are done (a Trainer runs "
                          "once; make a new one, or resume its checkpoint "
                          "with more epochs)",
                          totalEpochs())
            : fmt::format("the next epoch of this run is {} of {}",
                          lastEpoch + 1, totalEpochs())));
  lastEpoch = epoch;
  if (prunesBefore(config, epoch)) {
    masks = pruneForRetraining(config, params);
    best.valAcc = -1; // the baseline's result is the retrained model
    log << fmt::format("pruned {} to density {:.4f}; retraining the "
                       "survivors for {} epochs\n",
                       config.pruneGroups ? "rows" : "weights",
                       meter.measure(params, state).netDensity,
                       config.retrainEpochs);
  }
  auto start = std::chrono::steady_clock::now();
  refreshTrainingCsr();
  batchesFeatureMajor = featureMajorBatches();
  feeder.startEpoch(epoch, batchesFeatureMajor);
  EpochTotals totals = trainBatches(epoch);
  SparsityReport sparsity;
  EpochMetrics m = measure(epoch, totals, sparsity);
  logSparseProfile();
  if (std::string checked = sparseCheck.summary(); !checked.empty())
    log << checked << "\n";
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start)
                  .count();
  track(m);
  log << epochLine(m, totalEpochs()) << "\n";
  logArchitecture(epoch);
  EpochContext context{&sparsity, config.optimizer, *config.regularizer,
                       masks.empty() ? "train" : "retrain", {},
                       config.sparseExec != nn::SparseExec::Off};
  for (const std::string &h : opt.hyperNames("weights"))
    context.hypers.emplace_back(h, opt.hyper(state, "weights", h));
  report.write(m, context);
  applySchedules(epoch, m, sparsity);
  stepsBefore += totals.batches;
  checkFinite(epoch);
  // Only finite parameters are ever saved: the last checkpoint is good.
  if (!config.checkpointPath.empty()) {
    writeCheckpoint(config, epoch, runState());
    haveCheckpoint = true;
  }
  log.flush();
  return m;
}

void Trainer::Impl::thresholdBaseline(TrainResult &result) {
  Thresholded thresholded = thresholdBest(config, best.params);
  SparsityReport sparsity = meter.measure(thresholded.params);
  EpochMetrics m;
  m.epoch = best.epoch;
  m.valAcc = accuracy(thresholded.params, best.buffers, splits.val);
  m.testAcc = accuracy(thresholded.params, best.buffers, splits.test);
  m.netDensity = sparsity.netDensity;
  m.nodeDensity = sparsity.nodeDensity;
  m.kernelDensity = sparsity.kernelDensity;
  m.heads = sparsity.heads;
  // The report's last line: the thresholded best model, so that a table
  // derived from reports (scripts/experiments-table.sh) can show it.
  report.write(m, {&sparsity, config.optimizer, *config.regularizer,
                   "thresholded", {{"threshold", config.threshold},
                                   {"zeroed", double(thresholded.zeroed)}}});
  result.thresholdedTestAcc = m.testAcc;
  result.thresholdedDensity = m.netDensity;
  log << fmt::format("thresholding |θ| < {} zeroed {} weights: test "
                     "accuracy {:.2f}%, density {:.4f}\n",
                     config.threshold, thresholded.zeroed, 100 * m.testAcc,
                     m.netDensity);
}

Trainer::Trainer(const TrainConfig &config, std::ostream &log)
    : impl_(std::make_unique<Impl>(config, log)) {}

Trainer::~Trainer() = default;

std::pair<Tensor, Tensor> Trainer::step(const Tensor &x, const Tensor &y) {
  // The mean loss of no examples was NaN, blamed on nothing.
  if (x.defined() &&
      (x.numel() == 0 || (y.defined() && y.rank() >= 1 && y.dim(0) == 0)))
    throw Error("train: step: the batch holds no examples");
  return impl_->step(x, y);
}

double Trainer::evaluate(const data::Dataset &ds) { return impl_->evaluate(ds); }

EpochMetrics Trainer::runEpoch(int epoch) { return impl_->runEpoch(epoch); }

const TrainConfig &Trainer::config() const { return impl_->config; }
const data::DataSplits &Trainer::data() const { return impl_->splits; }
const Params &Trainer::params() const { return impl_->params; }

void Trainer::saveStep() {
  Impl &t = *impl_;
  const TrainConfig &c = t.config;
  if (c.saveStepPath.empty())
    throw Error("saveStep: TrainConfig::saveStepPath (--save-step) names no "
                "folder to save the step in");
  t.feeder.startEpoch(t.firstEpoch);
  const auto *batch = t.feeder.next();
  if (!batch)
    throw Error("--save-step: the training set is empty");
  // How bregman-run --data feeds it: the data set as loaded here, the
  // batch inputs and the loss / correct-count outputs (by position).
  t.refreshTrainingCsr();
  size_t stateLeaves = t.params.size() + t.state.size() + t.buffers.size() +
                       t.trainCsr.size();
  nlohmann::json training = {
      {"dataset", c.dataset},         {"data_dir", *c.dataDir},
      {"mean", *c.mean},              {"std", *c.std},
      {"seed", c.seed},               {"val_fraction", c.valFraction},
      {"train_limit", c.trainLimit},  {"test_limit", c.testLimit},
      {"batch_size", c.batchSize},
      {"x_input", stateLeaves},       {"y_input", stateLeaves + 1},
      {"loss_output", stateLeaves},   {"correct_output", stateLeaves + 1}};
  t.stepFn.setArtifactMetadata(training.dump());
  t.stepFn.save(c.saveStepPath, t.params, t.state, t.buffers, t.trainCsr,
                batch->first, batch->second, t.masks);
  t.log << fmt::format("saved the training step ({}, batch {}) to {}\n",
                       deviceName(c.device), batch->first.dim(0),
                       c.saveStepPath);
}

TrainResult Trainer::run() {
  Impl &t = *impl_;
  TrainResult result;
  if (!t.config.saveStepPath.empty()) {
    saveStep();
    return result;
  }
  if (t.lastEpoch >= t.totalEpochs() && t.totalEpochs() >= t.firstEpoch)
    (void)t.runEpoch(t.lastEpoch + 1); // throws: the epochs are done
  for (int epoch = t.lastEpoch + 1; epoch <= t.totalEpochs(); ++epoch)
    result.epochs.push_back(t.runEpoch(epoch));
  result.stepCompilations = t.stepFn.compileCount();
  result.evaluationCompilations = t.evaluateFn.compileCount();
  CompileTotals all = processCompileTotals();
  // Every compilation since the trainer began (the optimizer's init, the
  // input score... too), not only the step's and the evaluation's.
  result.compileSeconds = all.seconds - t.compilesBefore.seconds;
  size_t compilations = all.count - t.compilesBefore.count;
  double stepSeconds = t.stepFn.compileSeconds(),
         evalSeconds = t.evaluateFn.compileSeconds();
  result.params = t.params;
  result.bestEpoch = t.best.epoch;
  result.bestTestAcc = t.best.testAcc;
  result.bestParams = t.best.params;
  result.bestBuffers = t.best.buffers;
  result.corruptedTestScore = t.corruptedTestScore;
  t.log << fmt::format(
      "best validation {} at epoch {}: test {}, density {:.4f}; {} step "
      "compilation(s), {:.2f}s compiling ({} compilations: training step "
      "{:.2f} s, evaluation {:.2f} s, others {:.2f} s)\n",
      t.scoreText(t.best.valAcc), t.best.epoch, t.scoreText(t.best.testAcc),
      t.best.density, result.stepCompilations, result.compileSeconds,
      compilations, stepSeconds, evalSeconds,
      std::max(0.0, result.compileSeconds - stepSeconds - evalSeconds));
  t.logCompileProfile();
  if (!t.config.exportPath.empty()) {
    result.exportedBytes =
        exportModel(t.config, *t.model, t.best.params, t.best.buffers);
    t.log << fmt::format(
        "exported the best model (epoch {}) to {}: {} bytes{}\n", t.best.epoch,
        t.config.exportPath, result.exportedBytes,
        t.config.exportSparse ? " with sparse initializers" : "");
  }
  if (!t.config.saveInferPath.empty())
    t.log << saveInference(t.config, *t.model, t.sparseFilters,
                           t.best.params.empty() ? t.params : t.best.params,
                           t.best.params.empty() ? t.buffers : t.best.buffers,
                           t.firstTestBatch());
  if (t.config.threshold > 0)
    t.thresholdBaseline(result);
  return result;
}

TrainResult train(const TrainConfig &config, std::ostream &log) {
  return Trainer(config, log).run();
}

} // namespace bregman::train
