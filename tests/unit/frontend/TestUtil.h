//===- TestUtil.h - Helpers shared by the frontend tests --------*- C++ -*-===//

#ifndef BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H
#define BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H

#include "bregman/Error.h"

#include <functional>
#include <gtest/gtest.h>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace bregman::testing {

/// n values uniform in [lo, hi) from `rng`.
inline std::vector<float> randomFloats(std::mt19937 &rng, int64_t n,
                                       float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// Runs `f`, expecting a bregman::Error whose message contains every `part`.
inline void expectError(const std::function<void()> &f,
                        std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error &e) {
    std::string msg = e.what();
    for (const std::string &part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "message '" << msg << "' lacks '" << part << "'";
    return;
  }
  ADD_FAILURE() << "no bregman::Error thrown";
}

} // namespace bregman::testing

#endif // BREGMAN_TESTS_UNIT_FRONTEND_TESTUTIL_H
