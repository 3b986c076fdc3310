//===- RearrangeOps.cpp - DepthToSpace, SpaceToDepth, Tile, Size ----------===//
//
// Data rearrangements that exporters write for PixelShuffle/PixelUnshuffle
// (DepthToSpace in CRD mode, SpaceToDepth), Tensor.repeat (Tile with
// constant repeats) and numel() (Size): each is reshapes, one transpose or a
// broadcast, so gradients follow the DSL's own.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

/// The block size of DepthToSpace / SpaceToDepth on a 4-D input.
int64_t blockOf(const NodeContext &c, const Tensor &x) {
  if (x.rank() != 4)
    throw c.unsupported(fmt::format("input {} (images [N, C, H, W] only)",
                                    shapeString(x.shape())));
  int64_t block = c.intAttr("blocksize", 0);
  if (block < 1 || block > 4096)
    throw c.badAttr("blocksize", std::to_string(block), "must be in [1, 4096]");
  return block;
}

/// [N, C·b², H, W] -> [N, C, H·b, W·b]: DCR takes the block's offsets from
/// the outer part of the channel (PyTorch's PixelShuffle exports CRD: from
/// the inner part).
void depthToSpace(const NodeContext &c) {
  Tensor x = c.tensor(0);
  int64_t b = blockOf(c, x);
  int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (channels % (b * b) != 0)
    throw c.error(fmt::format(
        "input {}: {} channels are not a multiple of blocksize² = {}",
        shapeString(x.shape()), channels, b * b));
  int64_t out = channels / (b * b);
  std::string mode = c.stringAttr("mode", "DCR");
  Tensor y;
  if (mode == "DCR")
    y = transpose(reshape(x, {n, b, b, out, h, w}), {0, 3, 4, 1, 5, 2});
  else if (mode == "CRD")
    y = transpose(reshape(x, {n, out, b, b, h, w}), {0, 1, 4, 2, 5, 3});
  else
    throw c.badAttr("mode", "'" + mode + "'", "must be 'DCR' or 'CRD'");
  c.set(reshape(y, {n, out, h * b, w * b}));
}

/// [N, C, H·b, W·b] -> [N, C·b², H, W], the inverse of DepthToSpace's DCR.
void spaceToDepth(const NodeContext &c) {
  Tensor x = c.tensor(0);
  int64_t b = blockOf(c, x);
  int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % b != 0 || w % b != 0)
    throw c.error(fmt::format(
        "input {}: height and width must be multiples of blocksize {}",
        shapeString(x.shape()), b));
  Tensor y = transpose(reshape(x, {n, channels, h / b, b, w / b, b}),
                       {0, 3, 5, 1, 2, 4});
  c.set(reshape(y, {n, channels * b * b, h / b, w / b}));
}

/// The tiled shape, refused before any product could overflow: at most
/// 2^40 elements (the tracer's size check then decides what fits).
Shape tiledShape(const NodeContext &c, const Shape &shape,
                 const std::vector<int64_t> &repeats) {
  constexpr int64_t kMost = int64_t(1) << 40;
  Shape out;
  int64_t count = 1;
  for (size_t a = 0; a < shape.size(); ++a) {
    int64_t dim = std::max<int64_t>(shape[a], 1);
    if (repeats[a] > kMost / dim || count > kMost / (repeats[a] * dim))
      throw c.unsupported(
          fmt::format("repeats [{}] for input {}: more than 2^40 elements",
                      fmt::join(repeats, ", "), shapeString(shape)));
    out.push_back(repeats[a] * shape[a]);
    count *= repeats[a] * dim;
  }
  return out;
}

/// Static integers (shape arithmetic) tiled on the host.
void tileStatic(const NodeContext &c, const Value &v,
                const std::vector<int64_t> &repeats) {
  Shape out = tiledShape(c, v.shape, repeats);
  int64_t count = 1;
  for (int64_t d : out)
    count *= d;
  if (count > (int64_t(1) << 20))
    throw c.unsupported(
        fmt::format("tiling {} integers known at load time", count));
  std::vector<int64_t> ints(static_cast<size_t>(count));
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, from = 0, stride = 1;
    for (size_t a = out.size(); a-- > 0;) {
      from += (rest % out[a]) % v.shape[a] * stride;
      rest /= out[a];
      stride *= v.shape[a];
    }
    ints[static_cast<size_t>(flat)] = v.ints[static_cast<size_t>(from)];
  }
  c.setStatic(std::move(ints), out);
}

/// One whole number from input `i` of Tile-1, whose `tiles` and `axis` have
/// the data's type (float), or are integers as some exporters write them.
int64_t legacyTileScalar(const NodeContext &c, int i, const char *what) {
  std::vector<double> values;
  if (std::optional<std::vector<float>> floats = c.hostFloats(i))
    values.assign(floats->begin(), floats->end());
  else
    for (int64_t v : c.staticInts(i))
      values.push_back(static_cast<double>(v));
  if (values.size() != 1 || values[0] != std::floor(values[0]) ||
      std::abs(values[0]) > double(int64_t(1) << 40))
    throw c.error(
        fmt::format("{} must be one whole number (opset {}), got {} value(s)",
                    what, c.opset, values.size()));
  return static_cast<int64_t>(values[0]);
}

/// Tile's repeats per axis: the `repeats` input (opset 6), or before it
/// `tiles` copies along axis `axis`.
std::vector<int64_t> tileRepeats(const NodeContext &c, int64_t rank) {
  if (c.opset >= 6)
    return c.staticInts(1);
  int64_t tiles = legacyTileScalar(c, 1, "tiles");
  int64_t axis = legacyTileScalar(c, 2, "axis");
  std::vector<int64_t> repeats(static_cast<size_t>(rank), 1);
  repeats.at(static_cast<size_t>(c.axis(axis, rank))) = tiles;
  return repeats;
}

/// x repeated `repeats[a]` times along each axis a: x as [1, d0, 1, d1, …]
/// broadcast to [r0, d0, r1, d1, …], then merged.
void tile(const NodeContext &c) {
  const Value &v = c.value(0);
  Shape shape = v.isStatic ? v.shape : v.tensor.shape();
  std::vector<int64_t> repeats =
      tileRepeats(c, static_cast<int64_t>(shape.size()));
  if (repeats.size() != shape.size())
    throw c.error(fmt::format("repeats [{}] for input {}: one per axis",
                              fmt::join(repeats, ", "), shapeString(shape)));
  for (int64_t r : repeats)
    if (r < 1)
      throw c.unsupported(
          fmt::format("repeats [{}]: a repeat below 1 (an empty result)",
                      fmt::join(repeats, ", ")));
  if (v.isStatic)
    return tileStatic(c, v, repeats);
  Tensor x = c.tensor(0);
  Shape out = tiledShape(c, x.shape(), repeats);
  Shape spread, wide;
  for (int64_t a = 0; a < x.rank(); ++a) {
    spread.insert(spread.end(), {1, x.dim(a)});
    wide.insert(wide.end(), {repeats[a], x.dim(a)});
  }
  c.set(reshape(broadcastTo(reshape(x, spread), wide), out));
}

/// The element count, a constant (shape arithmetic).
void size(const NodeContext &c) {
  const Value &v = c.value(0);
  int64_t count = 1;
  for (int64_t d : v.isStatic ? v.shape : v.tensor.shape())
    count *= d;
  c.setStatic({count}, {});
}

} // namespace

std::vector<OpHandler> rearrangeOps() {
  return {
      {"DepthToSpace", 1, kNewestOpset, depthToSpace, {}},
      {"SpaceToDepth", 1, kNewestOpset, spaceToDepth, {}},
      {"Tile", 1, kNewestOpset, tile, {}},
      {"Size", 1, kNewestOpset, size, {}},
  };
}

} // namespace bregman::onnx::detail
