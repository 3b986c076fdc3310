//===- SparseBenchUtil.h - What the sparse benchmarks share -----*- C++ -*-===//
//
// CPU and wall times of a call, and random weights and inputs, for
// sparse_bench.cpp, sparse_train_bench.cpp and infer_artifact_bench.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_BENCH_SPARSEBENCHUTIL_H
#define BREGMAN_BENCH_SPARSEBENCHUTIL_H

#include "bregman/bregman.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
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

/// Median per-call CPU and wall time of `fn` over 7 rounds of `iters` calls
/// (after one warm-up call, which compiles).
template <typename Fn> Times measure(Fn fn, int iters) {
  fn();
  std::vector<double> cpu, wall;
  for (int round = 0; round < 7; ++round) {
    double c0 = cpuSeconds();
    auto w0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i)
      fn();
    auto w1 = std::chrono::steady_clock::now();
    cpu.push_back((cpuSeconds() - c0) * 1e6 / iters);
    wall.push_back(std::chrono::duration<double, std::micro>(w1 - w0).count() /
                   iters);
  }
  std::nth_element(cpu.begin(), cpu.begin() + 3, cpu.end());
  std::nth_element(wall.begin(), wall.begin() + 3, wall.end());
  return {cpu[3], wall[3]};
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

/// A fresh directory under the system's temporary one (mkdtemp), removed
/// with everything in it when this goes out of scope: only ours.
class ScratchDir {
public:
  explicit ScratchDir(const std::string &prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (!mkdtemp(name.data()))
      throw std::runtime_error("cannot create a temporary directory " + pattern);
    path_ = name.data();
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

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
