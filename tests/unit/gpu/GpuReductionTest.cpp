//===- GpuReductionTest.cpp - Long reductions on the GPU path -------------===//
//
// Reductions long enough to be split over many blocks (breg-map-linalg-to-gpu:
// per-block partials, then a second launch summing them in a fixed order)
// against float64 references, and the same inputs giving bit-identical
// results run after run. On device 0 where a GPU exists (skipped, saying
// why, elsewhere); Device::HostMirror runs the same kernels on the CPU
// (shuffles and barriers emulated), which CI does.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/runtime/CudaDriver.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <random>

using namespace bregman;

namespace {

class GpuReduction : public ::testing::TestWithParam<Device> {
protected:
  void SetUp() override {
    if (GetParam() == Device::Cuda) {
      runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
      if (!info.available)
        GTEST_SKIP() << info.reason;
    }
  }
  JitOptions options(const char *name) const {
    return JitOptions{{}, name, GetParam()};
  }
};

std::vector<float> uniform(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

constexpr int64_t kLong = 1000000;

// Small integers: every partial sum is an integer below 2^24, exact in f32,
// so any element dropped or counted twice shows as a difference.
TEST_P(GpuReduction, LongSumOfIntegersIsExact) {
  std::vector<float> x(kLong);
  double want = 0;
  for (int64_t i = 0; i < kLong; ++i) {
    x[i] = static_cast<float>((i * 7919) % 13) - 5.0f;
    want += x[i];
  }
  auto total = jit([](const Tensor &t) { return sum(t); }, options("long_sum"));
  float got = total(Tensor::fromVector(x, {kLong})).item();
  EXPECT_EQ(static_cast<double>(got), want);
}

// Random values against a float64 sum: the blocked tree keeps the f32 error
// near log2(n) roundings of the total (a serial f32 sum of 10^6 positive
// values drifts by about 1e-4 relative; a missing block changes the result
// by 1e-3).
TEST_P(GpuReduction, LongSumMatchesFloat64) {
  std::vector<float> x = uniform(kLong, 0.0f, 1.0f, 3);
  double want = 0;
  for (float v : x)
    want += v;
  auto total = jit([](const Tensor &t) { return sum(t); }, options("long_sum"));
  double got = total(Tensor::fromVector(x, {kLong})).item();
  EXPECT_NEAR(got, want, 4e-6 * want);
}

TEST_P(GpuReduction, LongMaxIsExact) {
  std::vector<float> x = uniform(kLong, -100.0f, -1.0f, 5);
  x[kLong - 3] = -0.5f; // in the last block's remainder
  auto largest =
      jit([](const Tensor &t) { return max(t, {0}); }, options("long_max"));
  EXPECT_EQ(largest(Tensor::fromVector(x, {kLong})).item(), -0.5f);
}

/// Column sums of a rows x cols matrix against float64, each within a few
/// roundings of the column's sum of magnitudes.
void expectColumnSums(const JitOptions &opts, int64_t rows, int64_t cols) {
  std::vector<float> x = uniform(rows * cols, -1.0f, 1.0f, 7);
  auto columns = jit([](const Tensor &t) { return sum(t, {0}); }, opts);
  std::vector<float> got =
      columns(Tensor::fromVector(x, {rows, cols})).toVector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    double want = 0, magnitude = 0;
    for (int64_t r = 0; r < rows; ++r) {
      want += x[r * cols + c];
      magnitude += std::fabs(x[r * cols + c]);
    }
    ASSERT_NEAR(got[c], want, 2e-6 * magnitude) << "column " << c;
  }
}

// One warp per column (128 rows are one round of 4 x 32).
TEST_P(GpuReduction, ColumnSums128x4096MatchFloat64) {
  expectColumnSums(options("column_sums"), 128, 4096);
}

// Long columns: 64 blocks per column, 512 in all, then the partials.
TEST_P(GpuReduction, LongColumnSumsSplitOverBlocksMatchFloat64) {
  expectColumnSums(options("long_columns"), 65536, 8);
}

// The same input twice through the same program, and through a second
// compilation: bit-identical (no atomics, fixed order of the partials).
TEST_P(GpuReduction, RepeatedRunsAreBitIdentical) {
  std::vector<float> x = uniform(kLong, -1.0f, 1.0f, 9);
  Tensor input = Tensor::fromVector(x, {kLong});
  auto first = jit([](const Tensor &t) { return sum(t * t); }, options("det_a"));
  auto second =
      jit([](const Tensor &t) { return sum(t * t); }, options("det_b"));
  float a = first(input).item(), b = first(input).item(),
        c = second(input).item();
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << a << " vs " << b;
  EXPECT_EQ(std::memcmp(&a, &c, sizeof a), 0) << a << " vs " << c;
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuReduction,
                         ::testing::Values(Device::Cuda, Device::HostMirror),
                         [](const auto &info) {
                           return info.param == Device::Cuda ? "cuda"
                                                             : "mirror";
                         });

} // namespace
