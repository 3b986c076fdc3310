//===- Resize.cpp - Resampling by fixed tables: resize, upsample ----------===//
//
// Nearest and linear resizing are separable: each axis is resampled on its
// own by a table of (input index, weight) taps per output position, built
// here in double precision from ONNX Resize's coordinate rules. One
// primitive (`resample`) runs a table; its gradient is the same primitive
// with the transposed table, so no scatter is ever emitted.
//
//===----------------------------------------------------------------------===//

#include "ConvPrims.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace bregman {

namespace {

/// Largest table the trace keeps (outputs × taps entries).
constexpr int64_t kMaxTableEntries = int64_t(1) << 24;

void checkTable(const Tensor &x, int64_t axis, const ResampleTable &t) {
  auto fail = [&](const std::string &why) {
    return Error(fmt::format("resample: axis {} of {}: {}", axis, shapeString(x.shape()), why));
  };
  if (t.taps < 1 || t.index.empty() || t.index.size() != t.weight.size() ||
      t.index.size() % static_cast<size_t>(t.taps) != 0)
    throw fail(fmt::format("a table of {} indices and {} weights is not whole rows of {} taps",
                           t.index.size(), t.weight.size(), t.taps));
  if (static_cast<int64_t>(t.index.size()) > kMaxTableEntries)
    throw fail(fmt::format("a table of {} entries (at most {})", t.index.size(),
                           kMaxTableEntries));
  int64_t size = x.dim(axis);
  for (int64_t i : t.index)
    if (i < 0 || i >= size)
      throw fail(fmt::format("index {} is outside [0, {})", i, size));
}

/// The input coordinate of output position `o` (ONNX Resize's rules). The
/// resized length is in·scale, not rounded to a whole length (as ONNX's
/// reference: it differs from the output's length when scales are given
/// and in·scale is not whole), but to float32, as the reference and
/// onnxruntime compute it: 5·0.6f is 3 there and 3.0000001 in double, which
/// moved align_corners' taps from columns 0, 2, 4 to 0, 1, 3.
double sourceCoordinate(int64_t o, int64_t in, int64_t out, double scale,
                        ResizeCoordinates mode) {
  double x = static_cast<double>(o);
  double resized = static_cast<float>(static_cast<double>(in) * scale);
  switch (mode) {
  case ResizeCoordinates::HalfPixel: return (x + 0.5) / scale - 0.5;
  case ResizeCoordinates::HalfPixelSymmetric: {
    // Resize-19: the input's centre on the output's centre when the output
    // length was rounded from in·scale.
    double offset =
        static_cast<double>(in) / 2 * (1 - static_cast<double>(out) / resized);
    return offset + (x + 0.5) / scale - 0.5;
  }
  case ResizeCoordinates::PytorchHalfPixel: return resized != 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
  case ResizeCoordinates::AlignCorners:
    return resized != 1.0 ? x * static_cast<double>(in - 1) / (resized - 1.0) : 0.0;
  case ResizeCoordinates::Asymmetric: return x / scale;
  case ResizeCoordinates::TfHalfPixelForNearest: return (x + 0.5) / scale;
  }
  return x;
}

double rounded(double x, ResizeRounding rounding) {
  switch (rounding) {
  case ResizeRounding::RoundPreferFloor: return std::ceil(x - 0.5);
  case ResizeRounding::RoundPreferCeil: return std::floor(x + 0.5);
  case ResizeRounding::Floor: return std::floor(x);
  case ResizeRounding::Ceil: return std::ceil(x);
  }
  return x;
}

} // namespace

Tensor resample(const Tensor &x, int64_t axis, const ResampleTable &table) {
  if (x.dtype() == DType::I32)
    throw Error(fmt::format("resample: needs a floating-point tensor, got i32{}",
                            shapeString(x.shape())));
  if (axis < -x.rank() || axis >= x.rank())
    throw Error(fmt::format("resample: axis {} is out of range for {}", axis,
                            shapeString(x.shape())));
  axis = axis < 0 ? axis + x.rank() : axis;
  checkTable(x, axis, table);
  Shape out = x.shape();
  out[axis] = table.outputs();
  NodeAttrs attrs;
  attrs.axis = axis;
  attrs.resample = table;
  return apply(Prim::Resample, {x}, {{out, x.dtype()}}, std::move(attrs))[0];
}

ResampleTable resizeTable(int64_t in, int64_t out, double scale, const ResizeOptions &options) {
  if (in < 1 || out < 1 || !(scale > 0) || !std::isfinite(scale))
    throw Error(fmt::format("resize: {} elements to {} at scale {} (sizes must be "
                            "positive, the scale positive and finite)",
                            in, out, scale));
  if (out > kMaxTableEntries / 2)
    throw Error(fmt::format("resize: an output of {} elements along one axis (at most {})",
                            out, kMaxTableEntries / 2));
  ResampleTable t;
  t.taps = options.mode == ResizeMode::Nearest ? 1 : 2;
  auto clampIndex = [&](double i) {
    return static_cast<int64_t>(std::clamp(i, 0.0, static_cast<double>(in - 1)));
  };
  for (int64_t o = 0; o < out; ++o) {
    double x = sourceCoordinate(o, in, out, scale, options.coordinates);
    if (options.mode == ResizeMode::Nearest) {
      t.index.push_back(clampIndex(rounded(x, options.rounding)));
      t.weight.push_back(1.0);
      continue;
    }
    // Linear: the neighbours floor(x) and floor(x) + 1, clamped (ONNX pads
    // with the edge values).
    double left = std::floor(x), ratio = x - left;
    t.index.push_back(clampIndex(left));
    t.index.push_back(clampIndex(left + 1));
    t.weight.push_back(1.0 - ratio);
    t.weight.push_back(ratio);
  }
  return t;
}

Tensor resize(const Tensor &x, const Shape &sizes, const std::vector<double> &scales,
              const ResizeOptions &options) {
  if (static_cast<int64_t>(sizes.size()) != x.rank() ||
      static_cast<int64_t>(scales.size()) != x.rank())
    throw Error(fmt::format("resize: {} sizes and {} scales for {} (one of each per axis)",
                            sizes.size(), scales.size(), shapeString(x.shape())));
  Tensor y = x;
  for (int64_t a = 0; a < x.rank(); ++a)
    if (sizes[a] != x.dim(a) || scales[a] != 1.0)
      y = resample(y, a, resizeTable(x.dim(a), sizes[a], scales[a], options));
  return y;
}

Tensor upsample2d(const Tensor &x, int64_t factor, ResizeMode mode, bool alignCorners) {
  if (x.rank() != 4 || factor < 1)
    throw Error(fmt::format("upsample2d: needs images [N, C, H, W] and a factor >= 1, got "
                            "{} and {}",
                            shapeString(x.shape()), factor));
  ResizeOptions options;
  options.mode = mode;
  // PyTorch's nearest is ONNX's asymmetric + floor; bilinear is half-pixel
  // (clamped at 0) or align-corners.
  options.coordinates = mode == ResizeMode::Nearest ? ResizeCoordinates::Asymmetric
                        : alignCorners              ? ResizeCoordinates::AlignCorners
                                                    : ResizeCoordinates::HalfPixel;
  options.rounding = ResizeRounding::Floor;
  double f = static_cast<double>(factor);
  return resize(x, {x.dim(0), x.dim(1), x.dim(2) * factor, x.dim(3) * factor},
                {1.0, 1.0, f, f}, options);
}

namespace detail {

/// The table of the gradient: input position i collects every output that
/// read it, with that weight (zero weights dropped; padded with zeros).
ResampleTable transposedTable(const ResampleTable &t, int64_t inputs) {
  std::vector<std::vector<std::pair<int64_t, double>>> readers(inputs);
  for (int64_t o = 0; o < t.outputs(); ++o)
    for (int64_t k = 0; k < t.taps; ++k) {
      size_t e = static_cast<size_t>(o * t.taps + k);
      if (t.weight[e] != 0.0)
        readers.at(t.index[e]).push_back({o, t.weight[e]});
    }
  ResampleTable g;
  g.taps = 1;
  for (const auto &r : readers)
    g.taps = std::max<int64_t>(g.taps, static_cast<int64_t>(r.size()));
  for (const auto &r : readers)
    for (int64_t k = 0; k < g.taps; ++k) {
      bool used = k < static_cast<int64_t>(r.size());
      g.index.push_back(used ? r[k].first : 0);
      g.weight.push_back(used ? r[k].second : 0.0);
    }
  return g;
}

} // namespace detail

} // namespace bregman
