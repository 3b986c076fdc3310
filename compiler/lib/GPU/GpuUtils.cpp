//===- GpuUtils.cpp - Helpers shared by the GPU passes --------------------===//

#include "GpuUtils.h"

#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

Value mlir::breg::rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}
