//===- VitTrainTest.cpp - The zoo's vision transformer trains -------------===//
//
// `bregman train --model vit` on a subset of Fashion-MNIST: about 150
// LinBreg steps with l1_l2 on the linear weights, which puts l1_l2_heads on
// the attention projections. The loss must fall, the accuracy rise well
// above chance (10 %), the density and the active heads per layer be
// reported, and the projections be sparse by whole heads (a head's slice is
// all zero or dense). Kept cheap for CI: width 32 (4 heads of 8), 1900
// training images (2000 minus the 5 % validation split: 19 full batches of
// 100, so one step compilation), 8 epochs = 152 steps; it ends at 54.5 % test
// accuracy (1000 images); 40 s of the run compile the step (load average 10).
//
//===----------------------------------------------------------------------===//

#include "bregman/train/Config.h"
#include "bregman/train/Trainer.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

using namespace bregman;

TEST(TrainVit, LinBregHeadGroupsLearnAndReportHeads) {
  const char *data = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(data))
    GTEST_SKIP() << data << " is missing: apt-get install dataset-fashion-mnist";
  train::TrainConfig config;
  config.model = "vit";
  config.regularizer = "l1_l2";
  config.lambda = 0.05f;
  config.initP = 0.5; // two of four heads of each projection start dense
  config.width = 32;
  config.epochs = 8; // 152 steps
  config.trainLimit = 2000;
  config.testLimit = 1000;
  config.batchSize = 100;
  config.progress = false;
  std::filesystem::path report =
      std::filesystem::temp_directory_path() / "bregman-e2e-vit-report.jsonl";
  config.reportPath = report.string();
  std::ostringstream log;
  train::TrainResult r = train::train(config, log);
  std::cout << log.str();

  ASSERT_EQ(r.epochs.size(), 8u);
  EXPECT_EQ(r.stepCompilations, 1u);
  EXPECT_LT(r.epochs.back().trainLoss, 0.8 * r.epochs.front().trainLoss);
  EXPECT_GE(r.epochs.back().testAcc, 0.5);
  EXPECT_GT(r.epochs.back().netDensity, 0.0);
  EXPECT_LT(r.epochs.back().netDensity, 1.0);
  EXPECT_NE(log.str().find("l1_l2_heads on the attention heads"), std::string::npos);

  // Heads per layer in the terminal line and the report.
  const std::vector<LayerHeads> &heads = r.epochs.back().heads;
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].layer, "enc0.attn");
  EXPECT_EQ(heads[1].layer, "enc1.attn");
  for (const LayerHeads &h : heads) {
    EXPECT_EQ(h.total, 4);
    EXPECT_GE(h.active, 1);
    EXPECT_LE(h.active, 4);
  }
  EXPECT_NE(log.str().find("heads [enc0.attn "), std::string::npos);
  std::ifstream in(report);
  std::string line, last;
  while (std::getline(in, line))
    last = line;
  nlohmann::json json = nlohmann::json::parse(last);
  EXPECT_EQ(json["active_heads"]["enc0.attn"][1], 4);
  std::filesystem::remove(report);

  // Whole heads: each head's [d, E] slice is all zero or mostly non-zero,
  // and some slice is zero.
  int64_t zeroSlices = 0;
  for (const auto &[name, t] : r.params) {
    if (t.rank() != 3)
      continue;
    std::vector<float> w = t.toVector<float>();
    int64_t perHead = t.dim(1) * t.dim(2);
    for (int64_t h = 0; h < t.dim(0); ++h) {
      int64_t nonZero = 0;
      for (int64_t i = h * perHead; i < (h + 1) * perHead; ++i)
        nonZero += w[i] != 0.0f;
      zeroSlices += nonZero == 0;
      EXPECT_TRUE(nonZero == 0 || nonZero > 0.9 * perHead)
          << name << " head " << h << ": " << nonZero << " of " << perHead;
    }
  }
  EXPECT_GT(zeroSlices, 0);
}

// AdaBreg's τ on the vit is 0.01 (docs/EXPERIMENTS.md, "AdaBreg on the
// vit"); the other models and optimizers keep theirs, and --lr wins.
TEST(TrainVit, AdaBregDefaultLearningRateIsTheVits) {
  auto lr = [](const char *model, const char *optimizer, std::optional<float> given = {}) {
    train::TrainConfig config;
    config.model = model;
    config.optimizer = optimizer;
    config.lr = given;
    return *train::resolveDefaults(config).lr;
  };
  EXPECT_EQ(lr("vit", "adabreg"), 0.01f);
  EXPECT_EQ(lr("vit", "adabreg", 0.003f), 0.003f);
  EXPECT_EQ(lr("mlp", "adabreg"), 1e-3f);
  EXPECT_EQ(lr("vit", "adam"), 1e-3f);
  EXPECT_EQ(lr("vit", "linbreg"), 0.1f);
  EXPECT_NE(train::describeDefault("lr").find("adabreg 0.001 (any model but vit 0.01)"),
            std::string::npos)
      << train::describeDefault("lr");
}
