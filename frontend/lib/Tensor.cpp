//===- Tensor.cpp - Tensors and the shape rules of each primitive ---------===//

#include "bregman/Tensor.h"

#include "bregman/Grad.h"
#include "bregman/Trace.h"
#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/InputFile.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman {

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  }
  return "?";
}

int64_t dtypeSize(DType dtype) { return dtype == DType::F64 ? 8 : 4; }

std::string shapeString(const Shape &shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Concrete tensors
//===----------------------------------------------------------------------===//

Tensor Tensor::fromBuffer(std::shared_ptr<runtime::Buffer> buffer,
                          const Shape &shape, DType dtype) {
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->shape = shape;
  t.impl_->dtype = dtype;
  t.impl_->buffer = std::move(buffer);
  return t;
}

Tensor Tensor::traced(Trace *trace, int value, const Shape &shape,
                      DType dtype) {
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->shape = shape;
  t.impl_->dtype = dtype;
  t.impl_->trace = trace;
  t.impl_->traceSerial = trace ? trace->serial() : 0;
  t.impl_->value = value;
  return t;
}

bool Tensor::belongsTo(const Trace &trace) const {
  return impl_ && impl_->trace == &trace &&
         impl_->traceSerial == trace.serial();
}

void requireAllocatable(const char *op, const Shape &shape, DType dtype) {
  long double count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error(fmt::format("{}: negative dimension in shape {}", op,
                              shapeString(shape)));
    count *= static_cast<long double>(d);
  }
  // Every traced value and host tensor passes here: the limit (environment,
  // physical memory) is read, and the message made, only for large ones.
  constexpr long double kAlwaysAllocatable = 64.0L * (1 << 20);
  long double bytes = count * static_cast<long double>(dtypeSize(dtype));
  if (bytes <= kAlwaysAllocatable)
    return;
  std::string problem = runtime::allocationProblem(
      count, static_cast<uint64_t>(dtypeSize(dtype)),
      fmt::format("{}: {}{}", op, dtypeName(dtype), shapeString(shape)));
  if (!problem.empty())
    throw Error(problem);
}

Tensor Tensor::zeros(const Shape &shape, DType dtype) {
  requireAllocatable("zeros", shape, dtype);
  return fromBuffer(
      runtime::Buffer::allocate(numElements(shape) * dtypeSize(dtype)), shape,
      dtype);
}

template <typename T>
static Tensor fromValues(const std::vector<T> &values, const Shape &shape,
                         DType dtype) {
  if (static_cast<int64_t>(values.size()) != numElements(shape))
    throw Error(fmt::format("fromVector: {} values do not fill shape {}",
                            values.size(), shapeString(shape)));
  Tensor t = Tensor::zeros(shape, dtype);
  std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

Tensor Tensor::fromVector(const std::vector<float> &v, const Shape &s) {
  return fromValues(v, s, DType::F32);
}
Tensor Tensor::fromVector(const std::vector<double> &v, const Shape &s) {
  return fromValues(v, s, DType::F64);
}
Tensor Tensor::fromVector(const std::vector<int32_t> &v, const Shape &s) {
  return fromValues(v, s, DType::I32);
}
Tensor Tensor::scalar(float value) {
  return fromVector(std::vector<float>{value}, Shape{});
}

bool Tensor::isConcrete() const { return impl_ && impl_->buffer; }
bool Tensor::isTraced() const { return impl_ && impl_->trace; }

const Shape &Tensor::shape() const {
  if (!impl_)
    throw Error("shape of an empty tensor");
  return impl_->shape;
}

DType Tensor::dtype() const {
  if (!impl_)
    throw Error("dtype of an empty tensor");
  return impl_->dtype;
}

int64_t Tensor::dim(int64_t axis) const {
  int64_t r = rank();
  if (axis < -r || axis >= r)
    throw Error(fmt::format("axis {} out of range for shape {}", axis,
                            shapeString(shape())));
  return shape()[axis < 0 ? axis + r : axis];
}

const std::shared_ptr<runtime::Buffer> &Tensor::buffer() const {
  if (impl_ && impl_->buffer) // every data access: the check comes first
    return impl_->buffer;
  if (impl_ && !impl_->donatedTo.empty())
    throw Error(fmt::format(
        "the tensor was donated to jit '{}' (donateArgnums), whose outputs "
        "now hold its buffer: use those outputs, or keep a copy made before "
        "the call (Tensor::copy, Params::copy)",
        impl_->donatedTo));
  throw Error("the tensor is a tracer inside jit: its values exist only "
              "when the compiled function runs");
}

void Tensor::markDonated(const std::string &jitName) const {
  impl_->buffer.reset();
  impl_->donatedTo = jitName;
}

void *Tensor::rawData() const { return buffer()->data(); }
// Reads keep a device copy current (runtime/Buffer.h).
static const void *readData(const std::shared_ptr<runtime::Buffer> &buffer) {
  return static_cast<const runtime::Buffer &>(*buffer).data();
}

Tensor Tensor::copy() const {
  const std::shared_ptr<runtime::Buffer> &from = buffer();
  Tensor out = zeros(shape(), dtype());
  // This tensor's elements: a view (fromBuffer) may use less of its buffer.
  std::memcpy(out.buffer()->data(), readData(from),
              static_cast<size_t>(numel()) * dtypeSize(dtype()));
  return out;
}

void Tensor::checkElementType(DType expected) const {
  if (dtype() != expected)
    throw Error(fmt::format("tensor of {} accessed as {}", dtypeName(dtype()),
                            dtypeName(expected)));
}

template <typename T> static DType dtypeOf();
template <> DType dtypeOf<float>() { return DType::F32; }
template <> DType dtypeOf<double>() { return DType::F64; }
template <> DType dtypeOf<int32_t>() { return DType::I32; }

template <typename T> T *Tensor::data() {
  checkElementType(dtypeOf<T>());
  return static_cast<T *>(rawData());
}
template <typename T> const T *Tensor::data() const {
  checkElementType(dtypeOf<T>());
  return static_cast<const T *>(readData(buffer()));
}
template <typename T> std::vector<T> Tensor::toVector() const {
  const T *p = data<T>();
  return std::vector<T>(p, p + numel());
}

template float *Tensor::data<float>();
template double *Tensor::data<double>();
template int32_t *Tensor::data<int32_t>();
template const float *Tensor::data<float>() const;
template const double *Tensor::data<double>() const;
template const int32_t *Tensor::data<int32_t>() const;
template std::vector<float> Tensor::toVector<float>() const;
template std::vector<double> Tensor::toVector<double>() const;
template std::vector<int32_t> Tensor::toVector<int32_t>() const;

double Tensor::item() const {
  if (numel() != 1)
    throw Error("item: tensor of shape " + shapeString(shape()) +
                " has more than one element");
  switch (dtype()) {
  case DType::F32: return *data<float>();
  case DType::F64: return *data<double>();
  case DType::I32: return *data<int32_t>();
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

static Tensor single(Prim prim, const std::vector<Tensor> &inputs,
                     const Shape &shape, DType dtype, NodeAttrs attrs = {}) {
  return apply(prim, inputs, {{shape, dtype}}, std::move(attrs))[0];
}

static void requireFloat(const char *op, const Tensor &t) {
  if (t.dtype() == DType::I32)
    throw Error(fmt::format("{}: needs a floating-point tensor, got i32{}", op,
                            shapeString(t.shape())));
}

static void requireSameDType(const char *op, const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype())
    throw Error(fmt::format("{}: element types differ ({}{} vs {}{})", op,
                            dtypeName(a.dtype()), shapeString(a.shape()),
                            dtypeName(b.dtype()), shapeString(b.shape())));
}

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

static Shape broadcastShapes(const char *op, const Shape &a, const Shape &b) {
  if (std::optional<Shape> out = broadcastShapes(a, b))
    return *out;
  throw Error(fmt::format("{}: shapes {} and {} cannot be broadcast", op,
                          shapeString(a), shapeString(b)));
}

static Tensor binary(Prim prim, const Tensor &a, const Tensor &b,
                     SourceLocation loc) {
  CallSite site(loc);
  requireSameDType(primName(prim), a, b);
  bool comparison = prim == Prim::Equal || prim == Prim::Less;
  if (!comparison)
    requireFloat(primName(prim), a);
  Shape shape = broadcastShapes(primName(prim), a.shape(), b.shape());
  // comparisons: 1/0 in the operands' float type (f32 for integer operands).
  DType dtype = comparison && a.dtype() == DType::I32 ? DType::F32 : a.dtype();
  return single(prim, {a, b}, shape, dtype);
}

static Tensor unary(Prim prim, const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  requireFloat(primName(prim), x);
  return single(prim, {x}, x.shape(), x.dtype());
}

/// Reshapes to [batch..., r, c] (the batch dims of `batch`).
static Shape withMatrix(Shape batch, int64_t r, int64_t c) {
  batch.push_back(r);
  batch.push_back(c);
  return batch;
}

Tensor matmul(const Tensor &a, const Tensor &b, bool ta, bool tb,
              SourceLocation loc) {
  CallSite site(loc);
  requireSameDType("matmul", a, b);
  requireFloat("matmul", a);
  if (a.rank() < 2 || b.rank() < 2)
    throw Error(fmt::format("matmul: operands must be at least 2-D, got {} "
                            "and {}",
                            shapeString(a.shape()), shapeString(b.shape())));
  int64_t m = ta ? a.dim(-1) : a.dim(-2), ka = ta ? a.dim(-2) : a.dim(-1);
  int64_t kb = tb ? b.dim(-1) : b.dim(-2), n = tb ? b.dim(-2) : b.dim(-1);
  if (ka != kb)
    throw Error(fmt::format(
        "matmul: inner dimensions differ: {}{} · {}{} ({} vs {})",
        shapeString(a.shape()), ta ? "ᵀ" : "", shapeString(b.shape()),
        tb ? "ᵀ" : "", ka, kb));
  NodeAttrs attrs;
  attrs.transposeA = ta;
  attrs.transposeB = tb;
  if (a.rank() == 2 && b.rank() == 2)
    return single(Prim::MatMul, {a, b}, {m, n}, a.dtype(), attrs);
  Shape batchA(a.shape().begin(), a.shape().end() - 2);
  Shape batchB(b.shape().begin(), b.shape().end() - 2);
  if (b.rank() == 2 && !ta) {
    // A shared weight: the rows of every batch are one GEMM.
    Tensor rows = reshape(a, {numElements(batchA) * m, ka});
    return reshape(matmul(rows, b, false, tb), withMatrix(batchA, m, n));
  }
  Shape batch = broadcastShapes("matmul", batchA, batchB);
  int64_t count = numElements(batch);
  auto batched = [&](const Tensor &x) {
    Shape full = withMatrix(batch, x.dim(-2), x.dim(-1));
    return reshape(broadcastTo(x, full), {count, x.dim(-2), x.dim(-1)});
  };
  Tensor y = single(Prim::BatchMatMul, {batched(a), batched(b)}, {count, m, n},
                    a.dtype(), attrs);
  return reshape(y, withMatrix(batch, m, n));
}

Tensor full(const Shape &shape, double value, DType dtype, SourceLocation loc) {
  CallSite site(loc);
  NodeAttrs attrs;
  attrs.value = value;
  return single(Prim::Constant, {}, shape, dtype, attrs);
}

static Tensor scalarLike(const Tensor &t, double value) {
  return full({}, value, t.dtype());
}

Tensor operator+(const Tensor &a, LocatedTensor b) {
  return binary(Prim::Add, a, b.tensor, b.loc);
}
Tensor operator-(const Tensor &a, LocatedTensor b) {
  return binary(Prim::Sub, a, b.tensor, b.loc);
}
Tensor operator*(const Tensor &a, LocatedTensor b) {
  return binary(Prim::Mul, a, b.tensor, b.loc);
}
Tensor operator/(const Tensor &a, LocatedTensor b) {
  return binary(Prim::Div, a, b.tensor, b.loc);
}
Tensor operator+(LocatedTensor a, double b) {
  CallSite site(a.loc);
  return a.tensor + scalarLike(a.tensor, b);
}
Tensor operator-(LocatedTensor a, double b) {
  CallSite site(a.loc);
  return a.tensor - scalarLike(a.tensor, b);
}
Tensor operator*(LocatedTensor a, double b) {
  CallSite site(a.loc);
  return a.tensor * scalarLike(a.tensor, b);
}
Tensor operator/(LocatedTensor a, double b) {
  CallSite site(a.loc);
  return a.tensor / scalarLike(a.tensor, b);
}
Tensor operator*(double a, LocatedTensor b) {
  CallSite site(b.loc);
  return scalarLike(b.tensor, a) * b.tensor;
}
Tensor operator-(LocatedTensor a) { return unary(Prim::Neg, a.tensor, a.loc); }
Tensor maximum(const Tensor &a, const Tensor &b, SourceLocation loc) {
  return binary(Prim::Maximum, a, b, loc);
}
Tensor exp(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Exp, x, loc);
}
Tensor log(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Log, x, loc);
}
Tensor relu(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Relu, x, loc);
}
Tensor abs(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Abs, x, loc);
}
Tensor sqrt(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Sqrt, x, loc);
}
Tensor sigmoid(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Sigmoid, x, loc);
}
Tensor tanh(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Tanh, x, loc);
}
Tensor silu(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  return x * sigmoid(x);
}

Tensor reluGrad(const Tensor &x, const Tensor &g, SourceLocation loc) {
  CallSite site(loc);
  requireSameDType("relu_grad", x, g);
  if (x.shape() != g.shape())
    throw Error(fmt::format("relu_grad: shapes differ ({} vs {})",
                            shapeString(x.shape()), shapeString(g.shape())));
  return single(Prim::ReluGrad, {x, g}, x.shape(), x.dtype());
}

/// Normalizes and sorts axes against `rank`; an axis named twice (also as
/// -1 and rank - 1) is refused, as NumPy does.
static std::vector<int64_t> normalizeAxes(const char *op,
                                          std::vector<int64_t> axes,
                                          int64_t rank) {
  std::vector<int64_t> given = axes;
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      throw Error(fmt::format("{}: axis {} out of range for rank {}", op, a, rank));
    if (a < 0)
      a += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    throw Error(fmt::format("{}: axes [{}] name one axis twice (rank {})", op,
                            fmt::join(given, ", "), rank));
  return axes;
}

static Tensor reduce(Prim prim, const Tensor &x, std::vector<int64_t> axes,
                     bool keepDims) {
  requireFloat(primName(prim), x);
  axes = normalizeAxes(primName(prim), axes, x.rank());
  Shape reduced, kept;
  for (int64_t i = 0; i < x.rank(); ++i) {
    bool isReduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!isReduced)
      reduced.push_back(x.shape()[i]);
    kept.push_back(isReduced ? 1 : x.shape()[i]);
  }
  if (axes.empty())
    return x;
  NodeAttrs attrs;
  attrs.axes = axes;
  Tensor r = single(prim, {x}, reduced, x.dtype(), attrs);
  return keepDims ? reshape(r, kept) : r;
}

/// Sums of at least this many terms are split (sumInSteps).
constexpr int64_t kLongSum = 1024;

/// ⌊√n⌋.
static int64_t isqrt(int64_t n) {
  int64_t r = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  while (r * r > n)
    --r;
  while ((r + 1) * (r + 1) <= n)
    ++r;
  return r;
}

/// The largest divisor of `n` that is at most √n (1 for a prime).
static int64_t blockOf(int64_t n) {
  int64_t best = 1;
  for (int64_t d = 2; d * d <= n; ++d)
    if (n % d == 0)
      best = d;
  return best;
}

/// Σ over axis `a` of `x`, kept as a unit axis; an axis of kLongSum terms or
/// more as blocks of about √n terms, then their sums.
static Tensor sumAxisInSteps(const Tensor &x, int64_t a) {
  int64_t n = x.shape()[a], block = blockOf(n);
  if (n < kLongSum)
    return reduce(Prim::ReduceSum, x, {a}, /*keepDims=*/true);
  if (block < 16) {
    // No divisor near √n (a prime length summed 1,000,003 × 0.1 1 % off):
    // the whole blocks of ⌊√n⌋ in steps, then the fewer terms left.
    int64_t whole = n / isqrt(n) * isqrt(n);
    return sumAxisInSteps(slice(x, a, 0, whole), a) +
           reduce(Prim::ReduceSum, slice(x, a, whole, n - whole), {a},
                  /*keepDims=*/true);
  }
  Shape split = x.shape();
  split[a] = n / block;
  split.insert(split.begin() + a + 1, block);
  Tensor partial = reduce(Prim::ReduceSum, reshape(x, split), {a + 1}, true);
  Tensor total = reduce(Prim::ReduceSum, partial, {a}, true);
  Shape kept = x.shape();
  kept[a] = 1;
  return reshape(total, kept);
}

/// Σ over `axes` (normalized) of kLongSum terms or more, in steps of fewer
/// terms each, from the last axis: float32 accumulates a sum in order, and
/// one chain of N·H·W terms (131,072 at batch 128 and 32×32) was 6.6e-6 off
/// the total where sums of at most a few thousand terms each stayed at
/// 3.7e-7 (Jit.SumsOverBatchAndImageStayAccurate), and a batch norm's mean
/// over 128·4·4 terms 2.2e-6 where split it was 8.7e-7 (PyTorch 3.4e-7).
/// Trailing axes whose product stays below kLongSum are summed in one step
/// (H and W of a feature map: fewer, larger loops to compile), a longer
/// axis alone.
static Tensor sumInSteps(const Tensor &x, const std::vector<int64_t> &axes,
                         bool keepDims) {
  Tensor r = x;
  std::vector<int64_t> group;
  int64_t terms = 1;
  auto flush = [&] {
    if (!group.empty())
      r = reduce(Prim::ReduceSum, r, group, /*keepDims=*/true);
    group.clear();
    terms = 1;
  };
  for (auto a = axes.rbegin(); a != axes.rend(); ++a) {
    int64_t n = x.shape()[*a];
    if (terms * n >= kLongSum)
      flush();
    if (n >= kLongSum) {
      r = sumAxisInSteps(r, *a);
      continue;
    }
    group.insert(group.begin(), *a);
    terms *= n;
  }
  flush();
  if (keepDims)
    return r;
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!std::binary_search(axes.begin(), axes.end(), i))
      out.push_back(x.shape()[i]);
  return reshape(r, out);
}

Tensor sum(const Tensor &x, std::vector<int64_t> axes, bool keepDims,
           SourceLocation loc) {
  CallSite site(loc);
  requireFloat("reduce_sum", x);
  axes = normalizeAxes("reduce_sum", axes, x.rank());
  int64_t terms = 1;
  for (int64_t a : axes)
    terms *= x.shape()[a];
  if (terms >= kLongSum)
    return sumInSteps(x, axes, keepDims);
  return reduce(Prim::ReduceSum, x, std::move(axes), keepDims);
}
Tensor sum(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  std::vector<int64_t> all(x.rank());
  for (int64_t i = 0; i < x.rank(); ++i)
    all[i] = i;
  return sum(x, all);
}
Tensor max(const Tensor &x, std::vector<int64_t> axes, bool keepDims,
           SourceLocation loc) {
  CallSite site(loc);
  return reduce(Prim::ReduceMax, x, std::move(axes), keepDims);
}
Tensor mean(const Tensor &x, std::vector<int64_t> axes, bool keepDims,
            SourceLocation loc) {
  CallSite site(loc);
  axes = normalizeAxes("mean", axes, x.rank());
  int64_t count = 1;
  for (int64_t a : axes)
    count *= x.shape()[a];
  return sum(x, axes, keepDims) * (1.0 / static_cast<double>(count));
}
Tensor mean(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  return sum(x) * (1.0 / static_cast<double>(x.numel()));
}

Tensor broadcastTo(const Tensor &x, const Shape &shape, SourceLocation loc) {
  CallSite site(loc);
  if (x.shape() == shape)
    return x;
  Shape out = broadcastShapes("broadcast", x.shape(), shape);
  if (out != shape)
    throw Error(fmt::format("broadcast: {} does not broadcast to {}",
                            shapeString(x.shape()), shapeString(shape)));
  return single(Prim::Broadcast, {x}, shape, x.dtype());
}

Tensor sumTo(const Tensor &x, const Shape &shape, SourceLocation loc) {
  CallSite site(loc);
  if (x.shape() == shape)
    return x;
  int64_t lead = x.rank() - static_cast<int64_t>(shape.size());
  if (lead < 0)
    throw Error(fmt::format("sum_to: {} has lower rank than {}",
                            shapeString(x.shape()), shapeString(shape)));
  // Said here, not by the reshape below: `shape` must broadcast to x's.
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && shape[i] != x.shape()[lead + i])
      throw Error(fmt::format("sum_to: {} does not broadcast to {}, so {} "
                              "cannot be summed to it",
                              shapeString(shape), shapeString(x.shape()),
                              shapeString(x.shape())));
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1))
      axes.push_back(i);
  Tensor r = sum(x, axes);
  return r.shape() == shape ? r : reshape(r, shape);
}

Tensor reshape(const Tensor &x, const Shape &shape, SourceLocation loc) {
  CallSite site(loc);
  if (numElements(shape) != x.numel())
    throw Error(fmt::format("reshape: {} ({} elements) cannot become {}",
                            shapeString(x.shape()), x.numel(),
                            shapeString(shape)));
  if (shape == x.shape())
    return x;
  return single(Prim::Reshape, {x}, shape, x.dtype());
}

Tensor transpose(const Tensor &x, const std::vector<int64_t> &permutation,
                 SourceLocation loc) {
  CallSite site(loc);
  std::vector<bool> seen(x.rank(), false);
  bool valid = static_cast<int64_t>(permutation.size()) == x.rank();
  for (int64_t p : permutation) {
    valid = valid && p >= 0 && p < x.rank() && !seen[p];
    if (valid)
      seen[p] = true;
  }
  if (!valid)
    throw Error(fmt::format("transpose: [{}] is not a permutation of the {} "
                            "dimensions of {}",
                            fmt::join(permutation, ", "), x.rank(),
                            shapeString(x.shape())));
  bool identity = true;
  Shape shape;
  for (size_t i = 0; i < permutation.size(); ++i) {
    shape.push_back(x.dim(permutation[i]));
    identity = identity && permutation[i] == static_cast<int64_t>(i);
  }
  if (identity)
    return x;
  NodeAttrs attrs;
  attrs.axes = permutation;
  return single(Prim::Transpose, {x}, shape, x.dtype(), attrs);
}

Tensor stopGradient(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  return single(Prim::StopGradient, {x}, x.shape(), x.dtype());
}

/// Throws, naming `op`, unless `axis` is an axis of `x`.
static void requireAxis(const char *op, const Tensor &x, int64_t axis) {
  if (axis < -x.rank() || axis >= x.rank())
    throw Error(fmt::format("{}: axis {} out of range for {}", op, axis,
                            shapeString(x.shape())));
}

Tensor logSoftmax(const Tensor &x, int64_t axis, SourceLocation loc) {
  CallSite site(loc);
  requireAxis("log_softmax", x, axis);
  // Shift by the (constant) maximum for stability; the gradient of the shift
  // cancels exactly, so it is cut from the graph as JAX does.
  Tensor shifted = x - stopGradient(max(x, {axis}, /*keepDims=*/true));
  return shifted - log(sum(exp(shifted), {axis}, /*keepDims=*/true));
}

Tensor oneHot(const Tensor &labels, int64_t classes, DType dtype,
              SourceLocation loc) {
  CallSite site(loc);
  if (labels.dtype() != DType::I32 || labels.rank() != 1)
    throw Error(fmt::format("one_hot: labels must be i32 of rank 1, got {}{}",
                            dtypeName(labels.dtype()),
                            shapeString(labels.shape())));
  if (classes < 1)
    throw Error(fmt::format("one_hot: the number of classes must be positive, "
                            "got {}",
                            classes));
  NodeAttrs attrs;
  attrs.classes = classes;
  return single(Prim::OneHot, {labels}, {labels.dim(0), classes}, dtype, attrs);
}

Tensor crossEntropy(const Tensor &logits, const Tensor &labels,
                    SourceLocation loc) {
  CallSite site(loc);
  if (logits.rank() != 2 || labels.rank() != 1 ||
      logits.dim(0) != labels.dim(0))
    throw Error(fmt::format("cross_entropy: logits [N, C] and labels [N] "
                            "expected, got {} and {}",
                            shapeString(logits.shape()),
                            shapeString(labels.shape())));
  // The label's entry is selected, not multiplied out: 0 · (−∞) for a
  // logit of −∞ (or one 2·f32 max below the largest) made the loss NaN
  // while its gradient stayed finite.
  Tensor picked =
      sum(where(oneHot(labels, logits.dim(1), logits.dtype()),
                logSoftmax(logits, 1), full({}, 0.0, logits.dtype())),
          {1});
  return -mean(picked);
}

Tensor argmax(const Tensor &x, SourceLocation loc) {
  CallSite site(loc);
  requireFloat("argmax", x);
  if (x.rank() < 1)
    throw Error("argmax: needs rank >= 1");
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  return single(Prim::ArgMax, {x}, shape, DType::I32);
}

Tensor equal(const Tensor &a, const Tensor &b, SourceLocation loc) {
  return binary(Prim::Equal, a, b, loc);
}

Tensor less(const Tensor &a, const Tensor &b, SourceLocation loc) {
  return binary(Prim::Less, a, b, loc);
}
Tensor greater(const Tensor &a, const Tensor &b, SourceLocation loc) {
  return binary(Prim::Less, b, a, loc);
}

Tensor erf(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Erf, x, loc);
}

Tensor erfc(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Erfc, x, loc);
}

Tensor sin(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Sin, x, loc);
}

Tensor cos(const Tensor &x, SourceLocation loc) {
  return unary(Prim::Cos, x, loc);
}

/// σ(z) = exp(min(z, 0)) / (1 + exp(−|z|)): both exponentials are at most 1,
/// so neither the value nor its gradient overflows for any z.
static Tensor stableSigmoid(const Tensor &z) {
  Tensor zero = full({}, 0.0, z.dtype());
  Tensor negativePart = -maximum(-z, zero);
  return exp(negativePart) / (exp(-abs(z)) + 1.0);
}

Tensor gelu(const Tensor &x, bool tanhApproximation, SourceLocation loc) {
  CallSite site(loc);
  requireFloat("gelu", x);
  if (!tanhApproximation)
    // 1 + erf(z) = erfc(−z): no cancellation in the left tail, where
    // 1 + erf lost all digits below x ≈ −5. Halved first: x ≤ f32 max.
    return x * 0.5 * erfc(x * -M_SQRT1_2);
  // 0.5·(1 + tanh(u)) = σ(2u), u = √(2/π)·(x + 0.044715·x³).
  double c = std::sqrt(2.0 / M_PI);
  Tensor u = (x + x * x * x * 0.044715) * c;
  return x * stableSigmoid(u * 2.0);
}

Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b,
             SourceLocation loc) {
  CallSite site(loc);
  requireSameDType("where", a, b);
  requireFloat("where", a);
  if (cond.dtype() != a.dtype())
    throw Error(fmt::format("where: the condition {}{} must have the element "
                            "type of the values ({})",
                            dtypeName(cond.dtype()), shapeString(cond.shape()),
                            dtypeName(a.dtype())));
  Shape shape = broadcastShapes(
      "where", cond.shape(), broadcastShapes("where", a.shape(), b.shape()));
  return single(Prim::Select, {cond, a, b}, shape, a.dtype());
}

Tensor softmax(const Tensor &x, int64_t axis, const Tensor &mask,
               SourceLocation loc) {
  CallSite site(loc);
  requireFloat("softmax", x);
  requireAxis("softmax", x, axis);
  Tensor z = mask.defined() ? x + mask : x;
  Tensor shifted = z - stopGradient(max(z, {axis}, /*keepDims=*/true));
  Tensor e = exp(shifted);
  return e / sum(e, {axis}, /*keepDims=*/true);
}

namespace {
/// The forward steps of standardize: y, the deviation √(variance + eps)
/// it divided by, and the statistics.
struct Standardized {
  Tensor y, deviation;
  Moments moments;
};

Standardized standardizeSteps(const char *op, const Tensor &x,
                              const std::vector<int64_t> &axes, double eps) {
  requireFloat(op, x);
  if (!(eps >= 0.0))
    throw Error(fmt::format("{}: epsilon {} must be >= 0", op, eps));
  Tensor mu = mean(x, axes, /*keepDims=*/true);
  Tensor centered = x - mu;
  Tensor variance = mean(centered * centered, axes, /*keepDims=*/true);
  Tensor deviation = sqrt(variance + eps);
  return {centered / deviation, deviation, {mu, variance}};
}
} // namespace

Tensor standardize(const Tensor &x, std::vector<int64_t> axes, double eps,
                   Moments *moments, SourceLocation loc) {
  CallSite site(loc);
  axes = normalizeAxes("standardize", axes, x.rank());
  Standardized s = standardizeSteps("standardize", x, axes, eps);
  if (moments)
    *moments = s.moments;
  // The reverse of each step above would be about twenty operations per
  // normalization: the closed form is four.
  return customVjp(s.y, {x}, [y = s.y, d = s.deviation, axes](const Tensor &g) {
    Tensor gMean = mean(g, axes, /*keepDims=*/true);
    Tensor gyMean = mean(g * y, axes, /*keepDims=*/true);
    return std::vector<Tensor>{(g - gMean - y * gyMean) / d};
  });
}

Moments updatedRunningMoments(const Moments &running, const Moments &batch,
                              const Tensor &x, double batchWeight) {
  int64_t channels = x.dim(1);
  double n = static_cast<double>(x.numel() / std::max<int64_t>(channels, 1));
  Tensor batchMean = reshape(stopGradient(batch.mean), {channels});
  Tensor batchVar = reshape(stopGradient(batch.variance), {channels}) *
                    (n / std::max(n - 1, 1.0));
  return {running.mean * (1 - batchWeight) + batchMean * batchWeight,
          running.variance * (1 - batchWeight) + batchVar * batchWeight};
}

Tensor batchNorm(const Tensor &x, const Tensor &scale, const Tensor &shift,
                 double eps, Moments *moments, SourceLocation loc) {
  CallSite site(loc);
  if (x.rank() < 2 || scale.numel() != x.dim(1) || shift.numel() != x.dim(1))
    throw Error(fmt::format("batch_norm: scale {} and shift {} need one value "
                            "per channel (axis 1) of {}",
                            shapeString(scale.shape()), shapeString(shift.shape()),
                            shapeString(x.shape())));
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < x.rank(); ++a)
    if (a != 1)
      axes.push_back(a);
  Shape perChannel(x.rank(), 1);
  perChannel[1] = x.dim(1);
  Standardized s = standardizeSteps("batch_norm", x, axes, eps);
  if (moments)
    *moments = s.moments;
  Tensor gamma = reshape(scale, perChannel);
  Tensor y = s.y * gamma + reshape(shift, perChannel);
  // Σȳ and Σȳ·x̂ over the batch are the shift's and scale's gradients and,
  // per channel, all the input's needs: two sums and one pass over x.
  double n = static_cast<double>(x.numel() / x.dim(1));
  return customVjp(y, {x, scale, shift}, [=, xhat = s.y, d = s.deviation](
                                             const Tensor &g) {
    Tensor dyTotal = sum(g, axes, /*keepDims=*/true);
    Tensor dyXhatTotal = sum(g * xhat, axes, /*keepDims=*/true);
    Tensor k = gamma / d;
    Tensor dx = g * k - (k * dyTotal * (1.0 / n) + xhat * (k * dyXhatTotal * (1.0 / n)));
    return std::vector<Tensor>{dx, reshape(dyXhatTotal, scale.shape()),
                               reshape(dyTotal, shift.shape())};
  });
}

Tensor layerNorm(const Tensor &x, int64_t normalizedAxes, const Tensor &scale,
                 const Tensor &bias, double eps, SourceLocation loc) {
  CallSite site(loc);
  requireFloat("layer_norm", x);
  if (normalizedAxes < 1 || normalizedAxes > x.rank())
    throw Error(fmt::format("layer_norm: cannot normalize the last {} axes of "
                            "{}",
                            normalizedAxes, shapeString(x.shape())));
  if (!(eps >= 0.0))
    throw Error(fmt::format("layer_norm: epsilon {} must be >= 0", eps));
  std::vector<int64_t> axes;
  for (int64_t i = x.rank() - normalizedAxes; i < x.rank(); ++i)
    axes.push_back(i);
  Shape normalized(x.shape().end() - normalizedAxes, x.shape().end());
  auto fits = [&](const Shape &s) {
    if (s.size() > normalized.size())
      return false;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[s.size() - 1 - i] != 1 &&
          s[s.size() - 1 - i] != normalized[normalized.size() - 1 - i])
        return false;
    return true;
  };
  for (const Tensor *p : {&scale, &bias})
    if (p->defined() && !fits(p->shape()))
      throw Error(fmt::format("layer_norm: scale/bias {} do not broadcast to "
                              "the normalized axes {} of {}",
                              shapeString(p->shape()), shapeString(normalized),
                              shapeString(x.shape())));
  Tensor y = standardize(x, axes, eps);
  if (scale.defined())
    y = y * scale;
  if (bias.defined())
    y = y + bias;
  return y;
}

Tensor take(const Tensor &table, const Tensor &indices, SourceLocation loc) {
  CallSite site(loc);
  requireFloat("take", table);
  if (indices.dtype() != DType::I32 || table.rank() < 1 || table.dim(0) < 1)
    throw Error(fmt::format("take: needs a table of rank >= 1 and i32 "
                            "indices, got {}{} and {}{}",
                            dtypeName(table.dtype()), shapeString(table.shape()),
                            dtypeName(indices.dtype()),
                            shapeString(indices.shape())));
  NodeAttrs wrap;
  wrap.classes = table.dim(0);
  Tensor flat = single(Prim::WrapIndex, {reshape(indices, {indices.numel()})},
                       {indices.numel()}, DType::I32, wrap);
  Shape rows = {indices.numel()};
  rows.insert(rows.end(), table.shape().begin() + 1, table.shape().end());
  Tensor picked = single(Prim::Take, {table, flat}, rows, table.dtype());
  Shape out = indices.shape();
  out.insert(out.end(), table.shape().begin() + 1, table.shape().end());
  return reshape(picked, out);
}

Tensor countCorrect(const Tensor &logits, const Tensor &labels,
                    SourceLocation loc) {
  CallSite site(loc);
  Tensor hits = equal(argmax(logits), labels);
  return sum(hits);
}

} // namespace bregman
