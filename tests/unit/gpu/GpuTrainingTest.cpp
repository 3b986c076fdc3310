//===- GpuTrainingTest.cpp - Training steps on a real GPU -----------------===//
//
// The frontend's jit with Device::Cuda: the whole MLP training step and each
// fused update run on device 0 (parameters resident there across steps) and
// agree with the CPU path. Skips, saying why, without a GPU; the same
// programs run in CI through Device::HostMirror (GpuEmulationTest).
//
//===----------------------------------------------------------------------===//

#include "References.h"
#include "bregman/bregman.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/CudaMath.h"
#include "bregman/models/Zoo.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>

using namespace bregman;
using bregman::testing::jitTrainStep;

namespace {

void expectClose(const Params &want, const Params &got, double rel,
                 double abs = 1e-5) {
  for (const auto &[name, t] : want) {
    std::vector<float> a = t.toVector<float>(), b = got.at(name).toVector<float>();
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(b[i], a[i], abs + rel * std::fabs(a[i])) << name << "[" << i << "]";
  }
}

/// Five steps of a 784-200-80-10 MLP (the paper's) with `method` on a fixed
/// batch of 128; returns the parameters and the last loss.
struct Setting {
  optim::Method method;
  float lr, momentum;
};

std::pair<Params, double> fiveSteps(Device device, Setting setting) {
  models::MLP model({784, 200, 80, 10});
  Params params = model.init(5, nn::SparseInit{0.05, 1.0});
  std::vector<optim::Group> groups = {
      {"weights", optim::weights(), Regularizer::L1, setting.lr, 1.0f, 0.1f,
       setting.momentum},
      {"biases", optim::biases(), Regularizer::None, setting.lr, 1.0f, 0.0f,
       setting.momentum}};
  optim::Optimizer opt(setting.method, groups);
  Params state = opt.init(params);
  auto step = jitTrainStep(model, opt, JitOptions{{0, 1}, "gpu_step", device});
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> x(128 * 784);
  for (float &v : x)
    v = uniform(rng);
  std::vector<int32_t> y(128);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<int32_t>((i * 7) % 10);
  Tensor xt = Tensor::fromVector(x, {128, 784});
  Tensor yt = Tensor::fromVector(y, {128});
  double loss = 0;
  for (int k = 0; k < 5; ++k) {
    auto [p2, s2, l] = step(params, state, xt, yt);
    params = p2;
    state = s2;
    loss = l.item();
  }
  return {params, loss};
}

class GpuTraining
    : public ::testing::TestWithParam<std::tuple<Device, Setting>> {};

TEST_P(GpuTraining, MlpStepsAgreeWithCpu) {
  auto [device, setting] = GetParam();
  if (device == Device::Cuda) {
    runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
    if (!info.available)
      GTEST_SKIP() << info.reason;
  }
  auto [cpu, cpuLoss] = fiveSteps(Device::Cpu, setting);
  auto [gpu, gpuLoss] = fiveSteps(device, setting);
  EXPECT_NEAR(gpuLoss, cpuLoss, 1e-4 * std::fabs(cpuLoss));
  // cuBLAS and OpenBLAS sum in different orders.
  expectClose(cpu, gpu, 1e-3);
}

// With --tf32 (CudaMath.h) cuBLAS multiplies TF32 operands: a 10-bit
// mantissa, so each product is off by up to ~1e-3 relative (2^-11 per
// operand) and sums of 784 of them by more where they cancel. Its own,
// looser tolerance: the loss within 5e-3 relative, every parameter within
// 1e-4 + 1e-2·|cpu| (plain FP32 above: 1e-4 and 1e-5 + 1e-3·|cpu|). Loose
// enough for TF32 rounding, tight enough for a wrong layer or update.
TEST(GpuTrainingTf32, MlpStepsAgreeWithCpuWithinTf32Rounding) {
  runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
  if (!info.available)
    GTEST_SKIP() << info.reason;
  Setting setting{optim::Method::LinBreg, 0.1f, 0.9f};
  auto [cpu, cpuLoss] = fiveSteps(Device::Cpu, setting);
  runtime::setCudaTf32(true);
  auto [gpu, gpuLoss] = fiveSteps(Device::Cuda, setting);
  runtime::resetCudaTf32();
  EXPECT_NEAR(gpuLoss, cpuLoss, 5e-3 * std::fabs(cpuLoss));
  expectClose(cpu, gpu, 1e-2, 1e-4);
}

// HostMirror: the same GPU program without a GPU (kernels as CPU loops,
// separate memory), so CI runs these too.
INSTANTIATE_TEST_SUITE_P(
    Methods, GpuTraining,
    ::testing::Combine(
        ::testing::Values(Device::Cuda, Device::HostMirror),
        ::testing::Values(Setting{optim::Method::LinBreg, 0.1f, 0.0f},
                          Setting{optim::Method::LinBreg, 0.1f, 0.9f},
                          Setting{optim::Method::AdaBreg, 1e-3f, 0.0f},
                          Setting{optim::Method::ProxSGD, 0.1f, 0.0f})),
    [](const auto &info) {
      const Setting &s = std::get<1>(info.param);
      return std::string(std::get<0>(info.param) == Device::Cuda ? "cuda_"
                                                                  : "mirror_") +
             optim::methodName(s.method) + (s.momentum > 0 ? "_momentum" : "");
    });

} // namespace
