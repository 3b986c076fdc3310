//===- SparseConv.cpp - Convolutions on a filter in CSR --------------------===//
//
// A convolution filter W [O, C, KH, KW] runs sparse as two CSRs: W as the
// matrix [O, C·KH·KW] for the forward pass, and its transpose [C, O·KH·KW]
// for the input gradient (with g groups, W is [O, C/g, KH, KW] and the
// transpose is taken per group: [C, (O/g)·KH·KW]), which is the forward loop over the output
// cotangent padded by dilation·(K − 1) − padding with the taps flipped (at
// a stride, over the cotangent with stride − 1 zeros between its rows and
// columns, which the lowering never visits: it splits the outputs by phase).
// The weight gradient stays dense (v needs all of it).
//
//===----------------------------------------------------------------------===//

#include "ConvPrims.h"

#include "bregman/Error.h"
#include "bregman/Tensor.h"
#include "bregman/Trace.h"

#include <algorithm>
#include <numeric>
#include <fmt/format.h>

namespace bregman {

namespace {

std::string filterString(const std::array<int64_t, 4> &f) {
  return fmt::format("[{}, {}, {}, {}]", f[0], f[1], f[2], f[3]);
}

/// The CSR `w` must be of a matrix [rows, cols] (its buffers are checked
/// where the node is built, by the same rules as sparse_matmul's).
void requireCsr(const CsrWeight &w, int64_t rows, int64_t cols,
                const char *which, const std::array<int64_t, 4> &filter) {
  if (!w.positions.defined() || !w.coordinates.defined() ||
      !w.values.defined())
    throw Error(fmt::format("sparse_conv2d: the filter {}'s {} CSR is missing "
                            "(positions, coordinates and values)",
                            filterString(filter), which));
  if (w.rows != rows || w.cols != cols ||
      w.positions.dtype() != DType::I32 || w.positions.shape() != Shape{rows + 1} ||
      w.coordinates.dtype() != DType::I32 || w.coordinates.rank() != 1 ||
      w.values.dtype() != DType::F32 ||
      w.values.shape() != w.coordinates.shape() ||
      w.coordinates.numel() < 1 || w.coordinates.numel() > rows * cols)
    throw Error(fmt::format(
        "sparse_conv2d: the {} CSR of filter {} must be of a [{}, {}] matrix "
        "(i32 positions [{}], i32 coordinates and f32 values of one capacity "
        "in [1, {}]), got [{}, {}] with positions {}, coordinates {}, values "
        "{}",
        which, filterString(filter), rows, cols, rows + 1, rows * cols, w.rows,
        w.cols, shapeString(w.positions.shape()),
        shapeString(w.coordinates.shape()), shapeString(w.values.shape())));
}

} // namespace

namespace detail {

std::array<int64_t, 4> mirroredPadding(const Window &w) {
  return {w.dilations[0] * (w.kernel[0] - 1) - w.padding[0],
          w.dilations[1] * (w.kernel[1] - 1) - w.padding[1],
          w.dilations[0] * (w.kernel[0] - 1) - w.padding[2],
          w.dilations[1] * (w.kernel[1] - 1) - w.padding[3]};
}

Window sparseConvGradientWindow(const Window &w, bool fromFlip,
                                const Shape &input, const Shape &output) {
  Window out = w;
  for (int d = 0; d < 2; ++d) {
    int64_t reach = w.dilations[d] * (w.kernel[d] - 1);
    out.padding[d] = reach - w.padding[d];
    // After: the flipped node's outputs must end at the forward input's
    // last row, past the rows the strided forward pass never read; back
    // from a flipped node, those rows need no padding (a stride's worth of
    // them at most: the forward output's size is the same).
    out.padding[d + 2] =
        fromFlip ? std::max<int64_t>(0, reach - w.padding[d + 2])
                 : input[d + 2] - 1 + w.padding[d] - w.strides[d] * (output[d + 2] - 1);
  }
  return out;
}

SparseConvInputs sparseConvInputs(const NodeAttrs &attrs, size_t inputs) {
  SparseConvInputs at;
  int next = 4;
  if (attrs.transposeB)
    at.other = next, next += 3;
  bool hasBias = attrs.axes.size() > 4 && attrs.axes[4] != 0;
  if (static_cast<int>(inputs) - next - (hasBias ? 1 : 0) == 1)
    at.dense = next++;
  if (hasBias)
    at.bias = next;
  return at;
}

Tensor sparseConv2dNode(const Tensor &x, const CsrWeight &used,
                        const CsrWeight *other, const Tensor &dense,
                        const std::array<int64_t, 4> &filter,
                        const Window &window, bool flip, const Tensor &bias) {
  // The filter is [O, C/g, KH, KW]: the forward node maps C channels to O
  // rows, the flipped one O channels to C rows.
  int64_t inputChannels = filter[1] * window.groups;
  int64_t rows = flip ? inputChannels : filter[0];
  int64_t channels = flip ? filter[0] : inputChannels;
  if (!x.defined() || x.rank() != 4 || x.dim(1) != channels ||
      x.dtype() != DType::F32)
    throw Error(fmt::format(
        "sparse_conv2d: filter {} needs an f32 input [N, {}, H, W], got {}{}",
        filterString(filter), channels,
        x.defined() ? dtypeName(x.dtype()) : "nothing",
        x.defined() ? shapeString(x.shape()) : ""));
  // A flipped node reads its input with stride − 1 zeros between rows
  // (columns) and computes at stride 1.
  auto extent = [&](int d) {
    return flip ? window.strides[d] * (x.dim(d + 2) - 1) + 1 : x.dim(d + 2);
  };
  int64_t spanH = extent(0) + window.padding[0] + window.padding[2] -
                  window.dilations[0] * (window.kernel[0] - 1);
  int64_t spanW = extent(1) + window.padding[1] + window.padding[3] -
                  window.dilations[1] * (window.kernel[1] - 1);
  if (spanH < 1 || spanW < 1)
    throw Error(fmt::format("sparse_conv2d: input {} is smaller than the "
                            "filter {}'s dilated window",
                            shapeString(x.shape()), filterString(filter)));
  NodeAttrs attrs;
  attrs.window = window;
  attrs.transposeA = flip;
  attrs.transposeB = other != nullptr;
  attrs.axes = {filter.begin(), filter.end()};
  attrs.axes.push_back(bias.defined() ? 1 : 0);
  std::vector<Tensor> inputs{x, used.positions, used.coordinates, used.values};
  if (other)
    inputs.insert(inputs.end(),
                  {other->positions, other->coordinates, other->values});
  if (dense.defined())
    inputs.push_back(dense);
  if (bias.defined())
    inputs.push_back(bias);
  int64_t oh = flip ? spanH : (spanH - 1) / window.strides[0] + 1;
  int64_t ow = flip ? spanW : (spanW - 1) / window.strides[1] + 1;
  return apply(Prim::SparseConv2d, inputs,
               {{{x.dim(0), rows, oh, ow}, DType::F32}}, std::move(attrs))[0];
}

Tensor sparseConv2dInputGrad(const Tensor &g, const Shape &input,
                             const CsrWeight &used, const CsrWeight &other,
                             const Tensor &dense,
                             const std::array<int64_t, 4> &filter,
                             const Window &window, bool flip) {
  Window mirrored = sparseConvGradientWindow(window, flip, input, g.shape());
  // The gradient's own input gradient is this node again: the CSRs swap.
  return sparseConv2dNode(g, other, &used, dense, filter, mirrored, !flip);
}

} // namespace detail

bool sparseConv2dFits(const std::array<int64_t, 4> &filter,
                      const Conv2dOptions &options) {
  // Checked before dilation·(K − 1) is formed: an ONNX file's attributes
  // reach here unvalidated (withSparseLayers runs before the graph does).
  auto sane = [](int64_t v) { return v >= 1 && v <= (int64_t(1) << 30); };
  if (!sane(filter[2]) || !sane(filter[3]) || !sane(options.dilation[0]) ||
      !sane(options.dilation[1]) || !sane(options.stride[0]) ||
      !sane(options.stride[1]) || !sane(options.groups) ||
      filter[0] % options.groups != 0 ||
      std::any_of(options.padding.begin(), options.padding.end(),
                  [](int64_t p) { return p < 0; }))
    return false;
  // The input gradient's loop pads the cotangent by the mirror.
  Window window;
  window.kernel = {filter[2], filter[3]};
  window.padding = options.padding;
  window.dilations = options.dilation;
  std::array<int64_t, 4> mirrored = detail::mirroredPadding(window);
  return std::all_of(mirrored.begin(), mirrored.end(),
                     [](int64_t p) { return p >= 0; });
}

Tensor sparseConv2d(const Tensor &x, const CsrFilter &w,
                    const Conv2dOptions &options, const Tensor &bias,
                    SourceLocation loc) {
  CallSite site(loc);
  const std::array<int64_t, 4> &f = w.shape;
  if (std::any_of(f.begin(), f.end(), [](int64_t d) { return d < 1; }) ||
      options.dilation[0] < 1 || options.dilation[1] < 1)
    throw Error(fmt::format("sparse_conv2d: filter {} and dilation [{}, {}] "
                            "must be positive",
                            filterString(f), options.dilation[0],
                            options.dilation[1]));
  if (!sparseConv2dFits(f, options))
    throw Error(fmt::format(
        "sparse_conv2d: filter {} needs positive strides, groups that divide "
        "its {} outputs and padding of at most dilation·(K − 1) per side (got "
        "stride [{}, {}], groups {}, padding [{}, {}, {}, {}]); use conv2d",
        filterString(f), f[0], options.stride[0], options.stride[1],
        options.groups, options.padding[0], options.padding[1],
        options.padding[2], options.padding[3]));
  if (w.groups != options.groups)
    throw Error(fmt::format("sparse_conv2d: the CSR of filter {} was built "
                            "for {} group(s), the convolution has {}",
                            filterString(f), w.groups, options.groups));
  int64_t taps = f[2] * f[3];
  requireCsr(w.rows, f[0], f[1] * taps, "forward", f);
  bool hasColumns = w.columns.positions.defined();
  if (hasColumns)
    requireCsr(w.columns, f[1] * options.groups, f[0] / options.groups * taps,
               "transposed", f);
  if (w.dense.defined() &&
      (w.dense.shape() != Shape{f[0], f[1], f[2], f[3]} ||
       w.dense.dtype() != DType::F32))
    throw Error(fmt::format("sparse_conv2d: the dense filter must be f32{}, "
                            "got {}{}",
                            filterString(f), dtypeName(w.dense.dtype()),
                            shapeString(w.dense.shape())));
  if (bias.defined() &&
      (bias.shape() != Shape{f[0]} || bias.dtype() != DType::F32))
    throw Error(fmt::format("sparse_conv2d: the bias of filter {} must be "
                            "f32[{}], got {}{}",
                            filterString(f), f[0], dtypeName(bias.dtype()),
                            shapeString(bias.shape())));
  Window window;
  window.kernel = {f[2], f[3]};
  window.strides = options.stride;
  window.padding = options.padding;
  window.dilations = options.dilation;
  window.groups = options.groups;
  return detail::sparseConv2dNode(x, w.rows, hasColumns ? &w.columns : nullptr,
                                  w.dense, f, window, /*flip=*/false, bias);
}

namespace {

std::array<int64_t, 4> filterShape(const Tensor &w, const char *what) {
  if (!w.defined() || w.rank() != 4 || w.dtype() != DType::F32 ||
      w.numel() == 0)
    throw Error(fmt::format("{}: needs a non-empty f32 filter [O, C, KH, KW], "
                            "got {}",
                            what,
                            w.defined() ? dtypeName(w.dtype()) +
                                              shapeString(w.shape())
                                        : std::string("an empty tensor")));
  return {w.dim(0), w.dim(1), w.dim(2), w.dim(3)};
}

} // namespace

namespace {

/// Positions that rise from 0 to at most the capacity, and in each row
/// coordinates that rise within [0, columns): a CSR whose transpose the
/// counting below builds in bounds and sorted.
void checkRows(const int32_t *pos, const int32_t *crd, int64_t capacity,
               int64_t columns, const std::array<int64_t, 4> &filter) {
  for (int64_t o = 0; o < filter[0]; ++o)
    if ((o == 0 && pos[0] != 0) || pos[o] > pos[o + 1] || pos[o + 1] > capacity)
      throw Error(fmt::format("filterCsrFromRows: filter {}: positions must "
                              "rise from 0 to at most the capacity {}; row {} "
                              "spans [{}, {})",
                              filterString(filter), capacity, o, pos[o], pos[o + 1]));
  for (int64_t o = 0; o < filter[0]; ++o) {
    for (int32_t k = pos[o]; k < pos[o + 1]; ++k) {
      if (crd[k] < 0 || crd[k] >= columns)
        throw Error(fmt::format("filterCsrFromRows: filter {}: coordinate {} "
                                "of entry {} is outside [0, {})",
                                filterString(filter), crd[k], k, columns));
      if (k > pos[o] && crd[k] <= crd[k - 1])
        throw Error(fmt::format("filterCsrFromRows: filter {}: row {}'s "
                                "coordinates must rise; entry {} holds {} after {}",
                                filterString(filter), o, k, crd[k], crd[k - 1]));
    }
  }
}

} // namespace

CsrFilter filterCsrFromRows(const CsrWeight &rows,
                            const std::array<int64_t, 4> &filter,
                            int64_t groups) {
  // Each dimension bounded first, so that the products cannot overflow.
  bool fits = std::all_of(filter.begin(), filter.end(),
                          [](int64_t d) { return d >= 1 && d <= INT32_MAX; });
  int64_t taps = fits ? filter[2] * filter[3] : 0;
  if (!fits || taps > INT32_MAX || filter[1] * taps > INT32_MAX ||
      filter[0] * taps > INT32_MAX)
    throw Error(fmt::format("filterCsrFromRows: filter {} must have positive "
                            "dimensions and rows of at most 2^31 - 1 entries",
                            filterString(filter)));
  if (groups < 1 || filter[0] % groups != 0 ||
      filter[1] * groups > INT32_MAX)
    throw Error(fmt::format("filterCsrFromRows: filter {}: groups ({}) must "
                            "divide its {} outputs, with at most 2^31 - 1 "
                            "input channels",
                            filterString(filter), groups, filter[0]));
  int64_t columns = filter[1] * taps;
  requireCsr(rows, filter[0], columns, "forward", filter);
  if (!rows.positions.isConcrete() || !rows.coordinates.isConcrete() ||
      !rows.values.isConcrete())
    throw Error("filterCsrFromRows: needs a concrete CSR (inside a trace, "
                "compressFilterInTrace)");
  const int32_t *pos = rows.positions.data<int32_t>();
  const int32_t *crd = rows.coordinates.data<int32_t>();
  const float *val = rows.values.data<float>();
  int64_t capacity = rows.coordinates.numel();
  checkRows(pos, crd, capacity, columns, filter);
  // The transpose [C, (O/g)·KH·KW] by counting: row o (of group o / (O/g))
  // entry c·KH·KW + tap goes to row (o / (O/g))·(C/g) + c. Row o's entries
  // are visited in order of o, then of the tap, so each row of the result
  // comes out sorted.
  int64_t groupOutputs = filter[0] / groups, channels = filter[1] * groups;
  auto columnOf = [&](int64_t o, int32_t k) {
    return o / groupOutputs * filter[1] + crd[k] / taps;
  };
  std::vector<int32_t> positions(channels + 1, 0);
  for (int64_t o = 0; o < filter[0]; ++o)
    for (int32_t k = pos[o]; k < pos[o + 1]; ++k)
      ++positions[columnOf(o, k) + 1];
  std::partial_sum(positions.begin(), positions.end(), positions.begin());
  std::vector<int32_t> next(positions.begin(), positions.end() - 1);
  std::vector<int32_t> coordinates(capacity, 0);
  std::vector<float> values(capacity, 0.0f);
  for (int64_t o = 0; o < filter[0]; ++o)
    for (int32_t k = pos[o]; k < pos[o + 1]; ++k) {
      int32_t at = next[columnOf(o, k)]++;
      coordinates[at] =
          static_cast<int32_t>(o % groupOutputs * taps + crd[k] % taps);
      values[at] = val[k];
    }
  CsrFilter out;
  out.shape = filter;
  out.groups = groups;
  out.rows = rows;
  out.rows.dense = Tensor();
  out.columns.rows = channels;
  out.columns.cols = groupOutputs * taps;
  out.columns.positions = Tensor::fromVector(positions, {channels + 1});
  out.columns.coordinates = Tensor::fromVector(coordinates, {capacity});
  out.columns.values = Tensor::fromVector(values, {capacity});
  return out;
}

CsrFilter compressFilter(const Tensor &w, int64_t groups) {
  std::array<int64_t, 4> f = filterShape(w, "compressFilter");
  if (!w.isConcrete())
    throw Error("compressFilter: needs a concrete filter (inside a trace, "
                "compressFilterInTrace)");
  // The matrix view [O, C·KH·KW] as a copy: concrete tensors have no ops.
  const float *data = w.data<float>();
  Tensor matrix = Tensor::fromVector(std::vector<float>(data, data + w.numel()),
                                     {f[0], f[1] * f[2] * f[3]});
  return filterCsrFromRows(compressRows(matrix), f, groups);
}

CsrFilter compressFilterInTrace(const Tensor &w, int64_t groups) {
  std::array<int64_t, 4> f = filterShape(w, "compress_filter");
  if (groups < 1 || f[0] % groups != 0)
    throw Error(fmt::format("compress_filter: groups ({}) must divide the "
                            "{} outputs of filter {}",
                            groups, f[0], filterString(f)));
  CsrFilter out;
  out.shape = f;
  out.groups = groups;
  int64_t taps = f[2] * f[3];
  out.rows = compressRowsInTrace(reshape(w, {f[0], f[1] * taps}));
  // The transpose within each group: [g, O/g, C/g, taps] -> [g, C/g, O/g,
  // taps].
  Tensor transposed =
      groups == 1 ? transpose(w, {1, 0, 2, 3})
                  : transpose(reshape(w, {groups, f[0] / groups, f[1], taps}),
                              {0, 2, 1, 3});
  out.columns = compressRowsInTrace(
      reshape(transposed, {f[1] * groups, f[0] / groups * taps}));
  out.rows.dense = Tensor();
  out.columns.dense = Tensor();
  out.dense = w;
  return out;
}

} // namespace bregman
