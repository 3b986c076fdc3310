//===- CpuBlas.cpp - GEMM for generated CPU code through OpenBLAS ---------===//

#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/Profile.h"

#include <cblas.h>

#include <cstring>
#include <vector>

extern "C" void bregman_cpu_sgemm(int32_t transA, int32_t transB, intptr_t m,
                                  intptr_t n, intptr_t k, float beta,
                                  intptr_t a, intptr_t b, intptr_t c) {
  bregman::runtime::ProfileCounters &profile =
      bregman::runtime::profileCounters();
  bregman::runtime::ProfileScope timed(profile.gemmNs);
  if (bregman::runtime::profilingEnabled())
    ++profile.gemmCalls;
  // Row-major leading dimensions are the stored row lengths.
  const int lda = transA ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = transB ? static_cast<int>(k) : static_cast<int>(n);
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f,
              reinterpret_cast<const float *>(a), lda,
              reinterpret_cast<const float *>(b), ldb, beta,
              reinterpret_cast<float *>(c), static_cast<int>(n));
}

namespace {
/// A ranked memref descriptor as MLIR lays it out (sizes and strides follow
/// the offset, `rank` of each).
struct RankedDescriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[1]; // [rank] sizes, then [rank] strides
};
struct UnrankedDescriptor {
  int64_t rank;
  RankedDescriptor *descriptor;
};
} // namespace

extern "C" void memrefCopy(int64_t elementSize, void *src, void *dst) {
  auto *s = static_cast<UnrankedDescriptor *>(src);
  auto *d = static_cast<UnrankedDescriptor *>(dst);
  const int64_t rank = s->rank;
  const int64_t *sizes = s->descriptor->sizesAndStrides;
  const int64_t *srcStrides = sizes + rank;
  const int64_t *dstStrides = d->descriptor->sizesAndStrides + rank;
  char *from = s->descriptor->aligned + s->descriptor->offset * elementSize;
  char *to = d->descriptor->aligned + d->descriptor->offset * elementSize;
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  // Rows along the last dimension; an odometer over the others.
  const bool contiguousRows =
      rank == 0 || (srcStrides[rank - 1] == 1 && dstStrides[rank - 1] == 1);
  const int64_t rowLength = rank == 0 ? 1 : sizes[rank - 1];
  std::vector<int64_t> index(rank > 0 ? rank - 1 : 0, 0);
  while (true) {
    int64_t srcOffset = 0, dstOffset = 0;
    for (int64_t i = 0; i + 1 < rank; ++i) {
      srcOffset += index[i] * srcStrides[i];
      dstOffset += index[i] * dstStrides[i];
    }
    if (contiguousRows) {
      std::memcpy(to + dstOffset * elementSize, from + srcOffset * elementSize,
                  rowLength * elementSize);
    } else {
      for (int64_t j = 0; j < rowLength; ++j)
        std::memcpy(to + (dstOffset + j * dstStrides[rank - 1]) * elementSize,
                    from + (srcOffset + j * srcStrides[rank - 1]) * elementSize,
                    elementSize);
    }
    int64_t dim = rank - 2;
    while (dim >= 0 && ++index[dim] == sizes[dim])
      index[dim--] = 0;
    if (dim < 0)
      return;
  }
}

const bregman::runtime::LibrarySymbol *bregman::runtime::cpuLibrarySymbols() {
  static const LibrarySymbol symbols[] = {
      {"bregman_cpu_sgemm", reinterpret_cast<void *>(&bregman_cpu_sgemm)},
      {"memrefCopy", reinterpret_cast<void *>(&memrefCopy)},
      {"_mlir_memref_to_llvm_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_alloc)},
      {"_mlir_memref_to_llvm_aligned_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_aligned_alloc)},
      {"_mlir_memref_to_llvm_free",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_free)},
      {"bregman_cpu_conv2d_forward",
       reinterpret_cast<void *>(&bregman_cpu_conv2d_forward)},
      {"bregman_cpu_conv2d_grad_input",
       reinterpret_cast<void *>(&bregman_cpu_conv2d_grad_input)},
      {"bregman_cpu_conv2d_grad_filter",
       reinterpret_cast<void *>(&bregman_cpu_conv2d_grad_filter)},
      {nullptr, nullptr}};
  return symbols;
}
