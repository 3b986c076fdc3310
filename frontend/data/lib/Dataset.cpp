//===- Dataset.cpp - In-memory data sets, splits and batches --------------===//

#include "bregman/data/Dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

using namespace bregman::data;

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

  Dataset ds;
  ds.rows = raw.rows;
  ds.cols = raw.cols;
  ds.count = limit >= 0 ? std::min(limit, raw.count) : raw.count;
  // A pixel has only 256 values: normalize each once, in double so that the
  // float results are correctly rounded (255 -> exactly 1.0 for mean = std =
  // 0.5), then map every pixel through the table.
  std::array<float, 256> table;
  for (int v = 0; v < 256; ++v)
    table[v] = static_cast<float>((v / 255.0 - norm.mean) / norm.std);
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
  Dataset full = loadIdxPair(trainImages, trainLabels, norm, trainLimit);
  int64_t n = full.count;
  int64_t nVal = std::llround(valFraction * static_cast<double>(n));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> perm = randomPermutation(n, rng);
  std::vector<int64_t> val(perm.begin(), perm.begin() + nVal);
  std::vector<int64_t> train(perm.begin() + nVal, perm.end());
  // Keep file order inside each part: the split decides membership only,
  // and the Batcher owns the visiting order.
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  splits.val = selectExamples(full, val);
  splits.train = selectExamples(full, train);
  full = Dataset(); // Release the unsplit copy before loading the test set.
  splits.test = loadIdxPair(testImages, testLabels, norm);
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

int64_t Batcher::nextInto(float *x, int32_t *y) {
  int64_t size = std::min(batchSize_, ds_->count - cursor_);
  if (size <= 0)
    return 0;
  const std::size_t f = static_cast<std::size_t>(ds_->features());
  for (int64_t i = 0; i < size; ++i) {
    std::size_t src = static_cast<std::size_t>(order_[cursor_ + i]);
    std::memcpy(x + i * f, ds_->images.data() + src * f, f * sizeof(float));
    y[i] = ds_->labels[src];
  }
  cursor_ += size;
  return size;
}

bool Batcher::next(Batch &batch) {
  int64_t size = std::min(batchSize_, ds_->count - cursor_);
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
