//===- ConvPoolOps.cpp - Convolutions and pooling (1-D and 2-D) ----------===//
//
// 2-D images [N, C, H, W] and 1-D signals [N, C, L] (PyTorch's Conv1d,
// MaxPool1d, AvgPool1d: audio, time series, text CNNs). A signal runs as an
// image of height 1, its window as one of height 1 without padding there, so
// the kernels, CSR filters and kernel groups of 2-D convolutions serve both.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>

namespace bregman::onnx::detail {

Shape signalFilterAsImage(const Shape &filter) {
  return {filter[0], filter[1], 1, filter[2]};
}

void signalWindowAsImage(std::vector<int64_t> &strides,
                         std::vector<int64_t> &dilations,
                         std::vector<int64_t> &pads) {
  strides.insert(strides.begin(), 1);
  dilations.insert(dilations.begin(), 1);
  pads = {0, pads[0], 0, pads[1]};
}

namespace {

/// The window attributes Conv, MaxPool and AveragePool share, with
/// `auto_pad` resolved to explicit padding for input `x`.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::array<int64_t, 4> padding{};
};

/// The input as an image: a signal [N, C, L] as [N, C, 1, L].
Tensor asImage(const NodeContext &c, const Tensor &x) {
  if (x.rank() == 3)
    return reshape(x, {x.dim(0), x.dim(1), 1, x.dim(2)});
  if (x.rank() != 4)
    throw c.unsupported(fmt::format("input {} (1-D signals [N, C, L] and 2-D "
                                    "images [N, C, H, W] only)",
                                    shapeString(x.shape())));
  return x;
}

/// An image result [N, C, 1, L'] back as a signal when `x` was one.
Tensor likeInput(const Tensor &x, const Tensor &y) {
  return x.rank() == 3 ? reshape(y, {y.dim(0), y.dim(1), y.dim(3)}) : y;
}

/// Conv's weight as a 2-D filter [M, C/group, kH, kW]: a 1-D one
/// [M, C/group, K] gets height 1. (A retrained 1-D weight already has it:
/// OnnxNetwork keeps it so, for the kernel groups of 2-D filters.)
Tensor filterOf(const NodeContext &c, int64_t spatialAxes) {
  Tensor w = c.tensor(1);
  if (spatialAxes == 1 && w.rank() == 3)
    return reshape(w, signalFilterAsImage(w.shape()));
  if (w.rank() != 4 || (spatialAxes == 1 && w.dim(2) != 1))
    throw c.unsupported(fmt::format("weight {} for a {}-D input ({}-D "
                                    "convolutions take a rank-{} weight)",
                                    shapeString(w.shape()), spatialAxes,
                                    spatialAxes, spatialAxes + 2));
  return w;
}

/// A weight's kernel past kMaxWindowValue (a computed or graph-input weight
/// can be that long) would overflow SAME's padding arithmetic.
void requireKernelBound(const NodeContext &c,
                        const std::vector<int64_t> &kernel) {
  for (int64_t k : kernel)
    if (k > kMaxWindowValue)
      throw c.error(fmt::format("the weight's kernel [{}] is longer than 2^30",
                                fmt::join(kernel, ", ")));
}

/// Conv's kernel is its weight's; a kernel_shape attribute must agree.
std::vector<int64_t> convKernel(const NodeContext &c, int64_t spatialAxes) {
  Tensor w = filterOf(c, spatialAxes);
  std::vector<int64_t> weightKernel = {w.dim(2), w.dim(3)};
  if (spatialAxes == 1)
    weightKernel = {w.dim(3)};
  std::vector<int64_t> kernel = c.intsAttr("kernel_shape", weightKernel);
  if (kernel != weightKernel)
    throw c.badAttr("kernel_shape",
                    fmt::format("[{}]", fmt::join(kernel, ", ")),
                    fmt::format("contradicts the weight's kernel [{}]",
                                fmt::join(weightKernel, ", ")));
  requireKernelBound(c, weightKernel);
  return kernel;
}

/// Explicit pads of a pooling window must be smaller than the kernel (as
/// onnxruntime requires): a window of padding only has no maximum and
/// averages 0/0. (With dilations, from AveragePool-19, a window's taps can
/// still all fall in the padding, e.g. kernel 2, dilation 3, pads 1 on a
/// length of 2: its average is 0/0 = NaN, as in ONNX's reference.)
void checkPoolPads(const NodeContext &c, const Window &w, size_t axes) {
  for (int i = 0; i < 4; ++i) {
    if (w.padding[i] < w.kernel[i % 2])
      continue;
    // A 1-D node's own attributes, not its window of height 1.
    if (axes == 1)
      throw c.badAttr(
          "pads", fmt::format("[{}, {}]", w.padding[1], w.padding[3]),
          fmt::format("must be smaller than the kernel [{}]", w.kernel[1]));
    throw c.badAttr("pads", fmt::format("[{}]", fmt::join(w.padding, ", ")),
                    fmt::format("must be smaller than the kernel {}x{}",
                                w.kernel[0], w.kernel[1]));
  }
}

/// The window of a node reading `x` (a signal or an image), as a 2-D window
/// over `image`, x's image view.
Window windowOf(const NodeContext &c, const Tensor &x, const Tensor &image) {
  auto axes = static_cast<size_t>(x.rank() - 2);
  std::string autoPad = c.stringAttr("auto_pad", "NOTSET");
  Window w;
  w.kernel = c.op() == "Conv" ? convKernel(c, static_cast<int64_t>(axes))
                              : c.windowInts("kernel_shape", {}, 1);
  w.strides = c.windowInts("strides", std::vector<int64_t>(axes, 1), 1);
  w.dilations = c.windowInts("dilations", std::vector<int64_t>(axes, 1), 1);
  std::vector<int64_t> pads =
      c.windowInts("pads", std::vector<int64_t>(2 * axes, 0), 0);
  if (w.kernel.size() != axes || w.strides.size() != axes ||
      w.dilations.size() != axes || pads.size() != 2 * axes)
    throw c.unsupported(fmt::format(
        "kernel_shape, strides, dilations or pads not {}-D, as the input {} is",
        axes, shapeString(x.shape())));
  if (axes == 1) {
    w.kernel.insert(w.kernel.begin(), 1);
    signalWindowAsImage(w.strides, w.dilations, pads);
  }
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t in = image.dim(2 + i),
              out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(
          0, (out - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - in);
      int64_t small = total / 2, large = total - small;
      pads[i] = autoPad == "SAME_UPPER" ? small : large;
      pads[i + 2] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (autoPad != "NOTSET") {
    throw c.unsupported("auto_pad " + autoPad);
  }
  w.padding = {pads[0], pads[1], pads[2], pads[3]};
  if (c.op() != "Conv" && autoPad == "NOTSET")
    checkPoolPads(c, w, axes);
  return w;
}

/// The weight's CSR pair when the environment holds it (withSparseLayers,
/// or the retraining step's CSR under the initializer's name), else none.
std::optional<CsrFilter> filterCsrOf(const NodeContext &c, const Tensor &w) {
  const std::string &name = c.node.input(1);
  Params found;
  for (const auto &keys : {nn::csrKeys(name), nn::filterColumnsKeys(name)})
    for (const std::string &key : keys) {
      auto it = c.env.find(key);
      if (it == c.env.end())
        return std::nullopt;
      found.add(key, it->second.tensor);
    }
  return nn::filterCsr(found, name, w);
}

void conv(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Tensor image = asImage(c, x);
  Window w = windowOf(c, x, image);
  Tensor filter = filterOf(c, x.rank() - 2);
  int64_t group = c.intAttr("group", 1);
  if (group < 1 || x.dim(1) % group != 0)
    throw c.badAttr("group", std::to_string(group),
                    fmt::format("must be >= 1 and divide the input's {} channels",
                                x.dim(1)));
  Conv2dOptions o{{w.strides[0], w.strides[1]}, w.padding,
                  {w.dilations[0], w.dilations[1]}, group};
  std::optional<CsrFilter> csr = filterCsrOf(c, filter);
  if (csr && sparseConv2dFits(csr->shape, o)) {
    // A bias [M] is added in the loop; another shape the usual way.
    bool inLoop = c.has(2) && c.tensor(2).shape() == Shape{csr->shape[0]} &&
                  c.tensor(2).dtype() == DType::F32;
    Tensor y = sparseConv2d(image, *csr, o, inLoop ? c.tensor(2) : Tensor());
    if (c.has(2) && !inLoop)
      y = y + c.perChannel(c.tensor(2), y);
    c.set(likeInput(x, y));
    return;
  }
  Tensor y = conv2d(image, filter, o);
  if (c.has(2))
    y = y + c.perChannel(c.tensor(2), y);
  c.set(likeInput(x, y));
}

Pool2dOptions poolOptions(const Window &w) {
  return Pool2dOptions{{w.kernel[0], w.kernel[1]}, {w.strides[0], w.strides[1]},
                       w.padding, {w.dilations[0], w.dilations[1]}};
}

/// ceil_mode = 1 as ONNX and PyTorch define it: the output size rounds up,
/// but the last window must start inside the input or its left (top)
/// padding. Returns the rows and columns that this adds below and to the
/// right of the explicit padding (0 without ceil_mode).
std::array<int64_t, 2> ceilExtra(const NodeContext &c, const Window &w,
                                 const Tensor &x) {
  std::array<int64_t, 2> extra{0, 0};
  if (c.flagAttr("ceil_mode", 0) == 0)
    return extra;
  for (int i = 0; i < 2; ++i) {
    int64_t in = x.dim(2 + i), before = w.padding[i], after = w.padding[i + 2];
    int64_t reach = w.dilations[i] * (w.kernel[i] - 1) + 1;
    int64_t span = in + before + after - reach;
    if (span < 0)
      continue; // no window fits: max_pool2d / avg_pool2d say so
    int64_t out = (span + w.strides[i] - 1) / w.strides[i] + 1;
    if ((out - 1) * w.strides[i] >= in + before)
      --out;
    extra[i] = std::max<int64_t>(0, (out - 1) * w.strides[i] + reach - (in + before + after));
  }
  return extra;
}

/// The window with ceil_mode's extra rows and columns as bottom/right padding.
Window withCeilPadding(const Window &w, std::array<int64_t, 2> extra) {
  Window padded = w;
  padded.padding[2] += extra[0];
  padded.padding[3] += extra[1];
  return padded;
}

void maxPool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Tensor image = asImage(c, x);
  Window w = windowOf(c, x, image);
  if (c.node.output_size() > 1 && !c.node.output(1).empty())
    throw c.unsupported("the Indices output");
  if (c.flagAttr("storage_order", 0) != 0)
    throw c.unsupported("storage_order = 1");
  // Padding counts as −∞: ceil_mode's extra cells never win.
  c.set(likeInput(x, maxPool2d(image, poolOptions(withCeilPadding(
                                          w, ceilExtra(c, w, image))))));
}

/// AveragePool divides each window's sum by the cells it covers inside the
/// input (count_include_pad = 0) or inside the explicitly padded input
/// (1; ceil_mode's extra cells are never counted, as in PyTorch and
/// onnxruntime).
void averagePool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Tensor image = asImage(c, x);
  Window w = windowOf(c, x, image);
  std::array<int64_t, 2> extra = ceilExtra(c, w, image);
  Pool2dOptions all = poolOptions(withCeilPadding(w, extra));
  Tensor avg = avgPool2d(image, all);
  bool explicitPads = w.padding != std::array<int64_t, 4>{0, 0, 0, 0};
  bool ceilPads = extra != std::array<int64_t, 2>{0, 0};
  int64_t h = image.dim(2), wd = image.dim(3);
  if (c.flagAttr("count_include_pad", 0) == 0 && (explicitPads || ceilPads)) {
    Tensor count = avgPool2d(full({1, 1, h, wd}, 1.0, x.dtype()), all);
    avg = avg / count;
  } else if (ceilPads) {
    // Ones over the explicitly padded input; only ceil_mode's cells pad it.
    Window inner = w;
    inner.padding = {0, 0, extra[0], extra[1]};
    Shape padded = {1, 1, h + w.padding[0] + w.padding[2], wd + w.padding[1] + w.padding[3]};
    avg = avg / avgPool2d(full(padded, 1.0, x.dtype()), poolOptions(inner));
  }
  c.set(likeInput(x, avg));
}

void globalAveragePool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Tensor pooled = globalAvgPool2d(asImage(c, x)); // [N, C, 1, 1]
  c.set(x.rank() == 3 ? reshape(pooled, {x.dim(0), x.dim(1), 1}) : pooled);
}

/// The largest value of each sample's channel over its spatial axes, kept as
/// unit axes (AdaptiveMaxPool2d(1)); any rank from 3.
void globalMaxPool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  if (x.rank() < 3)
    throw c.error(
        fmt::format("input {} has no spatial axes", shapeString(x.shape())));
  std::vector<int64_t> spatial;
  for (int64_t a = 2; a < x.rank(); ++a)
    spatial.push_back(a);
  c.set(max(x, spatial, /*keepDims=*/true));
}

/// ConvTranspose's padding: explicit, or the one that gives `output_shape`
/// (or stride·input for SAME_*), growing `outputPadding` where the kernel
/// does not reach that far.
std::vector<int64_t> transposedPads(const NodeContext &c, const Tensor &x,
                                    const Tensor &w,
                                    const std::vector<int64_t> &strides,
                                    const std::vector<int64_t> &dilations,
                                    std::vector<int64_t> &outputPadding,
                                    size_t axes) {
  std::vector<int64_t> pads =
      c.windowInts("pads", std::vector<int64_t>(2 * axes, 0), 0);
  std::vector<int64_t> outputShape = c.windowInts("output_shape", {}, 1);
  std::string autoPad = c.stringAttr("auto_pad", "NOTSET");
  if (pads.size() != 2 * axes)
    throw c.unsupported(fmt::format("pads not {}-D", axes));
  if (outputShape.size() > axes)
    outputShape.erase(outputShape.begin(),
                      outputShape.end() - static_cast<int64_t>(axes));
  // A signal's window of height 1: no padding there, one output row.
  if (axes == 1) {
    pads = {0, pads[0], 0, pads[1]};
    if (!outputShape.empty())
      outputShape.insert(outputShape.begin(), 1);
  }
  if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t in = x.dim(2 + i);
      // stride · input within bounds may still pass 2^63 for a long input.
      if (static_cast<long double>(in) * strides[i] >
          static_cast<long double>(int64_t(1) << 40))
        throw c.error(
            fmt::format("stride {} times the input's {} elements along "
                        "an axis is more than 2^40",
                        strides[i], in));
      int64_t out = outputShape.empty() ? in * strides[i] : outputShape.at(i);
      int64_t total = strides[i] * (in - 1) + outputPadding[i] +
                      (w.dim(2 + i) - 1) * dilations[i] + 1 - out;
      if (total < 0) {
        outputPadding[i] -= total;
        total = 0;
      }
      bool upper = autoPad != "SAME_LOWER";
      pads[i] = upper ? total / 2 : total - total / 2;
      pads[i + 2] = total - pads[i];
    }
  } else if (autoPad == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (autoPad != "NOTSET") {
    throw c.unsupported("auto_pad " + autoPad);
  }
  return pads;
}

/// ConvTranspose on images, or on signals [N, C, L] (ConvTranspose1d) as
/// images of height 1 with a filter [C, M/group, 1, K].
void convTranspose(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Tensor image = asImage(c, x);
  auto axes = static_cast<size_t>(x.rank() - 2);
  Tensor w = filterOf(c, static_cast<int64_t>(axes));
  std::vector<int64_t> strides =
      c.windowInts("strides", std::vector<int64_t>(axes, 1), 1);
  std::vector<int64_t> dilations =
      c.windowInts("dilations", std::vector<int64_t>(axes, 1), 1);
  std::vector<int64_t> outputPadding =
      c.windowInts("output_padding", std::vector<int64_t>(axes, 0), 0);
  if (c.intAttr("group", 1) < 1)
    throw c.badAttr("group", std::to_string(c.intAttr("group", 1)), "must be >= 1");
  if (strides.size() != axes || dilations.size() != axes ||
      outputPadding.size() != axes)
    throw c.unsupported(
        fmt::format("strides, dilations or output_padding not {}-D, as the "
                    "input {} is",
                    axes, shapeString(x.shape())));
  if (axes == 1) {
    strides.insert(strides.begin(), 1);
    dilations.insert(dilations.begin(), 1);
    outputPadding.insert(outputPadding.begin(), 0);
  }
  // The spec: output_padding < stride or dilation (else the added rows are
  // not reached by any input and the shape is ambiguous).
  for (int i = 0; i < 2; ++i)
    if (outputPadding[i] >= std::max(strides[i], dilations[i]))
      throw c.badAttr("output_padding", fmt::format("[{}]", fmt::join(outputPadding, ", ")),
                      "must be smaller than the stride or the dilation");
  requireKernelBound(c, {w.dim(2), w.dim(3)});
  std::vector<int64_t> pads =
      transposedPads(c, image, w, strides, dilations, outputPadding, axes);
  Conv2dOptions o{{strides[0], strides[1]}, {pads[0], pads[1], pads[2], pads[3]},
                  {dilations[0], dilations[1]}, c.intAttr("group", 1)};
  Tensor y = convTranspose2d(image, w, o, {outputPadding[0], outputPadding[1]});
  if (c.has(2))
    y = y + c.perChannel(c.tensor(2), y);
  c.set(likeInput(x, y));
}

} // namespace

std::vector<OpHandler> convPoolOps() {
  return {
      {"Conv",
       1,
       kNewestOpset,
       conv,
       {{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}},
      // Its weight [C_in, C_out/group, kH, kW] ([C_in, C_out/group, K] on a
      // signal) trains as a Conv weight (k×k
      // kernels as groups; PyTorch's fan-in, dimensions 1..3, as Conv's).
      {"ConvTranspose",
       1,
       kNewestOpset,
       convTranspose,
       {{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}},
      {"MaxPool", 1, kNewestOpset, maxPool, {}},
      {"AveragePool", 1, kNewestOpset, averagePool, {}},
      {"GlobalAveragePool", 1, kNewestOpset, globalAveragePool, {}},
      {"GlobalMaxPool", 1, kNewestOpset, globalMaxPool, {}},
  };
}

} // namespace bregman::onnx::detail
