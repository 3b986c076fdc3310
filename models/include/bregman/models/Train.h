//===- Train.h - The training program of `bregman train` --------*- C++ -*-===//
//
// Trains a model on an IDX data set (Fashion-MNIST by default) with LinBreg,
// one compiled call per step, and reports accuracy, loss and the densities of
// ALGORITHMS.md §6 per epoch, on the terminal and as JSON lines.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_TRAIN_H
#define BREGMAN_MODELS_TRAIN_H

#include "bregman/Params.h"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace bregman::models {

struct TrainConfig {
  std::string model = "mlp";
  std::vector<int64_t> hidden = {200, 80};
  std::string optimizer = "linbreg"; // linbreg, adabreg, proxsgd, sgd, adam
  std::string regularizer = "l1"; // on the weights: none, l1, l1_pos, l1_l2
  std::string dataset = "fashion-mnist";
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
  /// Normalisation; NaN means the data set's default.
  double mean = 0.5, std = 0.5;
  float lr = 0.1f, delta = 1.0f, lambda = 0.1f, momentum = 0.0f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f; // adabreg, adam
  int epochs = 10;
  int64_t batchSize = 128;
  int64_t evalBatchSize = 1000;
  uint64_t seed = 0;
  double initP = 0.01, initR = 7.0, initBiasScale = 1.0;
  bool initPerRow = false; // row-sparse init (the group variant)
  double valFraction = 0.05;
  int64_t trainLimit = -1; // use the first N training images
  std::string reportPath;  // JSON lines; empty: none
  bool progress = true;    // progress bar on a terminal
};

struct EpochMetrics {
  int epoch = 0;
  double trainLoss = 0, trainAcc = 0, valAcc = 0, testAcc = 0;
  double netDensity = 0;
  std::vector<double> nodeDensity; // per linear layer
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int bestEpoch = 0;          // by validation accuracy
  double bestTestAcc = 0;     // test accuracy at that epoch
  double compileSeconds = 0;  // total time in jit compilations
  size_t stepCompilations = 0;
  Params params;              // final parameters
};

/// Runs the whole training; writes the per-epoch lines to `log`.
/// Throws bregman::Error (or a data error) on bad input.
TrainResult train(const TrainConfig &config, std::ostream &log);

/// Fraction of non-zeros over all ".weight" tensors (ALGORITHMS.md §6).
double netDensity(const Params &params);
/// Per 2-D ".weight": the fraction of rows (neurons) with a non-zero.
std::vector<double> nodeDensities(const Params &params);

} // namespace bregman::models

#endif // BREGMAN_MODELS_TRAIN_H
