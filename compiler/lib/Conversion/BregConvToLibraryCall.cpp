//===- BregConvToLibraryCall.cpp - breg convolutions -> library calls -----===//
//
// Convolution goes to a tuned library like GEMM does. The rewrite happens on
// tensors, before bufferization: operands leave tensor land through
// `bufferization.to_buffer read_only`, the result comes back from a fresh
// buffer through `to_tensor restrict`, so one-shot bufferization sees exactly
// what the call reads and writes.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGCONVTOLIBRARYCALL
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;
using namespace mlir::breg;

static constexpr int kGeometryValues = 16;

/// The declaration of `symbol` (16 geometry indices, then 3 addresses),
/// created on first use; null with a diagnostic if it exists with another type.
static func::FuncOp getOrDeclare(ModuleOp module, StringRef symbol,
                                 OpBuilder &builder) {
  SmallVector<Type> args(kGeometryValues + 3, builder.getIndexType());
  FunctionType type = builder.getFunctionType(args, {});
  if (auto existing = module.lookupSymbol<func::FuncOp>(symbol)) {
    if (existing.getFunctionType() != type) {
      existing.emitError("'") << symbol << "' is declared as "
                              << existing.getFunctionType()
                              << " but the convolution library call needs "
                              << type;
      return nullptr;
    }
    return existing;
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto callee = func::FuncOp::create(builder, module.getLoc(), symbol, type);
  callee.setPrivate();
  return callee;
}

template <typename OpTy>
static LogicalResult rewriteToCall(OpTy op, StringRef symbol,
                                   bool requireSymmetricPadding,
                                   OpBuilder &builder) {
  RankedTensorType in = op.getInputType(), filter = op.getFilterType(),
                   out = op.getOutputType();
  if (!in.getElementType().isF32())
    return success(); // left for convert-breg-to-linalg
  ArrayRef<int64_t> padding = op.getPadding();
  if (requireSymmetricPadding &&
      (padding[0] != padding[2] || padding[1] != padding[3]))
    return success(); // the library cannot pad asymmetrically
  func::FuncOp callee =
      getOrDeclare(op->template getParentOfType<ModuleOp>(), symbol, builder);
  if (!callee)
    return failure();

  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  ArrayRef<int64_t> s = op.getStrides(), p = op.getPadding(),
                    d = op.getDilations();
  SmallVector<Value> args;
  for (int64_t v : {in.getDimSize(0), in.getDimSize(1), in.getDimSize(2),
                    in.getDimSize(3), filter.getDimSize(0), filter.getDimSize(2),
                    filter.getDimSize(3), out.getDimSize(2), out.getDimSize(3),
                    s[0], s[1], p[0], p[1], d[0], d[1],
                    static_cast<int64_t>(op.getGroups())})
    args.push_back(arith::ConstantIndexOp::create(builder, loc, v));
  auto bufferOf = [&](Value tensor) -> Value {
    auto type = llvm::cast<RankedTensorType>(tensor.getType());
    Value buffer = bufferization::ToBufferOp::create(
        builder, loc, MemRefType::get(type.getShape(), type.getElementType()),
        tensor, /*read_only=*/true);
    return memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
  };
  args.push_back(bufferOf(op.getLhs()));
  args.push_back(bufferOf(op.getRhs()));
  auto resultType = llvm::cast<RankedTensorType>(op.getResult().getType());
  Value result = memref::AllocOp::create(
      builder, loc,
      MemRefType::get(resultType.getShape(), resultType.getElementType()),
      builder.getI64IntegerAttr(64));
  args.push_back(memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, result));
  func::CallOp::create(builder, loc, callee, args);
  Value tensor = bufferization::ToTensorOp::create(
      builder, loc, resultType, result, /*restrict=*/true, /*writable=*/true);
  op.getResult().replaceAllUsesWith(tensor);
  op.erase();
  return success();
}

namespace {
struct BregConvToLibraryCallPass
    : breg::impl::BregConvToLibraryCallBase<BregConvToLibraryCallPass> {
  using Base::Base;
  void runOnOperation() override {
    std::string forward = symbolPrefix + "_forward";
    std::string gradInput = symbolPrefix + "_grad_input";
    std::string gradFilter = symbolPrefix + "_grad_filter";
    OpBuilder builder(&getContext());
    SmallVector<Operation *> convs;
    getOperation().walk([&](Operation *op) {
      if (llvm::isa<Conv2DOp, Conv2DGradInputOp, Conv2DGradFilterOp>(op))
        convs.push_back(op);
    });
    for (Operation *op : convs) {
      LogicalResult done =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](Conv2DOp conv) {
                return rewriteToCall(conv, forward, requireSymmetricPadding,
                                     builder);
              })
              .Case([&](Conv2DGradInputOp conv) {
                return rewriteToCall(conv, gradInput, requireSymmetricPadding,
                                     builder);
              })
              .Case([&](Conv2DGradFilterOp conv) {
                return rewriteToCall(conv, gradFilter, requireSymmetricPadding,
                                     builder);
              });
      if (failed(done))
        return signalPassFailure();
    }
  }
};
} // namespace
