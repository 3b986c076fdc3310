//===- TrainCommand.cpp - `bregman train` and `bregman retrain` -----------===//
//
// Parses options into a train::TrainConfig and runs the Trainer. Defaults
// are the config's own (or, for the settings that depend on the model,
// optimizer and data set, train::resolveDefaults'): nothing here decides a
// modelling default.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "bregman/Error.h"
#include "bregman/Trace.h"
#include "bregman/models/Zoo.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/CudaMath.h"
#include "bregman/runtime/Profile.h"
#include "bregman/train/Trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <sstream>

namespace bregman::tools {

namespace {

/// An option that sets `field` only when given (unset: the reference
/// default, described in the help text).
template <typename T>
CLI::Option *addOptional(CLI::App *app, const std::string &name,
                         std::optional<T> &field, const std::string &help) {
  return app->add_option_function<T>(
      name, [&field](const T &value) { field = value; }, help);
}

/// Widths as digits separated by commas ("" is no hidden layer); "20,"
/// and "+20" were taken.
std::vector<int64_t> parseSizes(const std::string &text) {
  std::vector<int64_t> sizes;
  if (!text.empty() && text.back() == ',')
    throw CLI::ValidationError("--hidden",
                               fmt::format("'{}' ends with a comma", text));
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      if (item.empty() ||
          item.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument(item);
      long long v = std::stoll(item, &used);
      if (used != item.size() || v <= 0)
        throw std::invalid_argument(item);
      sizes.push_back(v);
    } catch (const std::exception &) {
      throw CLI::ValidationError(
          "--hidden", fmt::format("'{}' is not a positive layer width", item));
    }
  }
  return sizes;
}

std::string choices(const std::vector<std::string> &names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

/// cpu, host-mirror, or cuda / auto after probing for a GPU (ahead of time
/// with a chip named, no GPU is needed). Throws for cuda without a GPU.
Device resolveDevice(const std::string &name, const std::string &cudaChip) {
  if (name == "host-mirror")
    return Device::HostMirror;
  if (name == "cuda" && !cudaChip.empty())
    return Device::Cuda;
  if (name == "cpu")
    return Device::Cpu;
  runtime::cuda::DeviceInfo gpu = runtime::cuda::probeDevices();
  if (gpu.available) {
    std::cout << "device: " << gpu.name << " (sm_" << gpu.major << gpu.minor
              << ")\n";
    return Device::Cuda;
  }
  if (name == "cuda")
    throw Error("--device cuda: " + gpu.reason);
  std::cout << "device: " << gpu.reason << "; running on the CPU\n";
  return Device::Cpu;
}

} // namespace

TrainCommand::TrainCommand(CLI::App &app) {
  command = app.add_subcommand(
      "train", "Train a model with Bregman iterations and report accuracy "
               "and density per epoch (defaults: the reference MLP on "
               "Fashion-MNIST, LinBreg); `bregman retrain model.onnx ...` "
               "retrains an ONNX model sparse");
  command->alias("retrain");
  addModelOptions();
  addOptimizerOptions();
  addInitOptions();
  addDataOptions();
  addRunOptions();
  addBaselineOptions();
  addOutputOptions();
}

void TrainCommand::addModelOptions() {
  command->add_option("onnx", config.onnxPath,
                      "An ONNX model to retrain instead of --model (retrain): "
                      "its graph, with --from-pretrained its weights, else a "
                      "sparse initialization (--sparse-init p)")
      ->check(CLI::ExistingFile);
  command->add_flag("--from-pretrained", config.fromPretrained,
                    "Retrain from the ONNX model's weights (v initialized from "
                    "them, ALGORITHMS.md §2) instead of a sparse init");
  command->add_option("--train-operands", trainOperands,
                      "Retrain: float initializers read only as plain operands "
                      "(a position table, a cls token, a learned scale): auto "
                      "trains those PyTorch trains (module-path name, read as "
                      "data; `bregman inspect` lists the verdicts), none keeps "
                      "them all as imported")
      ->check(CLI::IsMember({"auto", "none"}))
      ->capture_default_str();
  command->add_option("--freeze", config.freeze,
                      "Retrain: keep these float initializers (ONNX names, "
                      "comma-separated) as imported")
      ->delimiter(',');
  command->add_option("--unfreeze", config.unfreeze,
                      "Retrain: train these float initializers (ONNX "
                      "names, comma-separated) that the rule keeps as "
                      "imported (an exporter's constant name, an equal-valued "
                      "tensor read by several nodes); not attribute-like "
                      "inputs such as Pow's exponent")
      ->delimiter(',');
  std::vector<std::string> models;
  for (const models::ZooEntry &e : models::zoo())
    models.push_back(fmt::format("{} ({})", e.name, e.summary));
  command->add_option("--model", config.model,
                      "Model: " + choices(models) +
                          "; each has its reference settings of lr, lambda "
                          "and init")
      ->check(CLI::IsMember(models::modelNames()))
      ->capture_default_str();
  command
      ->add_option("--width", config.width,
                   "Channels of the first stage of resnet18 and vgg (64: "
                   "the standard ResNet-18); the token width of vit (a "
                   "multiple of its 4 heads)")
      ->check(kPositive)
      ->capture_default_str();
  command
      ->add_option_function<std::string>(
          "--hidden",
          [this](const std::string &text) { config.hidden = parseSizes(text); },
          "Hidden layer widths of the MLP, comma separated")
      ->default_str(fmt::format("{}", fmt::join(config.hidden, ",")));
  addOptional(command, "--task", config.task,
              "What the model learns: classify, or for the skip-encoder "
              "denoise (noisy input, clean target; SSIM in place of "
              "accuracy) or deblur (9x9 Gaussian blur, sigma 5, then noise) "
              "(default: the model's: denoise for skip-encoder, else "
              "classify)")
      ->check(CLI::IsMember(train::taskNames()));
  command
      ->add_option("--noise-std", config.noiseStd,
                   "denoise, deblur: std of the Gaussian noise, drawn once "
                   "per image")
      ->check(kNonNegative)
      ->capture_default_str();
  addOptional(command, "--skip-lambda", config.skipLambda,
              "l1 strength on the skip-encoder's skip weights (default: "
              "1.96 = 28*0.07, skips allowed; 1e10 forbids them)")
      ->check(kNonNegative);
}

void TrainCommand::addOptimizerOptions() {
  command->add_option("--optimizer", config.optimizer,
                      "Optimizer: the Bregman methods linbreg and adabreg, the "
                      "proximal baseline proxsgd, the unregularized sgd and "
                      "adam (" + train::describeDefault("optimizer") + ")")
      ->check(CLI::IsMember(train::optimizerNames()));
  addOptional(command, "--reg", config.regularizer,
              "Regularizer on the weights (biases: none): " +
                  choices(regularizerNames(2)) +
                  "; l1_l2: rows of each weight are groups (node sparsity), "
                  "l1_l1_l2 both (--lambda2 is the row strength); " +
                  train::describeDefault("reg"))
      ->check(CLI::IsMember(regularizerNames(2)));
  addOptional(command, "--conv-reg", config.convRegularizer,
              "Regularizer on the convolution weights (their own group "
              "'conv', with the weights' lr and lambda): " +
                  choices(regularizerNames(4)) +
                  "; l1_l2_conv: k×k kernels are groups; " +
                  train::describeDefault("conv-reg"))
      ->check(CLI::IsMember(regularizerNames(4)));
  addOptional(command, "--head-reg", config.headRegularizer,
              "Regularizer on the attention projections [heads, d, E] (their "
              "own group 'heads', with the weights' lr and lambda): " +
                  choices(regularizerNames(3)) +
                  "; l1_l2_heads: each head is a group; " +
                  train::describeDefault("head-reg"))
      ->check(CLI::IsMember(regularizerNames(3)));
  addOptional(command, "--lr", config.lr,
              "Learning rate τ (" + train::describeDefault("lr") + ")")
      ->check(kPositive);
  command->add_option("--delta", config.delta, "Elastic-net scale δ")
      ->check(kPositive)
      ->capture_default_str();
  addOptional(command, "--lambda", config.lambda,
              "l1 strength λ on the weights, biases none (" +
                  train::describeDefault("lambda") + ")")
      ->check(kNonNegative);
  command
      ->add_option("--lambda2", config.lambda2,
                   "Row strength λ₂ of --reg l1_l1_l2")
      ->check(kNonNegative)
      ->capture_default_str();
  command->add_option("--momentum", config.momentum,
                      "Momentum β in [0, 1) (linbreg, sgd)")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  command->add_option("--beta1", config.beta1, "β₁ of adabreg and adam")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  command->add_option("--beta2", config.beta2, "β₂ of adabreg and adam")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  command->add_option("--eps", config.eps, "ε of adabreg and adam")
      ->check(kPositive)
      ->capture_default_str();
  command->add_option("--group", config.groups,
                      "An extra parameter group, first match wins: "
                      "NAME:PATTERNS[:key=value,...], e.g. "
                      "'hidden:fc1.weight,fc2.weight:reg=l1_l2,lambda=0.01'; "
                      "keys reg, lr, delta, lambda, lambda2, momentum, beta1, "
                      "beta2, eps; the rest of the weights and the biases keep "
                      "the defaults");
}

void TrainCommand::addInitOptions() {
  addOptional(command, "--init-p,--sparse-init", config.initP,
              "Sparse init: probability of a non-zero weight, with --reg "
              "l1_l2 the fraction of non-zero rows (" +
                  train::describeDefault("init-p") + ")")
      ->check(CLI::Range(1e-9, 1.0));
  addOptional(command, "--init-r", config.initR,
              "Sparse init: scale r of the non-zero weights (" +
                  train::describeDefault("init-r") + ")")
      ->check(kPositive);
}

void TrainCommand::addDataOptions() {
  command->add_option("--dataset", config.dataset,
                      "Data set (sets the normalization): fashion-mnist, "
                      "mnist (IDX files) or cifar10 (the binary version; "
                      "per-channel normalization, random crops and flips in "
                      "training)")
      ->check(CLI::IsMember(train::datasetNames()))
      ->capture_default_str();
  addOptional(command, "--data", config.dataDir,
              "Directory with the IDX files (train-images-idx3-ubyte[.gz], "
              "...) or the CIFAR-10 batches (data_batch_1.bin .. "
              "data_batch_5.bin, test_batch.bin); " +
                  train::describeDefault("data"));
  addOptional(command, "--mean", config.mean,
              "Normalization mean (" + train::describeDefault("normalization") +
                  ")");
  addOptional(command, "--std", config.std, "Normalization std")
      ->check(kPositive);
  command->add_option("--batch-size", config.batchSize, "Mini-batch size")
      ->check(kPositive)
      ->capture_default_str();
  command
      ->add_option_function<std::string>(
          "--last-batch",
          [this](const std::string &v) { config.fillLastBatch = v == "fill"; },
          "The epoch's last batch when --batch-size does not divide the "
          "training set: partial (as PyTorch's DataLoader and the method's "
          "experiments) or fill (filled up with the epoch's first examples: "
          "the training step compiles for one batch shape, once)")
      ->check(CLI::IsMember({"partial", "fill"}))
      ->default_str("partial");
  command
      ->add_option("--eval-batch-size", config.evalBatchSize,
                   "Batch size for validation and test")
      ->check(kPositive)
      ->capture_default_str();
  command
      ->add_option("--sparse-exec", sparseExec,
                   "Linear layers run on the CSR of their weights (MLIR's "
                   "sparsifier, CPU), in the training step (the CSR made by "
                   "each step for the next) and in validation and test: off, "
                   "auto (in training: density below " +
                       fmt::format("{:g}", nn::kSparseExecTrainAutoDensity) +
                       ", measured by bench/sparse_train_bench, checked each "
                       "epoch; in evaluation: below the layer shape's "
                       "crossover, measured on this machine at first use and "
                       "cached; BREGMAN_SPARSE_CALIBRATION=off: below " +
                       fmt::format("{:g}", nn::kSparseExecAutoDensity) +
                       "; convolutions of one group, on the CSR of the "
                       "filter and of its transpose (vector loops over the "
                       "stored entries): density below the crossover of the "
                       "filter's "
                       "shape and geometry, measured on this machine at "
                       "first use and cached (forward with input gradient "
                       "in training, forward in evaluation), on")
      ->check(CLI::IsMember({"off", "auto", "on"}))
      ->capture_default_str();
  command->add_flag("--check-sparse", config.checkSparse,
                    "With --sparse-exec: run each training step on CSR also "
                    "densely from the same state and stop if they differ by "
                    "more than float32 rounding allows (1e-2, relative L2 "
                    "over the parameters or each kind of optimizer state; the "
                    "largest difference is printed per epoch); "
                    "about twice the step time");
  command->add_option("--seed", config.seed,
                      "Seed of initialization, split and shuffling")
      ->capture_default_str();
  command
      ->add_option("--train-limit", config.trainLimit,
                   "Use only the first N training images (before the "
                   "split)")
      ->check(kPositive);
  command
      ->add_option("--test-limit", config.testLimit,
                   "Evaluate on only the first N test images (quick runs)")
      ->check(kPositive);
}

void TrainCommand::addRunOptions() {
  command->add_option("--epochs", config.epochs, "Epochs")
      ->check(kPositive)
      ->capture_default_str();
  command->add_flag("--no-lr-plateau", noPlateau,
                    "Keep the learning rate fixed (default: halve it when the "
                    "training loss stalls for 5 epochs)");
  command->add_option("--lambda-target", config.lambdaTarget,
                      "Enable the λ schedule: raise λ while the net density "
                      "is above this target, lower it below (ALGORITHMS.md §5)")
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--lambda-increment", config.lambdaIncrement,
                   "λ schedule: step of λ")
      ->check(kPositive)
      ->capture_default_str();
  command
      ->add_option("--lambda-warmup", config.lambdaWarmup,
                   "λ schedule: epochs before the first change")
      ->check(kNonNegative)
      ->capture_default_str();
  command
      ->add_option("--lambda-cooldown", config.lambdaCooldown,
                   "λ schedule: epochs between changes")
      ->check(kPositive)
      ->capture_default_str();
  command->add_option("--device", device,
                      "Where the step runs: cpu, cuda (an NVIDIA GPU), auto "
                      "(cuda if a GPU is present, else the CPU) or "
                      "host-mirror (the GPU program with its kernels run on "
                      "the CPU and separate memory standing in for the GPU's: "
                      "checks the GPU path without one; slow)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto", "host-mirror"}))
      ->capture_default_str();
  command->add_option("--cuda-chip", config.cudaChip,
                      "With --save-step --device cuda on a machine without a "
                      "GPU: the generation to compile for (sm_90, sm_80, ...)");
  command->add_flag("--tf32", tf32, runtime::kTf32Help);
}

void TrainCommand::addBaselineOptions() {
  command
      ->add_option("--prune-density", config.pruneDensity,
                   "Magnitude pruning baseline: after --epochs, keep this "
                   "fraction of the weights and retrain the survivors")
      ->check(CLI::Range(0.0, 1.0))
      // 0 is the setting's "off" inside; given, it was ignored silently.
      ->check(CLI::Validator(
          [](std::string &text) -> std::string {
            double value = 1;
            return CLI::detail::lexical_cast(text, value) && value == 0
                       ? "0 would keep no weight; give a density in (0, 1]"
                       : "";
          },
          "DENSITY"));
  command->add_flag("--prune-rows", config.pruneGroups,
                    "Prune whole rows (neurons) instead of single weights");
  command
      ->add_option("--retrain-epochs", config.retrainEpochs,
                   "Epochs of retraining after pruning")
      ->check(kNonNegative)
      ->capture_default_str();
  command
      ->add_option("--threshold", config.threshold,
                   "Thresholding baseline: at the end, zero the best "
                   "model's weights with |θ| below this and evaluate it "
                   "again")
      ->check(kNonNegative);
}

void TrainCommand::addOutputOptions() {
  command->add_option("--report", config.reportPath,
                      "Write one JSON object per epoch to this file");
  command->add_option("--pictures", config.picturesDir,
                      "densenet: write the connection matrix (which dense "
                      "connections keep kernels) after every epoch as "
                      "DIR/connections-epoch-NNN.png (DIR made if missing)");
  command->add_flag("--no-progress", noProgress,
                    "Do not draw the progress bar");
  command->add_flag("--profile", profile,
                    "Print per epoch where the step's time goes (GEMM and "
                    "convolution libraries, generated code, dispatch, data) "
                    "and which layers ran on their CSR (as BREGMAN_PROFILE=1)");
  command->add_option("--checkpoint", config.checkpointPath,
                      "Write a checkpoint to this file after every epoch "
                      "(atomically: a crash leaves the previous one intact; "
                      "FILE.lock beside it while the run lasts, so that a "
                      "second run on FILE is refused)");
  command->add_option("--resume", config.resumePath,
                      "Continue the run saved in this checkpoint (same model, "
                      "optimizer and settings; --epochs is the total)")
      ->check(CLI::ExistingFile);
  command->add_option("--export", config.exportPath,
                      "After retraining, write the best model as ONNX here "
                      "(checker-clean, zeros kept)");
  command->add_flag("--sparse-initializers", config.exportSparse,
                    "Store the exported weights as ONNX sparse_initializers");
  command->add_option("--save-step", config.saveStepPath,
                      "Do not train: write the training step, compiled ahead "
                      "of time for --device, with the initial state and the "
                      "first batch, to this artifact directory (run it with "
                      "bregman-run)");
  command->add_option("--save-infer", config.saveInferPath,
                      "After training: write the best model's inference "
                      "(classifiers; --device, its linear layers on their CSR "
                      "as --sparse-exec chooses, the first test batch of "
                      "--eval-batch-size as example input) to this artifact "
                      "directory; bregman-run DIR --input x.pb runs it");
}

int TrainCommand::run() {
  // Silently the zoo's MLP was trained, or --model ignored.
  if (retrain && config.onnxPath.empty()) {
    std::cerr << "error: bregman retrain: give the ONNX model to retrain "
                 "(bregman retrain model.onnx [options]); bregman train "
                 "trains the zoo's models (--model)\n";
    return 2;
  }
  if (!config.onnxPath.empty() && command->count("--model") > 0) {
    std::cerr << "error: --model " << config.model << ": the model is the "
              << "ONNX file " << config.onnxPath << "; leave --model out\n";
    return 2;
  }
  config.progress = !noProgress;
  if (profile)
    runtime::enableProfiling();
  config.lrPlateau = !noPlateau;
  config.trainOperands = trainOperands == "auto";
  // --freeze and --from-pretrained without a model: validateConfig.
  config.sparseExec = sparseExec == "on"     ? nn::SparseExec::On
                      : sparseExec == "auto" ? nn::SparseExec::Auto
                                             : nn::SparseExec::Off;
  train::TrainConfig resolved;
  try {
    resolved = train::resolveDefaults(config);
  } catch (const Error &e) { // a setting the command line must give
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  resolved.device = resolveDevice(device, config.cudaChip);
  if (tf32) {
    runtime::setCudaTf32(true);
    std::cout << "tf32: on (cuBLAS and cuDNN calls on the GPU"
              << (resolved.device == Device::Cuda ? ")\n"
                                                  : "; this run is not on one)\n");
  }
  train::train(resolved, std::cout);
  return 0;
}

} // namespace bregman::tools
