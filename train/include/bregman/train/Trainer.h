//===- Trainer.h - The training program of `bregman train` ------*- C++ -*-===//
//
// Trains a model on an IDX data set (Fashion-MNIST by default) with LinBreg,
// one compiled call per step, and reports accuracy, loss and the densities of
// ALGORITHMS.md §6 per epoch, on the terminal and as JSON lines.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_TRAINER_H
#define BREGMAN_TRAIN_TRAINER_H

#include "bregman/Jit.h"
#include "bregman/Params.h"

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace bregman::train {

struct TrainConfig {
  std::string model = "mlp"; // mlp, convnet, resnet18, vgg
  /// Where the training step and the evaluation run.
  Device device = Device::Cpu;
  /// Instead of training: write the training step (compiled ahead of time
  /// for `device`, with the initial state and the first batch) to this
  /// artifact directory, for bregman-run.
  std::string saveStepPath;
  /// Device::Cuda without a GPU (for --save-step): compile for this chip.
  std::string cudaChip;
  /// Retrain this ONNX model instead (its weights, or a sparse init).
  std::string onnxPath;
  bool fromPretrained = false;
  /// After training: the best model as ONNX (with the imported graph; an
  /// ONNX model only), optionally with sparse initializers.
  std::string exportPath;
  bool exportSparse = false;
  int64_t width = 64;        // channels of the first stage (resnet18, vgg)
  /// convnet: the two convolutions' channels and the hidden width.
  std::array<int64_t, 3> convnetWidths = {64, 64, 128};
  std::vector<int64_t> hidden = {200, 80}; // of the MLP
  std::string optimizer = "linbreg"; // linbreg, adabreg, proxsgd, sgd, adam
  std::string regularizer = "l1"; // weights: none l1 l1_pos l1_l2 l1_l1_l2
  /// Regulariser of the convolution weights (their own group "conv", with
  /// the weights' hyper-parameters): kernels as groups by default.
  std::string convRegularizer = "l1_l2_conv";
  std::string dataset = "fashion-mnist"; // fashion-mnist, mnist, cifar10
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
  /// Normalisation; NaN means the data set's default.
  double mean = 0.5, std = 0.5;
  float lr = 0.1f, delta = 1.0f, lambda = 0.1f, momentum = 0.0f;
  float lambda2 = 0.0f; // the row strength of l1_l1_l2
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f; // adabreg, adam
  int epochs = 10;
  int64_t batchSize = 128;
  int64_t evalBatchSize = 1000;
  uint64_t seed = 0;
  double initP = 0.01, initR = 7.0, initBiasScale = 1.0;
  bool initPerRow = false; // row-sparse init (the group variant)
  bool initPerKernel = true; // kernel-sparse init of convolutions
  double valFraction = 0.05;
  int64_t trainLimit = -1; // use the first N training images
  std::string reportPath;  // JSON lines; empty: none
  /// Extra parameter groups, before the default "weights" (the regulariser
  /// above) and "biases" (none) groups: "NAME:PATTERNS[:key=value,...]" with
  /// comma-separated glob patterns over parameter names (e.g. "fc1.*") and
  /// keys reg, lr, delta, lambda, momentum, beta1, beta2, eps.
  std::vector<std::string> groups;
  /// Halve the learning rate on a plateau of the training loss (factor 0.5,
  /// patience 5, relative threshold 0.01), as the reference experiments do.
  bool lrPlateau = true;
  /// λ discrepancy schedule on the weights (ALGORITHMS.md §5); off when the
  /// target density is 0.
  double lambdaTarget = 0;
  float lambdaIncrement = 0.01f;
  int lambdaWarmup = 0, lambdaCooldown = 1;
  /// Magnitude pruning baseline: after `epochs`, keep the largest weights
  /// (or rows, with pruneGroups) at this density and retrain the survivors
  /// for `retrainEpochs` with the mask fixed. 0: off.
  double pruneDensity = 0;
  bool pruneGroups = false;
  int retrainEpochs = 0;
  /// Thresholding baseline: at the end, zero the weights of the best model
  /// with |θ| < threshold and evaluate it again. 0: off.
  double threshold = 0;
  bool progress = true;    // progress bar on a terminal
  /// Written after every epoch (atomically): parameters, optimizer state,
  /// buffers, schedules and the best model. Empty: none.
  std::string checkpointPath;
  /// Continues the run saved in this checkpoint from its next epoch; the
  /// result equals the uninterrupted run's (same seed, same settings).
  std::string resumePath;
};

struct EpochMetrics {
  int epoch = 0;
  double trainLoss = 0, trainAcc = 0, valAcc = 0, testAcc = 0;
  double netDensity = 0;
  std::vector<double> nodeDensity; // per linear layer
  std::vector<double> kernelDensity; // per conv layer
  std::vector<float> batchLoss;      // of every training step, in order
  double lr = 0, lambda = 0;       // of the weights, during the epoch
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int bestEpoch = 0;          // by validation accuracy
  double bestTestAcc = 0;     // test accuracy at that epoch
  double compileSeconds = 0;  // total time in jit compilations
  size_t stepCompilations = 0;
  Params params;              // final parameters
  Params bestParams;          // parameters at the best validation accuracy
  /// With a threshold: the best model's test accuracy and density after it.
  double thresholdedTestAcc = 0, thresholdedDensity = 0;
  int64_t exportedBytes = 0; // with an export path
};

/// Runs the whole training; writes the per-epoch lines to `log`.
/// Throws bregman::Error (or a data error) on bad input.
TrainResult train(const TrainConfig &config, std::ostream &log);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_TRAINER_H
