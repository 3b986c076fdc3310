//===- ConvPoolOps.cpp - Convolutions and pooling (2-D, NCHW) -------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>

namespace bregman::onnx::detail {

namespace {

/// The window attributes Conv, MaxPool and AveragePool share, with
/// `auto_pad` resolved to explicit padding for input `x`.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::array<int64_t, 4> padding{};
};

/// Conv's kernel is its weight's; a kernel_shape attribute must agree.
std::vector<int64_t> convKernel(const NodeContext &c) {
  Tensor w = c.tensor(1);
  if (w.rank() != 4)
    throw c.unsupported(fmt::format("weight of rank {} (2-D convolutions take "
                                    "a rank-4 weight)",
                                    w.rank()));
  std::vector<int64_t> weightKernel = {w.dim(2), w.dim(3)};
  std::vector<int64_t> kernel = c.intsAttr("kernel_shape", weightKernel);
  if (kernel != weightKernel)
    throw c.badAttr("kernel_shape", fmt::format("[{}]", fmt::join(kernel, ", ")),
                    fmt::format("contradicts the weight's kernel {}x{}",
                                weightKernel[0], weightKernel[1]));
  return kernel;
}

/// Explicit pads of a pooling window must be smaller than the kernel (as
/// onnxruntime requires): a window of padding only has no maximum and
/// averages 0/0.
void checkPoolPads(const NodeContext &c, const Window &w) {
  for (int i = 0; i < 4; ++i)
    if (w.padding[i] >= w.kernel[i % 2])
      throw c.badAttr("pads", fmt::format("[{}]", fmt::join(w.padding, ", ")),
                      fmt::format("must be smaller than the kernel {}x{}",
                                  w.kernel[0], w.kernel[1]));
}

Window windowOf(const NodeContext &c, const Tensor &x) {
  if (x.rank() != 4)
    throw c.unsupported(fmt::format("{}-D input (2-D images, NCHW, only)", x.rank() - 2));
  std::string autoPad = c.stringAttr("auto_pad", "NOTSET");
  Window w;
  w.kernel = c.op() == "Conv" ? convKernel(c) : c.intsAtLeast("kernel_shape", {}, 1);
  w.strides = c.intsAtLeast("strides", {1, 1}, 1);
  w.dilations = c.intsAtLeast("dilations", {1, 1}, 1);
  std::vector<int64_t> pads = c.intsAtLeast("pads", {0, 0, 0, 0}, 0);
  if (w.kernel.size() != 2 || w.strides.size() != 2 || w.dilations.size() != 2 ||
      pads.size() != 4)
    throw c.unsupported("kernel, strides, dilations or pads not 2-D");
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t in = x.dim(2 + i), out = (in + w.strides[i] - 1) / w.strides[i];
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
    checkPoolPads(c, w);
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
  Window w = windowOf(c, x);
  int64_t group = c.intAttr("group", 1);
  if (group < 1 || x.dim(1) % group != 0)
    throw c.badAttr("group", std::to_string(group),
                    fmt::format("must be >= 1 and divide the input's {} channels",
                                x.dim(1)));
  Conv2dOptions o{{w.strides[0], w.strides[1]}, w.padding,
                  {w.dilations[0], w.dilations[1]}, group};
  std::optional<CsrFilter> csr = filterCsrOf(c, c.tensor(1));
  if (csr && sparseConv2dFits(csr->shape, o)) {
    // A bias [M] is added in the loop; another shape the usual way.
    bool inLoop = c.has(2) && c.tensor(2).shape() == Shape{csr->shape[0]} &&
                  c.tensor(2).dtype() == DType::F32;
    Tensor y = sparseConv2d(x, *csr, o, inLoop ? c.tensor(2) : Tensor());
    if (c.has(2) && !inLoop)
      y = y + c.perChannel(c.tensor(2), y);
    c.set(y);
    return;
  }
  Tensor y = conv2d(x, c.tensor(1), o);
  if (c.has(2))
    y = y + c.perChannel(c.tensor(2), y);
  c.set(y);
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
  Window w = windowOf(c, x);
  if (c.node.output_size() > 1 && !c.node.output(1).empty())
    throw c.unsupported("the Indices output");
  if (c.flagAttr("storage_order", 0) != 0)
    throw c.unsupported("storage_order = 1");
  // Padding counts as −∞: ceil_mode's extra cells never win.
  c.set(maxPool2d(x, poolOptions(withCeilPadding(w, ceilExtra(c, w, x)))));
}

/// AveragePool divides each window's sum by the cells it covers inside the
/// input (count_include_pad = 0) or inside the explicitly padded input
/// (1; ceil_mode's extra cells are never counted, as in PyTorch and
/// onnxruntime).
void averagePool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  Window w = windowOf(c, x);
  std::array<int64_t, 2> extra = ceilExtra(c, w, x);
  Pool2dOptions all = poolOptions(withCeilPadding(w, extra));
  Tensor avg = avgPool2d(x, all);
  bool explicitPads = w.padding != std::array<int64_t, 4>{0, 0, 0, 0};
  bool ceilPads = extra != std::array<int64_t, 2>{0, 0};
  int64_t h = x.dim(2), wd = x.dim(3);
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
  c.set(avg);
}

void globalAveragePool(const NodeContext &c) {
  Tensor x = c.tensor(0);
  if (x.rank() != 4)
    throw c.unsupported("input of rank other than 4");
  c.set(globalAvgPool2d(x));
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
                                    const Tensor &w, const std::vector<int64_t> &strides,
                                    const std::vector<int64_t> &dilations,
                                    std::vector<int64_t> &outputPadding) {
  std::vector<int64_t> pads = c.intsAtLeast("pads", {0, 0, 0, 0}, 0);
  std::vector<int64_t> outputShape = c.intsAtLeast("output_shape", {}, 1);
  std::string autoPad = c.stringAttr("auto_pad", "NOTSET");
  if (pads.size() != 4)
    throw c.unsupported("strides, dilations, pads or output_padding not 2-D");
  if (outputShape.size() > 2)
    outputShape.erase(outputShape.begin(), outputShape.end() - 2);
  if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t in = x.dim(2 + i);
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

void convTranspose(const NodeContext &c) {
  Tensor x = c.tensor(0), w = c.tensor(1);
  if (x.rank() != 4 || w.rank() != 4)
    throw c.unsupported(fmt::format("{}-D input (2-D images, NCHW, only)", x.rank() - 2));
  std::vector<int64_t> strides = c.intsAtLeast("strides", {1, 1}, 1);
  std::vector<int64_t> dilations = c.intsAtLeast("dilations", {1, 1}, 1);
  std::vector<int64_t> outputPadding = c.intsAtLeast("output_padding", {0, 0}, 0);
  if (c.intAttr("group", 1) < 1)
    throw c.badAttr("group", std::to_string(c.intAttr("group", 1)), "must be >= 1");
  if (strides.size() != 2 || dilations.size() != 2 || outputPadding.size() != 2)
    throw c.unsupported("strides, dilations, pads or output_padding not 2-D");
  // The spec: output_padding < stride or dilation (else the added rows are
  // not reached by any input and the shape is ambiguous).
  for (int i = 0; i < 2; ++i)
    if (outputPadding[i] >= std::max(strides[i], dilations[i]))
      throw c.badAttr("output_padding", fmt::format("[{}]", fmt::join(outputPadding, ", ")),
                      "must be smaller than the stride or the dilation");
  std::vector<int64_t> pads = transposedPads(c, x, w, strides, dilations, outputPadding);
  Conv2dOptions o{{strides[0], strides[1]}, {pads[0], pads[1], pads[2], pads[3]},
                  {dilations[0], dilations[1]}, c.intAttr("group", 1)};
  Tensor y = convTranspose2d(x, w, o, {outputPadding[0], outputPadding[1]});
  if (c.has(2))
    y = y + c.perChannel(c.tensor(2), y);
  c.set(y);
}

} // namespace

std::vector<OpHandler> convPoolOps() {
  return {
      {"Conv",
       1,
       kNewestOpset,
       conv,
       {{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}},
      // Its weight [C_in, C_out/group, kH, kW] trains as a Conv weight (k×k
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
