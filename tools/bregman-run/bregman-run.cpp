//===- bregman-run.cpp - Run or train a compiled step, runtime only -------===//
//
// bregman-run STEP_DIR [--steps N]: loads an artifact (Jitted::save,
// `bregman train --save-step`), runs N calls from its saved state, prints
// each call's scalar outputs and the time per call (--save OUT: then writes
// the state after the calls, warm-up call included, as an artifact).
//
// bregman-run STEP_DIR --train [--epochs N] [--data DIR] [--save OUT]: trains
// with it — the data set, batch inputs and loss outputs come from the
// manifest's "training" entry (bregman train writes it), batches from the
// same seeded split and shuffle as `bregman train`, so an epoch reproduces
// its training figures; --save writes the trained state as an artifact.
//
// bregman-run INFER_DIR --input x.pb [--output y.pb]: runs an inference
// artifact (`bregman run model.onnx --save-artifact`) on TensorProto files,
// one per graph input, prints its outputs as `bregman run` does and writes
// them (runtime/Inference.h); without --input, --steps calls on the example
// input it was saved with, timed.
//
// No MLIR or LLVM in this process: the runtime core, the IDX reader, and for
// a CUDA artifact the NVIDIA driver, cuBLAS and cuDNN, found at run time.
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Dataset.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CudaMath.h"
#include "bregman/runtime/Device.h"
#include "bregman/runtime/Environment.h"
#include "bregman/runtime/Inference.h"
#include "bregman/runtime/SafeWrite.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

using namespace bregman;

namespace {

int train(const std::string &dir, int epochs, const std::string &dataDir,
          const std::string &saveDir) {
  std::unique_ptr<runtime::Artifact> step = runtime::Artifact::load(dir);
  if (step->training.empty())
    throw std::runtime_error(dir + "/manifest.json: no \"training\" entry (save "
                                   "the step with bregman train --save-step)");
  // A --save directory that is not ours is refused before training, not
  // after it (saveTo checks again when it writes).
  std::error_code ec;
  if (!saveDir.empty() && std::filesystem::is_directory(saveDir, ec) &&
      !std::filesystem::is_empty(saveDir, ec))
    if (std::string why = runtime::artifactOwnership(saveDir); !why.empty())
      throw runtime::WriteError("saving the artifact", saveDir,
                                why + "; nothing was changed");
  runtime::TrainingSpec t = runtime::parseTrainingEntry(
      step->training, step->inputs, step->outputs, dir + "/manifest.json");
  if (t.dataset != "fashion-mnist" && t.dataset != "mnist")
    throw std::runtime_error("bregman-run trains on fashion-mnist and mnist "
                             "artifacts; this one is for " +
                             t.dataset);
  data::DataSplits splits = data::loadMnistLike(
      dataDir.empty() ? t.dataDir : dataDir, data::Normalization{t.mean, t.std},
      t.seed, t.valFraction, t.trainLimit);
  if (splits.train.count == 0)
    throw std::runtime_error(dir + ": no training images left after the "
                                   "validation split");
  int64_t batch = t.batch, features = splits.train.features();
  size_t xInput = t.xInput, yInput = t.yInput;
  size_t lossOutput = t.lossOutput, correctOutput = t.correctOutput;
  if (step->inputs.at(xInput).bytes != size_t(batch * features) * sizeof(float) ||
      step->inputs.at(yInput).bytes != size_t(batch) * sizeof(int32_t))
    throw std::runtime_error(dir + ": the batch inputs do not fit batches of " +
                             std::to_string(batch) + " images of " +
                             std::to_string(features) + " values");
  std::printf("%s: %s on %s; %lld training images, batches of %lld\n",
              dir.c_str(), step->name.c_str(), step->device.c_str(),
              static_cast<long long>(splits.train.count),
              static_cast<long long>(batch));
  data::Batcher batcher(splits.train, batch, /*shuffle=*/true, t.seed);
  // The step's shapes are fixed: the last batch is filled up with the
  // epoch's first examples, as `bregman train --last-batch fill` does (only
  // a training set smaller than a batch is skipped).
  batcher.setFillLastBatch(true);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    batcher.startEpoch(epoch);
    double lossSum = 0, correct = 0;
    int64_t seen = 0, skipped = 0;
    while (true) {
      // Written into the host copies: uploaded by the step.
      auto *x = static_cast<float *>(step->mutableInput(xInput).data());
      auto *y = static_cast<int32_t *>(step->mutableInput(yInput).data());
      int64_t n = batcher.nextInto(x, y);
      if (n == 0)
        break;
      if (n < batch) { // the step's shapes are fixed
        skipped += n;
        continue;
      }
      step->step();
      double loss = step->scalarOutput(lossOutput);
      if (!std::isfinite(loss))
        throw std::runtime_error("the loss became " + std::to_string(loss) +
                                 " in epoch " + std::to_string(epoch));
      lossSum += loss * n;
      correct += step->scalarOutput(correctOutput);
      seen += n;
    }
    if (seen == 0)
      throw std::runtime_error(dir + ": " + std::to_string(skipped) +
                               " training images, fewer than one batch of " +
                               std::to_string(batch) + ": nothing to train");
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    std::printf("epoch %3d/%d  train loss %.4f acc %.2f%%  %.1fs%s\n", epoch,
                epochs, lossSum / seen, 100.0 * correct / seen, seconds,
                skipped ? ("  (" + std::to_string(skipped) +
                           " images of a partial batch skipped)")
                              .c_str()
                        : "");
  }
  if (!saveDir.empty()) {
    step->saveTo(saveDir);
    std::printf("saved the trained state to %s\n", saveDir.c_str());
  }
  return 0;
}

/// The device the artifact in `dir` was compiled for (its manifest's).
std::string artifactDevice(const std::string &dir) {
  std::string path = dir + "/manifest.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return runtime::parseArtifactManifest(text, path).device;
}

/// Times `copies` device-to-device copies of `bytes` (the yardstick of a
/// bandwidth-bound step: the GPU kit compares the fused update with it) on
/// the runtime's stream, after one untimed copy; prints ms per copy and the
/// bandwidth counting the read and the write.
void timeDeviceCopy(std::size_t bytes, int copies) {
  runtime::DeviceMemory &gpu = runtime::cudaDevice();
  void *src = gpu.allocate(bytes);
  void *dst = gpu.allocate(bytes);
  gpu.copyWithinDevice(dst, src, bytes);
  gpu.synchronize();
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < copies; ++k)
    gpu.copyWithinDevice(dst, src, bytes);
  gpu.synchronize();
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count() /
              copies;
  gpu.release(src);
  gpu.release(dst);
  std::printf("device copy of %zu bytes: %.4f ms per copy, %.1f GB/s (read "
              "and write)\n",
              bytes, ms, 2.0 * double(bytes) / (ms * 1e6));
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Run or train a compiled bregman step, or run a compiled "
               "inference (an artifact directory), with the runtime alone"};
  std::string dir, dataDir, saveDir;
  std::vector<std::string> inputFiles, outputFiles;
  int steps = 10, epochs = 1;
  bool quiet = false, training = false, tf32 = false;
  app.add_option("artifact", dir, "The artifact directory")->required();
  app.add_option("--steps", steps, "Calls to run (without --train)")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  app.add_flag("--quiet", quiet, "Print only the timing (without --train)");
  app.add_option("--input", inputFiles,
                 "Inference artifact: a TensorProto file for each graph "
                 "input, in order; runs once on them");
  app.add_option("--output", outputFiles,
                 "Inference artifact: write each output as a TensorProto "
                 "file here");
  app.add_flag("--train", training,
               "Train on the data set the manifest names");
  app.add_option("--epochs", epochs, "Epochs (with --train)")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  app.add_option("--data", dataDir,
                 "The data set's directory (with --train; default: the one "
                 "the step was saved with)");
  app.add_option("--save", saveDir,
                 "Afterwards (training, or the calls without --train): write "
                 "the state as an artifact here; without --train it is the "
                 "state after every call made, the untimed warm-up call "
                 "included (--steps 1 saves the state after 2 calls)");
  app.add_flag("--tf32", tf32, runtime::kTf32Help);
  std::size_t copyBytes = 0;
  app.add_option("--copy-bytes", copyBytes,
                 "After the calls (CUDA): time --steps device-to-device "
                 "copies of this many bytes, the bandwidth yardstick")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 36));
  CLI11_PARSE(app, argc, argv);
  // Settings the libraries would abort on or misread, said first.
  if (std::string problem = runtime::environmentProblem(); !problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return 2;
  }
  if (tf32)
    runtime::setCudaTf32(true);
  // The boundary: every failure becomes a message and exit status 1, never
  // an abort (runArtifactCommand reports its own errors the same way).
  try {
    if (!inputFiles.empty() || !outputFiles.empty()) {
      if (training || !saveDir.empty())
        throw std::runtime_error("--input and --output run an inference "
                                 "artifact once; --train and --save do not "
                                 "go with them");
      return runtime::runInferenceCommand(dir, inputFiles, outputFiles);
    }
    if (!training) {
      // Said before the calls, not after them.
      if (copyBytes > 0)
        if (std::string device = artifactDevice(dir); device != "cuda")
          throw std::runtime_error(
              "--copy-bytes times device-to-device copies beside a CUDA "
              "artifact's calls; " +
              dir + " is for " + device);
      int status = runtime::runArtifactCommand(dir, steps, quiet, saveDir);
      if (status == 0 && copyBytes > 0)
        timeDeviceCopy(copyBytes, steps);
      return status;
    }
    return train(dir, epochs, dataDir, saveDir);
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: an unexpected failure (not a std::exception)\n";
  }
  return 1;
}
