//===- Config.h - What a training run is given ------------------*- C++ -*-===//
//
// One configuration type for `bregman train` / `retrain` and for programs
// that use the Trainer. Settings whose reference value depends on the model,
// the optimizer or the data set are optional: left unset, resolveDefaults()
// fills them from the one table of reference settings (Defaults.cpp,
// ALGORITHMS.md §7). The command line only parses and overrides.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_CONFIG_H
#define BREGMAN_TRAIN_CONFIG_H

#include "bregman/Jit.h"
#include "bregman/nn.h"
#include "bregman/optim.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bregman::train {

struct TrainConfig {
  // --- What is trained ---------------------------------------------------
  std::string model = "mlp"; // a name of models::zoo()
  /// Retrain this ONNX model instead (its weights, or a sparse init).
  std::string onnxPath;
  bool fromPretrained = false;
  /// Retraining: train the initializers read as plain operands that
  /// PyTorch trains (onnx::plainOperandVerdict; false: --train-operands
  /// none), and keep these initializers (ONNX names) as imported.
  bool trainOperands = true;
  std::vector<std::string> freeze;
  /// Retraining: float initializers (ONNX names) read as plain operands that
  /// train although the rule keeps them frozen (onnx::RetrainOptions::unfreeze).
  std::vector<std::string> unfreeze;
  int64_t width = 64; // channels of the first stage (resnet18, vgg)
  /// convnet: the two convolutions' channels and the hidden width.
  std::array<int64_t, 3> convnetWidths = {64, 64, 128};
  std::vector<int64_t> hidden = {200, 80}; // of the MLP

  /// What the model is trained for: "classify", or for a restoration model
  /// (the skip-encoder) "denoise" or "deblur" (NAS.md §2: noisy or blurred
  /// and noisy inputs, the clean image as target, MSE loss, SSIM as the
  /// score in place of accuracy). Unset: the model's.
  std::optional<std::string> task;
  /// denoise, deblur: std of the Gaussian noise added once per example.
  double noiseStd = 0.05;

  // --- The optimizer (unset: the reference settings) ----------------------
  /// linbreg, adabreg, proxsgd, sgd, adam; empty: the model's (adabreg for
  /// densenet and skip-encoder, else linbreg).
  std::string optimizer;
  std::optional<std::string> regularizer;     // of the weights
  /// Regularizer of the convolution weights (their own group "conv", with
  /// the weights' hyper-parameters).
  std::optional<std::string> convRegularizer;
  /// Regularizer of the attention projections [heads, d, E] (their own
  /// group "heads", with the weights' hyper-parameters). Unset: none for the
  /// unregularized optimizers, l1_l2_heads when the weights' is l1_l2 or
  /// l1_l1_l2 (whole heads switch off), else the weights'.
  std::optional<std::string> headRegularizer;
  std::optional<float> lr, lambda;
  float delta = 1.0f, momentum = 0.0f;
  float lambda2 = 0.0f; // the row strength of l1_l1_l2
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f; // adabreg, adam
  /// Extra parameter groups, before the default "weights" and "biases"
  /// groups: "NAME:PATTERNS[:key=value,...]" with comma-separated glob
  /// patterns over parameter names (e.g. "fc1.*") and keys reg, lr, delta,
  /// lambda, lambda2, momentum, beta1, beta2, eps.
  std::vector<std::string> groups;
  /// λ of the l1 on the skip-encoder's skip weights (their group "skips");
  /// unset: the model's (1.96 = 28·0.07: skips allowed; 1e10 forbids them).
  std::optional<float> skipLambda;

  // --- The sparse initialisation (ALGORITHMS.md §4) -----------------------
  std::optional<double> initP, initR;
  double initBiasScale = 1.0;
  std::optional<bool> initPerRow;    // row-sparse init (group regularizers)
  std::optional<bool> initPerKernel; // kernel-sparse init of convolutions

  // --- Data -----------------------------------------------------------------
  std::string dataset = "fashion-mnist"; // fashion-mnist, mnist, cifar10
  std::optional<std::string> dataDir;
  /// Normalisation (unset: the data set's).
  std::optional<double> mean, std;
  double valFraction = 0.05;
  int64_t trainLimit = -1; // use the first N training images
  int64_t testLimit = -1;  // evaluate on the first N test images (quick runs)
  int64_t batchSize = 128;
  /// The epoch's last batch when the batch size does not divide the
  /// training set: partial (false; PyTorch's DataLoader, as the method's
  /// reference experiments), or filled up with the epoch's first examples
  /// (true; one batch shape, so the step compiles once: a second compilation
  /// of a large imported model's step costs a minute or more).
  bool fillLastBatch = false;
  int64_t evalBatchSize = 1000;
  uint64_t seed = 0;

  // --- The run ----------------------------------------------------------------
  int epochs = 10;
  Device device = Device::Cpu;
  /// Evaluation (validation and test) runs linear layers on the CSR of their
  /// weights: off, auto (below nn::kSparseExecAutoDensity), on. CPU only.
  nn::SparseExec sparseExec = nn::SparseExec::Off;
  /// Each training step whose layers run on CSR also runs densely from the
  /// same state, and the run stops when the two differ by more than float32
  /// rounding allows (SparseStepCheck::kLimit, relative L2 per group of
  /// tensors); about twice the step time.
  bool checkSparse = false;
  /// Device::Cuda without a GPU (for saveStepPath): compile for this chip.
  std::string cudaChip;
  /// Halve the learning rate on a plateau of the training loss (factor 0.5,
  /// patience 5, relative threshold 0.01), as the reference experiments do.
  bool lrPlateau = true;
  /// λ discrepancy schedule on the weights (ALGORITHMS.md §5); off when the
  /// target density is 0.
  double lambdaTarget = 0;
  float lambdaIncrement = 0.01f;
  int lambdaWarmup = 0, lambdaCooldown = 1;

  // --- Baselines ----------------------------------------------------------------
  /// Magnitude pruning: after `epochs`, keep the largest weights (or rows,
  /// with pruneGroups) at this density and retrain the survivors for
  /// `retrainEpochs` with the mask fixed. 0: off.
  double pruneDensity = 0;
  bool pruneGroups = false;
  int retrainEpochs = 0;
  /// Thresholding: at the end, zero the weights of the best model with
  /// |θ| < threshold and evaluate it again. 0: off.
  double threshold = 0;

  // --- Output -------------------------------------------------------------------
  std::string reportPath; // JSON lines; empty: none
  bool progress = true;   // progress bar on a terminal
  /// Written after every epoch (atomically): parameters, optimizer state,
  /// buffers, schedules and the best model. Empty: none.
  std::string checkpointPath;
  /// Continues the run saved in this checkpoint from its next epoch; the
  /// result equals the uninterrupted run's (same seed, same settings).
  std::string resumePath;
  /// After training: the best model as ONNX (an imported model only),
  /// optionally with sparse initializers.
  std::string exportPath;
  bool exportSparse = false;
  /// Instead of training: write the training step (compiled ahead of time
  /// for `device`, with the initial state and the first batch) to this
  /// artifact directory, for bregman-run.
  std::string saveStepPath;
  /// After training: the best model's inference (compiled ahead of time
  /// for `device`, linear layers on their CSR as sparseExec chooses, the
  /// first test batch of evalBatchSize as its example input) written to
  /// this artifact directory, for bregman-run --input. Classifiers only.
  std::string saveInferPath;
  /// After every epoch: the architecture as a picture (the DenseNet's
  /// connection matrix) written as DIR/connections-epoch-NNN.png. Empty:
  /// none.
  std::string picturesDir;
};

/// `config` with every unset setting taken from the reference settings of
/// its model, optimizer and data set. Throws an Error naming a setting that
/// has no value (e.g. the data directory of a data set without a default).
TrainConfig resolveDefaults(TrainConfig config);

/// Throws an Error naming the option and its value when a numeric setting
/// of a resolved config is not finite or outside its range (NaN included:
/// it would silently switch a feature off or poison the weights). The one
/// check, called by resolveDefaults, so every user of the Trainer gets it.
void validateConfig(const TrainConfig &config);

/// One line per setting that has a reference default, saying what the
/// default is and what it depends on (for --help).
std::string describeDefault(const std::string &setting);

/// Whether a resolved config trains a restoration task (denoise, deblur).
bool isRestoration(const TrainConfig &config);

/// The optimizer names, the data set names, the task names (for the command
/// line's choices).
std::vector<std::string> optimizerNames();
std::vector<std::string> datasetNames();
std::vector<std::string> taskNames();

/// The sparse initialisation of a resolved config.
nn::SparseInit sparseInit(const TrainConfig &config);

/// The parameter groups of a resolved config for a model with `params`:
/// the extra groups of config.groups, "skips" (the skip-encoder's skip
/// weights, l1 with config.skipLambda, when there are any), "conv" (4-D
/// weights, when there are any), "weights" and "biases" (unregularized), in
/// that order.
std::vector<optim::Group> parameterGroups(const TrainConfig &config,
                                          const Params &params);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_CONFIG_H
