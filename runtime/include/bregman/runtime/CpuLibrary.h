//===- CpuLibrary.h - Library calls of generated CPU code -------*- C++ -*-===//
//
// The C ABI between compiled steps and tuned libraries on the CPU. Addresses
// travel as intptr_t because that is MLIR's `index` type.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CPULIBRARY_H
#define BREGMAN_RUNTIME_CPULIBRARY_H

#include <cstddef>
#include <cstdint>

extern "C" {
/// The first CUDA failure recorded by the mgpu* functions since the last
/// call, or "" (valid until the next call).
const char *bregman_cuda_take_error();

/// C[M×N] = op(A)·op(B) + beta·C on dense row-major f32 matrices, where
/// op(X) is X or Xᵀ (transA/transB non-zero). A is M×K after op, B is K×N.
void bregman_cpu_sgemm(int32_t transA, int32_t transB, intptr_t m, intptr_t n,
                       intptr_t k, float beta, intptr_t a, intptr_t b,
                       intptr_t c);
/// `batch` such products on consecutive matrices (A, B, C each a contiguous
/// [batch, rows, cols] array), in one library call where it pays.
void bregman_cpu_sgemm_batched(int32_t transA, int32_t transB, intptr_t batch,
                               intptr_t m, intptr_t n, intptr_t k, float beta,
                               intptr_t a, intptr_t b, intptr_t c);
/// The same on device memory, with cuBLAS (dlopen'ed on first use) on the
/// runtime's stream; failures are recorded like the mgpu* functions'.
void bregman_gpu_sgemm(int32_t transA, int32_t transB, intptr_t m, intptr_t n,
                       intptr_t k, float beta, intptr_t a, intptr_t b,
                       intptr_t c);

/// Prints one bregman::debugPrint of a compiled step on stdout, a line:
/// `descriptor` is the format, a NUL, then per value its dtype, rank and
/// dimensions ("f32 2 128 10") and a NUL; `values` holds the `count`
/// addresses of the values' dense row-major buffers.
void bregman_debug_print(intptr_t descriptor, intptr_t count, intptr_t values);

/// The allocation functions of compiled code (the CPU pipeline's
/// runtime-allocator option): 64-byte aligned blocks, large ones cached by
/// size across calls.
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

/// The strided copy MLIR's memref-to-LLVM lowering calls for memref.copy
/// between non-contiguous buffers (e.g. into the interior of a padded
/// image): `src` and `dst` point at unranked descriptors {rank, ranked
/// descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}}.
void memrefCopy(int64_t elementSize, void *src, void *dst);

/// 2-D convolutions on dense NCHW f32 buffers (the geometry of breg.conv2d:
/// input [N, C, H, W], filter [F, C/groups, KH, KW], output [N, F, OH, OW],
/// padding top/left; bottom/right follow from OH, OW). Each writes its whole
/// result: y = conv(x, w); dx = conv_grad_input(dy, w); dw = conv_grad_filter(x, dy).
#define BREGMAN_CONV_GEOMETRY_PARAMS                                           \
  intptr_t n, intptr_t c, intptr_t h, intptr_t w, intptr_t f, intptr_t kh,     \
      intptr_t kw, intptr_t oh, intptr_t ow, intptr_t strideH,                 \
      intptr_t strideW, intptr_t padTop, intptr_t padLeft,                     \
      intptr_t dilationH, intptr_t dilationW, intptr_t groups
void bregman_cpu_conv2d_forward(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                intptr_t filter, intptr_t y);
void bregman_cpu_conv2d_grad_input(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t dy,
                                   intptr_t filter, intptr_t dx);
void bregman_cpu_conv2d_grad_filter(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                    intptr_t dy, intptr_t dfilter);
/// The same on device memory with cuDNN (dlopen'ed on first use), on the
/// runtime's stream; symmetric padding only (padTop/padLeft on both sides).
void bregman_gpu_conv2d_forward(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                intptr_t filter, intptr_t y);
void bregman_gpu_conv2d_grad_input(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t dy,
                                   intptr_t filter, intptr_t dx);
void bregman_gpu_conv2d_grad_filter(BREGMAN_CONV_GEOMETRY_PARAMS, intptr_t x,
                                    intptr_t dy, intptr_t dfilter);
}

namespace bregman::runtime {
/// The library symbols compiled code may call, as (name, address) pairs.
struct LibrarySymbol {
  const char *name;
  void *address;
};
/// All CPU library symbols (GEMM, convolutions and the core ones);
/// terminated by {nullptr, nullptr}. In bregman_runtime (OpenBLAS, oneDNN).
const LibrarySymbol *cpuLibrarySymbols();
/// The symbols every compiled step may call (memrefCopy, the allocator),
/// with no library behind them; in bregman_runtime_core.
const LibrarySymbol *coreLibrarySymbols();
/// The mgpu* functions host code of the GPU pipeline calls (module loading,
/// launches, streams, memory), backed by the dlopen'ed CUDA driver;
/// terminated by {nullptr, nullptr}.
const LibrarySymbol *gpuLibrarySymbols();
} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_CPULIBRARY_H
