//===- ModelZooTest.cpp - PyTorch's models through the importer -----------===//
//
// The small copies of issue 18's 19 models (tests/e2e/onnx/models, written by
// scripts/onnx/export-models.sh zoo ci: torchvision's classes at small
// widths and plain PyTorch modules, random weights, with PyTorch's output on
// a seeded input). Each directory's expectation.txt says what bregman does
// with the model today:
//
//   matches         it imports, runs, and equals PyTorch's output within
//                   |got − expected| ≤ 1e-4·(|expected| + 0.01·max|expected|)
//   refused: TEXT   import or run refuses it with a message containing TEXT
//
// Either way a change shows: a refused model that starts to run fails the
// test (saying how close it comes to PyTorch) until its expectation is
// updated, and a matching model that stops matching fails as well.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

namespace fs = std::filesystem;
using namespace bregman;

namespace {

const fs::path kModels = BREGMAN_ONNX_ZOO;

struct Expectation {
  bool matches = false;
  std::string refusal; // the text the refusal must contain
};

/// The first line of expectation.txt that is not a comment.
Expectation readExpectation(const fs::path &dir) {
  std::ifstream in(dir / "expectation.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    if (line == "matches")
      return {true, ""};
    if (line.rfind("refused: ", 0) == 0 && line.size() > 9)
      return {false, line.substr(9)};
    break;
  }
  throw std::runtime_error(fmt::format(
      "{}: expected a line 'matches' or 'refused: TEXT'", (dir / "expectation.txt").string()));
}

/// What happened: the refusal's message, or the outputs of a run.
struct Outcome {
  std::optional<std::string> refusal;
  Tensor output;
};

Outcome importAndRun(const fs::path &dir) {
  std::optional<onnx::OnnxModel> model;
  try {
    model.emplace(onnx::OnnxModel::load((dir / "model.onnx").string()));
    model->checkSupported(); // what `bregman run` does first
    Params inputs;
    inputs.add(model->inputs().at(0).name,
               onnx::readTensorProto((dir / "test_data_set_0" / "input_0.pb").string()));
    const onnx::OnnxModel &m = *model;
    auto run = jit([&m](const Params &w, const Params &c,
                        const Params &in) { return m.apply(w, c, in); },
                   JitOptions{{}, "zoo_" + dir.filename().string()});
    Params got = run(model->weights(), model->constants(), inputs);
    return {std::nullopt, got.at(model->outputs().at(0).name)};
  } catch (const Error &e) {
    return {std::string(e.what()), Tensor()};
  }
}

/// max |got − expected| / max |expected|, and whether every element is
/// within the tolerance of the header comment.
std::pair<double, bool> compare(const Tensor &gotTensor, const Tensor &expectedTensor) {
  std::vector<float> got = gotTensor.toVector<float>();
  std::vector<float> expected = expectedTensor.toVector<float>();
  double scale = 0.0, worst = 0.0;
  for (float e : expected)
    scale = std::max(scale, std::abs(double(e)));
  bool within = true;
  for (size_t i = 0; i < got.size(); ++i) {
    double diff = std::abs(double(got[i]) - double(expected[i]));
    worst = std::max(worst, diff);
    within = within && diff <= 1e-4 * (std::abs(double(expected[i])) + 0.01 * scale);
  }
  return {scale > 0.0 ? worst / scale : worst, within};
}

class OnnxModelZoo : public testing::TestWithParam<std::string> {};

TEST_P(OnnxModelZoo, MatchesPyTorchOrIsRefusedAsExpected) {
  fs::path dir = kModels / GetParam();
  Expectation expectation = readExpectation(dir);
  Outcome outcome = importAndRun(dir);
  if (outcome.refusal) {
    EXPECT_FALSE(expectation.matches)
        << GetParam() << " is expected to match PyTorch, but: " << *outcome.refusal;
    if (!expectation.matches)
      EXPECT_NE(outcome.refusal->find(expectation.refusal), std::string::npos)
          << GetParam() << " is refused for another reason than expected ('"
          << expectation.refusal << "'): " << *outcome.refusal;
    return;
  }
  Tensor expected = onnx::readTensorProto((dir / "test_data_set_0" / "output_0.pb").string());
  ASSERT_EQ(outcome.output.shape(), expected.shape()) << GetParam();
  auto [relative, within] = compare(outcome.output, expected);
  std::printf("%s: max |got - PyTorch| / max |PyTorch| = %.3g\n", GetParam().c_str(), relative);
  EXPECT_TRUE(expectation.matches)
      << GetParam() << " now runs (max relative difference to PyTorch " << relative
      << (within ? ", within the tolerance" : ", OUTSIDE the tolerance")
      << ") but expectation.txt says 'refused: " << expectation.refusal
      << "': update the expectation";
  EXPECT_TRUE(within) << GetParam() << ": max |got - PyTorch| / max |PyTorch| = " << relative;
}

std::vector<std::string> modelNames() {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(kModels))
    if (entry.is_directory())
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxModelZoo, testing::ValuesIn(modelNames()),
                         [](const testing::TestParamInfo<std::string> &info) {
                           return info.param;
                         });

// Every directory holds a complete case: 19 models less those torchvision
// fixes at a size too large for the repository (ResNet-18, VGG-11,
// SqueezeNet 1.0, whose ops the table of docs/ONNX-MODELS.md covers).
TEST(OnnxModelZooFiles, EveryModelHasItsDataAndExpectation) {
  std::vector<std::string> names = modelNames();
  EXPECT_EQ(names.size(), 16u);
  for (const std::string &name : names)
    for (const char *file : {"model.onnx", "expectation.txt", "test_data_set_0/input_0.pb",
                             "test_data_set_0/output_0.pb"})
      EXPECT_TRUE(fs::exists(kModels / name / file)) << name << ": " << file << " is missing";
}

// The transformers are exported with a dynamic batch axis
// (scripts/onnx/model_zoo.py DYNAMIC_BATCH; their test input is a batch of
// 3, so the comparison above runs away from batch 1): the Shape → Gather →
// Concat → Reshape/Expand chains built on the input's batch fold at the
// batch the graph is compiled for, and nothing restricts the batch.
TEST(OnnxModelZooFiles, TransformersHaveADynamicBatchAndReplayAtAnyBatch) {
  for (const char *name : {"transformer_encoder", "bert_block"}) {
    onnx::OnnxModel model = onnx::OnnxModel::load((kModels / name / "model.onnx").string());
    ASSERT_EQ(model.inputs().size(), 1u) << name;
    EXPECT_TRUE(model.inputs()[0].dynamicBatch) << name;
    EXPECT_EQ(model.batchRestriction(), "") << name;
    Tensor input =
        onnx::readTensorProto((kModels / name / "test_data_set_0" / "input_0.pb").string());
    EXPECT_EQ(input.dim(0), 3) << name << ": the test input is a batch of 3";
  }
}

} // namespace
