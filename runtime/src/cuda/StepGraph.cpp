//===- StepGraph.cpp - Compiled steps replayed as CUDA graphs -------------===//
//
// A training step's launches and library calls have static shapes, and its
// host code only queues work on stream() (it never reads device memory), so
// once its arguments sit at the same device addresses, the queued work is
// the same every call: it is captured once and replayed with one
// cuGraphLaunch instead of ~60 launches through the host code.
//
//===----------------------------------------------------------------------===//

#include "CudaContext.h"
#include "bregman/runtime/Environment.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bregman::runtime::cuda {

namespace {
bool graphsEnabled() { return switchSetting("BREGMAN_CUDA_GRAPHS", true); }
// CU_STREAM_CAPTURE_MODE_RELAXED: the block cache may call cuMemAlloc while
// a step is captured (global mode forbids it on every thread).
constexpr int kCaptureRelaxed = 2;
} // namespace

void StepGraphs::runPlainly(const std::function<void()> &run) {
  LaunchCounts before = launchCounts();
  run();
  LaunchCounts after = launchCounts();
  last = {after.kernels - before.kernels,
          after.libraryCalls - before.libraryCalls};
  lastReplayed = false;
}

void StepGraphs::giveUp(Recorded &r, const std::string &why) {
  r.failed = true;
  returnReservedBlocks(r.reserved);
  if (!toldWhy)
    std::fprintf(stderr,
                 "bregman: CUDA graph replay is off for this step (%s); its "
                 "kernels are launched one by one\n",
                 why.c_str());
  toldWhy = true;
}

void StepGraphs::capture(Recorded &r, const std::function<void()> &run) {
  ScopedContext s;
  if (!s.ok)
    return runPlainly(run); // which fails the same way, and says so
  CUresult begun = s.d->cuStreamBeginCapture_v2(stream(), kCaptureRelaxed);
  if (begun != CUDA_SUCCESS) {
    giveUp(r, describe("cuStreamBeginCapture", begun));
    return runPlainly(run);
  }
  reserveFreedBlocks(&r.reserved);
  LaunchCounts before = launchCounts();
  run();
  LaunchCounts after = launchCounts();
  reserveFreedBlocks(nullptr);
  CUgraph graph = nullptr;
  CUresult ended = s.d->cuStreamEndCapture(stream(), &graph);
  // What failed while capturing (nothing of it ran): the plain call again
  // reports what is real.
  std::string during = takeError();
  if (ended != CUDA_SUCCESS || !during.empty() || !graph) {
    if (graph)
      s.d->cuGraphDestroy(graph);
    giveUp(r, !during.empty() ? during : describe("cuStreamEndCapture", ended));
    return runPlainly(run);
  }
  CUresult made = s.d->cuGraphInstantiateWithFlags(&r.exec, graph, 0);
  s.d->cuGraphDestroy(graph);
  if (made != CUDA_SUCCESS) {
    r.exec = nullptr;
    giveUp(r, describe("cuGraphInstantiate", made));
    return runPlainly(run);
  }
  r.counts = {after.kernels - before.kernels,
              after.libraryCalls - before.libraryCalls};
  last = r.counts;
  lastReplayed = true;
  check("cuGraphLaunch", s.d->cuGraphLaunch(r.exec, stream()));
}

void StepGraphs::drop(
    std::map<std::vector<const void *>, Recorded>::iterator it) {
  ScopedContext s;
  if (s.ok && it->second.exec)
    check("cuGraphExecDestroy", s.d->cuGraphExecDestroy(it->second.exec));
  returnReservedBlocks(it->second.reserved);
  graphs.erase(it);
}

void StepGraphs::evict() {
  while (graphs.size() > kMaxGraphs) {
    auto oldest = graphs.begin();
    for (auto it = graphs.begin(); it != graphs.end(); ++it)
      if (it->second.lastUse < oldest->second.lastUse)
        oldest = it;
    drop(oldest);
  }
}

void StepGraphs::submit(const std::vector<const void *> &signature,
                        const std::function<void()> &run) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!graphsEnabled() || errorPending())
    return runPlainly(run);
  if (uint64_t unloads = modulesUnloaded(); unloads != unloadsSeen) {
    while (!graphs.empty())
      drop(graphs.begin());
    unloadsSeen = unloads;
  }
  Recorded &r = graphs[signature];
  ++r.calls;
  r.lastUse = ++clock;
  if (r.exec) {
    ScopedContext s;
    if (s.ok)
      check("cuGraphLaunch", s.d->cuGraphLaunch(r.exec, stream()));
    last = r.counts;
    lastReplayed = true;
  } else if (r.failed || r.calls < 2) {
    runPlainly(run); // the first call warms up
  } else {
    capture(r, run);
  }
  evict(); // never the graph just used: it is the newest
}

std::string StepGraphs::profile() const {
  std::lock_guard<std::mutex> lock(mutex);
  return "launches per step: " + std::to_string(last.kernels) + " kernels + " +
         std::to_string(last.libraryCalls) + " library calls" +
         (lastReplayed ? " (replayed as one CUDA graph)" : "");
}

} // namespace bregman::runtime::cuda
