//===- GpuUpdatesTest.cpp - Each fused update on the device ---------------===//
//
// Every breg update (and the prox and subgradient initialisation), with
// elementwise and group regularisers, compiled for the device and applied
// three times to state that stays there, against the CPU path. Device::Cuda
// where a GPU exists (skipped, saying why, elsewhere); Device::HostMirror
// everywhere (the GPU program with kernels on the CPU and separate memory).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/CudaDriver.h"

#include <cmath>
#include <functional>
#include <gtest/gtest.h>
#include <random>

using namespace bregman;

namespace {

/// theta, v, m1, m2 after an update, by name.
/// `h`: the scalar hyper-parameters (arguments: a jit function may not
/// capture concrete tensors), see hyper() below.
using Update = std::function<Params(const Tensor &theta, const Tensor &v,
                                    const Tensor &m1, const Tensor &m2,
                                    const Tensor &g, const Params &h)>;

struct Case {
  const char *name;
  Shape shape;
  Update update;
};

Params hyper() {
  Params h;
  for (auto [name, value] : std::initializer_list<std::pair<const char *, float>>{
           {"0.1", 0.1f}, {"1.5", 1.5f}, {"0.3", 0.3f}, {"1", 1.0f},
           {"0.2", 0.2f}, {"0.9", 0.9f}, {"0.01", 1e-2f}, {"0.999", 0.999f},
           {"1e-8", 1e-8f}, {"3", 3.0f}, {"2", 2.0f}, {"0.05", 0.05f},
           {"0.5", 0.5f}})
    h.add(name, Tensor::scalar(value));
  return h;
}

Params named(const std::vector<Tensor> &r) {
  static const char *names[] = {"theta", "v", "m1", "m2"};
  Params p;
  for (size_t i = 0; i < r.size(); ++i)
    p.add(names[i], r[i]);
  return p;
}

std::vector<Case> cases() {
  return {
      {"linbreg_l1", {16, 24},
       [](auto &t, auto &v, auto &, auto &, auto &g, auto &h) {
         return named(linbregUpdate(Regularizer::L1, t, v, g, h.at("0.1"), h.at("1.5"),
                                    h.at("0.3")));
       }},
      {"linbreg_l1_l2_rows_momentum", {16, 24},
       [](auto &t, auto &v, auto &m, auto &, auto &g, auto &h) {
         return named(linbregUpdate(Regularizer::L1L2, t, v, g, h.at("0.1"),
                                    h.at("1"), h.at("0.2"), m, h.at("0.9")));
       }},
      {"linbreg_l1_l2_conv", {8, 4, 3, 3},
       [](auto &t, auto &v, auto &, auto &, auto &g, auto &h) {
         return named(linbregUpdate(Regularizer::L1L2Conv, t, v, g, h.at("0.1"),
                                    h.at("1"), h.at("0.2")));
       }},
      {"linbreg_l1_l1_l2", {16, 24},
       [](auto &t, auto &v, auto &, auto &, auto &g, auto &h) {
         return named(linbregUpdate(Regularizer::L1L1L2, t, v, g, h.at("0.1"),
                                    h.at("1"), h.at("0.1"), Tensor(), Tensor(),
                                    h.at("0.2")));
       }},
      {"adabreg_l1", {16, 24},
       [](auto &t, auto &v, auto &m1, auto &m2, auto &g, auto &h) {
         return named(adabregUpdate(Regularizer::L1, t, v, g, m1, m2, h.at("0.01"),
                                    h.at("1"), h.at("0.1"), h.at("0.9"), h.at("0.999"),
                                    h.at("1e-8"), h.at("3")));
       }},
      {"proxsgd_l1_l2", {16, 24},
       [](auto &t, auto &, auto &, auto &, auto &g, auto &h) {
         return named({proxsgdUpdate(Regularizer::L1L2, t, g, h.at("0.1"),
                                     h.at("0.05"))});
       }},
      {"sgd_momentum", {16, 24},
       [](auto &t, auto &, auto &m, auto &, auto &g, auto &h) {
         return named(sgdUpdate(t, g, h.at("0.1"), m, h.at("0.9")));
       }},
      {"adam", {16, 24},
       [](auto &t, auto &, auto &m1, auto &m2, auto &g, auto &h) {
         return named(adamUpdate(t, g, m1, m2, h.at("0.01"), h.at("0.9"), h.at("0.999"),
                                 h.at("1e-8"), h.at("2")));
       }},
      {"prox_l1_pos", {16, 24},
       [](auto &t, auto &, auto &, auto &, auto &, auto &h) {
         return named({prox(Regularizer::L1Pos, t, h.at("0.5"), h.at("0.1"))});
       }},
      {"subgradient_init_l1_l2", {16, 24},
       [](auto &t, auto &, auto &, auto &, auto &, auto &h) {
         return named({t, subgradientInit(Regularizer::L1L2, t, h.at("1"),
                                          h.at("0.2"))});
       }},
  };
}

Tensor random(const Shape &shape, float scale, uint64_t seed) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<float> values(n);
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> normal(0.0f, scale);
  for (float &x : values)
    x = normal(rng);
  return Tensor::fromVector(values, shape);
}

/// Three applications, the state fed back (theta, v, m1, m2 where returned).
Params threeTimes(const Case &c, Device device) {
  Tensor theta = random(c.shape, 0.5f, 1), v = random(c.shape, 0.5f, 2);
  Tensor m1 = random(c.shape, 0.1f, 3), m2 = random(c.shape, 0.1f, 4);
  float *pm2 = m2.data<float>();
  for (int64_t i = 0; i < m2.numel(); ++i)
    pm2[i] = std::fabs(pm2[i]); // a second moment is non-negative
  Tensor g = random(c.shape, 0.2f, 5);
  Update update = c.update;
  auto step = jit(
      [update](const Tensor &t, const Tensor &vv, const Tensor &a,
               const Tensor &b, const Tensor &gg, const Params &h) {
        return update(t, vv, a, b, gg, h);
      },
      JitOptions{{}, c.name, device});
  Params h = hyper();
  Params out;
  for (int k = 0; k < 3; ++k) {
    out = step(theta, v, m1, m2, g, h);
    theta = out.at("theta");
    if (out.contains("v"))
      v = out.at("v");
    if (out.contains("m1"))
      m1 = out.at("m1");
    if (out.contains("m2"))
      m2 = out.at("m2");
  }
  return out;
}

class GpuUpdates
    : public ::testing::TestWithParam<std::tuple<Device, size_t>> {};

TEST_P(GpuUpdates, AgreeWithCpu) {
  auto [device, index] = GetParam();
  if (device == Device::Cuda) {
    runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
    if (!info.available)
      GTEST_SKIP() << info.reason;
  }
  Case c = cases().at(index);
  Params want = threeTimes(c, Device::Cpu);
  Params got = threeTimes(c, device);
  for (const auto &[name, t] : want) {
    std::vector<float> a = t.toVector<float>(), b = got.at(name).toVector<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_NEAR(b[i], a[i], 1e-6 + 1e-5 * std::fabs(a[i]))
          << c.name << " " << name << "[" << i << "]";
      // Sparsity is decided the same way on both.
      ASSERT_EQ(a[i] == 0.0f, b[i] == 0.0f) << c.name << " " << name << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllUpdates, GpuUpdates,
    ::testing::Combine(::testing::Values(Device::Cuda, Device::HostMirror),
                       ::testing::Range<size_t>(0, 10)),
    [](const auto &info) {
      return std::string(std::get<0>(info.param) == Device::Cuda ? "cuda_"
                                                                  : "mirror_") +
             cases().at(std::get<1>(info.param)).name;
    });

} // namespace
