//===- GoldenTest.cpp - Compiled optimizer primitives against JAX goldens -===//
//
// An independent cross-check of the compiled breg primitives (linbregUpdate,
// adabregUpdate, proxsgdUpdate, sgdUpdate, adamUpdate, prox,
// subgradientInit) against float64 results computed with JAX from the
// formulas of ALGORITHMS.md §2–3 (scripts/golden/make_goldens.py, run by
// scripts/golden/make-goldens.sh). The goldens live in
// tests/unit/frontend/golden/optimizers.json: per case the float32 inputs,
// the hyper-parameters (float32 values) and the expected state after each of
// 5 steps. Here every step runs compiled (f32, hyper-parameters as
// Tensor::scalar), feeding its own outputs into the next step, and is compared
// with |got − expected| ≤ 1e-5·|expected| + 1e-6; where the golden is exactly
// 0 the result must be exactly 0 (the generator keeps every prox input at
// least 1e-3 relative away from its threshold, so f32 and f64 agree on the
// zero pattern).
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifndef BREGMAN_GOLDEN_DIR
#error "BREGMAN_GOLDEN_DIR must name the folder of optimizers.json"
#endif

using namespace bregman;
using json = nlohmann::json;

namespace {

constexpr double kRel = 1e-5;
constexpr double kAbs = 1e-6;

const std::string &goldenPath() {
  static const std::string path = std::string(BREGMAN_GOLDEN_DIR) +
                                  "/optimizers.json";
  return path;
}

struct Golden {
  json doc;
  std::string error; // non-empty when the file could not be used
};

/// The parsed goldens, loaded once; prints the generator once.
const Golden &golden() {
  static const Golden g = [] {
    Golden g;
    std::ifstream in(goldenPath());
    if (!in) {
      g.error = "golden file " + goldenPath() +
                " is missing; regenerate it with scripts/golden/make-goldens.sh";
      return g;
    }
    try {
      g.doc = json::parse(in);
    } catch (const std::exception &e) {
      g.error = "golden file " + goldenPath() + " is not valid JSON: " + e.what();
      return g;
    }
    if (!g.doc.contains("cases") || !g.doc["cases"].is_array() ||
        g.doc["cases"].empty()) {
      g.error = "golden file " + goldenPath() + " has no \"cases\"";
      return g;
    }
    std::cout << "[golden] " << goldenPath() << ": "
              << g.doc["cases"].size() << " cases, generator: "
              << g.doc.value("generator", std::string("(unknown)")) << "\n";
    return g;
  }();
  return g;
}

/// The cases whose "kind" is `kind` and (for chains) whose "optimizer" is
/// `optimizer`; fails the test if the goldens are unusable or none match.
std::vector<const json *> casesOf(const std::string &kind,
                                  const std::string &optimizer = "") {
  std::vector<const json *> out;
  const Golden &g = golden();
  if (!g.error.empty()) {
    ADD_FAILURE() << g.error;
    return out;
  }
  for (const json &c : g.doc["cases"])
    if (c.at("kind") == kind &&
        (optimizer.empty() || c.value("optimizer", "") == optimizer))
      out.push_back(&c);
  EXPECT_FALSE(out.empty()) << "no golden cases of kind '" << kind << "'"
                            << (optimizer.empty() ? "" : " for " + optimizer);
  return out;
}

Shape shapeOf(const json &c) { return c.at("shape").get<Shape>(); }

std::vector<float> floats(const json &a) {
  std::vector<float> out;
  out.reserve(a.size());
  for (const json &x : a)
    out.push_back(static_cast<float>(x.get<double>()));
  return out;
}

Tensor tensor(const json &a, const Shape &shape) {
  std::vector<float> v = floats(a);
  if (static_cast<int64_t>(v.size()) != numElements(shape))
    throw Error("golden: " + std::to_string(v.size()) +
                " values for shape " + shapeString(shape));
  return Tensor::fromVector(v, shape);
}

Tensor hyper(const json &c, const char *name) {
  const json &h = c.at("hyper");
  if (!h.contains(name))
    throw Error(std::string("golden case ") + c.at("name").get<std::string>() +
                " lacks hyper-parameter " + name);
  return Tensor::scalar(static_cast<float>(h.at(name).get<double>()));
}

/// f32 result against the f64 golden: rel 1e-5 + abs 1e-6, exact zeros.
::testing::AssertionResult matches(const Tensor &got, const json &expected,
                                   const Shape &shape) {
  if (got.shape() != shape)
    return ::testing::AssertionFailure()
           << "shape " << shapeString(got.shape()) << ", expected "
           << shapeString(shape);
  std::vector<float> a = got.toVector<float>();
  if (a.size() != expected.size())
    return ::testing::AssertionFailure()
           << a.size() << " values, golden has " << expected.size();
  int bad = 0;
  double worst = 0;
  std::ostringstream first;
  for (size_t i = 0; i < a.size(); ++i) {
    double e = expected[i].get<double>();
    double err = std::abs(double(a[i]) - e);
    bool ok = e == 0.0 ? a[i] == 0.0f : err <= kRel * std::abs(e) + kAbs;
    worst = std::max(worst, err / (kRel * std::abs(e) + kAbs));
    if (!ok && bad++ == 0)
      first << "element " << i << ": got " << std::setprecision(9) << a[i]
            << ", expected " << std::setprecision(17) << e
            << (e == 0.0 ? " (exactly 0)" : "");
  }
  if (bad)
    return ::testing::AssertionFailure()
           << bad << " of " << a.size() << " elements differ; first "
           << first.str() << " (worst error " << worst << "× tolerance)";
  return ::testing::AssertionSuccess();
}

/// Runs one chain case: `step` maps (state, grad, hypers) to the new state
/// (a Params with the same entries as the golden's "expected" steps).
template <typename StepFn>
void runChain(const json &c, StepFn &step, bool counted) {
  const std::string name = c.at("name");
  SCOPED_TRACE("golden case " + name);
  const Shape shape = shapeOf(c);
  Params state;
  for (const auto &[k, v] : c.at("init").items())
    state.add(k, tensor(v, shape));
  if (counted) {
    if (!state.contains("m1"))
      state.add("m1", Tensor::zeros(shape));
    if (!state.contains("m2"))
      state.add("m2", Tensor::zeros(shape));
  }
  const json &grads = c.at("grads");
  const json &expected = c.at("expected");
  ASSERT_EQ(grads.size(), expected.size());
  ASSERT_FALSE(grads.empty());
  for (size_t s = 0; s < grads.size(); ++s) {
    SCOPED_TRACE("step " + std::to_string(s + 1));
    Tensor g = tensor(grads[s], shape);
    Tensor t = Tensor::scalar(static_cast<float>(s + 1)); // incremented count
    Params next = step(state, g, t);
    const json &exp = expected[s];
    ASSERT_TRUE(exp.contains("theta"));
    for (const auto &[k, v] : exp.items()) {
      ASSERT_TRUE(next.contains(k)) << "the compiled step returns no " << k;
      EXPECT_TRUE(matches(next.at(k), v, shape)) << k << " after step " << s + 1;
    }
    // Feed the compiled outputs into the next step.
    for (const auto &[k, v] : next)
      state.set(k, v);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

Regularizer regOf(const json &c) {
  return parseRegularizer(c.at("regularizer").get<std::string>());
}

//===----------------------------------------------------------------------===//
// The goldens themselves
//===----------------------------------------------------------------------===//

TEST(Golden, FileLoadsAndCoversEveryUpdate) {
  const Golden &g = golden();
  ASSERT_TRUE(g.error.empty()) << g.error;
  EXPECT_NE(g.doc.value("generator", std::string()).find("jax"),
            std::string::npos)
      << "the goldens should come from JAX";
  std::set<std::string> seen;
  for (const json &c : g.doc["cases"]) {
    std::string kind = c.at("kind");
    std::string what = kind == "chain" ? c.at("optimizer").get<std::string>()
                                       : kind;
    seen.insert(what + "/" + c.at("regularizer").get<std::string>());
  }
  for (const char *need :
       {"linbreg/none", "linbreg/l1", "linbreg/l1_pos", "linbreg/l1_l2",
        "adabreg/none", "adabreg/l1", "adabreg/l1_l2", "proxsgd/l1",
        "proxsgd/l1_pos", "proxsgd/l1_l2", "proxsgd/l1_l2_conv", "sgd/none",
        "adam/none", "prox/none", "prox/l1", "prox/l1_pos", "prox/l1_l2",
        "prox/l1_l2_conv", "subgradient_init/none", "subgradient_init/l1",
        "subgradient_init/l1_pos", "subgradient_init/l1_l2",
        "subgradient_init/l1_l2_conv"})
    EXPECT_TRUE(seen.count(need)) << "no golden case for " << need;
}

//===----------------------------------------------------------------------===//
// Optimizer chains (5 steps each)
//===----------------------------------------------------------------------===//

TEST(Golden, LinBreg) {
  for (const json *cp : casesOf("chain", "linbreg")) {
    const json &c = *cp;
    Regularizer reg = regOf(c);
    bool mom = c.at("hyper").contains("beta");
    auto f = jit([reg, mom](const Params &st, const Tensor &g,
                            const Params &h) {
      Params out;
      std::vector<Tensor> r =
          mom ? linbregUpdate(reg, st["theta"], st["v"], g, h["lr"],
                              h["delta"], h["lambda"], st["m"], h["beta"])
              : linbregUpdate(reg, st["theta"], st["v"], g, h["lr"],
                              h["delta"], h["lambda"]);
      out.add("theta", r.at(0));
      out.add("v", r.at(1));
      if (mom)
        out.add("m", r.at(2));
      return out;
    });
    Params h{{"lr", hyper(c, "lr")},
             {"delta", hyper(c, "delta")},
             {"lambda", hyper(c, "lambda")}};
    if (mom)
      h.add("beta", hyper(c, "beta"));
    auto step = [&](const Params &st, const Tensor &g, const Tensor &) {
      return f(st, g, h);
    };
    runChain(c, step, false);
  }
}

TEST(Golden, AdaBreg) {
  for (const json *cp : casesOf("chain", "adabreg")) {
    const json &c = *cp;
    Regularizer reg = regOf(c);
    auto f = jit([reg](const Params &st, const Tensor &g, const Params &h,
                       const Tensor &t) {
      std::vector<Tensor> r = adabregUpdate(
          reg, st["theta"], st["v"], g, st["m1"], st["m2"], h["lr"],
          h["delta"], h["lambda"], h["beta1"], h["beta2"], h["eps"], t);
      Params out;
      out.add("theta", r.at(0));
      out.add("v", r.at(1));
      out.add("m1", r.at(2));
      out.add("m2", r.at(3));
      return out;
    });
    Params h;
    for (const char *k : {"lr", "delta", "lambda", "beta1", "beta2", "eps"})
      h.add(k, hyper(c, k));
    auto step = [&](const Params &st, const Tensor &g, const Tensor &t) {
      return f(st, g, h, t);
    };
    runChain(c, step, true);
  }
}

TEST(Golden, ProxSGD) {
  for (const json *cp : casesOf("chain", "proxsgd")) {
    const json &c = *cp;
    Regularizer reg = regOf(c);
    auto f = jit([reg](const Params &st, const Tensor &g, const Params &h) {
      Params out;
      out.add("theta",
              proxsgdUpdate(reg, st["theta"], g, h["lr"], h["lambda"]));
      return out;
    });
    Params h{{"lr", hyper(c, "lr")}, {"lambda", hyper(c, "lambda")}};
    auto step = [&](const Params &st, const Tensor &g, const Tensor &) {
      return f(st, g, h);
    };
    runChain(c, step, false);
  }
}

TEST(Golden, SGD) {
  for (const json *cp : casesOf("chain", "sgd")) {
    const json &c = *cp;
    bool mom = c.at("hyper").contains("beta");
    auto f = jit([mom](const Params &st, const Tensor &g, const Params &h) {
      std::vector<Tensor> r =
          mom ? sgdUpdate(st["theta"], g, h["lr"], st["m"], h["beta"])
              : sgdUpdate(st["theta"], g, h["lr"]);
      Params out;
      out.add("theta", r.at(0));
      if (mom)
        out.add("m", r.at(1));
      return out;
    });
    Params h{{"lr", hyper(c, "lr")}};
    if (mom)
      h.add("beta", hyper(c, "beta"));
    auto step = [&](const Params &st, const Tensor &g, const Tensor &) {
      return f(st, g, h);
    };
    runChain(c, step, false);
  }
}

TEST(Golden, Adam) {
  for (const json *cp : casesOf("chain", "adam")) {
    const json &c = *cp;
    auto f = jit([](const Params &st, const Tensor &g, const Params &h,
                    const Tensor &t) {
      std::vector<Tensor> r =
          adamUpdate(st["theta"], g, st["m1"], st["m2"], h["lr"], h["beta1"],
                     h["beta2"], h["eps"], t);
      Params out;
      out.add("theta", r.at(0));
      out.add("m1", r.at(1));
      out.add("m2", r.at(2));
      return out;
    });
    Params h;
    for (const char *k : {"lr", "beta1", "beta2", "eps"})
      h.add(k, hyper(c, k));
    auto step = [&](const Params &st, const Tensor &g, const Tensor &t) {
      return f(st, g, h, t);
    };
    runChain(c, step, true);
  }
}

//===----------------------------------------------------------------------===//
// prox and subgradient_init (single evaluations)
//===----------------------------------------------------------------------===//

TEST(Golden, Prox) {
  for (const json *cp : casesOf("prox")) {
    const json &c = *cp;
    SCOPED_TRACE("golden case " + c.at("name").get<std::string>());
    Regularizer reg = regOf(c);
    auto f = jit([reg](const Tensor &x, const Tensor &s, const Tensor &l) {
      return prox(reg, x, s, l);
    });
    Shape shape = shapeOf(c);
    Tensor y = f(tensor(c.at("x"), shape), hyper(c, "scale"),
                 hyper(c, "lambda"));
    EXPECT_TRUE(matches(y, c.at("expected"), shape));
  }
}

TEST(Golden, SubgradientInit) {
  for (const json *cp : casesOf("subgradient_init")) {
    const json &c = *cp;
    SCOPED_TRACE("golden case " + c.at("name").get<std::string>());
    Regularizer reg = regOf(c);
    auto f = jit([reg](const Tensor &theta, const Tensor &d, const Tensor &l) {
      return subgradientInit(reg, theta, d, l);
    });
    Shape shape = shapeOf(c);
    Tensor v = f(tensor(c.at("theta"), shape), hyper(c, "delta"),
                 hyper(c, "lambda"));
    EXPECT_TRUE(matches(v, c.at("expected"), shape));
  }
}

} // namespace
