//===- Conv.cpp - Convolution and pooling: shape rules --------------------===//

#include "ConvPrims.h"

#include "bregman/runtime/InputFile.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman {

std::array<int64_t, 4> symmetricPadding(int64_t ph, int64_t pw) {
  return {ph, pw, ph, pw};
}

namespace {

std::string windowString(const Window &w) {
  return fmt::format("kernel [{}], strides [{}], padding [{}], dilations [{}]",
                     fmt::join(w.kernel, ", "), fmt::join(w.strides, ", "),
                     fmt::join(w.padding, ", "), fmt::join(w.dilations, ", "));
}

/// Positive kernel, strides and dilations, non-negative padding; and past
/// 2^30 (no real window's; derived padding, SAME's or ceil_mode's, up to
/// 2^61) a dilated kernel's span, a stride times an extent or the padding
/// could overflow 64 bits before any size check.
void requireWindowBounds(const char *op, const Window &w) {
  for (int i = 0; i < 2; ++i)
    if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1)
      throw Error(fmt::format("{}: kernel, strides and dilations must be "
                              "positive ({})",
                              op, windowString(w)));
  for (int64_t p : w.padding)
    if (p < 0)
      throw Error(fmt::format("{}: padding must be non-negative ({})", op,
                              windowString(w)));
  auto tooLarge = [](int64_t v) { return v > kMaxWindowValue; };
  if (std::any_of(w.kernel.begin(), w.kernel.end(), tooLarge) ||
      std::any_of(w.strides.begin(), w.strides.end(), tooLarge) ||
      std::any_of(w.dilations.begin(), w.dilations.end(), tooLarge))
    throw Error(fmt::format("{}: kernel, strides and dilations must be at "
                            "most 2^30 ({})",
                            op, windowString(w)));
  if (std::any_of(w.padding.begin(), w.padding.end(),
                  [](int64_t p) { return p > kMaxWindowPadding; }))
    throw Error(fmt::format("{}: padding must be at most 2^61 ({})", op,
                            windowString(w)));
}

/// Checks `window` against the input [N, C, H, W] and returns [OH, OW].
std::array<int64_t, 2> outputExtent(const char *op, const Shape &input,
                                    const Window &w) {
  requireWindowBounds(op, w);
  // Hostile windows (pads of 2^40 from an ONNX model) would overflow or
  // ask for an output no memory holds: refused before anything is built.
  long double planes = static_cast<long double>(input[0]) * input[1];
  for (int i = 0; i < 2; ++i)
    planes *= (static_cast<long double>(input[2 + i]) + w.padding[i] + w.padding[i + 2]) /
                  w.strides[i] + 1;
  runtime::requireAllocation<Error>(
      planes, 4, fmt::format("{}: the output of window ({}) on {}", op, windowString(w),
                             shapeString(input)));
  std::array<int64_t, 2> extent;
  for (int i = 0; i < 2; ++i) {
    int64_t span = input[2 + i] + w.padding[i] + w.padding[i + 2] -
                   w.dilations[i] * (w.kernel[i] - 1) - 1;
    if (span < 0)
      throw Error(fmt::format("{}: the window ({}) does not fit the padded "
                              "input {}",
                              op, windowString(w), shapeString(input)));
    extent[i] = span / w.strides[i] + 1;
  }
  return extent;
}

void requireImage(const char *op, const char *what, const Tensor &t) {
  if (t.rank() != 4)
    throw Error(fmt::format("{}: {} must be 4-D (NCHW), got {}", op, what,
                            shapeString(t.shape())));
  if (t.dtype() == DType::I32)
    throw Error(fmt::format("{}: {} must be floating-point, got i32{}", op,
                            what, shapeString(t.shape())));
}

Tensor single(Prim prim, const std::vector<Tensor> &inputs, const Shape &shape,
              DType dtype, const Window &window) {
  NodeAttrs attrs;
  attrs.window = window;
  return apply(prim, inputs, {{shape, dtype}}, attrs)[0];
}

Window poolWindow(const Pool2dOptions &o) {
  Window w;
  w.kernel = o.kernel;
  for (int i = 0; i < 2; ++i)
    w.strides[i] = o.stride[i] == 0 ? o.kernel[i] : o.stride[i];
  w.padding = o.padding;
  w.dilations = o.dilation;
  return w;
}

} // namespace

Tensor conv2d(const Tensor &x, const Tensor &w, const Conv2dOptions &options,
              SourceLocation loc) {
  CallSite site(loc);
  requireImage("conv2d", "the input", x);
  requireImage("conv2d", "the filter", w);
  if (x.dtype() != w.dtype())
    throw Error(fmt::format("conv2d: input {}{} and filter {}{} differ in "
                            "element type",
                            dtypeName(x.dtype()), shapeString(x.shape()),
                            dtypeName(w.dtype()), shapeString(w.shape())));
  int64_t groups = options.groups;
  if (groups < 1 || x.dim(1) % groups != 0 || w.dim(0) % groups != 0)
    throw Error(fmt::format("conv2d: groups = {} must divide the input "
                            "channels ({} in {}) and the filters ({} in {})",
                            groups, x.dim(1), shapeString(x.shape()), w.dim(0),
                            shapeString(w.shape())));
  if (w.dim(1) * groups != x.dim(1))
    throw Error(fmt::format("conv2d: filter {} has {} channels per filter, but "
                            "the input {} with groups = {} needs {}",
                            shapeString(w.shape()), w.dim(1),
                            shapeString(x.shape()), groups, x.dim(1) / groups));
  Window window;
  window.kernel = {w.dim(2), w.dim(3)};
  window.strides = options.stride;
  window.padding = options.padding;
  window.dilations = options.dilation;
  window.groups = groups;
  auto [oh, ow] = outputExtent("conv2d", x.shape(), window);
  return single(Prim::Conv2d, {x, w}, {x.dim(0), w.dim(0), oh, ow}, x.dtype(),
                window);
}

Tensor convTranspose2d(const Tensor &x, const Tensor &w,
                       const Conv2dOptions &options,
                       std::array<int64_t, 2> outputPadding,
                       SourceLocation loc) {
  CallSite site(loc);
  requireImage("conv_transpose2d", "the input", x);
  requireImage("conv_transpose2d", "the filter", w);
  int64_t groups = options.groups;
  if (x.dtype() != w.dtype() || groups < 1 || w.dim(0) != x.dim(1) ||
      x.dim(1) % groups != 0)
    throw Error(fmt::format("conv_transpose2d: filter {}{} does not fit the "
                            "input {}{} with groups = {} (the filter is [C, "
                            "M/groups, KH, KW] for C input channels)",
                            dtypeName(w.dtype()), shapeString(w.shape()),
                            dtypeName(x.dtype()), shapeString(x.shape()), groups));
  Window window;
  window.kernel = {w.dim(2), w.dim(3)};
  window.strides = options.stride;
  window.padding = options.padding;
  window.dilations = options.dilation;
  window.groups = groups;
  requireWindowBounds("conv_transpose2d", window);
  Shape out = {x.dim(0), w.dim(1) * groups, 0, 0};
  for (int i = 0; i < 2; ++i) {
    if (outputPadding[i] < 0 || outputPadding[i] >= std::max(options.stride[i], options.dilation[i]))
      throw Error(fmt::format("conv_transpose2d: output padding {} must be "
                              "smaller than the stride or the dilation",
                              outputPadding[i]));
    // stride · (H − 1) within bounds may still pass 2^63 for a long input.
    long double extent =
        static_cast<long double>(options.stride[i]) * (x.dim(2 + i) - 1) +
        static_cast<long double>(options.dilation[i]) * (w.dim(2 + i) - 1);
    if (extent > static_cast<long double>(int64_t(1) << 40))
      throw Error(
          fmt::format("conv_transpose2d: the output would have more than 2^40 "
                      "rows or columns ({}, input {})",
                      windowString(window), shapeString(x.shape())));
    out[2 + i] = options.stride[i] * (x.dim(2 + i) - 1) + outputPadding[i] +
                 options.dilation[i] * (w.dim(2 + i) - 1) + 1 -
                 options.padding[i] - options.padding[i + 2];
    if (out[2 + i] < 1)
      throw Error(fmt::format("conv_transpose2d: the padding leaves no output "
                              "for input {}",
                              shapeString(x.shape())));
  }
  // The forward convolution of the result must give x back.
  auto [oh, ow] = outputExtent("conv_transpose2d", out, window);
  if (oh != x.dim(2) || ow != x.dim(3))
    throw Error(fmt::format("conv_transpose2d: geometry ({}) does not invert "
                            "to the input {}",
                            windowString(window), shapeString(x.shape())));
  return detail::conv2dGradInput(x, w, out, window);
}

Tensor maxPool2d(const Tensor &x, const Pool2dOptions &options,
                 SourceLocation loc) {
  CallSite site(loc);
  requireImage("max_pool2d", "the input", x);
  Window window = poolWindow(options);
  auto [oh, ow] = outputExtent("max_pool2d", x.shape(), window);
  return single(Prim::MaxPool2d, {x}, {x.dim(0), x.dim(1), oh, ow}, x.dtype(),
                window);
}

Tensor avgPool2d(const Tensor &x, const Pool2dOptions &options,
                 SourceLocation loc) {
  CallSite site(loc);
  requireImage("avg_pool2d", "the input", x);
  Window window = poolWindow(options);
  auto [oh, ow] = outputExtent("avg_pool2d", x.shape(), window);
  Tensor sums = single(Prim::SumPool2d, {x}, {x.dim(0), x.dim(1), oh, ow},
                       x.dtype(), window);
  return sums * (1.0 / static_cast<double>(window.kernel[0] * window.kernel[1]));
}

Tensor globalAvgPool2d(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  requireImage("global_avg_pool2d", "the input", x);
  return mean(x, {2, 3}, /*keepDims=*/true);
}

Tensor concat(const std::vector<Tensor> &parts, int64_t axis,
              SourceLocation loc) {
  CallSite site(loc);
  if (parts.empty())
    throw Error("concat: nothing to join");
  const Tensor &first = parts.front();
  int64_t rank = first.rank();
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    throw Error(fmt::format("concat: axis {} is out of range for {}", axis,
                            shapeString(first.shape())));
  Shape shape = first.shape();
  shape[axis] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor &p = parts[i];
    bool fits = p.rank() == rank && p.dtype() == first.dtype();
    for (int64_t d = 0; fits && d < rank; ++d)
      fits = d == axis || p.dim(d) == first.dim(d);
    if (!fits)
      throw Error(fmt::format("concat: part {} is {}{} but part 0 is {}{}; all "
                              "dimensions but axis {} must agree",
                              i, dtypeName(p.dtype()), shapeString(p.shape()),
                              dtypeName(first.dtype()), shapeString(first.shape()),
                              axis));
    shape[axis] += p.dim(axis);
  }
  NodeAttrs attrs;
  attrs.axis = axis;
  return apply(Prim::Concat, parts, {{shape, first.dtype()}}, attrs)[0];
}

Tensor slice(const Tensor &x, int64_t axis, int64_t start, int64_t size,
             SourceLocation loc) {
  CallSite site(loc);
  if (axis < 0)
    axis += x.rank();
  if (axis < 0 || axis >= x.rank() || start < 0 || size < 0 ||
      start + size > x.dim(axis))
    throw Error(fmt::format("slice: [{}, {}) along axis {} is not inside {}",
                            start, start + size, axis, shapeString(x.shape())));
  Shape shape = x.shape();
  shape[axis] = size;
  NodeAttrs attrs;
  attrs.axis = axis;
  attrs.start = start;
  return apply(Prim::Slice, {x}, {{shape, x.dtype()}}, attrs)[0];
}

Tensor dropout(const Tensor &x, double rate, const Tensor &seed,
               SourceLocation loc) {
  CallSite site(loc);
  if (!(rate >= 0.0 && rate < 1.0))
    throw Error(fmt::format("dropout: rate {} is not in [0, 1)", rate));
  if (seed.dtype() != DType::I32 || seed.numel() != 1)
    throw Error(fmt::format("dropout: the seed must be an i32 scalar, got {}{}",
                            dtypeName(seed.dtype()), shapeString(seed.shape())));
  if (rate == 0.0)
    return x;
  NodeAttrs attrs;
  attrs.value = rate;
  Tensor mask = apply(Prim::DropoutMask, {reshape(seed, {})},
                      {{x.shape(), x.dtype()}}, attrs)[0];
  return x * mask;
}

namespace detail {

// The VJP primitives (used by Grad.cpp).
Tensor conv2dGradInput(const Tensor &dy, const Tensor &w, const Shape &input,
                       const Window &window) {
  return single(Prim::Conv2dGradInput, {dy, w}, input, dy.dtype(), window);
}
Tensor conv2dGradFilter(const Tensor &x, const Tensor &dy, const Shape &filter,
                        const Window &window) {
  return single(Prim::Conv2dGradFilter, {x, dy}, filter, x.dtype(), window);
}
Tensor maxPool2dGrad(const Tensor &x, const Tensor &dy, const Window &window) {
  return single(Prim::MaxPool2dGrad, {x, dy}, x.shape(), x.dtype(), window);
}
Tensor sumPool2dGrad(const Tensor &dy, const Shape &input, const Window &window) {
  return single(Prim::SumPool2dGrad, {dy}, input, dy.dtype(), window);
}

} // namespace detail
} // namespace bregman
