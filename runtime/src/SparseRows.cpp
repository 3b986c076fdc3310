//===- SparseRows.cpp - Compressed sparse rows built on the host ----------===//

#include "bregman/runtime/SparseRows.h"

#include <algorithm>
#include <limits>

namespace bregman::runtime {

int64_t countNonZeros(const float *dense, int64_t rows, int64_t cols) {
  return std::count_if(dense, dense + rows * cols,
                       [](float x) { return x != 0.0f; });
}

std::string compressRows(const float *dense, int64_t rows, int64_t cols,
                         int64_t capacity, int32_t *positions,
                         int32_t *coordinates, float *values,
                         const std::string &what) {
  constexpr int64_t int32Max = std::numeric_limits<int32_t>::max();
  if (rows < 0 || cols < 0 || cols > int32Max)
    return what + ": a [" + std::to_string(rows) + ", " +
           std::to_string(cols) + "] matrix has no 32-bit CSR form";
  int64_t count = countNonZeros(dense, rows, cols);
  if (count > int32Max || count > capacity)
    return what + ": " + std::to_string(count) +
           " non-zeros do not fit the CSR capacity of " +
           std::to_string(std::min(capacity, int32Max));
  int64_t next = 0;
  positions[0] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = dense + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      if (row[c] == 0.0f)
        continue;
      coordinates[next] = static_cast<int32_t>(c);
      values[next++] = row[c];
    }
    positions[r + 1] = static_cast<int32_t>(next);
  }
  std::fill(coordinates + next, coordinates + capacity, 0);
  std::fill(values + next, values + capacity, 0.0f);
  return "";
}

} // namespace bregman::runtime
