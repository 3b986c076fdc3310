//===- SparseRows.h - Compressed sparse rows built on the host ---*- C++ -*-===//
//
// The CSR form the compiled sparse layers read (MLIR's sparse_tensor
// encoding (i : dense, j : compressed) with 32-bit positions and
// coordinates): positions [rows + 1], then coordinates and values in buffers
// of a fixed capacity whose tail past positions[rows] is unused.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_SPARSEROWS_H
#define BREGMAN_RUNTIME_SPARSEROWS_H

#include <cstdint>
#include <string>

namespace bregman::runtime {

/// The non-zeros of a row-major matrix.
int64_t countNonZeros(const float *dense, int64_t rows, int64_t cols);

/// Fills positions [rows + 1], coordinates and values [capacity] with the
/// exact non-zeros of `dense` (NaNs kept: they are not zero), row by row; the
/// unused tail is zeroed. Returns "" or why it cannot (a count that does not
/// fit 32 bits or the capacity), naming `what`.
std::string compressRows(const float *dense, int64_t rows, int64_t cols,
                         int64_t capacity, int32_t *positions,
                         int32_t *coordinates, float *values,
                         const std::string &what);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_SPARSEROWS_H
