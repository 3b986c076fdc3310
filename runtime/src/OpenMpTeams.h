//===- OpenMpTeams.h - oneDNN's teams as planned -----------------*- C++ -*-===//
//
// oneDNN plans a primitive's work for omp_get_max_threads() threads and runs
// it in a `parallel` region that only asserts it got that many: where the
// OpenMP runtime gives a smaller team, the missing threads' share is
// computed by no one. That happens with dynamic teams under load
// (OMP_DYNAMIC=true: with one other busy process a training step's loss
// became NaN, a 200×784×128 matmul left parts of C unwritten), and whenever
// a limit caps the team below the thread count (OMP_THREAD_LIMIT=1,
// OMP_MAX_ACTIVE_LEVELS=0, libomp's KMP_DEVICE_THREAD_LIMIT=1: the step's
// loss NaN on an idle machine, the ConvNet step hung in a convolution's
// barrier waiting for a thread that never came). So each
// oneDNN call runs with dynamic teams off and the thread count lowered to
// the team the runtime will give; the caller's settings are restored after.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_OPENMPTEAMS_H
#define BREGMAN_RUNTIME_OPENMPTEAMS_H

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace bregman::runtime {

/// For its lifetime, the calling thread's OpenMP settings make teams of
/// exactly threads() threads. The OpenMP functions are looked up, not
/// linked: the runtime in the process is LLVM's libomp or, without it, the
/// libgomp oneDNN brings (none: threads() is 1 and nothing is changed).
class WholeOpenMpTeams {
public:
  WholeOpenMpTeams() {
    const Api &api = openMp();
    if (!api.complete())
      return;
    if (api.getDynamic()) {
      api.setDynamic(0);
      restoreDynamic = true;
    }
    int requested = api.getMaxThreads();
    team = std::max(
        1, std::min({requested, api.getThreadLimit(), libompThreadCap()}));
    // Inside an active parallel region oneDNN runs every primitive on one
    // thread (it checks omp_in_parallel), nested parallelism allowed or
    // not; with no active level allowed at all, every region has one.
    if (api.getActiveLevel() > 0 || api.getMaxActiveLevels() == 0)
      team = 1;
    if (team < requested) {
      api.setNumThreads(team);
      restoreThreads = requested;
    }
  }
  ~WholeOpenMpTeams() {
    if (restoreThreads > 0)
      openMp().setNumThreads(restoreThreads);
    if (restoreDynamic)
      openMp().setDynamic(1);
  }
  WholeOpenMpTeams(const WholeOpenMpTeams &) = delete;
  WholeOpenMpTeams &operator=(const WholeOpenMpTeams &) = delete;

  /// The team oneDNN plans for and gets: part of its primitives' cache keys.
  int threads() const { return team; }

private:
  struct Api {
    int (*getDynamic)() = nullptr;
    void (*setDynamic)(int) = nullptr;
    int (*getMaxThreads)() = nullptr;
    void (*setNumThreads)(int) = nullptr;
    int (*getThreadLimit)() = nullptr;
    int (*getMaxActiveLevels)() = nullptr;
    int (*getActiveLevel)() = nullptr;
    bool complete() const {
      return getDynamic && setDynamic && getMaxThreads && setNumThreads &&
             getThreadLimit && getMaxActiveLevels && getActiveLevel;
    }
  };
  /// libomp's own cap on the threads of the process, which the OpenMP API
  /// does not report (KMP_DEVICE_THREAD_LIMIT, formerly KMP_ALL_THREADS).
  /// It counts the threads of every concurrent team, so oneDNN calls made
  /// from several threads at once may still get fewer than planned there.
  static int libompThreadCap() {
    static const int cap = [] {
      for (const char *name : {"KMP_DEVICE_THREAD_LIMIT", "KMP_ALL_THREADS"})
        if (const char *value = std::getenv(name)) {
          long parsed = std::strtol(value, nullptr, 10);
          if (parsed >= 1)
            return static_cast<int>(std::min<long>(parsed, INT_MAX));
        }
      return INT_MAX;
    }();
    return cap;
  }
  template <typename F> static F lookup(const char *name) {
    return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
  }
  static const Api &openMp() {
    static const Api api{lookup<int (*)()>("omp_get_dynamic"),
                         lookup<void (*)(int)>("omp_set_dynamic"),
                         lookup<int (*)()>("omp_get_max_threads"),
                         lookup<void (*)(int)>("omp_set_num_threads"),
                         lookup<int (*)()>("omp_get_thread_limit"),
                         lookup<int (*)()>("omp_get_max_active_levels"),
                         lookup<int (*)()>("omp_get_active_level")};
    return api;
  }
  bool restoreDynamic = false;
  int restoreThreads = 0;
  int team = 1;
};

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_OPENMPTEAMS_H
