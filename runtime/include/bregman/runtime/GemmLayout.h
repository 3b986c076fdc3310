//===- GemmLayout.h - Row-major GEMM as a column-major call -----*- C++ -*-===//
//
// Compiled code calls GEMM on row-major matrices; cuBLAS is column-major. A
// row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ over the
// same memory: swap the operands and M/N, keep the transpose flags; leading
// dimensions are the stored rows' lengths. (Tested against a column-major
// BLAS on the CPU, since the GPU is not always there.)
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_GEMMLAYOUT_H
#define BREGMAN_RUNTIME_GEMMLAYOUT_H

#include <cstdint>

namespace bregman::runtime {

struct ColumnMajorGemm {
  bool transFirst, transSecond; // of the first and second operand below
  int m, n, k;
  const float *first;
  int ldFirst;
  const float *second;
  int ldSecond;
  float *c;
  int ldc;
};

/// The column-major call computing row-major C[m×n] = op(A)·op(B). Leading
/// dimensions are at least 1, as BLAS requires even of an empty operand (a
/// product over k = 0 then only scales C by beta).
inline ColumnMajorGemm columnMajorForRowMajor(int32_t transA, int32_t transB,
                                              intptr_t m, intptr_t n,
                                              intptr_t k, intptr_t a,
                                              intptr_t b, intptr_t c) {
  auto ld = [](intptr_t rowLength) {
    return static_cast<int>(rowLength < 1 ? 1 : rowLength);
  };
  return {transB != 0,
          transA != 0,
          static_cast<int>(n),
          static_cast<int>(m),
          static_cast<int>(k),
          reinterpret_cast<const float *>(b),
          ld(transB ? k : n),
          reinterpret_cast<const float *>(a),
          ld(transA ? m : k),
          reinterpret_cast<float *>(c),
          ld(n)};
}

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_GEMMLAYOUT_H
