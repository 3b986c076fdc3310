//===- Tensor.h - Tensors, concrete or traced -------------------*- C++ -*-===//
//
// A Tensor is either concrete (it owns host memory) or a tracer: a value of the
// Trace being recorded by `jit`. Every operation below records one primitive
// in the current trace; the compiled program runs them later. Operations on
// concrete tensors outside `jit` are refused with an error that says so.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TENSOR_H
#define BREGMAN_TENSOR_H

#include "bregman/Error.h"
#include "bregman/SourceLocation.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace bregman {
namespace runtime {
class Buffer;
}

enum class DType { F32, F64, I32 };
using Shape = std::vector<int64_t>;

/// "f32", "f64" or "i32".
const char *dtypeName(DType dtype);
/// Size of one element in bytes.
int64_t dtypeSize(DType dtype);
/// "[128, 784]".
std::string shapeString(const Shape &shape);
/// Throws Error, naming `op`, unless a tensor of `shape` and `dtype` could be
/// allocated: no negative dimension, and its bytes within the memory limit
/// (BREGMAN_MEMORY_LIMIT or the memory this process may use; counted without
/// overflow; a sanity bound for every traced value and host tensor, so tensors
/// of at most 64 MiB always pass).
void requireAllocatable(const char *op, const Shape &shape, DType dtype);
/// Product of the dimensions (1 for a scalar).
int64_t numElements(const Shape &shape);
/// NumPy broadcasting: shapes aligned right, each pair equal or one of them
/// 1; nullopt when they do not broadcast (the caller names the place).
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);

class Trace;

class Tensor {
public:
  /// An empty handle; most operations on it are errors.
  Tensor() = default;

  //===--------------------------------------------------------------------===//
  // Concrete tensors (host memory)
  //===--------------------------------------------------------------------===//

  /// A zero-filled tensor.
  static Tensor zeros(const Shape &shape, DType dtype = DType::F32);
  /// Copies `values` (row-major) into a new tensor of `shape`.
  static Tensor fromVector(const std::vector<float> &values, const Shape &shape);
  static Tensor fromVector(const std::vector<double> &values, const Shape &shape);
  static Tensor fromVector(const std::vector<int32_t> &values, const Shape &shape);
  /// A rank-0 tensor.
  static Tensor scalar(float value);

  /// The element buffer of a concrete tensor; throws for a tracer or if T
  /// does not match the dtype.
  template <typename T> T *data();
  template <typename T> const T *data() const;
  /// Copies the elements out.
  template <typename T> std::vector<T> toVector() const;
  /// The single element of a one-element f32/f64/i32 tensor, as double.
  double item() const;
  /// A new tensor with these values and its own buffer. Copying a Tensor
  /// shares its buffer; this keeps a value that a donating jit call would
  /// otherwise consume (a snapshot of the best weights).
  Tensor copy() const;

  //===--------------------------------------------------------------------===//
  // Properties
  //===--------------------------------------------------------------------===//

  bool defined() const { return impl_ != nullptr; }
  bool isConcrete() const;
  bool isTraced() const;
  const Shape &shape() const;
  DType dtype() const;
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const { return numElements(shape()); }
  int64_t dim(int64_t axis) const;

  //===--------------------------------------------------------------------===//
  // Internals shared with the tracer and jit
  //===--------------------------------------------------------------------===//

  struct Impl {
    Shape shape;
    DType dtype = DType::F32;
    std::shared_ptr<runtime::Buffer> buffer; // concrete
    Trace *trace = nullptr;                  // traced
    uint64_t traceSerial = 0;                // of `trace` (Trace::serial)
    int value = -1;
    /// The jit whose donated call consumed the buffer (then null): its
    /// values became that call's outputs (JitOptions::donateArgnums).
    std::string donatedTo;
  };
  static Tensor fromBuffer(std::shared_ptr<runtime::Buffer> buffer,
                           const Shape &shape, DType dtype);
  static Tensor traced(Trace *trace, int value, const Shape &shape,
                       DType dtype);
  const std::shared_ptr<runtime::Buffer> &buffer() const;
  Trace *trace() const { return impl_ ? impl_->trace : nullptr; }
  /// Whether this is a value of `trace` (not of an earlier trace that lived
  /// at the same address: a tracer that escaped its function).
  bool belongsTo(const Trace &trace) const;
  int value() const { return impl_ ? impl_->value : -1; }
  /// Called by jit after a call that overwrote this tensor's buffer: every
  /// copy of this handle then says so instead of showing the outputs.
  void markDonated(const std::string &jitName) const;
  /// The jit that consumed this tensor's buffer, or "".
  std::string donatedTo() const { return impl_ ? impl_->donatedTo : ""; }

private:
  void *rawData() const;
  void checkElementType(DType expected) const;
  std::shared_ptr<Impl> impl_;
};

/// A Tensor operand and the place of the expression that uses it: the
/// implicit conversion to it evaluates its defaulted location where the
/// operator is written, which an operator's own parameters cannot do.
class LocatedTensor {
public:
  LocatedTensor(const Tensor &tensor,
                SourceLocation loc = SourceLocation::current())
      : tensor(tensor), loc(loc) {}
  const Tensor &tensor; // lives until the end of the full expression
  SourceLocation loc;
};

//===----------------------------------------------------------------------===//
// Primitives and the operations built from them
//
// Each function's last parameter, `loc`, defaults to the caller's place
// (SourceLocation.h): leave it out; errors start with it.
//===----------------------------------------------------------------------===//

/// op(a)·op(b), op(x) swapping the last two axes of x when its flag is set.
/// 2-D operands are one GEMM. Above 2-D the leading (batch) axes broadcast
/// as NumPy's matmul does: [..., M, K]·[..., K, N] -> [..., M, N]. A 2-D `b`
/// under an N-D `a` (nn.Linear on a sequence) is one GEMM on the rows of
/// all batches; otherwise the batches are one batch_matmul (a GEMM per
/// batch on the CPU).
Tensor matmul(const Tensor &a, const Tensor &b, bool transposeA = false,
              bool transposeB = false,
              SourceLocation loc = SourceLocation::current());

/// A matrix W [rows, cols] in compressed sparse rows, the form the sparse
/// layers run on (MLIR's sparse_tensor CSR): row r's entries are
/// [positions[r], positions[r + 1]) of `coordinates` (columns, i32) and
/// `values`; both have one capacity (at least the entries stored, the tail
/// unused). `dense` is W itself where the gradient with respect to W is
/// wanted (training: forward and input gradient on the CSR, the weight
/// gradient dense); empty otherwise.
struct CsrWeight {
  Tensor positions, coordinates, values, dense;
  int64_t rows = 0, cols = 0;
};

/// a·Wᵀ (transposeW: a [B, cols] -> [B, rows], a linear layer's forward) or
/// a·W (a [B, rows] -> [B, cols], its input gradient), W in CSR: loops over
/// the stored entries only, generated by MLIR's sparsifier (CPU).
Tensor sparseMatmul(const Tensor &a, const CsrWeight &w, bool transposeW);

/// W·a (a [cols, N] -> [rows, N]) or Wᵀ·a (transposeW: a [rows, N] ->
/// [cols, N]): the same layer on feature-major activations, whose batch is
/// then the innermost, contiguous loop (vector multiply-adds of a row of a per
/// stored entry, no gathers; the faster form at batch 128, see
/// docs/PERFORMANCE.md).
Tensor sparseMatmulLeft(const CsrWeight &w, const Tensor &a, bool transposeW);

/// A linear layer's a·Wᵀ (transposeW) or a·W on W in CSR, a [M, K] -> [M, N],
/// in whichever form is faster for M: a·Wᵀ below kCsrFeatureMajorMinRows rows
/// runs batch-major (sparseMatmul: stored entries of a row times a gathered
/// row of a), otherwise, and a·W always, feature-major ((op(W)ᵀ·aᵀ)ᵀ through
/// sparseMatmulLeft). The feature-major loop's vector runs along M, so below
/// its width most lanes are masked off (docs/PERFORMANCE.md, "CSR forms by
/// batch"). Its gradient with respect to a takes the faster form too.
Tensor csrProduct(const Tensor &a, const CsrWeight &w, bool transposeW);

/// Rows of a from which csrProduct runs a·Wᵀ feature-major: the lanes of the
/// sparse loops' vectors.
inline constexpr int64_t kCsrFeatureMajorMinRows = 16;

/// Whether csrProduct runs a product with `rows` rows of a batch-major.
inline bool csrProductIsBatchMajor(int64_t rows, bool transposeW) {
  return transposeW && rows < kCsrFeatureMajorMinRows;
}

/// The CSR of a concrete 2-D f32 tensor (its exact zeros dropped), as
/// concrete tensors with buffers of `capacity` entries (-1: the entries
/// stored, at least 1); `dense` is left empty.
CsrWeight compressRows(const Tensor &dense, int64_t capacity = -1);
/// The CSR of a traced 2-D f32 tensor, computed by the compiled function
/// itself (breg.compress_rows): buffers of capacity rows·cols, the entries
/// past positions[rows] unspecified; `dense` is `dense`. Not differentiable.
CsrWeight compressRowsInTrace(const Tensor &dense);

/// Elementwise arithmetic with NumPy broadcasting (shapes aligned right).
/// (An operator cannot take a defaulted location: each takes one operand as
/// a LocatedTensor, whose implicit conversion records the line of the
/// expression.)
Tensor operator+(const Tensor &a, LocatedTensor b);
Tensor operator-(const Tensor &a, LocatedTensor b);
Tensor operator*(const Tensor &a, LocatedTensor b);
Tensor operator/(const Tensor &a, LocatedTensor b);
Tensor operator+(LocatedTensor a, double b);
Tensor operator-(LocatedTensor a, double b);
Tensor operator*(LocatedTensor a, double b);
Tensor operator/(LocatedTensor a, double b);
Tensor operator*(double a, LocatedTensor b);
Tensor operator-(LocatedTensor a);
/// Elementwise maximum (gradient to the larger operand, half to each on
/// ties, to neither where one is NaN: as JAX and PyTorch).
Tensor maximum(const Tensor &a, const Tensor &b,
               SourceLocation loc = SourceLocation::current());

Tensor exp(const Tensor &x, SourceLocation loc = SourceLocation::current());
Tensor log(const Tensor &x, SourceLocation loc = SourceLocation::current());
Tensor relu(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// |x| (gradient sign(x), 0 at 0) and √x.
Tensor abs(const Tensor &x, SourceLocation loc = SourceLocation::current());
Tensor sqrt(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// 1/(1 + e^−x) and tanh, computed from e^−|x| (finite values and gradients
/// for every finite x, where 1/(1 + exp(−x)) overflows below −88 in f32);
/// gradients s(x)·s(−x) and 4·s(2x)·s(−2x), accurate where s or t round to 1.
Tensor sigmoid(const Tensor &x, SourceLocation loc = SourceLocation::current());
Tensor tanh(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// x·sigmoid(x) (SiLU, swish); gradient sigmoid(x)·(1 + x(1 − sigmoid(x))).
Tensor silu(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// g where x > 0, else 0 (the VJP of relu).
Tensor reluGrad(const Tensor &x, const Tensor &g,
                SourceLocation loc = SourceLocation::current());

/// Sum / maximum over `axes` (negative axes count from the end).
Tensor sum(const Tensor &x, std::vector<int64_t> axes, bool keepDims = false,
           SourceLocation loc = SourceLocation::current());
Tensor sum(const Tensor &x,
           SourceLocation loc = SourceLocation::current()); // all axes
Tensor max(const Tensor &x, std::vector<int64_t> axes, bool keepDims = false,
           SourceLocation loc = SourceLocation::current());
Tensor mean(const Tensor &x, std::vector<int64_t> axes, bool keepDims = false,
            SourceLocation loc = SourceLocation::current());
Tensor mean(const Tensor &x,
            SourceLocation loc = SourceLocation::current()); // all axes

/// NumPy broadcasting of x to `shape`.
Tensor broadcastTo(const Tensor &x, const Shape &shape,
                   SourceLocation loc = SourceLocation::current());
/// Sums the broadcast dimensions away so that the result has `shape`.
Tensor sumTo(const Tensor &x, const Shape &shape,
             SourceLocation loc = SourceLocation::current());
Tensor reshape(const Tensor &x, const Shape &shape,
               SourceLocation loc = SourceLocation::current());
/// Dimension i of the result is dimension permutation[i] of x.
Tensor transpose(const Tensor &x, const std::vector<int64_t> &permutation,
                 SourceLocation loc = SourceLocation::current());
/// The identity whose gradient is zero.
Tensor stopGradient(const Tensor &x,
                    SourceLocation loc = SourceLocation::current());
/// A tensor of `shape` filled with `value`, recorded as a constant.
Tensor full(const Shape &shape, double value, DType dtype = DType::F32,
            SourceLocation loc = SourceLocation::current());

/// log softmax along `axis`.
Tensor logSoftmax(const Tensor &x, int64_t axis = -1,
                  SourceLocation loc = SourceLocation::current());
/// i32 labels [N] -> f32 one-hot [N, classes] (no gradient); a label
/// outside [0, classes) gives a row of zeros (compiled code checks nothing:
/// the data loaders refuse such labels when they read them).
Tensor oneHot(const Tensor &labels, int64_t classes, DType dtype = DType::F32,
              SourceLocation loc = SourceLocation::current());
/// Mean cross-entropy of logits [N, C] against i32 labels [N]; a label
/// outside [0, C) has a zero one-hot row, so its example adds 0 to the sum
/// (still counted in N) and no gradient.
Tensor crossEntropy(const Tensor &logits, const Tensor &labels,
                    SourceLocation loc = SourceLocation::current());
/// Index of the maximum along the last axis, as i32 (first on ties; NaN
/// counts as the largest value, as in NumPy, JAX and PyTorch).
Tensor argmax(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// 1 where a == b, else 0, in the operands' float type (f32 for i32
/// operands); no gradient.
Tensor equal(const Tensor &a, const Tensor &b,
             SourceLocation loc = SourceLocation::current());
/// Number of rows whose argmax equals the label, as an f32 scalar.
Tensor countCorrect(const Tensor &logits, const Tensor &labels,
                    SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Transformer building blocks (issue 18)
//===----------------------------------------------------------------------===//

/// The error function (gradient 2/√π·exp(−x²)).
Tensor erf(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// The complementary error function 1 − erf(x) (gradient −2/√π·exp(−x²)),
/// with full relative accuracy where erf(x) is near 1.
Tensor erfc(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// sin x and cos x (libm's, per element; gradients cos x and −sin x).
Tensor sin(const Tensor &x, SourceLocation loc = SourceLocation::current());
Tensor cos(const Tensor &x, SourceLocation loc = SourceLocation::current());
/// GELU: x·Φ(x) = 0.5·x·erfc(−x/√2) = 0.5·x·(1 + erf(x/√2)), or with
/// `tanhApproximation` 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch's
/// approximate='tanh'), computed as x·σ(2u) in a form that stays finite
/// for any x.
Tensor gelu(const Tensor &x, bool tanhApproximation = false,
            SourceLocation loc = SourceLocation::current());
/// a where cond != 0, else b (NumPy broadcasting of all three). The
/// gradient goes to the side that was picked; cond gets none.
Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b,
             SourceLocation loc = SourceLocation::current());
/// 1 where a < b (resp. a > b), else 0, in the operands' float type (f32
/// for i32 operands); no gradient.
Tensor less(const Tensor &a, const Tensor &b,
            SourceLocation loc = SourceLocation::current());
Tensor greater(const Tensor &a, const Tensor &b,
               SourceLocation loc = SourceLocation::current());
/// softmax along `axis`; `mask`, if given, is added to x first (NumPy
/// broadcasting; −∞ entries exclude positions). Shifted by the maximum.
Tensor softmax(const Tensor &x, int64_t axis = -1, const Tensor &mask = {},
               SourceLocation loc = SourceLocation::current());
/// The mean and (biased) variance that `standardize` divided by, with the
/// standardized axes kept as 1s.
struct Moments {
  Tensor mean, variance;
};
/// (x − mean)/√(variance + eps) with the mean and biased variance over
/// `axes` (batch and layer normalization without their affine part);
/// `moments`, if given, receives the statistics. Differentiated as one
/// operation: x̄ = (ȳ − mean(ȳ) − y·mean(ȳ·y))/√(variance + eps), two sums
/// and one elementwise pass instead of the reverse of each step.
Tensor standardize(const Tensor &x, std::vector<int64_t> axes, double eps,
                   Moments *moments = nullptr,
                   SourceLocation loc = SourceLocation::current());
/// Batch normalization as in training: x standardized over every axis but
/// the channels (axis 1), times `scale` plus `shift` (one value per
/// channel each; their own shapes, e.g. [C]); `moments` receives the batch
/// statistics. Differentiated as one operation: Σȳ and Σȳ·x̂ over the batch
/// give the shift's and the scale's gradients and the input's.
Tensor batchNorm(const Tensor &x, const Tensor &scale, const Tensor &shift,
                 double eps, Moments *moments = nullptr,
                 SourceLocation loc = SourceLocation::current());
/// The running statistics after one training batch of `x`, as PyTorch keeps
/// them: each an exponential average, running·(1 − batchWeight) +
/// batch·batchWeight, of the batch's moments (from batchNorm, one value per
/// channel; no gradient flows through them) with the variance made unbiased
/// (×n/(n − 1), n the elements per channel of x; with n = 1 the biased
/// variance, 0, where PyTorch refuses the batch). Shapes are [C].
Moments updatedRunningMoments(const Moments &running, const Moments &batch,
                              const Tensor &x, double batchWeight);
/// Layer normalization over the last `normalizedAxes` axes:
/// (x − mean)/√(var + eps)·scale + bias, the variance biased (as PyTorch
/// and ONNX); `scale` and `bias` (optional) broadcast against those axes.
Tensor layerNorm(const Tensor &x, int64_t normalizedAxes,
                 const Tensor &scale = {}, const Tensor &bias = {},
                 double eps = 1e-5,
                 SourceLocation loc = SourceLocation::current());
/// Rows of `table` [V, ...] picked by i32 `indices` of any shape: the
/// result is indices.shape + table.shape[1:] (an embedding lookup).
/// Negative indices count from the end (−1 is row V − 1, as ONNX Gather);
/// an index outside [−V, V) gives a row of zeros. Gradient: to the table
/// only (accumulated over repeated indices).
Tensor take(const Tensor &table, const Tensor &indices,
            SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Convolution and pooling (NCHW, as PyTorch and ONNX)
//===----------------------------------------------------------------------===//

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  /// [top, left, bottom, right] (ONNX order); see `symmetricPadding`.
  std::array<int64_t, 4> padding{0, 0, 0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};
/// PyTorch's padding=(ph, pw): ph rows above and below, pw columns each side.
std::array<int64_t, 4> symmetricPadding(int64_t ph, int64_t pw);

/// y = conv(x, w) for x [N, C, H, W] and w [F, C/groups, KH, KW] (a
/// cross-correlation, like every framework's): y is [N, F, OH, OW] with
/// OH = (H + top + bottom − dilation·(KH − 1) − 1) / stride + 1. On the CPU it
/// is a library call (oneDNN) for f32.
Tensor conv2d(const Tensor &x, const Tensor &w,
              const Conv2dOptions &options = {},
              SourceLocation loc = SourceLocation::current());

/// A filter W [out, in/groups, KH, KW] in CSR for sparseConv2d: `rows` is
/// the CSR of W as a matrix [out, (in/groups)·KH·KW] (the forward pass),
/// `columns` the CSR of its transpose taken per group, [in,
/// (out/groups)·KH·KW] (the input gradient: may be left empty where none is
/// taken), `dense` W itself where its gradient is wanted.
struct CsrFilter {
  CsrWeight rows, columns;
  Tensor dense;
  std::array<int64_t, 4> shape{};
  int64_t groups = 1;
};

/// conv2d(x, W, options) with W in CSR: vector loops over the stored entries
/// only (CPU; breg.sparse_conv2d). Needs padding of at most dilation·(K − 1)
/// on each side (sparseConv2dFits); any strides and groups (depthwise too),
/// W built for options.groups. With `bias` (f32[out]) the result is conv +
/// bias per output channel, added in the loop (no pass of its own over the
/// output).
Tensor sparseConv2d(const Tensor &x, const CsrFilter &w,
                    const Conv2dOptions &options, const Tensor &bias = Tensor(),
                    SourceLocation loc = SourceLocation::current());
/// Whether a convolution of this filter shape and geometry can run on CSR.
bool sparseConv2dFits(const std::array<int64_t, 4> &filter,
                      const Conv2dOptions &options);
/// The two CSRs of a concrete f32 filter (exact zeros dropped; capacity:
/// the entries stored, at least 1); `dense` is left empty.
CsrFilter compressFilter(const Tensor &w, int64_t groups = 1);
/// The CSR pair of a concrete filter [O, C/groups, KH, KW] from the CSR of
/// its matrix view [O, (C/groups)·KH·KW] (as compressRows gives, or an ONNX
/// sparse_initializer's entries): the transposed CSR is built from the
/// stored entries alone, with the same capacity. Throws on a CSR that does
/// not describe such a matrix (shapes, positions, coordinates).
CsrFilter filterCsrFromRows(const CsrWeight &rows,
                            const std::array<int64_t, 4> &filter,
                            int64_t groups = 1);
/// The two CSRs of a traced f32 filter, computed by the compiled function
/// (breg.compress_rows, capacity: every entry); `dense` is `w`.
CsrFilter compressFilterInTrace(const Tensor &w, int64_t groups = 1);

/// The transposed convolution (the gradient of conv2d with respect to its
/// input, as a layer): x [N, C, H, W], w [C, M/groups, KH, KW] -> [N, M, OH,
/// OW] with OH = stride·(H − 1) + outputPadding + dilation·(KH − 1) + 1 −
/// top − bottom (ONNX ConvTranspose, PyTorch ConvTranspose2d).
Tensor convTranspose2d(const Tensor &x, const Tensor &w,
                       const Conv2dOptions &options = {},
                       std::array<int64_t, 2> outputPadding = {0, 0},
                       SourceLocation loc = SourceLocation::current());

struct Pool2dOptions {
  std::array<int64_t, 2> kernel{2, 2};
  /// 0 means "the kernel size" (PyTorch's default).
  std::array<int64_t, 2> stride{0, 0};
  std::array<int64_t, 4> padding{0, 0, 0, 0};
  std::array<int64_t, 2> dilation{1, 1};
};
/// Maximum over each window (padding counts as −∞). Its gradient goes to the
/// first maximal element of each window in row-major order, as PyTorch's does,
/// never split among ties.
Tensor maxPool2d(const Tensor &x, const Pool2dOptions &options = {},
                 SourceLocation loc = SourceLocation::current());
/// Mean over each window, padding counted as zeros in the divisor
/// (PyTorch's count_include_pad = True).
Tensor avgPool2d(const Tensor &x, const Pool2dOptions &options = {},
                 SourceLocation loc = SourceLocation::current());
/// Mean over H and W: [N, C, H, W] -> [N, C, 1, 1].
Tensor globalAvgPool2d(const Tensor &x,
                       SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Resizing (ONNX Resize / Upsample, nn.Upsample, F.interpolate)
//===----------------------------------------------------------------------===//

/// Resampling along one axis by a fixed table: output position o is
/// Σ_k weight[o·taps + k] · x[index[o·taps + k]] along that axis. Nearest
/// neighbour has one tap per output, linear interpolation two.
struct ResampleTable {
  int64_t taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;
  int64_t outputs() const {
    return taps > 0 ? static_cast<int64_t>(index.size()) / taps : 0;
  }
};
/// `x` resampled along `axis` by `table` (every index inside the axis).
/// Gradient: the same primitive with the transposed table (a scatter-add).
Tensor resample(const Tensor &x, int64_t axis, const ResampleTable &table);

/// ONNX Resize's modes. Coordinates map an output position x to the input
/// coordinate: half_pixel (x+½)/scale−½; pytorch_half_pixel the same but 0
/// for a resized length of 1; align_corners x·(in−1)/(in·scale−1);
/// asymmetric x/scale; tf_half_pixel_for_nn (x+½)/scale (the resized length
/// is in·scale, as in ONNX's reference: out when sizes were given). Nearest rounds that
/// coordinate (ties down or up, or floor, ceil); linear interpolates
/// between its two neighbours; both clamp at the edges.
enum class ResizeMode { Nearest, Linear };
enum class ResizeCoordinates {
  HalfPixel,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfHalfPixelForNearest,
  HalfPixelSymmetric
};
enum class ResizeRounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };
struct ResizeOptions {
  ResizeMode mode = ResizeMode::Nearest;
  ResizeCoordinates coordinates = ResizeCoordinates::HalfPixel;
  ResizeRounding rounding = ResizeRounding::RoundPreferFloor;
};
/// The table that resizes an axis of `in` elements to `out` at `scale`
/// (out/in when the sizes were given; the coordinate modes use it).
ResampleTable resizeTable(int64_t in, int64_t out, double scale, const ResizeOptions &options);
/// `x` resized to `sizes` (one per axis) with `scales` (one per axis, > 0):
/// one resample per axis that changes.
Tensor resize(const Tensor &x, const Shape &sizes, const std::vector<double> &scales,
              const ResizeOptions &options);
/// Images [N, C, H, W] scaled by integer `factor` in H and W (nn.Upsample:
/// nearest, or bilinear with or without align_corners).
Tensor upsample2d(const Tensor &x, int64_t factor, ResizeMode mode = ResizeMode::Nearest,
                  bool alignCorners = false);

//===----------------------------------------------------------------------===//
// Recurrent nets at a static sequence length (unrolled)
//===----------------------------------------------------------------------===//

/// How a cell's gates are stacked in its weights: PyTorch's (LSTM i, f, g,
/// o; GRU r, z, n) or ONNX's (LSTM i, o, f, c; GRU z, r, h).
enum class GateOrder { PyTorch, Onnx };
/// One direction's weights: w [G·H, I], r [G·H, H], biases wb and rb [G·H]
/// (either may be undefined: zero), G = 4 for an LSTM, 3 for a GRU.
struct RecurrentWeights {
  Tensor w, r, wb, rb;
};
struct RecurrentResult {
  Tensor y; // [T, N, H]: the hidden state after every step
  Tensor h; // [N, H]: the last one
  Tensor c; // [N, H]: the LSTM's last cell state
};
/// An LSTM over x [T, N, I] (time first) from h0, c0 [N, H] (undefined:
/// zeros), with σ, tanh, tanh as ONNX's defaults and PyTorch have it:
/// c' = f⊙c + i⊙tanh(g), h' = o⊙tanh(c'). `reverse` runs from the last step
/// to the first (y stays in time order).
RecurrentResult lstm(const Tensor &x, const RecurrentWeights &weights, const Tensor &h0,
                     const Tensor &c0, GateOrder order, bool reverse = false);
/// A GRU likewise: h' = (1−z)⊙n + z⊙h with n = tanh(x·Wnᵀ + bwn + r⊙(h·Rnᵀ +
/// brn)) when `linearBeforeReset` (PyTorch's), else tanh(x·Wnᵀ + bwn +
/// (r⊙h)·Rnᵀ + brn) (ONNX's default).
RecurrentResult gru(const Tensor &x, const RecurrentWeights &weights, const Tensor &h0,
                    GateOrder order, bool linearBeforeReset, bool reverse = false);

/// The tensors joined along `axis` (all other dimensions equal), e.g. the
/// channels of DenseNet-style blocks with axis 1.
Tensor concat(const std::vector<Tensor> &parts, int64_t axis,
              SourceLocation loc = SourceLocation::current());
/// x[start : start + size] along `axis`.
Tensor slice(const Tensor &x, int64_t axis, int64_t start, int64_t size,
             SourceLocation loc = SourceLocation::current());
/// Inverted dropout: each element is zeroed with probability `rate`, the
/// others scaled by 1/(1 − rate). The mask is a function of `seed` (an i32
/// scalar, e.g. the step number) and the element index alone: the same seed
/// gives the same mask, on every back end. Gradient: the same mask.
Tensor dropout(const Tensor &x, double rate, const Tensor &seed,
               SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Printing traced values (like jax.debug.print)
//===----------------------------------------------------------------------===//

/// A debugPrint format and the place where it is written.
class DebugFormat {
public:
  DebugFormat(const char *text, SourceLocation loc = SourceLocation::current())
      : text(text), loc(loc) {}
  DebugFormat(std::string text, SourceLocation loc = SourceLocation::current())
      : text(std::move(text)), loc(loc) {}
  std::string text;
  SourceLocation loc;
};

/// Prints a line: `format` with each `{}` replaced by the next value (`{{`
/// and `}}` are braces). Inside `jit` it is recorded in the trace and prints
/// the values as they are at that point of the program, every time the
/// compiled step runs, in program order (on stdout); outside `jit` it prints
/// concrete tensors at once. A scalar prints in full (the shortest text
/// that reads back to the same value); a tensor as its dtype, shape and
/// elements in row-major order, the first and last three of more than six:
/// "f32[128, 10] [0.5, -1, 2, ..., 3, 0, 0.25]". It has no gradient and is
/// never optimised away. On the CPU only: compiling a step that prints for
/// Device::Cuda or HostMirror is refused (the values live in device
/// memory there).
void debugPrint(DebugFormat format, const std::vector<Tensor> &values);
template <typename... Values>
void debugPrint(DebugFormat format, const Values &...values) {
  static_assert((std::is_same_v<Values, Tensor> && ...),
                "debugPrint prints Tensors");
  debugPrint(std::move(format), std::vector<Tensor>{values...});
}

} // namespace bregman

#endif // BREGMAN_TENSOR_H
