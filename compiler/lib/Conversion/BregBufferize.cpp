//===- BregBufferize.cpp - One-shot bufferization, sparse-aware ------------===//
//
// Dense modules are bufferized exactly as before. A module that holds sparse
// tensors (CSR weights assembled from the buffers a function receives) goes
// through MLIR's sparsifier instead: its sparsification-and-bufferization
// mini-pipeline runs the same one-shot bufferization and turns each
// linalg.generic with a sparse operand into loops over the stored entries.
//
//===----------------------------------------------------------------------===//

#include "breg/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/Dialect/SparseTensor/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::breg {
#define GEN_PASS_DEF_BREGBUFFERIZE
#include "breg/Conversion/Passes.h.inc"
} // namespace mlir::breg

using namespace mlir;

namespace {

bool hasSparseType(TypeRange types) {
  return llvm::any_of(types, [](Type type) {
    return sparse_tensor::getSparseTensorEncoding(type) != nullptr;
  });
}

/// The first op with a sparse operand or result, or null.
Operation *firstSparseOp(ModuleOp module) {
  Operation *found = nullptr;
  module.walk([&](Operation *op) {
    if (hasSparseType(op->getOperandTypes()) ||
        hasSparseType(op->getResultTypes())) {
      found = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

/// The sparsifier reads linalg.generic only; dense named ops stay named (the
/// GEMM library call matches linalg.matmul).
LogicalResult generalizeSparseNamedOps(ModuleOp module) {
  SmallVector<linalg::LinalgOp> named;
  module.walk([&](linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp>(op) && hasSparseType(op->getOperandTypes()))
      named.push_back(op);
  });
  IRRewriter rewriter(module.getContext());
  for (linalg::LinalgOp op : named) {
    rewriter.setInsertionPoint(op);
    if (failed(linalg::generalizeNamedOp(rewriter, op)))
      return op->emitError("cannot generalize this op with a sparse operand "
                           "for the sparsifier");
  }
  return success();
}

/// Whether the op's innermost loop over a sparse operand's stored entries
/// also indexes a dense input (x·Wᵀ batch-major: x[m, k] against W[n, k]),
/// so that its vector loop gathers that input at the entries' coordinates.
bool gathersAtCoordinates(linalg::LinalgOp op) {
  OpOperand *sparse = nullptr;
  for (OpOperand *input : op.getDpsInputOperands())
    if (sparse_tensor::getSparseTensorEncoding(input->get().getType()))
      sparse = input;
  if (!sparse)
    return false;
  AffineMap sparseMap = op.getMatchingIndexingMap(sparse);
  if (sparseMap.getNumResults() == 0)
    return false;
  AffineExpr entries = sparseMap.getResults().back();
  return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *input) {
    AffineMap map = op.getMatchingIndexingMap(input);
    return input != sparse && map.getNumResults() > 0 &&
           map.getResults().back() == entries;
  });
}

/// The vector length for the module's sparse loops: scalar when every op
/// with a sparse operand gathers (small-batch inference) and more than 8
/// lanes were asked for (the pipeline's default), else `requested` (one
/// sparsifier run serves the whole module). On the Ice Lake Xeon measured,
/// scalar loads with the row's entries summed in groups
/// (breg-split-sparse-sums) beat the 8-lane gathers by 1.5-3x, and
/// hand-written kernels on a Zen 4 EPYC point the same way; on a Sapphire
/// Rapids Xeon 8-lane gathers were 2x faster than a one-chain scalar loop
/// and the groups are untested there (docs/PERFORMANCE.md, "Row sums in
/// four-entry groups"): `sparse-vector-length` of 8 or less still asks for
/// gathers.
int32_t sparseLanes(ModuleOp module, int32_t requested) {
  if (requested <= 8)
    return requested;
  bool any = false, allGather = true;
  module.walk([&](linalg::LinalgOp op) {
    if (!hasSparseType(op->getOperandTypes()))
      return;
    any = true;
    allGather &= gathersAtCoordinates(op);
  });
  return any && allGather ? 0 : requested;
}

struct BregBufferize
    : public breg::impl::BregBufferizeBase<BregBufferize> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Operation *sparse = firstSparseOp(module);
    if (sparse && !allowSparse) {
      sparse->emitError("sparse tensors are lowered on the CPU only");
      return signalPassFailure();
    }
    if (sparse && failed(generalizeSparseNamedOps(module)))
      return signalPassFailure();
    OpPassManager pm(ModuleOp::getOperationName());
    if (sparse)
      addSparsePasses(pm, sparseLanes(module, sparseVectorLength));
    else
      addDensePasses(pm);
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
    if (sparse)
      reassociateSparseReductions(module);
  }

  /// The sparsifier's vector loops already sum in interleaved lanes; their
  /// final horizontal sums need no particular order either, and an ordered
  /// one (LLVM's default) is a chain of dependent adds, one per lane, per output.
  /// (The sparsifier marks its loops "Emitted from".)
  static void reassociateSparseReductions(ModuleOp module) {
    module.walk([&](vector::ReductionOp op) {
      Operation *loop = op->getParentOp();
      if (loop && loop->hasAttr("Emitted from"))
        op.setFastmathAttr(arith::FastMathFlagsAttr::get(
            op.getContext(), arith::FastMathFlags::reassoc));
    });
  }

  static void addDensePasses(OpPassManager &pm) {
    bufferization::OneShotBufferizePassOptions bufferize;
    bufferize.bufferizeFunctionBoundaries = true;
    bufferize.functionBoundaryTypeConversion =
        bufferization::LayoutMapOption::IdentityLayoutMap;
    pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  }

  static void addSparsePasses(OpPassManager &pm, int32_t lanes) {
    // Direct code generation (no sparse runtime library); deallocation is
    // left to the buffer-deallocation pipeline that follows, as for dense
    // buffers. 32-bit coordinates index the gathers of vectorized loops.
    pm.addPass(createSparsificationAndBufferizationPass(
        getBufferizationOptionsForSparsification(/*analysisOnly=*/false),
        SparsificationOptions(SparseParallelizationStrategy::kNone,
                              SparseEmitStrategy::kFunctional,
                              /*enableRT=*/false),
        /*createSparseDeallocs=*/false, /*enableRuntimeLibrary=*/false,
        /*enableBufferInitialization=*/false, lanes,
        /*enableVLAVectorization=*/false,
        /*enableSIMDIndex32=*/lanes > 0,
        /*enableGPULibgen=*/false, SparseEmitStrategy::kFunctional,
        SparseParallelizationStrategy::kNone));
    pm.addPass(createStorageSpecifierToLLVMPass());
  }
};

} // namespace
