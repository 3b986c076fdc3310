//===- Batches.h - Mini-batches in reused host tensors ----------*- C++ -*-===//
//
// BatchFeeder hands out an epoch's batches in place; Prefetcher produces
// them on a background thread a few batches ahead of the training steps.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_LIB_BATCHES_H
#define BREGMAN_TRAIN_LIB_BATCHES_H

#include "bregman/Tensor.h"
#include "bregman/data/Dataset.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace bregman::train {

/// Hands out batches in host tensors that are reused across steps: one
/// pair per batch shape (the last, partial batch has its own shape and so its
/// own compiled function, unless it is padded to the full one: next()).
class BatchFeeder {
public:
  BatchFeeder(data::Batcher &batcher, int64_t batchSize, int64_t features)
      : batcher(batcher), batchSize(batchSize), features(features) {}

  /// The next batch, or nullptr at the end of the epoch. With
  /// `padLabel`, a partial batch comes in the full batch's shape, its
  /// missing rows zeros labelled *padLabel (a label no prediction equals,
  /// so a correct count is unchanged and the full batch's compiled function
  /// serves it).
  const std::pair<Tensor, Tensor> *
  next(std::optional<int32_t> padLabel = std::nullopt) {
    auto &full = tensorsFor(batchSize);
    int64_t n = batcher.nextInto(full.first.data<float>(),
                                 full.second.data<int32_t>());
    if (n == 0)
      return nullptr;
    if (n == batchSize)
      return &full;
    if (padLabel) {
      std::fill(full.first.data<float>() + n * features,
                full.first.data<float>() + batchSize * features, 0.0f);
      std::fill(full.second.data<int32_t>() + n,
                full.second.data<int32_t>() + batchSize, *padLabel);
      return &full;
    }
    auto &part = tensorsFor(n);
    std::copy(full.first.data<float>(), full.first.data<float>() + n * features,
              part.first.data<float>());
    std::copy(full.second.data<int32_t>(), full.second.data<int32_t>() + n,
              part.second.data<int32_t>());
    return &part;
  }

private:
  std::pair<Tensor, Tensor> &tensorsFor(int64_t n) {
    auto &entry = byShape[n];
    if (!entry.first.defined())
      entry = {Tensor::zeros({n, features}), Tensor::zeros({n}, DType::I32)};
    return entry;
  }
  data::Batcher &batcher;
  int64_t batchSize, features;
  std::map<int64_t, std::pair<Tensor, Tensor>> byShape;
};

/// Runs the Batcher on a background thread, a few batches ahead of the
/// training steps (augmentation included), so that a step never waits for
/// its data. Batches live in a small pool of host tensors that are reused.
class Prefetcher {
public:
  Prefetcher(data::Batcher &batcher, int64_t features)
      : batcher(batcher), features(features) {
    allocateSlots();
  }
  ~Prefetcher() { stop(); }

  /// Starts producing the batches of `epoch` (the previous epoch must have
  /// been consumed to its end, or is abandoned): inputs [n, features], or
  /// with `featureMajor` full batches [features, n] (data::Batcher::nextInto;
  /// the partial last one stays [n, features]).
  void startEpoch(uint64_t epoch, bool featureMajor = false) {
    stop();
    if (featureMajor != this->featureMajor) {
      this->featureMajor = featureMajor;
      allocateSlots();
    }
    ready.clear();
    inUse = -1;
    freeSlots = {0, 1, 2};
    finished = false;
    cancelled = false;
    batcher.startEpoch(epoch);
    worker = std::thread([this] { produce(); });
  }

  /// The next batch (valid until the next call), or nullptr at the end of
  /// the epoch. Rethrows what the loader threw.
  const std::pair<Tensor, Tensor> *next() {
    std::unique_lock<std::mutex> lock(mutex);
    if (inUse >= 0) {
      freeSlots.push_back(inUse);
      inUse = -1;
      changed.notify_all();
    }
    changed.wait(lock, [&] { return !ready.empty() || finished; });
    if (ready.empty()) {
      if (failure)
        std::rethrow_exception(std::exchange(failure, nullptr));
      return nullptr;
    }
    auto [slot, n] = ready.front();
    ready.pop_front();
    inUse = slot;
    if (n == batcher.batchSize())
      return &slots[slot];
    // The last, partial batch: its own tensors (and compiled function),
    // always [n, features]: feature-major, n = features would be ambiguous
    // (the step tells the layouts apart by shape).
    partial = {Tensor::zeros({n, features}), Tensor::zeros({n}, DType::I32)};
    const float *from = slots[slot].first.data<float>();
    float *to = partial.first.data<float>();
    if (!featureMajor)
      std::copy(from, from + n * features, to);
    for (int64_t k = 0; featureMajor && k < features; ++k)
      for (int64_t i = 0; i < n; ++i)
        to[i * features + k] = from[k * n + i];
    std::copy(slots[slot].second.data<int32_t>(),
              slots[slot].second.data<int32_t>() + n,
              partial.second.data<int32_t>());
    return &partial;
  }

private:
  void produce() {
    try {
      while (true) {
        int slot;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return !freeSlots.empty() || cancelled; });
          if (cancelled)
            break;
          slot = freeSlots.back();
          freeSlots.pop_back();
        }
        int64_t n =
            batcher.nextInto(slots[slot].first.data<float>(),
                             slots[slot].second.data<int32_t>(), featureMajor);
        std::lock_guard<std::mutex> lock(mutex);
        if (n == 0)
          break;
        ready.emplace_back(slot, n);
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex);
    finished = true;
    changed.notify_all();
  }

  Shape inputShape(int64_t n) const {
    return featureMajor ? Shape{features, n} : Shape{n, features};
  }

  void allocateSlots() {
    for (auto &slot : slots)
      slot = {Tensor::zeros(inputShape(batcher.batchSize())),
              Tensor::zeros({batcher.batchSize()}, DType::I32)};
  }

  void stop() {
    if (!worker.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      cancelled = true;
      changed.notify_all();
    }
    worker.join();
  }

  data::Batcher &batcher;
  int64_t features;
  bool featureMajor = false;
  std::array<std::pair<Tensor, Tensor>, 3> slots;
  std::pair<Tensor, Tensor> partial;
  std::thread worker;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<int, int64_t>> ready;
  std::vector<int> freeSlots;
  int inUse = -1;
  bool finished = false, cancelled = false;
  std::exception_ptr failure;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_BATCHES_H
