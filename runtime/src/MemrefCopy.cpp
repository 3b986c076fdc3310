//===- MemrefCopy.cpp - The runtime functions every compiled step may call ===//
//
// MLIR's strided-copy ABI (memrefCopy) and the table of the functions here
// and in HostAllocator.cpp: what compiled code needs from the runtime beyond
// the GEMM/convolution libraries (CpuBlas.cpp, CpuConvDnnl.cpp) and the GPU
// (cuda/). The runtime may not link MLIR's runner utils, hence its own copy.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"

#include <cstring>
#include <vector>

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

const bregman::runtime::LibrarySymbol *bregman::runtime::coreLibrarySymbols() {
  static const LibrarySymbol symbols[] = {
      {"memrefCopy", reinterpret_cast<void *>(&memrefCopy)},
      {"bregman_debug_print", reinterpret_cast<void *>(&bregman_debug_print)},
      {"_mlir_memref_to_llvm_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_alloc)},
      {"_mlir_memref_to_llvm_aligned_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_aligned_alloc)},
      {"_mlir_memref_to_llvm_free",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_free)},
      {nullptr, nullptr}};
  return symbols;
}
