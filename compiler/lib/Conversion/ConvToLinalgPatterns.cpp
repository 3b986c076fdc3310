//===- ConvToLinalgPatterns.cpp - breg convolutions -> linalg.generic -----===//
//
// The generated (library-free) form of the three convolution ops, used for
// f64, by the GPU pipeline and wherever no library call applies. Groups
// become a dimension of their own (expand_shape), padding an explicit zero
// border, and each op one linalg.generic whose indexing maps carry stride and
// dilation:
//
//   forward      y[n,g,f,oh,ow]  += x[n,g,c, oh·s + kh·d, ow·s + kw·d] · w[g,f,c,kh,kw]
//   grad filter  dw[g,f,c,kh,kw] += x[n,g,c, oh·s + kh·d, ...] · dy[n,g,f,oh,ow]
//   grad input   dx[n,g,c,h,w]   += dy⁺[n,g,f, h + (KH−1−kh)·d, ...] · w[g,f,c,kh,kw]
//
// where dy⁺ is dy spread out by the stride (zeros between) inside a border of
// (KH−1)·d: the transposed convolution written as a plain one, so that every
// loop of the generic has a pure dimension in some operand.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::breg;

namespace {

/// The geometry of one convolution, read off an op.
struct ConvGeometry {
  int64_t n, c, h, w;   // input
  int64_t f, kh, kw;    // filter (F, C/G, KH, KW)
  int64_t oh, ow;       // output
  int64_t strideH, strideW, padTop, padLeft, padBottom, padRight;
  int64_t dilationH, dilationW, groups;
  Type element;

  template <typename OpTy> static ConvGeometry of(OpTy op) {
    RankedTensorType in = op.getInputType(), fl = op.getFilterType(),
                     out = op.getOutputType();
    ArrayRef<int64_t> s = op.getStrides(), p = op.getPadding(),
                      d = op.getDilations();
    return {in.getDimSize(0), in.getDimSize(1), in.getDimSize(2),
            in.getDimSize(3), fl.getDimSize(0), fl.getDimSize(2),
            fl.getDimSize(3), out.getDimSize(2), out.getDimSize(3),
            s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1],
            static_cast<int64_t>(op.getGroups()), in.getElementType()};
  }
  int64_t cg() const { return c / groups; }
  int64_t fg() const { return f / groups; }
  int64_t paddedH() const { return h + padTop + padBottom; }
  int64_t paddedW() const { return w + padLeft + padRight; }
  bool padded() const { return padTop || padLeft || padBottom || padRight; }
};

class ConvBuilder {
public:
  ConvBuilder(PatternRewriter &rewriter, Location loc, const ConvGeometry &g)
      : b(rewriter), loc(loc), g(g) {}

  /// A new tensor of `shape` filled with zeros.
  Value zeros(ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, g.element);
    Value init = bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(g.element, 0.0));
    return linalg::FillOp::create(b, loc, zero, init).getResult(0);
  }

  /// `source` inserted into zeros of `shape` at `offsets` with `strides`.
  Value embed(Value source, ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets,
              ArrayRef<int64_t> strides) {
    auto type = llvm::cast<RankedTensorType>(source.getType());
    return tensor::InsertSliceOp::create(
        b, loc, source, zeros(shape), ValueRange{}, ValueRange{}, ValueRange{},
        offsets, type.getShape(), strides);
  }

  /// The input with its zero border: [N, C, Hp, Wp].
  Value padInput(Value x) {
    if (!g.padded())
      return x;
    return embed(x, {g.n, g.c, g.paddedH(), g.paddedW()},
                 {0, 0, g.padTop, g.padLeft}, {1, 1, 1, 1});
  }

  /// [A, B·C, ...] <-> [A, B, C, ...] around the group dimension.
  Value expand(Value v, ArrayRef<int64_t> shape,
               ArrayRef<ReassociationIndices> reassociation) {
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, g.element), v, reassociation);
  }
  Value collapse(Value v, ArrayRef<ReassociationIndices> reassociation) {
    return tensor::CollapseShapeOp::create(b, loc, v, reassociation);
  }

  /// A multiply-accumulate generic over 8 loops (5 parallel, 3 reduction).
  Value contraction(Value lhs, AffineMap lhsMap, Value rhs, AffineMap rhsMap,
                    ArrayRef<int64_t> resultShape) {
    Value init = zeros(resultShape);
    AffineMap outMap = AffineMap::getMultiDimIdentityMap(8, b.getContext())
                           .getMajorSubMap(5);
    SmallVector<utils::IteratorType> iterators(5, utils::IteratorType::parallel);
    iterators.append(3, utils::IteratorType::reduction);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs},
        ValueRange{init}, ArrayRef<AffineMap>{lhsMap, rhsMap, outMap},
        iterators, [](OpBuilder &nb, Location l, ValueRange args) {
          Value product = arith::MulFOp::create(nb, l, args[0], args[1]);
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], product)});
        });
    return generic.getResult(0);
  }

  AffineExpr dim(unsigned i) { return b.getAffineDimExpr(i); }
  AffineMap map(ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(8, 0, exprs, b.getContext());
  }

  PatternRewriter &b;
  Location loc;
  const ConvGeometry &g;
};

// Reassociations between [N, C, H, W] and [N, G, C/G, H, W] (activations)
// and between [F, C/G, KH, KW] and [G, F/G, C/G, KH, KW] (filters).
const SmallVector<ReassociationIndices> kActivationGroups = {{0}, {1, 2}, {3}, {4}};
const SmallVector<ReassociationIndices> kFilterGroups = {{0, 1}, {2}, {3}, {4}};

struct Conv2DLowering : OpRewritePattern<Conv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DOp op,
                                PatternRewriter &rewriter) const override {
    ConvGeometry g = ConvGeometry::of(op);
    ConvBuilder cb(rewriter, op.getLoc(), g);
    Value x = cb.expand(cb.padInput(op.getLhs()),
                        {g.n, g.groups, g.cg(), g.paddedH(), g.paddedW()},
                        kActivationGroups);
    Value w = cb.expand(op.getRhs(), {g.groups, g.fg(), g.cg(), g.kh, g.kw},
                        kFilterGroups);
    // Loops: n, g, f, oh, ow | c, kh, kw.
    auto d = [&](unsigned i) { return cb.dim(i); };
    AffineMap xMap = cb.map({d(0), d(1), d(5), d(3) * g.strideH + d(6) * g.dilationH,
                             d(4) * g.strideW + d(7) * g.dilationW});
    AffineMap wMap = cb.map({d(1), d(2), d(5), d(6), d(7)});
    Value y = cb.contraction(x, xMap, w, wMap,
                             {g.n, g.groups, g.fg(), g.oh, g.ow});
    rewriter.replaceOp(op, cb.collapse(y, kActivationGroups));
    return success();
  }
};

struct Conv2DGradFilterLowering : OpRewritePattern<Conv2DGradFilterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DGradFilterOp op,
                                PatternRewriter &rewriter) const override {
    ConvGeometry g = ConvGeometry::of(op);
    ConvBuilder cb(rewriter, op.getLoc(), g);
    Value x = cb.expand(cb.padInput(op.getLhs()),
                        {g.n, g.groups, g.cg(), g.paddedH(), g.paddedW()},
                        kActivationGroups);
    Value dy = cb.expand(op.getRhs(), {g.n, g.groups, g.fg(), g.oh, g.ow},
                         kActivationGroups);
    // Loops: g, f, c, kh, kw | n, oh, ow.
    auto d = [&](unsigned i) { return cb.dim(i); };
    AffineMap xMap = cb.map({d(5), d(0), d(2), d(6) * g.strideH + d(3) * g.dilationH,
                             d(7) * g.strideW + d(4) * g.dilationW});
    AffineMap dyMap = cb.map({d(5), d(0), d(1), d(6), d(7)});
    Value dw = cb.contraction(x, xMap, dy, dyMap,
                              {g.groups, g.fg(), g.cg(), g.kh, g.kw});
    rewriter.replaceOp(op, cb.collapse(dw, kFilterGroups));
    return success();
  }
};

struct Conv2DGradInputLowering : OpRewritePattern<Conv2DGradInputOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DGradInputOp op,
                                PatternRewriter &rewriter) const override {
    ConvGeometry g = ConvGeometry::of(op);
    ConvBuilder cb(rewriter, op.getLoc(), g);
    int64_t borderH = (g.kh - 1) * g.dilationH, borderW = (g.kw - 1) * g.dilationW;
    Value dy = cb.expand(op.getLhs(), {g.n, g.groups, g.fg(), g.oh, g.ow},
                         kActivationGroups);
    // dy⁺: dy[oh] at borderH + oh·s, zeros elsewhere.
    Value spread = cb.embed(
        dy, {g.n, g.groups, g.fg(), g.paddedH() + borderH, g.paddedW() + borderW},
        {0, 0, 0, borderH, borderW}, {1, 1, 1, g.strideH, g.strideW});
    Value w = cb.expand(op.getRhs(), {g.groups, g.fg(), g.cg(), g.kh, g.kw},
                        kFilterGroups);
    // Loops: n, g, c, h, w (padded) | f, kh, kw.
    auto d = [&](unsigned i) { return cb.dim(i); };
    AffineMap dyMap = cb.map({d(0), d(1), d(5), d(3) + borderH - d(6) * g.dilationH,
                              d(4) + borderW - d(7) * g.dilationW});
    AffineMap wMap = cb.map({d(1), d(5), d(2), d(6), d(7)});
    Value dx = cb.contraction(spread, dyMap, w, wMap,
                              {g.n, g.groups, g.cg(), g.paddedH(), g.paddedW()});
    dx = cb.collapse(dx, kActivationGroups);
    if (g.padded())
      dx = tensor::ExtractSliceOp::create(
          rewriter, op.getLoc(), op.getInputType(), dx, ValueRange{},
          ValueRange{}, ValueRange{},
          ArrayRef<int64_t>{0, 0, g.padTop, g.padLeft},
          ArrayRef<int64_t>{g.n, g.c, g.h, g.w}, ArrayRef<int64_t>{1, 1, 1, 1});
    rewriter.replaceOp(op, dx);
    return success();
  }
};

} // namespace

void mlir::breg::populateBregConvToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<Conv2DLowering, Conv2DGradFilterLowering, Conv2DGradInputLowering>(
      patterns.getContext());
}
