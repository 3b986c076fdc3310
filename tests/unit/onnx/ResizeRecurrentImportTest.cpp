//===- ResizeRecurrentImportTest.cpp - Resize, Upsample, LSTM, GRU --------===//
//
// libonnx-testdata's node cases for these operators, and refusals. The
// resize cases feed scales/sizes (and the recurrent cases their weights) as
// graph inputs; the importer needs scales and sizes at load time, so here
// every graph input but the first becomes an initializer with the case's
// own values (what an exporter writes) before the model is imported, run
// and compared with the case's expected output (the conformance test's
// tolerance, 1e-4·|expected| + 1e-5). Cases the importer refuses (cubic,
// crop-and-resize, peepholes) are counted by reason and must be refusals,
// never wrong results.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "ModelCase.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

namespace fs = std::filesystem;
using namespace bregman;
using bregman::onnx::OnnxModel;

namespace {

const char *kNodeCases = "/usr/share/libonnx-testdata/data/node";

::onnx::TensorProto readProto(const fs::path &path) {
  ::onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(t.ParseFromIstream(&in)) << path;
  return t;
}

struct Totals {
  int cases = 0, passed = 0;
  std::map<std::string, int> refused;
};

/// Runs one libonnx case with its graph inputs 1.. as initializers.
void runFolded(const fs::path &dir, const fs::path &scratch, Totals &totals) {
  ++totals.cases;
  ::onnx::ModelProto model;
  {
    std::ifstream in(dir / "model.onnx", std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&in)) << dir;
  }
  fs::path data = dir / "test_data_set_0";
  auto *graph = model.mutable_graph();
  while (graph->input_size() > 1) {
    int last = graph->input_size() - 1;
    ::onnx::TensorProto t = readProto(data / fmt::format("input_{}.pb", last));
    t.set_name(graph->input(last).name());
    *graph->add_initializer() = t;
    graph->mutable_input()->RemoveLast();
  }
  std::string name = dir.filename().string();
  std::string path = bregman::testing::writeModel(model, scratch, name);
  std::string reason;
  try {
    OnnxModel m = OnnxModel::load(path);
    if (!m.unsupported().empty()) {
      reason = "unsupported: " + m.unsupported().front();
    } else {
      Params inputs;
      inputs.add(m.inputs()[0].name, bregman::onnx::readTensorProto((data / "input_0.pb").string()));
      Params got = bregman::testing::runOnnx(m, inputs);
      for (size_t i = 0; i < m.outputs().size(); ++i) {
        Tensor want = bregman::onnx::readTensorProto((data / fmt::format("output_{}.pb", i)).string());
        std::vector<float> g = got.at(m.outputs()[i].name).toVector<float>();
        std::vector<float> e = want.toVector<float>();
        ASSERT_EQ(got.at(m.outputs()[i].name).shape(), want.shape()) << name << " output " << i;
        for (size_t k = 0; k < e.size(); ++k)
          ASSERT_NEAR(g[k], e[k], 1e-4 * std::abs(e[k]) + 1e-5) << name << " output " << i
                                                                << " element " << k;
      }
      ++totals.passed;
      return;
    }
  } catch (const Error &e) {
    reason = e.what();
  }
  // A refusal must say it is one (never a crash or a wrong shape).
  EXPECT_NE(reason.find("unsupported"), std::string::npos) << name << ": " << reason;
  ++totals.refused[reason.substr(reason.find('(') == std::string::npos ? 0 : reason.find('('))];
}

Totals runCases(const std::vector<std::string> &prefixes) {
  Totals totals;
  fs::path scratch = fs::temp_directory_path() /
                     fmt::format("bregman_resize_recurrent_{}", ::getpid());
  fs::create_directories(scratch);
  std::vector<fs::path> dirs;
  for (const auto &entry : fs::directory_iterator(kNodeCases))
    for (const std::string &p : prefixes)
      if (entry.path().filename().string().rfind(p, 0) == 0)
        dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path &d : dirs)
    runFolded(d, scratch, totals);
  fs::remove_all(scratch);
  std::printf("%d cases, %d passed, %d refused:\n", totals.cases, totals.passed,
              totals.cases - totals.passed);
  for (const auto &[why, n] : totals.refused)
    std::printf("  %d  %s\n", n, why.c_str());
  return totals;
}

TEST(ResizeImport, LibonnxCasesPassOrAreRefused) {
  if (!fs::exists(kNodeCases))
    GTEST_SKIP() << kNodeCases << " is missing: apt-get install libonnx-testdata";
  Totals t = runCases({"test_resize_", "test_upsample_"});
  // Every nearest and linear case (13 Resize, 1 Upsample); the 9 cubic
  // cases and crop-and-resize are refused.
  EXPECT_EQ(t.passed, 14);
  EXPECT_EQ(t.cases, 24);
}

TEST(RecurrentImport, LibonnxCasesPassOrAreRefused) {
  if (!fs::exists(kNodeCases))
    GTEST_SKIP() << kNodeCases << " is missing: apt-get install libonnx-testdata";
  Totals t = runCases({"test_lstm_", "test_gru_"});
  // Defaults, initial bias, batchwise (layout 1), GRU's sequence_lens
  // equal to the length; the LSTM with peepholes is refused.
  EXPECT_EQ(t.cases, 8);
  EXPECT_EQ(t.passed, 7);
  EXPECT_EQ(t.refused.size(), 1u);
}

// PyTorch's export computes LSTM/GRU weights in the graph (Slice and
// Concat reorder the gates): retraining trains the initializers they come
// from, each once, with the recurrent node's roles; the gradient reaches
// every gate of them and a few SGD steps lower the loss.
TEST(RecurrentImport, PyTorchsRecurrentWeightsRetrain) {
  for (const char *name : {"lstm", "gru"}) {
    SCOPED_TRACE(name);
    int64_t rows = std::string(name) == "lstm" ? 4 * 64 : 3 * 64;
    auto model = std::make_shared<OnnxModel>(
        OnnxModel::load((fs::path(BREGMAN_ONNX_ZOO) / name / "model.onnx").string()));
    bregman::onnx::OnnxNetwork net(model, name, /*fromPretrained=*/true);
    Params params = net.init(0, nn::SparseInit{});
    const std::map<std::string, Shape> expected = {
        {"rnn.weight_ih_l0.weight", {rows, 28}}, {"rnn.weight_hh_l0.weight", {rows, 64}},
        {"rnn.bias_ih_l0.bias", {rows}},         {"rnn.bias_hh_l0.bias", {rows}},
        {"head.weight", {10, 64}},               {"head.bias", {10}}};
    ASSERT_EQ(params.size(), expected.size());
    for (const auto &[param, shape] : expected) {
      ASSERT_TRUE(params.contains(param)) << param;
      EXPECT_EQ(params.at(param).shape(), shape) << param;
    }
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    std::vector<float> x(4 * 28 * 28);
    for (float &v : x)
      v = normal(rng);
    // SGD on one batch (the GRU only: compiling the 28 unrolled steps'
    // training step takes half a minute): the step's gradient reaches every
    // gate block of the recurrent weights, and the loss falls.
    if (std::string(name) != "gru")
      continue;
    auto step = jit([&net](const Params &p, const Params &b, const Tensor &xb, const Tensor &yb) {
      nn::Mode mode{false, &b, nullptr, {}};
      auto [loss, g] = valueAndGrad(
          [&](const Params &q) { return crossEntropy(net.forward(q, xb, mode), yb); })(p);
      Params next;
      for (const auto &[param, t] : p)
        next.add(param, t - g.at(param) * 0.5);
      return std::make_tuple(loss, g, next);
    });
    Params buffers = net.initBuffers();
    Tensor xb = Tensor::fromVector(x, {4, 28 * 28});
    Tensor yb = Tensor::fromVector(std::vector<int32_t>{1, 7, 3, 0}, {4});
    std::vector<double> losses;
    for (int i = 0; i < 6; ++i) {
      auto [loss, g, next] = step(params, buffers, xb, yb);
      losses.push_back(loss.item());
      if (i == 0) {
        std::vector<float> gw = g.at("rnn.weight_hh_l0.weight").toVector<float>();
        for (int64_t block = 0; block < rows / 64; ++block) {
          double norm = 0;
          for (int64_t k = block * 64 * 64; k < (block + 1) * 64 * 64; ++k)
            norm += std::abs(gw[k]);
          EXPECT_GT(norm, 0.0) << "gate block " << block;
        }
      }
      params = next;
    }
    std::printf("%s retraining: loss %.4f -> %.4f in %zu SGD steps\n", name, losses.front(),
                losses.back(), losses.size());
    EXPECT_LT(losses.back(), 0.7 * losses.front());
  }
}

// The first reason `model` (built by `build`) is refused at load time.
std::string refusal(const std::function<void(bregman::testing::ModelCase &)> &build,
                    int64_t opset = 13) {
  bregman::testing::ModelCase c(opset);
  build(c);
  fs::path dir = fs::temp_directory_path() / fmt::format("bregman_refusal_{}", ::getpid());
  fs::create_directories(dir);
  std::string reason = "accepted";
  try {
    OnnxModel m = OnnxModel::load(bregman::testing::writeModel(c.model, dir, "case"));
    if (!m.unsupported().empty())
      reason = m.unsupported().front();
  } catch (const Error &e) {
    reason = e.what();
  }
  fs::remove_all(dir);
  return reason;
}

void setString(::onnx::NodeProto &n, const std::string &name, const std::string &value) {
  bregman::testing::addAttr(n, name, ::onnx::AttributeProto::STRING)->set_s(value);
}

TEST(ResizeImport, AttributesAndInputsAreCheckedByName) {
  std::vector<float> x(16, 1.0f);
  auto resize = [&](const std::string &attr, const std::string &value, bool sizesToo = false) {
    return refusal([&](bregman::testing::ModelCase &c) {
      c.input("x", {1, 1, 4, 4}, x).weight("scales", {4}, {1, 1, 2, 2}).ints("sizes", {1, 1, 8, 8});
      auto &n = c.node("Resize", {"x", "", "scales", sizesToo ? "sizes" : ""}, {"y"}, "up");
      if (!attr.empty())
        setString(n, attr, value);
      c.output("y", {1, 1, 8, 8});
    });
  };
  EXPECT_EQ(resize("mode", "cubic"), "node 'up' (Resize): mode = cubic (nearest and linear are "
                                     "supported)");
  EXPECT_EQ(resize("mode", "area"), "node 'up' (Resize): attribute mode = area: must be nearest, "
                                    "linear or cubic");
  EXPECT_EQ(resize("nearest_mode", "round"),
            "node 'up' (Resize): attribute nearest_mode = round: must be round_prefer_floor, "
            "round_prefer_ceil, floor or ceil");
  EXPECT_NE(resize("coordinate_transformation_mode", "tf_crop_and_resize")
                .find("tf_crop_and_resize (a region of interest is not supported)"),
            std::string::npos);
  EXPECT_EQ(resize("", "", true),
            "node 'up' (Resize): both scales and sizes are given (exactly one must be)");
  // Scales computed from the input at run time cannot fix the output shape.
  EXPECT_NE(refusal([&](bregman::testing::ModelCase &c) {
              c.input("x", {1, 1, 4, 4}, x).input("s", {4}, {1, 1, 2, 2});
              c.node("Resize", {"x", "", "s"}, {"y"}, "up");
              c.output("y", {1, 1, 8, 8});
            }).find("input 's' is computed at run time"),
            std::string::npos);
  EXPECT_EQ(refusal([&](bregman::testing::ModelCase &c) {
              c.input("x", {1, 1, 4, 4}, x).weight("scales", {4}, {1, 1, 0.1f, 2});
              c.node("Resize", {"x", "", "scales"}, {"y"}, "up");
              c.output("y", {1, 1, 8, 8});
            }),
            "node 'up' (Resize): scales [1, 1, 0.10000000149011612, 2] leave axis 2 of [1, 1, 4, "
            "4] empty");
}

TEST(RecurrentImport, UnsupportedFeaturesAreRefusedByName) {
  auto lstm = [](const std::function<void(::onnx::NodeProto &)> &edit, bool peepholes = false) {
    return refusal(
        [&](bregman::testing::ModelCase &c) {
          c.input("x", {2, 1, 3}, std::vector<float>(6, 0.5f));
          c.weight("w", {1, 8, 3}, std::vector<float>(24, 0.1f));
          c.weight("r", {1, 8, 2}, std::vector<float>(16, 0.1f));
          c.weight("p", {1, 6}, std::vector<float>(6, 0.1f));
          std::vector<std::string> in = {"x", "w", "r"};
          if (peepholes)
            in.insert(in.end(), {"", "", "", "", "p"});
          auto &n = c.node("LSTM", in, {"y"}, "rnn");
          bregman::testing::setIntAttr(n, "hidden_size", 2);
          edit(n);
          c.output("y", {2, 1, 1, 2});
        },
        14);
  };
  EXPECT_EQ(lstm([](::onnx::NodeProto &) {}), "accepted");
  EXPECT_EQ(lstm([](::onnx::NodeProto &) {}, true),
            "node 'rnn' (LSTM): input P (peepholes are not supported)");
  EXPECT_EQ(lstm([](::onnx::NodeProto &n) { bregman::testing::setFloatAttr(n, "clip", 3.0f); }),
            "node 'rnn' (LSTM): attribute clip = 3 (cell clipping is not supported)");
  EXPECT_EQ(lstm([](::onnx::NodeProto &n) {
              auto *a = bregman::testing::addAttr(n, "activations", ::onnx::AttributeProto::STRINGS);
              for (const char *f : {"Sigmoid", "Relu", "Tanh"})
                a->add_strings(f);
            }),
            "node 'rnn' (LSTM): attribute activations = [Sigmoid, Relu, Tanh] (only the defaults "
            "[Sigmoid, Tanh, Tanh] are supported)");
  EXPECT_EQ(lstm([](::onnx::NodeProto &n) { n.mutable_attribute(0)->set_i(3); }),
            "node 'rnn' (LSTM): attribute hidden_size = 3: W [1, 8, 3] holds hidden size 2");
  EXPECT_EQ(lstm([](::onnx::NodeProto &n) { setString(n, "direction", "sideways"); }),
            "node 'rnn' (LSTM): attribute direction = sideways: must be forward, reverse or "
            "bidirectional");
}

} // namespace
