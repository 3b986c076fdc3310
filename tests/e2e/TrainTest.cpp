//===- TrainTest.cpp - Short real training runs ---------------------------===//
//
// LinBreg on the first 10,000 Fashion-MNIST training images must learn and
// stay sparse. The thresholds come from an independent implementation of the
// same settings (75–80 % test accuracy at density 0.08–0.13 over five seeds).
//
//===----------------------------------------------------------------------===//

#include "bregman/models/Train.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace bregman;

static const char *kFashionMnist = "/usr/share/datasets/fashion-mnist";

TEST(Train, LinBregMomentumLearnsSparseMlp) {
  if (!std::filesystem::exists(kFashionMnist))
    GTEST_SKIP() << kFashionMnist
                 << " is missing: apt-get install dataset-fashion-mnist";
  models::TrainConfig config;
  config.lambda = 0.01f;
  config.momentum = 0.9f;
  config.epochs = 3;
  config.trainLimit = 10000;
  config.progress = false;
  std::filesystem::path report =
      std::filesystem::temp_directory_path() / "bregman-e2e-report.jsonl";
  config.reportPath = report.string();
  std::ostringstream log;
  models::TrainResult result = models::train(config, log);
  std::cout << log.str();

  ASSERT_EQ(result.epochs.size(), 3u);
  EXPECT_LT(result.epochs.back().trainLoss, result.epochs.front().trainLoss);
  EXPECT_GE(result.epochs.back().testAcc, 0.70);
  EXPECT_LE(result.epochs.back().netDensity, 0.20);
  EXPECT_GT(result.epochs.back().netDensity, 0.0);
  // Full batches and the last partial one: two step compilations, no more.
  EXPECT_EQ(result.stepCompilations, 2u);

  // The report has one object per epoch with the documented keys.
  std::ifstream in(report);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line);
    for (const char *key : {"epoch", "train_loss", "train_acc", "val_acc",
                            "test_acc", "net_density", "node_density",
                            "seconds"})
      EXPECT_TRUE(json.contains(key)) << key;
    EXPECT_EQ(json["epoch"], ++lines);
    EXPECT_EQ(json["node_density"].size(), 3u);
  }
  EXPECT_EQ(lines, 3);
  std::filesystem::remove(report);
}

TEST(Train, MissingDataNamesTheFile) {
  models::TrainConfig config;
  config.dataDir = "/nonexistent/fashion";
  config.progress = false;
  std::ostringstream log;
  try {
    models::train(config, log);
    FAIL() << "expected an error";
  } catch (const std::exception &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fashion"),
              std::string::npos)
        << e.what();
  }
}

TEST(Train, UnwritableReportFailsBeforeTraining) {
  models::TrainConfig config;
  config.reportPath = "/nonexistent/dir/report.jsonl";
  config.progress = false;
  std::ostringstream log;
  EXPECT_THROW(models::train(config, log), std::exception);
  EXPECT_EQ(log.str().find("epoch"), std::string::npos);
}
