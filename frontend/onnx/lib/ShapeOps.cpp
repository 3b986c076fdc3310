//===- ShapeOps.cpp - Constants, data movement and shape arithmetic -------===//
//
// Integer tensors that describe shapes (Shape → Gather → Concat → Reshape
// chains, axes inputs) are folded at trace time; float data is traced.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

Shape shapeOf(const Value &v) { return v.isStatic ? v.shape : v.tensor.shape(); }

void identity(const NodeContext &c) { c.setValue(c.value(0)); }

/// Dropout is the identity: inference semantics, in `run` and in
/// retraining alike (the importer never draws dropout masks). A constant
/// `training_mode` of true is read as inference too; a `ratio` known at load
/// time must be in [0, 1) as the spec says.
void dropout(const NodeContext &c) {
  if (c.node.output_size() > 1 && !c.node.output(1).empty())
    throw c.unsupported("the dropout mask output");
  if (c.opset < 12 && c.has(1))
    throw c.error("Dropout takes one input before opset 12");
  if (c.opset >= 12 && c.has(1)) {
    std::optional<std::vector<float>> ratio = c.hostFloats(1);
    if (ratio && (ratio->size() != 1 || !((*ratio)[0] >= 0.0f && (*ratio)[0] < 1.0f)))
      throw c.error(fmt::format("ratio {} is not a scalar in [0, 1)",
                                ratio->size() == 1 ? fmt::format("{}", (*ratio)[0])
                                                   : std::string("tensor")));
  }
  if (c.opset >= 12 && c.has(2) && c.value(2).isStatic && c.value(2).ints.size() != 1)
    throw c.error("training_mode is not a scalar");
  float ratio = c.opset < 12 ? c.floatAttr("ratio", 0.5f) : 0.5f;
  if (!(ratio >= 0.0f && ratio < 1.0f))
    throw c.badAttr("ratio", fmt::format("{}", ratio), "must be in [0, 1)");
  c.setValue(c.value(0));
}

void constant(const NodeContext &c) {
  if (c.env.count(c.node.output(0)))
    return; // folded at load time (value attribute)
  std::string what = fmt::format("node '{}' (Constant)", c.node.name());
  if (const auto *a = findAttr(c.node, "value_float"))
    return c.set(tracedConstant({a->f()}, {}, what));
  if (const auto *a = findAttr(c.node, "value_floats"))
    return c.set(tracedConstant(std::vector<double>(a->floats().begin(), a->floats().end()),
                                {a->floats_size()}, what));
  if (const auto *a = findAttr(c.node, "value_int"))
    return c.setStatic({a->i()}, {});
  if (const auto *a = findAttr(c.node, "value_ints"))
    return c.setStatic(std::vector<int64_t>(a->ints().begin(), a->ints().end()),
                       {a->ints_size()});
  throw c.unsupported("a Constant without a tensor, float(s) or int(s) value");
}

/// The one value of ConstantOfShape's `value` attribute (default float 0)
/// and its data type, read from raw or typed data.
std::pair<double, int> constantOfShapeValue(const NodeContext &c) {
  const auto *a = findAttr(c.node, "value");
  if (!a)
    return {0.0, ::onnx::TensorProto::FLOAT};
  const ::onnx::TensorProto &t = a->t();
  int type = t.data_type();
  int64_t count = 1;
  for (int64_t d : t.dims())
    count *= d;
  auto bad = [&](const std::string &what, const std::string &why) {
    return c.badAttr("value", what, why);
  };
  if (count != 1)
    throw bad(fmt::format("a tensor of {} elements", count), "must hold exactly one");
  auto fromRaw = [&](auto zero) {
    const std::string &raw = t.raw_data();
    if (raw.size() != sizeof(zero))
      throw bad(fmt::format("{} bytes of {}", raw.size(), typeName(type)),
                fmt::format("{} expected", sizeof(zero)));
    std::memcpy(&zero, raw.data(), sizeof(zero));
    return static_cast<double>(zero);
  };
  auto typed = [&](int size, auto first) {
    if (size < 1)
      throw bad(fmt::format("an empty {} tensor", typeName(type)), "must hold one value");
    return static_cast<double>(first());
  };
  bool raw = t.has_raw_data();
  switch (type) {
  case ::onnx::TensorProto::FLOAT:
    return {raw ? fromRaw(0.0f) : typed(t.float_data_size(), [&] { return t.float_data(0); }), type};
  case ::onnx::TensorProto::DOUBLE:
    return {raw ? fromRaw(0.0) : typed(t.double_data_size(), [&] { return t.double_data(0); }), type};
  case ::onnx::TensorProto::INT64:
    return {raw ? fromRaw(int64_t(0)) : typed(t.int64_data_size(), [&] { return t.int64_data(0); }),
            type};
  case ::onnx::TensorProto::INT32:
    return {raw ? fromRaw(int32_t(0)) : typed(t.int32_data_size(), [&] { return t.int32_data(0); }),
            type};
  case ::onnx::TensorProto::BOOL:
    return {raw ? double(fromRaw(uint8_t(0)) != 0)
                : typed(t.int32_data_size(), [&] { return t.int32_data(0) != 0; }),
            type};
  default:
    throw c.unsupported(fmt::format("value of type {} (float, double, int64, int32 and "
                                    "bool are supported)",
                                    typeName(type)));
  }
}

/// ConstantOfShape on a shape known at trace time: a float splat, or for an
/// integer value static integers (shape arithmetic, folded further).
void constantOfShape(const NodeContext &c) {
  const Value &shapeInput = c.value(0);
  const std::vector<int64_t> &dims = c.staticInts(0);
  if (shapeInput.shape.size() != 1)
    throw c.error(fmt::format("the shape input is {}, not 1-D", shapeString(shapeInput.shape)));
  Shape shape(dims.begin(), dims.end());
  int64_t count = checkedCount(shape, fmt::format("node '{}' (ConstantOfShape)", c.node.name()));
  auto [value, type] = constantOfShapeValue(c);
  if (type == ::onnx::TensorProto::FLOAT || type == ::onnx::TensorProto::DOUBLE)
    return c.set(full(shape, value, type == ::onnx::TensorProto::FLOAT ? DType::F32 : DType::F64));
  constexpr int64_t kMaxFolded = int64_t(1) << 20;
  if (count > kMaxFolded)
    throw c.unsupported(fmt::format("an integer tensor of {} elements (at most {} are "
                                    "folded at load time)",
                                    count, kMaxFolded));
  c.setStatic(std::vector<int64_t>(count, static_cast<int64_t>(value)), shape);
}

void flatten(const NodeContext &c) {
  Tensor x = c.tensor(0);
  // Flatten's axis may be the rank itself (everything in the outer part).
  int64_t axis = c.axisAttr("axis", 1, x.rank(), /*extra=*/1);
  // Both parts from the dimensions (numel / outer made an empty batch
  // [0, 0] instead of [0, 784]).
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < x.rank(); ++i)
    (i < axis ? outer : inner) *= x.dim(i);
  c.set(reshape(x, {outer, inner}));
}

/// Away from the exported batch: a target whose leading dimension is the
/// exported batch, on data that carries the batch, was fixed by the
/// exporter; it becomes the actual batch. Sound because the rest of the
/// target then holds exactly one example's elements (checked after -1 is
/// inferred), so each example stays together in row-major order.
bool rebatchTarget(const NodeContext &c, std::vector<int64_t> &target) {
  if (!c.rebatch || target.empty() || target[0] != c.rebatch->exported ||
      !c.carriesBatch(0))
    return false;
  target[0] = c.rebatch->actual;
  return true;
}

/// The error for a target that does not fit the data away from the
/// exported batch: what to re-export.
Error batchBakedIn(const NodeContext &c, const std::vector<int64_t> &original,
                   const Shape &from) {
  const Rebatch &r = *c.rebatch;
  return c.unsupported(fmt::format(
      "the target shape [{}] was fixed for the exported batch {} and does not fit the "
      "data {} at batch {} (its leading dimension is not the batch); re-export with a "
      "dynamic batch, torch.onnx.export(..., input_names=['{}'], dynamic_axes={{'{}': "
      "{{0: 'batch'}}}}), or write this reshape with -1 or x.size(0) for the batch",
      fmt::join(original, ", "), r.exported, shapeString(from), r.actual, r.inputName,
      r.inputName));
}

/// Reshape's target: an input from opset 5, the `shape` attribute before.
std::vector<int64_t> reshapeTarget(const NodeContext &c) {
  if (c.opset >= 5)
    return c.staticInts(1);
  if (!findAttr(c.node, "shape"))
    throw c.error(fmt::format("no shape attribute (at opset {}, the model's, Reshape "
                              "takes its target as an attribute; an input from opset 5)",
                              c.opset));
  return c.intsAttr("shape");
}

void reshapeOp(const NodeContext &c) {
  const Value &data = c.value(0);
  std::vector<int64_t> target = reshapeTarget(c);
  const std::vector<int64_t> original = target;
  Shape from = shapeOf(data);
  int64_t infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && c.flagAttr("allowzero", 0) == 0)
      target[i] = from.at(i);
    if (target[i] == -1) {
      if (infer >= 0)
        throw c.error("more than one -1 in the target shape");
      infer = static_cast<int64_t>(i);
    }
  }
  bool rebatched = rebatchTarget(c, target);
  // With a -1, the target fits the data either way ([1, -1, 3] as [batch,
  // 4, 3] or as [1, 4·batch, 3]): the batch is the likely reading (the
  // exporter folds x.size(0) into constants), not a certain one.
  if (rebatched && infer >= 0 && c.rebatch->guesses)
    c.rebatch->guesses->push_back(nodeLabel(c.node));
  Shape known = target;
  if (infer >= 0)
    known[infer] = 1;
  int64_t knownCount =
      checkedCount(known, fmt::format("node '{}' (Reshape) target", c.node.name()));
  if (infer >= 0)
    target[infer] = knownCount ? numElements(from) / knownCount : 0;
  if (c.rebatch && numElements(target) != numElements(from))
    throw batchBakedIn(c, original, from);
  if (data.isStatic)
    return c.setStatic(data.ints, target);
  c.set(reshape(data.tensor, target));
}

/// Row-major strides of `shape`.
std::vector<int64_t> stridesOf(const Shape &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * shape[d];
  return strides;
}

/// Static integers transposed on the host (F.pad's pads: [-1, 2] rows
/// reversed, then transposed and flattened).
void transposeStatic(const NodeContext &c, const Value &data,
                     const std::vector<int64_t> &perm) {
  Shape out(perm.size());
  for (size_t d = 0; d < perm.size(); ++d)
    out[d] = data.shape[perm[d]];
  std::vector<int64_t> from = stridesOf(data.shape), index(perm.size(), 0);
  std::vector<int64_t> values;
  for (int64_t n = 0; n < numElements(out); ++n) {
    int64_t at = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      at += index[d] * from[perm[d]];
    values.push_back(data.ints.at(static_cast<size_t>(at)));
    for (size_t d = perm.size(); d-- > 0;) // the next index, row-major
      if (++index[d] < out[d])
        break;
      else
        index[d] = 0;
  }
  c.setStatic(values, out);
}

void transposeOp(const NodeContext &c) {
  const Value &data = c.value(0);
  int64_t rank = static_cast<int64_t>(shapeOf(data).size());
  std::vector<int64_t> perm = c.intsAttr("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < static_cast<int64_t>(sorted.size()); ++i)
    if (sorted[i] != i || static_cast<int64_t>(perm.size()) != rank)
      throw c.badAttr("perm", fmt::format("[{}]", fmt::join(perm, ", ")),
                      fmt::format("not a permutation of the {} axes", rank));
  if (data.isStatic)
    return transposeStatic(c, data, perm);
  c.set(transpose(c.tensor(0), perm));
}

void concatOp(const NodeContext &c) {
  int inputs = c.node.input_size();
  bool allStatic = true;
  for (int i = 0; i < inputs; ++i)
    allStatic = allStatic && c.value(i).isStatic;
  if (allStatic) {
    std::vector<int64_t> joined;
    for (int i = 0; i < inputs; ++i)
      joined.insert(joined.end(), c.value(i).ints.begin(), c.value(i).ints.end());
    return c.setStatic(joined, {static_cast<int64_t>(joined.size())});
  }
  std::vector<Tensor> parts;
  Value joined;
  joined.known.emplace();
  for (int i = 0; i < inputs; ++i) {
    parts.push_back(c.tensor(i));
    // A few float constants joined (Resize's scales) stay known at load
    // time.
    constexpr size_t kMaxKnown = 1024;
    std::optional<std::vector<float>> host = c.hostFloats(i);
    if (host && joined.known && joined.known->size() + host->size() <= kMaxKnown)
      joined.known->insert(joined.known->end(), host->begin(), host->end());
    else
      joined.known.reset();
  }
  // Concat-1's axis is optional, 1 by default; required from opset 4.
  if (c.opset >= 4 && !findAttr(c.node, "axis"))
    throw c.error(fmt::format("no axis attribute (required from opset 4; the model's "
                              "is {})",
                              c.opset));
  joined.tensor = concat(parts, c.axisAttr("axis", 1, parts[0].rank()));
  c.setValue(joined);
}

/// Squeeze and Unsqueeze (axes an input from opset 13, an attribute before).
void squeezeUnsqueeze(const NodeContext &c) {
  const Value &data = c.value(0);
  Shape shape = shapeOf(data);
  std::vector<int64_t> axes =
      c.opset >= 13 && c.has(1) ? c.staticInts(1) : c.intsAttr("axes");
  bool squeeze = c.op() == "Squeeze";
  int64_t rank = shape.size() + (squeeze ? 0 : axes.size());
  std::vector<int64_t> sorted;
  for (int64_t a : axes)
    sorted.push_back(c.axis(a, rank));
  std::sort(sorted.begin(), sorted.end());
  std::string listed = fmt::format(
      "{} [{}]", c.opset >= 13 && c.has(1) ? "input axes" : "attribute axes",
      fmt::join(axes, ", "));
  // ONNX (and onnxruntime) refuse both; a repeated axis read once would
  // give a rank the exporter did not mean.
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw c.error(listed + ": names an axis twice");
  if (squeeze) {
    Shape out;
    for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
      bool named = std::binary_search(sorted.begin(), sorted.end(), i);
      if (named && shape[i] != 1)
        throw c.error(
            fmt::format("{}: axis {} of the input {} has size {}, not 1",
                        listed, i, shapeString(shape), shape[i]));
      if (!(named || (axes.empty() && shape[i] == 1)))
        out.push_back(shape[i]);
    }
    shape = out;
  } else {
    for (int64_t a : sorted)
      shape.insert(shape.begin() + a, 1);
  }
  if (data.isStatic)
    return c.setStatic(data.ints, shape);
  c.set(reshape(data.tensor, shape));
}

void shapeOp(const NodeContext &c) {
  Shape shape = shapeOf(c.value(0));
  int64_t rank = shape.size();
  int64_t start = c.intAttr("start", 0), end = c.intAttr("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  std::vector<int64_t> dims(shape.begin() + start, shape.begin() + std::max(start, end));
  c.setStatic(dims, {static_cast<int64_t>(dims.size())});
}

/// Cast's target type: an enum value from opset 6, its name ("FLOAT")
/// before.
int castTarget(const NodeContext &c) {
  if (c.opset >= 6)
    return static_cast<int>(c.intAttr("to", 0));
  std::string name = c.stringAttr("to", "");
  ::onnx::TensorProto::DataType type;
  if (!::onnx::TensorProto::DataType_Parse(name, &type) ||
      type == ::onnx::TensorProto::UNDEFINED)
    throw c.badAttr("to", "'" + name + "'",
                    fmt::format("not a tensor type name such as 'FLOAT' (at opset {}, the "
                                "model's, Cast names its type; an enum value from opset 6)",
                                c.opset));
  return type;
}

void cast(const NodeContext &c) {
  const Value &data = c.value(0);
  int to = castTarget(c);
  if (data.isStatic && (to == ::onnx::TensorProto::INT64 || to == ::onnx::TensorProto::INT32))
    return c.setValue(data);
  if (!data.isStatic && to == ::onnx::TensorProto::FLOAT && data.tensor.dtype() == DType::F32)
    return c.set(data.tensor);
  // Booleans are f32 0/1 (comparisons): to BOOL is x != 0.
  if (!data.isStatic && to == ::onnx::TensorProto::BOOL && data.tensor.dtype() != DType::I32)
    return c.set(full({}, 1.0, data.tensor.dtype()) -
                 equal(data.tensor, full({}, 0.0, data.tensor.dtype())));
  // Shape arithmetic turned into data (PyTorch's attention scale
  // 1/sqrt(head_dim) starts as Cast(Shape(...)[-1], FLOAT)).
  if (data.isStatic && to == ::onnx::TensorProto::FLOAT)
    return c.set(tracedConstant(std::vector<double>(data.ints.begin(), data.ints.end()),
                                data.shape, fmt::format("node '{}'", c.node.name())));
  if (data.isStatic && to == ::onnx::TensorProto::BOOL) {
    std::vector<int64_t> flags;
    for (int64_t v : data.ints)
      flags.push_back(v != 0);
    return c.setStatic(flags, data.shape);
  }
  throw c.unsupported(fmt::format("Cast to {}", typeName(to)));
}

/// Slice's starts, ends, axes and steps: inputs from opset 10, attributes
/// before; axes default to 0..n-1, steps to 1.
struct SliceSpec {
  std::vector<int64_t> starts, ends, axes, steps;
};
SliceSpec sliceSpec(const NodeContext &c) {
  bool inputs = c.opset >= 10;
  SliceSpec s;
  s.starts = inputs ? c.staticInts(1) : c.intsAttr("starts");
  s.ends = inputs ? c.staticInts(2) : c.intsAttr("ends");
  s.axes = inputs ? (c.has(3) ? c.staticInts(3) : std::vector<int64_t>{})
                  : c.intsAttr("axes");
  s.steps = inputs && c.has(4) ? c.staticInts(4) : std::vector<int64_t>{};
  if (s.axes.empty())
    for (size_t i = 0; i < s.starts.size(); ++i)
      s.axes.push_back(static_cast<int64_t>(i));
  if (s.steps.empty())
    s.steps.assign(s.starts.size(), 1);
  if (s.starts.size() != s.ends.size() || s.axes.size() != s.starts.size() ||
      s.steps.size() != s.starts.size())
    throw c.error("starts, ends, axes and steps differ in length");
  return s;
}

/// The elements one axis of a Slice picks: from `begin`, `count` of them,
/// `step` apart, with ONNX's clamping (a negative step runs from
/// min(start, dim-1) down to max(end, -1)).
struct SliceRange {
  int64_t begin = 0, count = 0;
};

SliceRange sliceRange(const NodeContext &c, int64_t dim, int64_t start,
                      int64_t end, int64_t step) {
  if (step == 0)
    throw c.error("a step of 0");
  auto index = [&](int64_t v, int64_t low, int64_t high) {
    return std::clamp<int64_t>(v < 0 ? v + dim : v, low, high);
  };
  int64_t begin = step > 0 ? index(start, 0, dim) : index(start, -1, dim - 1);
  int64_t stop = step > 0 ? index(end, 0, dim) : index(end, -1, dim - 1);
  // A step longer than the axis picks at most one element, as a step of
  // dim + 1 does; counted with that, a file's 2^63 - 1 cannot overflow.
  int64_t stride = std::clamp<int64_t>(step, -(dim + 1), dim + 1);
  int64_t count = stride > 0 ? (stop - begin + stride - 1) / stride
                             : (begin - stop - stride - 1) / -stride;
  return {begin, std::max<int64_t>(count, 0)};
}

/// Shape arithmetic on static integers (a Shape's dimensions sliced before
/// a Reshape; F.pad's pads reshaped to [-1, 2] and their rows reversed):
/// folded, any rank and step, with ONNX's clamping (a negative step runs
/// from min(start, dim-1) down to max(end, -1)).
void sliceStatic(const NodeContext &c, const Value &data, const SliceSpec &s) {
  Shape shape = data.shape;
  std::vector<int64_t> values = data.ints;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    int64_t axis = c.axis(s.axes[i], static_cast<int64_t>(shape.size()));
    int64_t dim = shape[axis], step = s.steps[i];
    SliceRange range = sliceRange(c, dim, s.starts[i], s.ends[i], step);
    std::vector<int64_t> kept;
    for (int64_t k = 0; k < range.count; ++k)
      kept.push_back(range.begin + k * step);
    // Each run of the axis (outer × kept × inner) copied in the new order.
    int64_t inner = stridesOf(shape)[axis], outer = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= shape[d];
    std::vector<int64_t> out;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : kept)
        for (int64_t e = 0; e < inner; ++e)
          out.push_back(
              values.at(static_cast<size_t>((o * dim + k) * inner + e)));
    values = std::move(out);
    shape[axis] = static_cast<int64_t>(kept.size());
  }
  c.setStatic(values, shape);
}

/// Every `step`-th element of `x` along `axis` from `begin`, `count` of
/// them (step > 1): the stretch they span, padded to count·step, split into
/// [count, step] and its first column kept (slices, a concat and reshapes,
/// all differentiable). x[:, ::2] and x[..., 1::2] (rotary embeddings'
/// even and odd halves) were refused.
Tensor everyStep(const Tensor &x, int64_t axis, int64_t begin, int64_t count,
                 int64_t step) {
  Shape shape = x.shape();
  int64_t span = (count - 1) * step + 1;
  Tensor stretch = slice(x, axis, begin, span);
  Shape padShape = shape;
  padShape[axis] = count * step - span;
  if (padShape[axis] > 0)
    stretch = concat({stretch, full(padShape, 0.0, x.dtype())}, axis);
  Shape split = shape;
  split[axis] = count;
  split.insert(split.begin() + axis + 1, step);
  Tensor picked = slice(reshape(stretch, split), axis + 1, 0, 1);
  Shape out = shape;
  out[axis] = count;
  return reshape(picked, out);
}

/// One axis of a Slice with ONNX's clamping; a negative step (a flip) as
/// the picked elements one by one, at most kMostReversed of them.
Tensor sliceAxis(const NodeContext &c, const Tensor &x, int64_t axis,
                 int64_t start, int64_t end, int64_t step) {
  constexpr int64_t kMostReversed = 1024;
  auto [begin, count] = sliceRange(c, x.dim(axis), start, end, step);
  if (count <= 1 || step == 1) // one element needs no step (nor a 2^40 pad)
    return slice(x, axis, count ? begin : 0, count);
  if (step > 0)
    return everyStep(x, axis, begin, count, step);
  if (count > kMostReversed)
    throw c.unsupported(fmt::format("a negative step over {} elements (at "
                                    "most {})",
                                    count, kMostReversed));
  std::vector<Tensor> parts;
  for (int64_t k = 0; k < count; ++k)
    parts.push_back(slice(x, axis, begin + k * step, 1));
  return parts.size() == 1 ? parts[0] : concat(parts, axis);
}

void sliceOp(const NodeContext &c) {
  SliceSpec s = sliceSpec(c);
  if (c.value(0).isStatic)
    return sliceStatic(c, c.value(0), s);
  Tensor x = c.tensor(0);
  for (size_t i = 0; i < s.axes.size(); ++i)
    x = sliceAxis(c, x, c.axis(s.axes[i], x.rank()), s.starts[i], s.ends[i],
                  s.steps[i]);
  c.set(x);
}

/// Split without sizes: `parts` equal parts; from opset 18 the number is
/// also the attribute num_outputs, and the last part may be smaller (each
/// ⌈dim / parts⌉).
std::vector<int64_t> equalParts(const NodeContext &c, int64_t dim, int parts) {
  if (c.opset >= 18) {
    int64_t wanted = c.intAttr("num_outputs", parts);
    if (wanted != parts)
      throw c.error(fmt::format("num_outputs = {} but the node has {} outputs", wanted,
                                parts));
  }
  if (parts == 0)
    throw c.error("Split has no outputs");
  if (dim % parts == 0)
    return std::vector<int64_t>(parts, dim / parts);
  int64_t chunk = (dim + parts - 1) / parts;
  if (c.opset < 18 || chunk * (parts - 1) >= dim)
    throw c.unsupported(fmt::format("an uneven split of {} into {} parts without sizes",
                                    dim, parts));
  std::vector<int64_t> sizes(parts, chunk);
  sizes.back() = dim - chunk * (parts - 1);
  return sizes;
}

void split(const NodeContext &c) {
  Tensor x = c.tensor(0);
  int64_t axis = c.axisAttr("axis", 0, x.rank());
  // The sizes: an optional input from opset 13, an attribute from 2 to 12,
  // either (not both) in Split-1.
  bool asInput = (c.opset >= 13 || c.opset < 2) && c.has(1);
  if (asInput && c.opset < 2 && findAttr(c.node, "split"))
    throw c.error("split given both as an input and as an attribute");
  if (c.opset >= 13 && findAttr(c.node, "split"))
    throw c.error(fmt::format("split is an attribute, but Split takes the sizes as an "
                              "input at opset {}",
                              c.opset));
  std::vector<int64_t> sizes = asInput ? c.staticInts(1) : c.intsAttr("split");
  int parts = c.node.output_size();
  if (sizes.empty())
    sizes = equalParts(c, x.dim(axis), parts);
  if (static_cast<int>(sizes.size()) != parts)
    throw c.error(fmt::format("{} sizes for {} outputs", sizes.size(), parts));
  int64_t offset = 0;
  for (int i = 0; i < parts; ++i) {
    c.set(slice(x, axis, offset, sizes[i]), i);
    offset += sizes[i];
  }
}

} // namespace

// Every entry runs from opset 1, each handler reading the form the model's
// opset selects: Reshape's target an attribute before 5, Concat's axis
// optional (default 1) before 4, Cast's `to` a type name before 6, Split's
// sizes an input or attribute in 1, an attribute from 2, an input from 13,
// Slice's starts/ends/axes attributes before 10, Squeeze/Unsqueeze/
// ReduceSum axes attributes before 13. Dropout is the identity in every
// version (is_test before 7 and training_mode from 12 are read as inference).
std::vector<OpHandler> shapeOps() {
  return {
      {"Identity", 1, kNewestOpset, identity, {}},
      {"Dropout", 1, kNewestOpset, dropout, {}},
      {"Constant", 1, kNewestOpset, constant, {}},
      {"Flatten", 1, kNewestOpset, flatten, {}},
      {"Reshape", 1, kNewestOpset, reshapeOp, {}},
      {"Transpose", 1, kNewestOpset, transposeOp, {}},
      {"Concat", 1, kNewestOpset, concatOp, {}},
      {"Squeeze", 1, kNewestOpset, squeezeUnsqueeze, {}},
      {"Unsqueeze", 1, kNewestOpset, squeezeUnsqueeze, {}},
      {"Shape", 1, kNewestOpset, shapeOp, {}},
      {"Cast", 1, kNewestOpset, cast, {}},
      {"Slice", 1, kNewestOpset, sliceOp, {}},
      {"Split", 1, kNewestOpset, split, {}},
      {"ConstantOfShape", 9, kNewestOpset, constantOfShape, {}},
  };
}

} // namespace bregman::onnx::detail
