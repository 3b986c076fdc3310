//===- BregOps.cpp - breg op verifiers, folders and type inference ---------===//

#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/MathExtras.h"
#include <limits>

using namespace mlir;
using namespace mlir::breg;

#define GET_OP_CLASSES
#include "breg/Dialect/Breg/IR/BregOps.cpp.inc"

/// Asks the regulariser whether it applies to `paramType`, and checks that
/// the second strength λ₂ is given exactly for the sparse-group regulariser.
static LogicalResult verifyRegularizerFits(Operation *op,
                                           RegularizerAttrInterface reg,
                                           Type paramType,
                                           Value lambda2 = nullptr) {
  bool sparseGroup = llvm::isa<L1L1L2RegAttr>(reg);
  if (sparseGroup && !lambda2)
    return op->emitOpError("regularizer 'l1_l1_l2' needs its second "
                           "strength: add the lambda2 operand");
  if (!sparseGroup && lambda2)
    return op->emitOpError("lambda2 is the second strength of 'l1_l1_l2' "
                           "only, but the regularizer is '")
           << reg.getRegularizerName() << "'";
  return reg.verifyParameterType(llvm::cast<ShapedType>(paramType),
                                 [op]() { return op->emitOpError(); });
}

/// The optional momentum buffer and its β come together, shaped like θ.
static LogicalResult verifyMomentum(Operation *op, Value momentum, Value beta,
                                    Value theta) {
  if (static_cast<bool>(momentum) != static_cast<bool>(beta))
    return op->emitOpError(
               "momentum buffer and beta must be given together, but ")
           << (momentum ? "beta" : "the momentum buffer") << " is missing";
  if (momentum && momentum.getType() != theta.getType())
    return op->emitOpError("momentum buffer type ")
           << momentum.getType() << " does not match parameter type "
           << theta.getType();
  return success();
}

namespace {
/// λ = 0 (a constant) turns a regulariser whose whole effect scales with λ
/// into J = 0: the op is rewritten with #breg.none, which lowers to the plain
/// (SGD-like) update. l1_pos keeps its indicator and is left alone.
template <typename OpTy>
struct ZeroLambdaIsNoRegularizer : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (llvm::isa<NoneRegAttr, L1PosRegAttr, L1L1L2RegAttr>(op.getReg()) ||
        !matchPattern(op.getLambda(), m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(op, "λ is not a constant zero");
    rewriter.modifyOpInPlace(
        op, [&] { op.setRegAttr(NoneRegAttr::get(op.getContext())); });
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// ProxOp
//===----------------------------------------------------------------------===//

LogicalResult ProxOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getX().getType(),
                               getLambda2());
}

OpFoldResult ProxOp::fold(FoldAdaptor) {
  // prox of J = 0 is the identity; so is a zero threshold, except for l1_pos
  // whose indicator ι(θ ≥ 0) does not scale with λ.
  if (llvm::isa<NoneRegAttr>(getReg()))
    return getX();
  if (!llvm::isa<L1PosRegAttr, L1L1L2RegAttr>(getReg()) &&
      (matchPattern(getLambda(), m_AnyZeroFloat()) ||
       matchPattern(getScale(), m_AnyZeroFloat())))
    return getX();
  return {};
}

//===----------------------------------------------------------------------===//
// SubgradientInitOp
//===----------------------------------------------------------------------===//

LogicalResult SubgradientInitOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getTheta().getType(),
                               getLambda2());
}

//===----------------------------------------------------------------------===//
// LinBregUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult LinBregUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  Type paramType = adaptor.getTheta().getType();
  inferredReturnTypes.assign({paramType, paramType});
  if (adaptor.getMomentum())
    inferredReturnTypes.push_back(paramType);
  return success();
}

LogicalResult LinBregUpdateOp::verify() {
  if (failed(verifyMomentum(*this, getMomentum(), getBeta(), getTheta())))
    return failure();
  return verifyRegularizerFits(*this, getReg(), getTheta().getType(),
                               getLambda2());
}

//===----------------------------------------------------------------------===//
// AdaBregUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult AdaBregUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.assign(4, adaptor.getTheta().getType());
  return success();
}

LogicalResult AdaBregUpdateOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getTheta().getType(),
                               getLambda2());
}

//===----------------------------------------------------------------------===//
// ProxSgdUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult ProxSgdUpdateOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getTheta().getType(),
                               getLambda2());
}

//===----------------------------------------------------------------------===//
// SgdUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult SgdUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.assign({adaptor.getTheta().getType()});
  if (adaptor.getMomentum())
    inferredReturnTypes.push_back(adaptor.getTheta().getType());
  return success();
}

LogicalResult SgdUpdateOp::verify() {
  return verifyMomentum(*this, getMomentum(), getBeta(), getTheta());
}

//===----------------------------------------------------------------------===//
// AdamUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult AdamUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.assign(3, adaptor.getTheta().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Canonicalization
//===----------------------------------------------------------------------===//

void SubgradientInitOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                    MLIRContext *context) {
  results.add<ZeroLambdaIsNoRegularizer<SubgradientInitOp>>(context);
}
void LinBregUpdateOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<ZeroLambdaIsNoRegularizer<LinBregUpdateOp>>(context);
}
void AdaBregUpdateOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<ZeroLambdaIsNoRegularizer<AdaBregUpdateOp>>(context);
}
void ProxSgdUpdateOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<ZeroLambdaIsNoRegularizer<ProxSgdUpdateOp>>(context);
}

//===----------------------------------------------------------------------===//
// Convolution ops
//===----------------------------------------------------------------------===//

/// 64-bit arithmetic that remembers an overflow: attributes such as a
/// dilation of 2^62 wrapped the geometry checks to 0 and passed them.
struct CheckedInt {
  int64_t value = 0;
  bool overflow = false;
  CheckedInt(int64_t v) : value(v) {}
  template <int64_t (*Op)(int64_t, int64_t, int64_t &)>
  CheckedInt apply(CheckedInt other) const {
    CheckedInt r(0);
    r.overflow =
        overflow || other.overflow || Op(value, other.value, r.value) != 0;
    return r;
  }
  CheckedInt operator+(CheckedInt o) const {
    return apply<llvm::AddOverflow<int64_t>>(o);
  }
  CheckedInt operator-(CheckedInt o) const {
    return apply<llvm::SubOverflow<int64_t>>(o);
  }
  CheckedInt operator*(CheckedInt o) const {
    return apply<llvm::MulOverflow<int64_t>>(o);
  }
};

/// The error for a geometry whose sizes overflow 64-bit integers.
static LogicalResult overflowError(Operation *op, RankedTensorType input) {
  return op->emitOpError("the geometry attributes with input ")
         << input << " overflow 64-bit integers";
}

/// Checks the geometry attributes and that input, filter and output shapes
/// agree with them (the formula in BregOps.td).
static LogicalResult verifyConvGeometry(Operation *op,
                                        RankedTensorType input,
                                        RankedTensorType filter,
                                        RankedTensorType output,
                                        ArrayRef<int64_t> strides,
                                        ArrayRef<int64_t> padding,
                                        ArrayRef<int64_t> dilations,
                                        int64_t groups) {
  if (strides.size() != 2 || llvm::any_of(strides, [](int64_t s) { return s < 1; }))
    return op->emitOpError("strides must be 2 positive values, got [")
           << strides << "]";
  if (dilations.size() != 2 ||
      llvm::any_of(dilations, [](int64_t d) { return d < 1; }))
    return op->emitOpError("dilations must be 2 positive values, got [")
           << dilations << "]";
  if (padding.size() != 4 || llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return op->emitOpError("padding must be 4 non-negative values [top, left, "
                           "bottom, right], got [")
           << padding << "]";
  for (auto [name, type] : {std::pair<const char *, RankedTensorType>{"input", input},
                            {"filter", filter},
                            {"output", output}}) {
    if (type.getRank() != 4 || !type.hasStaticShape())
      return op->emitOpError() << name << " must be a static 4-D tensor, got "
                               << type;
  }
  int64_t n = input.getDimSize(0), c = input.getDimSize(1);
  int64_t f = filter.getDimSize(0);
  if (c % groups != 0 || f % groups != 0)
    return op->emitOpError("groups (")
           << groups << ") must divide the input channels (" << c
           << ") and the filters (" << f << ")";
  if (filter.getDimSize(1) != c / groups)
    return op->emitOpError("filter ")
           << filter << " must have " << c / groups
           << " channels per filter (input channels " << c << " / groups "
           << groups << ")";
  if (filter.getDimSize(2) < 1 || filter.getDimSize(3) < 1)
    return op->emitOpError("filter ")
           << filter << " must have a positive height and width";
  SmallVector<int64_t, 4> expected = {n, f};
  for (int i = 0; i < 2; ++i) {
    CheckedInt extent =
        CheckedInt(input.getDimSize(2 + i)) + padding[i] + padding[i + 2] -
        CheckedInt(dilations[i]) * (filter.getDimSize(2 + i) - 1) - 1;
    if (extent.overflow)
      return overflowError(op, input);
    if (extent.value < 0)
      return op->emitOpError("the dilated filter ")
             << filter << " is larger than the padded input " << input;
    expected.push_back(extent.value / strides[i] + 1);
  }
  if (output.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError("output shape ")
           << output << " does not match the input, filter and geometry, "
           << "which give [" << ArrayRef<int64_t>(expected) << "]";
  return success();
}

#define BREG_CONV_OP_TYPES(OpTy, input, filter, output)                        \
  RankedTensorType OpTy::getInputType() {                                      \
    return llvm::cast<RankedTensorType>(input.getType());                      \
  }                                                                            \
  RankedTensorType OpTy::getFilterType() {                                     \
    return llvm::cast<RankedTensorType>(filter.getType());                     \
  }                                                                            \
  RankedTensorType OpTy::getOutputType() {                                     \
    return llvm::cast<RankedTensorType>(output.getType());                     \
  }                                                                            \
  LogicalResult OpTy::verify() {                                               \
    return verifyConvGeometry(*this, getInputType(), getFilterType(),          \
                              getOutputType(), getStrides(), getPadding(),     \
                              getDilations(), getGroups());                    \
  }

// Which of (lhs, rhs, result) plays input, filter and output for each op.
BREG_CONV_OP_TYPES(Conv2DOp, getLhs(), getRhs(), getResult())
BREG_CONV_OP_TYPES(Conv2DGradInputOp, getResult(), getRhs(), getLhs())
BREG_CONV_OP_TYPES(Conv2DGradFilterOp, getLhs(), getResult(), getRhs())
#undef BREG_CONV_OP_TYPES

//===----------------------------------------------------------------------===//
// Pooling ops
//===----------------------------------------------------------------------===//

/// Checks the window attributes and that the input and output shapes agree
/// with them (the formula in BregOps.td); channels are never mixed.
static LogicalResult verifyPoolGeometry(Operation *op, RankedTensorType input,
                                        RankedTensorType output,
                                        ArrayRef<int64_t> kernel,
                                        ArrayRef<int64_t> strides,
                                        ArrayRef<int64_t> padding,
                                        ArrayRef<int64_t> dilations) {
  auto positive = [](ArrayRef<int64_t> values) {
    return values.size() == 2 &&
           llvm::all_of(values, [](int64_t v) { return v >= 1; });
  };
  if (!positive(kernel))
    return op->emitOpError("kernel must be 2 positive values, got [")
           << kernel << "]";
  if (!positive(strides))
    return op->emitOpError("strides must be 2 positive values, got [")
           << strides << "]";
  if (!positive(dilations))
    return op->emitOpError("dilations must be 2 positive values, got [")
           << dilations << "]";
  if (padding.size() != 4 ||
      llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return op->emitOpError("padding must be 4 non-negative values [top, left, "
                           "bottom, right], got [")
           << padding << "]";
  for (auto [name, type] :
       {std::pair<const char *, RankedTensorType>{"input", input},
        {"output", output}}) {
    if (type.getRank() != 4 || !type.hasStaticShape())
      return op->emitOpError() << name << " must be a static 4-D tensor, got "
                               << type;
  }
  SmallVector<int64_t, 4> expected = {input.getDimSize(0),
                                      input.getDimSize(1)};
  for (int i = 0; i < 2; ++i) {
    CheckedInt extent = CheckedInt(input.getDimSize(2 + i)) + padding[i] +
                        padding[i + 2] -
                        CheckedInt(dilations[i]) * (kernel[i] - 1) - 1;
    if (extent.overflow)
      return overflowError(op, input);
    if (extent.value < 0)
      return op->emitOpError("the dilated window [")
             << kernel << "] is larger than the padded input " << input;
    expected.push_back(extent.value / strides[i] + 1);
  }
  if (output.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError("output shape ")
           << output << " does not match the input and window, which give ["
           << ArrayRef<int64_t>(expected) << "]";
  return success();
}

#define BREG_POOL_OP_TYPES(OpTy, input, output)                                \
  RankedTensorType OpTy::getInputType() {                                      \
    return llvm::cast<RankedTensorType>(input.getType());                      \
  }                                                                            \
  RankedTensorType OpTy::getOutputType() {                                     \
    return llvm::cast<RankedTensorType>(output.getType());                     \
  }

// Which operand or result plays input and output for each op.
BREG_POOL_OP_TYPES(MaxPool2DOp, getInput(), getResult())
BREG_POOL_OP_TYPES(SumPool2DOp, getInput(), getResult())
BREG_POOL_OP_TYPES(MaxPool2DGradOp, getInput(), getDy())
BREG_POOL_OP_TYPES(SumPool2DGradOp, getResult(), getDy())
#undef BREG_POOL_OP_TYPES

template <typename OpTy> static LogicalResult verifyPoolOp(OpTy op) {
  return verifyPoolGeometry(op, op.getInputType(), op.getOutputType(),
                            op.getKernel(), op.getStrides(), op.getPadding(),
                            op.getDilations());
}

LogicalResult MaxPool2DOp::verify() { return verifyPoolOp(*this); }
LogicalResult SumPool2DOp::verify() { return verifyPoolOp(*this); }
LogicalResult SumPool2DGradOp::verify() { return verifyPoolOp(*this); }

LogicalResult MaxPool2DGradOp::verify() {
  if (getResult().getType() != getInput().getType())
    return emitOpError("result type ")
           << getResult().getType() << " must be the input type "
           << getInput().getType();
  return verifyPoolOp(*this);
}

//===----------------------------------------------------------------------===//
// ArgMaxOp, OneHotOp, DropoutMaskOp
//===----------------------------------------------------------------------===//

LogicalResult ArgMaxOp::verify() {
  auto input = llvm::cast<RankedTensorType>(getInput().getType());
  auto result = llvm::cast<RankedTensorType>(getResult().getType());
  if (input.getRank() < 1 || !input.hasStaticShape())
    return emitOpError("input must be a static tensor of rank >= 1, got ")
           << input;
  if (result.getShape() != input.getShape().drop_back())
    return emitOpError("result shape ")
           << result << " must be the input's without its last dimension, ["
           << input.getShape().drop_back() << "]";
  return success();
}

LogicalResult CompressRowsOp::verify() {
  auto matrix = llvm::cast<RankedTensorType>(getMatrix().getType());
  if (matrix.getRank() != 2 || !matrix.hasStaticShape())
    return emitOpError("matrix must be a static 2-D tensor, got ") << matrix;
  int64_t rows = matrix.getDimSize(0), cols = matrix.getDimSize(1);
  auto shapeIs = [](Value v, int64_t size) {
    auto type = llvm::cast<RankedTensorType>(v.getType());
    return type.getRank() == 1 && type.getDimSize(0) == size;
  };
  // The compaction writes one slot per element read before it knows
  // whether the element is zero: a capacity below O·I could overflow.
  CheckedInt checkedCapacity = CheckedInt(rows) * cols;
  int64_t capacity = checkedCapacity.value;
  if (checkedCapacity.overflow || capacity < 1 ||
      capacity > std::numeric_limits<int32_t>::max())
    return emitOpError("matrix ")
           << matrix << " must have between 1 and 2^31 - 1 elements";
  if (!shapeIs(getPositions(), rows + 1))
    return emitOpError("positions must be tensor<")
           << rows + 1 << "xi32> (rows + 1), got " << getPositions().getType();
  if (!shapeIs(getCoordinates(), capacity) || !shapeIs(getValues(), capacity))
    return emitOpError("coordinates and values must have the capacity rows * "
                       "cols = ")
           << capacity << ", got " << getCoordinates().getType() << " and "
           << getValues().getType();
  if (getInits().empty())
    return success();
  if (getInits().size() != 3)
    return emitOpError("takes no `into` operands or one per result (3), got ")
           << getInits().size();
  for (auto [i, init, result] : llvm::enumerate(getInits(), getResults()))
    if (init.getType() != result.getType())
      return emitOpError("`into` operand ")
             << i << " must have its result's type " << result.getType()
             << ", got " << init.getType();
  return success();
}

LogicalResult SparseConv2DOp::verify() {
  auto input = llvm::cast<RankedTensorType>(getInput().getType());
  auto result = llvm::cast<RankedTensorType>(getResult().getType());
  if (input.getRank() != 4 || !input.hasStaticShape() || result.getRank() != 4 ||
      !result.hasStaticShape())
    return emitOpError("input and result must be static 4-D tensors (NCHW), "
                       "got ")
           << input << " and " << result;
  ArrayRef<int64_t> kernel = getKernel(), padding = getPadding(),
                    dilations = getDilations(), strides = getStrides();
  if (kernel.size() != 2 || padding.size() != 4 || dilations.size() != 2 ||
      strides.size() != 2)
    return emitOpError("kernel, strides and dilations take 2 values and "
                       "padding 4 (top, left, bottom, right)");
  auto positive = [](int64_t v) { return v >= 1; };
  if (!llvm::all_of(kernel, positive) || !llvm::all_of(dilations, positive) ||
      !llvm::all_of(strides, positive) ||
      llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return emitOpError("kernel, strides and dilations must be positive and "
                       "padding non-negative");
  auto isVector = [](Value v) {
    auto type = llvm::cast<RankedTensorType>(v.getType());
    return type.getRank() == 1 && type.hasStaticShape();
  };
  if (!isVector(getPositions()) || !isVector(getCoordinates()) ||
      getCoordinates().getType().getShape() != getValues().getType().getShape())
    return emitOpError("positions, coordinates and values must be static 1-D "
                       "tensors, coordinates and values of one capacity, got ")
           << getPositions().getType() << ", " << getCoordinates().getType()
           << " and " << getValues().getType();
  int64_t rows = getPositions().getType().getDimSize(0) - 1;
  // The lowering keeps each entry's offset in a padded sample in 32 bits.
  // (Its width rounded up to a multiple of the stride: the lowering splits
  // the columns by their phase. Under flip the strides dilate the input.)
  bool flip = getFlip();
  auto extent = [&](int d) {
    int64_t size = input.getDimSize(d + 2);
    return flip ? CheckedInt(strides[d]) * (size - 1) + 1 : CheckedInt(size);
  };
  CheckedInt paddedHeight = extent(0) + padding[0] + padding[2];
  CheckedInt paddedWidth = extent(1) + padding[1] + padding[3];
  CheckedInt spanHeight =
      paddedHeight - CheckedInt(dilations[0]) * (kernel[0] - 1);
  CheckedInt spanWidth =
      paddedWidth - CheckedInt(dilations[1]) * (kernel[1] - 1);
  if (spanHeight.overflow || spanWidth.overflow)
    return overflowError(*this, input);
  CheckedInt sample =
      CheckedInt(input.getDimSize(1)) * paddedHeight.value *
      (CheckedInt(llvm::divideCeil(paddedWidth.value, strides[1])) *
       strides[1]);
  if (sample.overflow)
    return emitOpError("a padded input sample of ")
           << input.getDimSize(1) << " x " << paddedHeight.value << " x "
           << paddedWidth.value << " elements does not fit 32-bit offsets";
  if (sample.value > std::numeric_limits<int32_t>::max())
    return emitOpError("a padded input sample of ")
           << sample.value << " elements does not fit 32-bit offsets";
  int64_t spanH = spanHeight.value, spanW = spanWidth.value;
  int64_t oh = spanH >= 1 && !flip ? (spanH - 1) / strides[0] + 1 : spanH;
  int64_t ow = spanW >= 1 && !flip ? (spanW - 1) / strides[1] + 1 : spanW;
  SmallVector<int64_t> expected{input.getDimSize(0), rows, oh, ow};
  if (rows < 1 || oh < 1 || ow < 1 || result.getShape() != ArrayRef(expected))
    return emitOpError("result must be [N, rows, OH, OW] = [")
           << input.getDimSize(0) << ", " << rows << ", " << oh << ", " << ow
           << "] for input " << input << " and " << rows
           << " CSR rows, got " << result;
  if (getBias() && getBias().getType().getShape() != ArrayRef<int64_t>{rows})
    return emitOpError("bias must be tensor<")
           << rows << "xf32> (one per CSR row), got " << getBias().getType();
  int64_t groups = getGroups();
  int64_t channels = input.getDimSize(1);
  if (groups < 1 || channels % groups != 0 || rows % groups != 0)
    return emitOpError("groups (")
           << groups << ") must be positive and divide the input's " << channels
           << " channels and the " << rows << " CSR rows";
  int64_t capacity = getCoordinates().getType().getDimSize(0);
  CheckedInt checkedMost =
      CheckedInt(channels / groups) * kernel[0] * kernel[1] * rows;
  int64_t most = checkedMost.overflow ? std::numeric_limits<int64_t>::max()
                                      : checkedMost.value;
  if (capacity < 1 || capacity > most)
    return emitOpError("the capacity ")
           << capacity << " must be in [1, rows·(C/groups)·KH·KW = " << most
           << "]";
  return success();
}

LogicalResult OneHotOp::verify() {
  auto labels = llvm::cast<RankedTensorType>(getLabels().getType());
  auto result = llvm::cast<RankedTensorType>(getResult().getType());
  if (labels.getRank() != 1 || result.getRank() != 2 ||
      !result.hasStaticShape())
    return emitOpError("labels must be 1-D and the result static 2-D, got ")
           << labels << " and " << result;
  if (result.getDimSize(0) != labels.getDimSize(0))
    return emitOpError("result ")
           << result << " must have one row per label (" << labels.getDimSize(0)
           << ")";
  return success();
}

LogicalResult DropoutMaskOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError("rate must be in [0, 1), got ") << rate;
  if (!getResult().getType().hasStaticShape())
    return emitOpError("result must have a static shape (the mask hashes the "
                       "linear index), got ")
           << getResult().getType();
  return success();
}
