//===- Dataset.cpp - In-memory data sets, splits and batches --------------===//

#include "bregman/data/Dataset.h"
#include "bregman/runtime/InputFile.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

using namespace bregman::data;
namespace runtime = bregman::runtime;

namespace {

/// A uniform integer in [0, bound), bound > 0, by rejection sampling: exact
/// and specified here, where std::uniform_int_distribution is not portable.
uint64_t uniformBelow(std::mt19937_64 &rng, uint64_t bound) {
  // 2^64 mod bound: drawing below it would bias the low residues.
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t r = rng();
    if (r >= threshold)
      return r % bound;
  }
}

/// Picks the existing one of `dir/base` and `dir/base.gz`, plain first.
std::string findIdxFile(const std::string &dir, const std::string &base) {
  namespace fs = std::filesystem;
  fs::path plain = fs::path(dir) / base;
  fs::path gz = fs::path(dir) / (base + ".gz");
  std::error_code ec;
  if (fs::exists(plain, ec))
    return plain.string();
  if (fs::exists(gz, ec))
    return gz.string();
  throw DataError(fmt::format("{}: missing data file: neither {} nor {} exists",
                              dir, plain.string(), gz.string()));
}

/// Refuses images without pixels: a 0-wide layer crashes the generated code.
void checkImageShape(const std::string &path, const IdxImages &raw) {
  if (raw.rows <= 0 || raw.cols <= 0)
    throw DataError(fmt::format("{}: images of {}x{} pixels; an image needs "
                                "at least one row and one column",
                                path, raw.rows, raw.cols));
}

/// Labels index the model's outputs: one outside [0, kClasses) would be
/// read as a one-hot of nothing (a silently wrong loss).
void checkLabels(const std::string &path, const std::vector<uint8_t> &labels,
                 std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (labels[i] >= kClasses)
      throw DataError(fmt::format("{}: label {} at index {} is out of range: "
                                  "labels must be below the {} classes",
                                  path, int(labels[i]), i, kClasses));
}

} // namespace

Dataset bregman::data::loadIdxPair(const std::string &imagesPath,
                                   const std::string &labelsPath,
                                   Normalization norm, int64_t limit) {
  if (!(norm.std > 0.0) || !std::isfinite(norm.std) ||
      !std::isfinite(norm.mean))
    throw std::invalid_argument(fmt::format(
        "normalization needs a finite mean and a positive finite std, got "
        "mean {} std {}",
        norm.mean, norm.std));
  IdxImages raw = readIdxImages(imagesPath);
  std::vector<uint8_t> labels = readIdxLabels(labelsPath);
  if (static_cast<int64_t>(labels.size()) != raw.count)
    throw DataError(fmt::format(
        "image/label count mismatch: {} holds {} images but {} holds {} "
        "labels",
        imagesPath, raw.count, labelsPath, labels.size()));
  checkImageShape(imagesPath, raw);

  Dataset ds;
  ds.rows = raw.rows;
  ds.cols = raw.cols;
  ds.count = limit >= 0 ? std::min(limit, raw.count) : raw.count;
  checkLabels(labelsPath, labels, static_cast<std::size_t>(ds.count));
  // A pixel has only 256 values: normalize each once, in double so that the
  // float results are correctly rounded (255 -> exactly 1.0 for mean = std =
  // 0.5), then map every pixel through the table.
  std::array<float, 256> table;
  for (int v = 0; v < 256; ++v)
    table[v] = static_cast<float>((v / 255.0 - norm.mean) / norm.std);
  runtime::requireAllocation<DataError>(
      static_cast<long double>(ds.count) * ds.features(), sizeof(float),
      fmt::format("{}: {} images of {}x{} as floats", imagesPath, ds.count, ds.rows,
                  ds.cols));
  std::size_t values = static_cast<std::size_t>(ds.count * ds.features());
  ds.images.resize(values);
  for (std::size_t i = 0; i < values; ++i)
    ds.images[i] = table[raw.pixels[i]];
  ds.labels.assign(labels.begin(), labels.begin() + ds.count);
  return ds;
}

std::vector<int64_t> bregman::data::randomPermutation(int64_t n,
                                                      std::mt19937_64 &rng) {
  std::vector<int64_t> perm(static_cast<std::size_t>(std::max<int64_t>(n, 0)));
  for (std::size_t i = 0; i < perm.size(); ++i)
    perm[i] = static_cast<int64_t>(i);
  for (std::size_t i = perm.size(); i > 1; --i)
    std::swap(perm[i - 1], perm[uniformBelow(rng, i)]);
  return perm;
}

Dataset bregman::data::selectExamples(const Dataset &ds,
                                      const std::vector<int64_t> &indices) {
  Dataset out;
  out.rows = ds.rows;
  out.cols = ds.cols;
  out.channels = ds.channels;
  out.black = ds.black;
  out.count = static_cast<int64_t>(indices.size());
  const std::size_t f = static_cast<std::size_t>(ds.features());
  out.images.resize(indices.size() * f);
  out.labels.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    int64_t src = indices[i];
    if (src < 0 || src >= ds.count)
      throw std::out_of_range(
          fmt::format("example index {} out of range [0, {})", src, ds.count));
    std::memcpy(out.images.data() + i * f,
                ds.images.data() + static_cast<std::size_t>(src) * f,
                f * sizeof(float));
    out.labels[i] = ds.labels[static_cast<std::size_t>(src)];
  }
  return out;
}

/// Splits `full` into training and validation parts (seeded; file order
/// kept inside each part: the split decides membership only, the Batcher
/// owns the visiting order).
static void splitTrainVal(Dataset full, uint64_t seed, double valFraction,
                          DataSplits &splits) {
  int64_t n = full.count;
  int64_t nVal = std::llround(valFraction * static_cast<double>(n));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> perm = randomPermutation(n, rng);
  std::vector<int64_t> val(perm.begin(), perm.begin() + nVal);
  std::vector<int64_t> train(perm.begin() + nVal, perm.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  splits.val = selectExamples(full, val);
  splits.train = selectExamples(full, train);
}

Dataset bregman::data::loadCifarBatch(const std::string &path,
                                      const ChannelNormalization &norm,
                                      int64_t limit) {
  constexpr int64_t kPixels = 3 * 32 * 32, kRecord = 1 + kPixels;
  if (norm.mean.size() != 3 || norm.std.size() != 3)
    throw std::invalid_argument("CIFAR-10 normalization needs 3 means and 3 stds");
  for (double s : norm.std)
    if (!(s > 0.0) || !std::isfinite(s))
      throw std::invalid_argument(
          fmt::format("normalization std must be positive and finite, got {}", s));
  runtime::requireRegularFile<DataError>(path, "CIFAR-10 batch");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    throw DataError(fmt::format("{}: cannot open the CIFAR-10 batch (missing "
                                "or unreadable)",
                                path));
  std::streamoff size = in.tellg();
  if (size <= 0 || size % kRecord != 0)
    throw DataError(fmt::format("{}: {} bytes is not a whole number of "
                                "{}-byte CIFAR-10 records (truncated or not a "
                                "CIFAR-10 binary batch)",
                                path, static_cast<long long>(size), kRecord));
  int64_t records = size / kRecord;
  if (limit >= 0)
    records = std::min(records, limit);
  runtime::requireAllocation<DataError>(
      static_cast<long double>(records) * kPixels, sizeof(float),
      fmt::format("{}: {} CIFAR-10 images as floats", path, records));
  in.seekg(0);
  std::vector<unsigned char> raw(static_cast<size_t>(records * kRecord));
  if (!in.read(reinterpret_cast<char *>(raw.data()),
               static_cast<std::streamsize>(raw.size())))
    throw DataError(fmt::format("{}: read failed", path));
  Dataset ds;
  ds.count = records;
  ds.rows = ds.cols = 32;
  ds.channels = 3;
  ds.images.resize(static_cast<size_t>(records * kPixels));
  ds.labels.resize(static_cast<size_t>(records));
  for (int c = 0; c < 3; ++c)
    ds.black.push_back(static_cast<float>(-norm.mean[c] / norm.std[c]));
  for (int64_t r = 0; r < records; ++r) {
    const unsigned char *record = raw.data() + r * kRecord;
    if (record[0] > 9)
      throw DataError(fmt::format("{}: record {} has label {}; CIFAR-10 labels "
                                  "are 0..9",
                                  path, r, int(record[0])));
    ds.labels[r] = record[0];
    for (int64_t i = 0; i < kPixels; ++i) {
      int c = static_cast<int>(i / 1024);
      ds.images[r * kPixels + i] = static_cast<float>(
          (record[1 + i] / 255.0 - norm.mean[c]) / norm.std[c]);
    }
  }
  return ds;
}

DataSplits bregman::data::loadCifar10(const std::string &dir,
                                      const ChannelNormalization &norm,
                                      uint64_t seed, double valFraction,
                                      int64_t trainLimit) {
  if (!(valFraction >= 0.0 && valFraction <= 1.0))
    throw std::invalid_argument(fmt::format(
        "validation fraction must be in [0, 1], got {}", valFraction));
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i)
    files.push_back(fmt::format("{}/data_batch_{}.bin", dir, i));
  files.push_back(dir + "/test_batch.bin");
  for (const std::string &f : files)
    if (!std::ifstream(f, std::ios::binary))
      throw DataError(fmt::format("{}: missing (a CIFAR-10 directory holds "
                                  "data_batch_1.bin .. data_batch_5.bin and "
                                  "test_batch.bin, the 'binary version')",
                                  f));
  Dataset full;
  for (int i = 0; i < 5; ++i) {
    int64_t left = trainLimit < 0 ? -1 : trainLimit - full.count;
    if (left == 0)
      break;
    Dataset part = loadCifarBatch(files[i], norm, left);
    if (full.count == 0) {
      full = std::move(part);
      continue;
    }
    full.images.insert(full.images.end(), part.images.begin(), part.images.end());
    full.labels.insert(full.labels.end(), part.labels.begin(), part.labels.end());
    full.count += part.count;
  }
  DataSplits splits;
  splitTrainVal(std::move(full), seed, valFraction, splits);
  splits.test = loadCifarBatch(files[5], norm);
  return splits;
}

DataSplits bregman::data::loadMnistLike(const std::string &dir,
                                        Normalization norm, uint64_t seed,
                                        double valFraction,
                                        int64_t trainLimit) {
  if (!(valFraction >= 0.0 && valFraction <= 1.0))
    throw std::invalid_argument(fmt::format(
        "validation fraction must be in [0, 1], got {}", valFraction));
  // Resolve every path first: a missing test file is reported before the
  // training set has been spent time on.
  std::string trainImages = findIdxFile(dir, "train-images-idx3-ubyte");
  std::string trainLabels = findIdxFile(dir, "train-labels-idx1-ubyte");
  std::string testImages = findIdxFile(dir, "t10k-images-idx3-ubyte");
  std::string testLabels = findIdxFile(dir, "t10k-labels-idx1-ubyte");

  DataSplits splits;
  // The unsplit copy is released before the test set is loaded.
  splitTrainVal(loadIdxPair(trainImages, trainLabels, norm, trainLimit), seed,
                valFraction, splits);
  splits.test = loadIdxPair(testImages, testLabels, norm);
  // The batchers size their buffers from the training images: a test set of
  // another shape would be misread (smaller) or overflow them (larger).
  const Dataset &train = splits.train, &test = splits.test;
  if (test.rows != train.rows || test.cols != train.cols)
    throw DataError(fmt::format("{}: test images of {}x{} pixels, but the "
                                "training images in {} are {}x{}; every split "
                                "needs the training images' shape",
                                testImages, test.rows, test.cols, trainImages,
                                train.rows, train.cols));
  return splits;
}

//===----------------------------------------------------------------------===//
// Batcher
//===----------------------------------------------------------------------===//

Batcher::Batcher(const Dataset &ds, int64_t batchSize, bool shuffle,
                 uint64_t seed)
    : ds_(&ds), batchSize_(batchSize), shuffle_(shuffle), seed_(seed) {
  if (batchSize <= 0)
    throw std::invalid_argument(
        fmt::format("batch size must be positive, got {}", batchSize));
  // A data set built by hand whose count disagrees with its vectors was read
  // past their ends (a segfault, or an accuracy from other memory).
  const Dataset &d = ds;
  if (d.count < 0 || d.rows < 0 || d.cols < 0 || d.channels < 0 ||
      d.images.size() != static_cast<std::size_t>(d.count * d.features()) ||
      d.labels.size() != static_cast<std::size_t>(d.count))
    throw std::invalid_argument(fmt::format(
        "the data set does not hold what it says: count {} of {} x {} x {} "
        "values needs {} image values and {} labels, it has {} and {}",
        d.count, d.channels, d.rows, d.cols, d.count * d.features(), d.count,
        d.images.size(), d.labels.size()));
  startEpoch(0);
}

void Batcher::startEpoch(uint64_t epoch) {
  epoch_ = epoch;
  cursor_ = 0;
  if (!shuffle_) {
    order_.resize(static_cast<std::size_t>(ds_->count));
    for (std::size_t i = 0; i < order_.size(); ++i)
      order_[i] = static_cast<int64_t>(i);
    return;
  }
  // seed_seq mixes all four words, so nearby (seed, epoch) pairs still give
  // unrelated engine states; its algorithm is fixed by the standard.
  std::seed_seq seq{
      static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32),
      static_cast<uint32_t>(epoch), static_cast<uint32_t>(epoch >> 32)};
  std::mt19937_64 rng(seq);
  order_ = randomPermutation(ds_->count, rng);
}

int64_t Batcher::nextSize() const {
  int64_t left = ds_->count - cursor_;
  if (left <= 0)
    return 0;
  if (fillLastBatch_ && ds_->count >= batchSize_)
    return batchSize_;
  return std::min(batchSize_, left);
}

const float *Batcher::example(int64_t position, float *scratch) const {
  // Past the end (a filled last batch): the epoch's first examples again.
  std::size_t src = static_cast<std::size_t>(order_[position % ds_->count]);
  const float *image = ds_->images.data() + src * ds_->features();
  if (!augmentation_.enabled())
    return image;
  augment(image, scratch, static_cast<uint64_t>(position));
  return scratch;
}

int64_t Batcher::nextInto(float *x, int32_t *y, bool featureMajor) {
  int64_t size = nextSize();
  if (size <= 0)
    return 0;
  const int64_t f = ds_->features();
  for (int64_t i = 0; i < size; ++i)
    y[i] = ds_->labels[static_cast<std::size_t>(
        order_[(cursor_ + i) % ds_->count])];
  if (!featureMajor) {
    for (int64_t i = 0; i < size; ++i) {
      float *row = x + i * f;
      if (const float *e = example(cursor_ + i, row); e != row)
        std::memcpy(row, e, f * sizeof(float));
    }
    cursor_ += size;
    return size;
  }
  // Blocks of 16 examples: each feature's 16 values fill a cache line of x.
  constexpr int64_t kBlock = 16;
  std::vector<float> scratch(augmentation_.enabled() ? kBlock * f : 0);
  std::array<const float *, kBlock> rows{};
  for (int64_t i0 = 0; i0 < size; i0 += kBlock) {
    int64_t block = std::min(kBlock, size - i0);
    for (int64_t i = 0; i < block; ++i)
      rows[i] = example(cursor_ + i0 + i,
                        scratch.empty() ? nullptr : scratch.data() + i * f);
    for (int64_t k = 0; k < f; ++k)
      for (int64_t i = 0; i < block; ++i)
        x[k * size + i0 + i] = rows[i][k];
  }
  cursor_ += size;
  return size;
}

void Batcher::augment(const float *image, float *out, uint64_t position) const {
  std::seed_seq seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32),
                    static_cast<uint32_t>(epoch_), static_cast<uint32_t>(position),
                    0xa9u};
  std::mt19937_64 rng(seq);
  const int64_t pad = augmentation_.pad, rows = ds_->rows, cols = ds_->cols;
  // Offsets in [−pad, pad] and the flip, drawn without the implementation-
  // defined distributions (reproducible across standard libraries).
  int64_t dy = pad > 0 ? static_cast<int64_t>(rng() % uint64_t(2 * pad + 1)) - pad : 0;
  int64_t dx = pad > 0 ? static_cast<int64_t>(rng() % uint64_t(2 * pad + 1)) - pad : 0;
  bool flip = augmentation_.flip && (rng() & 1);
  for (int64_t c = 0; c < ds_->channels; ++c) {
    float black = c < static_cast<int64_t>(ds_->black.size()) ? ds_->black[c] : 0.0f;
    const float *plane = image + c * rows * cols;
    float *target = out + c * rows * cols;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < cols; ++q) {
        int64_t sr = r + dy, sq = (flip ? cols - 1 - q : q) + dx;
        target[r * cols + q] = sr >= 0 && sr < rows && sq >= 0 && sq < cols
                                   ? plane[sr * cols + sq]
                                   : black;
      }
  }
}

bool Batcher::next(Batch &batch) {
  int64_t size = nextSize();
  if (size <= 0) {
    batch.size = 0;
    return false;
  }
  const std::size_t f = static_cast<std::size_t>(ds_->features());
  // Reserve a full batch the first time so that a partial batch followed by
  // full ones (the next epoch) never reallocates; resize within capacity
  // does not allocate.
  batch.x.reserve(static_cast<std::size_t>(batchSize_) * f);
  batch.y.reserve(static_cast<std::size_t>(batchSize_));
  batch.x.resize(static_cast<std::size_t>(size) * f);
  batch.y.resize(static_cast<std::size_t>(size));
  batch.size = nextInto(batch.x.data(), batch.y.data());
  return true;
}

int64_t Batcher::batchesPerEpoch() const {
  return (ds_->count + batchSize_ - 1) / batchSize_;
}

std::vector<std::string> bregman::data::datasetFiles(const std::string &dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const char *base :
       {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    names.push_back(base);
    names.push_back(std::string(base) + ".gz");
  }
  for (int i = 1; i <= 5; ++i)
    names.push_back(fmt::format("data_batch_{}.bin", i));
  names.push_back("test_batch.bin");
  std::vector<std::string> files;
  std::error_code ec;
  for (const std::string &name : names)
    if (fs::exists(fs::path(dir) / name, ec))
      files.push_back((fs::path(dir) / name).string());
  return files;
}
