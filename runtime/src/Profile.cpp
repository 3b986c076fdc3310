//===- Profile.cpp - Where the time of a step goes ------------------------===//

#include "bregman/runtime/Profile.h"
#include "bregman/runtime/Environment.h"

#include <cstdlib>
#include <cstring>

namespace bregman::runtime {

namespace {
std::atomic<bool> &profilingFlag() {
  static std::atomic<bool> enabled = [] {
    return switchSetting("BREGMAN_PROFILE", false);
  }();
  return enabled;
}
} // namespace

bool profilingEnabled() { return profilingFlag().load(std::memory_order_relaxed); }

void enableProfiling() { profilingFlag() = true; }

ProfileCounters &profileCounters() {
  static ProfileCounters counters;
  return counters;
}

void ProfileCounters::reset() {
  gemmNs = 0;
  gemmCalls = 0;
  convNs = 0;
  convCalls = 0;
  compiledCallNs = 0;
  compiledCalls = 0;
  dispatchNs = 0;
}

} // namespace bregman::runtime
