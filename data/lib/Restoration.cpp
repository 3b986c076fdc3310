//===- Restoration.cpp - Corrupted / clean pairs for restoration tasks ----===//
//
// The inputs of the skip-encoder's denoising and deblurring tasks (NAS.md
// §2): fixed once per example, not re-drawn each epoch.
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Dataset.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace bregman::data {

namespace {

constexpr double kTwoPi = 6.283185307179586476925;

/// The normalized 1-D Gaussian taps (the 2-D kernel is their outer product).
std::vector<double> gaussianTaps(int64_t size, double sigma) {
  std::vector<double> taps(static_cast<size_t>(size));
  double centre = double(size - 1) / 2, total = 0;
  for (int64_t i = 0; i < size; ++i) {
    double d = double(i) - centre;
    taps[i] = std::exp(-d * d / (2 * sigma * sigma));
    total += taps[i];
  }
  for (double &t : taps)
    t /= total;
  return taps;
}

/// One plane blurred with zero padding (same size out).
void blurPlane(const float *in, float *out, int64_t rows, int64_t cols,
               const std::vector<double> &taps) {
  int64_t half = int64_t(taps.size()) / 2;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double sum = 0;
      for (int64_t i = 0; i < int64_t(taps.size()); ++i)
        for (int64_t j = 0; j < int64_t(taps.size()); ++j) {
          int64_t y = r + i - half, x = c + j - half;
          if (y >= 0 && y < rows && x >= 0 && x < cols)
            sum += taps[i] * taps[j] * in[y * cols + x];
        }
      out[r * cols + c] = static_cast<float>(sum);
    }
}

/// Standard normal samples by Box–Muller on the engine's raw output (the
/// standard library's distributions differ between implementations).
class Normal {
public:
  explicit Normal(uint64_t seed) : rng(seed) {}
  double next() {
    if (haveSpare) {
      haveSpare = false;
      return spare;
    }
    double u1 = uniformOpen(), u2 = uniformOpen();
    double radius = std::sqrt(-2 * std::log(u1));
    spare = radius * std::sin(kTwoPi * u2);
    haveSpare = true;
    return radius * std::cos(kTwoPi * u2);
  }

private:
  double uniformOpen() { // in (0, 1]
    return (double(rng() >> 11) + 1.0) * 0x1.0p-53;
  }
  std::mt19937_64 rng;
  double spare = 0;
  bool haveSpare = false;
};

void checkCorruption(const Corruption &c) {
  if (c.blur && (c.blurSize < 1 || c.blurSize % 2 == 0 ||
                 !(c.blurSigma > 0) || !std::isfinite(c.blurSigma)))
    throw std::invalid_argument(fmt::format(
        "restoration data: the blur kernel needs an odd positive size and a "
        "positive finite sigma (size {}, sigma {})",
        c.blurSize, c.blurSigma));
  if (!(c.noiseStd >= 0) || !std::isfinite(c.noiseStd))
    throw std::invalid_argument(fmt::format(
        "restoration data: noise std {} must be finite and not negative",
        c.noiseStd));
}

} // namespace

Dataset restorationPairs(const Dataset &clean, const Corruption &corruption,
                         uint64_t seed) {
  checkCorruption(corruption);
  Dataset out = clean;
  out.channels = 2 * clean.channels;
  out.black.insert(out.black.end(), clean.black.begin(), clean.black.end());
  int64_t plane = clean.rows * clean.cols, f = clean.features();
  out.images.assign(static_cast<size_t>(clean.count * 2 * f), 0.0f);
  std::vector<double> taps =
      gaussianTaps(corruption.blurSize, corruption.blurSigma);
  Normal noise(seed);
  for (int64_t e = 0; e < clean.count; ++e) {
    const float *src = clean.images.data() + e * f;
    float *input = out.images.data() + e * 2 * f;
    std::memcpy(input + f, src, static_cast<size_t>(f) * sizeof(float));
    for (int64_t c = 0; c < clean.channels; ++c) {
      if (corruption.blur)
        blurPlane(src + c * plane, input + c * plane, clean.rows, clean.cols,
                  taps);
      else
        std::memcpy(input + c * plane, src + c * plane,
                    static_cast<size_t>(plane) * sizeof(float));
    }
    for (int64_t i = 0; i < f; ++i)
      input[i] += static_cast<float>(corruption.noiseStd * noise.next());
  }
  return out;
}

} // namespace bregman::data
