//===- IdxTest.cpp - Tests of the IDX readers, splits and batches ---------===//
//
// Each test writes its own small IDX files, plain and gzip'd, into a fresh
// temporary directory. One test reads the real Fashion-MNIST files from the
// Debian package dataset-fashion-mnist and is skipped when it is absent.
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Idx.h"
#include "bregman/data/Dataset.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace bregman::data;

namespace {

using Bytes = std::vector<uint8_t>;

void putBigEndian32(Bytes &out, uint32_t v) {
  out.push_back(uint8_t(v >> 24));
  out.push_back(uint8_t(v >> 16));
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}

/// An IDX images file: header for `count` images of rows x cols followed by
/// `pixels` (which may deliberately be shorter than the header promises).
Bytes idxImages(uint32_t count, uint32_t rows, uint32_t cols,
                const Bytes &pixels, uint32_t magic = kIdxImagesMagic) {
  Bytes out;
  putBigEndian32(out, magic);
  putBigEndian32(out, count);
  putBigEndian32(out, rows);
  putBigEndian32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

Bytes idxLabels(const Bytes &labels, uint32_t magic = kIdxLabelsMagic) {
  Bytes out;
  putBigEndian32(out, magic);
  putBigEndian32(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

void writePlain(const fs::path &path, const Bytes &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()),
          static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

void writeGz(const fs::path &path, const Bytes &bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

/// Writes plain or gzip'd depending on the file name.
void writeFile(const fs::path &path, const Bytes &bytes) {
  if (path.extension() == ".gz")
    writeGz(path, bytes);
  else
    writePlain(path, bytes);
}

Bytes readRaw(const fs::path &path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)),
               std::istreambuf_iterator<char>());
}

/// Image i of a synthetic set encodes i in its first two pixels, so that any
/// example can be traced back to its position in the file.
Bytes indexedPixels(uint32_t count, uint32_t features) {
  Bytes px(size_t(count) * features);
  for (uint32_t i = 0; i < count; ++i) {
    px[size_t(i) * features + 0] = uint8_t(i % 256);
    px[size_t(i) * features + 1] = uint8_t(i / 256);
    for (uint32_t k = 2; k < features; ++k)
      px[size_t(i) * features + k] = uint8_t((i * 7 + k * 13) % 256);
  }
  return px;
}

/// Inverse of indexedPixels on a Dataset loaded with the identity
/// normalization (x = pixel / 255).
int64_t exampleId(const Dataset &ds, int64_t i) {
  const float *x = ds.images.data() + i * ds.features();
  return std::lround(x[0] * 255.0) + 256 * std::lround(x[1] * 255.0);
}

/// Expects `fn` to throw DataError whose message contains every string in
/// `needles`.
template <typename Fn>
void expectDataError(Fn fn, const std::vector<std::string> &needles) {
  try {
    fn();
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError &e) {
    std::string msg = e.what();
    for (const std::string &n : needles)
      EXPECT_NE(msg.find(n), std::string::npos)
          << "message \"" << msg << "\" lacks \"" << n << "\"";
  }
}

class IdxTest : public ::testing::Test {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("bregman_data_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++) + "_" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string &name) const {
    return (dir_ / name).string();
  }

  /// Writes an MNIST-like directory with `nTrain` / `nTest` indexed 4x4
  /// images; `suffix` is "" or ".gz".
  void writeMnistLike(uint32_t nTrain, uint32_t nTest,
                      const std::string &suffix) {
    Bytes trainLabels(nTrain), testLabels(nTest);
    for (uint32_t i = 0; i < nTrain; ++i)
      trainLabels[i] = uint8_t(i % 10);
    for (uint32_t i = 0; i < nTest; ++i)
      testLabels[i] = uint8_t((i + 3) % 10);
    writeFile(path("train-images-idx3-ubyte" + suffix),
              idxImages(nTrain, 4, 4, indexedPixels(nTrain, 16)));
    writeFile(path("train-labels-idx1-ubyte" + suffix), idxLabels(trainLabels));
    writeFile(path("t10k-images-idx3-ubyte" + suffix),
              idxImages(nTest, 4, 4, indexedPixels(nTest, 16)));
    writeFile(path("t10k-labels-idx1-ubyte" + suffix), idxLabels(testLabels));
  }

  /// A pair of 10 indexed 2x3 images, loaded with the identity normalization.
  Dataset smallDataset(uint32_t n = 10) {
    Bytes labels(n);
    for (uint32_t i = 0; i < n; ++i)
      labels[i] = uint8_t(i % 10);
    writeFile(path("i"), idxImages(n, 2, 3, indexedPixels(n, 6)));
    writeFile(path("l"), idxLabels(labels));
    return loadIdxPair(path("i"), path("l"), Normalization{});
  }

  fs::path dir_;
};

//===----------------------------------------------------------------------===//
// Reading IDX files
//===----------------------------------------------------------------------===//

TEST_F(IdxTest, RoundTripPlainAndGzip) {
  Bytes px = indexedPixels(3, 2 * 5);
  Bytes labels = {7, 0, 255};
  for (std::string suffix : {"", ".gz"}) {
    SCOPED_TRACE(suffix);
    writeFile(path("img" + suffix), idxImages(3, 2, 5, px));
    writeFile(path("lbl" + suffix), idxLabels(labels));
    IdxImages img = readIdxImages(path("img" + suffix));
    EXPECT_EQ(img.count, 3);
    EXPECT_EQ(img.rows, 2);
    EXPECT_EQ(img.cols, 5);
    EXPECT_EQ(img.pixels, px);
    // Labels are returned as stored, not checked against 10 classes.
    EXPECT_EQ(readIdxLabels(path("lbl" + suffix)), labels);
  }
}

TEST_F(IdxTest, EmptyFiles) {
  writeFile(path("img.gz"), idxImages(0, 28, 28, {}));
  writeFile(path("lbl"), idxLabels({}));
  IdxImages img = readIdxImages(path("img.gz"));
  EXPECT_EQ(img.count, 0);
  EXPECT_EQ(img.rows, 28);
  EXPECT_TRUE(img.pixels.empty());
  EXPECT_TRUE(readIdxLabels(path("lbl")).empty());
}

TEST_F(IdxTest, MissingFileNamesPath) {
  std::string p = path("does-not-exist-idx3-ubyte");
  expectDataError([&] { readIdxImages(p); }, {p, "cannot open"});
  expectDataError([&] { readIdxLabels(p); }, {p, "cannot open"});
  expectDataError([&] { readIdxImages(dir_.string()); },
                  {dir_.string(), "directory"});
}

TEST_F(IdxTest, TruncatedData) {
  // The header promises 5 images of 2x2 (20 bytes); only 3 images follow.
  Bytes bytes = idxImages(5, 2, 2, indexedPixels(3, 4));
  for (std::string name : {"short", "short.gz"}) {
    SCOPED_TRACE(name);
    writeFile(path(name), bytes);
    expectDataError([&] { readIdxImages(path(name)); },
                    {path(name), "truncated", "5 images of 2x2", "20 bytes",
                     "only 12 bytes"});
  }
  Bytes labels = idxLabels({1, 2, 3, 4, 5});
  labels.resize(labels.size() - 2);
  writeFile(path("labels"), labels);
  expectDataError([&] { readIdxLabels(path("labels")); },
                  {path("labels"), "truncated", "5 labels", "only 3 bytes"});
}

TEST_F(IdxTest, TruncatedHeader) {
  Bytes bytes = idxImages(5, 2, 2, {});
  bytes.resize(10);
  writeFile(path("hdr"), bytes);
  expectDataError([&] { readIdxImages(path("hdr")); },
                  {path("hdr"), "truncated", "16 bytes", "only 10"});
  writeFile(path("empty"), {});
  expectDataError([&] { readIdxLabels(path("empty")); },
                  {path("empty"), "truncated", "8 bytes", "only 0"});
}

TEST_F(IdxTest, TruncatedGzipStream) {
  // A .gz file cut short, as by an interrupted download.
  Bytes px(2000);
  std::mt19937 rng(1);
  for (uint8_t &p : px)
    p = uint8_t(rng());
  writeGz(path("full.gz"), idxImages(20, 10, 10, px));
  Bytes gz = readRaw(path("full.gz"));
  gz.resize(gz.size() / 2);
  writePlain(path("cut.gz"), gz);
  expectDataError([&] { readIdxImages(path("cut.gz")); },
                  {path("cut.gz"), "truncated", "gzip stream ends early"});
  // All data present but the 8-byte CRC/length trailer cut off.
  gz = readRaw(path("full.gz"));
  gz.resize(gz.size() - 4);
  writePlain(path("notrailer.gz"), gz);
  expectDataError([&] { readIdxImages(path("notrailer.gz")); },
                  {path("notrailer.gz"), "truncated"});
}

TEST_F(IdxTest, CorruptGzipStream) {
  Bytes px(2000);
  std::mt19937 rng(2);
  for (uint8_t &p : px)
    p = uint8_t(rng() % 4); // Compressible, so the stream has real codes.
  writeGz(path("good.gz"), idxImages(20, 10, 10, px));
  Bytes good = readRaw(path("good.gz"));
  ASSERT_GT(good.size(), 64u);

  // Garbage in the deflate data.
  Bytes bad = good;
  for (size_t i = 12; i < 40; ++i)
    bad[i] = 0xFF;
  writePlain(path("bad.gz"), bad);
  expectDataError([&] { readIdxImages(path("bad.gz")); },
                  {path("bad.gz"), "corrupt gzip stream"});

  // Intact data but a wrong CRC: found only by reading past the data.
  bad = good;
  bad[bad.size() - 8] ^= 0x5A;
  writePlain(path("crc.gz"), bad);
  expectDataError([&] { readIdxImages(path("crc.gz")); },
                  {path("crc.gz"), "corrupt gzip stream"});
}

TEST_F(IdxTest, WrongMagic) {
  // A labels file given where images are expected, and the reverse.
  writeFile(path("labels"), idxLabels({1, 2, 3}));
  expectDataError([&] { readIdxImages(path("labels")); },
                  {path("labels"), "wrong magic number", "0x00000801",
                   "expected 0x00000803", "labels file"});
  writeFile(path("images.gz"), idxImages(1, 1, 1, {9}));
  expectDataError([&] { readIdxLabels(path("images.gz")); },
                  {path("images.gz"), "wrong magic number", "0x00000803",
                   "expected 0x00000801"});
  // Not IDX at all.
  writeFile(path("text"), Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r',
                                'l', 'd', '!', '!', '!', '!', '!'});
  expectDataError([&] { readIdxImages(path("text")); },
                  {path("text"), "wrong magic number", "0x68656C6C"});
}

TEST_F(IdxTest, WrongDataType) {
  // 0x0D = float32 elements: valid IDX, but not the unsigned bytes we read.
  writeFile(path("float"), idxImages(1, 1, 1, {0, 0, 0, 0}, 0x00000D03));
  expectDataError([&] { readIdxImages(path("float")); },
                  {path("float"), "data type byte 0x0D", "expected 0x08"});
  writeFile(path("int"), idxLabels({0, 0, 0, 0}, 0x00000C01));
  expectDataError([&] { readIdxLabels(path("int")); },
                  {path("int"), "data type byte 0x0C"});
}

//===----------------------------------------------------------------------===//
// Pairs and normalization
//===----------------------------------------------------------------------===//

TEST_F(IdxTest, NormalizationIsExact) {
  writeFile(path("i.gz"), idxImages(1, 1, 4, {0, 255, 51, 128}));
  writeFile(path("l.gz"), idxLabels({4}));
  Dataset ds = loadIdxPair(path("i.gz"), path("l.gz"), Normalization{0.5, 0.5});
  ASSERT_EQ(ds.images.size(), 4u);
  EXPECT_EQ(ds.images[0], -1.0f);
  EXPECT_EQ(ds.images[1], 1.0f);
  EXPECT_FLOAT_EQ(ds.images[2], float((51 / 255.0 - 0.5) / 0.5));
  EXPECT_FLOAT_EQ(ds.images[3], float((128 / 255.0 - 0.5) / 0.5));
  EXPECT_EQ(ds.labels, std::vector<int32_t>{4});

  Dataset id = loadIdxPair(path("i.gz"), path("l.gz"), Normalization{});
  EXPECT_EQ(id.images[0], 0.0f);
  EXPECT_EQ(id.images[1], 1.0f);
  EXPECT_EQ(id.images[2], 0.2f); // 51 / 255 = 0.2, correctly rounded.

  // MNIST's usual constants.
  Dataset m =
      loadIdxPair(path("i.gz"), path("l.gz"), Normalization{0.1307, 0.3081});
  EXPECT_FLOAT_EQ(m.images[0], float(-0.1307 / 0.3081));
  EXPECT_FLOAT_EQ(m.images[1], float((1.0 - 0.1307) / 0.3081));

  EXPECT_THROW(loadIdxPair(path("i.gz"), path("l.gz"), Normalization{0, 0}),
               std::invalid_argument);
}

TEST_F(IdxTest, PairShapesAndLabels) {
  Dataset ds = smallDataset(10);
  EXPECT_EQ(ds.count, 10);
  EXPECT_EQ(ds.rows, 2);
  EXPECT_EQ(ds.cols, 3);
  EXPECT_EQ(ds.features(), 6);
  EXPECT_EQ(ds.images.size(), 60u);
  ASSERT_EQ(ds.labels.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(exampleId(ds, i), i);
    EXPECT_EQ(ds.labels[i], i % 10);
  }
}

TEST_F(IdxTest, CountMismatch) {
  writeFile(path("img"), idxImages(5, 2, 2, indexedPixels(5, 4)));
  writeFile(path("lbl.gz"), idxLabels({1, 2, 3, 4}));
  expectDataError(
      [&] { loadIdxPair(path("img"), path("lbl.gz"), Normalization{}); },
      {"mismatch", path("img"), path("lbl.gz"), "5 images", "4 labels"});
}

TEST_F(IdxTest, Limit) {
  writeFile(path("img"), idxImages(5, 2, 2, indexedPixels(5, 4)));
  writeFile(path("lbl"), idxLabels({9, 8, 7, 6, 5}));
  Dataset two = loadIdxPair(path("img"), path("lbl"), Normalization{}, 2);
  EXPECT_EQ(two.count, 2);
  EXPECT_EQ(two.images.size(), 8u);
  EXPECT_EQ(two.labels, (std::vector<int32_t>{9, 8}));
  EXPECT_EQ(exampleId(two, 1), 1);
  EXPECT_EQ(loadIdxPair(path("img"), path("lbl"), Normalization{}, 0).count, 0);
  EXPECT_EQ(loadIdxPair(path("img"), path("lbl"), Normalization{}, 100).count,
            5);
  EXPECT_EQ(loadIdxPair(path("img"), path("lbl"), Normalization{}, -1).count,
            5);
}

//===----------------------------------------------------------------------===//
// MNIST-like directories and the train/validation split
//===----------------------------------------------------------------------===//

std::vector<int64_t> ids(const Dataset &ds) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < ds.count; ++i)
    out.push_back(exampleId(ds, i));
  return out;
}

TEST_F(IdxTest, SplitSizesAndDisjointness) {
  writeMnistLike(100, 20, ".gz");
  DataSplits s = loadMnistLike(dir_.string(), Normalization{}, 42);
  EXPECT_EQ(s.train.count, 95);
  EXPECT_EQ(s.val.count, 5);
  EXPECT_EQ(s.test.count, 20);
  EXPECT_EQ(s.train.labels.size(), 95u);
  EXPECT_EQ(s.val.images.size(), 5u * 16);
  EXPECT_EQ(s.test.rows, 4);

  std::vector<int64_t> train = ids(s.train), val = ids(s.val);
  std::set<int64_t> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  EXPECT_EQ(all.size(), 100u); // Disjoint, and together every example.
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 99);
  // Labels travel with their images; both parts keep file order.
  for (int64_t i = 0; i < s.val.count; ++i)
    EXPECT_EQ(s.val.labels[i], val[i] % 10);
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
  EXPECT_TRUE(std::is_sorted(val.begin(), val.end()));
  EXPECT_EQ(ids(s.test)[7], 7);
  EXPECT_EQ(s.test.labels[7], 0);
}

TEST_F(IdxTest, SplitIsSeeded) {
  writeMnistLike(100, 10, "");
  DataSplits a = loadMnistLike(dir_.string(), Normalization{}, 7);
  DataSplits b = loadMnistLike(dir_.string(), Normalization{}, 7);
  DataSplits c = loadMnistLike(dir_.string(), Normalization{}, 8);
  EXPECT_EQ(ids(a.val), ids(b.val));
  EXPECT_EQ(a.train.images, b.train.images);
  EXPECT_EQ(a.val.labels, b.val.labels);
  EXPECT_NE(ids(a.val), ids(c.val));
}

TEST_F(IdxTest, SplitFractionAndTrainLimit) {
  writeMnistLike(100, 10, ".gz");
  // trainLimit applies before the split: 40 examples, round(0.05*40) = 2.
  DataSplits s = loadMnistLike(dir_.string(), Normalization{}, 1, 0.05, 40);
  EXPECT_EQ(s.train.count, 38);
  EXPECT_EQ(s.val.count, 2);
  EXPECT_EQ(s.test.count, 10); // The test set is never limited.
  for (int64_t id : ids(s.train))
    EXPECT_LT(id, 40);
  for (int64_t id : ids(s.val))
    EXPECT_LT(id, 40);

  // round(): 0.125 * 100 = 12.5 -> 13; 0.1 * 30 = 3.
  EXPECT_EQ(loadMnistLike(dir_.string(), {}, 1, 0.125).val.count, 13);
  EXPECT_EQ(loadMnistLike(dir_.string(), {}, 1, 0.1, 30).val.count, 3);
  EXPECT_EQ(loadMnistLike(dir_.string(), {}, 1, 0.0).train.count, 100);
  EXPECT_EQ(loadMnistLike(dir_.string(), {}, 1, 1.0).val.count, 100);
  EXPECT_THROW(loadMnistLike(dir_.string(), {}, 1, 1.5), std::invalid_argument);
}

TEST_F(IdxTest, PrefersPlainOverGzip) {
  writeMnistLike(100, 10, ".gz");
  writeMnistLike(60, 10, "");
  DataSplits s = loadMnistLike(dir_.string(), Normalization{}, 1, 0.5);
  EXPECT_EQ(s.train.count + s.val.count, 60);
}

TEST_F(IdxTest, MissingDirectoryFile) {
  writeMnistLike(10, 10, ".gz");
  fs::remove(dir_ / "t10k-labels-idx1-ubyte.gz");
  expectDataError([&] { loadMnistLike(dir_.string(), Normalization{}, 1); },
                  {path("t10k-labels-idx1-ubyte"),
                   path("t10k-labels-idx1-ubyte.gz"), "neither"});
}

//===----------------------------------------------------------------------===//
// Batcher
//===----------------------------------------------------------------------===//

/// The example ids of one epoch, batch by batch, through next().
std::vector<std::vector<int64_t>> epochIds(Batcher &b, const Dataset &ds,
                                           uint64_t epoch) {
  b.startEpoch(epoch);
  std::vector<std::vector<int64_t>> out;
  Batch batch;
  while (b.next(batch)) {
    EXPECT_EQ(batch.x.size(), size_t(batch.size * ds.features()));
    EXPECT_EQ(batch.y.size(), size_t(batch.size));
    std::vector<int64_t> got;
    for (int64_t i = 0; i < batch.size; ++i) {
      const float *x = batch.x.data() + i * ds.features();
      int64_t id = std::lround(x[0] * 255.0) + 256 * std::lround(x[1] * 255.0);
      EXPECT_EQ(batch.y[i], id % 10); // Labels stay with their images.
      // Whole rows are copied.
      for (int64_t k = 0; k < ds.features(); ++k)
        EXPECT_EQ(x[k], ds.images[id * ds.features() + k]);
      got.push_back(id);
    }
    out.push_back(got);
  }
  EXPECT_EQ(batch.size, 0);
  return out;
}

TEST_F(IdxTest, BatcherCoversEveryExampleOnce) {
  Dataset ds = smallDataset(10);
  for (bool shuffle : {false, true}) {
    SCOPED_TRACE(shuffle);
    Batcher b(ds, 4, shuffle, 123);
    EXPECT_EQ(b.batchesPerEpoch(), 3);
    for (uint64_t epoch : {0, 1, 5}) {
      auto batches = epochIds(b, ds, epoch);
      ASSERT_EQ(batches.size(), 3u);
      EXPECT_EQ(batches[0].size(), 4u);
      EXPECT_EQ(batches[1].size(), 4u);
      EXPECT_EQ(batches[2].size(), 2u); // The partial last batch.
      std::vector<int64_t> seen;
      for (auto &batch : batches)
        seen.insert(seen.end(), batch.begin(), batch.end());
      std::vector<int64_t> sorted = seen;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
      if (!shuffle) {
        EXPECT_EQ(seen, sorted); // File order.
      }
    }
  }
  EXPECT_EQ(Batcher(ds, 5, true, 0).batchesPerEpoch(), 2);
  EXPECT_EQ(Batcher(ds, 100, true, 0).batchesPerEpoch(), 1);
  EXPECT_THROW(Batcher(ds, 0, true, 0), std::invalid_argument);
}

// A data set built by hand whose count disagrees with its vectors was read
// past their ends (a segfault in Trainer::evaluate, or a made-up accuracy).
TEST_F(IdxTest, BatcherRefusesADataSetThatDoesNotHoldItsCount) {
  Dataset lying = smallDataset(10);
  lying.count = 12;
  Dataset fewLabels = smallDataset(10);
  fewLabels.labels.pop_back();
  Dataset negative = smallDataset(10);
  negative.count = -1;
  for (const Dataset *ds : {&lying, &fewLabels, &negative}) {
    try {
      Batcher b(*ds, 4, false, 0);
      ADD_FAILURE() << "count " << ds->count << " accepted";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("does not hold what it says"),
                std::string::npos)
          << e.what();
    }
  }
}

// setFillLastBatch: the last batch is filled up with the epoch's first
// examples, so every batch has the batch size (one training-step shape);
// every example is still seen, and a data set smaller than a batch stays one
// partial batch.
TEST_F(IdxTest, BatcherFillsTheLastBatchWithTheEpochsFirstExamples) {
  Dataset ds = smallDataset(10);
  for (bool shuffle : {false, true}) {
    SCOPED_TRACE(shuffle);
    Batcher b(ds, 4, shuffle, 123);
    b.setFillLastBatch(true);
    EXPECT_EQ(b.batchesPerEpoch(), 3);
    for (uint64_t epoch : {0, 3}) {
      auto batches = epochIds(b, ds, epoch);
      ASSERT_EQ(batches.size(), 3u);
      for (const auto &batch : batches)
        EXPECT_EQ(batch.size(), 4u);
      const std::vector<int64_t> &order = b.order();
      EXPECT_EQ(batches[2], (std::vector<int64_t>{order[8], order[9],
                                                  order[0], order[1]}));
      std::set<int64_t> seen;
      for (const auto &batch : batches)
        seen.insert(batch.begin(), batch.end());
      EXPECT_EQ(seen.size(), 10u);
    }
  }
  Batcher divides(ds, 5, true, 1), larger(ds, 16, true, 1);
  divides.setFillLastBatch(true);
  larger.setFillLastBatch(true);
  auto whole = epochIds(divides, ds, 0);
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[1].size(), 5u);
  auto partial = epochIds(larger, ds, 0);
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].size(), 10u);
}

TEST_F(IdxTest, BatcherIsReproduciblePerSeedAndEpoch) {
  Dataset ds = smallDataset(10);
  Batcher a(ds, 3, true, 99), b(ds, 3, true, 99), c(ds, 3, true, 100);
  EXPECT_EQ(epochIds(a, ds, 2), epochIds(b, ds, 2));
  EXPECT_EQ(a.order(), b.order());
  // Going back to an epoch replays it.
  auto e0 = epochIds(a, ds, 0);
  auto e1 = epochIds(a, ds, 1);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(epochIds(a, ds, 0), e0);
  EXPECT_NE(epochIds(c, ds, 0), e0);
  // The constructor starts epoch 0.
  Batcher fresh(ds, 3, true, 99);
  EXPECT_EQ(fresh.epoch(), 0u);
  a.startEpoch(0);
  EXPECT_EQ(fresh.order(), a.order());
}

// Feature-major batches ([features, n], for a training step whose first
// layer runs feature-major on its CSR) hold the sample-major ones
// transposed: full batches of 20 (a block of 16 examples and one of 4), the
// partial or filled last one, with and without augmentation; nothing past
// n·features is written.
TEST_F(IdxTest, BatcherFeatureMajorIsTheTransposeOfSampleMajor) {
  Dataset ds = smallDataset(45);
  const int64_t f = ds.features(), batch = 20;
  for (bool fill : {false, true})
    for (bool augment : {false, true}) {
      SCOPED_TRACE(testing::Message()
                   << "fill " << fill << ", augment " << augment);
      Batcher rows(ds, batch, true, 3), columns(ds, batch, true, 3);
      for (Batcher *b : {&rows, &columns}) {
        b->setFillLastBatch(fill);
        if (augment)
          b->setAugmentation(Augmentation{1, true});
        b->startEpoch(1);
      }
      std::vector<float> x(batch * f), xt(batch * f + 1, -7.0f);
      std::vector<int32_t> y(batch), yt(batch);
      std::vector<int64_t> sizes;
      while (int64_t n = rows.nextInto(x.data(), y.data())) {
        std::fill(xt.begin(), xt.end(), -7.0f);
        ASSERT_EQ(columns.nextInto(xt.data(), yt.data(), /*featureMajor=*/true),
                  n);
        sizes.push_back(n);
        EXPECT_TRUE(std::equal(y.begin(), y.begin() + n, yt.begin()));
        for (int64_t i = 0; i < n; ++i)
          for (int64_t k = 0; k < f; ++k)
            ASSERT_EQ(xt[k * n + i], x[i * f + k])
                << "example " << i << ", feature " << k;
        for (size_t k = n * f; k < xt.size(); ++k)
          ASSERT_EQ(xt[k], -7.0f) << "written past the batch at " << k;
      }
      EXPECT_EQ(columns.nextInto(xt.data(), yt.data(), true), 0);
      EXPECT_EQ(sizes, (std::vector<int64_t>{20, 20, fill ? 20 : 5}));
    }
}

TEST_F(IdxTest, BatcherNextIntoMatchesNext) {
  Dataset ds = smallDataset(10);
  Batcher a(ds, 4, true, 5), b(ds, 4, true, 5);
  std::vector<float> x(4 * ds.features(), -7.0f);
  std::vector<int32_t> y(4, -7);
  Batch batch;
  for (int step = 0; step < 3; ++step) {
    if (step == 2) { // Sentinels, to see what the partial batch writes.
      std::fill(x.begin(), x.end(), -7.0f);
      std::fill(y.begin(), y.end(), -7);
    }
    ASSERT_TRUE(a.next(batch));
    int64_t n = b.nextInto(x.data(), y.data());
    ASSERT_EQ(n, batch.size);
    EXPECT_TRUE(std::equal(batch.x.begin(), batch.x.end(), x.begin()));
    EXPECT_TRUE(std::equal(batch.y.begin(), batch.y.end(), y.begin()));
  }
  EXPECT_EQ(b.nextInto(x.data(), y.data()), 0);
  EXPECT_FALSE(a.next(batch));
  // Nothing past the partial batch (2 examples) was written.
  EXPECT_EQ(y[2], -7);
  EXPECT_EQ(y[3], -7);
  for (size_t k = 2 * ds.features(); k < x.size(); ++k)
    EXPECT_EQ(x[k], -7.0f);
}

TEST_F(IdxTest, BatcherReusesBatchStorage) {
  Dataset ds = smallDataset(10);
  Batcher b(ds, 4, true, 1);
  Batch batch;
  ASSERT_TRUE(b.next(batch));
  const float *x = batch.x.data();
  const int32_t *y = batch.y.data();
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    b.startEpoch(epoch);
    while (b.next(batch)) {
      EXPECT_EQ(batch.x.data(), x);
      EXPECT_EQ(batch.y.data(), y);
    }
  }
}

TEST_F(IdxTest, BatcherOnEmptyDataset) {
  Dataset ds;
  Batcher b(ds, 8, true, 0);
  EXPECT_EQ(b.batchesPerEpoch(), 0);
  Batch batch;
  EXPECT_FALSE(b.next(batch));
}

//===----------------------------------------------------------------------===//
// The real Fashion-MNIST, from Debian's dataset-fashion-mnist
//===----------------------------------------------------------------------===//

TEST(FashionMnist, DebianPackage) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir))
    GTEST_SKIP() << dir
                 << " is absent; install the Debian package "
                    "dataset-fashion-mnist to run this test";
  DataSplits s = loadMnistLike(dir, Normalization{0.5, 0.5}, 0);
  EXPECT_EQ(s.train.count + s.val.count, 60000);
  EXPECT_EQ(s.val.count, 3000); // 5%.
  EXPECT_EQ(s.test.count, 10000);
  for (const Dataset *ds : {&s.train, &s.val, &s.test}) {
    EXPECT_EQ(ds->rows, 28);
    EXPECT_EQ(ds->cols, 28);
    EXPECT_EQ(ds->images.size(), size_t(ds->count) * 784);
    for (int32_t label : ds->labels) {
      ASSERT_GE(label, 0);
      ASSERT_LE(label, 9);
    }
    auto [lo, hi] = std::minmax_element(ds->images.begin(), ds->images.end());
    EXPECT_GE(*lo, -1.0f);
    EXPECT_LE(*hi, 1.0f);
  }
  // Known values (read with Python's gzip module): the first training label
  // is 9 (ankle boot), the first test label 9, and the first training image's
  // pixels sum to 76247.
  std::vector<uint8_t> trainLabels =
      readIdxLabels(dir + "/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(trainLabels.size(), 60000u);
  EXPECT_EQ(trainLabels[0], 9);
  EXPECT_EQ(trainLabels[1], 0);
  EXPECT_EQ(s.test.labels[0], 9);
  IdxImages train = readIdxImages(dir + "/train-images-idx3-ubyte.gz");
  int64_t sum = 0;
  for (int k = 0; k < 784; ++k)
    sum += train.pixels[k];
  EXPECT_EQ(sum, 76247);
}

} // namespace
