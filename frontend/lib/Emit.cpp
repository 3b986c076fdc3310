//===- Emit.cpp - Trace -> MLIR on tensors --------------------------------===//
//
// One function per trace. Elementwise primitives become linalg.generic with
// NumPy broadcasting expressed by indexing maps (unit dimensions that
// broadcast are collapsed away first, so every map is a projected
// permutation and elementwise fusion applies); reductions are generics with
// reduction iterators; matmul is linalg.matmul (transposes in its indexing
// maps) that the CPU pipeline hands to BLAS; Bregman updates are breg ops.
//
//===----------------------------------------------------------------------===//

#include "Emit.h"

#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <fmt/format.h>
#include <limits>

using namespace mlir;

namespace bregman::detail {
namespace {

class Emitter {
public:
  Emitter(MLIRContext &ctx, const EmitSpec &spec)
      : ctx(ctx), spec(spec), trace(*spec.trace), b(&ctx),
        loc(UnknownLoc::get(&ctx)) {}

  OwningOpRef<ModuleOp> run();

private:
  Type elementType(DType dtype) {
    switch (dtype) {
    case DType::F32: return b.getF32Type();
    case DType::F64: return b.getF64Type();
    case DType::I32: return b.getI32Type();
    }
    return {};
  }
  RankedTensorType tensorType(int value) {
    const ValueInfo &info = trace.value(value);
    return RankedTensorType::get(info.shape, elementType(info.dtype));
  }
  MemRefType memrefType(int value) {
    const ValueInfo &info = trace.value(value);
    return MemRefType::get(info.shape, elementType(info.dtype));
  }
  Location nodeLoc(const Node &node, int index) {
    return NameLoc::get(
        b.getStringAttr(fmt::format("{}#{}", primName(node.prim), index)));
  }

  Value emptyLike(int value) {
    RankedTensorType t = tensorType(value);
    return tensor::EmptyOp::create(b, loc, t.getShape(), t.getElementType());
  }
  Value floatConstant(Type type, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  }
  /// A fresh buffer filled with `v` (the init of a matmul or reduction). It
  /// is a `bufferization.alloc_tensor`, not a `tensor.empty`: CSE would merge
  /// identical fills of one tensor.empty, and bufferization would then copy
  /// the shared zeros for every consumer but one.
  Value filled(int value, double v) {
    RankedTensorType type = tensorType(value);
    Value init = bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
    Value cst = floatConstant(tensorType(value).getElementType(), v);
    return linalg::FillOp::create(b, loc, cst, init).getResult(0);
  }

  /// Collapses the dimensions in `drop` (all of size 1) out of `v`.
  Value collapseUnitDims(Value v, const std::vector<bool> &drop);
  /// Reshapes `v` to `shape` (same element count) through rank 1.
  Value reshapeTo(Value v, const Shape &shape);
  /// Operand `v` of shape `from` read inside a loop nest over `to` (NumPy
  /// broadcasting): returns the operand to use and its indexing map.
  std::pair<Value, AffineMap> broadcastOperand(Value v, const Shape &from,
                                               const Shape &to);
  /// A parallel generic over `resultValue`'s shape with broadcast operands.
  Value elementwise(int resultValue, const std::vector<int> &operands,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> body);
  Value reduction(const Node &node, bool isMax);
  Value argmax(const Node &node);
  Value oneHot(const Node &node);
  Value matmul(const Node &node);
  Value convolution(const Node &node);
  /// `x` inside a border of `value` ([top, left, bottom, right] of `w`).
  Value padImage(Value x, const Window &w, double value);
  /// A generic over (n, c, oh, kh, kw, ow) reading the padded input through
  /// the window: pooling forward and the argmax of max pooling.
  linalg::GenericOp windowReduction(
      Value padded, const Window &w, ValueRange inits,
      function_ref<void(OpBuilder &, Location, ValueRange)> body);
  Value pool(const Node &node, bool isMax);
  Value dropoutMask(const Node &node);
  Value poolGrad(const Node &node, bool isMax);
  Value tiledPoolGrad(const Node &node, bool isMax);
  void bregUpdate(const Node &node);
  Value scalarOf(int value) {
    return tensor::ExtractOp::create(b, loc, values.at(value), ValueRange{});
  }
  breg::RegularizerAttrInterface regularizer(Regularizer reg) {
    switch (reg) {
    case Regularizer::None: return breg::NoneRegAttr::get(&ctx);
    case Regularizer::L1: return breg::L1RegAttr::get(&ctx);
    case Regularizer::L1Pos: return breg::L1PosRegAttr::get(&ctx);
    case Regularizer::L1L2: return breg::L1L2RegAttr::get(&ctx);
    case Regularizer::L1L2Conv: return breg::L1L2ConvRegAttr::get(&ctx);
    case Regularizer::L1L1L2: return breg::L1L1L2RegAttr::get(&ctx);
    }
    return {};
  }

  void emitNode(const Node &node, int index);

  MLIRContext &ctx;
  const EmitSpec &spec;
  const Trace &trace;
  OpBuilder b;
  Location loc;
  std::vector<Value> values{std::vector<Value>(trace.values().size())};
};

Value Emitter::collapseUnitDims(Value v, const std::vector<bool> &drop) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    pending.push_back(i);
    if (!drop[i]) {
      groups.push_back(pending);
      pending.clear();
      shape.push_back(type.getDimSize(i));
    }
  }
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::CollapseShapeOp::create(b, loc, resultType, v, groups);
}

Value Emitter::reshapeTo(Value v, const Shape &shape) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type == target)
    return v;
  Value flat = v;
  if (type.getRank() != 1) {
    SmallVector<ReassociationIndices> all;
    if (type.getRank() > 0) {
      all.emplace_back();
      for (int64_t i = 0; i < type.getRank(); ++i)
        all.back().push_back(i);
    }
    if (shape.empty() && type.getRank() > 0) // to rank 0: collapse directly
      return tensor::CollapseShapeOp::create(b, loc, target, v,
                                             SmallVector<ReassociationIndices>{});
    if (type.getRank() == 0) // from rank 0: expand directly
      return tensor::ExpandShapeOp::create(b, loc, target, v,
                                           SmallVector<ReassociationIndices>{});
    auto flatType = RankedTensorType::get({type.getNumElements()},
                                          type.getElementType());
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, v, all);
  }
  if (shape.size() == 1)
    return flat;
  if (shape.empty())
    return tensor::CollapseShapeOp::create(b, loc, target, flat,
                                           SmallVector<ReassociationIndices>{});
  ReassociationIndices all;
  for (size_t i = 0; i < shape.size(); ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, target, flat,
                                       SmallVector<ReassociationIndices>{all});
}

std::pair<Value, AffineMap>
Emitter::broadcastOperand(Value v, const Shape &from, const Shape &to) {
  int64_t rank = to.size(), offset = rank - from.size();
  std::vector<bool> drop(from.size(), false);
  bool anyDropped = false;
  SmallVector<AffineExpr> exprs;
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i] == 1 && to[offset + i] != 1) {
      drop[i] = anyDropped = true;
      continue;
    }
    exprs.push_back(b.getAffineDimExpr(offset + i));
  }
  if (anyDropped)
    v = collapseUnitDims(v, drop);
  return {v, AffineMap::get(rank, 0, exprs, &ctx)};
}

Value Emitter::elementwise(
    int resultValue, const std::vector<int> &operands,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  const Shape &shape = trace.value(resultValue).shape;
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (int operand : operands) {
    auto [v, map] =
        broadcastOperand(values.at(operand), trace.value(operand).shape, shape);
    ins.push_back(v);
    maps.push_back(map);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(shape.size(), &ctx));
  SmallVector<utils::IteratorType> iterators(shape.size(),
                                             utils::IteratorType::parallel);
  Value init = emptyLike(resultValue);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args));
      });
  return generic.getResult(0);
}

Value Emitter::reduction(const Node &node, bool isMax) {
  int input = node.inputs[0], result = node.outputs[0];
  const Shape &shape = trace.value(input).shape;
  SmallVector<AffineExpr> kept;
  SmallVector<utils::IteratorType> iterators;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool reduced = std::find(node.attrs.axes.begin(), node.attrs.axes.end(),
                             static_cast<int64_t>(i)) != node.attrs.axes.end();
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!reduced)
      kept.push_back(b.getAffineDimExpr(i));
  }
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(shape.size(), &ctx),
      AffineMap::get(shape.size(), 0, kept, &ctx)};
  Value init = filled(result, isMax ? -std::numeric_limits<double>::infinity()
                                    : 0.0);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{values.at(input)},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value r = isMax ? arith::MaximumFOp::create(nb, l, args[0], args[1])
                              .getResult()
                        : arith::AddFOp::create(nb, l, args[0], args[1])
                              .getResult();
        linalg::YieldOp::create(nb, l, r);
      });
  return generic.getResult(0);
}

Value Emitter::argmax(const Node &node) {
  int input = node.inputs[0], result = node.outputs[0];
  const Shape &shape = trace.value(input).shape;
  int64_t rank = shape.size();
  SmallVector<AffineExpr> kept;
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  for (int64_t i = 0; i + 1 < rank; ++i)
    kept.push_back(b.getAffineDimExpr(i));
  AffineMap outMap = AffineMap::get(rank, 0, kept, &ctx);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, &ctx),
                                 outMap, outMap};
  Type floatType = tensorType(input).getElementType();
  auto bestType = RankedTensorType::get(trace.value(result).shape, floatType);
  Value bestInit = bufferization::AllocTensorOp::create(b, loc, bestType,
                                                       ValueRange{});
  bestInit = linalg::FillOp::create(
                 b, loc,
                 floatConstant(floatType, -std::numeric_limits<double>::infinity()),
                 bestInit)
                 .getResult(0);
  Value indexInit = bufferization::AllocTensorOp::create(
      b, loc, tensorType(result), ValueRange{});
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  indexInit = linalg::FillOp::create(b, loc, zero, indexInit).getResult(0);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{bestType, indexInit.getType()},
      ValueRange{values.at(input)}, ValueRange{bestInit, indexInit}, maps,
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        // Strictly greater: the first maximum wins ties.
        Value idx = linalg::IndexOp::create(nb, l, rank - 1);
        Value idx32 =
            arith::IndexCastOp::create(nb, l, nb.getI32Type(), idx);
        Value better = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                             args[0], args[1]);
        Value best = arith::SelectOp::create(nb, l, better, args[0], args[1]);
        Value index = arith::SelectOp::create(nb, l, better, idx32, args[2]);
        linalg::YieldOp::create(nb, l, ValueRange{best, index});
      });
  return generic.getResult(1);
}

Value Emitter::oneHot(const Node &node) {
  int result = node.outputs[0];
  Type elem = tensorType(result).getElementType();
  SmallVector<AffineMap> maps = {
      AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, &ctx),
      AffineMap::getMultiDimIdentityMap(2, &ctx)};
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  Value init = emptyLike(result);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{values.at(node.inputs[0])},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value idx = linalg::IndexOp::create(nb, l, 1);
        Value idx32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), idx);
        Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                          idx32, args[0]);
        Value one = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 1.0));
        Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 0.0));
        linalg::YieldOp::create(nb, l,
                                ValueRange{arith::SelectOp::create(nb, l, hit, one, zero)});
      });
  return generic.getResult(0);
}

Value Emitter::matmul(const Node &node) {
  bool ta = node.attrs.transposeA, tb = node.attrs.transposeB;
  AffineExpr m = b.getAffineDimExpr(0), n = b.getAffineDimExpr(1),
             k = b.getAffineDimExpr(2);
  AffineMap mapA = AffineMap::get(3, 0, ta ? SmallVector<AffineExpr>{k, m}
                                           : SmallVector<AffineExpr>{m, k}, &ctx);
  AffineMap mapB = AffineMap::get(3, 0, tb ? SmallVector<AffineExpr>{n, k}
                                           : SmallVector<AffineExpr>{k, n}, &ctx);
  AffineMap mapC = AffineMap::get(3, 0, {m, n}, &ctx);
  Value init = filled(node.outputs[0], 0.0);
  auto op = linalg::MatmulOp::create(
      b, loc, TypeRange{init.getType()},
      ValueRange{values.at(node.inputs[0]), values.at(node.inputs[1])},
      ValueRange{init});
  op.setIndexingMapsAttr(b.getAffineMapArrayAttr({mapA, mapB, mapC}));
  return op.getResult(0);
}

Value Emitter::convolution(const Node &node) {
  const Window &w = node.attrs.window;
  Type type = tensorType(node.outputs[0]);
  Value lhs = values.at(node.inputs[0]), rhs = values.at(node.inputs[1]);
  auto strides = b.getDenseI64ArrayAttr(w.strides);
  auto padding = b.getDenseI64ArrayAttr(w.padding);
  auto dilations = b.getDenseI64ArrayAttr(w.dilations);
  auto groups = b.getI64IntegerAttr(w.groups);
  switch (node.prim) {
  case Prim::Conv2d:
    return breg::Conv2DOp::create(b, loc, type, lhs, rhs, strides, padding,
                                  dilations, groups);
  case Prim::Conv2dGradInput:
    return breg::Conv2DGradInputOp::create(b, loc, type, lhs, rhs, strides,
                                           padding, dilations, groups);
  default:
    return breg::Conv2DGradFilterOp::create(b, loc, type, lhs, rhs, strides,
                                            padding, dilations, groups);
  }
}

Value Emitter::padImage(Value x, const Window &w, double value) {
  auto type = llvm::cast<RankedTensorType>(x.getType());
  if (w.padding == std::array<int64_t, 4>{0, 0, 0, 0})
    return x;
  Shape padded = {type.getDimSize(0), type.getDimSize(1),
                  type.getDimSize(2) + w.padding[0] + w.padding[2],
                  type.getDimSize(3) + w.padding[1] + w.padding[3]};
  auto paddedType = RankedTensorType::get(padded, type.getElementType());
  Value init = bufferization::AllocTensorOp::create(b, loc, paddedType, ValueRange{});
  init = linalg::FillOp::create(b, loc, floatConstant(type.getElementType(), value),
                                init)
             .getResult(0);
  return tensor::InsertSliceOp::create(
      b, loc, x, init, ValueRange{}, ValueRange{}, ValueRange{},
      ArrayRef<int64_t>{0, 0, w.padding[0], w.padding[1]}, type.getShape(),
      ArrayRef<int64_t>{1, 1, 1, 1});
}

linalg::GenericOp Emitter::windowReduction(
    Value padded, const Window &w, ValueRange inits,
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
                     &ctx),
      AffineMap::get(6, 0, {d(3), d(4)}, &ctx)};
  for (size_t i = 0; i < inits.size(); ++i)
    maps.push_back(AffineMap::get(6, 0, {d(0), d(1), d(2), d(5)}, &ctx));
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

/// Whether the windows tile an input of `in` into outputs of `out` exactly
/// (stride = kernel, no padding or dilation).
static bool tiles(const Window &w, const Shape &in, const Shape &out) {
  return w.strides == w.kernel && w.dilations == std::array<int64_t, 2>{1, 1} &&
         w.padding == std::array<int64_t, 4>{0, 0, 0, 0} &&
         in[2] == out[2] * w.kernel[0] && in[3] == out[3] * w.kernel[1];
}

/// The KH·KW values of each tiled window as operands of an all-parallel
/// generic over the output [N, C, OH, OW]: views of the input as
/// [N, C, OH, KH, OW, KW] read at constant (kh, kw).
static void windowOperands(OpBuilder &b, Location loc, Value x,
                           const Window &w, SmallVectorImpl<Value> &ins,
                           SmallVectorImpl<AffineMap> &maps) {
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
                                    b.getContext()));
    }
}

Value Emitter::pool(const Node &node, bool isMax) {
  const Window &w = node.attrs.window;
  if (tiles(w, trace.value(node.inputs[0]).shape, trace.value(node.outputs[0]).shape)) {
    // One all-parallel pass: a max (or sum) chain over each window's values.
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    windowOperands(b, loc, values.at(node.inputs[0]), w, ins, maps);
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, &ctx));
    Value init = emptyLike(node.outputs[0]);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
               SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value r = args[0];
                 for (size_t k = 1; k + 1 < args.size(); ++k)
                   r = isMax ? arith::MaximumFOp::create(nb, l, r, args[k]).getResult()
                             : arith::AddFOp::create(nb, l, r, args[k]).getResult();
                 linalg::YieldOp::create(nb, l, ValueRange{r});
               })
        .getResult(0);
  }
  double identity = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  Value padded = padImage(values.at(node.inputs[0]), w, identity);
  Value init = filled(node.outputs[0], identity);
  return windowReduction(
             padded, w, ValueRange{init},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value r = isMax ? arith::MaximumFOp::create(nb, l, args[2], args[0])
                                     .getResult()
                               : arith::AddFOp::create(nb, l, args[2], args[0])
                                     .getResult();
               linalg::YieldOp::create(nb, l, r);
             })
      .getResult(0);
}

/// Max pooling's gradient goes to the first maximum of each window (its
/// position kh·KW + kw, found by a strict comparison in row-major order);
/// sum pooling's to every element of the window. Each input element gathers
/// from the windows that contain it.
Value Emitter::poolGrad(const Node &node, bool isMax) {
  const Window &w = node.attrs.window;
  if (tiles(w, trace.value(node.outputs[0]).shape,
            trace.value(node.inputs[isMax ? 1 : 0]).shape))
    return tiledPoolGrad(node, isMax);
  int dyValue = node.inputs[isMax ? 1 : 0];
  Value dy = values.at(dyValue);
  auto dyType = llvm::cast<RankedTensorType>(dy.getType());
  Type elem = dyType.getElementType();
  int64_t oh = dyType.getDimSize(2), ow = dyType.getDimSize(3);

  Value position; // i32 [N, C, OH, OW]: kh·KW + kw of each window's maximum
  if (isMax) {
    Value padded = padImage(values.at(node.inputs[0]), w,
                            -std::numeric_limits<double>::infinity());
    Value best = bufferization::AllocTensorOp::create(b, loc, dyType, ValueRange{});
    best = linalg::FillOp::create(
               b, loc,
               floatConstant(elem, -std::numeric_limits<double>::infinity()), best)
               .getResult(0);
    auto positionType = RankedTensorType::get(dyType.getShape(), b.getI32Type());
    Value init = bufferization::AllocTensorOp::create(b, loc, positionType,
                                                     ValueRange{});
    Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
    int64_t kw = w.kernel[1];
    position = windowReduction(
                   padded, w, ValueRange{best, init},
                   [&](OpBuilder &nb, Location l, ValueRange args) {
                     Value i = linalg::IndexOp::create(nb, l, 3);
                     Value j = linalg::IndexOp::create(nb, l, 4);
                     Value kwConst = arith::ConstantIndexOp::create(nb, l, kw);
                     Value pos = arith::AddIOp::create(
                         nb, l, arith::MulIOp::create(nb, l, i, kwConst), j);
                     Value pos32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), pos);
                     Value better = arith::CmpFOp::create(
                         nb, l, arith::CmpFPredicate::OGT, args[0], args[2]);
                     linalg::YieldOp::create(
                         nb, l,
                         ValueRange{arith::SelectOp::create(nb, l, better, args[0], args[2]),
                                    arith::SelectOp::create(nb, l, better, pos32, args[3])});
                   })
                   .getResult(1);
  }

  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  SmallVector<utils::IteratorType> parallel(4, utils::IteratorType::parallel);
  Value zeroElem = floatConstant(elem, 0.0);
  // General windows (overlapping, padded, dilated): loops (n, c, h, w | kh,
  // kw); the window at (oh, ow) contains (h, w) through (kh, kw) when
  // h + top − kh·d = oh·s for an oh in range (likewise for w).
  Value windowShape = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{w.kernel[0], w.kernel[1]}, elem);
  SmallVector<AffineMap> maps = {AffineMap::get(6, 0, {d(4), d(5)}, &ctx),
                                 AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, &ctx)};
  SmallVector<utils::IteratorType> iterators = parallel;
  iterators.append(2, utils::IteratorType::reduction);
  Value init = filled(node.outputs[0], 0.0);
  int64_t kwExtent = w.kernel[1];
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
                     nb, l, arith::AddIOp::create(nb, l, pixel, idx(w.padding[a])),
                     arith::MulIOp::create(nb, l, k, idx(w.dilations[a])));
                 Value stride = idx(w.strides[a]);
                 Value o = arith::DivSIOp::create(nb, l, shifted, stride);
                 Value ok = arith::AndIOp::create(
                     nb, l,
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, shifted, zero),
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
                     arith::MulIOp::create(nb, l, linalg::IndexOp::create(nb, l, 4),
                                           idx(kwExtent)),
                     linalg::IndexOp::create(nb, l, 5));
                 Value pos32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), pos);
                 Value best = tensor::ExtractOp::create(nb, l, position, at);
                 take = arith::AndIOp::create(
                     nb, l, take,
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, pos32, best));
               }
               Value contribution = arith::SelectOp::create(nb, l, take, g, zeroElem);
               linalg::YieldOp::create(
                   nb, l, ValueRange{arith::AddFOp::create(nb, l, args[1], contribution)});
             })
      .getResult(0);
}

/// Windows that tile the input (stride = kernel, no padding or dilation, the
/// usual 2×2 pooling): the input is viewed as [N, C, OH, KH, OW, KW], so every
/// map is a projection, possibly with constant indices. Max pooling: one
/// all-parallel pass finds each window's first maximum from its KH·KW values
/// (a compare chain in row-major order), a second writes dy there and zeros
/// elsewhere. Sum pooling: dy broadcast over each window.
Value Emitter::tiledPoolGrad(const Node &node, bool isMax) {
  const Window &w = node.attrs.window;
  const int64_t kh = w.kernel[0], kw = w.kernel[1];
  Value dy = values.at(node.inputs[isMax ? 1 : 0]);
  auto dyType = llvm::cast<RankedTensorType>(dy.getType());
  Type elem = dyType.getElementType();
  const Shape &in = trace.value(node.outputs[0]).shape;
  Shape windowed = {in[0], in[1], dyType.getDimSize(2), kh, dyType.getDimSize(3), kw};
  SmallVector<ReassociationIndices> toWindows = {{0}, {1}, {2, 3}, {4, 5}};
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };

  Value position;
  if (isMax) {
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    windowOperands(b, loc, values.at(node.inputs[0]), w, ins, maps);
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, &ctx));
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
                    nb, l, better, arith::ConstantIntOp::create(nb, l, k, 32), pos);
              }
              linalg::YieldOp::create(nb, l, ValueRange{pos});
            })
            .getResult(0);
  }
  AffineMap windowOf = AffineMap::get(6, 0, {d(0), d(1), d(2), d(4)}, &ctx);
  SmallVector<Value> ins = {dy};
  SmallVector<AffineMap> maps = {windowOf};
  if (isMax) {
    ins.push_back(position);
    maps.push_back(windowOf);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(6, &ctx));
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
            Value i = arith::IndexCastOp::create(nb, l, nb.getI32Type(),
                                                 linalg::IndexOp::create(nb, l, 3));
            Value j = arith::IndexCastOp::create(nb, l, nb.getI32Type(),
                                                 linalg::IndexOp::create(nb, l, 5));
            Value me = arith::AddIOp::create(
                nb, l,
                arith::MulIOp::create(nb, l, i,
                                      arith::ConstantIntOp::create(nb, l, kw, 32)),
                j);
            Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, me,
                                              args[1]);
            linalg::YieldOp::create(
                nb, l, ValueRange{arith::SelectOp::create(nb, l, hit, args[0], zero)});
          })
          .getResult(0);
  return tensor::CollapseShapeOp::create(b, loc, dx6, toWindows);
}

/// keep/(1 − rate) or 0 per element, from a counter-based hash of (seed,
/// linear index): murmur3's 32-bit finalizer over index ^ (seed · golden
/// ratio), compared with rate · 2³² — stateless, so every back end and every
/// call with the same seed draws the same mask.
Value Emitter::dropoutMask(const Node &node) {
  const Shape &shape = trace.value(node.outputs[0]).shape;
  int64_t rank = shape.size();
  Type elem = tensorType(node.outputs[0]).getElementType();
  double rate = node.attrs.value;
  Value seed = scalarOf(node.inputs[0]);
  Value init = emptyLike(node.outputs[0]);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, &ctx)},
      iterators, [&](OpBuilder &nb, Location l, ValueRange) {
        auto i64 = [&](int64_t v) -> Value {
          return arith::ConstantIntOp::create(nb, l, v, 64);
        };
        // Row-major linear index.
        Value linear = i64(0);
        for (int64_t d = 0; d < rank; ++d) {
          Value idx = arith::IndexCastOp::create(
              nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, d));
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
        h = arith::AndIOp::create(nb, l, h, mask32);
        h = mix(h, 16);
        h = arith::AndIOp::create(nb, l, arith::MulIOp::create(nb, l, h, i64(0x85EBCA6B)), mask32);
        h = mix(h, 13);
        h = arith::AndIOp::create(nb, l, arith::MulIOp::create(nb, l, h, i64(0xC2B2AE35)), mask32);
        h = mix(h, 16);
        Value keep = arith::CmpIOp::create(
            nb, l, arith::CmpIPredicate::uge, h,
            i64(static_cast<int64_t>(rate * 4294967296.0)));
        Value scale = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 1.0 / (1.0 - rate)));
        Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 0.0));
        linalg::YieldOp::create(
            nb, l, ValueRange{arith::SelectOp::create(nb, l, keep, scale, zero)});
      });
  return generic.getResult(0);
}

void Emitter::bregUpdate(const Node &node) {
  auto reg = regularizer(node.attrs.regularizer);
  auto in = [&](size_t i) { return values.at(node.inputs[i]); };
  // The sparse group's second strength λ₂ is the node's last input.
  Value lambda2 = node.attrs.regularizer == Regularizer::L1L1L2
                      ? scalarOf(node.inputs.back())
                      : Value();
  switch (node.prim) {
  case Prim::LinBregUpdate: {
    Value momentum, beta;
    if (node.attrs.momentum) {
      momentum = in(6);
      beta = scalarOf(node.inputs[7]);
    }
    auto op = breg::LinBregUpdateOp::create(
        b, loc, reg, in(0), in(1), in(2), scalarOf(node.inputs[3]),
        scalarOf(node.inputs[4]), scalarOf(node.inputs[5]), momentum, beta,
        lambda2);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      values[node.outputs[i]] = op->getResult(i);
    return;
  }
  case Prim::Prox:
    values[node.outputs[0]] = breg::ProxOp::create(
        b, loc, reg, in(0), scalarOf(node.inputs[1]), scalarOf(node.inputs[2]),
        lambda2);
    return;
  case Prim::SubgradientInit:
    values[node.outputs[0]] = breg::SubgradientInitOp::create(
        b, loc, reg, in(0), scalarOf(node.inputs[1]), scalarOf(node.inputs[2]),
        lambda2);
    return;
  case Prim::AdaBregUpdate: {
    auto op = breg::AdaBregUpdateOp::create(
        b, loc, reg, in(0), in(1), in(2), in(3), in(4),
        scalarOf(node.inputs[5]), scalarOf(node.inputs[6]),
        scalarOf(node.inputs[7]), scalarOf(node.inputs[8]),
        scalarOf(node.inputs[9]), scalarOf(node.inputs[10]),
        scalarOf(node.inputs[11]), lambda2);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      values[node.outputs[i]] = op->getResult(i);
    return;
  }
  case Prim::ProxSgdUpdate:
    values[node.outputs[0]] = breg::ProxSgdUpdateOp::create(
        b, loc, reg, in(0), in(1), scalarOf(node.inputs[2]),
        scalarOf(node.inputs[3]), lambda2);
    return;
  case Prim::SgdUpdate: {
    Value momentum, beta;
    if (node.attrs.momentum) {
      momentum = in(3);
      beta = scalarOf(node.inputs[4]);
    }
    auto op = breg::SgdUpdateOp::create(b, loc, in(0), in(1),
                                        scalarOf(node.inputs[2]), momentum, beta);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      values[node.outputs[i]] = op->getResult(i);
    return;
  }
  case Prim::AdamUpdate: {
    auto op = breg::AdamUpdateOp::create(
        b, loc, in(0), in(1), in(2), in(3), scalarOf(node.inputs[4]),
        scalarOf(node.inputs[5]), scalarOf(node.inputs[6]),
        scalarOf(node.inputs[7]), scalarOf(node.inputs[8]));
    for (size_t i = 0; i < node.outputs.size(); ++i)
      values[node.outputs[i]] = op->getResult(i);
    return;
  }
  default:
    break;
  }
}

void Emitter::emitNode(const Node &node, int index) {
  loc = nodeLoc(node, index);
  auto out = [&]() -> Value & { return values[node.outputs[0]]; };
  auto unaryFloat = [&](auto build) {
    out() = elementwise(node.outputs[0], node.inputs,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return build(nb, l, a[0]);
                        });
  };
  auto binaryFloat = [&](auto build) {
    out() = elementwise(node.outputs[0], node.inputs,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return build(nb, l, a[0], a[1]);
                        });
  };
  switch (node.prim) {
  case Prim::Input:
    return; // bound in run()
  case Prim::Constant: {
    RankedTensorType type = tensorType(node.outputs[0]);
    Attribute element = type.getElementType().isInteger(32)
                            ? Attribute(b.getI32IntegerAttr(
                                  static_cast<int32_t>(node.attrs.value)))
                            : Attribute(b.getFloatAttr(type.getElementType(),
                                                       node.attrs.value));
    out() = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, llvm::ArrayRef<Attribute>(element)));
    return;
  }
  case Prim::MatMul:
    out() = matmul(node);
    return;
  case Prim::Add:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      return arith::AddFOp::create(nb, l, x, y);
    });
  case Prim::Sub:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      return arith::SubFOp::create(nb, l, x, y);
    });
  case Prim::Mul:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      return arith::MulFOp::create(nb, l, x, y);
    });
  case Prim::Div:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      return arith::DivFOp::create(nb, l, x, y);
    });
  case Prim::Maximum:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      return arith::MaximumFOp::create(nb, l, x, y);
    });
  case Prim::Equal: {
    bool isInt = trace.value(node.inputs[0]).dtype == DType::I32;
    Type resultElem = tensorType(node.outputs[0]).getElementType();
    return binaryFloat([&](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      Value same = isInt ? arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                                 x, y)
                               .getResult()
                         : arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                                 x, y)
                               .getResult();
      return arith::UIToFPOp::create(nb, l, resultElem, same);
    });
  }
  case Prim::Neg:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      return arith::NegFOp::create(nb, l, x);
    });
  case Prim::Exp:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      return math::ExpOp::create(nb, l, x);
    });
  case Prim::Log:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      return math::LogOp::create(nb, l, x);
    });
  case Prim::Abs:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      return math::AbsFOp::create(nb, l, x);
    });
  case Prim::Sqrt:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      return math::SqrtOp::create(nb, l, x);
    });
  case Prim::Relu:
    return unaryFloat([](OpBuilder &nb, Location l, Value x) -> Value {
      Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(x.getType(), 0.0));
      return arith::MaximumFOp::create(nb, l, x, zero);
    });
  case Prim::ReluGrad:
    return binaryFloat([](OpBuilder &nb, Location l, Value x, Value g) -> Value {
      Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(x.getType(), 0.0));
      Value positive =
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, zero);
      return arith::SelectOp::create(nb, l, positive, g, zero);
    });
  case Prim::ReduceSum:
    out() = reduction(node, /*isMax=*/false);
    return;
  case Prim::ReduceMax:
    out() = reduction(node, /*isMax=*/true);
    return;
  case Prim::Broadcast:
    out() = elementwise(node.outputs[0], node.inputs,
                        [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    return;
  case Prim::Reshape:
    out() = reshapeTo(values.at(node.inputs[0]), trace.value(node.outputs[0]).shape);
    return;
  case Prim::Transpose:
    out() = linalg::TransposeOp::create(b, loc, values.at(node.inputs[0]),
                                        emptyLike(node.outputs[0]),
                                        node.attrs.axes)
                .getResult()[0];
    return;
  case Prim::StopGradient:
    out() = values.at(node.inputs[0]);
    return;
  case Prim::OneHot:
    out() = oneHot(node);
    return;
  case Prim::ArgMax:
    out() = argmax(node);
    return;
  case Prim::Conv2d:
  case Prim::Conv2dGradInput:
  case Prim::Conv2dGradFilter:
    out() = convolution(node);
    return;
  case Prim::MaxPool2d:
    out() = pool(node, /*isMax=*/true);
    return;
  case Prim::Concat: {
    // Each part inserted at its offset into one new tensor.
    Value result = emptyLike(node.outputs[0]);
    const Shape &shape = trace.value(node.outputs[0]).shape;
    SmallVector<int64_t> offsets(shape.size(), 0), strides(shape.size(), 1);
    for (int input : node.inputs) {
      const Shape &part = trace.value(input).shape;
      result = tensor::InsertSliceOp::create(
          b, loc, values.at(input), result, ValueRange{}, ValueRange{},
          ValueRange{}, offsets, part, strides);
      offsets[node.attrs.axis] += part[node.attrs.axis];
    }
    out() = result;
    return;
  }
  case Prim::Slice: {
    const Shape &shape = trace.value(node.outputs[0]).shape;
    SmallVector<int64_t> offsets(shape.size(), 0), strides(shape.size(), 1);
    offsets[node.attrs.axis] = node.attrs.start;
    out() = tensor::ExtractSliceOp::create(
        b, loc, tensorType(node.outputs[0]), values.at(node.inputs[0]),
        ValueRange{}, ValueRange{}, ValueRange{}, offsets, shape, strides);
    return;
  }
  case Prim::DropoutMask:
    out() = dropoutMask(node);
    return;
  case Prim::SumPool2d:
    out() = pool(node, /*isMax=*/false);
    return;
  case Prim::MaxPool2dGrad:
    out() = poolGrad(node, /*isMax=*/true);
    return;
  case Prim::SumPool2dGrad:
    out() = poolGrad(node, /*isMax=*/false);
    return;
  default:
    assert(isBregPrimitive(node.prim) && "primitive without an emitter");
    bregUpdate(node);
    return;
  }
}

OwningOpRef<ModuleOp> Emitter::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  const std::vector<int> &inputs = trace.inputs();
  std::vector<bool> written(inputs.size(), false);
  for (int alias : spec.outputAlias)
    if (alias >= 0)
      written[alias] = true;

  SmallVector<Type> argTypes;
  for (int v : inputs)
    argTypes.push_back(memrefType(v));
  std::vector<int> outputArg(spec.outputs.size(), -1);
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    if (spec.outputAlias[i] >= 0) {
      outputArg[i] = spec.outputAlias[i];
    } else {
      outputArg[i] = argTypes.size();
      argTypes.push_back(memrefType(spec.outputs[i]));
    }
  }
  auto func = func::FuncOp::create(b, loc, spec.functionName,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  for (size_t i = 0; i < inputs.size(); ++i) {
    int v = inputs[i];
    auto op = bufferization::ToTensorOp::create(b, loc, tensorType(v),
                                                entry->getArgument(i));
    op.setRestrict(true);
    op.setWritable(written[i]);
    values[v] = op.getResult();
  }
  const std::vector<Node> &nodes = trace.nodes();
  for (size_t n = 0; n < nodes.size(); ++n)
    emitNode(nodes[n], static_cast<int>(n));

  loc = UnknownLoc::get(&ctx);
  // Outputs are written into argument buffers, which one-shot bufferization
  // does not see as writes to the inputs read from those buffers. So when a
  // donated buffer is overwritten, every output that could still be (a view
  // of) an input — anything but a breg update, whose result already lives in
  // its state buffer — is first copied to a fresh buffer, before any write.
  auto isOwnInput = [&](size_t i) {
    int arg = outputArg[i];
    return arg < static_cast<int>(inputs.size()) &&
           inputs[arg] == spec.outputs[i];
  };
  bool overwritesInputs = false;
  for (size_t i = 0; i < spec.outputs.size(); ++i)
    overwritesInputs |= spec.outputAlias[i] >= 0 && !isOwnInput(i);
  std::vector<Value> toWrite(spec.outputs.size());
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    Value value = values.at(spec.outputs[i]);
    Prim producer =
        trace.nodes().at(trace.value(spec.outputs[i]).node).prim;
    if (overwritesInputs && !isOwnInput(i) && !isBregPrimitive(producer))
      value = bufferization::AllocTensorOp::create(
          b, loc, llvm::cast<RankedTensorType>(value.getType()), ValueRange{},
          /*copy=*/value);
    toWrite[i] = value;
  }
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    if (isOwnInput(i)) // its own donated input: nothing to write
      continue;
    auto op = bufferization::MaterializeInDestinationOp::create(
        b, loc, toWrite[i], entry->getArgument(outputArg[i]));
    op.setRestrict(true);
    op.setWritable(true);
  }
  func::ReturnOp::create(b, loc);
  return module;
}

} // namespace

OwningOpRef<ModuleOp> emitModule(MLIRContext &context, const EmitSpec &spec) {
  return Emitter(context, spec).run();
}

} // namespace bregman::detail
