//===- RestorationTest.cpp - Corrupted / clean pairs ----------------------===//
//
// data::restorationPairs against NAS.md §2: the blur of an impulse is the
// 9×9 Gaussian kernel (σ 5, normalized) computed here in float64, zero
// padding loses mass at the border, the noise has the asked standard
// deviation and is the same for the same seed.
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

using namespace bregman::data;

namespace {

Dataset impulses(int64_t count, int64_t row, int64_t col) {
  Dataset ds;
  ds.rows = ds.cols = 28;
  ds.count = count;
  ds.black = {0.0f};
  ds.images.assign(static_cast<size_t>(count * 784), 0.0f);
  ds.labels.assign(static_cast<size_t>(count), 3);
  for (int64_t e = 0; e < count; ++e)
    ds.images[e * 784 + row * 28 + col] = 1.0f;
  return ds;
}

TEST(Restoration, BlurOfAnImpulseIsTheGaussianKernel) {
  Corruption blurOnly{true, 9, 5.0, 0.0};
  Dataset pairs = restorationPairs(impulses(1, 14, 14), blurOnly, 0);
  ASSERT_EQ(pairs.channels, 2);
  ASSERT_EQ(pairs.images.size(), 2u * 784u);
  double total = 0;
  for (int i = -4; i <= 4; ++i)
    for (int j = -4; j <= 4; ++j)
      total += std::exp(-(i * i + j * j) / 50.0);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) {
      int i = r - 14, j = c - 14;
      double want = std::abs(i) <= 4 && std::abs(j) <= 4
                        ? std::exp(-(i * i + j * j) / 50.0) / total
                        : 0.0;
      EXPECT_NEAR(pairs.images[r * 28 + c], want, 1e-7) << r << "," << c;
    }
  // The second plane is the clean image; the label is kept.
  EXPECT_EQ(pairs.images[784 + 14 * 28 + 14], 1.0f);
  EXPECT_EQ(pairs.labels[0], 3);
}

TEST(Restoration, ZeroPaddingAtTheBorder) {
  Corruption blurOnly{true, 9, 5.0, 0.0};
  Dataset pairs = restorationPairs(impulses(1, 0, 0), blurOnly, 0);
  double mass = 0;
  for (int i = 0; i < 784; ++i)
    mass += pairs.images[i];
  // A corner impulse keeps the quarter of the kernel (plus the axes).
  double total = 0, kept = 0;
  for (int i = -4; i <= 4; ++i)
    for (int j = -4; j <= 4; ++j) {
      double g = std::exp(-(i * i + j * j) / 50.0);
      total += g;
      if (i >= 0 && j >= 0)
        kept += g;
    }
  EXPECT_NEAR(mass, kept / total, 1e-6);
}

TEST(Restoration, NoiseHasItsStdAndIsSeeded) {
  Corruption noiseOnly{false, 9, 5.0, 0.05};
  Dataset clean = impulses(50, 3, 3);
  Dataset a = restorationPairs(clean, noiseOnly, 11);
  Dataset b = restorationPairs(clean, noiseOnly, 11);
  Dataset c = restorationPairs(clean, noiseOnly, 12);
  EXPECT_EQ(a.images, b.images);
  EXPECT_NE(a.images, c.images);
  double sum = 0, squares = 0;
  int64_t n = 0;
  for (int64_t e = 0; e < 50; ++e)
    for (int64_t i = 0; i < 784; ++i) {
      double d = a.images[e * 2 * 784 + i] - clean.images[e * 784 + i];
      sum += d;
      squares += d * d;
      ++n;
    }
  double mean = sum / n, std = std::sqrt(squares / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.002); // 39,200 samples: σ/√n ≈ 2.5e-4
  EXPECT_NEAR(std, 0.05, 0.001);
}

TEST(Restoration, RefusesBadCorruption) {
  Dataset clean = impulses(1, 0, 0);
  EXPECT_THROW(restorationPairs(clean, Corruption{true, 8, 5.0, 0.05}, 0),
               std::invalid_argument);
  EXPECT_THROW(restorationPairs(clean, Corruption{false, 9, 5.0, -1.0}, 0),
               std::invalid_argument);
}

} // namespace
