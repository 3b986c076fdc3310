//===- DebugPrintTest.cpp - debugPrint inside and outside jit -------------===//
//
// The printed lines are captured from stdout. Values computed inside the
// step are chosen so that their f32 results are known exactly (or, for 1/3,
// by their shortest round-trip text), so that the lines can be compared
// whole.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <string>

using namespace bregman;
using bregman::testing::errorMessage;

namespace {

/// BREGMAN_EMULATE_GPU=1 (the suite's GPU-emulation run) compiles steps
/// through the GPU pipeline, where printing is refused.
bool emulatingGpu() {
  const char *emulate = std::getenv("BREGMAN_EMULATE_GPU");
  return emulate && std::string(emulate) == "1";
}

#define SKIP_UNDER_GPU_EMULATION()                                             \
  if (emulatingGpu())                                                          \
  GTEST_SKIP() << "debugPrint is refused on the GPU path (tested in "          \
                  "DebugPrint.RefusedOnTheGpuPathNamingTheCallSite)"

/// What `fn` prints on stdout (an error it throws is reported as a
/// failure, the capture released).
template <typename Fn> std::string capture(Fn fn) {
  ::testing::internal::CaptureStdout();
  try {
    fn();
  } catch (const std::exception &e) {
    ::testing::internal::GetCapturedStdout();
    ADD_FAILURE() << "threw: " << e.what();
    return "";
  }
  return ::testing::internal::GetCapturedStdout();
}

} // namespace

TEST(DebugPrint, ScalarsComputedInsideTheStepEveryCallInFull) {
  SKIP_UNDER_GPU_EMULATION();
  auto step = jit([](const Tensor &x) {
    Tensor loss = sum(x * x);
    Tensor third = mean(x) / 3.0;
    debugPrint("loss {} third {}", loss, third);
    return loss;
  });
  std::string out = capture([&] {
    step(Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4}));
    step(Tensor::fromVector(std::vector<float>{0.5f, 0.5f, 0.5f, 1.5f}, {4}));
  });
  // mean 2.5 / 3 in f32 is 0.8333333 (shortest text of the float nearest
  // 5/6); 0.75 / 3 = 0.25 exactly.
  EXPECT_EQ(out, "loss 30 third 0.8333333\nloss 3 third 0.25\n");
}

TEST(DebugPrint, TensorsSummarisedWithDTypeShapeAndEdgeElements) {
  SKIP_UNDER_GPU_EMULATION();
  auto step = jit([](const Tensor &x, const Tensor &labels) {
    Tensor grid = reshape(x, {2, 5});
    debugPrint("grid {} labels {} small {} {{braces}}", grid, labels,
               slice(x, 0, 0, 3));
    return sum(x);
  });
  std::string out = capture([&] {
    step(Tensor::fromVector(
             std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9.5f}, {10}),
         Tensor::fromVector(std::vector<int32_t>{7, -1, 3}, {3}));
  });
  EXPECT_EQ(out, "grid f32[2, 5] [0, 1, 2, ..., 7, 8, 9.5] labels i32[3] "
                 "[7, -1, 3] small f32[3] [0, 1, 2] {braces}\n");
}

TEST(DebugPrint, InProgramOrderAndKeptWhenNothingUsesThePrintedValue) {
  SKIP_UNDER_GPU_EMULATION();
  auto step = jit([](const Tensor &x) {
    debugPrint("first {}", sum(x));            // used by no output
    Tensor y = x * 2.0;
    debugPrint("second {}", max(y, {0}));      // nor this
    debugPrint("no values");
    return x + 1.0;
  });
  std::string out = capture(
      [&] { step(Tensor::fromVector(std::vector<float>{1, 2}, {2})); });
  EXPECT_EQ(out, "first 3\nsecond 4\nno values\n");
}

// A donated argument is printed before the step overwrites its buffer, and
// a breg update's input before the update writes θ in place: the prints see
// the values at their point of the program.
TEST(DebugPrint, SeesValuesBeforeInPlaceUpdates) {
  SKIP_UNDER_GPU_EMULATION();
  auto step = jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &g) {
        debugPrint("theta before {}", theta);
        Tensor lr = full({}, 1.0), delta = full({}, 1.0), lambda = full({}, 0.0);
        std::vector<Tensor> updated =
            linbregUpdate(Regularizer::None, theta, v, g, lr, delta, lambda);
        debugPrint("theta after {}", updated[0]);
        return std::make_tuple(updated[0], updated[1]);
      },
      JitOptions{/*donateArgnums=*/{0, 1}});
  Tensor theta = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  Tensor v = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  Tensor g = Tensor::fromVector(std::vector<float>{0.5f, 0.25f}, {2});
  std::string out = capture([&] { step(theta, v, g); });
  // No regulariser, δ = 1: v' = v − lr·g, θ' = δ·v'.
  EXPECT_EQ(out, "theta before f32[2] [1, 2]\ntheta after f32[2] [0.5, 1.75]\n");
}

TEST(DebugPrint, InsideTheDifferentiatedFunctionPrintsForwardValues) {
  SKIP_UNDER_GPU_EMULATION();
  auto step = jit([](const Tensor &w) {
    auto [loss, grad] = valueAndGrad([](const Tensor &q) {
      Tensor l = sum(q * q);
      debugPrint("inner loss {}", l);
      return l;
    })(w);
    debugPrint("grad {}", grad);
    return loss;
  });
  std::string out = capture(
      [&] { step(Tensor::fromVector(std::vector<float>{1, -3}, {2})); });
  EXPECT_EQ(out, "inner loss 10\ngrad f32[2] [2, -6]\n");
}

// The descriptor is a constant of the compiled code: a saved CPU step prints
// when the runtime alone runs it.
TEST(DebugPrint, SavedArtifactPrintsWhenTheRuntimeRunsIt) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("bregman-debugprint-" + std::to_string(getpid()));
  auto step = jit([](const Tensor &x) {
    Tensor doubled = x * 2.0;
    debugPrint("doubled {}", doubled);
    return sum(doubled);
  });
  step.save(dir.string(),
            Tensor::fromVector(std::vector<float>{1, 2, 3}, {3}));
  std::unique_ptr<runtime::Artifact> artifact =
      runtime::Artifact::load(dir.string());
  std::string out = capture([&] { artifact->step(); });
  artifact.reset();
  fs::remove_all(dir);
  EXPECT_EQ(out, "doubled f32[3] [2, 4, 6]\n");
}

TEST(DebugPrint, OutsideJitPrintsConcreteTensorsAtOnce) {
  Tensor x = Tensor::fromVector(std::vector<double>{0.1, 1e300}, {2});
  std::string out = capture([&] {
    debugPrint("x {} s {}", x, Tensor::scalar(1.0f / 3.0f));
  });
  EXPECT_EQ(out, "x f64[2] [0.1, 1e+300] s 0.33333334\n");
}

TEST(DebugPrint, BadFormatsNameTheCallSite) {
  Tensor x = Tensor::scalar(1.0f);
  int line = __LINE__ + 1;
  std::string message = errorMessage([&] { debugPrint("a {} b {}", x); });
  EXPECT_NE(message.find("DebugPrintTest.cpp:" + std::to_string(line) + ": "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("2 placeholder(s) for 1 value(s)"), std::string::npos)
      << message;
  line = __LINE__ + 1;
  message = errorMessage([&] { debugPrint("x {:.3f}", x); });
  EXPECT_NE(message.find("DebugPrintTest.cpp:" + std::to_string(line) + ": "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("only {} placeholders"), std::string::npos) << message;
}

TEST(DebugPrint, RefusedOnTheGpuPathNamingTheCallSite) {
  int line = 0;
  auto step = jit(
      [&](const Tensor &x) {
        line = __LINE__ + 1;
        debugPrint("x {}", x);
        return x * 2.0;
      },
      JitOptions({}, "printing", Device::HostMirror));
  std::string message = errorMessage(
      [&] { step(Tensor::fromVector(std::vector<float>{1}, {1})); });
  EXPECT_NE(message.find("DebugPrintTest.cpp:" + std::to_string(line) +
                         ": printing: debugPrint(\"x {}\") runs on the CPU "
                         "only, not on host-mirror"),
            std::string::npos)
      << message;
}
