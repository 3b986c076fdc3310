//===- ConformanceTest.cpp - ONNX's own test cases through the importer ---===//
//
// Debian's libonnx-testdata holds models with input and expected output
// tensors written by others (node, pytorch-converted, pytorch-operator,
// simple). Every case whose graph the importer supports is imported, compiled
// by jit and run on its inputs; outputs must match within |got − expected| ≤
// 1e-4·|expected| + 1e-5 (float32). The test prints how many cases ran,
// passed and were skipped, by reason, and fails on any wrong result or any
// error that is not a reported unsupported feature.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace fs = std::filesystem;
using namespace bregman;

namespace {

const char *kTestData = "/usr/share/libonnx-testdata/data";

/// "Conv: 3-D input ..." from "unsupported: node 'n' (Conv): 3-D input ...".
std::string reasonOf(const std::string &message) {
  static const std::regex pattern(R"(\(([A-Za-z0-9_]+)\): (.*))");
  std::smatch m;
  std::string text = message;
  if (std::regex_search(text, m, pattern)) {
    std::string why = m[2].str();
    if (why.size() > 48)
      why = why.substr(0, 48) + "…";
    return m[1].str() + ": " + why;
  }
  // "<file>: unsupported: graph value 'x' has ..." -> the reason, names elided.
  size_t at = text.find("unsupported: ");
  std::string why = at == std::string::npos ? text : text.substr(at + 13);
  why = std::regex_replace(why, std::regex("'[^']*'"), "'…'");
  return why.substr(0, 70);
}

struct Outcome {
  int run = 0, passed = 0;
  std::map<std::string, int> skipped;
  std::vector<std::string> failures;
  std::set<std::string> passedCases; // "node/test_sin", ...
};

/// Cases that must run and pass: a handler that started to refuse them
/// would otherwise only move them to the skipped counts.
const char *const kMustPass[] = {"node/test_convtranspose_1d",
                                 "node/test_maxpool_1d_default",
                                 "node/test_averagepool_1d_default",
                                 "node/test_einsum_batch_matmul",
                                 "node/test_einsum_inner_prod",
                                 "node/test_einsum_sum",
                                 "node/test_einsum_transpose",
                                 "node/test_depthtospace_example",
                                 "node/test_depthtospace_crd_mode_example",
                                 "node/test_spacetodepth_example",
                                 "node/test_sin_example",
                                 "node/test_cos_example"};

void runCase(const fs::path &dir, Outcome &outcome) {
  std::string name = dir.parent_path().filename().string() + "/" + dir.filename().string();
  fs::path data = dir / "test_data_set_0";
  if (!fs::exists(dir / "model.onnx") || !fs::exists(data)) {
    ++outcome.skipped["no model or test data"];
    return;
  }
  std::optional<onnx::OnnxModel> model;
  try {
    model.emplace(onnx::OnnxModel::load((dir / "model.onnx").string()));
  } catch (const Error &e) {
    std::string msg = e.what();
    ++outcome.skipped[msg.find("unsupported") != std::string::npos
                          ? reasonOf(msg)
                          : "rejected by the ONNX checker of libonnx 1.12"];
    return;
  }
  if (!model->unsupported().empty()) {
    ++outcome.skipped[reasonOf(model->unsupported().front())];
    return;
  }
  Params inputs;
  std::vector<Tensor> expected;
  try {
    for (size_t i = 0; i < model->inputs().size(); ++i)
      inputs.add(model->inputs()[i].name,
                 onnx::readTensorProto((data / ("input_" + std::to_string(i) + ".pb")).string()));
    for (size_t i = 0; i < model->outputs().size(); ++i)
      expected.push_back(
          onnx::readTensorProto((data / ("output_" + std::to_string(i) + ".pb")).string()));
  } catch (const Error &e) {
    ++outcome.skipped["test data of an unsupported type"];
    return;
  }
  Params got;
  try {
    const onnx::OnnxModel &m = *model;
    auto run = jit([&m](const Params &w, const Params &c, const Params &in) {
      return m.apply(w, c, in);
    }, JitOptions{{}, name});
    got = run(model->weights(), model->constants(), inputs);
  } catch (const Error &e) {
    std::string msg = e.what();
    if (msg.rfind("unsupported", 0) == 0) {
      ++outcome.skipped[reasonOf(msg)];
      return;
    }
    ++outcome.run;
    outcome.failures.push_back(name + ": " + msg);
    return;
  }
  ++outcome.run;
  for (size_t i = 0; i < expected.size(); ++i) {
    const Tensor &g = got.at(model->outputs()[i].name);
    const Tensor &e = expected[i];
    if (g.shape() != e.shape() || g.dtype() != e.dtype()) {
      outcome.failures.push_back(fmt::format("{}: output {} is {}{}, expected {}{}", name, i,
                                             dtypeName(g.dtype()), shapeString(g.shape()),
                                             dtypeName(e.dtype()), shapeString(e.shape())));
      return;
    }
    auto asDouble = [](const Tensor &t) {
      if (t.dtype() == DType::F64)
        return t.toVector<double>();
      std::vector<float> f = t.toVector<float>();
      return std::vector<double>(f.begin(), f.end());
    };
    std::vector<double> a = asDouble(g), b = asDouble(e);
    for (size_t k = 0; k < a.size(); ++k) {
      bool same = (std::isnan(a[k]) && std::isnan(b[k])) ||
                  std::abs(a[k] - b[k]) <= 1e-4 * std::abs(b[k]) + 1e-5;
      if (!same) {
        outcome.failures.push_back(fmt::format("{}: output {} element {}: got {}, expected {}",
                                               name, i, k, a[k], b[k]));
        return;
      }
    }
  }
  ++outcome.passed;
  outcome.passedCases.insert(name);
}

TEST(OnnxConformance, SupportedCasesMatchTheExpectedOutputs) {
  if (!fs::exists(kTestData))
    GTEST_SKIP() << kTestData << " is missing: apt-get install libonnx-testdata";
  Outcome outcome;
  int cases = 0;
  for (const char *suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    std::vector<fs::path> dirs;
    for (const auto &entry : fs::directory_iterator(fs::path(kTestData) / suite))
      if (entry.is_directory())
        dirs.push_back(entry.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path &dir : dirs) {
      ++cases;
      runCase(dir, outcome);
    }
  }
  std::vector<std::pair<int, std::string>> reasons;
  int skipped = 0;
  for (const auto &[why, count] : outcome.skipped) {
    reasons.push_back({count, why});
    skipped += count;
  }
  std::sort(reasons.rbegin(), reasons.rend());
  std::printf("ONNX conformance: %d cases, %d run, %d passed, %d failed, %d skipped\n",
              cases, outcome.run, outcome.passed,
              static_cast<int>(outcome.failures.size()), skipped);
  std::printf("skipped, by reason (most frequent first):\n");
  for (const auto &[count, why] : reasons)
    std::printf("  %4d  %s\n", count, why.c_str());
  for (const std::string &f : outcome.failures)
    ADD_FAILURE() << f;
  EXPECT_GT(outcome.passed, 50);
  for (const char *name : kMustPass)
    EXPECT_TRUE(outcome.passedCases.count(name))
        << name << " no longer runs and passes";
}

} // namespace
