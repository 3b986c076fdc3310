//===- CpuLibrary.h - Library calls of generated CPU code -------*- C++ -*-===//
//
// The C ABI between compiled steps and tuned libraries on the CPU. Addresses
// travel as intptr_t because that is MLIR's `index` type.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CPULIBRARY_H
#define BREGMAN_RUNTIME_CPULIBRARY_H

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
}

namespace bregman::runtime {
/// The library symbols compiled code may call, as (name, address) pairs.
struct LibrarySymbol {
  const char *name;
  void *address;
};
/// All CPU library symbols; terminated by {nullptr, nullptr}.
const LibrarySymbol *cpuLibrarySymbols();
/// The mgpu* functions host code of the GPU pipeline calls (module loading,
/// launches, streams, memory), backed by the dlopen'ed CUDA driver;
/// terminated by {nullptr, nullptr}.
const LibrarySymbol *gpuLibrarySymbols();
} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_CPULIBRARY_H
