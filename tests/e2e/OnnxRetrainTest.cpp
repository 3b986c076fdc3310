//===- OnnxRetrainTest.cpp - Retrained ONNX models with batch norm --------===//
//
// Issue 18 A1 and A2 on Fashion-MNIST (a few hundred steps of a 784-16-16-10
// MLP with two batch norms, built by the test as PyTorch exports it):
//  - the export holds the running statistics of the best epoch, and the
//    exported model evaluates to the test accuracy reported for that epoch;
//  - a model whose batch norms read tied initializers (γ = running variance,
//    β = running mean, shared by both layers, as torch.onnx.export writes a
//    fresh module) retrains exactly like the same model untied, and its
//    export writes every role back as a tensor of its own.
//
//===----------------------------------------------------------------------===//

#include "E2eTemp.h"
#include "OnnxModels.h"

#include "bregman/onnx/OnnxModel.h"
#include "bregman/train/Trainer.h"
#include "bregman/data/Dataset.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

using namespace bregman;
namespace fs = std::filesystem;

namespace {

const char *kFashionMnist = "/usr/share/datasets/fashion-mnist";

fs::path tempFile(const std::string &name) {
  return e2e::tempPath(name);
}

train::TrainConfig retrainConfig(const fs::path &model) {
  train::TrainConfig config;
  config.onnxPath = model.string();
  config.epochs = 3;
  config.trainLimit = 2000;
  config.initP = 0.2;
  config.progress = false;
  return config;
}

/// The test accuracy of the ONNX model at `path` as `bregman retrain
/// --from-pretrained` evaluates it before any step (its weights and running
/// statistics, in evaluation mode), on the splits of `config`.
double exportedTestAccuracy(train::TrainConfig config, const fs::path &path) {
  config.onnxPath = path.string();
  config.fromPretrained = true;
  config.exportPath.clear();
  std::ostringstream log;
  train::Trainer trainer(config, log);
  return trainer.evaluate(trainer.data().test);
}

bool sameValues(const Tensor &a, const Tensor &b) {
  std::vector<float> u = a.toVector<float>(), v = b.toVector<float>();
  return u.size() == v.size() && std::memcmp(u.data(), v.data(), u.size() * 4) == 0;
}

/// The initializer names a BatchNormalization node reads (γ, β, mean, var).
std::vector<std::string> batchNormInputs(const ::onnx::ModelProto &model,
                                         const std::string &node) {
  for (const auto &n : model.graph().node())
    if (n.name() == node)
      return {n.input(1), n.input(2), n.input(3), n.input(4)};
  ADD_FAILURE() << "no node " << node;
  return {};
}

::onnx::ModelProto readProto(const fs::path &path) {
  ::onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  return model;
}

} // namespace

// A1: `retrain --export` writes the best epoch's running statistics (they
// were the imported ones), and the export's test accuracy is the one the
// run reported for that epoch.
TEST(RetrainOnnx, ExportCarriesTheBestEpochsBatchNormStatistics) {
  if (!fs::exists(kFashionMnist))
    GTEST_SKIP() << kFashionMnist << " is missing";
  fs::path input = tempFile("bn-mlp.onnx"), exported = tempFile("bn-mlp-export.onnx");
  testmodels::batchNormMlp(784, 16, 10, /*tied=*/false).write(input.string());
  train::TrainConfig config = retrainConfig(input);
  config.exportPath = exported.string();
  // One validation image: the first epoch that classifies it is the best
  // for good, so the best epoch is not the last and its statistics differ
  // from the last epoch's.
  config.valFraction = 0.0005;
  std::ostringstream log;
  train::TrainResult result = train::train(config, log);
  std::cout << log.str();
  ASSERT_LT(result.bestEpoch, config.epochs) << "the test needs a best epoch before the last";

  auto before = bregman::onnx::OnnxModel::load(input.string());
  auto after = bregman::onnx::OnnxModel::load(exported.string());
  for (const char *name : {"bn1.running_mean", "bn1.running_var", "bn2.running_mean",
                           "bn2.running_var"}) {
    EXPECT_FALSE(sameValues(before.weights().at(name), after.weights().at(name)))
        << name << " was exported as imported";
    ASSERT_TRUE(result.bestBuffers.contains(name)) << name;
    EXPECT_TRUE(sameValues(result.bestBuffers.at(name), after.weights().at(name)))
        << name << " is not the best epoch's";
  }
  EXPECT_NEAR(exportedTestAccuracy(config, exported), result.bestTestAcc, 1e-4)
      << "the export evaluates to another accuracy than epoch " << result.bestEpoch
      << "'s";
  fs::remove(input);
  fs::remove(exported);
}

// A2: tied initializers are split; the tied model trains, evaluates and
// exports exactly like the untied one.
TEST(RetrainOnnx, TiedBatchNormInitializersRetrainLikeUntied) {
  if (!fs::exists(kFashionMnist))
    GTEST_SKIP() << kFashionMnist << " is missing";
  std::map<bool, train::TrainResult> results;
  std::map<bool, fs::path> exports;
  for (bool tied : {false, true}) {
    fs::path input = tempFile(tied ? "bn-tied.onnx" : "bn-untied.onnx");
    exports[tied] = tempFile(tied ? "bn-tied-export.onnx" : "bn-untied-export.onnx");
    testmodels::batchNormMlp(784, 16, 10, tied).write(input.string());
    train::TrainConfig config = retrainConfig(input);
    config.epochs = 2;
    config.fromPretrained = true;
    config.exportPath = exports[tied].string();
    std::ostringstream log;
    results[tied] = train::train(config, log);
    std::cout << log.str();
    fs::remove(input);
  }
  const train::TrainResult &untied = results[false], &tied = results[true];
  ASSERT_EQ(tied.epochs.size(), untied.epochs.size());
  for (size_t e = 0; e < tied.epochs.size(); ++e) {
    EXPECT_EQ(tied.epochs[e].batchLoss, untied.epochs[e].batchLoss) << "epoch " << e + 1;
    EXPECT_EQ(tied.epochs[e].testAcc, untied.epochs[e].testAcc) << "epoch " << e + 1;
    EXPECT_EQ(tied.epochs[e].valAcc, untied.epochs[e].valAcc) << "epoch " << e + 1;
  }
  // Every role its own tensor in the export, with the untied run's values.
  ::onnx::ModelProto tiedProto = readProto(exports[true]);
  ::onnx::ModelProto untiedProto = readProto(exports[false]);
  auto tiedModel = bregman::onnx::OnnxModel::load(exports[true].string());
  auto untiedModel = bregman::onnx::OnnxModel::load(exports[false].string());
  std::set<std::string> distinct;
  for (const char *node : {"bn1", "bn2"}) {
    std::vector<std::string> a = batchNormInputs(tiedProto, node);
    std::vector<std::string> b = batchNormInputs(untiedProto, node);
    ASSERT_EQ(a.size(), 4u);
    for (size_t role = 0; role < 4; ++role) {
      distinct.insert(a[role]);
      EXPECT_TRUE(sameValues(tiedModel.weights().at(a[role]),
                             untiedModel.weights().at(b[role])))
          << node << " input " << role + 1 << ": " << a[role] << " vs " << b[role];
    }
  }
  EXPECT_EQ(distinct.size(), 8u) << "the two batch norms' four roles as 8 tensors";
  for (const char *gemm : {"fc1.weight", "fc2.weight", "fc3.weight"})
    EXPECT_TRUE(sameValues(tiedModel.weights().at(gemm), untiedModel.weights().at(gemm)))
        << gemm;
  fs::remove(exports[true]);
  fs::remove(exports[false]);
}
