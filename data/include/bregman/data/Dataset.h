//===- Dataset.h - In-memory data sets, splits and batches ------*- C++ -*-===//
//
// A Dataset holds normalized images as one contiguous N x features float
// array, which is the layout compiled training steps consume. Loading,
// the train/validation split and per-epoch shuffling are all seeded so that
// an experiment is reproducible from its seed alone, independently of the
// standard library it was built with.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_DATA_DATASET_H
#define BREGMAN_DATA_DATASET_H

#include "bregman/data/Idx.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace bregman::data {

/// The classes of every data set the loaders read.
constexpr int64_t kClasses = 10;

/// Per-pixel normalization: x = (pixel / 255 - mean) / std. The default is
/// the identity after scaling to [0, 1].
struct Normalization {
  double mean = 0.0;
  double std = 1.0;
};

/// Labelled examples held in memory.
struct Dataset {
  std::vector<float> images;   ///< count x features, row-major, normalized.
  std::vector<int32_t> labels; ///< count labels.
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t channels = 1; ///< Planes per example (CHW order), 3 for CIFAR.
  /// Labels are in [0, classes): MNIST, Fashion-MNIST and CIFAR-10 all have
  /// 10, and the loaders refuse a label outside.
  int64_t classes = kClasses;
  /// Per channel: the normalized value of a black pixel (what padding for
  /// a random crop fills in, as torchvision pads before normalizing).
  std::vector<float> black;

  /// Values per example (channels * rows * cols).
  int64_t features() const { return channels * rows * cols; }
};

/// The three parts of an MNIST-like data set.
struct DataSplits {
  Dataset train;
  Dataset val;
  Dataset test;
};

/// Per-channel normalization: x = (pixel / 255 - mean[c]) / std[c].
struct ChannelNormalization {
  std::vector<double> mean;
  std::vector<double> std;
};

/// Loads one CIFAR-10 binary batch: records of 1 label byte and 3072 pixel
/// bytes (the red, green and blue 32×32 planes). `limit` as in loadIdxPair.
/// Throws DataError naming the file for a missing or unreadable file, a size
/// that is not a whole number of records, or a label outside 0..9.
Dataset loadCifarBatch(const std::string &path, const ChannelNormalization &norm,
                       int64_t limit = -1);

/// Loads a CIFAR-10 directory (data_batch_1.bin .. data_batch_5.bin,
/// test_batch.bin) and splits the training examples as loadMnistLike does.
/// Every file is checked to exist before any is read.
DataSplits loadCifar10(const std::string &dir, const ChannelNormalization &norm,
                       uint64_t seed, double valFraction = 0.05,
                       int64_t trainLimit = -1);

/// Training-time augmentation of image batches, seeded: a random crop of the
/// image padded by `pad` pixels (black) on each side, and a horizontal flip
/// with probability 1/2 when `flip`.
struct Augmentation {
  int64_t pad = 0;
  bool flip = false;
  bool enabled() const { return pad > 0 || flip; }
};

/// Loads an images file and its labels file and normalizes the pixels.
/// `limit` >= 0 keeps only the first `limit` examples (all of them when the
/// files hold fewer); a negative limit keeps everything. Throws DataError for
/// any file problem (see readIdxImages), when the two files hold different
/// numbers of examples, for images without pixels (0 rows or columns) and
/// for a label that is not below kClasses (naming the file, the index and
/// the value); std::invalid_argument when `norm.std` is not a positive
/// finite number.
Dataset loadIdxPair(const std::string &imagesPath,
                    const std::string &labelsPath, Normalization norm,
                    int64_t limit = -1);

/// The files of `dir` that loadMnistLike or loadCifar10 would read (those
/// there: the four IDX files, plain or .gz, and the six CIFAR-10 batches),
/// for checking that nothing written by a run is one of them.
std::vector<std::string> datasetFiles(const std::string &dir);

/// Loads an MNIST-like directory holding train-images-idx3-ubyte,
/// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
/// each either plain or with a .gz suffix (the plain file wins when both
/// exist). `trainLimit` (as `limit` in loadIdxPair) applies to the training
/// files before the split. The validation set is round(valFraction * N)
/// training examples chosen by a random permutation drawn from
/// std::mt19937_64(seed); the training set is the rest. Both keep the file
/// order of their examples. Throws DataError when a file is missing (naming
/// both candidate paths) or bad, or when the test images' shape is not the
/// training images' (naming both files and shapes: a model is built for one
/// shape); std::invalid_argument when valFraction is outside [0, 1].
DataSplits loadMnistLike(const std::string &dir, Normalization norm,
                         uint64_t seed, double valFraction = 0.05,
                         int64_t trainLimit = -1);

/// A uniformly random permutation of 0..n-1 (Fisher-Yates). Unlike
/// std::shuffle and std::uniform_int_distribution, whose algorithms are left
/// to the implementation, the result depends only on the engine's output,
/// so a seed gives the same permutation with every standard library.
std::vector<int64_t> randomPermutation(int64_t n, std::mt19937_64 &rng);

/// The examples of `ds` at `indices`, in that order. Indices must be in
/// [0, ds.count); throws std::out_of_range otherwise.
Dataset selectExamples(const Dataset &ds, const std::vector<int64_t> &indices);

/// How the inputs of a restoration task are made from clean images
/// (NAS.md §2): optionally blurred with a normalized Gaussian kernel of
/// blurSize × blurSize taps and standard deviation blurSigma (zero padding,
/// the same size out), then plus Gaussian noise of standard deviation
/// noiseStd.
struct Corruption {
  bool blur = false;
  int64_t blurSize = 9;
  double blurSigma = 5.0;
  double noiseStd = 0.05;
};

/// The examples of `clean` (pixels in [0, 1]) as restoration pairs: each
/// example gets 2·channels planes, the corrupted image (planes 0..C−1) and
/// the clean one (planes C..2C−1); labels are kept. The noise is drawn once
/// here, from `seed` by a fixed algorithm (Box–Muller on std::mt19937_64's
/// output), so it is the same on every run and every standard library.
/// Throws std::invalid_argument for an even or non-positive blur size or a
/// negative or non-finite noise or blur parameter.
Dataset restorationPairs(const Dataset &clean, const Corruption &corruption,
                         uint64_t seed);

/// One mini-batch: `size` examples, x is size x features contiguous.
struct Batch {
  std::vector<float> x;
  std::vector<int32_t> y;
  int64_t size = 0;
};

/// Walks a Dataset in mini-batches, one epoch at a time. Every example is
/// visited exactly once per epoch; the last batch of an epoch is partial
/// when the batch size does not divide the example count (or filled up,
/// setFillLastBatch). With shuffling,
/// the order of epoch e is a permutation seeded by (seed, e), so it is
/// reproducible and differs from epoch to epoch; without, it is file order.
///
/// The Batcher keeps a reference to the Dataset, which must outlive it.
class Batcher {
public:
  /// Throws std::invalid_argument when batchSize <= 0. Epoch 0 is started.
  Batcher(const Dataset &ds, int64_t batchSize, bool shuffle, uint64_t seed);

  /// Rewinds to the first batch of `epoch`, drawing that epoch's order.
  void startEpoch(uint64_t epoch);

  /// Augments every example handed out from now on; the random choices of
  /// example k of epoch e depend only on (seed, e, k).
  void setAugmentation(Augmentation augmentation) { augmentation_ = augmentation; }

  /// With `fill`, a partial last batch is filled up to the batch size with
  /// the first examples of the same epoch's order (seen twice then), so that
  /// every batch has one shape: a training step compiled for it is compiled
  /// once, not a second time for the remainder. A data set smaller than one
  /// batch stays one partial batch.
  void setFillLastBatch(bool fill) { fillLastBatch_ = fill; }

  /// Copies the next batch into `batch`, reusing its vectors' capacity (a
  /// batch never reallocates once it has held a full batch). Returns false,
  /// with batch.size = 0, when the epoch is done.
  bool next(Batch &batch);

  /// Copies the next batch into caller-owned storage: `x` must hold
  /// batchSize() * features floats and `y` batchSize() labels. Returns the
  /// number of examples written, n (0 when the epoch is done). `x` is
  /// [n, features], or with `featureMajor` [features, n] (example i's
  /// feature k at k·n + i: what a training step whose first layer runs
  /// feature-major on a CSR takes without transposing it).
  int64_t nextInto(float *x, int32_t *y, bool featureMajor = false);

  /// ceil(count / batchSize): batches per epoch, the partial one included.
  int64_t batchesPerEpoch() const;

  int64_t batchSize() const { return batchSize_; }
  uint64_t epoch() const { return epoch_; }
  /// The order of the current epoch (indices into the Dataset).
  const std::vector<int64_t> &order() const { return order_; }

private:
  const Dataset *ds_;
  int64_t batchSize_;
  bool shuffle_;
  uint64_t seed_;
  uint64_t epoch_ = 0;
  int64_t cursor_ = 0; ///< Position in order_ of the next example.
  std::vector<int64_t> order_;
  Augmentation augmentation_;
  bool fillLastBatch_ = false;
  /// The size of the next batch (0 when the epoch is done).
  int64_t nextSize() const;
  void augment(const float *image, float *out, uint64_t position) const;
  /// Example `position`'s features: the data set's own, or augmented into
  /// `scratch` (features() floats).
  const float *example(int64_t position, float *scratch) const;
};

} // namespace bregman::data

#endif // BREGMAN_DATA_DATASET_H
