// Neural architecture search by sparsity (NAS.md §1): the zoo's DenseNet on
// Fashion-MNIST, trained with AdaBreg and l1_l2_conv kernel groups from a
// kernel-sparse start (p = 0.03). After every epoch it prints, per
// convolution, which blocks of input channels (which dense connections)
// still have non-zero kernels, and draws that matrix as a PNG.
//
//   densenet-nas [--data DIR] [--epochs N] [--steps N] [--pictures DIR]
//
// --steps N trains for about N steps in all (one epoch of N batches, or
// --epochs E of N/E) and evaluates on 1,000 test images (a quick run, e.g. in
// CI).
#include "bregman/models/DenseNet.h"
#include "bregman/train/Trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

using namespace bregman;

namespace {

struct Options {
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
  std::optional<int> epochs; // default 10, or 1 with --steps
  long steps = 0;            // 0: the whole training set
  std::string pictures = ".";
};

/// `value` of `flag` as a whole number of at least `least`.
long count(const std::string &flag, const std::string &value, long least) {
  size_t used = 0;
  long n = 0;
  try {
    n = std::stol(value, &used);
  } catch (const std::exception &) {
  }
  if (used != value.size() || value.empty() || n < least)
    throw std::runtime_error(flag + " " + value + ": expected a whole number >= " +
                             std::to_string(least));
  return n;
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf("usage: densenet-nas [--data DIR] [--epochs N] [--steps N] "
                  "[--pictures DIR]\n");
      std::exit(0);
    }
    if (i + 1 >= argc)
      throw std::runtime_error(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--data")
      o.dataDir = value;
    else if (flag == "--epochs")
      o.epochs = int(count(flag, value, 1));
    else if (flag == "--steps")
      o.steps = count(flag, value, 1);
    else if (flag == "--pictures")
      o.pictures = value;
    else
      throw std::runtime_error("unknown option " + flag +
                               " (--data, --epochs, --steps, --pictures)");
  }
  return o;
}

/// The smallest number of images whose training part, once the validation
/// fraction is held out (rounded as the data loader rounds it), holds
/// `trainImages`: --steps N then trains exactly N full batches an epoch.
int64_t imagesFor(int64_t trainImages, const train::TrainConfig &config) {
  int64_t n = trainImages;
  while (n - std::llround(config.valFraction * double(n)) < trainImages)
    ++n;
  return n;
}

} // namespace

int main(int argc, char **argv) try {
  Options options = parse(argc, argv);
  // The zoo's reference settings for the DenseNet: AdaBreg, lr 1e-3,
  // l1_l2_conv with λ 0.05 on the kernels, kernel-sparse init p 0.03, r 5.
  train::TrainConfig config;
  config.model = "densenet";
  config.dataDir = options.dataDir;
  config.epochs = options.epochs.value_or(options.steps > 0 ? 1 : 10);
  if (options.steps > 0) {
    long perEpoch = std::max(1L, options.steps / config.epochs);
    config.trainLimit = imagesFor(perEpoch * config.batchSize, config);
    config.testLimit = 1000; // a quick run evaluates on 1,000 test images
  }
  train::Trainer trainer(config, std::cout);
  models::DenseNet net; // the same architecture, to read the parameters
  std::filesystem::create_directories(options.pictures);
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    train::EpochMetrics m = trainer.runEpoch(epoch);
    models::ConnectionMatrix connections = net.connections(trainer.params());
    std::string png = options.pictures + "/connections-epoch-" +
                      std::to_string(epoch) + ".png";
    models::writeConnectionPng(connections, png);
    // The Trainer's log already has the table (formatConnections).
    std::cout << "epoch " << epoch << ": test accuracy " << 100 * m.testAcc
              << "%, " << connections.switchedOff() << " of "
              << connections.connections()
              << " dense connections switched off, picture " << png << "\n";
  }
  return 0;
} catch (const std::exception &e) {
  std::cerr << "densenet-nas: " << e.what() << "\n";
  return 1;
}
