//===- JitTest.cpp - jit: tracing, caching, donation, errors --------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <thread>
#include <unistd.h>

using namespace bregman;
using bregman::testing::errorMessage;

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


//===----------------------------------------------------------------------===//
// Cache, errors, donation checks, integer ops
//===----------------------------------------------------------------------===//

namespace {

Tensor filledF32(const Shape &shape, float start) {
  std::vector<float> v(numElements(shape));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = start + static_cast<float>(i);
  return Tensor::fromVector(v, shape);
}

} // namespace

TEST(Jit, CacheHitsOnSameShapesAndMissesOnNewBatchSize) {
  auto f = jit([](const Tensor &x, const Tensor &w) {
    return matmul(x, w) * 2.0;
  });
  Tensor w = filledF32({3, 2}, 0.0f);
  for (int i = 0; i < 3; ++i) {
    Tensor r = f(filledF32({4, 3}, static_cast<float>(i)), w);
    ASSERT_EQ(r.shape(), (Shape{4, 2}));
    // Row 0 of x is (i, i+1, i+2); w = [[0,1],[2,3],[4,5]].
    float a = i, b = i + 1, c = i + 2;
    EXPECT_EQ(r.toVector<float>()[0], 2 * (2 * b + 4 * c));
    EXPECT_EQ(r.toVector<float>()[1], 2 * (a + 3 * b + 5 * c));
  }
  EXPECT_EQ(f.compileCount(), 1u);
  EXPECT_EQ(f.cacheSize(), 1u);
  Tensor r = f(filledF32({7, 3}, 0.0f), w);
  EXPECT_EQ(r.shape(), (Shape{7, 2}));
  EXPECT_EQ(f.compileCount(), 2u);
  EXPECT_EQ(f.cacheSize(), 2u);
  // Both signatures stay cached.
  f(filledF32({4, 3}, 0.0f), w);
  f(filledF32({7, 3}, 0.0f), w);
  EXPECT_EQ(f.compileCount(), 2u);
}

// Threads calling a new jit at once each traced and compiled it (one
// compilation per thread, racing on the cache); one compiles now, the others
// wait for it, and every thread's calls give its own results.
TEST(Jit, ThreadsCallingANewJitAtOnceCompileItOnce) {
  auto f =
      jit([](const Tensor &x, const Tensor &w) { return matmul(x, w) * 2.0; });
  // Another callable compiled at the same time: compilations share one MLIR
  // context, which has no locks of its own.
  auto g = jit([](const Tensor &x) { return exp(x) + 1.0; });
  std::thread other([&] {
    for (int i = 0; i < 4; ++i)
      g(filledF32({4 + i, 3}, 0.0f));
  });
  Tensor w = filledF32({3, 2}, 0.0f);
  constexpr int kThreads = 4;
  std::atomic<int> waiting{kThreads};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      waiting.fetch_sub(1);
      while (waiting.load() > 0) {
      }
      for (int call = 0; call < 50 && failures[t].empty(); ++call) {
        float a = static_cast<float>(t * 100 + call), b = a + 1, c = a + 2;
        try {
          std::vector<float> r = f(filledF32({4, 3}, a), w).toVector<float>();
          if (r[0] != 2 * (2 * b + 4 * c) || r[1] != 2 * (a + 3 * b + 5 * c))
            failures[t] =
                "call " + std::to_string(call) + ": " + std::to_string(r[0]);
        } catch (const Error &e) {
          failures[t] = e.what();
        }
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  other.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_EQ(g.compileCount(), 4u);
  EXPECT_EQ(f.compileCount(), 1u);
  EXPECT_EQ(f.cacheSize(), 1u);
}

// The phases of compileTimes() are measured parts of its total: each took
// some time, and together they are no more than the whole.
TEST(Jit, CompileTimesSplitTheTotal) {
  auto f = jit([](const Tensor &x, const Tensor &w) {
    return relu(matmul(x, w)) + 1.0;
  });
  EXPECT_EQ(f.compileTimes().total, 0.0);
  f(filledF32({4, 3}, 1.0f), filledF32({3, 2}, 0.5f));
  const CompileTimes &t = f.compileTimes();
  EXPECT_GT(t.emit, 0.0);
  EXPECT_GT(t.passes, 0.0);
  EXPECT_GT(t.llvmOpt, 0.0);
  EXPECT_GT(t.codegen, 0.0);
  EXPECT_LE(t.emit + t.passes + t.llvmOpt + t.codegen, t.total + 1e-9);
  EXPECT_EQ(t.total, f.compileSeconds());
  double first = t.total;
  f(filledF32({5, 3}, 1.0f), filledF32({3, 2}, 0.5f)); // a second signature
  EXPECT_GT(f.compileTimes().total, first);
}

// processCompileTotals() counts every compilation of every jit callable:
// two callables, three compilations, their seconds summed (a cache hit adds
// nothing).
TEST(Jit, ProcessCompileTotalsCountEveryJit) {
  CompileTotals before = processCompileTotals();
  auto f = jit([](const Tensor &x) { return x * 2.0; });
  auto g = jit([](const Tensor &x) { return x + 1.0; });
  f(filledF32({2, 3}, 1.0f));
  f(filledF32({4, 3}, 1.0f));
  f(filledF32({2, 3}, 1.0f));
  g(filledF32({2, 3}, 1.0f));
  CompileTotals after = processCompileTotals();
  EXPECT_EQ(after.count - before.count, 3u);
  EXPECT_NEAR(after.seconds - before.seconds,
              f.compileSeconds() + g.compileSeconds(), 1e-9);
  EXPECT_GT(after.seconds - before.seconds, 0.0);
}

TEST(Jit, DTypeIsPartOfTheCacheKey) {
  auto f = jit([](const Tensor &x) { return x + x; });
  EXPECT_EQ(f(Tensor::fromVector(std::vector<float>{1, 2}, {2})).toVector<float>(),
            (std::vector<float>{2, 4}));
  EXPECT_EQ(f(Tensor::fromVector(std::vector<double>{1, 2}, {2})).toVector<double>(),
            (std::vector<double>{2, 4}));
  EXPECT_EQ(f.compileCount(), 2u);
}

// The cache tells calls apart by every leaf's Params key and argument
// position too: the same shapes under other names, or moved to another
// argument, trace the function again (its result may depend on them).
TEST(Jit, ParamsKeysAndArgumentPositionsArePartOfTheCacheKey) {
  auto f = jit([](const Tensor &zero, const Params &p, const Params &q) {
    Tensor total = zero;
    for (const auto &[name, t] : p)
      total = total + t * (name == "a" ? 1.0 : 10.0);
    for (const auto &[name, t] : q)
      total = total + t * 100.0;
    return total;
  });
  Tensor zero = Tensor::zeros({2}), one = filledF32({2}, 1.0f);
  EXPECT_EQ(f(zero, Params{{"a", one}}, Params{}).toVector<float>()[0], 1.0f);
  EXPECT_EQ(f(zero, Params{{"b", one}}, Params{}).toVector<float>()[0], 10.0f);
  EXPECT_EQ(f(zero, Params{}, Params{{"a", one}}).toVector<float>()[0], 100.0f);
  EXPECT_EQ(f.compileCount(), 3u);
  // Each is found again without compiling.
  EXPECT_EQ(f(zero, Params{{"b", one}}, Params{}).toVector<float>()[0], 10.0f);
  EXPECT_EQ(f(zero, Params{{"a", one}}, Params{}).toVector<float>()[0], 1.0f);
  EXPECT_EQ(f.compileCount(), 3u);
  EXPECT_EQ(f.cacheSize(), 3u);
}

TEST(Jit, MatmulShapeMismatchNamesTheShapes) {
  auto f = jit([](const Tensor &a, const Tensor &b) { return matmul(a, b); });
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  EXPECT_THROW(f(a, b), Error);
  std::string msg = errorMessage([&] { f(a, b); });
  EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  EXPECT_EQ(f.compileCount(), 0u);
  // A failed trace leaves no trace active: ops outside jit still refuse.
  EXPECT_THROW(a + a, Error);
}

TEST(Jit, ConcreteOpOutsideJitThrowsMentioningJit) {
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  EXPECT_THROW(a + a, Error);
  std::string msg = errorMessage([&] { (void)(a * a); });
  EXPECT_NE(msg.find("jit"), std::string::npos) << msg;
  msg = errorMessage([&] { (void)exp(a); });
  EXPECT_NE(msg.find("jit"), std::string::npos) << msg;
  msg = errorMessage([&] { (void)sum(a); });
  EXPECT_NE(msg.find("jit"), std::string::npos) << msg;
}

TEST(Jit, ConcreteTensorCapturedInsideJitThrows) {
  Tensor captured = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  auto f = jit([&](const Tensor &x) { return x + captured; });
  std::string msg =
      errorMessage([&] { f(Tensor::fromVector(std::vector<float>{3, 4}, {2})); });
  EXPECT_NE(msg.find("jit"), std::string::npos) << msg;
}

TEST(Jit, SameTensorTwiceInDonatedPositionsThrows) {
  auto f = jit([](const Tensor &a, const Tensor &b) {
    return std::make_tuple(a + b, a - b);
  }, JitOptions{{0, 1}, "donate_twice"});
  Tensor t = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  EXPECT_THROW(f(t, t), Error);
  std::string msg = errorMessage([&] { f(t, t); });
  EXPECT_NE(msg.find("buffer"), std::string::npos) << msg;
  // t is untouched by the refused call.
  EXPECT_EQ(t.toVector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(f.compileCount(), 1u); // traced and compiled, refused at run
}

TEST(Jit, DonationReusesBuffers) {
  auto f = jit([](const Tensor &a, const Tensor &b) { return a * 2.0 + b; },
               JitOptions{{0}});
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  Tensor b = Tensor::fromVector(std::vector<float>{10, 20, 30}, {3});
  const float *ap = a.data<float>();
  Tensor r = f(a, b);
  EXPECT_EQ(r.data<float>(), ap);
  EXPECT_EQ(r.toVector<float>(), (std::vector<float>{12, 24, 36}));
  EXPECT_EQ(b.toVector<float>(), (std::vector<float>{10, 20, 30}));
}

// A copy of a donated argument (a "snapshot" of the best weights) showed
// the call's outputs; now every handle of the consumed buffer says so, and
// Params::copy keeps the value.
TEST(Jit, ADonatedArgumentsHandlesSayTheyWereConsumed) {
  auto step = jit(
      [](const Params &p) {
        Params out;
        out.add("w", p["w"] * 2.0);
        return out;
      },
      JitOptions{{0}, "double_step"});
  Params params{{"w", Tensor::fromVector(std::vector<float>{1, 2}, {2})}};
  Params shared = params, snapshot = params.copy();
  Params updated = step(params);
  EXPECT_EQ(updated["w"].toVector<float>(), (std::vector<float>{2, 4}));
  EXPECT_EQ(snapshot["w"].toVector<float>(), (std::vector<float>{1, 2}));
  std::string message = errorMessage([&] { shared["w"].toVector<float>(); });
  EXPECT_NE(message.find("donated to jit 'double_step'"), std::string::npos)
      << message;
  // debugPrint outside jit too (it said the tensor was a tracer).
  message = errorMessage([&] { debugPrint("w {}", shared["w"]); });
  EXPECT_NE(message.find("donated to jit 'double_step'"), std::string::npos)
      << message;
  message = errorMessage([&] { step(params); });
  EXPECT_NE(message.find("double_step: argument 0 ('w') was donated to an "
                         "earlier call of jit 'double_step'"),
            std::string::npos)
      << message;
  // The outputs go on as the next call's arguments.
  EXPECT_EQ(step(updated)["w"].toVector<float>(), (std::vector<float>{4, 8}));
}

// Regression (fixed in 2a3990b): with two donated inputs a, b and outputs
// (a + b, a − b), the second output was computed from the already-
// overwritten a: it returned (a + b) − b = a instead of a − b.
// eliminate-empty-tensors made the first
// generic write straight into %arg0 through a new `bufferization.to_tensor
// %arg0 restrict writable`, so one-shot-bufferize did not see that the
// second generic still reads %arg0 (the original to_tensor is `restrict`
// too) and inserted no copy. Same root cause as Jit.TwoSameShapeReductionOutputs.
TEST(Jit, DonatedInputReadAfterAnotherOutputIsWritten) {
  auto f = jit([](const Tensor &a, const Tensor &b) {
    return std::make_tuple(a + b, a - b);
  }, JitOptions{{0, 1}, "donate_two"});
  Tensor t = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  Tensor u = Tensor::fromVector(std::vector<float>{10, 20, 30}, {3});
  const float *tp = t.data<float>(), *up = u.data<float>();
  auto [s, d] = f(t, u);
  EXPECT_EQ(s.toVector<float>(), (std::vector<float>{11, 22, 33}));
  EXPECT_EQ(d.toVector<float>(), (std::vector<float>{-9, -18, -27}));
  EXPECT_EQ(s.data<float>(), tp);
  EXPECT_EQ(d.data<float>(), up);
}

// Regression (fixed in 2a3990b): two outputs that are reductions (or
// matmuls) of the same result shape both came back holding the first one's
// values:
//   jit((x, w) -> (sum(w * x), sum(w)))  with x = 2, w = [[1,2,3],[4,5,6]]
//   returned (42, 42) instead of (42, 21).
// The emitted IR was right; the CPU pipeline miscompiled it: cse merges the
// two identical `linalg.fill(tensor.empty)` inits, eliminate-empty-tensors
// turns the shared tensor.empty into `bufferization.to_tensor %arg2 restrict
// writable` (a second to_tensor of an output memref, breaking `restrict`),
// and one-shot-bufferize then writes the second reduction into %arg2,
// copies the first (kept in a temporary) over it, and copies %arg2 to %arg3.
// Replay: BREGMAN_DUMP_IR=dir, then
//   mlir-opt-22 dir/jit-0/0-input.mlir --pass-pipeline='builtin.module(
//     canonicalize,breg-fuse-elementwise,canonicalize,cse,
//     eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries
//     function-boundary-type-conversion=identity-layout-map})'
// It hit any jit returning two such values, e.g. valueAndGrad of a scalar
// parameter (GradTest Grad.ValueAndGradScalarParam).
TEST(Jit, TwoSameShapeReductionOutputs) {
  auto f = jit([](const Tensor &x, const Tensor &w) {
    return std::make_tuple(sum(w * x), sum(w));
  });
  auto [a, b] = f(Tensor::fromVector(std::vector<float>{2}, {}),
                  Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_EQ(a.item(), 42.0);
  EXPECT_EQ(b.item(), 21.0);

  auto g = jit([](const Tensor &x, const Tensor &w) {
    return std::make_tuple(sum(w * x, {0}), sum(w, {0}));
  });
  auto [c, d] = g(Tensor::fromVector(std::vector<float>{2}, {}),
                  Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_EQ(c.toVector<float>(), (std::vector<float>{10, 14, 18}));
  EXPECT_EQ(d.toVector<float>(), (std::vector<float>{5, 7, 9}));
}

// Regression (2a3990b): same root cause, with matmuls: (a·b, a·c) returned
// a·b twice.
TEST(Jit, TwoSameShapeMatmulOutputs) {
  auto f = jit([](const Tensor &a, const Tensor &b, const Tensor &c) {
    return std::make_tuple(matmul(a, b), matmul(a, c));
  });
  auto [x, y] = f(Tensor::fromVector(std::vector<float>{1, 2}, {1, 2}),
                  Tensor::fromVector(std::vector<float>{1, 0}, {2, 1}),
                  Tensor::fromVector(std::vector<float>{0, 1}, {2, 1}));
  EXPECT_EQ(x.item(), 1.0);
  EXPECT_EQ(y.item(), 2.0);
}

// An evaluation step returning (loss, number correct): two rank-0 results
// (here not affected by the miscompilation above, guarded nonetheless).
TEST(Jit, EvalStepLossAndCountCorrect) {
  auto f = jit([](const Tensor &logits, const Tensor &labels) {
    return std::make_tuple(crossEntropy(logits, labels),
                           countCorrect(logits, labels));
  });
  // Two rows, both predicted correctly; loss = log(1 + e^-2) each.
  auto [loss, correct] =
      f(Tensor::fromVector(std::vector<float>{2, 0, 0, 2}, {2, 2}),
        Tensor::fromVector(std::vector<int32_t>{0, 1}, {2}));
  EXPECT_NEAR(loss.item(), std::log(1 + std::exp(-2.0)), 1e-6);
  EXPECT_EQ(correct.item(), 2.0);
}

TEST(Jit, SameParamsTensorTwiceInDonatedPositionThrows) {
  auto f = jit([](const Params &p) {
    return Params{{"a", p.at("a") * 2.0}, {"b", p.at("b") * 3.0}};
  }, JitOptions{{0}});
  Tensor t = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  EXPECT_THROW(f(Params{{"a", t}, {"b", t}}), Error);
}

TEST(Jit, ArgmaxAndCountCorrectFirstMaxWinsTies) {
  auto f = jit([](const Tensor &logits, const Tensor &labels) {
    return std::make_tuple(argmax(logits), countCorrect(logits, labels));
  });
  // Rows: clear max; tie between 1 and 2; tie 0/1; all equal; negatives with
  // a tie at the end; -inf-free large magnitudes.
  Tensor logits = Tensor::fromVector(
      std::vector<float>{0.1f, 0.9f, 0.3f, 0.0f,  //
                         1.0f, 3.0f, 3.0f, 2.0f,  //
                         5.0f, 5.0f, 0.0f, 5.0f,  //
                         0.0f, 0.0f, 0.0f, 0.0f,  //
                         -4.0f, -3.0f, -5.0f, -3.0f, //
                         -1e30f, 1e30f, 1e30f, -1e30f},
      {6, 4});
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{1, 2, 0, 0, 3, 1}, {6});
  auto [am, correct] = f(logits, labels);
  EXPECT_EQ(am.dtype(), DType::I32);
  EXPECT_EQ(am.shape(), (Shape{6}));
  EXPECT_EQ(am.toVector<int32_t>(), (std::vector<int32_t>{1, 1, 0, 0, 1, 1}));
  // Hits: row 0 (1), row 2 (0), row 3 (0), row 5 (1); rows 1 and 4 lose the tie.
  EXPECT_EQ(correct.dtype(), DType::F32);
  EXPECT_EQ(correct.shape(), Shape{});
  EXPECT_EQ(correct.item(), 4.0);
}

TEST(Jit, ArgmaxTakesTheFirstNaNAsTheMaximum) {
  // NumPy, JAX and PyTorch: NaN is larger than any number, the first NaN wins.
  auto f = jit([](const Tensor &logits, const Tensor &labels) {
    return std::make_tuple(argmax(logits), countCorrect(logits, labels));
  });
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Tensor logits = Tensor::fromVector(
      std::vector<float>{9.0f, nan, 1.0f, nan,   //
                         nan, 9.0f, 9.0f, 0.0f,  //
                         1.0f, 2.0f, inf, nan,   //
                         -inf, -inf, -inf, -inf, //
                         nan, nan, nan, nan},
      {5, 4});
  Tensor labels =
      Tensor::fromVector(std::vector<int32_t>{0, 0, 2, 0, 1}, {5});
  auto [am, correct] = f(logits, labels);
  EXPECT_EQ(am.toVector<int32_t>(), (std::vector<int32_t>{1, 0, 3, 0, 0}));
  // Hits: row 1 (0) and row 3 (0); a NaN row is not counted as its label's.
  EXPECT_EQ(correct.item(), 2.0);
}

TEST(Jit, AMovedFromCallableSaysSo) {
  auto step = jit([](const Tensor &x) { return x + x; });
  auto moved = std::move(step);
  Tensor x = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  EXPECT_EQ(moved(x).toVector<float>(), (std::vector<float>{2, 4}));
  // NOLINTNEXTLINE(bugprone-use-after-move): the misuse under test
  EXPECT_NE(errorMessage([&] { step(x); }).find("was moved from"),
            std::string::npos);
}

TEST(Jit, ArgmaxRank3AndF64) {
  auto f = jit([](const Tensor &x) { return argmax(x); });
  Tensor x = Tensor::fromVector(
      std::vector<double>{1, 2, 0, /**/ 7, 7, 7, /**/ -1, -2, -0.5, /**/ 0, 3, 3},
      {2, 2, 3});
  Tensor r = f(x);
  EXPECT_EQ(r.shape(), (Shape{2, 2}));
  EXPECT_EQ(r.toVector<int32_t>(), (std::vector<int32_t>{1, 0, 2, 1}));
}

TEST(Jit, OneHotExact) {
  auto f = jit([](const Tensor &labels) {
    return std::make_tuple(oneHot(labels, 4), oneHot(labels, 4, DType::F64));
  });
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{2, 0, 3, 3, 1}, {5});
  auto [h32, h64] = f(labels);
  EXPECT_EQ(h32.shape(), (Shape{5, 4}));
  EXPECT_EQ(h32.dtype(), DType::F32);
  EXPECT_EQ(h32.toVector<float>(),
            (std::vector<float>{0, 0, 1, 0, /**/ 1, 0, 0, 0, /**/ 0, 0, 0, 1,
                                /**/ 0, 0, 0, 1, /**/ 0, 1, 0, 0}));
  EXPECT_EQ(h64.dtype(), DType::F64);
  EXPECT_EQ(h64.toVector<double>(),
            (std::vector<double>{0, 0, 1, 0, /**/ 1, 0, 0, 0, /**/ 0, 0, 0, 1,
                                 /**/ 0, 0, 0, 1, /**/ 0, 1, 0, 0}));
}

TEST(Jit, OneHotRejectsNonI32Labels) {
  auto f = jit([](const Tensor &labels) { return oneHot(labels, 3); });
  EXPECT_THROW(f(Tensor::fromVector(std::vector<float>{0, 1}, {2})), Error);
}

// Outputs that are (views of) donated inputs keep the inputs' old values even
// when another output overwrites the donated buffer (found in review: the
// writes into argument buffers were invisible to bufferization).
TEST(Jit, DonatedInputReturnedNextToItsUpdate) {
  auto f = jit([](const Tensor &x) { return std::make_tuple(x * 2.0, x); },
               JitOptions{{0}, "old_and_new"});
  Tensor x = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  auto [doubled, old] = f(x);
  EXPECT_EQ(doubled.toVector<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(old.toVector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(Jit, DonatedSwap) {
  auto f = jit([](const Tensor &x, const Tensor &y) {
    return std::make_tuple(y, x);
  }, JitOptions{{0, 1}, "swap"});
  Tensor x = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  Tensor y = Tensor::fromVector(std::vector<float>{4, 5, 6}, {3});
  auto [a, b] = f(x, y);
  EXPECT_EQ(a.toVector<float>(), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(b.toVector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(Jit, DonatedReshapeOfUpdatedInput) {
  auto f = jit([](const Tensor &w) {
    return std::make_tuple(w - 1.0, reshape(w, {6}));
  }, JitOptions{{0}, "reshape_old"});
  Tensor w = Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  auto [updated, flat] = f(w);
  EXPECT_EQ(updated.toVector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(flat.toVector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// A graph of 20,000 chained elementwise ops compiles (in linear time: fusion
// caps each loop's body, bench/compile_bench.cpp measures the rate) and
// computes the chain's value, on tiny tensors (whose loops LLVM unrolls
// into straight-line code) and on larger ones.
static void checkTwentyThousandChainedOps(int64_t elements) {
  constexpr int ops = 20000;
  auto f = jit([](const Tensor &x) {
    Tensor y = x;
    for (int i = 0; i < ops; ++i)
      y = i % 2 ? y + 0x1p-10 : y * (1 + 0x1p-10);
    return y;
  });
  Tensor x = Tensor::fromVector(
      std::vector<float>(static_cast<size_t>(elements), 0.5f), {elements});
  std::vector<float> got = f(x).toVector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(elements));
  // The float64 chain; float32 rounding drifts 1.5e-6 from it (relative),
  // one multiplication left out would be 1e-3.
  double want = 0.5;
  for (int i = 0; i < ops; ++i)
    want = i % 2 ? want + 0x1p-10 : want * (1 + 0x1p-10);
  for (float v : got)
    ASSERT_NEAR(v, want, 1e-4 * want);
}
TEST(Jit, TwentyThousandChainedOpsCompile) {
  checkTwentyThousandChainedOps(1024);
}
TEST(Jit, TwentyThousandChainedOpsCompileOnTinyTensors) {
  checkTwentyThousandChainedOps(64);
}

// Several threads compile a step's outlined loop nests as parts, each into
// an object file of its own, linked into one program: the results are those
// of the step compiled whole, bit for bit, over two steps.
TEST(Jit, StepCompiledInPartsMatchesTheStepCompiledWhole) {
  nn::Linear fc1(20, 16, "fc1"), fc2(16, 12, "fc2"), fc3(12, 5, "fc3");
  auto model = [&](const Params &p, const Tensor &x) {
    return fc3(p, relu(fc2(p, relu(fc1(p, x)))));
  };
  nn::Rng rng(/*seed=*/3);
  Params params;
  for (nn::Linear *layer : {&fc1, &fc2, &fc3})
    layer->init(params, rng, nn::SparseInit{0.5, 1.0});
  optim::LinBreg opt({{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.01f},
                      {"biases", optim::biases(), Regularizer::None, 0.1f,
                       1.0f, 0.0f}});
  std::vector<float> xs(8 * 20);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = std::sin(0.37f * static_cast<float>(i));
  Tensor x = Tensor::fromVector(xs, {8, 20});
  Tensor y = Tensor::fromVector(std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2},
                                {8});
  auto train = [&](unsigned threads, size_t &parts) {
    JitOptions options;
    options.compileThreads = threads;
    auto step = jit(
        [&](const Params &p, const Params &s, const Tensor &xb,
            const Tensor &yb) {
          auto [loss, g] = valueAndGrad([&](const Params &q) {
            return crossEntropy(model(q, xb), yb);
          })(p);
          auto [p2, s2] = opt.update(p, s, g);
          return std::make_tuple(p2, s2, loss);
        },
        options);
    Params p = params, s = opt.init(params);
    std::vector<float> out;
    for (int i = 0; i < 2; ++i) {
      auto [p2, s2, loss] = step(p, s, x, y);
      p = p2;
      s = s2;
      out.push_back(loss.toVector<float>()[0]);
    }
    for (const Params *tree : {&p, &s})
      for (const auto &[name, t] : *tree)
        for (float v : t.toVector<float>())
          out.push_back(v);
    parts = step.compileTimes().llvmParts;
    return out;
  };
  size_t wholeParts = 0, splitParts = 0;
  std::vector<float> whole = train(1, wholeParts);
  std::vector<float> split = train(3, splitParts);
  EXPECT_EQ(wholeParts, 1u);
  EXPECT_EQ(splitParts, 3u);
  ASSERT_EQ(whole.size(), split.size());
  for (size_t i = 0; i < whole.size(); ++i)
    ASSERT_EQ(whole[i], split[i]) << "value " << i;
}

// BREGMAN_COMPILE_THREADS sets the threads where JitOptions does not; a
// value that is no number of threads is refused with its name, and nothing
// is compiled.
/// `variable=bad` makes the first call of a jit function throw an error
/// naming the variable and the value, before anything is compiled.
template <typename F>
void expectRefused(const char *variable, const char *bad, F step,
                   const Tensor &x) {
  ::setenv(variable, bad, 1);
  auto f = jit(step);
  try {
    (void)f(x);
    ADD_FAILURE() << variable << "=" << bad << " was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(std::string(variable) + "='" + bad +
                                         "'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(f.compileCount(), 0u) << bad;
}

TEST(Jit, CompileThreadsFromTheEnvironment) {
  auto step = [](const Tensor &x) { return relu(x * 2.0) + 1.0; };
  Tensor x = Tensor::fromVector(std::vector<float>{-1, 2}, {2});
  ::setenv("BREGMAN_COMPILE_THREADS", "1", 1);
  auto one = jit(step);
  EXPECT_EQ(one(x).toVector<float>(), (std::vector<float>{1, 5}));
  for (const char *bad : {"0", "-2", "+4", " 4", "two", "3x", "257", "100000"})
    expectRefused("BREGMAN_COMPILE_THREADS", bad, step, x);
  // JitOptions wins over the environment, and has the same bound.
  JitOptions options;
  options.compileThreads = 2;
  auto two = jit(step, options);
  EXPECT_EQ(two(x).toVector<float>(), (std::vector<float>{1, 5}));
  ::unsetenv("BREGMAN_COMPILE_THREADS");
  options.compileThreads = 257;
  auto tooMany = jit(step, options);
  EXPECT_THROW((void)tooMany(x), Error);
  EXPECT_EQ(tooMany.compileCount(), 0u);
}

// BREGMAN_VERIFY_PASSES: 1 verifies the IR after every pass, 0 (or unset)
// once after the last, both giving the same function; anything else is
// refused with the variable's name before anything is compiled.
TEST(Jit, VerifyPassesFromTheEnvironment) {
  const char *set = std::getenv("BREGMAN_VERIFY_PASSES");
  std::string saved = set ? set : "";
  auto step = [](const Tensor &x) { return relu(x * 2.0) + 1.0; };
  Tensor x = Tensor::fromVector(std::vector<float>{-1, 2}, {2});
  for (const char *value : {"0", "1", ""}) {
    ::setenv("BREGMAN_VERIFY_PASSES", value, 1);
    auto f = jit(step);
    EXPECT_EQ(f(x).toVector<float>(), (std::vector<float>{1, 5})) << value;
  }
  for (const char *bad : {"yes", "2", " 1"})
    expectRefused("BREGMAN_VERIFY_PASSES", bad, step, x);
  if (set)
    ::setenv("BREGMAN_VERIFY_PASSES", saved.c_str(), 1);
  else
    ::unsetenv("BREGMAN_VERIFY_PASSES");
}

// BREGMAN_COMPILE_CACHE=FOLDER: a second jit of the same function (another
// callable, as in another process) is linked from the entry the first one
// stored, and computes the same; with GEMM library calls and threaded loops
// in it, whose symbols the cached objects resolve at link time. Values other
// than 0, 1 or an absolute folder are refused, naming the variable.
TEST(Jit, CompileCacheFromTheEnvironment) {
  char tmpl[] = "/tmp/bregman_jit_cache_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ::setenv("BREGMAN_COMPILE_CACHE", tmpl, 1);
  auto step = [](const Tensor &a, const Tensor &b) {
    // a * 0.5: 2^18 elements, a loop on all cores (OpenMP).
    return relu(matmul(a * 0.5, b)) * 2.0 + 1.0;
  };
  std::vector<float> values(64 * 4096);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i % 7) - 3.0f;
  Tensor a = Tensor::fromVector(values, {64, 4096});
  Tensor b = Tensor::fromVector(std::vector<float>(4096 * 80, 0.5f), {4096, 80});
  auto first = jit(step, JitOptions{{}, "cached_step"});
  std::vector<float> expected = first(a, b).toVector<float>();
  EXPECT_EQ(first.compileTimes().fromCache, 0u);
  auto second = jit(step, JitOptions{{}, "cached_step"});
  EXPECT_EQ(second(a, b).toVector<float>(), expected);
  EXPECT_EQ(second.compileTimes().fromCache, 1u);
  EXPECT_FALSE(std::filesystem::is_empty(tmpl));
  ::unsetenv("BREGMAN_COMPILE_CACHE");
  std::filesystem::remove_all(tmpl);
  auto square = [](const Tensor &x) { return x * x; };
  Tensor x = Tensor::fromVector(std::vector<float>{1, 2}, {2});
  for (const char *bad : {"yes", "2", "relative/folder"})
    expectRefused("BREGMAN_COMPILE_CACHE", bad, square, x);
  ::unsetenv("BREGMAN_COMPILE_CACHE");
}

// BREGMAN_COMPILE_TIMING=1: one line per compilation, named after the jit
// function and its compilation count, with the three phases adding up to
// the total; nothing without it.
TEST(Jit, CompileTimingPrintsOneLinePerCompilation) {
  auto f = jit([](const Tensor &a) { return a * a + a; },
               JitOptions{{}, "timed_square"});
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  ::setenv("BREGMAN_COMPILE_TIMING", "1", 1);
  ::testing::internal::CaptureStderr();
  Tensor r = f(a);
  (void)f(a); // cached: no second line
  std::string timed = ::testing::internal::GetCapturedStderr();
  ::unsetenv("BREGMAN_COMPILE_TIMING");
  EXPECT_EQ(r.toVector<float>(), (std::vector<float>{2, 6, 12}));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      timed, m,
      std::regex("compile timing timed_square-0: MLIR pipeline ([0-9.]+) s CPU "
                 "\\([0-9.]+ s wall\\), LLVM optimization ([0-9.]+) s \\([0-9.]+ s\\), "
                 "translation and code generation (-?[0-9.]+) s \\([0-9.-]+ s\\); total "
                 "([0-9.]+) s CPU \\(([0-9.]+) s wall\\); LLVM parts 1\n")))
      << timed;
  EXPECT_EQ(std::count(timed.begin(), timed.end(), '\n'), 1) << timed;
  // The three phases add up to the total (each rounded to 0.1 s).
  double parts = std::stod(m[1].str()) + std::stod(m[2].str()) + std::stod(m[3].str());
  EXPECT_NEAR(parts, std::stod(m[4].str()), 0.16) << timed;
  // Without the variable: silent.
  auto g = jit([](const Tensor &x) { return x + x; }, JitOptions{{}, "untimed"});
  ::testing::internal::CaptureStderr();
  (void)g(a);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// BREGMAN_PERF=1: LLVM's perf listener writes a jitdump (under JITDUMPDIR)
// that names the compiled function (a one-function module, compiled whole on
// one thread or two; CpuExecutableTest covers a module compiled in parts);
// other values are refused with the variable's name.
TEST(Jit, PerfProfilingWritesAJitdump) {
  char tmpl[] = "/tmp/bregman_perf_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path root = tmpl;
  ::setenv("JITDUMPDIR", root.c_str(), 1);
  ::setenv("BREGMAN_PERF", "1", 1);
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  for (unsigned threads : {1u, 2u}) {
    JitOptions options{{}, "profiled"};
    options.compileThreads = threads;
    auto f = jit([](const Tensor &x) { return x * x + x; }, options);
    EXPECT_EQ(f(a).toVector<float>(), (std::vector<float>{2, 6, 12}));
  }
  ::setenv("BREGMAN_PERF", "yes", 1);
  auto refused = jit([](const Tensor &x) { return x + x; });
  try {
    (void)refused(a);
    ADD_FAILURE() << "BREGMAN_PERF=yes was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("BREGMAN_PERF='yes'"),
              std::string::npos)
        << e.what();
  }
  ::unsetenv("BREGMAN_PERF");
  ::unsetenv("JITDUMPDIR");
  std::string dump;
  for (const auto &entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.path().filename().string().rfind("jit-", 0) == 0 &&
        entry.path().extension() == ".dump") {
      std::ifstream in(entry.path(), std::ios::binary);
      dump.assign(std::istreambuf_iterator<char>(in), {});
    }
  EXPECT_NE(dump.find("bregman_main"), std::string::npos)
      << "no jitdump naming the compiled function under " << root;
  std::filesystem::remove_all(root);
}

// BREGMAN_DUMP_IR: two jits of one name, and a folder an earlier run left,
// each keep their own dump; none is written over.
TEST(Jit, DumpedIrNeverReplacesAnotherDump) {
  char tmpl[] = "/tmp/bregman_dump_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path root = tmpl;
  std::filesystem::create_directory(root / "twin-0");
  { std::ofstream(root / "twin-0" / "0-input.mlir") << "earlier run\n"; }
  ::setenv("BREGMAN_DUMP_IR", root.c_str(), 1);
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3}, {3});
  auto first = jit([](const Tensor &x) { return x + x; }, JitOptions{{}, "twin"});
  auto second = jit([](const Tensor &x) { return x * x; }, JitOptions{{}, "twin"});
  (void)first(a);
  (void)second(a);
  ::unsetenv("BREGMAN_DUMP_IR");
  std::ifstream earlier(root / "twin-0" / "0-input.mlir");
  std::string line;
  std::getline(earlier, line);
  EXPECT_EQ(line, "earlier run");
  for (const char *folder : {"twin-0.2", "twin-0.3"}) {
    for (const char *file : {"0-input.mlir", "1-llvm.mlir"})
      EXPECT_TRUE(std::filesystem::is_regular_file(root / folder / file))
          << folder << "/" << file;
    // LLVM IR before and after LLVM's optimizer and its passes, one of each
    // per part.
    int before = 0, passes = 0, after = 0;
    for (const auto &entry :
         std::filesystem::directory_iterator(root / folder)) {
      std::string name = entry.path().filename().string();
      before += name.rfind("2-llvm-", 0) == 0;
      passes += name.rfind("3-passes-", 0) == 0;
      after += name.rfind("4-optimized-", 0) == 0;
    }
    EXPECT_GE(before, 1) << folder;
    EXPECT_EQ(before, passes) << folder;
    EXPECT_EQ(before, after) << folder;
  }
  std::ifstream addDump(root / "twin-0.2" / "0-input.mlir"),
      mulDump(root / "twin-0.3" / "0-input.mlir");
  std::string add((std::istreambuf_iterator<char>(addDump)), {}),
      mul((std::istreambuf_iterator<char>(mulDump)), {});
  EXPECT_NE(add.find("arith.addf"), std::string::npos);
  EXPECT_NE(mul.find("arith.mulf"), std::string::npos);
  std::filesystem::remove_all(root);
}

// BREGMAN_DUMP_IR naming a file, not a folder: the function still compiles
// and runs, nothing is dumped, and the file is left as it was.
TEST(Jit, DumpIntoAFileCompilesAndLeavesTheFileAlone) {
  char tmpl[] = "/tmp/bregman_dump_file_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  { std::ofstream(tmpl) << "not a folder\n"; }
  ::setenv("BREGMAN_DUMP_IR", tmpl, 1);
  auto f = jit([](const Tensor &x) { return x + x; }, JitOptions{{}, "into_file"});
  Tensor r = f(Tensor::fromVector(std::vector<float>{1, 2}, {2}));
  ::unsetenv("BREGMAN_DUMP_IR");
  EXPECT_EQ(r.toVector<float>(), (std::vector<float>{2, 4}));
  EXPECT_TRUE(std::filesystem::is_regular_file(tmpl));
  std::ifstream kept(tmpl);
  std::string line;
  std::getline(kept, line);
  EXPECT_EQ(line, "not a folder");
  std::filesystem::remove(tmpl);
}

//===----------------------------------------------------------------------===//
// Transposes (breg-vectorize-transpose: 16×16, 8×8 and 4×4 tiles, batched,
// innermost kept, odd sizes left to loops): every element where it belongs
//===----------------------------------------------------------------------===//

namespace {

/// `x` (values 0, 1, 2, … in row-major order) permuted by `perm` on the host.
template <typename T>
std::vector<T> hostTranspose(const Shape &shape, const std::vector<int64_t> &perm) {
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    out[i] = shape[perm[i]];
  std::vector<int64_t> inStrides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * shape[d + 1];
  std::vector<T> result(numElements(out));
  std::vector<int64_t> index(out.size(), 0);
  for (size_t flat = 0; flat < result.size(); ++flat) {
    int64_t source = 0;
    for (size_t d = 0; d < out.size(); ++d)
      source += index[d] * inStrides[perm[d]];
    result[flat] = static_cast<T>(source);
    for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d)
      if (++index[d] < out[d])
        break;
      else
        index[d] = 0;
  }
  return result;
}

template <typename T> void expectTransposed(const Shape &shape,
                                            const std::vector<int64_t> &perm) {
  std::vector<T> values(numElements(shape));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<T>(i);
  auto f = jit([perm](const Tensor &x) { return transpose(x, perm); });
  Tensor r = f(Tensor::fromVector(values, shape));
  EXPECT_EQ(r.toVector<T>(), hostTranspose<T>(shape, perm))
      << "shape " << shapeString(shape);
}

} // namespace

TEST(Jit, TransposesOfEveryTileSizeAreExact) {
  expectTransposed<float>({128, 784}, {1, 0}); // 16×16 tiles
  expectTransposed<float>({200, 128}, {1, 0}); // 8×8
  expectTransposed<float>({12, 20}, {1, 0});   // 4×4
  expectTransposed<float>({10, 3}, {1, 0});    // no tile: loops
  expectTransposed<float>({4, 32, 16}, {0, 2, 1});
  expectTransposed<float>({2, 16, 4, 32}, {0, 2, 1, 3}); // innermost kept
  expectTransposed<float>({8, 16, 32}, {2, 0, 1});
  expectTransposed<double>({16, 32}, {1, 0});
  expectTransposed<int32_t>({48, 16}, {1, 0});
}

//===----------------------------------------------------------------------===//
// Long float32 sums (sum() splits sums of 1024 terms or more): N·H·W
// reductions, a broadcast bias's gradient, whole-tensor sums and the DSL
// batch norm's statistics stay within a few float32 roundings of float64,
// where one chain of additions in order (what a single reduction loop does,
// emulated on the host below) drifts far beyond the tolerance
//===----------------------------------------------------------------------===//

namespace {

/// Values in [0.5, 1.5): positive, so a chained float32 sum drifts.
std::vector<float> positiveValues(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// Per channel of [N, C, HW]: the float64 sum and the float32 sum in one
/// chain over n, then hw (the order of one reduction loop).
struct ChannelSums {
  std::vector<double> exact;
  std::vector<float> chained;
};

ChannelSums channelSums(const std::vector<float> &x, int64_t n, int64_t c, int64_t hw) {
  ChannelSums s{std::vector<double>(c, 0.0), std::vector<float>(c, 0.0f)};
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < hw; ++i) {
        float v = x[(b * c + ch) * hw + i];
        s.exact[ch] += v;
        s.chained[ch] += v;
      }
  return s;
}

double largestRelativeError(const std::vector<float> &got, const std::vector<double> &want) {
  double worst = 0.0;
  for (size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / std::abs(want[i]));
  return worst;
}

constexpr double kLongSumTolerance = 1e-6;

} // namespace

TEST(Jit, SumsOverBatchAndImageStayAccurate) {
  const int64_t n = 128, c = 8, hw = 32 * 32;
  std::vector<float> x = positiveValues(n * c * hw, 41);
  ChannelSums ref = channelSums(x, n, c, hw);
  // The tolerance separates the two: one chain of 131,072 terms is off by
  // several times more (6.6e-6 here; split: 3.7e-7).
  ASSERT_GT(largestRelativeError(ref.chained, ref.exact), 4 * kLongSumTolerance);
  auto f = jit([](const Tensor &t) { return sum(t, {0, 2, 3}); });
  Tensor r = f(Tensor::fromVector(x, {n, c, 32, 32}));
  ASSERT_EQ(r.shape(), (Shape{c}));
  EXPECT_LE(largestRelativeError(r.toVector<float>(), ref.exact), kLongSumTolerance);
  // The same through mean, kept dims.
  auto g = jit([](const Tensor &t) { return mean(t, {0, 2, 3}, /*keepDims=*/true); });
  Tensor m = g(Tensor::fromVector(x, {n, c, 32, 32}));
  ASSERT_EQ(m.shape(), (Shape{1, c, 1, 1}));
  std::vector<double> refMean(ref.exact);
  for (double &v : refMean)
    v /= double(n * hw);
  EXPECT_LE(largestRelativeError(m.toVector<float>(), refMean), kLongSumTolerance);
}

// A long sum is split into steps of fewer than 1,024 terms, but no finer:
// trailing axes whose product stays below that are one reduction (fewer
// loops for the compiler: a batch norm's statistics over H and W).
TEST(Jit, LongSumsSumShortTrailingAxesInOneStep) {
  auto reductions = [](const Shape &shape) {
    Trace trace;
    TraceScope scope(trace);
    Tensor x = trace.addInput(shape, DType::F32, "x");
    (void)sum(x, {0, 2, 3});
    int count = 0;
    for (const Node &node : trace.nodes())
      count += node.prim == Prim::ReduceSum;
    return count;
  };
  EXPECT_EQ(reductions({8, 8, 8, 8}), 1);     // 512 terms: one step
  EXPECT_EQ(reductions({128, 8, 8, 8}), 2);   // H·W, then N
  EXPECT_EQ(reductions({128, 8, 16, 16}), 2);
  EXPECT_EQ(reductions({128, 8, 32, 32}), 3); // W, H, N: each below 1,024
}

TEST(Jit, GradientOfABroadcastBiasStaysAccurate) {
  // d/db Σ w·(x + b[c]) = Σ over N, H, W of w: the backward of a
  // convolution's bias add.
  const int64_t n = 128, c = 4, hw = 24 * 24;
  std::vector<float> w = positiveValues(n * c * hw, 42);
  ChannelSums ref = channelSums(w, n, c, hw);
  ASSERT_GT(largestRelativeError(ref.chained, ref.exact), 4 * kLongSumTolerance);
  auto f = jit([](const Tensor &weights, const Tensor &x, const Tensor &b) {
    return grad([&](const Tensor &bias) {
      return sum(weights * (x + reshape(bias, {1, 4, 1, 1})));
    })(b);
  });
  Tensor gb = f(Tensor::fromVector(w, {n, c, 24, 24}), Tensor::zeros({n, c, 24, 24}),
                Tensor::zeros({c}));
  EXPECT_LE(largestRelativeError(gb.toVector<float>(), ref.exact), kLongSumTolerance);
}

TEST(Jit, WholeTensorAndSingleAxisSumsStayAccurate) {
  // Σ of all of a [200, 784] weight (a regularizer's value), and one axis of
  // 262,144 terms (split into blocks of 512).
  std::vector<float> w = positiveValues(200 * 784, 43), v = positiveValues(262144, 44);
  double exactW = 0, exactV = 0;
  float chainedW = 0, chainedV = 0;
  for (float x : w) {
    exactW += x;
    chainedW += x;
  }
  for (float x : v) {
    exactV += x;
    chainedV += x;
  }
  ASSERT_GT(std::abs(chainedW - exactW) / exactW, 4 * kLongSumTolerance);
  ASSERT_GT(std::abs(chainedV - exactV) / exactV, 4 * kLongSumTolerance);
  auto all = jit([](const Tensor &t) { return sum(t); });
  double gotW = all(Tensor::fromVector(w, {200, 784})).toVector<float>()[0];
  double gotV = all(Tensor::fromVector(v, {262144})).toVector<float>()[0];
  EXPECT_LE(std::abs(gotW - exactW) / exactW, kLongSumTolerance);
  EXPECT_LE(std::abs(gotV - exactV) / exactV, kLongSumTolerance);
}

TEST(Jit, BatchNormStatisticsOfTheDslStayAccurate) {
  const int64_t n = 128, c = 4, hw = 32 * 32;
  std::vector<float> x = positiveValues(n * c * hw, 45);
  ChannelSums ref = channelSums(x, n, c, hw);
  nn::BatchNorm2d bn(c, "bn", /*momentum=*/0.1, /*eps=*/1e-5);
  Params params, buffers;
  bn.init(params);
  bn.initBuffers(buffers);
  auto f = jit([&bn](const Params &p, const Params &b, const Tensor &xt) {
    Params updated;
    bn(p, xt, nn::Mode{true, &b, &updated, {}});
    return updated;
  });
  Params updated = f(params, buffers, Tensor::fromVector(x, {n, c, 32, 32}));
  // Running statistics start at 0: the updated mean is 0.1 × the batch's.
  std::vector<double> want(c);
  for (int64_t ch = 0; ch < c; ++ch)
    want[ch] = 0.1 * ref.exact[ch] / double(n * hw);
  EXPECT_LE(largestRelativeError(updated.at("bn.running_mean").toVector<float>(), want),
            kLongSumTolerance);
}

//===----------------------------------------------------------------------===//
// Misuse found by a user's program: errors instead of crashes or wrong values
//===----------------------------------------------------------------------===//

// A tracer kept from one jit function is refused by the next, even when the
// new trace lives at the address the old one had (it did, on the stack, and
// the stale value was read as one of the new trace's).
TEST(Jit, AnEscapedTracerIsRefusedByALaterTrace) {
  Tensor leaked;
  auto first = jit([&](const Tensor &a) {
    leaked = a * 2.0;
    return a + 1.0;
  });
  Tensor one = Tensor::fromVector(std::vector<float>{1}, {1});
  (void)first(one);
  auto second = jit([&](const Tensor &a) { return a + leaked; });
  EXPECT_NE(
      errorMessage([&] { (void)second(one); }).find("belongs to another trace"),
      std::string::npos);
  auto returnsIt =
      jit([&](const Tensor &a) { return std::make_tuple(a + 1.0, leaked); });
  EXPECT_NE(errorMessage([&] {
              (void)returnsIt(one);
            }).find("is not computed by the traced function"),
            std::string::npos);
}

// A jit function called on tracers (inside another jit function, or inside
// itself) is refused before it traces: tracing itself recursed until the
// stack overflowed.
TEST(Jit, AJitFunctionCalledOnTracersIsRefusedBeforeTracing) {
  std::function<Tensor(const Tensor &)> inner;
  auto recursive = jit([&](const Tensor &a) { return inner(a) + 1.0; });
  inner = [&](const Tensor &a) { return recursive(a); };
  Tensor one = Tensor::fromVector(std::vector<float>{1}, {1});
  EXPECT_NE(errorMessage([&] {
              (void)recursive(one);
            }).find("is a tracer: calling a jit function inside another"),
            std::string::npos);
}

TEST(Jit, NegativeDimensionsAreRefusedWhateverTheirProduct) {
  auto f = jit([](const Tensor &a) { return reshape(a, {-2, -3}); });
  std::string message = errorMessage([&] { (void)f(Tensor::zeros({2, 3})); });
  EXPECT_NE(message.find("reshape: negative dimension in shape [-2, -3]"),
            std::string::npos)
      << message;
  EXPECT_NE(errorMessage([] {
              (void)Tensor::zeros({-2, 3});
            }).find("zeros: negative dimension"),
            std::string::npos);
}

// Shapes whose element count overflows int64, or whose bytes exceed the
// memory limit, are refused before anything is allocated, naming the op.
TEST(Jit, ShapesBeyondMemoryAreRefusedNamingTheOp) {
  const int64_t big = int64_t(1) << 32;
  EXPECT_NE(errorMessage([&] {
              (void)Tensor::zeros({big, big});
            }).find("zeros: f32[4294967296, 4294967296] would need"),
            std::string::npos);
  EXPECT_NE(errorMessage([&] {
              (void)Tensor::fromVector(std::vector<float>{}, {big, big});
            }).find("would need"),
            std::string::npos);
  EXPECT_NE(errorMessage([] {
              (void)Tensor::zeros({int64_t(1) << 40});
            }).find("more than the limit"),
            std::string::npos);
  auto broadcast = jit([](const Tensor &a) {
    return broadcastTo(a, {int64_t(1) << 20, int64_t(1) << 20});
  });
  std::string message =
      errorMessage([&] { (void)broadcast(Tensor::zeros({1})); });
  EXPECT_NE(message.find("broadcast: f32[1048576, 1048576] would need"),
            std::string::npos)
      << message;
}

// Tensors without elements as arguments and results, with the zero in any
// dimension (MLIR's bare-pointer convention refused [2, 0]: the function
// then took descriptors where pointers were passed, and crashed), and a
// product over an empty inner dimension, which is zeros.
TEST(Jit, TensorsWithoutElementsAndEmptyProducts) {
  auto product =
      jit([](const Tensor &a, const Tensor &b) { return matmul(a, b); });
  Tensor r = product(Tensor::zeros({2, 0}), Tensor::zeros({0, 3}));
  ASSERT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(r.toVector<float>(), std::vector<float>(6, 0.0f));
  auto relu2 = jit([](const Tensor &a, const Tensor &b) {
    return std::make_tuple(relu(a), b * 2.0, sum(a));
  });
  auto [empty, doubled, total] =
      relu2(Tensor::zeros({3, 0, 2}),
            Tensor::fromVector(std::vector<float>{1, 2}, {2}));
  EXPECT_EQ(empty.shape(), (Shape{3, 0, 2}));
  EXPECT_EQ(doubled.toVector<float>(), (std::vector<float>{2, 4}));
  EXPECT_EQ(total.item(), 0.0);
}

TEST(Jit, OneHotNeedsAPositiveClassCount) {
  auto f = jit([](const Tensor &labels) { return oneHot(labels, -3); });
  EXPECT_NE(errorMessage([&] {
              (void)f(Tensor::fromVector(std::vector<int32_t>{0, 1}, {2}));
            }).find("one_hot: the number of classes must be positive, got -3"),
            std::string::npos);
}

TEST(Jit, DonatingAnArgumentTheFunctionDoesNotTakeIsRefused) {
  auto f = jit([](const Tensor &a) { return a + 1.0; }, JitOptions{{0, 3}});
  EXPECT_NE(errorMessage([&] { (void)f(Tensor::zeros({2})); })
                .find("jit: donateArgnums names argument 3, but the function "
                      "takes 1 argument(s)"),
            std::string::npos);
  // An empty Params is an argument too, though it has no tensors.
  auto g = jit([](const Tensor &a, const Params &) { return a * 2.0; },
               JitOptions{{1}});
  EXPECT_NO_THROW((void)g(Tensor::zeros({2}), Params()));
}

TEST(Jit, AReductionNamingAnAxisTwiceIsRefused) {
  auto f = jit([](const Tensor &a) { return sum(a, {1, -1}); });
  EXPECT_NE(errorMessage([&] {
              (void)f(Tensor::zeros({2, 3}));
            }).find("reduce_sum: axes [1, -1] name one axis twice (rank 2)"),
            std::string::npos);
}

TEST(Jit, ALinearLayerNeedsPositiveSizes) {
  EXPECT_NE(
      errorMessage([] {
        nn::Linear(0, 3, "fc");
      }).find("nn::Linear 'fc': in and out must be positive, got 0 and 3"),
      std::string::npos);
}

// The op the user called is named, not the one it is built from (these
// said "reshape: ..." and "reduce_max: axis 3 ...").
TEST(Jit, ComposedOpsNameThemselvesInErrors) {
  auto sumTo3 = jit([](const Tensor &a) { return sumTo(a, {3}); });
  EXPECT_NE(errorMessage([&] {
              (void)sumTo3(Tensor::zeros({2, 4}));
            }).find("sum_to: [3] does not broadcast to [2, 4]"),
            std::string::npos);
  auto badAxis = jit([](const Tensor &a) { return logSoftmax(a, 3); });
  EXPECT_NE(errorMessage([&] {
              (void)badAxis(Tensor::zeros({2, 4}));
            }).find("log_softmax: axis 3 out of range for [2, 4]"),
            std::string::npos);
  auto badSoftmax = jit([](const Tensor &a) { return softmax(a, -3); });
  EXPECT_NE(errorMessage([&] {
              (void)badSoftmax(Tensor::zeros({2, 4}));
            }).find("softmax: axis -3 out of range for [2, 4]"),
            std::string::npos);
}
