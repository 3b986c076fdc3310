//===- CifarTest.cpp - CIFAR-10 binary batches and augmentation -----------===//
//
// The tests write their own small files in the CIFAR-10 binary format
// (records of a label byte and the red, green and blue 32×32 planes).
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Dataset.h"
#include "bregman/data/Idx.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace bregman::data;

namespace {

constexpr int kPixels = 3 * 32 * 32;

/// Pixel i of record r: a value that identifies both (r * 7 + i) mod 256.
unsigned char pixelOf(int r, int i) { return static_cast<unsigned char>((r * 7 + i) % 256); }

void writeBatch(const fs::path &path, int records, int firstRecord,
                int badLabelAt = -1, int truncateBy = 0) {
  std::vector<unsigned char> bytes;
  for (int r = firstRecord; r < firstRecord + records; ++r) {
    bytes.push_back(r - firstRecord == badLabelAt ? 10 : r % 10);
    for (int i = 0; i < kPixels; ++i)
      bytes.push_back(pixelOf(r, i));
  }
  bytes.resize(bytes.size() - truncateBy);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

const ChannelNormalization kNorm{{0.4914, 0.4822, 0.4465}, {0.2023, 0.1994, 0.2010}};

class CifarTest : public ::testing::Test {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir = fs::temp_directory_path() /
          ("bregman_cifar_test_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++));
    fs::create_directories(dir);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void writeDirectory(int perBatch) {
    for (int i = 1; i <= 5; ++i)
      writeBatch(dir / ("data_batch_" + std::to_string(i) + ".bin"), perBatch,
                 (i - 1) * perBatch);
    writeBatch(dir / "test_batch.bin", perBatch, 1000);
  }
  fs::path dir;
};

TEST_F(CifarTest, BatchIsNormalizedPerChannel) {
  writeBatch(dir / "b.bin", 3, 0);
  Dataset ds = loadCifarBatch((dir / "b.bin").string(), kNorm);
  ASSERT_EQ(ds.count, 3);
  EXPECT_EQ(ds.channels, 3);
  EXPECT_EQ(ds.rows, 32);
  EXPECT_EQ(ds.features(), kPixels);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(ds.labels[r], r % 10);
    for (int i : {0, 1023, 1024, 2047, 2048, 3071}) {
      int c = i / 1024;
      double expected = (pixelOf(r, i) / 255.0 - kNorm.mean[c]) / kNorm.std[c];
      EXPECT_NEAR(ds.images[r * kPixels + i], expected, 1e-6) << r << " " << i;
    }
  }
  ASSERT_EQ(ds.black.size(), 3u);
  EXPECT_NEAR(ds.black[2], -0.4465 / 0.2010, 1e-6);
}

TEST_F(CifarTest, DirectoryIsSplitAndLimited) {
  writeDirectory(10);
  DataSplits s = loadCifar10(dir.string(), kNorm, /*seed=*/3, 0.1);
  EXPECT_EQ(s.train.count + s.val.count, 50);
  EXPECT_EQ(s.val.count, 5);
  EXPECT_EQ(s.test.count, 10);
  EXPECT_EQ(s.train.channels, 3);
  DataSplits limited = loadCifar10(dir.string(), kNorm, 3, 0.0, /*trainLimit=*/23);
  EXPECT_EQ(limited.train.count, 23);
  // The 23 are the first records in file order (batch 1, 2, then 3 of batch 3).
  EXPECT_EQ(limited.train.labels[22], 22 % 10);
}

TEST_F(CifarTest, ErrorsNameTheFileAndTheProblem) {
  writeDirectory(4);
  fs::remove(dir / "data_batch_4.bin");
  try {
    loadCifar10(dir.string(), kNorm, 0);
    FAIL() << "no error";
  } catch (const DataError &e) {
    EXPECT_NE(std::string(e.what()).find("data_batch_4.bin: missing"), std::string::npos)
        << e.what();
  }
  writeBatch(dir / "short.bin", 2, 0, -1, /*truncateBy=*/100);
  try {
    loadCifarBatch((dir / "short.bin").string(), kNorm);
    FAIL() << "no error";
  } catch (const DataError &e) {
    EXPECT_NE(std::string(e.what()).find("short.bin: 6046 bytes is not a whole number of 3073-byte"),
              std::string::npos)
        << e.what();
  }
  writeBatch(dir / "label.bin", 3, 0, /*badLabelAt=*/2);
  try {
    loadCifarBatch((dir / "label.bin").string(), kNorm);
    FAIL() << "no error";
  } catch (const DataError &e) {
    EXPECT_NE(std::string(e.what()).find("label.bin: record 2 has label 10"),
              std::string::npos)
        << e.what();
  }
}

/// One 1×4×4 image with pixel value = its index, so that each output pixel
/// tells where it came from.
Dataset indexImage() {
  Dataset ds;
  ds.count = 1;
  ds.rows = ds.cols = 4;
  ds.channels = 1;
  ds.black = {-1.0f};
  for (int i = 0; i < 16; ++i)
    ds.images.push_back(static_cast<float>(i));
  ds.labels = {0};
  return ds;
}

TEST(Augmentation, CropsAreShiftedWindowsAndFlipsMirror) {
  Dataset ds = indexImage();
  Batcher batcher(ds, 1, false, /*seed=*/1);
  batcher.setAugmentation(Augmentation{1, true});
  int flips = 0, shifted = 0;
  for (uint64_t epoch = 0; epoch < 200; ++epoch) {
    batcher.startEpoch(epoch);
    float x[16];
    int32_t y;
    ASSERT_EQ(batcher.nextInto(x, &y), 1);
    // Find the shift and flip that explain the output; black where outside.
    bool explained = false;
    for (int dy = -1; dy <= 1 && !explained; ++dy)
      for (int dx = -1; dx <= 1 && !explained; ++dx)
        for (bool flip : {false, true}) {
          bool ok = true;
          for (int r = 0; r < 4 && ok; ++r)
            for (int q = 0; q < 4 && ok; ++q) {
              int sr = r + dy, sq = (flip ? 3 - q : q) + dx;
              float expected = sr >= 0 && sr < 4 && sq >= 0 && sq < 4 ? sr * 4 + sq : -1.0f;
              ok = x[r * 4 + q] == expected;
            }
          if (ok) {
            explained = true;
            flips += flip;
            shifted += dy != 0 || dx != 0;
            break;
          }
        }
    EXPECT_TRUE(explained) << "epoch " << epoch;
  }
  // Both choices are random: neither always nor never.
  EXPECT_GT(flips, 50);
  EXPECT_LT(flips, 150);
  EXPECT_GT(shifted, 100);
}

TEST(Augmentation, SameSeedSameBatches) {
  Dataset ds = indexImage();
  auto draw = [&](uint64_t seed) {
    Batcher batcher(ds, 1, false, seed);
    batcher.setAugmentation(Augmentation{2, true});
    std::vector<float> all;
    for (uint64_t e = 0; e < 20; ++e) {
      batcher.startEpoch(e);
      float x[16];
      int32_t y;
      batcher.nextInto(x, &y);
      all.insert(all.end(), x, x + 16);
    }
    return all;
  };
  EXPECT_EQ(draw(5), draw(5));
  EXPECT_NE(draw(5), draw(6));
}

} // namespace
