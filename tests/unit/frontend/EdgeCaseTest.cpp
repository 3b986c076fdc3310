//===- EdgeCaseTest.cpp - Values and gradients at the edges, against JAX ---===//
//
// Cases a hostile comparison with JAX and PyTorch found wrong (session 46);
// each expected value is JAX's, checked in float64 by hand in the comment.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace bregman;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// A logit of −∞ (or one more than f32's range below the largest) that is not
// the label's: 0·(−∞) made the loss NaN while its gradient stayed finite.
TEST(EdgeCase, CrossEntropyWithAMinusInfiniteLogitIsFinite) {
  auto f = jit([](const Tensor &logits, const Tensor &labels) {
    return valueAndGrad(
        [&](const Tensor &l) { return crossEntropy(l, labels); })(logits);
  });
  Tensor logits = Tensor::fromVector(
      std::vector<float>{-kInf, 0.0f, 1.0f, 2.0f, 1.0f, -kInf}, {2, 3});
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{2, 1}, {2});
  auto [loss, grad] = f(logits, labels);
  // Row 0: log(1 + e) − 1; row 1: log(e² + e) − 1 = 1 + log(1 + e) − 1.
  double lse = std::log1p(std::exp(1.0));
  EXPECT_NEAR(loss.item(), ((lse - 1.0) + lse) / 2.0, 1e-6);
  // softmax − onehot, over the batch of 2.
  double p = 1.0 / (1.0 + std::exp(1.0)); // e⁰ / (e⁰ + e¹)
  std::vector<float> g = grad.toVector<float>();
  std::vector<double> want{0, p / 2, (1 - p - 1) / 2, (1 - p) / 2, (p - 1) / 2, 0};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(g[i], want[i], 1e-6) << i;

  Tensor huge = Tensor::fromVector(
      std::vector<float>{1e30f, -1e30f, 0.0f, 3e38f, -3e38f, 0.0f, 100.0f,
                         0.0f, -100.0f},
      {3, 3});
  Tensor hugeLabels = Tensor::fromVector(std::vector<int32_t>{1, 0, 2}, {3});
  // Rows: 2e30, 0, 200; their mean (JAX and PyTorch: 6.667e29).
  EXPECT_NEAR(std::get<0>(f(huge, hugeLabels)).item(), (2e30 + 200) / 3,
              1e24);
}

// A long axis without a divisor near √n (a prime length) was summed in one
// float32 chain: 1,000,003 × 0.1 came out 1 % high.
TEST(EdgeCase, APrimeLengthIsSummedInSteps) {
  auto total = jit([](const Tensor &x) { return sum(x, {0}); });
  const int64_t n = 1000003;
  Tensor x = Tensor::fromVector(std::vector<float>(n, 0.1f), {n});
  double exact = n * static_cast<double>(0.1f);
  EXPECT_NEAR(total(x).item(), exact, exact * 1e-5);
  // Rows of a prime length, and their softmax (which sums the same way).
  auto rows = jit([](const Tensor &x) {
    return std::make_tuple(sum(x, {1}), softmax(x, 1));
  });
  const int64_t m = 100003;
  Tensor y = Tensor::fromVector(std::vector<float>(2 * m, 0.1f), {2, m});
  auto [sums, probabilities] = rows(y);
  for (float s : sums.toVector<float>())
    EXPECT_NEAR(s, m * static_cast<double>(0.1f), 1e-5 * m * 0.1);
  EXPECT_NEAR(probabilities.toVector<float>()[0], 1.0 / m, 1e-5 / m);
}

// An empty part at the end of a concat, or an empty slice at the end, was
// emitted at offset == dim and refused by the verifier.
TEST(EdgeCase, EmptyConcatPartsAndSlicesAtTheEnd) {
  auto f = jit([](const Tensor &a, const Tensor &empty) {
    return std::make_tuple(concat({a, empty}, 1), slice(a, 1, 3, 0),
                           concat({empty, empty}, 1));
  });
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  auto [joined, cut, none] = f(a, Tensor::zeros({2, 0}));
  EXPECT_EQ(joined.toVector<float>(), a.toVector<float>());
  EXPECT_EQ(cut.shape(), (Shape{2, 0}));
  EXPECT_EQ(none.shape(), (Shape{2, 0}));
  auto g = jit(grad([](const Tensor &x) {
    return sum(concat({x, slice(x, 1, 3, 0)}, 1));
  }));
  EXPECT_EQ(g(a).toVector<float>(), std::vector<float>(6, 1.0f));
}

// As JAX and PyTorch: half the cotangent to each operand on ties, none
// where one is NaN (ours gave all of it to `a` on ties, and to `b` at NaN).
TEST(EdgeCase, MaximumSplitsTiesEvenly) {
  auto f = jit([](const Params &p) {
    return grad([](const Params &q) {
      return sum(maximum(q["a"], q["b"]));
    })(p);
  });
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 0, -0.0f, kInf, nan},
                                {6});
  Tensor b = Tensor::fromVector(std::vector<float>{1, 1, 3, 0.0f, kInf, 1},
                                {6});
  Params g = f(Params{{"a", a}, {"b", b}});
  EXPECT_EQ(g["a"].toVector<float>(),
            (std::vector<float>{0.5f, 1, 0, 0.5f, 0.5f, 0}));
  EXPECT_EQ(g["b"].toVector<float>(),
            (std::vector<float>{0.5f, 0, 1, 0.5f, 0.5f, 0}));
}

// x·(1 + erf) overflowed before the halving for x near f32's largest value.
TEST(EdgeCase, ExactGeluOfAHugeValueIsFinite) {
  auto f = jit([](const Tensor &x) { return gelu(x); });
  Tensor x = Tensor::fromVector(std::vector<float>{3e38f, 1.0f}, {2});
  std::vector<float> y = f(x).toVector<float>();
  EXPECT_FLOAT_EQ(y[0], 3e38f);
  // 0.5·(1 + erf(1/√2)) = Φ(1) = 0.841344746.
  EXPECT_NEAR(y[1], 0.841344746, 1e-6);
}

} // namespace
