//===- Trainer.h - The training program of `bregman train` ------*- C++ -*-===//
//
// Trains a model of the zoo (or an imported ONNX model) on an IDX or CIFAR-10
// data set (Fashion-MNIST by default), one compiled call per step, and
// reports accuracy, loss and the densities of ALGORITHMS.md §6 per epoch,
// on the terminal and as JSON lines:
//
//   train::TrainConfig config;              // the reference MLP and LinBreg
//   config.epochs = 3;
//   train::Trainer trainer(config, std::cout);
//   train::TrainResult result = trainer.run();
//
// or step by step: trainer.step(x, y), trainer.evaluate(dataset),
// trainer.runEpoch(epoch).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_TRAINER_H
#define BREGMAN_TRAIN_TRAINER_H

#include "bregman/Params.h"
#include "bregman/metrics.h"
#include "bregman/train/Config.h"

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace bregman::data {
struct Dataset;
struct DataSplits;
} // namespace bregman::data

namespace bregman::train {

struct EpochMetrics {
  int epoch = 0;
  /// Accuracies; for a restoration task (ssim) the mean SSIM instead.
  double trainLoss = 0, trainAcc = 0, valAcc = 0, testAcc = 0;
  bool ssim = false;
  double netDensity = 0;
  std::vector<double> nodeDensity;   // per linear layer
  std::vector<double> kernelDensity; // per conv layer
  std::vector<LayerHeads> heads;     // per attention layer
  std::vector<float> batchLoss;      // of every training step, in order
  double lr = 0, lambda = 0;         // of the weights, during the epoch
  double seconds = 0;
  /// The linear weights its validation and test ran on their CSR
  /// (--sparse-exec), in parameter order.
  std::vector<std::string> sparseLayers;
  /// The linear weights its training steps ran on their CSR (forward and
  /// input gradient; the CSR made by each step for the next one).
  std::vector<std::string> sparseLayersTraining;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int bestEpoch = 0;         // by validation accuracy (SSIM)
  double bestTestAcc = 0;    // test accuracy (SSIM) at that epoch
  /// Restoration: the test SSIM of the corrupted inputs themselves.
  double corruptedTestScore = 0;
  /// Wall seconds of every jit compilation the run made (step, evaluation,
  /// the optimizer's init, ...).
  double compileSeconds = 0;
  size_t stepCompilations = 0;
  /// The evaluation's compilations: one per batch shape (a split's last,
  /// partial batch after full ones is padded to the full shape).
  size_t evaluationCompilations = 0;
  Params params;     // final parameters
  Params bestParams; // parameters at the best validation accuracy
  Params bestBuffers; // buffers (running statistics) of that epoch
  /// With a threshold: the best model's test accuracy and density after it.
  double thresholdedTestAcc = 0, thresholdedDensity = 0;
  int64_t exportedBytes = 0; // with an export path
};

/// A training run: the data, the model, the optimizer and their state. The
/// constructor loads and prepares everything (and restores a checkpoint
/// with config.resumePath); nothing is compiled before the first step.
class Trainer {
public:
  /// Throws bregman::Error (or a data error) on bad input.
  Trainer(const TrainConfig &config, std::ostream &log);
  ~Trainer();
  Trainer(const Trainer &) = delete;
  Trainer &operator=(const Trainer &) = delete;

  /// One training step on a batch x [N, features], y [N] (i32): forward,
  /// backward and every update in one compiled call. x may also come as
  /// [features, N] (N ≠ features), as runEpoch feeds a model whose input
  /// layer runs on its CSR (no transpose in the step then). Returns the batch's
  /// mean loss and correct count as scalar tensors (on a device, reading
  /// them waits for the step).
  std::pair<Tensor, Tensor> step(const Tensor &x, const Tensor &y);
  /// The accuracy of the current parameters on `ds` (0 for an empty set).
  double evaluate(const data::Dataset &ds);
  /// Trains epoch `epoch` (from 1), evaluates, updates the best model and
  /// the schedules, reports, checkpoints; returns the epoch's metrics.
  EpochMetrics runEpoch(int epoch);
  /// Every epoch (from the resumed one), then the export and the
  /// thresholding baseline; with config.saveStepPath, only writes the step.
  TrainResult run();
  /// Writes the training step with the current state and the first batch
  /// as an artifact directory (config.saveStepPath).
  void saveStep();

  const TrainConfig &config() const; // resolved: every default filled in
  const data::DataSplits &data() const;
  const Params &params() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs the whole training; writes the per-epoch lines to `log`.
/// Throws bregman::Error (or a data error) on bad input.
TrainResult train(const TrainConfig &config, std::ostream &log);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_TRAINER_H
