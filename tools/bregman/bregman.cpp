//===- bregman.cpp - The bregman command line -----------------------------===//
//
// `bregman train`: trains a sparse network with Bregman iterations.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"
#include "bregman/bregman.h"
#include "bregman/data/Idx.h"
#include "bregman/train/Trainer.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CudaDriver.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <iostream>
#include <sstream>

using namespace bregman;

static std::vector<int64_t> parseSizes(const std::string &text) {
  std::vector<int64_t> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
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

/// `bregman inspect model.onnx`.
static int inspectModel(const std::string &path) {
  try {
    onnx::OnnxModel model = onnx::OnnxModel::load(path);
    fmt::print("{}: opset {}\n", path, model.opsetVersion());
    for (const onnx::ValueSpec &v : model.inputs())
      fmt::print("  input  {} {}{}\n", v.name, dtypeName(v.dtype), shapeString(v.shape));
    for (const onnx::ValueSpec &v : model.outputs())
      fmt::print("  output {} {}{}\n", v.name, dtypeName(v.dtype), shapeString(v.shape));
    fmt::print("\n{:<28} {:<20} {:<20} {:>12} {:>9}\n", "node", "op", "output shape",
               "parameters", "density");
    int64_t total = 0, nonZero = 0;
    std::map<std::string, int> ops;
    for (const onnx::NodeSummary &n : model.summary()) {
      ++ops[n.opType];
      total += n.parameters;
      nonZero += n.nonZero;
      std::string density =
          n.parameters ? fmt::format("{:.4f}", double(n.nonZero) / double(n.parameters)) : "";
      fmt::print("{:<28} {:<20} {:<20} {:>12} {:>9}\n",
                 n.name.empty() ? "(unnamed)" : n.name.substr(0, 28), n.opType,
                 n.outputShape.empty() ? "" : shapeString(n.outputShape),
                 n.parameters ? std::to_string(n.parameters) : "", density);
    }
    std::vector<std::string> counts;
    for (const auto &[op, count] : ops)
      counts.push_back(fmt::format("{} {}", op, count));
    fmt::print("\n{} nodes ({}); {} parameters, {} non-zero (density {:.4f})\n",
               model.summary().size(), fmt::join(counts, ", "), total, nonZero,
               total ? double(nonZero) / double(total) : 0.0);
    if (model.unsupported().empty()) {
      fmt::print("every node is supported\n");
    } else {
      fmt::print("not supported ({}):\n", model.unsupported().size());
      for (const std::string &u : model.unsupported())
        fmt::print("  {}\n", u);
    }
    return 0;
  } catch (const Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

/// `bregman run model.onnx --input x.pb [--output y.pb]`.
static int runOnnx(const std::string &path, const std::vector<std::string> &inputFiles,
                   const std::vector<std::string> &outputFiles) {
  try {
    onnx::OnnxModel model = onnx::OnnxModel::load(path);
    if (inputFiles.size() != model.inputs().size())
      throw Error(fmt::format("{} has {} inputs, {} --input files given", path,
                              model.inputs().size(), inputFiles.size()));
    Params inputs;
    for (size_t i = 0; i < inputFiles.size(); ++i)
      inputs.add(model.inputs()[i].name, onnx::readTensorProto(inputFiles[i]));
    auto infer = jit([&model](const Params &w, const Params &c, const Params &in) {
      return model.apply(w, c, in);
    }, JitOptions{{}, "onnx_run"});
    Params outputs = infer(model.weights(), model.constants(), inputs);
    for (size_t i = 0; i < model.outputs().size(); ++i) {
      const std::string &name = model.outputs()[i].name;
      const Tensor &t = outputs.at(name);
      fmt::print("output {} {}{}\n", name, dtypeName(t.dtype()), shapeString(t.shape()));
      if (i < outputFiles.size())
        onnx::writeTensorProto(outputFiles[i], t, name);
    }
    return 0;
  } catch (const Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

int main(int argc, char **argv) {
  CLI::App app{"bregman: sparse neural networks trained with Bregman "
               "iterations, compiled through MLIR"};
  app.require_subcommand(1);

  train::TrainConfig config;
  CLI::App *trainCmd = app.add_subcommand(
      "train", "Train a model with LinBreg and report accuracy and density "
               "per epoch (defaults: the reference MLP on Fashion-MNIST); "
               "`bregman retrain model.onnx ...` retrains an ONNX model sparse");
  trainCmd->alias("retrain");
  trainCmd->add_option("onnx", config.onnxPath,
                    "An ONNX model to retrain instead of --model (retrain): "
                    "its graph, with --from-pretrained its weights, else a "
                    "sparse initialization (--sparse-init p)")
      ->check(CLI::ExistingFile);
  trainCmd->add_flag("--from-pretrained", config.fromPretrained,
                  "Retrain from the ONNX model's weights (v initialized from "
                  "them, ALGORITHMS.md §2) instead of a sparse init");
  trainCmd->add_option("--export", config.exportPath,
                    "After retraining, write the best model as ONNX here "
                    "(checker-clean, zeros kept)");
  trainCmd->add_flag("--sparse-initializers", config.exportSparse,
                  "Store the exported weights as ONNX sparse_initializers");
  std::string hidden = "200,80";
  std::string dataset = "fashion-mnist";
  std::string dataDir;
  double mean = std::nan(""), stddev = std::nan("");
  bool noProgress = false;
  trainCmd->add_option("--model", config.model,
                    "Model: mlp (--hidden) or convnet (the reference ConvNet "
                    "of ALGORITHMS.md §7; its defaults: lr 0.07, lambda 0.5, "
                    "init p 0.01 with r 10, kernels as groups), resnet18 (the "
                    "CIFAR variant) or vgg (small, with batch norm)")
      ->check(CLI::IsMember({"mlp", "convnet", "resnet18", "vgg"}))
      ->capture_default_str();
  trainCmd->add_option("--width", config.width,
                    "Channels of the first stage of resnet18 and vgg (64: the "
                    "standard ResNet-18)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--hidden", hidden,
                    "Hidden layer widths of the MLP, comma separated")
      ->capture_default_str();
  trainCmd->add_option("--optimizer", config.optimizer,
                    "Optimizer: the Bregman methods linbreg and adabreg, the "
                    "proximal baseline proxsgd, the unregularized sgd and adam")
      ->check(CLI::IsMember({"linbreg", "adabreg", "proxsgd", "sgd", "adam"}))
      ->capture_default_str();
  std::string reg;
  trainCmd->add_option("--reg", reg,
                    "Regularizer on the weights (biases: none): l1, l1_pos, "
                    "l1_l2 (rows of each weight are groups: node sparsity), "
                    "l1_l1_l2 (both; --lambda2 is the row strength) or none; "
                    "default l1, none for sgd and adam")
      ->check(CLI::IsMember({"none", "l1", "l1_pos", "l1_l2", "l1_l1_l2"}));
  trainCmd->add_option("--conv-reg", config.convRegularizer,
                    "Regularizer on the convolution weights (their own group "
                    "'conv', with the weights' lr and lambda): l1_l2_conv "
                    "(k×k kernels are groups), l1, l1_pos or none")
      ->check(CLI::IsMember({"none", "l1", "l1_pos", "l1_l2_conv"}))
      ->capture_default_str();
  trainCmd->add_option("--dataset", dataset,
                    "Data set (sets the normalization): fashion-mnist, mnist "
                    "(IDX files) or cifar10 (the binary version; per-channel "
                    "normalization, random crops and flips in training)")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10"}))
      ->capture_default_str();
  trainCmd->add_option("--data", dataDir,
                    "Directory with the IDX files (train-images-idx3-ubyte"
                    "[.gz], ...) or the CIFAR-10 batches (data_batch_1.bin .. "
                    "data_batch_5.bin, test_batch.bin); default for "
                    "fashion-mnist: /usr/share/datasets/fashion-mnist");
  trainCmd->add_option("--mean", mean, "Normalization mean (default: the data "
                                    "set's, 0.5 / 0.1307)");
  trainCmd->add_option("--std", stddev, "Normalization std (default: the data "
                                     "set's, 0.5 / 0.3081)")
      ->check(CLI::PositiveNumber);
  float lr = 0;
  trainCmd->add_option("--lr", lr,
                    "Learning rate τ (default 0.1; 1e-3 for adabreg and adam)")
      ->check(CLI::PositiveNumber);
  trainCmd->add_option("--delta", config.delta, "Elastic-net scale δ")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--lambda", config.lambda,
                    "l1 strength λ on the weights (biases: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  trainCmd->add_option("--lambda2", config.lambda2,
                    "Row strength λ₂ of --reg l1_l1_l2")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  trainCmd->add_option("--momentum", config.momentum,
                    "Momentum β in [0, 1) (linbreg, sgd)")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  trainCmd->add_option("--beta1", config.beta1, "β₁ of adabreg and adam")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  trainCmd->add_option("--beta2", config.beta2, "β₂ of adabreg and adam")
      ->check(CLI::Range(0.0f, 0.999999f))
      ->capture_default_str();
  trainCmd->add_option("--eps", config.eps, "ε of adabreg and adam")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--epochs", config.epochs, "Epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--batch-size", config.batchSize, "Mini-batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--eval-batch-size", config.evalBatchSize,
                    "Batch size for validation and test")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--seed", config.seed,
                    "Seed of initialization, split and shuffling")
      ->capture_default_str();
  double initP = 0, initR = 0;
  trainCmd->add_option("--init-p,--sparse-init", initP,
                    "Sparse init: probability of a non-zero weight (default "
                    "0.01; 1, dense, for sgd and adam); with --reg l1_l2 the "
                    "fraction of non-zero rows")
      ->check(CLI::Range(1e-9, 1.0));
  trainCmd->add_option("--init-r", initR,
                    "Sparse init: scale r of the non-zero weights (default "
                    "0.7/sqrt(p), 7 for p = 0.01; 1 for sgd and adam)")
      ->check(CLI::PositiveNumber);
  trainCmd->add_option("--train-limit", config.trainLimit,
                    "Use only the first N training images (before the split)");
  trainCmd->add_option("--report", config.reportPath,
                    "Write one JSON object per epoch to this file");
  bool noPlateau = false;
  trainCmd->add_flag("--no-lr-plateau", noPlateau,
                  "Keep the learning rate fixed (default: halve it when the "
                  "training loss stalls for 5 epochs)");
  trainCmd->add_option("--lambda-target", config.lambdaTarget,
                    "Enable the λ schedule: raise λ while the net density is "
                    "above this target, lower it below (ALGORITHMS.md §5)")
      ->check(CLI::Range(0.0, 1.0));
  trainCmd->add_option("--lambda-increment", config.lambdaIncrement,
                    "λ schedule: step of λ")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--lambda-warmup", config.lambdaWarmup,
                    "λ schedule: epochs before the first change")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  trainCmd->add_option("--lambda-cooldown", config.lambdaCooldown,
                    "λ schedule: epochs between changes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  trainCmd->add_option("--prune-density", config.pruneDensity,
                    "Magnitude pruning baseline: after --epochs, keep this "
                    "fraction of the weights and retrain the survivors")
      ->check(CLI::Range(0.0, 1.0));
  trainCmd->add_flag("--prune-rows", config.pruneGroups,
                  "Prune whole rows (neurons) instead of single weights");
  trainCmd->add_option("--retrain-epochs", config.retrainEpochs,
                    "Epochs of retraining after pruning")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  trainCmd->add_option("--threshold", config.threshold,
                    "Thresholding baseline: at the end, zero the best model's "
                    "weights with |θ| below this and evaluate it again")
      ->check(CLI::NonNegativeNumber);
  trainCmd->add_option("--group", config.groups,
                    "An extra parameter group, first match wins: "
                    "NAME:PATTERNS[:key=value,...], e.g. "
                    "'hidden:fc1.weight,fc2.weight:reg=l1_l2,lambda=0.01'; keys "
                    "reg, lr, delta, lambda, lambda2, momentum, beta1, beta2, "
                    "eps; the "
                    "rest of the weights and the biases keep the defaults");
  trainCmd->add_option("--checkpoint", config.checkpointPath,
                    "Write a checkpoint to this file after every epoch "
                    "(atomically: a crash leaves the previous one intact)");
  trainCmd->add_option("--resume", config.resumePath,
                    "Continue the run saved in this checkpoint (same model, "
                    "optimizer and settings; --epochs is the total)")
      ->check(CLI::ExistingFile);
  std::string device = "cpu";
  trainCmd->add_option("--device", device,
                    "Where the step runs: cpu, cuda (an NVIDIA GPU), auto "
                    "(cuda if a GPU is present, else the CPU) or host-mirror "
                    "(the GPU program with its kernels run on the CPU and "
                    "separate memory standing in for the GPU's: checks the "
                    "GPU path without one; slow)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto", "host-mirror"}))
      ->capture_default_str();
  trainCmd->add_flag("--no-progress", noProgress, "Do not draw the progress bar");
  trainCmd->add_option("--save-step", config.saveStepPath,
                    "Do not train: write the training step, compiled ahead of "
                    "time for --device, with the initial state and the first "
                    "batch, to this artifact directory (run it with "
                    "bregman-run)");
  trainCmd->add_option("--cuda-chip", config.cudaChip,
                    "With --save-step --device cuda on a machine without a "
                    "GPU: the generation to compile for (sm_90, sm_80, ...)");

  CLI::App *inspect = app.add_subcommand(
      "inspect", "Summarize an ONNX model: operators, shapes, parameters and "
                 "density per layer, and what the importer cannot run");
  std::string inspectPath;
  inspect->add_option("model", inspectPath, "The .onnx file")->required();

  CLI::App *run = app.add_subcommand(
      "run", "Run an ONNX model (compiled inference) on input tensors stored "
             "as ONNX TensorProto files, one per graph input in order; or a "
             "compiled step (an artifact directory from --save-step), as "
             "bregman-run does");
  std::string runModel;
  std::vector<std::string> runInputs, runOutputs;
  int runSteps = 10;
  run->add_option("model", runModel, "The .onnx file or artifact directory")
      ->required()
      ->check(CLI::ExistingPath);
  run->add_option("--input", runInputs,
                  "TensorProto file of each input (ONNX)");
  run->add_option("--steps", runSteps, "Calls to run (artifact)")
      ->check(CLI::PositiveNumber);
  run->add_option("--output", runOutputs,
                  "Write each output as a TensorProto file here");

  CLI11_PARSE(app, argc, argv);

  if (inspect->parsed())
    return inspectModel(inspectPath);
  if (run->parsed()) {
    if (std::filesystem::is_directory(runModel))
      return runtime::runArtifactCommand(runModel, runSteps, /*quiet=*/false);
    if (runInputs.empty()) {
      std::cerr << "error: run " << runModel << ": --input is required for "
                << "an ONNX model\n";
      return 2;
    }
    return runOnnx(runModel, runInputs, runOutputs);
  }

  try {
    config.hidden = parseSizes(hidden);
  } catch (const CLI::Error &e) {
    return app.exit(e);
  }
  bool adaptive = config.optimizer == "adabreg" || config.optimizer == "adam";
  bool unregularized = config.optimizer == "sgd" || config.optimizer == "adam";
  bool convnet = config.model == "convnet";
  // The reference settings of each model (ALGORITHMS.md §7).
  config.lr = lr > 0 ? lr : adaptive ? 1e-3f : convnet ? 0.07f : 0.1f;
  if (convnet && trainCmd->get_option("--lambda")->count() == 0)
    config.lambda = 0.5f;
  config.regularizer = !reg.empty() ? reg : unregularized ? "none" : "l1";
  if (unregularized && trainCmd->get_option("--conv-reg")->count() == 0)
    config.convRegularizer = "none";
  // The unregularized baselines start dense (Kaiming), as in the reference.
  config.initP = initP > 0 ? initP : unregularized ? 1.0 : 0.01;
  config.initR = initR > 0          ? initR
                 : unregularized ? 1.0
                 : convnet       ? 10.0
                                 : 0.7 / std::sqrt(config.initP);
  config.initPerKernel = config.convRegularizer == "l1_l2_conv";
  config.initPerRow =
      config.regularizer == "l1_l2" || config.regularizer == "l1_l1_l2";
  config.dataset = dataset;
  if (dataset == "fashion-mnist") {
    config.mean = 0.5;
    config.std = 0.5;
    config.dataDir = "/usr/share/datasets/fashion-mnist";
  } else {
    config.mean = 0.1307;
    config.std = 0.3081;
    config.dataDir.clear();
  }
  if (!dataDir.empty())
    config.dataDir = dataDir;
  if (config.dataDir.empty()) {
    std::cerr << "error: --data DIR is required for --dataset " << dataset
              << "\n";
    return 2;
  }
  if (!std::isnan(mean))
    config.mean = mean;
  if (!std::isnan(stddev))
    config.std = stddev;
  config.progress = !noProgress;
  config.lrPlateau = !noPlateau;

  if (device == "host-mirror") {
    config.device = Device::HostMirror;
  } else if (device == "cuda" && !config.cudaChip.empty()) {
    config.device = Device::Cuda; // ahead of time, no GPU needed
  } else if (device != "cpu") {
    runtime::cuda::DeviceInfo gpu = runtime::cuda::probeDevices();
    if (gpu.available) {
      config.device = Device::Cuda;
      std::cout << "device: " << gpu.name << " (sm_" << gpu.major << gpu.minor
                << ")\n";
    } else if (device == "cuda") {
      std::cerr << "error: --device cuda: " << gpu.reason << "\n";
      return 1;
    } else {
      std::cout << "device: " << gpu.reason << "; running on the CPU\n";
    }
  }
  try {
    train::train(config, std::cout);
  } catch (const Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const data::DataError &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::invalid_argument &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
