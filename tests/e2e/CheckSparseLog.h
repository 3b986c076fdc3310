//===- CheckSparseLog.h - what a --check-sparse run must have printed -----===//
//
// A training run with --check-sparse compares every step on CSR with the
// dense step from the same state and sums it up in one line of its log;
// the layers that ran on CSR are named in its "sparse execution" lines.
//
//===----------------------------------------------------------------------===//

#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace bregman::e2e {

/// Expects `log` to report `steps` training steps on CSR equal to the dense
/// ones, and to name each of `onCsr` (weights that must have run on CSR).
inline void expectCheckSparsePassed(const std::string &log, int steps,
                                    std::initializer_list<const char *> onCsr = {}) {
  EXPECT_NE(log.find("--check-sparse: " + std::to_string(steps) +
                     " training steps on CSR equal the dense steps from the "
                     "same states"),
            std::string::npos)
      << log;
  for (const char *weight : onCsr)
    EXPECT_NE(log.find(weight), std::string::npos) << weight << " not on CSR:\n" << log;
}

} // namespace bregman::e2e
