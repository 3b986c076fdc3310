//===- SparseBenchUtil.h - What the sparse benchmarks share -----*- C++ -*-===//
//
// CPU and wall times of a call, and random weights and inputs, for
// sparse_bench.cpp and sparse_train_bench.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_BENCH_SPARSEBENCHUTIL_H
#define BREGMAN_BENCH_SPARSEBENCHUTIL_H

#include "bregman/bregman.h"

#include <ctime>
#include <random>
#include <vector>

namespace bregman::bench {

struct Times {
  double cpuUs = 0, wallUs = 0;
};

/// The process's CPU time (all threads), in seconds.
inline double cpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/// A [rows, cols] weight with `density` of its entries non-zero (normal).
inline Tensor randomWeight(std::mt19937 &rng, int64_t rows, int64_t cols,
                           double density) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> w(rows * cols, 0.0f);
  for (float &x : w)
    if (u(rng) < density)
      x = normal(rng);
  return Tensor::fromVector(w, {rows, cols});
}

/// A [rows, cols] matrix of standard normal values.
inline Tensor randomInput(std::mt19937 &rng, int64_t rows, int64_t cols) {
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * cols);
  for (float &v : x)
    v = normal(rng);
  return Tensor::fromVector(x, {rows, cols});
}

} // namespace bregman::bench

#endif // BREGMAN_BENCH_SPARSEBENCHUTIL_H
