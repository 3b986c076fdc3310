//===- OutlineUtils.h - What the outlining passes share ---------*- C++ -*-===//

#ifndef BREG_TRANSFORMS_OUTLINEUTILS_H
#define BREG_TRANSFORMS_OUTLINEUTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::breg {

/// The buffer `value` is a view of: through extract_strided_metadata's base
/// and view-like ops to an allocation, a call or loop result, or an argument.
/// (Also the GPU passes', compiler/lib/GPU/GpuUtils.h.)
Value rootBuffer(Value value);

/// `op` and the operations nested in it.
int64_t opsWithin(Operation *op);

/// The functions of `module` worth cutting: defined in one block, of more
/// than `maxOps` operations (nested ones included).
SmallVector<func::FuncOp> functionsAbove(ModuleOp module, int64_t maxOps);

/// Whether `ops` free a buffer they did not allocate themselves (traced
/// through views and extract_strided_metadata to its allocation): outlined
/// with its buffers as bare pointers, such a buffer would be freed through
/// its aligned pointer, which differs from the allocated one when the
/// lowering aligns a malloc by hand (without the runtime's allocator).
bool freesForeignBuffer(ArrayRef<Operation *> ops);

/// Whether the CPU pipeline's bare-pointer calling convention can pass
/// `value` (any non-buffer, or a buffer of static shape and layout).
bool passesAsBarePointer(Value value);

/// Makes an outlined function private to the module in LLVM too (internal
/// linkage: LLVM may propagate the constants of its one caller into it) and
/// never inlined (the point of outlining it). A `no_inline` attribute on a
/// func.func is dropped by convert-func-to-llvm; `passthrough` is not.
void markOutlined(func::FuncOp fn);

} // namespace mlir::breg

#endif // BREG_TRANSFORMS_OUTLINEUTILS_H
