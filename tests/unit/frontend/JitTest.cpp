//===- JitTest.cpp - jit: tracing, caching, donation, errors --------------===//

#include "bregman/bregman.h"

#include <gtest/gtest.h>

using namespace bregman;

TEST(Jit, ComputesBroadcastAddAndMatmul) {
  auto f = jit([](const Tensor &a, const Tensor &b, const Tensor &c) {
    return matmul(a, b, false, true) + c;
  });
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::fromVector(std::vector<float>{1, 0, 1, 0, 1, 0}, {2, 3});
  Tensor c = Tensor::fromVector(std::vector<float>{10, 20}, {2});
  Tensor r = f(a, b, c);
  ASSERT_EQ(r.shape(), (Shape{2, 2}));
  EXPECT_EQ(r.toVector<float>(), (std::vector<float>{14, 22, 20, 25}));
}
