//===- OpenMpTeams.h - Whole OpenMP teams around oneDNN calls --*- C++ -*-===//
//
// oneDNN plans a primitive's work for a number of threads and runs it in a
// `parallel` region that only asserts it got that many: where the OpenMP
// runtime may shrink a team (OMP_DYNAMIC=true, under load), the missing
// threads' share is computed by no one. Measured: a training step's loss
// became NaN with one other busy process; a 200×784×128 matmul left parts of
// C unwritten (tests/unit/runtime/CpuGemmTest.cpp). So dynamic teams are
// off for the calling thread during each oneDNN call, and the caller's
// setting is restored afterwards.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_OPENMPTEAMS_H
#define BREGMAN_RUNTIME_OPENMPTEAMS_H

#include <dlfcn.h>

namespace bregman::runtime {

/// Turns the calling thread's dynamic teams off for its lifetime if they
/// were on. The OpenMP functions are looked up, not linked: the runtime in
/// the process is LLVM's libomp or, without it, the libgomp oneDNN brings.
class WholeOpenMpTeams {
public:
  WholeOpenMpTeams() {
    const Api &api = openMp();
    if (api.get && api.set && api.get()) {
      api.set(0);
      restore = true;
    }
  }
  ~WholeOpenMpTeams() {
    if (restore)
      openMp().set(1);
  }
  WholeOpenMpTeams(const WholeOpenMpTeams &) = delete;
  WholeOpenMpTeams &operator=(const WholeOpenMpTeams &) = delete;

private:
  struct Api {
    int (*get)() = nullptr;
    void (*set)(int) = nullptr;
  };
  static const Api &openMp() {
    static const Api api{
        reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_dynamic")),
        reinterpret_cast<void (*)(int)>(
            dlsym(RTLD_DEFAULT, "omp_set_dynamic"))};
    return api;
  }
  bool restore = false;
};

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_OPENMPTEAMS_H
