//===- CudaContext.h - State shared by the CUDA parts of the runtime ------===//
//
// One primary context (device 0), one stream on which every kernel, copy and
// GEMM of the process is issued in order, a cache of device blocks, and the
// first recorded failure. Internal to runtime/src/cuda.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H
#define BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H

#include "bregman/runtime/CudaDriver.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace bregman::runtime::cuda {

/// Records `message` as the first failure (if none is pending) and prints it.
void recordError(const std::string &message);
/// Records a failed driver call; returns whether it succeeded.
bool check(const char *call, CUresult result);
/// The first failure recorded since the last call ("" if none).
std::string takeError();

/// Launches issued by host code so far (not counting graph replays, whose
/// host code does not run): kernels (mgpuLaunchKernel) and cuBLAS/cuDNN
/// calls (LibraryHandle::ready).
struct LaunchCounts {
  long kernels = 0, libraryCalls = 0;
};
LaunchCounts launchCounts();
void countKernelLaunch();
void countLibraryCall();

/// Whether a failure is recorded and not yet taken: launches, copies and
/// library calls are skipped then (they would run on null pointers or
/// after a failed step), and the first failure is what the caller sees.
bool errorPending();

/// Makes device 0's primary context current on this thread (once; it stays
/// current); `ok` is false (and the reason recorded) when there is no driver
/// or device.
class ScopedContext {
public:
  ScopedContext();
  ~ScopedContext();
  const Driver *d = nullptr;
  bool ok = false;
};

/// The stream all work goes on (created on first use, inside a context;
/// non-blocking, so the legacy default stream never waits for it).
CUstream stream();
/// The stream downloads go on when they wait for an event rather than for
/// all work (Buffer reads of a step's results).
CUstream copyStream();

/// Opens one of `names` with dlopen (only the library $`envVar` names, if
/// set); null with "<what> not found (dlopen a, b): <advice> or name it in
/// <envVar>" in `*failure` when none loads. For cuBLAS and cuDNN.
void *openLibrary(const std::string &what,
                  const std::vector<std::string> &names, const char *envVar,
                  const std::string &advice, std::string *failure);

/// dlsym(lib, symbol); null with "<what> lacks <symbol>" in `*failure` when
/// it is missing and no earlier failure is there.
void *findSymbol(void *lib, const char *what, const char *symbol,
                 std::string *failure);
/// "<call> failed: <text>", or "<what> status N" where the library gave no
/// text for `status`.
std::string describeStatus(const char *what, const char *call, int status,
                           const char *text);

/// What cuBLAS and cuDNN share (int statuses, 0 for success; every call goes
/// through one handle): the library opened with dlopen, its entry points
/// resolved, the handle made in the runtime's context and bound to its
/// stream, and failures told in the library's own words. One per process,
/// made on first use.
template <typename Handle> struct LibraryHandle {
  const char *what = ""; // "cuBLAS", in messages
  void *lib = nullptr;
  int (*create)(Handle *) = nullptr;
  int (*setStream)(Handle, CUstream) = nullptr;
  const char *(*statusString)(int) = nullptr;
  Handle handle = nullptr;
  std::string failure; // why the library is unusable, when it is

  /// Opens the library (see openLibrary) and resolves the entry points
  /// above, by their symbols `create`, `setStream`, `statusString`; false
  /// when it is not there (the failure set).
  bool open(const std::vector<std::string> &names, const char *envVar,
            const std::string &advice,
            const std::array<const char *, 3> &symbols) {
    lib = openLibrary(what, names, envVar, advice, &failure);
    if (!lib)
      return false;
    resolve(create, symbols[0]);
    resolve(setStream, symbols[1]);
    resolve(statusString, symbols[2]);
    return true;
  }
  /// Resolves `symbol` into `fn`; the first one missing is the failure.
  template <typename Fn> void resolve(Fn &fn, const char *symbol) {
    fn = reinterpret_cast<Fn>(findSymbol(lib, what, symbol, &failure));
  }
  std::string describe(const char *call, int status) const {
    return describeStatus(what, call, status,
                          statusString ? statusString(status) : nullptr);
  }
  /// Once every entry point is resolved: makes the handle (it needs the
  /// context) and binds it to stream(); `createCall` and `setStreamCall`
  /// name those calls in failures.
  void createHandle(const char *createCall, const char *setStreamCall) {
    if (!failure.empty())
      return;
    ScopedContext scope;
    if (!scope.ok) {
      failure = std::string(what) + " needs a CUDA context";
      return;
    }
    if (int st = create(&handle); st != 0)
      failure = describe(createCall, st);
    else if (st = setStream(handle, stream()); st != 0)
      failure = describe(setStreamCall, st);
  }
  /// Before each call: false, with the reason recorded, when the library is
  /// unusable or the context cannot be made current on this thread.
  bool ready() const {
    if (errorPending())
      return false; // a failure is pending: see errorPending()
    if (!failure.empty()) {
      recordError(failure);
      return false;
    }
    if (!ScopedContext().ok)
      return false;
    countLibraryCall();
    return true;
  }
};

/// Device memory from a cache of freed blocks: the smallest cached block
/// that fits and wastes at most a quarter of itself is reused (in stream
/// order, so no synchronisation is needed to recycle one). When cuMemAlloc
/// runs out of memory, the streams are synchronized, the cache is trimmed
/// and the allocation retried once; then 0 is returned and "out of GPU
/// memory: allocating N bytes ..." recorded.
CUdeviceptr allocateBlock(size_t bytes);
void releaseBlock(CUdeviceptr ptr);
/// Frees every cached block (none may be in use by queued work: callers
/// synchronize first); returns the bytes given back.
size_t trimBlockCache();

/// Counts module unloads: a graph made before one may launch kernels of an
/// unloaded module, and a new step may sit at a dead one's address.
uint64_t modulesUnloaded();
void noteModuleUnloaded();

/// While `reserve` is set (a step being captured as a graph), blocks the
/// step frees go to `*reserve` instead of the cache: the graph's replays
/// use them again, so nothing else may get them. Null ends it.
void reserveFreedBlocks(std::vector<CUdeviceptr> *reserve);
/// Gives reserved blocks back to the cache (the graph is gone; the work
/// that used them is queued before any new user's, on the same stream).
void returnReservedBlocks(std::vector<CUdeviceptr> &reserved);

/// Calls of compiled steps, replayed as CUDA graphs: the first call with a
/// signature (the step and its argument addresses) runs plainly (warm-up:
/// modules, library handles, workspaces, the block cache); the second is
/// captured on stream() and launched as a graph, and later ones replay it.
/// Capture failures fall back to plain calls (the reason printed once).
/// Calls are serialized; work another thread queues on stream() while a
/// step is captured would be captured with it (or invalidate the capture,
/// which then falls back): steps and uploads come from one thread.
/// BREGMAN_CUDA_GRAPHS=0 turns replay off. At most kMaxGraphs are kept
/// (least recently used evicted); all are dropped when a module is unloaded.
class StepGraphs {
public:
  static constexpr size_t kMaxGraphs = 8;
  void submit(const std::vector<const void *> &signature,
              const std::function<void()> &run);
  /// "launches per step: 48 kernels + 11 library calls (replayed as one
  /// CUDA graph)", of the last call.
  std::string profile() const;

private:
  struct Recorded {
    CUgraphExec exec = nullptr;
    std::vector<CUdeviceptr> reserved;
    LaunchCounts counts;
    long calls = 0;
    uint64_t lastUse = 0;
    bool failed = false;
  };
  void runPlainly(const std::function<void()> &run);
  void capture(Recorded &r, const std::function<void()> &run);
  void giveUp(Recorded &r, const std::string &why);
  void evict();
  void drop(std::map<std::vector<const void *>, Recorded>::iterator it);
  std::map<std::vector<const void *>, Recorded> graphs;
  mutable std::mutex mutex;
  uint64_t clock = 0, unloadsSeen = 0;
  LaunchCounts last;
  bool lastReplayed = false, toldWhy = false;
};

} // namespace bregman::runtime::cuda

#endif // BREGMAN_RUNTIME_CUDA_CUDACONTEXT_H
