// The numerics harness: runs named cases of the DSL under jit (value and, for
// the inputs a case lists, the gradient by valueAndGrad) and prints the inputs
// and outputs as text for compare.py, which recomputes every case with JAX
// (jax.vjp for the gradients) under the same name.
//
//   harness [--list] [--only SUBSTRING] [--no-fork]
//
// Each case runs in a forked child, so a crash (abort, segfault, a fatal error
// that exits) ends only that case: it is printed as CRASH and compare.py counts
// it as a failure. --no-fork runs in-process (for a debugger).
//
// Output, one case after another:
//   BEGIN name
//   IN  key dtype shape: values      (the case's inputs)
//   OUT y dtype shape: values        (the function's value)
//   OUT g.key dtype shape: values    (the gradient for each differentiated input)
//   ERROR message | CRASH description
//   END name
// The gradient is that of sum(y * cotangent) with the fixed cotangent pattern
// of cotangentValue() (compare.py uses the same), so a wrong gradient cannot
// hide behind the all-ones cotangent of a plain sum.
#include "bregman/bregman.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace bregman;

namespace {

constexpr float kInf = INFINITY;
constexpr float kNaN = NAN;
// A case that takes longer than this is stuck (each compiles once and runs once).
constexpr unsigned kCaseTimeoutSeconds = 300;
// The cotangent pattern covers outputs of up to this many elements.
constexpr int64_t kCotangentLength = 8192;

using CaseFunction = std::function<Tensor(const Params &)>;

struct Case {
  std::string name;              // "op#variant"; compare.py keys its reference on it
  Params inputs;
  std::vector<std::string> differentiate;  // inputs to take the gradient for
  CaseFunction function;
};

std::vector<Case> &caseList() {
  static std::vector<Case> cases;
  return cases;
}

void addCase(std::string name, Params inputs, std::vector<std::string> differentiate,
             CaseFunction function) {
  caseList().push_back({std::move(name), std::move(inputs), std::move(differentiate),
                        std::move(function)});
}

//===--------------------------------------------------------------------===//
// Inputs
//===--------------------------------------------------------------------===//

Tensor f32(std::vector<float> values, Shape shape) { return Tensor::fromVector(values, shape); }
Tensor f64(std::vector<double> values, Shape shape) { return Tensor::fromVector(values, shape); }
Tensor i32(std::vector<int32_t> values, Shape shape) { return Tensor::fromVector(values, shape); }
Tensor vectorF32(const std::vector<float> &values) { return f32(values, {(int64_t)values.size()}); }
Tensor vectorF64(const std::vector<double> &values) { return f64(values, {(int64_t)values.size()}); }

// A small deterministic generator (64-bit LCG): the inputs are printed, so
// compare.py never needs to reproduce it, only the runs need to be repeatable.
class Generator {
public:
  explicit Generator(uint64_t seed) : state_(seed * 7919 + 17) {}
  // Uniform in [-2, 2) on a grid of 2^-14.
  float uniform() { return (float)((next() >> 40) & 0xFFFF) / 65536.0f * 4.0f - 2.0f; }
  uint64_t integer(uint64_t modulus) { return (next() >> 33) % modulus; }

private:
  uint64_t next() { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_;
};

Tensor uniformF32(Shape shape, uint64_t seed, float scale = 1.0f) {
  Generator generator(seed);
  std::vector<float> values(numElements(shape));
  for (auto &value : values) value = generator.uniform() * scale;
  return f32(values, shape);
}

Tensor uniformF64(Shape shape, uint64_t seed) {
  Generator generator(seed);
  std::vector<double> values(numElements(shape));
  for (auto &value : values) value = generator.uniform();
  return f64(values, shape);
}

// Positive values spread over e^-40 .. e^40 (for log and long sums).
Tensor logUniformF32(Shape shape, uint64_t seed) {
  Generator generator(seed);
  std::vector<float> values(numElements(shape));
  for (auto &value : values) value = std::exp(generator.uniform() * 20.0f);
  return f32(values, shape);
}

// Small integers 0 .. modulus-1 as floats: many exact ties for max, argmax
// and pooling, where the gradient's tie-breaking rule shows.
Tensor smallIntegersF32(Shape shape, uint64_t seed, int modulus = 3) {
  Generator generator(seed);
  std::vector<float> values(numElements(shape));
  for (auto &value : values) value = (float)generator.integer(modulus);
  return f32(values, shape);
}

Tensor constantF32(int64_t count, float value, Shape shape) {
  return f32(std::vector<float>(count, value), shape);
}

Tensor emptyF32(Shape shape) { return f32({}, shape); }

Tensor input(const Params &params) { return params["x"]; }

//===--------------------------------------------------------------------===//
// Running a case
//===--------------------------------------------------------------------===//

// The cotangent's i-th element (exact in f32 and f64; compare.py's
// COTANGENT is the same formula).
double cotangentValue(int64_t i) { return (double)(((i * 7) % 11) - 5) * 0.25 + 0.125; }

Params withCotangents(Params inputs) {
  std::vector<float> single(kCotangentLength);
  std::vector<double> wide(kCotangentLength);
  for (int64_t i = 0; i < kCotangentLength; ++i) wide[i] = single[i] = (float)cotangentValue(i);
  inputs.add("__cotangent_f32", vectorF32(single));
  inputs.add("__cotangent_f64", vectorF64(wide));
  return inputs;
}

Tensor cotangentFor(const Params &params, const Tensor &y) {
  if (y.numel() == 0) return full(y.shape(), 0.0, y.dtype());
  if (y.numel() > kCotangentLength)
    throw std::runtime_error("harness: a differentiated output is longer than the cotangent");
  Tensor pattern = params[y.dtype() == DType::F64 ? "__cotangent_f64" : "__cotangent_f32"];
  return reshape(slice(pattern, 0, 0, y.numel()), y.shape());
}

void printTensor(const char *tag, const std::string &key, const Tensor &tensor) {
  std::printf("%s %s %s %s:", tag, key.c_str(), dtypeName(tensor.dtype()),
              shapeString(tensor.shape()).c_str());
  // %.9g and %.17g round-trip f32 and f64 exactly.
  if (tensor.dtype() == DType::F32)
    for (float value : tensor.toVector<float>()) std::printf(" %.9g", value);
  else if (tensor.dtype() == DType::F64)
    for (double value : tensor.toVector<double>()) std::printf(" %.17g", value);
  else
    for (int32_t value : tensor.toVector<int32_t>()) std::printf(" %d", value);
  std::printf("\n");
}

// The case's function under jit: its value, and with `differentiate` its
// gradient through valueAndGrad.
Params evaluate(const Case &testCase, const Params &inputs) {
  auto function = testCase.function;
  auto differentiate = testCase.differentiate;
  auto compiled = jit([function, differentiate](const Params &params) {
    Params out;
    if (differentiate.empty()) {
      out.add("y", function(params));
      return out;
    }
    Params variables;
    for (const auto &key : differentiate) variables.add(key, params[key]);
    auto [loss, y, gradients] = valueAndGrad([&](const Params &current) {
      Params all;
      for (const auto &[key, tensor] : params)
        all.add(key, current.contains(key) ? current[key] : tensor);
      Tensor value = function(all);
      return std::make_pair(sum(value * cotangentFor(params, value)), value);
    })(variables);
    out.add("y", y);
    for (const auto &[key, gradient] : gradients) out.add("g." + key, gradient);
    return out;
  });
  return compiled(inputs);
}

void runCaseBody(const Case &testCase) {
  for (const auto &[key, tensor] : testCase.inputs) printTensor("IN", key, tensor);
  std::fflush(stdout);
  try {
    Params out = evaluate(testCase, withCotangents(testCase.inputs));
    for (const auto &[key, tensor] : out) printTensor("OUT", key, tensor);
  } catch (const std::exception &error) {
    std::string message = error.what();
    for (auto &ch : message)
      if (ch == '\n') ch = ' ';
    std::printf("ERROR %s\n", message.c_str());
  }
  std::fflush(stdout);
}

// Runs the case in a child process; returns false when the child crashed.
bool runCaseIsolated(const Case &testCase) {
  std::fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    std::printf("CRASH fork failed: %s\n", std::strerror(errno));
    return false;
  }
  if (child == 0) {
    alarm(kCaseTimeoutSeconds);  // SIGALRM ends a stuck case: reported as a crash
    runCaseBody(testCase);
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::fflush(stdout);
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    std::printf("\nCRASH signal %d (%s)%s\n", signal, strsignal(signal),
                signal == SIGALRM ? " after the case timeout" : "");
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    std::printf("\nCRASH exit status %d\n", WEXITSTATUS(status));
    return false;
  }
  return true;
}

//===--------------------------------------------------------------------===//
// Cases: elementwise
//===--------------------------------------------------------------------===//

using UnaryFunction = std::function<Tensor(const Tensor &)>;

// The unary ops by the names compare.py knows them by.
UnaryFunction unaryOp(const std::string &name) {
  if (name == "relu") return [](const Tensor &x) { return relu(x); };
  if (name == "abs") return [](const Tensor &x) { return abs(x); };
  if (name == "neg") return [](const Tensor &x) { return -x; };
  if (name == "sqrt") return [](const Tensor &x) { return sqrt(x); };
  if (name == "log") return [](const Tensor &x) { return log(x); };
  if (name == "exp") return [](const Tensor &x) { return exp(x); };
  if (name == "sigmoid") return [](const Tensor &x) { return sigmoid(x); };
  if (name == "tanh") return [](const Tensor &x) { return tanh(x); };
  if (name == "silu") return [](const Tensor &x) { return silu(x); };
  if (name == "erf") return [](const Tensor &x) { return erf(x); };
  if (name == "gelu") return [](const Tensor &x) { return gelu(x); };
  if (name == "gelutanh") return [](const Tensor &x) { return gelu(x, true); };
  throw std::runtime_error("harness: no unary op " + name);
}

// "op#variant" on x, differentiated unless `valueOnly`.
void addUnary(const std::string &op, const std::string &variant, Tensor x, bool valueOnly = false) {
  UnaryFunction apply = unaryOp(op);
  addCase(op + "#" + variant, {{"x", x}}, valueOnly ? std::vector<std::string>{} : std::vector<std::string>{"x"},
          [apply](const Params &params) { return apply(input(params)); });
}

void addUnaryCases() {
  // Signed zeros, subnormals, huge values, infinities and NaN.
  Tensor special = vectorF32({-1, -0.0f, 0, 1, 1e-45f, -1e-45f, 1e30f, -1e30f, kInf, -kInf, kNaN});
  for (const char *op : {"relu", "abs", "neg"}) addUnary(op, "special", special);
  addUnary("sqrt", "special", vectorF32({0, -0.0f, 1e-30f, 1e-45f, 4, 1e38f, kInf, -1, kNaN}));
  addUnary("log", "special", vectorF32({0, -0.0f, 1e-38f, 1e-45f, 1, 3e38f, kInf, -1, kNaN}));
  // Past the overflow and underflow thresholds of exp in f32 (±88.7, -103.9).
  Tensor big = vectorF32({0, 1e-8f, 0.5f, 3, 9, 15, 20, 40, 88, 88.8f, 89, 100, -3, -15, -20, -40,
                          -87, -89, -104, -110, -1e30f, 1e30f, kInf, -kInf, kNaN});
  for (const char *op : {"exp", "sigmoid", "tanh", "silu", "erf"}) addUnary(op, "big", big);
  // gelu's left tail, where 1 + erf(x/√2) cancels.
  Tensor geluRange = vectorF32({-1e13f, -50, -10, -8, -6, -5, -3, -1, -1e-3f, 0, 1e-3f, 1, 3, 5, 10,
                                1e13f, 1e20f, kInf, -kInf, kNaN});
  addUnary("gelu", "big", geluRange);
  addUnary("gelutanh", "big", geluRange);
  addUnary("gelu", "huge", vectorF32({2e38f, 3e38f, -3e38f}));
  // Random arguments in each function's working range.
  addUnary("erf", "accuracy", uniformF32({64}, 3, 2.5f));
  addUnary("tanh", "accuracy", uniformF32({64}, 4, 5.f));
  addUnary("sigmoid", "accuracy", uniformF32({64}, 5, 10.f));
  addUnary("exp", "accuracy", uniformF32({64}, 6, 40.f));
  addUnary("log", "accuracy", logUniformF32({64}, 7));
  addUnary("relu", "rank0", Tensor::scalar(0.0f));
  addUnary("exp", "rank0", Tensor::scalar(2.0f));
  addUnary("exp", "zerosize", emptyF32({0, 3}));
}

void addUnaryF64Cases() {
  // The f64 thresholds (exp overflows past 709.8, underflows past -745).
  Tensor big = vectorF64({0, 1e-300, 0.5, 20, 40, 88, 100, 700, 709, 710, -20, -40, -100, -700,
                          -745, -750, kInf, -kInf, kNaN});
  for (const char *op : {"exp", "sigmoid", "tanh", "erf"}) addUnary(op, "f64", big);
  addUnary("log", "f64", vectorF64({0, 1e-310, 1e-300, 1, 1e300, kInf, -1, kNaN}));
  addUnary("sqrt", "f64", vectorF64({0, 1e-310, 2, 1e300, kInf, -1, kNaN}));
  addUnary("gelu", "f64", vectorF64({-40, -10, -8, -3, 0, 3, 10}));
  addUnary("relu", "f64", vectorF64({-1, 0, 1, kNaN}));
}

// Dense sweeps of each unary op's value: 10^-40 .. 10^38 of both signs, a
// fine grid over [-100, 100] and the neighbourhood of 1 (log's cancellation).
void addUnarySweepCases() {
  std::vector<float> values;
  for (int exponent = -40; exponent <= 38; ++exponent)
    for (int step = 0; step < 50; ++step) {
      float x = std::pow(10.0f, exponent + step / 50.0f);
      values.push_back(x);
      values.push_back(-x);
    }
  for (int i = -20000; i <= 20000; ++i) values.push_back(i * 0.005f);
  for (int i = -2000; i <= 2000; ++i) values.push_back(1.0f + i * 6e-8f);
  Tensor sweep = vectorF32(values);
  for (const char *op : {"exp", "log", "sqrt", "sigmoid", "tanh", "erf", "gelu", "gelutanh", "silu"})
    addUnary(op, "sweep", sweep, /*valueOnly=*/true);
}

//===--------------------------------------------------------------------===//
// Cases: binary ops, comparisons, where
//===--------------------------------------------------------------------===//

using BinaryFunction = std::function<Tensor(const Tensor &, const Tensor &)>;

void addBinary(const std::string &name, Tensor a, Tensor b, BinaryFunction apply,
               bool differentiate = true) {
  addCase(name, {{"a", a}, {"b", b}},
          differentiate ? std::vector<std::string>{"a", "b"} : std::vector<std::string>{},
          [apply](const Params &params) { return apply(params["a"], params["b"]); });
}

const BinaryFunction kAdd = [](const Tensor &a, const Tensor &b) { return a + b; };
const BinaryFunction kSubtract = [](const Tensor &a, const Tensor &b) { return a - b; };
const BinaryFunction kMultiply = [](const Tensor &a, const Tensor &b) { return a * b; };
const BinaryFunction kDivide = [](const Tensor &a, const Tensor &b) { return a / b; };
const BinaryFunction kMaximum = [](const Tensor &a, const Tensor &b) { return maximum(a, b); };

void addArithmeticCases() {
  // 0/0, x/±0, tiny and huge operands, inf·0, inf - inf.
  Tensor a = vectorF32({0, 1, -1, 0, 1, 1e-30f, 1e30f, kInf, 1, 3, 1e-20f, 1e20f, kNaN});
  Tensor b = vectorF32({0, 0, 0, -0.0f, -0.0f, 1e-30f, 1e-30f, kInf, kInf, 7, 1e-20f, 1e20f, 1});
  addBinary("div#special", a, b, kDivide);
  addBinary("mul#special", a, b, kMultiply);
  addBinary("add#special", a, b, kAdd);
  addBinary("sub#special", a, b, kSubtract);
  // Broadcasting of every kind, and its gradient's reduction back to shape.
  addBinary("add#bcast1", Tensor::scalar(1.5f), uniformF32({2, 3}, 5), kAdd);
  addBinary("mul#bcast2", uniformF32({2, 1, 3}, 6), uniformF32({4, 1}, 7), kMultiply);
  addBinary("div#bcast3", uniformF32({1, 3, 1}, 8), uniformF32({2, 1, 4}, 9), kDivide);
  addBinary("sub#bcast4", uniformF32({1}, 10), uniformF32({3, 1, 1}, 11), kSubtract);
  addBinary("add#zerosize", emptyF32({0, 3}), uniformF32({1, 3}, 12), kAdd);
  addBinary("mul#zerosize_b", emptyF32({2, 0}), uniformF32({2, 1}, 12), kMultiply);
  addBinary("add#f64", uniformF64({2, 3}, 1), uniformF64({3}, 2),
            [](const Tensor &a, const Tensor &b) { return a * b + a; });
  addBinary("add#i32", i32({1, 2}, {2}), i32({3, 4}, {2}), kAdd, false);
  addCase("scalarops#x", {{"x", uniformF32({5}, 13)}}, {"x"},
          [](const Params &p) { return (2.5 * input(p) - 1.0) / 3.0 + 0.5; });
  addCase("divzero#x", {{"x", vectorF32({1, -1, 0})}}, {"x"},
          [](const Params &p) { return input(p) / 0.0; });
}

void addMaximumAndComparisonCases() {
  // Ties (where the gradient is split or given to one side), NaN and ±0.
  addBinary("maximum#ties", vectorF32({1, 2, 3, kNaN, 1, kInf, -0.0f, 0, -kInf, 5}),
            vectorF32({1, 1, 4, 1, kNaN, kInf, 0, -0.0f, -kInf, 5}), kMaximum);
  addBinary("maximum#bcast", smallIntegersF32({3, 1}, 1), smallIntegersF32({1, 4}, 2), kMaximum);
  addBinary("maximum#scalar", smallIntegersF32({2, 3}, 3), Tensor::scalar(1.0f), kMaximum);
  addBinary("maximum#f64ties", vectorF64({1, 2}), vectorF64({1, 3}), kMaximum);
  addCase("composite#max_self", {{"x", uniformF32({3}, 250)}}, {"x"},
          [](const Params &p) { return maximum(input(p), input(p)); });
  auto equalOp = [](const Tensor &a, const Tensor &b) { return equal(a, b); };
  auto lessOp = [](const Tensor &a, const Tensor &b) { return less(a, b); };
  auto greaterOp = [](const Tensor &a, const Tensor &b) { return greater(a, b); };
  addBinary("equal#i32", i32({1, 2, -3}, {3}), i32({1, 3, -3}, {3}), equalOp, false);
  addBinary("less#i32", i32({1, 2, -3, INT32_MIN}, {4}), i32({1, 3, -4, INT32_MAX}, {4}), lessOp, false);
  Tensor a = vectorF32({1, kNaN, kNaN, 0, -0.0f, kInf, -kInf, 1});
  Tensor b = vectorF32({1, kNaN, 1, -0.0f, 0, kInf, kInf, 2});
  addBinary("equal#special", a, b, equalOp, false);
  addBinary("less#special", a, b, lessOp, false);
  addBinary("greater#special", a, b, greaterOp, false);
}

void addWhere(const std::string &name, Tensor condition, Tensor a, Tensor b) {
  addCase(name, {{"c", condition}, {"a", a}, {"b", b}}, {"a", "b"},
          [](const Params &p) { return where(p["c"], p["a"], p["b"]); });
}

void addWhereCases() {
  // A NaN or -0 condition, and an inf or NaN in the branch not taken (whose
  // gradient must stay 0, not NaN).
  addWhere("where#special", f32({1, 0, kNaN, -0.0f, 2, 0}, {2, 3}), vectorF32({kInf, 1, 2}),
           f32({3, 4, kInf, 5, 6, kNaN}, {2, 3}));
  addWhere("where#bcast", f32({1, 0}, {2, 1}), Tensor::scalar(2.f), uniformF32({1, 3}, 3));
  addWhere("where#condbcast", vectorF32({1, 0, 1}), uniformF32({2, 1}, 88), uniformF32({2, 3}, 89));
  addWhere("where#f64", vectorF64({1, 0, kNaN}), uniformF64({3}, 88), uniformF64({3}, 89));
}

//===--------------------------------------------------------------------===//
// Cases: reductions
//===--------------------------------------------------------------------===//

void addReduction(const std::string &name, Tensor x, CaseFunction function, bool differentiate = true) {
  addCase(name, {{"x", x}}, differentiate ? std::vector<std::string>{"x"} : std::vector<std::string>{},
          std::move(function));
}

void addSumCases() {
  addReduction("sum#axes02", uniformF32({2, 3, 4}, 20), [](const Params &p) { return sum(input(p), {0, 2}); });
  addReduction("sum#axesneg", uniformF32({2, 3, 4}, 21),
               [](const Params &p) { return sum(input(p), {-1, -3}, true); });
  addReduction("sum#all", uniformF32({2, 3, 4}, 22), [](const Params &p) { return sum(input(p)); });
  addReduction("sum#noaxes", uniformF32({2, 3}, 22),
               [](const Params &p) { return sum(input(p), std::vector<int64_t>{}); });
  addReduction("sum#rank0", Tensor::scalar(3.f), [](const Params &p) { return sum(input(p)); });
  addReduction("sum#zerosize0", emptyF32({0, 3}), [](const Params &p) { return sum(input(p), {0}); });
  addReduction("sum#zerosize1", emptyF32({0, 3}), [](const Params &p) { return sum(input(p), {1}); });
  // Lengths past the vector width and the unrolled blocks, and odd ones.
  addReduction("sum#long1500", uniformF32({3, 1500}, 23), [](const Params &p) { return sum(input(p), {1}); });
  addReduction("sum#long2048ax0", uniformF32({2048, 3}, 24), [](const Params &p) { return sum(input(p), {0}); });
  addReduction("sum#long_multi", uniformF32({40, 3, 50}, 25),
               [](const Params &p) { return sum(input(p), {0, 2}); });
  addReduction("sum#long_prime", uniformF32({1031}, 26), [](const Params &p) { return sum(input(p)); });
  addReduction("sum#inf", f32({kInf, -kInf, 1, kInf, kInf, 2}, {2, 3}),
               [](const Params &p) { return sum(input(p), {1}); });
  addReduction("sum#f64", uniformF64({3, 1500}, 27), [](const Params &p) { return sum(input(p), {-1}); });
  addReduction("sum#i32", i32({1, 2, 3}, {3}), [](const Params &p) { return sum(input(p)); }, false);
}

void addMaxAndMeanCases() {
  // Ties among the maxima (the gradient's rule), -inf rows, ±0, NaN.
  addReduction("max#ties", f32({1, 3, 3, 2, 2, 2, -kInf, -kInf, -kInf, 0, -0.0f, -1}, {4, 3}),
               [](const Params &p) { return max(input(p), {-1}); });
  addReduction("max#nan", f32({kNaN, 1, 2, 1, kNaN, 2, 1, 2, kNaN, kInf, kNaN, 1}, {4, 3}),
               [](const Params &p) { return max(input(p), {1}); });
  addReduction("max#multiaxes", smallIntegersF32({2, 3, 4}, 30),
               [](const Params &p) { return max(input(p), {0, 2}); });
  addReduction("max#keep", smallIntegersF32({2, 3, 4}, 31),
               [](const Params &p) { return max(input(p), {-2}, true); });
  addReduction("max#zerosize", emptyF32({2, 0}), [](const Params &p) { return max(input(p), {1}); }, false);
  addReduction("max#zerosize_keep_grad", emptyF32({0, 3}), [](const Params &p) { return max(input(p), {1}); });
  addReduction("max#f64", f64({1, 3, 3, -1e300, -1e300, -1e300}, {2, 3}),
               [](const Params &p) { return max(input(p), {1}); });
  addReduction("mean#axes", uniformF32({2, 3, 4}, 32), [](const Params &p) { return mean(input(p), {0, -1}); });
  addReduction("mean#all", uniformF32({2, 3, 4}, 33), [](const Params &p) { return mean(input(p)); });
  addReduction("mean#zerosize", emptyF32({0, 3}), [](const Params &p) { return mean(input(p), {0}); });
  addReduction("mean#rank0", Tensor::scalar(3.f), [](const Params &p) { return mean(input(p)); });
  // The sum overflows f32 unless the mean divides first.
  addReduction("mean#big", vectorF32({3e38f, 3e38f, 3e38f, 3e38f}), [](const Params &p) { return mean(input(p)); });
  addReduction("composite#relu_max", smallIntegersF32({3, 4}, 160),
               [](const Params &p) { return max(relu(input(p) - 1.0), {0, 1}); });
}

void addArgmaxCases() {
  auto argmaxLast = [](const Params &p) { return argmax(input(p)); };
  addReduction("argmax#ties", f32({1, 3, 3, kNaN, 1, kNaN, -kInf, -kInf, -kInf, 1, kInf, kInf, 0, -0.0f, -1,
                                   -0.0f, 0, 0}, {6, 3}), argmaxLast, false);
  addReduction("argmax#rank3", smallIntegersF32({2, 3, 4}, 34), argmaxLast, false);
  addReduction("argmax#rank1", vectorF32({2, 5, 5, 1}), argmaxLast, false);
  addReduction("argmax#f64", f64({2, 5, 5, 1, kNaN, 3}, {2, 3}), argmaxLast, false);
  addReduction("argmax#allnan", f32({kNaN, kNaN, kNaN}, {1, 3}), argmaxLast, false);
  addReduction("argmax#long", smallIntegersF32({2, 1000}, 35, 1000), argmaxLast, false);
}

// Long reductions (value only): a million elements of 0.1 shows how the
// summation order's error grows (naive sequential f32 sums drift by ~1 %).
void addLongReductionCases() {
  Tensor prime = constantF32(1000003, 0.1f, {1000003});
  addReduction("sum#prime1e6", prime, [](const Params &p) { return sum(input(p)); }, false);
  addReduction("mean#prime1e6", prime, [](const Params &p) { return mean(input(p)); }, false);
  addReduction("sum#2xprime", constantF32(1000006, 0.1f, {1000006}),
               [](const Params &p) { return sum(input(p)); }, false);
  addReduction("sum#pow2_20", constantF32(1 << 20, 0.1f, {1 << 20}),
               [](const Params &p) { return sum(input(p)); }, false);
  addReduction("sum#rows_prime", constantF32(2 * 100003, 0.1f, {2, 100003}),
               [](const Params &p) { return sum(input(p), {1}); }, false);
  addReduction("sum#cols_prime", constantF32(2 * 100003, 0.1f, {100003, 2}),
               [](const Params &p) { return sum(input(p), {0}); }, false);
  addReduction("sum#multi_prime", constantF32(997 * 1009, 0.1f, {997, 1009}),
               [](const Params &p) { return sum(input(p)); }, false);
  addReduction("sum#pos_long_prime", logUniformF32({200003}, 303),
               [](const Params &p) { return sum(input(p)); }, false);
  addReduction("mean#awkward1030", uniformF32({4, 1030}, 302),
               [](const Params &p) { return mean(input(p), {1}); }, false);
  addReduction("softmax#long_prime", constantF32(100003, 0.0f, {1, 100003}),
               [](const Params &p) { return slice(softmax(input(p)), 1, 0, 4); }, false);
  addReduction("softmax#prime_rand", uniformF32({1, 100003}, 300, 3),
               [](const Params &p) { return slice(softmax(input(p)), 1, 0, 8); }, false);
  addReduction("logSoftmax#prime_rand", uniformF32({1, 100003}, 301, 3),
               [](const Params &p) { return slice(logSoftmax(input(p)), 1, 0, 8); }, false);
}

//===--------------------------------------------------------------------===//
// Cases: shapes
//===--------------------------------------------------------------------===//

void addSliceAndLayoutCases() {
  addReduction("shape#transpose_reshape_slice", uniformF32({2, 3, 4}, 40),
               [](const Params &p) { return slice(reshape(transpose(input(p), {2, 0, 1}), {4, 6}), 1, 2, 3); });
  addReduction("slice#negaxis", uniformF32({2, 5}, 41), [](const Params &p) { return slice(input(p), -1, 1, 3); });
  addReduction("slice#size0", uniformF32({2, 5}, 42), [](const Params &p) { return slice(input(p), 1, 2, 0); });
  addReduction("slice#full", uniformF32({2, 5}, 42), [](const Params &p) { return slice(input(p), 1, 0, 5); });
  addReduction("slice#end", uniformF32({2, 5}, 42), [](const Params &p) { return slice(input(p), 0, 1, 1); });
  addReduction("slice#size0_at_end", uniformF32({2, 5}, 42),
               [](const Params &p) { return slice(input(p), 1, 5, 0); }, false);
  addReduction("slice#size0_at_end_grad", uniformF32({2, 5}, 42),
               [](const Params &p) { return slice(input(p), 1, 5, 0); });
  addReduction("broadcastTo#rank0", Tensor::scalar(2.f), [](const Params &p) { return broadcastTo(input(p), {2, 3}); });
  addReduction("broadcastTo#mid", uniformF32({3, 1}, 46),
               [](const Params &p) { return broadcastTo(input(p), {2, 3, 4}); });
  addReduction("sumTo#x", uniformF32({2, 3, 4}, 47), [](const Params &p) { return sumTo(input(p), {3, 1}); });
  addReduction("sumTo#scalar", uniformF32({2, 3}, 48), [](const Params &p) { return sumTo(input(p), {}); });
  addReduction("transpose#4d", uniformF32({2, 3, 1, 4}, 49),
               [](const Params &p) { return transpose(input(p), {3, 1, 0, 2}); });
  addReduction("reshape#rank0", Tensor::scalar(2.f), [](const Params &p) { return reshape(input(p), {1, 1}); });
  addReduction("reshape#to0", f32({7}, {1, 1}), [](const Params &p) { return reshape(input(p), {}) * 3.0; });
  addReduction("stopgrad#x", uniformF32({3}, 50), [](const Params &p) { return input(p) * stopGradient(input(p)); });
  // The unused input x only gives the traced function an argument.
  addReduction("full#i32", uniformF32({1}, 1), [](const Params &) { return full({2}, 3.7, DType::I32); }, false);
  addReduction("full#f64", uniformF32({1}, 1), [](const Params &) { return full({2}, 0.1, DType::F64); }, false);
  addReduction("full#f32", uniformF32({1}, 1), [](const Params &) { return full({2}, 0.1, DType::F32); }, false);
  addCase("dropout#rate0", {{"x", uniformF32({6}, 200)}, {"s", i32({3}, {})}}, {"x"},
          [](const Params &p) { return dropout(input(p), 0.0, p["s"]); });
}

void addConcatCases() {
  Tensor a = uniformF32({2, 3}, 43), empty = emptyF32({2, 0});
  addCase("concat#neg", {{"a", a}, {"b", uniformF32({2, 1}, 44)}, {"c", empty}}, {"a", "b", "c"},
          [](const Params &p) { return concat({p["a"], p["b"], p["c"]}, -1); });
  addCase("concat#self", {{"a", uniformF32({2, 3}, 45)}}, {"a"},
          [](const Params &p) { return concat({p["a"], p["a"] * 2.0}, 0); });
  // Zero-size pieces first, last, in the middle and alone.
  addCase("concat#zero_last_fwd", {{"a", a}, {"c", empty}}, {},
          [](const Params &p) { return concat({p["a"], p["c"]}, 1); });
  addCase("concat#zero_first_fwd", {{"a", a}, {"c", empty}}, {},
          [](const Params &p) { return concat({p["c"], p["a"]}, 1); });
  addCase("concat#zero_mid_grad", {{"a", a}, {"b", uniformF32({2, 2}, 44)}, {"c", empty}}, {"a", "b", "c"},
          [](const Params &p) { return concat({p["a"], p["c"], p["b"]}, 1); });
  addCase("concat#axis0_zero", {{"a", a}, {"c", emptyF32({0, 3})}}, {"a"},
          [](const Params &p) { return concat({p["a"], p["c"]}, 0); });
  addCase("concat#all_zero", {{"c", empty}}, {}, [](const Params &p) { return concat({p["c"], p["c"]}, 1); });
}

void addTake(const std::string &name, Tensor table, Tensor indices) {
  addCase(name, {{"t", table}, {"i", indices}}, {"t"}, [](const Params &p) { return take(p["t"], p["i"]); });
}

void addTakeCases() {
  // Negative indices count from the end; out-of-range ones give zero rows.
  addTake("take#neg", uniformF32({4, 3}, 90), i32({0, -1, 3, -4, 0, 0}, {2, 3}));
  addTake("take#oob", uniformF32({4, 2}, 91), i32({4, -5, 100, 1}, {4}));
  addTake("take#intmin", uniformF32({4, 2}, 91), i32({INT32_MIN, INT32_MAX, -4}, {3}));
  addTake("take#1d", uniformF32({5}, 92), i32({1, 1, 4}, {3}));
  addTake("take#scalaridx", uniformF32({5, 2}, 93), i32({3}, {}));
}

//===--------------------------------------------------------------------===//
// Cases: softmax, losses, normalization
//===--------------------------------------------------------------------===//

void addSoftmaxCases() {
  // Rows with huge spreads, ±inf, all -inf, NaN and near-overflow values.
  Tensor special = f32({1, 2, 3, 1000, 0, -1000, kInf, 0, 1, -kInf, 0, 1, -kInf, -kInf, -kInf, kNaN, 0, 1,
                        1e30f, 1e30f, -1e30f, 3e38f, -3e38f, 0}, {8, 3});
  addReduction("logSoftmax#special", special, [](const Params &p) { return logSoftmax(input(p)); });
  addReduction("softmax#special", special, [](const Params &p) { return softmax(input(p)); });
  addReduction("logSoftmax#axis0", uniformF32({4, 3}, 60, 5), [](const Params &p) { return logSoftmax(input(p), 0); });
  addReduction("logSoftmax#axis_m2", uniformF32({2, 3, 4}, 201, 3),
               [](const Params &p) { return logSoftmax(input(p), -2); });
  addReduction("softmax#axis1of3", uniformF32({2, 3, 4}, 61, 5), [](const Params &p) { return softmax(input(p), 1); });
  addReduction("logSoftmax#f64", f64({1, 2, 3, 1e300, 0, -1e300}, {2, 3}),
               [](const Params &p) { return logSoftmax(input(p)); });
  addReduction("logSoftmax#rank1", vectorF32({1, 2, 3}), [](const Params &p) { return logSoftmax(input(p)); });
  // Additive masks: a fully masked row, a broadcast mask, the mask's gradient.
  auto masked = [](const Params &p) { return softmax(input(p), -1, p["m"]); };
  addCase("softmax#mask", {{"x", uniformF32({3, 4}, 62)}, {"m", f32({0, -kInf, 0, -kInf, -kInf, -kInf, -kInf, -kInf,
                                                                     0, 0, 0, 0}, {3, 4})}}, {"x"}, masked);
  addCase("softmax#maskbcast", {{"x", uniformF32({2, 3, 4}, 63)}, {"m", vectorF32({0, -kInf, 0, 0})}}, {"x"}, masked);
  addCase("softmax#maskgrad", {{"x", uniformF32({3, 4}, 62)}, {"m", f32({0, -kInf, 0, -kInf, -1, 1, -kInf, 2, 0, 0,
                                                                         0, 0}, {3, 4})}}, {"x", "m"}, masked);
  addReduction("composite#log_sigmoid", vectorF32({-200, -100, -20, 0, 20, 100}),
               [](const Params &p) { return log(sigmoid(input(p))); });
}

void addLossCases() {
  auto loss = [](const Params &p) { return crossEntropy(input(p), p["l"]); };
  addCase("crossEntropy#basic", {{"x", uniformF32({4, 5}, 64, 3)}, {"l", i32({0, 4, 2, 2}, {4})}}, {"x"}, loss);
  addCase("crossEntropy#neginf_logit", {{"x", f32({-kInf, 0, 1, 2, 1, -kInf}, {2, 3})}, {"l", i32({2, 1}, {2})}},
          {"x"}, loss);
  addCase("crossEntropy#huge",
          {{"x", f32({1e30f, -1e30f, 0, 3e38f, -3e38f, 0, 100, 0, -100}, {3, 3})}, {"l", i32({1, 0, 2}, {3})}},
          {"x"}, loss);
  // Out-of-range labels: a zero one-hot row (no loss, no gradient).
  addCase("crossEntropy#oob", {{"x", uniformF32({3, 3}, 65)}, {"l", i32({3, -1, 0}, {3})}}, {"x"}, loss);
  addCase("oneHot#x", {{"l", i32({0, 2, -1, 3, 1}, {5})}}, {}, [](const Params &p) { return oneHot(p["l"], 3); });
  addCase("countCorrect#x", {{"x", f32({1, 2, 2, 3, 1, 0, kNaN, 1, 0}, {3, 3})}, {"l", i32({1, 0, 0}, {3})}}, {},
          [](const Params &p) { return countCorrect(input(p), p["l"]); });
}

void addNormalizationCases() {
  addReduction("standardize#ax0", uniformF32({5, 3}, 70), [](const Params &p) { return standardize(input(p), {0}, 1e-5); });
  addReduction("standardize#axes", uniformF32({2, 3, 4}, 71),
               [](const Params &p) { return standardize(input(p), {-1, 0}, 1e-3); });
  // A constant row with eps 0 (0/0), and a large offset (variance cancels).
  addReduction("standardize#const", f32({2, 2, 2, 1, 2, 3}, {2, 3}),
               [](const Params &p) { return standardize(input(p), {1}, 0.0); });
  addReduction("standardize#offset", f32({10000.1f, 10000.2f, 10000.3f, 10000.4f}, {1, 4}),
               [](const Params &p) { return standardize(input(p), {1}, 1e-5); });
  auto batchNormOf = [](const Params &p) { return batchNorm(input(p), p["s"], p["b"], 1e-5); };
  std::vector<std::string> all = {"x", "s", "b"};
  addCase("batchNorm#x", {{"x", uniformF32({2, 3, 2, 2}, 72)}, {"s", uniformF32({3}, 73)}, {"b", uniformF32({3}, 74)}},
          all, batchNormOf);
  addCase("batchNorm#2d", {{"x", uniformF32({4, 3}, 75)}, {"s", uniformF32({3}, 76)}, {"b", uniformF32({3}, 77)}},
          all, batchNormOf);
  addCase("batchNorm#n1", {{"x", uniformF32({1, 2, 1, 1}, 82)}, {"s", uniformF32({2}, 83)}, {"b", uniformF32({2}, 84)}},
          all, batchNormOf);
  addCase("batchNorm#f64", {{"x", uniformF64({3, 2, 2}, 85)}, {"s", uniformF64({2}, 86)}, {"b", uniformF64({2}, 87)}},
          all, batchNormOf);
  addCase("layerNorm#x", {{"x", uniformF32({2, 3, 4}, 78)}, {"s", uniformF32({3, 4}, 79)}, {"b", uniformF32({4}, 80)}},
          all, [](const Params &p) { return layerNorm(input(p), 2, p["s"], p["b"], 1e-5); });
  addCase("layerNorm#scale_bcast", {{"x", uniformF32({2, 3, 4}, 78)}, {"s", uniformF32({1, 4}, 79)}}, {"x", "s"},
          [](const Params &p) { return layerNorm(input(p), 2, p["s"]); });
  addReduction("layerNorm#noaffine", uniformF32({3, 5}, 81), [](const Params &p) { return layerNorm(input(p), 1); });
  addReduction("composite#sqrt_sumsq0", vectorF32({0, 0, 0}),
               [](const Params &p) { return sqrt(sum(input(p) * input(p))); });
  addReduction("composite#xlogx0", vectorF32({0, 1, 2}), [](const Params &p) { return input(p) * log(input(p)); });
}

//===--------------------------------------------------------------------===//
// Cases: matmul
//===--------------------------------------------------------------------===//

void addMatmul(const std::string &name, Tensor a, Tensor b, bool transposeA, bool transposeB,
               bool differentiate = true) {
  addCase(name, {{"a", a}, {"b", b}}, differentiate ? std::vector<std::string>{"a", "b"} : std::vector<std::string>{},
          [transposeA, transposeB](const Params &p) { return matmul(p["a"], p["b"], transposeA, transposeB); });
}

// Every transpose combination for 2-d, broadcast batch, n-d × 2-d and 2-d × n-d.
void addMatmulTransposeCases() {
  for (int transposeA = 0; transposeA < 2; ++transposeA)
    for (int transposeB = 0; transposeB < 2; ++transposeB) {
      std::string flags = std::to_string(transposeA) + std::to_string(transposeB);
      auto shapeA = [&](Shape plain, Shape transposed) { return transposeA ? transposed : plain; };
      auto shapeB = [&](Shape plain, Shape transposed) { return transposeB ? transposed : plain; };
      addMatmul("matmul#2d_" + flags, uniformF32(shapeA({3, 4}, {4, 3}), 100 + transposeA),
                uniformF32(shapeB({4, 5}, {5, 4}), 102 + transposeB), transposeA, transposeB);
      addMatmul("matmul#bcast_" + flags, uniformF32(shapeA({2, 1, 3, 4}, {2, 1, 4, 3}), 110 + transposeA),
                uniformF32(shapeB({5, 4, 2}, {5, 2, 4}), 112 + transposeB), transposeA, transposeB);
      addMatmul("matmul#nd2d_" + flags, uniformF32(shapeA({2, 3, 3, 4}, {2, 3, 4, 3}), 120 + transposeA),
                uniformF32(shapeB({4, 5}, {5, 4}), 122 + transposeB), transposeA, transposeB);
      addMatmul("matmul#2dnd_" + flags, uniformF32(shapeA({3, 4}, {4, 3}), 124 + transposeA),
                uniformF32(shapeB({2, 4, 5}, {2, 5, 4}), 126 + transposeB), transposeA, transposeB);
    }
}

void addMatmulEdgeCases() {
  // Zero-size contraction (a zero result), rows and batches.
  addMatmul("matmul#k0", emptyF32({2, 0}), emptyF32({0, 3}), false, false);
  addMatmul("matmul#m0", emptyF32({0, 2}), uniformF32({2, 3}, 1), false, false);
  addMatmul("matmul#batch0", emptyF32({0, 2, 2}), uniformF32({2, 3}, 1), true, false);
  // inf·0 must give NaN, not be skipped as a zero product.
  addMatmul("matmul#infnan", f32({kInf, 1, 0, 1, kNaN, 0}, {2, 3}), f32({0, 1, 1, 0, 0, 1}, {3, 2}), false, false,
            false);
  addMatmul("matmul#f64", uniformF64({3, 4}, 1), uniformF64({2, 5, 4}, 2), false, true);
  // Sizes past the kernels' tiles, and a matrix-vector shaped product.
  addMatmul("matmul#big", uniformF32({33, 70}, 3), uniformF32({70, 65}, 4), false, false);
  addMatmul("matmul#vecshape", uniformF32({1, 5}, 5), uniformF32({5, 1}, 6), false, false);
}

//===--------------------------------------------------------------------===//
// Cases: convolution, pooling, resizing
//===--------------------------------------------------------------------===//

void addConvolutionCases() {
  struct Convolution {
    const char *variant;
    Shape inputShape, weightShape;
    Conv2dOptions options;  // {stride, padding [top, left, bottom, right], dilation, groups}
  };
  const std::vector<Convolution> convolutions = {
      {"basic", {2, 3, 5, 5}, {4, 3, 3, 3}, {}},
      {"asympad_stride_dil", {2, 3, 7, 6}, {4, 3, 3, 2}, {{2, 1}, {1, 0, 2, 1}, {1, 2}, 1}},
      {"depthwise", {1, 3, 6, 6}, {6, 1, 3, 3}, {{2, 2}, {1, 1, 1, 1}, {1, 1}, 3}},
      {"groups2", {2, 4, 5, 5}, {4, 2, 2, 2}, {{1, 1}, {0, 0, 0, 0}, {2, 1}, 2}},
      {"stride_gt_kernel", {1, 2, 7, 7}, {3, 2, 1, 1}, {{3, 3}, {0, 0, 0, 0}, {1, 1}, 1}},
      {"kernel_gt_input", {1, 1, 2, 2}, {1, 1, 3, 3}, {{1, 1}, {1, 1, 1, 1}, {1, 1}, 1}},
      {"bigpad", {1, 1, 2, 3}, {2, 1, 2, 2}, {{2, 1}, {3, 2, 3, 0}, {1, 1}, 1}},
      {"stride_leftover", {1, 2, 8, 8}, {2, 2, 3, 3}, {{3, 2}, {0, 1, 0, 0}, {1, 1}, 1}},
      {"groups_stride_dil", {2, 6, 9, 9}, {9, 2, 3, 3}, {{2, 2}, {2, 1, 0, 2}, {2, 2}, 3}},
  };
  for (const auto &c : convolutions)
    addCase(std::string("conv2d#") + c.variant, {{"x", uniformF32(c.inputShape, 130)}, {"w", uniformF32(c.weightShape, 131)}},
            {"x", "w"}, [options = c.options](const Params &p) { return conv2d(p["x"], p["w"], options); });
  Conv2dOptions asymmetric{{2, 1}, {1, 0, 2, 1}, {1, 2}, 1};
  addCase("conv2d#f64", {{"x", uniformF64({2, 3, 7, 6}, 132)}, {"w", uniformF64({4, 3, 3, 2}, 133)}}, {"x", "w"},
          [asymmetric](const Params &p) { return conv2d(p["x"], p["w"], asymmetric); });
  addCase("conv2d#infnan", {{"x", f32({1, kInf, 0, kNaN, 1, 1, 1, 1, 1}, {1, 1, 3, 3})}, {"w", f32({0, 1, 1, 0}, {1, 1, 2, 2})}},
          {}, [](const Params &p) { return conv2d(p["x"], p["w"]); });
  addCase("conv2d#batch0", {{"x", emptyF32({0, 3, 5, 5})}, {"w", uniformF32({4, 3, 3, 3}, 131)}}, {"x", "w"},
          [](const Params &p) { return conv2d(p["x"], p["w"]); });
  struct Transposed {
    const char *variant;
    Shape inputShape, weightShape;
    Conv2dOptions options;
    std::array<int64_t, 2> outputPadding;
  };
  const std::vector<Transposed> transposed = {
      {"basic", {1, 2, 3, 3}, {2, 3, 3, 3}, {}, {0, 0}},
      {"stride2pad1op1", {2, 2, 3, 4}, {2, 3, 3, 3}, {{2, 2}, {1, 1, 1, 1}, {1, 1}, 1}, {1, 1}},
      {"groups", {1, 4, 3, 3}, {4, 1, 2, 2}, {{2, 1}, {0, 0, 0, 0}, {1, 1}, 2}, {1, 0}},
      {"dil_asym", {1, 2, 4, 3}, {2, 2, 3, 2}, {{1, 2}, {1, 0, 0, 1}, {2, 1}, 1}, {0, 1}},
  };
  for (const auto &c : transposed)
    addCase(std::string("convT#") + c.variant, {{"x", uniformF32(c.inputShape, 140)}, {"w", uniformF32(c.weightShape, 141)}},
            {"x", "w"}, [options = c.options, outputPadding = c.outputPadding](const Params &p) {
              return convTranspose2d(p["x"], p["w"], options, outputPadding);
            });
}

void addPoolingCases() {
  struct Pooling {
    const char *variant;
    Shape inputShape;
    Pool2dOptions options;  // {kernel, stride (0: kernel), padding, dilation}
    int tieModulus;         // max pooling's inputs are integers below this (ties)
  };
  const std::vector<Pooling> poolings = {
      {"k2", {1, 2, 4, 4}, {}, 2},
      {"k3s1p1", {1, 1, 5, 5}, {{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}}, 2},
      {"k2s1dil2", {2, 1, 5, 6}, {{2, 2}, {1, 1}, {0, 0, 0, 0}, {2, 2}}, 3},
      {"asym", {1, 1, 5, 4}, {{3, 2}, {2, 1}, {1, 0, 0, 1}, {1, 1}}, 3},
      {"bigpad", {1, 1, 3, 3}, {{2, 2}, {1, 1}, {2, 2, 2, 2}, {1, 1}}, 5},
      {"leftover", {1, 1, 7, 7}, {{2, 2}, {3, 3}, {0, 0, 0, 0}, {1, 1}}, 100},
      {"overlap", {1, 1, 4, 4}, {{3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}}, 100},
  };
  for (const auto &c : poolings) {
    addReduction(std::string("maxpool#") + c.variant, smallIntegersF32(c.inputShape, 150, c.tieModulus),
                 [options = c.options](const Params &p) { return maxPool2d(input(p), options); });
    addReduction(std::string("avgpool#") + c.variant, uniformF32(c.inputShape, 151),
                 [options = c.options](const Params &p) { return avgPool2d(input(p), options); });
  }
  addReduction("maxpool#neg", f32({-5, -3, -7, -9, -1, -2, -kInf, -kInf, -kInf}, {1, 1, 3, 3}),
               [](const Params &p) { return maxPool2d(input(p), {{2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}}); });
  addReduction("maxpool#nan", f32({1, kNaN, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}),
               [](const Params &p) { return maxPool2d(input(p), {{2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}}); });
  addReduction("maxpool#f64", uniformF64({1, 2, 4, 4}, 152), [](const Params &p) { return maxPool2d(input(p), {}); });
  addReduction("maxpool#batch0", emptyF32({0, 1, 4, 4}), [](const Params &p) { return maxPool2d(input(p)); });
  addReduction("avgpool#f64", uniformF64({1, 2, 4, 4}, 153),
               [](const Params &p) { return avgPool2d(input(p), {{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}}); });
  addReduction("gap#x", uniformF32({2, 3, 3, 5}, 154), [](const Params &p) { return globalAvgPool2d(input(p)); });
}

void addResizeCases() {
  addReduction("upsample#nearest", uniformF32({1, 2, 3, 2}, 155), [](const Params &p) { return upsample2d(input(p), 2); });
  addReduction("upsample#bilinear", uniformF32({1, 2, 3, 2}, 156),
               [](const Params &p) { return upsample2d(input(p), 3, ResizeMode::Linear); });
  addReduction("upsample#bilinear_ac", uniformF32({1, 2, 3, 2}, 157),
               [](const Params &p) { return upsample2d(input(p), 2, ResizeMode::Linear, true); });
  // Down in H and up in W by non-integer scales (half-pixel coordinates).
  addReduction("resize#linear_half", uniformF32({1, 1, 4, 5}, 260), [](const Params &p) {
    ResizeOptions options;
    options.mode = ResizeMode::Linear;
    return resize(input(p), {1, 1, 3, 7}, {1, 1, 0.75, 1.4}, options);
  });
}

//===--------------------------------------------------------------------===//
// Cases: recurrent layers
//===--------------------------------------------------------------------===//

// Recurrent results as one tensor: y [T·N, H] then h (and c) [N, H].
Tensor joinRecurrent(const RecurrentResult &result, bool withCell) {
  Shape yShape = result.y.shape();
  Tensor y = reshape(result.y, {yShape[0] * yShape[1], yShape[2]});
  return withCell ? concat({y, result.h, result.c}, 0) : concat({y, result.h}, 0);
}

// Inputs x [3, 2, 4], hidden size 5, gates G: weights scaled by 0.5 to stay
// out of the saturated range.
Params recurrentInputs(int gates, uint64_t seed, bool withBiases, bool withInitialState, bool withCell) {
  const int64_t hidden = 5;
  Params inputs{{"x", uniformF32({3, 2, 4}, seed)},
                {"w", uniformF32({gates * hidden, 4}, seed + 1, 0.5)},
                {"r", uniformF32({gates * hidden, hidden}, seed + 2, 0.5)}};
  if (withBiases) {
    inputs.add("wb", uniformF32({gates * hidden}, seed + 3));
    inputs.add("rb", uniformF32({gates * hidden}, seed + 4));
  }
  if (withInitialState) inputs.add("h0", uniformF32({2, hidden}, seed + 5));
  if (withCell) inputs.add("c0", uniformF32({2, hidden}, seed + 6));
  return inputs;
}

void addRecurrentCases() {
  addCase("lstm#pt", recurrentInputs(4, 210, true, true, true), {"x", "w", "r", "wb", "h0", "c0"},
          [](const Params &p) {
            return joinRecurrent(lstm(input(p), {p["w"], p["r"], p["wb"], p["rb"]}, p["h0"], p["c0"],
                                      GateOrder::PyTorch), true);
          });
  addCase("lstm#rev", recurrentInputs(4, 220, false, false, false), {"x", "w", "r"}, [](const Params &p) {
    return joinRecurrent(lstm(input(p), {p["w"], p["r"], Tensor(), Tensor()}, Tensor(), Tensor(),
                              GateOrder::PyTorch, /*reverse=*/true), true);
  });
  addCase("gru#pt", recurrentInputs(3, 230, true, true, false), {"x", "w", "r", "rb", "h0"}, [](const Params &p) {
    return joinRecurrent(gru(input(p), {p["w"], p["r"], p["wb"], p["rb"]}, p["h0"], GateOrder::PyTorch,
                             /*linearBeforeReset=*/true), false);
  });
  addCase("gru#onnx_default", recurrentInputs(3, 240, true, true, false), {"x", "r", "rb", "h0"},
          [](const Params &p) {
            return joinRecurrent(gru(input(p), {p["w"], p["r"], p["wb"], p["rb"]}, p["h0"], GateOrder::Onnx,
                                     /*linearBeforeReset=*/false), false);
          });
}

void defineCases() {
  addUnaryCases();
  addUnaryF64Cases();
  addArithmeticCases();
  addMaximumAndComparisonCases();
  addWhereCases();
  addSumCases();
  addMaxAndMeanCases();
  addArgmaxCases();
  addSliceAndLayoutCases();
  addConcatCases();
  addTakeCases();
  addSoftmaxCases();
  addLossCases();
  addNormalizationCases();
  addMatmulTransposeCases();
  addMatmulEdgeCases();
  addConvolutionCases();
  addPoolingCases();
  addResizeCases();
  addRecurrentCases();
  addLongReductionCases();
  addUnarySweepCases();
}

int usage(const char *program) {
  std::fprintf(stderr, "usage: %s [--list] [--only SUBSTRING] [--no-fork]\n", program);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  bool list = false, isolate = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--list") list = true;
    else if (argument == "--no-fork") isolate = false;
    else if (argument == "--only" && i + 1 < argc) only = argv[++i];
    else return usage(argv[0]);
  }
  defineCases();
  int crashes = 0;
  for (const auto &testCase : caseList()) {
    if (!only.empty() && testCase.name.find(only) == std::string::npos) continue;
    if (list) {
      std::printf("%s\n", testCase.name.c_str());
      continue;
    }
    std::printf("BEGIN %s\n", testCase.name.c_str());
    if (isolate) crashes += !runCaseIsolated(testCase);
    else runCaseBody(testCase);
    std::printf("END %s\n", testCase.name.c_str());
    std::fflush(stdout);
  }
  if (crashes) std::fprintf(stderr, "harness: %d case(s) crashed (see CRASH lines)\n", crashes);
  return 0;
}
