//===- Profile.h - Where the time of a step goes ----------------*- C++ -*-===//
//
// With BREGMAN_PROFILE=1, the runtime and the jit add up wall time per
// category (GEMM library calls, compiled calls, the jit's host-side dispatch)
// so that `bregman train` can print where a step's time goes. Off by
// default: then only a flag is read per call.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_PROFILE_H
#define BREGMAN_RUNTIME_PROFILE_H

#include <atomic>
#include <chrono>
#include <cstdint>

namespace bregman::runtime {

struct ProfileCounters {
  std::atomic<int64_t> gemmNs{0}, gemmCalls{0};
  std::atomic<int64_t> convNs{0}, convCalls{0}; // oneDNN, reorders included
  std::atomic<int64_t> compiledCallNs{0}, compiledCalls{0};
  std::atomic<int64_t> dispatchNs{0}; // jit calls minus their compiled part
  void reset();
};

/// Whether BREGMAN_PROFILE=1 (read once) or enableProfiling() was called.
bool profilingEnabled();
/// Turns profiling on for the rest of the process (`--profile`).
void enableProfiling();
ProfileCounters &profileCounters();

/// Adds the scope's wall time to `counter` when profiling.
class ProfileScope {
public:
  explicit ProfileScope(std::atomic<int64_t> &counter)
      : counter(profilingEnabled() ? &counter : nullptr) {
    if (this->counter)
      start = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (counter)
      *counter += std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  }

private:
  std::atomic<int64_t> *counter;
  std::chrono::steady_clock::time_point start;
};

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_PROFILE_H
