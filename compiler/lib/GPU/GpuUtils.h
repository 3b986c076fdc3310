//===- GpuUtils.h - Helpers shared by the GPU passes ------------*- C++ -*-===//
//
// Private to compiler/lib/GPU.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_LIB_GPU_GPUUTILS_H
#define BREG_LIB_GPU_GPUUTILS_H

#include "mlir/IR/Value.h"

namespace mlir::breg {

/// The buffer a view is taken of (through subviews, reshapes, casts, and
/// extract_strided_metadata's base). Defined with the passes of
/// compiler/lib/Transforms, which use it too (OutlineUtils.h).
Value rootBuffer(Value value);

} // namespace mlir::breg

#endif // BREG_LIB_GPU_GPUUTILS_H
