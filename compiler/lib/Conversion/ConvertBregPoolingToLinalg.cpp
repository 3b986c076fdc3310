//===- ConvertBregPoolingToLinalg.cpp - breg pooling & co. -> linalg ------===//
//
// Pooling, its gradients, argmax, one-hot and the dropout mask become the
// linalg generics the CPU and GPU pipelines were tuned on. The pass runs
// first, before elementwise fusion, so that producers (a ReLU) fuse into the
// all-parallel pooling generics.
//
// Pooling: when the windows tile the input (stride = kernel, no padding or
// dilation, the usual 2×2) the input is viewed as [N, C, OH, KH, OW, KW] and
// pooling, the search for each window's first maximum and the scatter of dy
// are all-parallel generics reading the window's KH·KW values through maps
// with constant indices. Other windows (overlapping, padded, dilated) use a
// reduction generic over (n, c, oh, kh, kw, ow) on an explicitly padded
// input, and a gather generic for the gradient.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <limits>

namespace mlir::breg {
#define GEN_PASS_DEF_CONVERTBREGPOOLINGTOLINALG
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

/// The window of a pooling op (the attributes, see BregOps.td).
struct PoolWindow {
  ArrayRef<int64_t> kernel, strides, padding, dilations;

  template <typename OpTy> static PoolWindow of(OpTy op) {
    return {op.getKernel(), op.getStrides(), op.getPadding(),
            op.getDilations()};
  }
  bool padded() const {
    return llvm::any_of(padding, [](int64_t p) { return p != 0; });
  }
  /// Whether the windows tile an input of `in` into outputs of `out` exactly
  /// (stride = kernel, no padding or dilation).
  bool tiles(ArrayRef<int64_t> in, ArrayRef<int64_t> out) const {
    return strides == kernel && dilations[0] == 1 && dilations[1] == 1 &&
           !padded() && in[2] == out[2] * kernel[0] &&
           in[3] == out[3] * kernel[1];
  }
};

/// Builds the generics of one pooling op at the rewriter's insertion point.
class PoolBuilder {
public:
  PoolBuilder(OpBuilder &b, Location loc, const PoolWindow &w)
      : b(b), loc(loc), w(w), ctx(b.getContext()) {}

  Value pool(Value x, RankedTensorType resultType, bool isMax);
  /// `x` is null for sum pooling.
  Value poolGrad(Value x, Value dy, RankedTensorType resultType, bool isMax);

private:
  Value floatConstant(Type type, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  }
  /// A fresh buffer filled with `v`. It is a `bufferization.alloc_tensor`,
  /// not a `tensor.empty`: CSE would merge identical fills of one
  /// tensor.empty, and bufferization would then copy the shared values for
  /// every consumer but one.
  Value filled(RankedTensorType type, Attribute v) {
    Value init = bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
    Value cst = arith::ConstantOp::create(b, loc, cast<TypedAttr>(v));
    return linalg::FillOp::create(b, loc, cst, init).getResult(0);
  }
  Value filled(RankedTensorType type, double v) {
    return filled(type, b.getFloatAttr(type.getElementType(), v));
  }
  /// `x` inside a border of `value` ([top, left, bottom, right]).
  Value padImage(Value x, double value);
  /// A generic over (n, c, oh, kh, kw, ow) reading the padded input through
  /// the window: pooling forward and the argmax of max pooling.
  linalg::GenericOp windowReduction(
      Value padded, ValueRange inits,
      function_ref<void(OpBuilder &, Location, ValueRange)> body);
  /// The KH·KW values of each tiled window as operands of an all-parallel
  /// generic over the output [N, C, OH, OW].
  void windowOperands(Value x, SmallVectorImpl<Value> &ins,
                      SmallVectorImpl<AffineMap> &maps);
  Value tiledPoolGrad(Value x, Value dy, RankedTensorType resultType,
                      bool isMax);
  /// i32 [N, C, OH, OW]: kh·KW + kw of each (general) window's maximum.
  Value maxPositions(Value x, RankedTensorType dyType);

  OpBuilder &b;
  Location loc;
  const PoolWindow &w;
  MLIRContext *ctx;
};

Value PoolBuilder::padImage(Value x, double value) {
  auto type = llvm::cast<RankedTensorType>(x.getType());
  if (!w.padded())
    return x;
  SmallVector<int64_t> padded = {
      type.getDimSize(0), type.getDimSize(1),
      type.getDimSize(2) + w.padding[0] + w.padding[2],
      type.getDimSize(3) + w.padding[1] + w.padding[3]};
  auto paddedType = RankedTensorType::get(padded, type.getElementType());
  Value init = filled(paddedType, value);
  return tensor::InsertSliceOp::create(
      b, loc, x, init, ValueRange{}, ValueRange{}, ValueRange{},
      ArrayRef<int64_t>{0, 0, w.padding[0], w.padding[1]}, type.getShape(),
      ArrayRef<int64_t>{1, 1, 1, 1});
}

linalg::GenericOp PoolBuilder::windowReduction(
    Value padded, ValueRange inits,
    function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  auto type = llvm::cast<RankedTensorType>(padded.getType());
  // The window operand only gives kh and kw their extents (as the
  // linalg.pooling_* ops do); its values are never read.
  Value windowShape = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{w.kernel[0], w.kernel[1]}, type.getElementType());
  // Loops (n, c, oh | kh, kw | ow): the innermost loop runs along a row of
  // outputs, independent iterations that LLVM vectorizes; each output still
  // sees its window in row-major order (first maximum wins).
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0,
                     {d(0), d(1), d(2) * w.strides[0] + d(3) * w.dilations[0],
                      d(5) * w.strides[1] + d(4) * w.dilations[1]},
                     ctx),
      AffineMap::get(6, 0, {d(3), d(4)}, ctx)};
  for (size_t i = 0; i < inits.size(); ++i)
    maps.push_back(AffineMap::get(6, 0, {d(0), d(1), d(2), d(5)}, ctx));
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel,  IteratorType::parallel,  IteratorType::parallel,
      IteratorType::reduction, IteratorType::reduction, IteratorType::parallel};
  SmallVector<Type> resultTypes;
  for (Value init : inits)
    resultTypes.push_back(init.getType());
  return linalg::GenericOp::create(b, loc, resultTypes,
                                   ValueRange{padded, windowShape}, inits, maps,
                                   iterators, body);
}

void PoolBuilder::windowOperands(Value x, SmallVectorImpl<Value> &ins,
                                 SmallVectorImpl<AffineMap> &maps) {
  // The input viewed as [N, C, OH, KH, OW, KW], read at constant (kh, kw).
  auto type = llvm::cast<RankedTensorType>(x.getType());
  const int64_t kh = w.kernel[0], kw = w.kernel[1];
  SmallVector<int64_t> windowed = {type.getDimSize(0), type.getDimSize(1),
                                   type.getDimSize(2) / kh, kh,
                                   type.getDimSize(3) / kw, kw};
  Value x6 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(windowed, type.getElementType()), x,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4, 5}});
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j) {
      ins.push_back(x6);
      maps.push_back(AffineMap::get(4, 0,
                                    {d(0), d(1), d(2), b.getAffineConstantExpr(i),
                                     d(3), b.getAffineConstantExpr(j)},
                                    ctx));
    }
}

Value PoolBuilder::pool(Value x, RankedTensorType resultType, bool isMax) {
  auto combine = [isMax](OpBuilder &nb, Location l, Value acc, Value v) {
    return isMax ? arith::MaximumFOp::create(nb, l, acc, v).getResult()
                 : arith::AddFOp::create(nb, l, acc, v).getResult();
  };
  auto inType = llvm::cast<RankedTensorType>(x.getType());
  if (w.tiles(inType.getShape(), resultType.getShape())) {
    // One all-parallel pass: a max (or sum) chain over each window's values.
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    windowOperands(x, ins, maps);
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
    Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                         resultType.getElementType());
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
               SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value r = args[0];
                 for (size_t k = 1; k + 1 < args.size(); ++k)
                   r = combine(nb, l, r, args[k]);
                 linalg::YieldOp::create(nb, l, ValueRange{r});
               })
        .getResult(0);
  }
  double identity = isMax ? kMinusInfinity : 0.0;
  Value padded = padImage(x, identity);
  Value init = filled(resultType, identity);
  return windowReduction(padded, ValueRange{init},
                         [&](OpBuilder &nb, Location l, ValueRange args) {
                           linalg::YieldOp::create(
                               nb, l, combine(nb, l, args[2], args[0]));
                         })
      .getResult(0);
}

Value PoolBuilder::maxPositions(Value x, RankedTensorType dyType) {
  Value padded = padImage(x, kMinusInfinity);
  Value best = filled(dyType, kMinusInfinity);
  auto positionType = RankedTensorType::get(dyType.getShape(), b.getI32Type());
  Value init = filled(positionType, b.getI32IntegerAttr(0));
  int64_t kw = w.kernel[1];
  return windowReduction(
             padded, ValueRange{best, init},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value i = linalg::IndexOp::create(nb, l, 3);
               Value j = linalg::IndexOp::create(nb, l, 4);
               Value kwConst = arith::ConstantIndexOp::create(nb, l, kw);
               Value pos = arith::AddIOp::create(
                   nb, l, arith::MulIOp::create(nb, l, i, kwConst), j);
               Value pos32 =
                   arith::IndexCastOp::create(nb, l, nb.getI32Type(), pos);
               // Strictly greater: the first maximum wins ties.
               Value better = arith::CmpFOp::create(
                   nb, l, arith::CmpFPredicate::OGT, args[0], args[2]);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{
                       arith::SelectOp::create(nb, l, better, args[0], args[2]),
                       arith::SelectOp::create(nb, l, better, pos32, args[3])});
             })
      .getResult(1);
}

/// Max pooling's gradient goes to the first maximum of each window (its
/// position kh·KW + kw, found by a strict comparison in row-major order);
/// sum pooling's to every element of the window. Each input element gathers
/// from the windows that contain it.
Value PoolBuilder::poolGrad(Value x, Value dy, RankedTensorType resultType,
                            bool isMax) {
  auto dyType = llvm::cast<RankedTensorType>(dy.getType());
  if (w.tiles(resultType.getShape(), dyType.getShape()))
    return tiledPoolGrad(x, dy, resultType, isMax);
  Type elem = dyType.getElementType();
  int64_t oh = dyType.getDimSize(2), ow = dyType.getDimSize(3);
  Value position = isMax ? maxPositions(x, dyType) : Value();

  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  Value zeroElem = floatConstant(elem, 0.0);
  // General windows (overlapping, padded, dilated): loops (n, c, h, w | kh,
  // kw); the window at (oh, ow) contains (h, w) through (kh, kw) when
  // h + top − kh·d = oh·s for an oh in range (likewise for w).
  Value windowShape = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{w.kernel[0], w.kernel[1]}, elem);
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0, {d(4), d(5)}, ctx),
      AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  Value init = filled(resultType, 0.0);
  const PoolWindow &win = w;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{windowShape},
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               auto idx = [&](int64_t v) -> Value {
                 return arith::ConstantIndexOp::create(nb, l, v);
               };
               Value zero = idx(0);
               Value inside = arith::ConstantIntOp::create(nb, l, 1, 1);
               SmallVector<Value> windowAt;
               for (int a = 0; a < 2; ++a) {
                 Value pixel = linalg::IndexOp::create(nb, l, 2 + a);
                 Value k = linalg::IndexOp::create(nb, l, 4 + a);
                 Value shifted = arith::SubIOp::create(
                     nb, l,
                     arith::AddIOp::create(nb, l, pixel, idx(win.padding[a])),
                     arith::MulIOp::create(nb, l, k, idx(win.dilations[a])));
                 Value stride = idx(win.strides[a]);
                 Value o = arith::DivSIOp::create(nb, l, shifted, stride);
                 Value ok = arith::AndIOp::create(
                     nb, l,
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                           shifted, zero),
                     arith::CmpIOp::create(
                         nb, l, arith::CmpIPredicate::eq,
                         arith::RemSIOp::create(nb, l, shifted, stride), zero));
                 ok = arith::AndIOp::create(
                     nb, l, ok,
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, o,
                                           idx(a == 0 ? oh : ow)));
                 inside = arith::AndIOp::create(nb, l, inside, ok);
                 windowAt.push_back(o);
               }
               // Out-of-range windows read element 0 and are masked below.
               for (Value &o : windowAt)
                 o = arith::SelectOp::create(nb, l, inside, o, zero);
               SmallVector<Value> at = {linalg::IndexOp::create(nb, l, 0),
                                        linalg::IndexOp::create(nb, l, 1),
                                        windowAt[0], windowAt[1]};
               Value g = tensor::ExtractOp::create(nb, l, dy, at);
               Value take = inside;
               if (isMax) {
                 Value pos = arith::AddIOp::create(
                     nb, l,
                     arith::MulIOp::create(nb, l,
                                           linalg::IndexOp::create(nb, l, 4),
                                           idx(win.kernel[1])),
                     linalg::IndexOp::create(nb, l, 5));
                 Value pos32 =
                     arith::IndexCastOp::create(nb, l, nb.getI32Type(), pos);
                 Value best = tensor::ExtractOp::create(nb, l, position, at);
                 take = arith::AndIOp::create(
                     nb, l, take,
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                           pos32, best));
               }
               Value contribution =
                   arith::SelectOp::create(nb, l, take, g, zeroElem);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::AddFOp::create(nb, l, args[1], contribution)});
             })
      .getResult(0);
}

/// Windows that tile the input: every map is a projection, possibly with
/// constant indices. Max pooling: one all-parallel pass finds each window's
/// first maximum from its KH·KW values (a compare chain in row-major order), a
/// second writes dy there and zeros elsewhere. Sum pooling: dy broadcast over
/// each window.
Value PoolBuilder::tiledPoolGrad(Value x, Value dy, RankedTensorType resultType,
                                 bool isMax) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1];
  auto dyType = llvm::cast<RankedTensorType>(dy.getType());
  Type elem = dyType.getElementType();
  ArrayRef<int64_t> in = resultType.getShape();
  SmallVector<int64_t> windowed = {in[0], in[1], dyType.getDimSize(2), kh,
                                   dyType.getDimSize(3), kw};
  SmallVector<ReassociationIndices> toWindows = {{0}, {1}, {2, 3}, {4, 5}};
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };

  Value position;
  if (isMax) {
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    windowOperands(x, ins, maps);
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
    auto positionType = RankedTensorType::get(dyType.getShape(), b.getI32Type());
    Value init = tensor::EmptyOp::create(b, loc, positionType.getShape(),
                                         b.getI32Type());
    position =
        linalg::GenericOp::create(
            b, loc, TypeRange{positionType}, ins, ValueRange{init}, maps,
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value best = args[0];
              Value pos = arith::ConstantIntOp::create(nb, l, 0, 32);
              for (int64_t k = 1; k < kh * kw; ++k) {
                Value better = arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::OGT, args[k], best);
                best = arith::SelectOp::create(nb, l, better, args[k], best);
                pos = arith::SelectOp::create(
                    nb, l, better, arith::ConstantIntOp::create(nb, l, k, 32),
                    pos);
              }
              linalg::YieldOp::create(nb, l, ValueRange{pos});
            })
            .getResult(0);
  }
  AffineMap windowOf = AffineMap::get(6, 0, {d(0), d(1), d(2), d(4)}, ctx);
  SmallVector<Value> ins = {dy};
  SmallVector<AffineMap> maps = {windowOf};
  if (isMax) {
    ins.push_back(position);
    maps.push_back(windowOf);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(6, ctx));
  Value init = tensor::EmptyOp::create(b, loc, windowed, elem);
  Value zero = floatConstant(elem, 0.0);
  Value dx6 =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            if (!isMax) {
              linalg::YieldOp::create(nb, l, ValueRange{args[0]});
              return;
            }
            Value i = arith::IndexCastOp::create(
                nb, l, nb.getI32Type(), linalg::IndexOp::create(nb, l, 3));
            Value j = arith::IndexCastOp::create(
                nb, l, nb.getI32Type(), linalg::IndexOp::create(nb, l, 5));
            Value me = arith::AddIOp::create(
                nb, l,
                arith::MulIOp::create(
                    nb, l, i, arith::ConstantIntOp::create(nb, l, kw, 32)),
                j);
            Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                              me, args[1]);
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::SelectOp::create(nb, l, hit, args[0], zero)});
          })
          .getResult(0);
  return tensor::CollapseShapeOp::create(b, loc, dx6, toWindows);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

template <typename OpTy, bool isMax>
struct PoolLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    PoolWindow w = PoolWindow::of(op);
    PoolBuilder builder(rewriter, op.getLoc(), w);
    rewriter.replaceOp(op, builder.pool(op.getInput(), op.getOutputType(),
                                        isMax));
    return success();
  }
};

struct MaxPoolGradLowering : OpRewritePattern<MaxPool2DGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MaxPool2DGradOp op,
                                PatternRewriter &rewriter) const override {
    PoolWindow w = PoolWindow::of(op);
    PoolBuilder builder(rewriter, op.getLoc(), w);
    rewriter.replaceOp(op, builder.poolGrad(op.getInput(), op.getDy(),
                                            op.getInputType(), /*isMax=*/true));
    return success();
  }
};

struct SumPoolGradLowering : OpRewritePattern<SumPool2DGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SumPool2DGradOp op,
                                PatternRewriter &rewriter) const override {
    PoolWindow w = PoolWindow::of(op);
    PoolBuilder builder(rewriter, op.getLoc(), w);
    rewriter.replaceOp(op, builder.poolGrad(Value(), op.getDy(),
                                            op.getInputType(),
                                            /*isMax=*/false));
    return success();
  }
};

/// One reduction generic along the last axis carrying (best value, index);
/// a strict comparison keeps the first maximum. NaN counts as the largest
/// value, as in NumPy, JAX and PyTorch: x wins when x > best or x is NaN
/// (`ugt`), unless best already is NaN (`ord`), so the first NaN is kept.
struct ArgMaxLowering : OpRewritePattern<ArgMaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ArgMaxOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto inType = llvm::cast<RankedTensorType>(op.getInput().getType());
    auto resultType = llvm::cast<RankedTensorType>(op.getResult().getType());
    int64_t rank = inType.getRank();
    SmallVector<AffineExpr> kept;
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    for (int64_t i = 0; i + 1 < rank; ++i)
      kept.push_back(b.getAffineDimExpr(i));
    AffineMap outMap = AffineMap::get(rank, 0, kept, ctx);
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                   outMap, outMap};
    Type floatType = inType.getElementType();
    auto bestType = RankedTensorType::get(resultType.getShape(), floatType);
    Value bestInit = bufferization::AllocTensorOp::create(b, loc, bestType,
                                                         ValueRange{});
    Value minusInf = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(floatType, kMinusInfinity));
    bestInit = linalg::FillOp::create(b, loc, minusInf, bestInit).getResult(0);
    Value indexInit = bufferization::AllocTensorOp::create(b, loc, resultType,
                                                          ValueRange{});
    Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    indexInit = linalg::FillOp::create(b, loc, zero, indexInit).getResult(0);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{bestType, resultType}, ValueRange{op.getInput()},
        ValueRange{bestInit, indexInit}, maps, iterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value idx = linalg::IndexOp::create(nb, l, rank - 1);
          Value idx32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), idx);
          Value greaterOrNaN = arith::CmpFOp::create(
              nb, l, arith::CmpFPredicate::UGT, args[0], args[1]);
          Value bestIsNumber = arith::CmpFOp::create(
              nb, l, arith::CmpFPredicate::ORD, args[1], args[1]);
          Value better =
              arith::AndIOp::create(nb, l, greaterOrNaN, bestIsNumber);
          Value best = arith::SelectOp::create(nb, l, better, args[0], args[1]);
          Value index = arith::SelectOp::create(nb, l, better, idx32, args[2]);
          linalg::YieldOp::create(nb, l, ValueRange{best, index});
        });
    b.replaceOp(op, generic.getResult(1));
    return success();
  }
};

struct OneHotLowering : OpRewritePattern<OneHotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OneHotOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto resultType = llvm::cast<RankedTensorType>(op.getResult().getType());
    Type elem = resultType.getElementType();
    SmallVector<AffineMap> maps = {
        AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx),
        AffineMap::getMultiDimIdentityMap(2, ctx)};
    SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
    Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(), elem);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{op.getLabels()},
        ValueRange{init}, maps, iterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value idx = linalg::IndexOp::create(nb, l, 1);
          Value idx32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), idx);
          Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                            idx32, args[0]);
          Value one =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 1.0));
          Value zero =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 0.0));
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::SelectOp::create(nb, l, hit, one, zero)});
        });
    b.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// The hash of BregOps.td, in i64 arithmetic masked to 32 bits, of the
/// row-major linear index of the generic's element.
static Value dropoutHash(OpBuilder &nb, Location l, ArrayRef<int64_t> shape,
                         Value seed) {
  auto i64 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(nb, l, v, 64);
  };
  Value linear = i64(0);
  for (int64_t d = 0, rank = shape.size(); d < rank; ++d) {
    Value idx = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                           linalg::IndexOp::create(nb, l, d));
    linear = arith::AddIOp::create(
        nb, l, arith::MulIOp::create(nb, l, linear, i64(shape[d])), idx);
  }
  Value s64 = arith::ExtUIOp::create(nb, l, nb.getI64Type(), seed);
  Value h = arith::XOrIOp::create(
      nb, l, linear, arith::MulIOp::create(nb, l, s64, i64(0x9E3779B9)));
  Value mask32 = i64(0xFFFFFFFF);
  auto mix = [&](Value v, int shift) {
    return arith::XOrIOp::create(nb, l, v,
                                 arith::ShRUIOp::create(nb, l, v, i64(shift)));
  };
  auto mulMasked = [&](Value v, int64_t factor) {
    return arith::AndIOp::create(
        nb, l, arith::MulIOp::create(nb, l, v, i64(factor)), mask32);
  };
  h = arith::AndIOp::create(nb, l, h, mask32);
  h = mix(h, 16);
  h = mulMasked(h, 0x85EBCA6B);
  h = mix(h, 13);
  h = mulMasked(h, 0xC2B2AE35);
  return mix(h, 16);
}

struct DropoutMaskLowering : OpRewritePattern<DropoutMaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DropoutMaskOp op,
                                PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto resultType = llvm::cast<RankedTensorType>(op.getResult().getType());
    ArrayRef<int64_t> shape = resultType.getShape();
    int64_t rank = shape.size();
    Type elem = resultType.getElementType();
    double rate = op.getRate().convertToDouble();
    Value seed = op.getSeed();
    Value init = tensor::EmptyOp::create(b, loc, shape, elem);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{
            AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
        iterators, [&](OpBuilder &nb, Location l, ValueRange) {
          Value h = dropoutHash(nb, l, shape, seed);
          Value keep = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::uge, h,
              arith::ConstantIntOp::create(
                  nb, l, static_cast<int64_t>(rate * 4294967296.0), 64));
          Value scale = arith::ConstantOp::create(
              nb, l, nb.getFloatAttr(elem, 1.0 / (1.0 - rate)));
          Value zero =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 0.0));
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::SelectOp::create(nb, l, keep, scale, zero)});
        });
    b.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ConvertBregPoolingToLinalgPass
    : breg::impl::ConvertBregPoolingToLinalgBase<
          ConvertBregPoolingToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateBregPoolingToLinalgPatterns(patterns);
    // One walk, no folding: the generics come out exactly as built, in
    // place of their op, for the pipelines' fusion to see.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace

void mlir::breg::populateBregPoolingToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<PoolLowering<MaxPool2DOp, true>,
               PoolLowering<SumPool2DOp, false>, MaxPoolGradLowering,
               SumPoolGradLowering, ArgMaxLowering, OneHotLowering,
               DropoutMaskLowering>(patterns.getContext());
}
