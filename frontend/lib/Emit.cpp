//===- Emit.cpp - Trace -> MLIR on tensors --------------------------------===//
//
// One function per trace. Elementwise primitives become linalg.generic with
// NumPy broadcasting expressed by indexing maps (unit dimensions that
// broadcast are collapsed away first, so every map is a projected
// permutation and elementwise fusion applies); reductions are generics with
// reduction iterators; matmul is linalg.matmul (transposes in its indexing
// maps) that the CPU pipeline hands to BLAS. Bregman updates, convolution,
// pooling, argmax, one-hot and dropout masks are one breg op each, lowered
// by the compiler's passes.
//
//===----------------------------------------------------------------------===//

#include "Emit.h"
#include "ConvPrims.h"
#include "DebugPrint.h"

#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
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
  /// A function argument's type. One without elements is memref<0xT>,
  /// whatever its shape: MLIR 22's bare-pointer convention refuses a zero
  /// in any but the first dimension, and the function then took memref
  /// descriptors where the runtime passes pointers (a crash).
  MemRefType memrefType(int value) {
    const ValueInfo &info = trace.value(value);
    if (numElements(info.shape) == 0)
      return MemRefType::get({0}, elementType(info.dtype));
    return MemRefType::get(info.shape, elementType(info.dtype));
  }
  bool isEmpty(int value) { return numElements(trace.value(value).shape) == 0; }
  /// "add#12", at the user's call that recorded it when known (the
  /// diagnostics of verification and of the passes show it).
  Location nodeLoc(const Node &node, int index) {
    StringAttr name =
        b.getStringAttr(fmt::format("{}#{}", primName(node.prim), index));
    if (!node.site.known())
      return NameLoc::get(name);
    return NameLoc::get(
        name, FileLineColLoc::get(&ctx, node.site.file(), node.site.line(), 0));
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
  Value matmul(const Node &node);
  /// linalg.matmul on a CSR weight assembled from its buffers (the CPU
  /// pipeline's sparsifier lowers it to loops over the stored entries).
  Value sparseMatmul(const Node &node);
  /// linalg.batch_matmul, transposes in its indexing maps.
  Value batchMatmul(const Node &node);
  /// A generic over the result that reads the table at the row index.
  Value take(const Node &node);
  /// A generic over the result and the taps that reads x at the table's
  /// indices and sums the weighted values.
  Value resample(const Node &node);
  /// Convolutions and pooling: the breg op of the primitive.
  Value windowNode(const Node &node);
  /// Reshape, transpose, slice, concat, stop_gradient.
  Value shapeNode(const Node &node);
  Value constant(const Node &node);
  void bregUpdate(const Node &node);
  Value scalarOf(int value) {
    return tensor::ExtractOp::create(b, loc, values.at(value), ValueRange{});
  }
  breg::RegularizerAttrInterface regularizer(Regularizer reg) {
    switch (reg) {
#define BREGMAN_REGULARIZER(Name, Text, AttrClass, Rank)                        \
  case Regularizer::Name:                                                      \
    return breg::AttrClass::get(&ctx);
#include "bregman/Regularizers.def"
    }
    return {};
  }
  /// The operands of a breg update node by role: parameter-shaped ones as
  /// they are, scalars read from their rank-0 tensors.
  UpdateOperandsOf<Value> updateValues(const Node &node);

  // The emitters of Prims.def's Emitter column; each sets the values of the
  // node's results.
  void set(const Node &node, Value v) { values[node.outputs[0]] = v; }
  void emitInput(const Node &) {} // bound in run()
  void emitConstant(const Node &node) { set(node, constant(node)); }
  void emitMatMul(const Node &node) { set(node, matmul(node)); }
  void emitBatchMatMul(const Node &node) { set(node, batchMatmul(node)); }
  void emitTake(const Node &node) { set(node, take(node)); }
  void emitSparseMatMul(const Node &node) { set(node, sparseMatmul(node)); }
  /// breg.sparse_conv2d on the node's first CSR (the CPU pipeline lowers it
  /// to vector loops over the stored entries).
  void emitSparseConv2d(const Node &node) {
    const Window &w = node.attrs.window;
    auto in = [&](size_t i) { return values.at(node.inputs[i]); };
    int biasAt = sparseConvInputs(node.attrs, node.inputs.size()).bias;
    set(node, breg::SparseConv2DOp::create(
                  b, loc, tensorType(node.outputs[0]), in(0), in(1), in(2),
                  in(3), biasAt >= 0 ? in(biasAt) : Value(),
                  b.getDenseI64ArrayAttr(w.kernel),
                  b.getDenseI64ArrayAttr(w.padding),
                  b.getDenseI64ArrayAttr(w.dilations),
                  b.getBoolAttr(node.attrs.transposeA),
                  b.getDenseI64ArrayAttr(w.strides),
                  b.getI64IntegerAttr(w.groups)));
  }
  void emitCompressRows(const Node &node) {
    SmallVector<Value> into;
    bool anyInto = false;
    for (int output : node.outputs) {
      Value destination = compressInto.lookup(output);
      anyInto |= static_cast<bool>(destination);
      into.push_back(destination ? destination : emptyLike(output));
    }
    if (!anyInto)
      into.clear();
    auto op = breg::CompressRowsOp::create(
        b, loc, tensorType(node.outputs[0]), tensorType(node.outputs[1]),
        tensorType(node.outputs[2]), values.at(node.inputs[0]), into);
    for (size_t i = 0; i < 3; ++i)
      values[node.outputs[i]] = op->getResult(i);
  }
  void emitResample(const Node &node) { set(node, resample(node)); }
  void emitElementwise(const Node &node);
  void emitReduction(const Node &node) {
    set(node, reduction(node, /*isMax=*/node.prim == Prim::ReduceMax));
  }
  void emitShape(const Node &node) { set(node, shapeNode(node)); }
  void emitWindow(const Node &node) { set(node, windowNode(node)); }
  void emitOneHot(const Node &node) {
    set(node, breg::OneHotOp::create(b, loc, tensorType(node.outputs[0]),
                                     values.at(node.inputs[0])));
  }
  void emitArgMax(const Node &node) {
    set(node, breg::ArgMaxOp::create(b, loc, tensorType(node.outputs[0]),
                                     values.at(node.inputs[0])));
  }
  void emitDropoutMask(const Node &node) {
    set(node, breg::DropoutMaskOp::create(b, loc, tensorType(node.outputs[0]),
                                          scalarOf(node.inputs[0]),
                                          b.getF64FloatAttr(node.attrs.value)));
  }
  void emitUpdate(const Node &node) { bregUpdate(node); }
  /// A call of bregman_debug_print with the descriptor (a constant global)
  /// and the addresses of the values' buffers (read-only, so bufferization
  /// keeps them as they are at this point).
  void emitDebugPrint(const Node &node);
  using EmitFn = void (Emitter::*)(const Node &);
  /// The emitter of each primitive, indexed by Prim.
  static const EmitFn kEmitters[];

  void emitNode(const Node &node, int index);
  void planCompressInto(Block *entry, ArrayRef<int> outputArg);

  /// Per value: the function's output buffer, as a tensor, that a
  /// breg.compress_rows result is computed into (its `into` operand). One-
  /// shot bufferization then writes the CSR where the caller wants it —
  /// only its stored entries — instead of into new buffers copied at their
  /// full capacity. Only for outputs of their own buffer: a donated input's
  /// buffer may still be read by the sparse layers, which bufferization
  /// would protect with a copy.
  llvm::DenseMap<int, Value> compressInto;


  MLIRContext &ctx;
  ModuleOp module;
  const EmitSpec &spec;
  const Trace &trace;
  OpBuilder b;
  Location loc;
  std::vector<Value> values{std::vector<Value>(trace.values().size())};
  int debugPrints = 0;
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

Value Emitter::sparseMatmul(const Node &node) {
  // W [rows, cols]: rows dense, columns compressed, 32-bit positions and
  // coordinates (the runtime's CSR, runtime/SparseRows.h).
  SmallVector<sparse_tensor::LevelType> levels{
      sparse_tensor::LevelFormat::Dense, sparse_tensor::LevelFormat::Compressed};
  auto csr = sparse_tensor::SparseTensorEncodingAttr::get(
      &ctx, levels,
      AffineMap::getMultiDimIdentityMap(2, &ctx), AffineMap(),
      /*posWidth=*/32, /*crdWidth=*/32);
  Value stored = values.at(node.inputs[3]);
  Type element = llvm::cast<RankedTensorType>(stored.getType()).getElementType();
  auto weightType = RankedTensorType::get(
      {node.attrs.axes.at(0), node.attrs.axes.at(1)}, element, csr);
  Value weight = sparse_tensor::AssembleOp::create(
      b, loc, weightType,
      ValueRange{values.at(node.inputs[1]),
                 values.at(node.inputs[2])},
      stored);
  AffineExpr m = b.getAffineDimExpr(0), n = b.getAffineDimExpr(1),
             k = b.getAffineDimExpr(2);
  bool left = node.attrs.transposeA, tw = node.attrs.transposeB;
  auto map = [&](AffineExpr r, AffineExpr c) {
    return AffineMap::get(3, 0, {r, c}, &ctx);
  };
  // C[m, n] = Σ_k: right form a[m, k]·op(W)[k, n], left op(W)[m, k]·a[k, n].
  AffineMap mapA = left ? map(k, n) : map(m, k);
  AffineMap mapW = left ? (tw ? map(k, m) : map(m, k))
                        : (tw ? map(n, k) : map(k, n));
  Value dense = values.at(node.inputs[0]);
  Value init = filled(node.outputs[0], 0.0);
  SmallVector<Value> operands =
      left ? SmallVector<Value>{weight, dense} : SmallVector<Value>{dense, weight};
  auto op = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                     operands, ValueRange{init});
  op.setIndexingMapsAttr(b.getAffineMapArrayAttr(
      left ? SmallVector<AffineMap>{mapW, mapA, map(m, n)}
           : SmallVector<AffineMap>{mapA, mapW, map(m, n)}));
  return op.getResult(0);
}

Value Emitter::batchMatmul(const Node &node) {
  bool ta = node.attrs.transposeA, tb = node.attrs.transposeB;
  AffineExpr batch = b.getAffineDimExpr(0), m = b.getAffineDimExpr(1),
             n = b.getAffineDimExpr(2), k = b.getAffineDimExpr(3);
  auto map = [&](AffineExpr r, AffineExpr c) {
    return AffineMap::get(4, 0, {batch, r, c}, &ctx);
  };
  AffineMap mapA = ta ? map(k, m) : map(m, k);
  AffineMap mapB = tb ? map(n, k) : map(k, n);
  Value init = filled(node.outputs[0], 0.0);
  auto op = linalg::BatchMatmulOp::create(
      b, loc, TypeRange{init.getType()},
      ValueRange{values.at(node.inputs[0]), values.at(node.inputs[1])},
      ValueRange{init});
  op.setIndexingMapsAttr(b.getAffineMapArrayAttr({mapA, mapB, map(m, n)}));
  return op.getResult(0);
}

Value Emitter::take(const Node &node) {
  // result[i, r...] = table[indices[i], r...] for 0 <= indices[i] < V, else 0.
  Value table = values.at(node.inputs[0]), indices = values.at(node.inputs[1]);
  int result = node.outputs[0];
  int64_t rank = trace.value(result).shape.size();
  int64_t rows = trace.value(node.inputs[0]).shape[0];
  SmallVector<AffineMap> maps = {
      AffineMap::get(rank, 0, {b.getAffineDimExpr(0)}, &ctx),
      AffineMap::getMultiDimIdentityMap(rank, &ctx)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value init = emptyLike(result);
  Type elem = getElementTypeOrSelf(init.getType());
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init},
      maps, iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value row = arith::IndexCastOp::create(nb, l, nb.getIndexType(), args[0]);
        Value zeroIndex = arith::ConstantIndexOp::create(nb, l, 0);
        Value limit = arith::ConstantIndexOp::create(nb, l, rows);
        Value inside = arith::AndIOp::create(
            nb, l,
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, row, zeroIndex),
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, row, limit));
        SmallVector<Value> at = {
            arith::SelectOp::create(nb, l, inside, row, zeroIndex)};
        for (int64_t d = 1; d < rank; ++d)
          at.push_back(linalg::IndexOp::create(nb, l, d));
        Value picked = tensor::ExtractOp::create(nb, l, table, at);
        Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 0.0));
        linalg::YieldOp::create(
            nb, l, ValueRange{arith::SelectOp::create(nb, l, inside, picked, zero)});
      });
  return generic.getResult(0);
}

Value Emitter::resample(const Node &node) {
  // result[.., o, ..] = Σ_k weight[o, k] · x[.., index[o, k], ..]: loops
  // over the result's dims and the taps (a reduction); the tables are
  // dense constants [outputs, taps].
  const ResampleTable &table = node.attrs.resample;
  Value x = values.at(node.inputs[0]);
  int result = node.outputs[0];
  int64_t rank = trace.value(result).shape.size(), axis = node.attrs.axis;
  Type elem = elementType(trace.value(result).dtype);
  auto tableType = [&](Type t) {
    return RankedTensorType::get({table.outputs(), table.taps}, t);
  };
  std::vector<int32_t> index(table.index.begin(), table.index.end());
  Value indices = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType(b.getI32Type()), ArrayRef<int32_t>(index)));
  SmallVector<Attribute> weightAttrs;
  for (double w : table.weight)
    weightAttrs.push_back(b.getFloatAttr(elem, w));
  Value weights = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType(elem), weightAttrs));
  SmallVector<AffineExpr> resultDims;
  for (int64_t d = 0; d < rank; ++d)
    resultDims.push_back(b.getAffineDimExpr(d));
  AffineMap tableMap =
      AffineMap::get(rank + 1, 0, {b.getAffineDimExpr(axis), b.getAffineDimExpr(rank)}, &ctx);
  SmallVector<AffineMap> maps = {tableMap, tableMap,
                                 AffineMap::get(rank + 1, 0, resultDims, &ctx)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  Value init = filled(result, 0.0);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{indices, weights}, ValueRange{init},
      maps, iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> at;
        for (int64_t d = 0; d < rank; ++d)
          at.push_back(d == axis ? arith::IndexCastOp::create(nb, l, nb.getIndexType(), args[0])
                                       .getResult()
                                 : linalg::IndexOp::create(nb, l, d).getResult());
        Value picked = tensor::ExtractOp::create(nb, l, x, at);
        Value term = arith::MulFOp::create(nb, l, args[1], picked);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  return generic.getResult(0);
}

Value Emitter::windowNode(const Node &node) {
  const Window &w = node.attrs.window;
  Type type = tensorType(node.outputs[0]);
  auto in = [&](size_t i) { return values.at(node.inputs[i]); };
  auto kernel = b.getDenseI64ArrayAttr(w.kernel);
  auto strides = b.getDenseI64ArrayAttr(w.strides);
  auto padding = b.getDenseI64ArrayAttr(w.padding);
  auto dilations = b.getDenseI64ArrayAttr(w.dilations);
  auto groups = b.getI64IntegerAttr(w.groups);
  switch (node.prim) {
  case Prim::Conv2d:
    return breg::Conv2DOp::create(b, loc, type, in(0), in(1), strides, padding,
                                  dilations, groups);
  case Prim::Conv2dGradInput:
    return breg::Conv2DGradInputOp::create(b, loc, type, in(0), in(1), strides,
                                           padding, dilations, groups);
  case Prim::Conv2dGradFilter:
    return breg::Conv2DGradFilterOp::create(b, loc, type, in(0), in(1), strides,
                                            padding, dilations, groups);
  case Prim::MaxPool2d:
    return breg::MaxPool2DOp::create(b, loc, type, in(0), kernel, strides,
                                     padding, dilations);
  case Prim::SumPool2d:
    return breg::SumPool2DOp::create(b, loc, type, in(0), kernel, strides,
                                     padding, dilations);
  case Prim::MaxPool2dGrad:
    return breg::MaxPool2DGradOp::create(b, loc, type, in(0), in(1), kernel,
                                         strides, padding, dilations);
  case Prim::SumPool2dGrad:
    return breg::SumPool2DGradOp::create(b, loc, type, in(0), kernel, strides,
                                         padding, dilations);
  default:
    llvm_unreachable("not a convolution or pooling primitive");
  }
}

UpdateOperandsOf<Value> Emitter::updateValues(const Node &node) {
  std::vector<int> ids;
  updateOperands(node).forEachRole(
      [&](unsigned, int id) { ids.push_back(id); });
  UpdateOperandsOf<Value> operands;
  operands.forEachRole([&](unsigned role, Value &value) {
    if (ids[role] < 0)
      return;
    value = UpdateOperandsOf<Value>::isTensorRole(role) ? values.at(ids[role])
                                                        : scalarOf(ids[role]);
  });
  return operands;
}

void Emitter::bregUpdate(const Node &node) {
  auto reg = regularizer(node.attrs.regularizer);
  UpdateOperandsOf<Value> o = updateValues(node);
  Operation *op = nullptr;
  switch (node.prim) {
  case Prim::LinBregUpdate:
    op = breg::LinBregUpdateOp::create(b, loc, reg, o.theta, o.v, o.grad, o.lr,
                                       o.delta, o.lambda, o.momentum, o.beta,
                                       o.lambda2);
    break;
  case Prim::Prox:
    op = breg::ProxOp::create(b, loc, reg, o.theta, o.scale, o.lambda,
                              o.lambda2);
    break;
  case Prim::SubgradientInit:
    op = breg::SubgradientInitOp::create(b, loc, reg, o.theta, o.delta,
                                         o.lambda, o.lambda2);
    break;
  case Prim::AdaBregUpdate:
    op = breg::AdaBregUpdateOp::create(b, loc, reg, o.theta, o.v, o.grad, o.m1,
                                       o.m2, o.lr, o.delta, o.lambda, o.beta1,
                                       o.beta2, o.eps, o.step, o.lambda2);
    break;
  case Prim::ProxSgdUpdate:
    op = breg::ProxSgdUpdateOp::create(b, loc, reg, o.theta, o.grad, o.lr,
                                       o.lambda, o.lambda2);
    break;
  case Prim::SgdUpdate:
    op = breg::SgdUpdateOp::create(b, loc, o.theta, o.grad, o.lr, o.momentum,
                                   o.beta);
    break;
  case Prim::AdamUpdate:
    op = breg::AdamUpdateOp::create(b, loc, o.theta, o.grad, o.m1, o.m2, o.lr,
                                    o.beta1, o.beta2, o.eps, o.step);
    break;
  default:
    llvm_unreachable("not a breg update primitive");
  }
  for (size_t i = 0; i < node.outputs.size(); ++i)
    values[node.outputs[i]] = op->getResult(i);
}

/// sigmoid(x) from e = exp(−|x|), which never overflows: 1/(1 + e) for
/// x >= 0, e/(1 + e) below.
static Value sigmoidBody(OpBuilder &nb, Location l, Value x) {
  Type t = x.getType();
  auto cst = [&](double v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, v));
  };
  Value e = math::ExpOp::create(
      nb, l, arith::NegFOp::create(nb, l, math::AbsFOp::create(nb, l, x)));
  Value r = arith::DivFOp::create(nb, l, cst(1.0),
                                  arith::AddFOp::create(nb, l, cst(1.0), e));
  Value nonNegative =
      arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE, x, cst(0.0));
  return arith::SelectOp::create(nb, l, nonNegative, r,
                                 arith::MulFOp::create(nb, l, e, r));
}

/// tanh(x) = sign(x)·(1 − e)/(1 + e) with e = exp(−2|x|) (no overflow); for
/// small |x|, where 1 − e cancels, its Taylor series to x⁷ (truncation below
/// 4e-7 relative at |x| = 0.25 in f32, 2e-18 at 0.01 in f64).
static Value tanhBody(OpBuilder &nb, Location l, Value x) {
  Type t = x.getType();
  auto cst = [&](double v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, v));
  };
  Value a = math::AbsFOp::create(nb, l, x);
  Value e = math::ExpOp::create(nb, l, arith::MulFOp::create(nb, l, a, cst(-2.0)));
  Value large = arith::DivFOp::create(nb, l, arith::SubFOp::create(nb, l, cst(1.0), e),
                                      arith::AddFOp::create(nb, l, cst(1.0), e));
  Value a2 = arith::MulFOp::create(nb, l, a, a);
  Value poly = cst(-17.0 / 315.0);
  for (double c : {2.0 / 15.0, -1.0 / 3.0, 1.0})
    poly = arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, poly, a2), cst(c));
  Value small = arith::MulFOp::create(nb, l, a, poly);
  Value isSmall = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, a,
                                        cst(t.isF32() ? 0.25 : 0.01));
  Value magnitude = arith::SelectOp::create(nb, l, isSmall, small, large);
  Value negative = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, x, cst(0.0));
  return arith::SelectOp::create(nb, l, negative, arith::NegFOp::create(nb, l, magnitude),
                                 magnitude);
}

/// The scalar body of an elementwise primitive on its operands `a`.
static Value elementwiseBody(Prim prim, OpBuilder &nb, Location l,
                             ValueRange a, Type resultElem) {
  auto zeroLike = [&](Value x) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getFloatAttr(x.getType(), 0.0));
  };
  switch (prim) {
  case Prim::Add: return arith::AddFOp::create(nb, l, a[0], a[1]);
  case Prim::Sub: return arith::SubFOp::create(nb, l, a[0], a[1]);
  case Prim::Mul: return arith::MulFOp::create(nb, l, a[0], a[1]);
  case Prim::Div: return arith::DivFOp::create(nb, l, a[0], a[1]);
  case Prim::Maximum: return arith::MaximumFOp::create(nb, l, a[0], a[1]);
  case Prim::Neg: return arith::NegFOp::create(nb, l, a[0]);
  case Prim::Exp: return math::ExpOp::create(nb, l, a[0]);
  case Prim::Log: return math::LogOp::create(nb, l, a[0]);
  case Prim::Abs: return math::AbsFOp::create(nb, l, a[0]);
  case Prim::Sqrt: return math::SqrtOp::create(nb, l, a[0]);
  case Prim::Sigmoid: return sigmoidBody(nb, l, a[0]);
  case Prim::Tanh: return tanhBody(nb, l, a[0]);
  case Prim::Broadcast: return a[0];
  case Prim::Relu:
    return arith::MaximumFOp::create(nb, l, a[0], zeroLike(a[0]));
  case Prim::ReluGrad: { // (x, g) -> g where x > 0
    Value zero = zeroLike(a[0]);
    Value positive =
        arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0], zero);
    return arith::SelectOp::create(nb, l, positive, a[1], zero);
  }
  case Prim::Erf: return math::ErfOp::create(nb, l, a[0]);
  case Prim::Erfc:
    return math::ErfcOp::create(nb, l, a[0]);
  case Prim::Sin:
    return math::SinOp::create(nb, l, a[0]);
  case Prim::Cos:
    return math::CosOp::create(nb, l, a[0]);
  case Prim::Select: { // (cond, a, b) -> a where cond != 0
    Value picked = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNE,
                                         a[0], zeroLike(a[0]));
    return arith::SelectOp::create(nb, l, picked, a[1], a[2]);
  }
  case Prim::Less: {
    Value lt =
        a[0].getType().isInteger(32)
            ? arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, a[0], a[1])
                  .getResult()
            : arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, a[0], a[1])
                  .getResult();
    return arith::UIToFPOp::create(nb, l, resultElem, lt);
  }
  case Prim::Equal: {
    Value same =
        a[0].getType().isInteger(32)
            ? arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, a[0], a[1])
                  .getResult()
            : arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[0], a[1])
                  .getResult();
    return arith::UIToFPOp::create(nb, l, resultElem, same);
  }
  case Prim::WrapIndex: // emitElementwise builds its body (it reads attrs)
  default:
    llvm_unreachable("not an elementwise primitive");
  }
}

Value Emitter::constant(const Node &node) {
  RankedTensorType type = tensorType(node.outputs[0]);
  Attribute element =
      type.getElementType().isInteger(32)
          ? Attribute(b.getI32IntegerAttr(static_cast<int32_t>(node.attrs.value)))
          : Attribute(b.getFloatAttr(type.getElementType(), node.attrs.value));
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, llvm::ArrayRef<Attribute>(element)));
}

Value Emitter::shapeNode(const Node &node) {
  int result = node.outputs[0];
  const Shape &shape = trace.value(result).shape;
  Value x = values.at(node.inputs[0]);
  SmallVector<int64_t> offsets(shape.size(), 0), strides(shape.size(), 1);
  switch (node.prim) {
  case Prim::StopGradient:
  case Prim::GradArgument:
    return x;
  case Prim::Reshape:
    return reshapeTo(x, shape);
  case Prim::Transpose:
    return linalg::TransposeOp::create(b, loc, x, emptyLike(result),
                                       node.attrs.axes)
        .getResult()[0];
  case Prim::Slice:
    // An empty slice at the end starts at offset == dim, which the
    // verifier refuses: it is an empty tensor, whatever it is cut from.
    if (numElements(shape) == 0)
      return emptyLike(result);
    offsets[node.attrs.axis] = node.attrs.start;
    return tensor::ExtractSliceOp::create(b, loc, tensorType(result), x,
                                          ValueRange{}, ValueRange{},
                                          ValueRange{}, offsets, shape, strides);
  case Prim::Concat: {
    // Each part inserted at its offset into one new tensor.
    // Empty parts are skipped (inserted at offset == dim, the last one was
    // refused by the verifier).
    Value concat = emptyLike(result);
    for (int input : node.inputs) {
      const Shape &part = trace.value(input).shape;
      if (numElements(part) == 0)
        continue;
      concat = tensor::InsertSliceOp::create(
          b, loc, values.at(input), concat, ValueRange{}, ValueRange{},
          ValueRange{}, offsets, part, strides);
      offsets[node.attrs.axis] += part[node.attrs.axis];
    }
    return concat;
  }
  default:
    llvm_unreachable("not a shape primitive");
  }
}

void Emitter::emitElementwise(const Node &node) {
  int result = node.outputs[0];
  Type resultElem = getElementTypeOrSelf(tensorType(result));
  if (node.prim == Prim::WrapIndex) { // i + classes where i < 0
    int64_t classes = node.attrs.classes;
    return set(node, elementwise(result, node.inputs,
                                 [&](OpBuilder &nb, Location l, ValueRange a) {
                                   Type i32 = nb.getI32Type();
                                   Value zero = arith::ConstantOp::create(
                                       nb, l, nb.getIntegerAttr(i32, 0));
                                   Value size = arith::ConstantOp::create(
                                       nb, l, nb.getIntegerAttr(i32, classes));
                                   Value negative = arith::CmpIOp::create(
                                       nb, l, arith::CmpIPredicate::slt, a[0], zero);
                                   Value wrapped = arith::AddIOp::create(nb, l, a[0], size);
                                   return Value(arith::SelectOp::create(
                                       nb, l, negative, wrapped, a[0]));
                                 }));
  }
  set(node, elementwise(result, node.inputs,
                        [&](OpBuilder &nb, Location l, ValueRange a) {
                          return elementwiseBody(node.prim, nb, l, a,
                                                 resultElem);
                        }));
}

void Emitter::emitDebugPrint(const Node &node) {
  std::vector<std::pair<Shape, DType>> specs;
  for (int v : node.inputs)
    specs.emplace_back(trace.value(v).shape, trace.value(v).dtype);
  std::string descriptor = debugPrintDescriptor(node.attrs.name, specs);
  Type index = b.getIndexType();
  auto bytes =
      MemRefType::get({static_cast<int64_t>(descriptor.size())}, b.getI8Type());
  std::string symbol = fmt::format("__bregman_debug_print_{}", debugPrints++);
  func::FuncOp callee =
      module.lookupSymbol<func::FuncOp>("bregman_debug_print");
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto data = DenseElementsAttr::get(
        RankedTensorType::get(bytes.getShape(), b.getI8Type()),
        llvm::ArrayRef<int8_t>(
            reinterpret_cast<const int8_t *>(descriptor.data()),
            descriptor.size()));
    memref::GlobalOp::create(b, loc, symbol, b.getStringAttr("private"), bytes,
                             data, /*constant=*/true,
                             /*alignment=*/nullptr);
    if (!callee) {
      callee =
          func::FuncOp::create(b, loc, "bregman_debug_print",
                               b.getFunctionType({index, index, index}, {}));
      callee.setPrivate();
    }
  }
  Value text = memref::GetGlobalOp::create(b, loc, bytes, symbol);
  auto count = static_cast<int64_t>(node.inputs.size());
  Value addresses =
      memref::AllocaOp::create(b, loc, MemRefType::get({count}, index));
  for (int64_t i = 0; i < count; ++i) {
    auto type = llvm::cast<RankedTensorType>(tensorType(node.inputs[i]));
    Value buffer = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()),
        values.at(node.inputs[i]), /*read_only=*/true);
    Value address =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    memref::StoreOp::create(
        b, loc, address, addresses,
        ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  }
  func::CallOp::create(
      b, loc, callee,
      ValueRange{
          memref::ExtractAlignedPointerAsIndexOp::create(b, loc, text),
          arith::ConstantIndexOp::create(b, loc, count),
          memref::ExtractAlignedPointerAsIndexOp::create(b, loc, addresses)});
}

// Generated from Prims.def: a primitive whose Emitter has no emit<Emitter>
// member does not compile.
const Emitter::EmitFn Emitter::kEmitters[] = {
#define BREGMAN_PRIM(Name, Text, Gradient, Family) &Emitter::emit##Family,
#include "bregman/Prims.def"
};

void Emitter::planCompressInto(Block *entry, ArrayRef<int> outputArg) {
  const std::vector<Node> &nodes = trace.nodes();
  std::vector<int> producer(trace.values().size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].outputs)
      producer[v] = static_cast<int>(n);
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    int output = spec.outputs[i];
    int n = producer[output];
    if (spec.outputAlias[i] >= 0 || n < 0 ||
        nodes[n].prim != Prim::CompressRows || compressInto.count(output) ||
        isEmpty(output))
      continue;
    auto destination = bufferization::ToTensorOp::create(
        b, loc, tensorType(output), entry->getArgument(outputArg[i]));
    destination.setRestrict(true);
    destination.setWritable(true);
    compressInto[output] = destination.getResult();
  }
}

void Emitter::emitNode(const Node &node, int index) {
  loc = nodeLoc(node, index);
  (this->*kEmitters[static_cast<size_t>(node.prim)])(node);
}

OwningOpRef<ModuleOp> Emitter::run() {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc);
  module = *owned;
  b.setInsertionPointToEnd(module.getBody());

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
    if (isEmpty(v)) { // no data: any tensor of its shape
      values[v] = tensor::EmptyOp::create(b, loc, tensorType(v).getShape(),
                                          tensorType(v).getElementType());
      continue;
    }
    auto op = bufferization::ToTensorOp::create(b, loc, tensorType(v),
                                                entry->getArgument(i));
    op.setRestrict(true);
    op.setWritable(written[i]);
    values[v] = op.getResult();
  }
  planCompressInto(entry, outputArg);
  const std::vector<Node> &nodes = trace.nodes();
  for (size_t n = 0; n < nodes.size(); ++n)
    emitNode(nodes[n], static_cast<int>(n));

  loc = UnknownLoc::get(&ctx);
  // Outputs are written into argument buffers, which one-shot bufferization
  // does not see as writes to the inputs read from those buffers. So when a
  // donated buffer is overwritten, every output that could still be (a view
  // of) an input — anything but a breg update, whose result already lives in
  // its state buffer, or a compression, whose result is a new buffer or its
  // own output's — is first copied to a fresh buffer, before any write.
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
    if (overwritesInputs && !isOwnInput(i) && !isBregPrimitive(producer) &&
        producer != Prim::CompressRows)
      value = bufferization::AllocTensorOp::create(
          b, loc, llvm::cast<RankedTensorType>(value.getType()), ValueRange{},
          /*copy=*/value);
    toWrite[i] = value;
  }
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    // Its own donated input, or no elements: nothing to write.
    if (isOwnInput(i) || isEmpty(spec.outputs[i]))
      continue;
    auto op = bufferization::MaterializeInDestinationOp::create(
        b, loc, toWrite[i], entry->getArgument(outputArg[i]));
    op.setRestrict(true);
    op.setWritable(true);
  }
  func::ReturnOp::create(b, loc);
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> emitModule(MLIRContext &context, const EmitSpec &spec) {
  return Emitter(context, spec).run();
}

std::vector<bool> emittedInputReads(const EmitSpec &spec) {
  const Trace &trace = *spec.trace;
  std::vector<bool> read(trace.values().size(), false);
  for (const Node &node : trace.nodes()) {
    // sparseMatmul() and sparse_conv2d read a, positions, coordinates and
    // values, not the other CSR or the dense W after them.
    size_t emitted = node.prim == Prim::SparseMatMul ||
                             node.prim == Prim::SparseConv2d
                         ? std::min<size_t>(4, node.inputs.size())
                         : node.inputs.size();
    for (size_t i = 0; i < emitted; ++i)
      read[node.inputs[i]] = true;
    if (node.prim == Prim::SparseConv2d) // and its bias
      if (int bias = sparseConvInputs(node.attrs, node.inputs.size()).bias;
          bias >= 0)
        read[node.inputs[bias]] = true;
  }
  for (int value : spec.outputs)
    read[value] = true;
  std::vector<bool> inputs;
  for (int value : trace.inputs())
    inputs.push_back(read[value]);
  for (int alias : spec.outputAlias)
    if (alias >= 0)
      inputs[alias] = true;
  return inputs;
}

} // namespace bregman::detail
