//===- ResizeOps.cpp - Resize and Upsample --------------------------------===//
//
// Both become the DSL's `resize` (one table per axis that changes, see
// frontend/lib/Resize.cpp). Scales and sizes must be known at load time:
// initializers, Constants, a Concat of them, or folded shape arithmetic.
// Nearest and linear (on any axes: N-linear is separable) are supported;
// cubic, tf_crop_and_resize and exclude_outside are refused naming the
// attribute that asks for them.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

/// Input `i` as values known at load time (float constants, or static
/// integers); nullopt when absent or computed at run time.
std::optional<std::vector<double>> knownValues(const NodeContext &c, int i) {
  if (!c.has(i))
    return std::nullopt;
  const Value &v = c.value(i);
  if (v.isStatic)
    return std::vector<double>(v.ints.begin(), v.ints.end());
  if (std::optional<std::vector<float>> f = c.hostFloats(i))
    return std::vector<double>(f->begin(), f->end());
  throw c.unsupported(fmt::format("input '{}' is computed at run time (scales and sizes "
                                  "must be known at load time)",
                                  c.node.input(i)));
}

ResizeMode parseMode(const NodeContext &c) {
  std::string mode = c.stringAttr("mode", "nearest");
  if (mode == "nearest")
    return ResizeMode::Nearest;
  if (mode == "linear" || (c.op() == "Upsample" && mode == "bilinear"))
    return ResizeMode::Linear;
  if (mode == "cubic")
    throw c.unsupported("mode = cubic (nearest and linear are supported)");
  throw c.badAttr("mode", mode, "must be nearest, linear or cubic");
}

ResizeCoordinates parseCoordinates(const NodeContext &c) {
  std::string m = c.stringAttr("coordinate_transformation_mode", "half_pixel");
  if (m == "half_pixel")
    return ResizeCoordinates::HalfPixel;
  if (m == "pytorch_half_pixel")
    return ResizeCoordinates::PytorchHalfPixel;
  if (m == "align_corners")
    return ResizeCoordinates::AlignCorners;
  if (m == "asymmetric")
    return ResizeCoordinates::Asymmetric;
  if (m == "tf_half_pixel_for_nn" && c.opset < 13) // removed in Resize-13
    return ResizeCoordinates::TfHalfPixelForNearest;
  if (m == "half_pixel_symmetric" && c.opset >= 19)
    return ResizeCoordinates::HalfPixelSymmetric;
  if (m == "tf_crop_and_resize")
    throw c.unsupported("coordinate_transformation_mode = tf_crop_and_resize (a region "
                        "of interest is not supported)");
  // The modes of the model's Resize version (tf_half_pixel_for_nn until
  // 12, half_pixel_symmetric from 19).
  std::string modes =
      c.opset < 13   ? "half_pixel, pytorch_half_pixel, align_corners, "
                       "asymmetric, tf_half_pixel_for_nn"
      : c.opset < 19 ? "half_pixel, pytorch_half_pixel, align_corners, "
                       "asymmetric"
                     : "half_pixel, half_pixel_symmetric, pytorch_half_pixel, "
                       "align_corners, asymmetric";
  throw c.badAttr(
      "coordinate_transformation_mode", m,
      fmt::format("must be {} or tf_crop_and_resize at opset {}{}", modes,
                  c.opset,
                  c.opset < 19 ? " (half_pixel_symmetric from 19)" : ""));
}

ResizeRounding parseRounding(const NodeContext &c) {
  std::string m = c.stringAttr("nearest_mode", "round_prefer_floor");
  if (m == "round_prefer_floor")
    return ResizeRounding::RoundPreferFloor;
  if (m == "round_prefer_ceil")
    return ResizeRounding::RoundPreferCeil;
  if (m == "floor")
    return ResizeRounding::Floor;
  if (m == "ceil")
    return ResizeRounding::Ceil;
  throw c.badAttr("nearest_mode", m, "must be round_prefer_floor, round_prefer_ceil, floor or ceil");
}

/// The output sizes and per-axis scales from `scales` (output = floor(in ·
/// scale)) or `sizes` (scale = out / in).
std::pair<Shape, std::vector<double>> target(const NodeContext &c, const Shape &in,
                                             const std::vector<double> *scales,
                                             const std::vector<double> *sizes) {
  size_t rank = in.size();
  const std::vector<double> &given = scales ? *scales : *sizes;
  const char *what = scales ? "scales" : "sizes";
  if (given.size() != rank)
    throw c.error(fmt::format("{} {} values for a rank-{} input {}", given.size(), what, rank,
                              shapeString(in)));
  Shape out(rank);
  std::vector<double> factors(rank);
  for (size_t a = 0; a < rank; ++a) {
    double v = given[a];
    if (!(v > 0) || !std::isfinite(v) || (sizes && v > double(int64_t(1) << 32)))
      throw c.error(fmt::format("{} [{}]: entries must be positive and finite", what,
                                fmt::join(given, ", ")));
    out[a] = scales ? static_cast<int64_t>(std::floor(static_cast<double>(in[a]) * v))
                    : static_cast<int64_t>(v);
    factors[a] = scales ? v : v / static_cast<double>(in[a]);
    if (out[a] < 1)
      throw c.error(fmt::format("scales [{}] leave axis {} of {} empty", fmt::join(given, ", "),
                                a, shapeString(in)));
  }
  checkedCount(out, detail::nodeLabel(c.node) + " result");
  return {out, factors};
}

/// Resize before opset 11 and Upsample: asymmetric coordinates; nearest
/// truncates when enlarging and rounds up when shrinking (onnxruntime's
/// rule, np.repeat for integer factors as ONNX's reference).
Tensor legacyResize(const NodeContext &c, const Tensor &x, const std::vector<double> &scales) {
  auto [out, factors] = target(c, x.shape(), &scales, nullptr);
  ResizeOptions o;
  o.mode = parseMode(c);
  o.coordinates = ResizeCoordinates::Asymmetric;
  Tensor y = x;
  for (int64_t a = 0; a < x.rank(); ++a) {
    if (out[a] == x.dim(a) && factors[a] == 1.0)
      continue;
    o.rounding = factors[a] < 1.0 ? ResizeRounding::Ceil : ResizeRounding::Floor;
    y = resample(y, a, resizeTable(x.dim(a), out[a], factors[a], o));
  }
  return y;
}

void upsampleOp(const NodeContext &c) {
  // Upsample-1 (experimental: height_scale/width_scale) is not read.
  if (c.opset < 7)
    throw c.error(fmt::format("Upsample-1 (opset {}) is not supported; "
                              "re-export at opset 7 or later",
                              c.opset));
  Tensor x = c.tensor(0);
  std::vector<double> scales;
  if (c.opset < 9) {
    std::vector<float> s;
    if (const auto *a = findAttr(c.node, "scales"))
      s.assign(a->floats().begin(), a->floats().end());
    scales.assign(s.begin(), s.end());
  } else {
    std::optional<std::vector<double>> s = knownValues(c, 1);
    if (!s)
      throw c.error("the scales input is missing");
    scales = *s;
  }
  for (double s : scales)
    if (s < 1.0)
      throw c.error(fmt::format("scales [{}]: Upsample's scales must be >= 1",
                                fmt::join(scales, ", ")));
  c.set(legacyResize(c, x, scales));
}

/// Resize-18's additions, refused unless they keep Resize-13's meaning:
/// antialias (a filter when downsampling), axes (a subset of the axes) and
/// keep_aspect_ratio_policy (sizes as bounds).
void checkOpset18Attributes(const NodeContext &c) {
  if (c.opset < 18)
    return;
  if (c.flagAttr("antialias", 0) != 0)
    throw c.unsupported("antialias = 1 (an antialiasing filter when downsampling)");
  if (findAttr(c.node, "axes"))
    throw c.unsupported("the axes attribute (resizing a subset of the axes): export "
                        "scales or sizes for every axis");
  std::string policy = c.stringAttr("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch")
    throw c.unsupported(fmt::format("keep_aspect_ratio_policy = {} (sizes as bounds)",
                                    policy));
}

void resizeOp(const NodeContext &c) {
  Tensor x = c.tensor(0);
  if (c.opset < 11) {
    std::optional<std::vector<double>> s = knownValues(c, 1);
    if (!s)
      throw c.error("the scales input is missing");
    return c.set(legacyResize(c, x, *s));
  }
  ResizeOptions o;
  o.mode = parseMode(c);
  o.coordinates = parseCoordinates(c);
  o.rounding = parseRounding(c);
  checkOpset18Attributes(c);
  if (c.flagAttr("exclude_outside", 0) != 0)
    throw c.unsupported("exclude_outside = 1 (only cubic's weights depend on it; cubic is "
                        "not supported)");
  std::optional<std::vector<double>> scales = knownValues(c, 2), sizes = knownValues(c, 3);
  if (scales && scales->empty())
    scales.reset(); // opset 11: an empty scales tensor when sizes are given
  if (scales.has_value() == sizes.has_value())
    throw c.error(scales ? "both scales and sizes are given (exactly one must be)"
                         : "neither scales nor sizes is given (exactly one must be)");
  auto [out, factors] = target(c, x.shape(), scales ? &*scales : nullptr,
                               sizes ? &*sizes : nullptr);
  c.set(resize(x, out, factors, o));
}

} // namespace

// Upsample: scales an attribute in opset 7, an input from 9 (its last
// schema, 10, is deprecated with 9's meaning and so serves every later
// opset); Resize from 10 (scales only, asymmetric) and 11 (roi, sizes,
// coordinate and nearest modes); opset 18's antialias, axes and
// keep_aspect_ratio_policy are accepted at their defaults only.
std::vector<OpHandler> resizeOps() {
  return {
      {"Upsample", 1, kNewestOpset, upsampleOp, {}},
      {"Resize", 10, kNewestOpset, resizeOp, {}},
  };
}

} // namespace bregman::onnx::detail
