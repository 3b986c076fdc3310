//===- GpuEmulationTest.cpp - The GPU kernels' IR, run on the CPU ---------===//
//
// With BREGMAN_EMULATE_GPU=1 the jit maps the computation to gpu.launch
// exactly as bregman-gpu-pipeline does, then runs the launches as loops on
// the CPU. A whole MLP training step (forward, backward, every fused update)
// compiled that way must agree with the CPU path. (ctest also runs the whole
// frontend suite in this mode: label gpu-emulation.)
//
// Device::HostMirror runs the same program with its buffers in separate host
// memory standing in for device memory: parameters stay "on the device"
// across steps, the host reads results and changes a hyper-parameter
// between steps, and every copy the runtime would make to or from a GPU is
// made (or, if one is missing, shows as a wrong value).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include <cmath>
#include <cstdlib>
#include <gtest/gtest.h>
#include <random>

using namespace bregman;
using bregman::testing::jitTrainStep;

namespace {

/// One LinBreg-momentum step of a 20-16-8-4 MLP on a fixed batch; returns
/// the parameters after it and the loss.
enum class Path { Cpu, EmulatedKernels, HostMirror };

std::pair<Params, double> threeSteps(Path path) {
  bool emulateGpu = path == Path::EmulatedKernels;
  if (emulateGpu)
    setenv("BREGMAN_EMULATE_GPU", "1", 1);
  else
    unsetenv("BREGMAN_EMULATE_GPU");
  models::MLP model({20, 16, 8, 4});
  Params params = model.init(7, nn::SparseInit{0.5, 1.5});
  optim::LinBreg opt({{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.05f, 0.9f},
                      {"biases", optim::biases(), Regularizer::None, 0.1f,
                       1.0f, 0.0f, 0.9f}});
  Params state = opt.init(params);
  auto step = jitTrainStep(
      model, opt,
      JitOptions{{0, 1},
                 "emulated_step",
                 path == Path::HostMirror ? Device::HostMirror : Device::Cpu});
  auto [xt, yt] = bregman::testing::fixedBatch(12, 20, 4);
  double loss = 0;
  for (int k = 0; k < 3; ++k) {
    auto [p2, s2, l] = step(params, state, xt, yt);
    params = p2;
    state = s2;
    loss = l.item();
    // The host reads a parameter (the device copy stays current) and, after
    // the second step, writes a hyper-parameter (which must be uploaded).
    EXPECT_TRUE(std::isfinite(params.at("fc1.weight").toVector<float>()[0]));
    if (k == 1)
      opt.setHyper(state, "weights", "lr", 0.05f);
  }
  unsetenv("BREGMAN_EMULATE_GPU");
  return {params, loss};
}

void expectSameSteps(Path path) {
  auto [cpu, cpuLoss] = threeSteps(Path::Cpu);
  auto [gpu, gpuLoss] = threeSteps(path);
  EXPECT_NEAR(gpuLoss, cpuLoss, 1e-5 * std::fabs(cpuLoss));
  for (const auto &[name, t] : cpu) {
    std::vector<float> a = t.toVector<float>(), b = gpu.at(name).toVector<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      // Matmuls sum in another order on the emulated path (loops, not BLAS).
      EXPECT_NEAR(b[i], a[i], 1e-5 + 1e-4 * std::fabs(a[i])) << name << "[" << i << "]";
      EXPECT_EQ(a[i] == 0.0f, b[i] == 0.0f) << name << "[" << i << "]";
    }
  }
}

TEST(GpuEmulation, MlpStepAgreesWithCpuPath) {
  expectSameSteps(Path::EmulatedKernels);
}

TEST(GpuEmulation, DeviceResidentStepsAgreeWithCpuPath) {
  expectSameSteps(Path::HostMirror);
}

} // namespace
