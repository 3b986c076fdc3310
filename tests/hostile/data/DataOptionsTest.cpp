//===- DataOptionsTest.cpp - Hostile data files and training settings -----===//
//
// Table-driven: MNIST-like directories the test writes itself (shapes that
// differ between splits, images without pixels, labels of no class, an
// empty training set), settings that are NaN, infinite or out of range, and
// an ONNX model whose output is not one logit per class. Each must be
// refused with the exact message, naming the file / option and the value,
// before anything is written.
//
//===----------------------------------------------------------------------===//

#include "bregman/Checkpoint.h"
#include "bregman/Error.h"
#include "bregman/data/Dataset.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/train/Config.h"
#include "bregman/train/Trainer.h"

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using namespace bregman;

namespace {

using Bytes = std::vector<uint8_t>;

void be32(Bytes &out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(uint8_t(v >> s));
}

void writeBytes(const fs::path &p, const Bytes &b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// An MNIST-like directory: n images of rows x cols per split, all labels
/// `label` (the training labels; the test labels are 3).
void writeIdxDir(const fs::path &dir, uint32_t trainN, uint32_t rows, uint32_t cols,
                 uint32_t testN, uint32_t testRows, uint32_t testCols, uint8_t label) {
  fs::create_directories(dir);
  auto images = [](uint32_t n, uint32_t r, uint32_t c) {
    Bytes b;
    for (uint32_t v : {0x803u, n, r, c})
      be32(b, v);
    b.resize(b.size() + size_t(n) * r * c, 7);
    return b;
  };
  auto labels = [](uint32_t n, uint8_t l) {
    Bytes b;
    be32(b, 0x801u);
    be32(b, n);
    b.resize(b.size() + n, l);
    return b;
  };
  writeBytes(dir / "train-images-idx3-ubyte", images(trainN, rows, cols));
  writeBytes(dir / "train-labels-idx1-ubyte", labels(trainN, label));
  writeBytes(dir / "t10k-images-idx3-ubyte", images(testN, testRows, testCols));
  writeBytes(dir / "t10k-labels-idx1-ubyte", labels(testN, 3));
}

/// Every file under `dir` with its contents: what "nothing changed" compares.
std::map<std::string, std::string> snapshot(const fs::path &dir) {
  std::map<std::string, std::string> files;
  for (const auto &e : fs::recursive_directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    files[e.path().string()] = s.str();
  }
  return files;
}

class Hostile : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_hostile_data_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

struct DataCase {
  const char *name;
  uint32_t trainN, rows, cols, testN, testRows, testCols;
  uint8_t label;
  const char *expected; // after "<dir>/"
};

const DataCase kDataCases[] = {
    {"test_larger", 20, 28, 28, 10, 40, 40, 3,
     "t10k-images-idx3-ubyte: test images of 40x40 pixels, but the training "
     "images in {dir}/train-images-idx3-ubyte are 28x28; every split needs the "
     "training images' shape"},
    {"test_smaller", 20, 28, 28, 10, 14, 14, 3,
     "t10k-images-idx3-ubyte: test images of 14x14 pixels, but the training "
     "images in {dir}/train-images-idx3-ubyte are 28x28"},
    {"test_transposed", 20, 28, 14, 10, 14, 28, 3,
     "t10k-images-idx3-ubyte: test images of 14x28 pixels, but the training "
     "images in {dir}/train-images-idx3-ubyte are 28x14"},
    {"zero_pixels", 20, 0, 0, 10, 0, 0, 3,
     "train-images-idx3-ubyte: images of 0x0 pixels; an image needs at least "
     "one row and one column"},
    {"zero_columns", 20, 28, 0, 10, 28, 0, 3,
     "train-images-idx3-ubyte: images of 28x0 pixels"},
    {"label_200", 20, 28, 28, 10, 28, 28, 200,
     "train-labels-idx1-ubyte: label 200 at index 0 is out of range: labels "
     "must be below the 10 classes"},
    {"label_255", 20, 28, 28, 10, 28, 28, 255,
     "train-labels-idx1-ubyte: label 255 at index 0 is out of range"},
    {"label_10", 20, 28, 28, 10, 28, 28, 10,
     "train-labels-idx1-ubyte: label 10 at index 0 is out of range"},
};

std::string expand(std::string text, const fs::path &dir) {
  const std::string key = "{dir}";
  for (size_t at; (at = text.find(key)) != std::string::npos;)
    text.replace(at, key.size(), dir.string());
  return dir.string() + "/" + text;
}

TEST_F(Hostile, DataFilesAreRefusedWithTheFileAndValue) {
  for (const DataCase &c : kDataCases) {
    SCOPED_TRACE(c.name);
    fs::path d = dir / c.name;
    writeIdxDir(d, c.trainN, c.rows, c.cols, c.testN, c.testRows, c.testCols, c.label);
    auto before = snapshot(d);
    std::string error;
    try {
      data::loadMnistLike(d.string(), data::Normalization{0.5, 0.5}, 0);
    } catch (const data::DataError &e) {
      error = e.what();
    }
    EXPECT_NE(error.find(expand(c.expected, d)), std::string::npos) << error;
    EXPECT_EQ(snapshot(d), before);
  }
}

// A label of the test file is checked as well, with its own index.
TEST_F(Hostile, TestLabelsAreChecked) {
  writeIdxDir(dir, 4, 2, 2, 3, 2, 2, 1);
  Bytes labels;
  be32(labels, 0x801u);
  be32(labels, 3);
  labels.insert(labels.end(), {1, 2, 99});
  writeBytes(dir / "t10k-labels-idx1-ubyte", labels);
  try {
    data::loadMnistLike(dir.string(), data::Normalization{0.5, 0.5}, 0);
    FAIL() << "accepted";
  } catch (const data::DataError &e) {
    EXPECT_NE(std::string(e.what()).find(
                  (dir / "t10k-labels-idx1-ubyte").string() +
                  ": label 99 at index 2 is out of range"),
              std::string::npos)
        << e.what();
  }
}

struct OptionCase {
  const char *name;
  std::function<void(train::TrainConfig &)> set;
  const char *expected;
};

const OptionCase kOptionCases[] = {
    {"lr_nan", [](auto &c) { c.lr = NAN; },
     "--lr nan: must be a finite number in (0, inf)"},
    {"lr_inf", [](auto &c) { c.lr = INFINITY; },
     "--lr inf: must be a finite number in (0, inf)"},
    {"lr_zero", [](auto &c) { c.lr = 0.0f; },
     "--lr 0: must be a finite number in (0, inf)"},
    {"lambda_nan", [](auto &c) { c.lambda = NAN; },
     "--lambda nan: must be a finite number in [0, inf)"},
    {"lambda_negative", [](auto &c) { c.lambda = -1.0f; },
     "--lambda -1: must be a finite number in [0, inf)"},
    {"lambda2_nan", [](auto &c) { c.lambda2 = NAN; }, "--lambda2 nan: must be"},
    {"delta_nan", [](auto &c) { c.delta = NAN; },
     "--delta nan: must be a finite number in (0, inf)"},
    {"momentum_nan", [](auto &c) { c.momentum = NAN; },
     "--momentum nan: must be a finite number in [0, 1)"},
    {"momentum_one", [](auto &c) { c.momentum = 1.0f; },
     "--momentum 1: must be a finite number in [0, 1)"},
    {"beta1_nan", [](auto &c) { c.beta1 = NAN; },
     "--beta1 nan: must be a finite number in [0, 1)"},
    {"beta2_nan", [](auto &c) { c.beta2 = NAN; },
     "--beta2 nan: must be a finite number in [0, 1)"},
    {"eps_nan", [](auto &c) { c.eps = NAN; },
     "--eps nan: must be a finite number in (0, inf)"},
    {"init_p_nan", [](auto &c) { c.initP = NAN; },
     "--init-p nan: must be a finite number in (0, 1]"},
    {"init_p_zero", [](auto &c) { c.initP = 0.0; },
     "--init-p 0: must be a finite number in (0, 1]"},
    {"init_r_nan", [](auto &c) { c.initR = NAN; },
     "--init-r nan: must be a finite number in (0, inf)"},
    {"mean_nan", [](auto &c) { c.mean = NAN; },
     "--mean nan: must be a finite number in (-inf, inf)"},
    {"std_nan", [](auto &c) { c.std = NAN; },
     "--std nan: must be a finite number in (0, inf)"},
    {"threshold_nan", [](auto &c) { c.threshold = NAN; },
     "--threshold nan: must be a finite number in [0, inf)"},
    {"lambda_target_nan", [](auto &c) { c.lambdaTarget = NAN; },
     "--lambda-target nan: must be a finite number in [0, 1]"},
    {"lambda_increment_nan", [](auto &c) { c.lambdaIncrement = NAN; },
     "--lambda-increment nan: must be"},
    {"prune_density_nan", [](auto &c) { c.pruneDensity = NAN; },
     "--prune-density nan: must be a finite number in [0, 1]"},
    {"val_fraction_nan", [](auto &c) { c.valFraction = NAN; },
     "validation fraction nan: must be a finite number in [0, 1]"},
    {"epochs_zero", [](auto &c) { c.epochs = 0; },
     "--epochs 0: must be a finite number in [1, inf)"},
    {"batch_size_zero", [](auto &c) { c.batchSize = 0; },
     "--batch-size 0: must be"},
    {"group_lr_nan", [](auto &c) { c.groups = {"h:fc1.*:lr=nan"}; },
     "--group 'h:fc1.*:lr=nan': lr nan: must be a finite number in (0, inf)"},
    {"group_momentum_inf", [](auto &c) { c.groups = {"h:fc1.*:momentum=inf"}; },
     "--group 'h:fc1.*:momentum=inf': momentum inf: must be a finite number in "
     "[0, 1)"},
    // A program's configuration (the command line refused these itself).
    {"train_limit_negative", [](auto &c) { c.trainLimit = -5; },
     "--train-limit -5: expected a number of examples (-1: all)"},
    {"test_limit_negative", [](auto &c) { c.testLimit = -5; },
     "--test-limit -5: expected a number of examples (-1: all)"},
    {"test_limit_zero", [](auto &c) { c.testLimit = 0; },
     "--test-limit 0: the test accuracy would be of no images"},
    {"freeze_without_onnx", [](auto &c) { c.freeze = {"fc1.weight"}; },
     "--freeze concerns the initializers of an ONNX model"},
    // It named all three flags, whichever was given.
    {"from_pretrained_without_onnx", [](auto &c) { c.fromPretrained = true; },
     "--from-pretrained concerns the initializers of an ONNX model"},
    {"sparse_initializers_without_export",
     [](auto &c) { c.exportSparse = true; },
     "--sparse-initializers: concerns the model --export writes"},
    {"epochs_beyond_int",
     [](auto &c) {
       c.epochs = 2147483647;
       c.pruneDensity = 0.1;
       c.retrainEpochs = 5;
     },
     "at most 1000000 epochs in all"},
};

// resolveDefaults (which the Trainer and the command line both call)
// refuses each, naming the option and the value.
TEST(HostileOptions, EveryNumericSettingIsChecked) {
  for (const OptionCase &c : kOptionCases) {
    SCOPED_TRACE(c.name);
    train::TrainConfig config;
    config.dataDir = "/nonexistent";
    c.set(config);
    std::string error;
    try {
      train::resolveDefaults(config);
    } catch (const Error &e) {
      error = e.what();
    }
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

/// The sizes the Trainer checks before loading data are the model's own
/// (models/Mlp.cpp): --hidden 100 on 784 features and 10 classes has
/// 784·100 + 100 + 100·10 + 10 = 79510 parameters, each held by a step as
/// 2 to 5 tensors (parameter, gradient, optimizer state); an example holds
/// its input, the hidden layer before and after ReLU and the logits, each
/// with its gradient: 2·784 + 2·2·100 + 2·10 = 1988 floats. Under a limit of
/// 1,000,000 bytes (976.6 KiB) a miscount by one tensor or one layer moves
/// a case across the limit or changes its figure.
TEST(HostileOptions, SizesAreTheModelsOwn) {
  struct SizeCase {
    const char *optimizer;
    float momentum;
    int64_t batch;
    const char *expected;
  };
  const SizeCase cases[] = {
      {"adabreg", 0, 128,
       "train: --hidden 100: the MLP's 79510 parameters (5 tensors of their "
       "size: "
       "parameters, gradients, adabreg state) would need 1.5 MiB of memory, "
       "more than the "
       "limit of 976.6 KiB (the memory this process may use"},
      {"linbreg", 0.9f, 128,
       "train: --hidden 100: the MLP's 79510 parameters (4 tensors of their "
       "size: "
       "parameters, gradients, linbreg state) would need 1.2 MiB of memory"},
      {"linbreg", 0, 128, // 3 tensors: 954,120 bytes fit; the batch does not
       "train: --batch-size 128: one batch of images and activations would "
       "need 994.0 KiB "
       "of memory, more than the limit of 976.6 KiB"},
      {"sgd", 0, 125, // 125 · 1988 · 4 = 994,000 bytes fit
       "/nonexistent"},
  };
  runtime::setMemoryLimit(1000000);
  for (const SizeCase &c : cases) {
    SCOPED_TRACE(std::string(c.optimizer) + " batch " + std::to_string(c.batch));
    train::TrainConfig config;
    config.dataDir = "/nonexistent";
    config.hidden = {100};
    config.optimizer = c.optimizer;
    config.momentum = c.momentum;
    config.batchSize = c.batch;
    config.evalBatchSize = 64;
    std::ostringstream log;
    std::string error;
    try {
      train::Trainer trainer(config, log);
    } catch (const std::exception &e) {
      error = e.what();
    }
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
  runtime::setMemoryLimit(0);
}

/// A model x[1, 784] -> Gemm -> y[1, `classes`].
void writeGemmModel(const fs::path &path, int64_t classes) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto *g = model.mutable_graph();
  g->set_name("gemm");
  auto info = [](::onnx::ValueInfoProto *v, const std::string &name, Shape shape) {
    v->set_name(name);
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  info(g->add_input(), "x", {1, 784});
  info(g->add_output(), "y", {1, classes});
  auto *w = g->add_initializer();
  w->set_name("fc.weight");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  w->add_dims(784);
  w->add_dims(classes);
  for (int64_t i = 0; i < 784 * classes; ++i)
    w->add_float_data(0.01f);
  auto *n = g->add_node();
  n->set_name("fc");
  n->set_op_type("Gemm");
  n->add_input("x");
  n->add_input("fc.weight");
  n->add_output("y");
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
}

train::TrainConfig trainerConfig(const fs::path &dir) {
  train::TrainConfig c;
  c.dataset = "mnist";
  c.dataDir = (dir / "data").string();
  c.epochs = 1;
  c.progress = false;
  c.reportPath = (dir / "report.jsonl").string();
  c.checkpointPath = (dir / "run.ckpt").string();
  return c;
}

std::string trainerError(const train::TrainConfig &c) {
  std::ostringstream log;
  try {
    train::Trainer trainer(c, log);
  } catch (const Error &e) {
    return e.what();
  }
  return "accepted";
}

TEST_F(Hostile, OnnxOutputWidthMustBeTheClasses) {
  writeIdxDir(dir / "data", 20, 28, 28, 10, 28, 28, 3);
  writeGemmModel(dir / "two.onnx", 2);
  train::TrainConfig c = trainerConfig(dir);
  c.onnxPath = (dir / "two.onnx").string();
  auto before = snapshot(dir);
  EXPECT_EQ(trainerError(c),
            c.onnxPath + ": output 'y' has shape [1, 2], but the data set has 10 "
                         "classes: the model must output [N, 10]");
  EXPECT_EQ(snapshot(dir), before); // no report, no checkpoint
}

struct EmptyCase {
  const char *name;
  uint32_t images;
  int64_t limit;
  double valFraction;
  const char *expected;
};

const EmptyCase kEmptyCases[] = {
    {"no_images", 0, -1, 0.05,
     "train: the training set is empty: 0 training images from {dir}, 0 of "
     "them held out for validation (validation fraction 0.05), 0 left"},
    {"train_limit_0", 20, 0, 0.05,
     "train: the training set is empty: 0 training images from {dir} after "
     "--train-limit 0, 0 of them held out"},
    {"all_held_out", 20, 3, 1.0,
     "train: the training set is empty: 3 training images from {dir} after "
     "--train-limit 3, 3 of them held out for validation (validation fraction "
     "1), 0 left"},
};

TEST_F(Hostile, AnEmptyTrainingSetIsRefused) {
  writeIdxDir(dir / "data", 20, 28, 28, 10, 28, 28, 3);
  for (const EmptyCase &e : kEmptyCases) {
    SCOPED_TRACE(e.name);
    writeIdxDir(dir / "data", e.images, 28, 28, 10, 28, 28, 3);
    train::TrainConfig c = trainerConfig(dir);
    c.trainLimit = e.limit;
    c.valFraction = e.valFraction;
    auto before = snapshot(dir);
    std::string expected = e.expected;
    expected.replace(expected.find("{dir}"), 5, *c.dataDir);
    std::string error = trainerError(c);
    EXPECT_NE(error.find(expected), std::string::npos) << error;
    EXPECT_EQ(snapshot(dir), before);
  }
}

} // namespace

namespace {

// A checkpoint whose metadata says it was written after epoch 0 or -1 (no
// epoch completes before 1) is refused on --resume, not resumed from a
// negative epoch; the checkpoint stays as it was.
TEST_F(Hostile, ResumeRefusesAnEpochBelowOne) {
  writeIdxDir(dir / "data", 20, 28, 28, 10, 28, 28, 3);
  train::TrainConfig c = trainerConfig(dir);
  c.reportPath.clear();
  std::ostringstream log;
  train::train(c, log);
  Checkpoint good = loadCheckpoint(c.checkpointPath);
  ASSERT_EQ(nlohmann::json::parse(good.metadata).at("epoch"), 1);
  for (int epoch : {0, -1}) {
    SCOPED_TRACE(epoch);
    Checkpoint damaged = good;
    nlohmann::json meta = nlohmann::json::parse(good.metadata);
    meta["epoch"] = epoch;
    damaged.metadata = meta.dump();
    std::string path = (dir / "damaged.ckpt").string();
    saveCheckpoint(path, damaged);
    train::TrainConfig resumed = trainerConfig(dir);
    resumed.reportPath.clear();
    resumed.checkpointPath = path;
    resumed.resumePath = path;
    resumed.epochs = 2;
    auto before = snapshot(dir);
    std::string error = "accepted";
    try {
      train::train(resumed, log);
    } catch (const Error &e) {
      error = e.what();
    }
    EXPECT_EQ(error,
              "--resume " + path + ": the checkpoint's metadata 'epoch' is " +
                  std::to_string(epoch) + "; checkpoints are written after epoch 1 or later");
    EXPECT_TRUE(snapshot(dir) == before) << "files changed";
  }
}

} // namespace
