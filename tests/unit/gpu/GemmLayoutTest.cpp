//===- GemmLayoutTest.cpp - The cuBLAS call's operand mapping -------------===//
//
// bregman_gpu_sgemm hands cuBLAS (column-major) the mapping of GemmLayout.h.
// The same mapping given to OpenBLAS's column-major sgemm must compute the
// row-major product, for every transpose combination and non-square sizes,
// against a float64 loop.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/GemmLayout.h"

#include <cblas.h>
#include <cmath>
#include <gtest/gtest.h>
#include <tuple>
#include <vector>

using namespace bregman::runtime;

class GemmLayout
    : public ::testing::TestWithParam<std::tuple<bool, bool, float>> {};

TEST_P(GemmLayout, ColumnMajorCallComputesTheRowMajorProduct) {
  // Named, not bound, so that the lambdas below may capture them (C++17).
  const bool transA = std::get<0>(GetParam()), transB = std::get<1>(GetParam());
  const float beta = std::get<2>(GetParam());
  const int m = 5, n = 7, k = 3;
  // Stored row-major: A is m×k (k×m when transposed), B is k×n (n×k).
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = std::sin(0.7f * i) + 0.1f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = std::cos(0.3f * i) - 0.2f;
  for (size_t i = 0; i < c.size(); ++i)
    c[i] = 0.01f * i;
  auto at = [&](int i, int p) {
    return transA ? a[p * m + i] : a[i * k + p];
  };
  auto bt = [&](int p, int j) {
    return transB ? b[j * k + p] : b[p * n + j];
  };
  std::vector<double> want(m * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = beta * double(c[i * n + j]);
      for (int p = 0; p < k; ++p)
        sum += double(at(i, p)) * bt(p, j);
      want[i * n + j] = sum;
    }
  ColumnMajorGemm g = columnMajorForRowMajor(
      transA, transB, m, n, k, reinterpret_cast<intptr_t>(a.data()),
      reinterpret_cast<intptr_t>(b.data()), reinterpret_cast<intptr_t>(c.data()));
  cblas_sgemm(CblasColMajor, g.transFirst ? CblasTrans : CblasNoTrans,
              g.transSecond ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.0f,
              g.first, g.ldFirst, g.second, g.ldSecond, beta, g.c, g.ldc);
  for (int i = 0; i < m * n; ++i)
    EXPECT_NEAR(c[i], want[i], 1e-5) << i;
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, GemmLayout,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(0.0f, 1.0f)));

// A product over an empty inner dimension (k = 0) is beta·C; its leading
// dimensions are at least 1, as BLAS (and cuBLAS) demand even then.
TEST(GemmLayoutEmpty, AnEmptyInnerDimensionScalesC) {
  for (bool transA : {false, true})
    for (bool transB : {false, true}) {
      std::vector<float> c = {1, 2, 3, 4, 5, 6};
      float unused = 0;
      ColumnMajorGemm g = columnMajorForRowMajor(
          transA, transB, 2, 3, 0, reinterpret_cast<intptr_t>(&unused),
          reinterpret_cast<intptr_t>(&unused),
          reinterpret_cast<intptr_t>(c.data()));
      EXPECT_GE(g.ldFirst, 1);
      EXPECT_GE(g.ldSecond, 1);
      cblas_sgemm(CblasColMajor, g.transFirst ? CblasTrans : CblasNoTrans,
                  g.transSecond ? CblasTrans : CblasNoTrans, g.m, g.n, g.k,
                  1.0f, g.first, g.ldFirst, g.second, g.ldSecond, 2.0f, g.c,
                  g.ldc);
      EXPECT_EQ(c, (std::vector<float>{2, 4, 6, 8, 10, 12}))
          << transA << transB;
    }
}
