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
#include <string>
#include <utility>

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
  JitOptions options(const std::string &name) const {
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
/// roundings of the column's sum of magnitudes. `shape` is the input's
/// (rows = the product of its leading `reducedAxes` dims).
void expectColumnSums(const JitOptions &opts, std::vector<int64_t> shape,
                      std::vector<int64_t> reducedAxes) {
  int64_t rows = 1, cols = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    (d < reducedAxes.size() ? rows : cols) *= shape[d];
  std::vector<float> x = uniform(rows * cols, -1.0f, 1.0f, 7);
  auto columns = jit(
      [&](const Tensor &t) { return sum(t, reducedAxes); }, opts);
  std::vector<float> got =
      columns(Tensor::fromVector(x, shape)).toVector<float>();
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

void expectColumnSums(const JitOptions &opts, int64_t rows, int64_t cols) {
  expectColumnSums(opts, {rows, cols}, {0});
}

/// Column maxima of a rows x cols matrix: exact. Each column's largest
/// value sits in a different row (the last row of the last column among
/// them), so a row or column read from the wrong place shows.
void expectColumnMax(const JitOptions &opts, int64_t rows, int64_t cols) {
  std::vector<float> x = uniform(rows * cols, -100.0f, -1.0f, 11);
  for (int64_t c = 0; c < cols; ++c)
    x[((c * 7919 + rows - 1) % rows) * cols + c] = static_cast<float>(c);
  auto columns = jit([](const Tensor &t) { return max(t, {0}); }, opts);
  std::vector<float> got =
      columns(Tensor::fromVector(x, {rows, cols})).toVector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c)
    ASSERT_EQ(got[c], static_cast<float>(c)) << "column " << c;
}

// Column reductions (the reduced dimension outer): consecutive threads on
// consecutive columns. 128 x 4096: 32 columns by 8 row lanes per block, 128
// blocks, one pass.
TEST_P(GpuReduction, ColumnSums128x4096MatchFloat64) {
  expectColumnSums(options("column_sums"), 128, 4096);
}

// A dense layer's bias gradient: 7 blocks of 32 columns (the last one 8
// wide), one pass.
TEST_P(GpuReduction, ColumnSums128x200MatchFloat64) {
  expectColumnSums(options("columns_128x200"), 128, 200);
}

// 16 columns (10 in range) by 16 lanes; 4 chunks of 256 rows (the last
// 232), then the [4][10] partials in a second pass.
TEST_P(GpuReduction, ColumnSums1000x10SplitMatchFloat64) {
  expectColumnSums(options("columns_1000x10"), 1000, 10);
}

// 4 columns (3 in range) by 64 lanes: a warp reads 8 rows of 3 floats, 24
// neighbouring floats; 4 chunks of 1024 rows.
TEST_P(GpuReduction, ColumnSums4096x3SplitMatchFloat64) {
  expectColumnSums(options("columns_4096x3"), 4096, 3);
}

// Few rows: one thread per column, 3 rows each.
TEST_P(GpuReduction, ColumnSums3x4096MatchFloat64) {
  expectColumnSums(options("columns_3x4096"), 3, 4096);
}

// Long columns: 8 columns by 32 lanes, 128 chunks of 512 rows, then the
// [128][8] partials as a second column pass.
TEST_P(GpuReduction, LongColumnSumsSplitOverBlocksMatchFloat64) {
  expectColumnSums(options("long_columns"), 65536, 8);
}

// Several output dims (6 x 7 columns, decoded from the column index) and
// several reduced dims (64 x 32 rows, decoded from the row index).
TEST_P(GpuReduction, ColumnSumsOverSeveralDimsMatchFloat64) {
  expectColumnSums(options("columns_3d"), {512, 6, 7}, {0});
  expectColumnSums(options("rows_3d"), {64, 32, 5}, {0, 1});
}

TEST_P(GpuReduction, ColumnMaxIsExact) {
  expectColumnMax(options("colmax_128x200"), 128, 200);
  expectColumnMax(options("colmax_1000x10"), 1000, 10);
  expectColumnMax(options("colmax_4096x3"), 4096, 3);
  expectColumnMax(options("colmax_3x4096"), 3, 4096);
}

// The body fused into the reduction (a square) runs in the column kernel.
TEST_P(GpuReduction, ColumnSumOfSquaresMatchesFloat64) {
  constexpr int64_t rows = 1000, cols = 10;
  std::vector<float> x = uniform(rows * cols, -1.0f, 1.0f, 13);
  auto squares = jit([](const Tensor &t) { return sum(t * t, {0}); },
                     options("column_squares"));
  std::vector<float> got =
      squares(Tensor::fromVector(x, {rows, cols})).toVector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    double want = 0;
    for (int64_t r = 0; r < rows; ++r)
      want += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
    ASSERT_NEAR(got[c], want, 2e-6 * want) << "column " << c;
  }
}

// Column sums with and without a split, twice through one program and once
// through a second compilation: bit-identical (fixed tree, fixed order of
// the partials).
TEST_P(GpuReduction, RepeatedColumnSumsAreBitIdentical) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4096, 3}, {128, 200}}) {
    Tensor input = Tensor::fromVector(uniform(rows * cols, -1.0f, 1.0f, 17),
                                      {rows, cols});
    auto columnSums = [](const Tensor &t) { return sum(t, {0}); };
    std::string name = "det_columns_" + std::to_string(rows);
    auto first = jit(columnSums, options(name + "_a"));
    auto second = jit(columnSums, options(name + "_b"));
    std::vector<float> a = first(input).toVector<float>(),
                       b = first(input).toVector<float>(),
                       c = second(input).toVector<float>();
    ASSERT_EQ(a.size(), static_cast<size_t>(cols));
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);
  }
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
