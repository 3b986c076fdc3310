//===- SourceLocationTest.cpp - Errors at the user's line -----------------===//
//
// Shape and dtype errors name the op, the shapes and the line of this file
// where the DSL was called (recorded by __LINE__ next to the call), inside
// jit and outside it; trace nodes keep that line for the gradient and for
// errors found when the trace is emitted and verified.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace bregman;
using bregman::testing::errorMessage;

namespace {

/// "SourceLocationTest.cpp:<line>: ", the prefix errors start their text
/// with (after the directory the compiler was given).
std::string at(int line) {
  return "SourceLocationTest.cpp:" + std::to_string(line) + ": ";
}

/// Expects `message` to start with this file at `line` (whatever directory
/// precedes it) and to contain every part.
void expectAt(const std::string &message, int line,
              std::initializer_list<std::string> parts) {
  size_t where = message.find(at(line));
  EXPECT_NE(where, std::string::npos) << message;
  EXPECT_EQ(message.find(": "), where + at(line).size() - 2)
      << "the place is not the message's first part: " << message;
  for (const std::string &part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "'" << message << "' lacks '" << part << "'";
}

Tensor ones(const Shape &shape) {
  return Tensor::fromVector(std::vector<float>(numElements(shape), 1.0f), shape);
}

} // namespace

TEST(SourceLocation, BinaryOperatorInsideJitNamesTheLineOfTheExpression) {
  int line = 0;
  auto f = jit([&](const Tensor &a, const Tensor &b) {
    Tensor scaled = a * 2.0;
    line = __LINE__ + 1;
    return scaled + b;
  });
  expectAt(errorMessage([&] { f(ones({2, 3}), ones({4})); }), line,
           {"add: shapes [2, 3] and [4] cannot be broadcast"});
}

TEST(SourceLocation, OperatorsWithScalarsAndUnaryMinus) {
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{1, 2}, {2});
  int line = 0;
  auto times = jit([&](const Tensor &i) {
    line = __LINE__ + 1;
    return i * 2.0;
  });
  expectAt(errorMessage([&] { times(labels); }), line,
           {"mul: needs a floating-point tensor, got i32[2]"});
  auto negate = jit([&](const Tensor &i) {
    line = __LINE__ + 1;
    return -i;
  });
  expectAt(errorMessage([&] { negate(labels); }), line,
           {"neg: needs a floating-point tensor"});
  auto scaledLeft = jit([&](const Tensor &i) {
    line = __LINE__ + 1;
    return 0.5 * i;
  });
  expectAt(errorMessage([&] { scaledLeft(labels); }), line, {"mul: "});
}

TEST(SourceLocation, FunctionsNameTheirCallAndTheShapes) {
  int line = 0;
  auto f = jit([&](const Tensor &a, const Tensor &b) {
    Tensor h = relu(a);
    line = __LINE__ + 1;
    return matmul(h, b);
  });
  expectAt(errorMessage([&] { f(ones({2, 3}), ones({4, 5})); }), line,
           {"matmul: inner dimensions differ", "[2, 3]", "[4, 5]"});
}

TEST(SourceLocation, DTypesThatDisagree) {
  int line = 0;
  auto f = jit([&](const Tensor &a, const Tensor &b) {
    line = __LINE__ + 1;
    return maximum(a, b);
  });
  Tensor f64 = Tensor::fromVector(std::vector<double>{1, 2}, {2});
  expectAt(errorMessage([&] { f(ones({2}), f64); }), line,
           {"maximum: element types differ (f32[2] vs f64[2])"});
}

// A composite names the user's call, not the primitives it is built from
// in the library.
TEST(SourceLocation, CompositeNamesTheUsersCallNotTheLibrarysLines) {
  int line = 0;
  auto f = jit([&](const Tensor &logits, const Tensor &labels) {
    line = __LINE__ + 1;
    return crossEntropy(logits, labels);
  });
  Tensor labels = Tensor::fromVector(std::vector<int32_t>{0, 1, 2}, {3});
  std::string message = errorMessage([&] { f(ones({2, 10}), labels); });
  expectAt(message, line, {"cross_entropy: logits [N, C] and labels [N]"});
  EXPECT_EQ(message.find("Tensor.cpp"), std::string::npos) << message;
}

TEST(SourceLocation, LayersAndOptimizerNameTheUsersCall) {
  nn::Linear fc(3, 2, "fc");
  nn::Rng rng(0);
  Params params;
  fc.init(params, rng, nn::SparseInit{1.0, 1.0});
  int line = 0;
  auto f = jit([&](const Params &p, const Tensor &x) {
    line = __LINE__ + 1;
    return fc(p, x);
  });
  expectAt(errorMessage([&] { f(params, ones({4, 5})); }), line,
           {"fc: expects input [N, 3] or [..., 3], got [4, 5]"});
}

TEST(SourceLocation, OutsideJitToo) {
  int line = __LINE__ + 1;
  std::string message = errorMessage([&] { (void)(ones({2}) + ones({2})); });
  expectAt(message, line, {"add: operands are concrete tensors outside a "
                           "traced function"});
  line = __LINE__ + 1;
  message = errorMessage([&] { (void)reshape(ones({2, 3}), {4}); });
  expectAt(message, line, {"reshape: [2, 3] (6 elements) cannot become [4]"});
}

// Each node keeps its call: the reverse pass's nodes the line of the forward
// operation they differentiate, the trace listing shows them.
TEST(SourceLocation, TraceNodesAndTheirGradientsKeepTheCallSite) {
  Trace trace;
  TraceScope scope(trace);
  Tensor x = trace.addInput({3}, DType::F32, "x");
  int expLine = 0, sumLine = 0, gradLine = __LINE__ + 1;
  auto [value, gradient] = valueAndGrad([&](const Tensor &q) {
    expLine = __LINE__ + 1;
    Tensor e = exp(q);
    sumLine = __LINE__ + 1;
    return sum(e);
  })(x);
  (void)value;
  (void)gradient;
  std::set<int> expSites, forwardSums;
  for (const Node &node : trace.nodes()) {
    if (node.prim == Prim::Input)
      continue;
    ASSERT_TRUE(node.site.known()) << primName(node.prim);
    EXPECT_NE(std::string(node.site.file()).find("SourceLocationTest.cpp"),
              std::string::npos);
    if (node.prim == Prim::GradArgument) { // the value differentiated
      EXPECT_EQ(node.site.line(), gradLine);
      continue;
    }
    EXPECT_TRUE(node.site.line() == expLine || node.site.line() == sumLine)
        << primName(node.prim) << " at line " << node.site.line();
  }
  // exp's VJP (g · exp(x)) is a mul recorded at exp's line.
  bool mulAtExp = false;
  for (const Node &node : trace.nodes())
    mulAtExp |= node.prim == Prim::Mul && node.site.line() == expLine;
  EXPECT_TRUE(mulAtExp) << trace.str();
  EXPECT_NE(trace.str().find("@ "), std::string::npos);
  EXPECT_NE(trace.str().find(at(expLine).substr(0, at(expLine).size() - 2)),
            std::string::npos)
      << trace.str();
}

// An error found only when the trace is verified (here a node recorded by
// hand with an invalid permutation) names that node's call site.
TEST(SourceLocation, VerificationErrorsNameTheNodesCallSite) {
  int line = 0;
  auto f = jit([&](const Tensor &x) {
    NodeAttrs attrs;
    attrs.axes = {0, 0};
    line = __LINE__ + 1;
    CallSite site(SourceLocation::current());
    return apply(Prim::Transpose, {x}, {{{3, 2}, DType::F32}}, attrs)[0];
  });
  std::string message = errorMessage([&] { f(ones({2, 3})); });
  EXPECT_NE(message.find("does not verify"), std::string::npos) << message;
  EXPECT_NE(message.find(at(line) + "transpose#1: "), std::string::npos)
      << message;
}
