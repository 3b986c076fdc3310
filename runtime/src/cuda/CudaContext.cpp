//===- CudaContext.cpp - Context, stream, block cache, errors -------------===//

#include "CudaContext.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace bregman::runtime::cuda {

namespace {
std::mutex errorMutex;
std::string firstError;

CUcontext primaryContext(const Driver *d) {
  static CUcontext context = [&]() -> CUcontext {
    CUdevice device = 0;
    CUcontext ctx = nullptr;
    if (check("cuDeviceGet", d->cuDeviceGet(&device, 0)))
      check("cuDevicePrimaryCtxRetain",
            d->cuDevicePrimaryCtxRetain(&ctx, device));
    return ctx;
  }();
  return context;
}

struct BlockCache {
  std::mutex mutex;
  std::vector<CUdeviceptr> *reserve = nullptr; // see reserveFreedBlocks
  std::unordered_map<CUdeviceptr, size_t> sizes;        // live and cached
  std::map<size_t, std::vector<CUdeviceptr>> freeBySize; // cached
};
BlockCache &blockCache() {
  static BlockCache *cache = new BlockCache; // outlives static destructors
  return *cache;
}
} // namespace

void recordError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  // Printed once per pending error: every later call of the failed step
  // fails for the same reason and would repeat it.
  if (!firstError.empty())
    return;
  firstError = message;
  std::fprintf(stderr, "bregman: %s\n", message.c_str());
}

bool check(const char *call, CUresult result) {
  if (result == CUDA_SUCCESS)
    return true;
  recordError(describe(call, result));
  return false;
}

std::string takeError() {
  std::lock_guard<std::mutex> lock(errorMutex);
  std::string taken = std::move(firstError);
  firstError.clear();
  return taken;
}

ScopedContext::ScopedContext() {
  // The primary context is made current once per thread and stays current:
  // every launch would otherwise pay a push and a pop.
  static thread_local bool current = false;
  std::string reason;
  d = driver(&reason);
  if (!d) {
    recordError(reason);
    return;
  }
  if (current) {
    ok = true;
    return;
  }
  CUcontext context = primaryContext(d);
  // Every call that cannot run says so (not only the first one).
  if (!context) {
    recordError("no CUDA context (device 0 could not be initialised)");
    return;
  }
  ok = current = check("cuCtxSetCurrent", d->cuCtxSetCurrent(context));
}

ScopedContext::~ScopedContext() = default;

static CUstream createStream() {
  ScopedContext scope;
  CUstream created = nullptr;
  if (scope.ok)
    check("cuStreamCreate",
          scope.d->cuStreamCreate(&created, /*NON_BLOCKING=*/0x1));
  return created;
}

void *openLibrary(const std::string &what,
                  const std::vector<std::string> &names, const char *envVar,
                  const std::string &advice, std::string *failure) {
  std::vector<std::string> candidates = names;
  if (const char *path = std::getenv(envVar))
    candidates = {path};
  std::string tried;
  for (const std::string &name : candidates) {
    if (void *lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return lib;
    tried += (tried.empty() ? "" : ", ") + name;
  }
  *failure = what + " not found (dlopen " + tried + "): " + advice +
             " or name it in " + envVar;
  return nullptr;
}

void *findSymbol(void *lib, const char *what, const char *symbol,
                 std::string *failure) {
  void *fn = dlsym(lib, symbol);
  if (!fn && failure->empty())
    *failure = std::string(what) + " lacks " + symbol;
  return fn;
}

std::string describeStatus(const char *what, const char *call, int status,
                           const char *text) {
  return std::string(call) + " failed: " +
         (text ? text : std::string(what) + " status " + std::to_string(status));
}

CUstream stream() {
  static CUstream s = createStream();
  return s;
}

CUstream copyStream() {
  static CUstream s = createStream();
  return s;
}

/// A cached block of at least `bytes` that wastes at most a quarter of
/// itself (the smallest such), taken out of the cache; 0 if none.
static CUdeviceptr takeCachedBlock(BlockCache &cache, size_t bytes) {
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.freeBySize.lower_bound(bytes);
  if (it == cache.freeBySize.end() || it->first - bytes > it->first / 4)
    return 0;
  CUdeviceptr ptr = it->second.back();
  it->second.pop_back();
  if (it->second.empty())
    cache.freeBySize.erase(it);
  return ptr;
}

size_t trimBlockCache() {
  BlockCache &cache = blockCache();
  std::map<size_t, std::vector<CUdeviceptr>> cached;
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    cached.swap(cache.freeBySize);
    for (auto &[size, blocks] : cached)
      for (CUdeviceptr ptr : blocks)
        cache.sizes.erase(ptr);
  }
  ScopedContext scope;
  size_t freed = 0;
  for (auto &[size, blocks] : cached)
    for (CUdeviceptr ptr : blocks)
      if (scope.ok && check("cuMemFree", scope.d->cuMemFree_v2(ptr)))
        freed += size;
  return freed;
}

/// "1.5 GiB"-style sizes for messages.
static std::string formatBytes(size_t bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), unit ? "%.1f %s" : "%.0f %s", value,
                units[unit]);
  return text;
}

CUdeviceptr allocateBlock(size_t bytes) {
  BlockCache &cache = blockCache();
  if (CUdeviceptr ptr = takeCachedBlock(cache, bytes))
    return ptr;
  ScopedContext scope;
  if (!scope.ok)
    return 0;
  CUdeviceptr ptr = 0;
  CUresult result = scope.d->cuMemAlloc_v2(&ptr, bytes);
  size_t released = 0;
  if (result == CUDA_ERROR_OUT_OF_MEMORY) {
    // The cache may hold what is missing: wait until no queued work uses
    // a cached block, give them all back, and try once more.
    check("cuStreamSynchronize", scope.d->cuStreamSynchronize(stream()));
    check("cuStreamSynchronize", scope.d->cuStreamSynchronize(copyStream()));
    released = trimBlockCache();
    result = scope.d->cuMemAlloc_v2(&ptr, bytes);
  }
  if (result != CUDA_SUCCESS) {
    recordError("out of GPU memory: allocating " + formatBytes(bytes) + " (" +
                std::to_string(bytes) + " bytes) failed after releasing " +
                formatBytes(released) + " of cached blocks: " +
                describe("cuMemAlloc", result));
    return 0;
  }
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.sizes[ptr] = bytes;
  return ptr;
}

void releaseBlock(CUdeviceptr ptr) {
  if (!ptr)
    return;
  BlockCache &cache = blockCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.sizes.find(ptr);
  if (it == cache.sizes.end()) {
    recordError("releasing device memory the runtime did not allocate");
    return;
  }
  if (cache.reserve)
    cache.reserve->push_back(ptr);
  else
    cache.freeBySize[it->second].push_back(ptr);
}

void reserveFreedBlocks(std::vector<CUdeviceptr> *reserve) {
  BlockCache &cache = blockCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.reserve = reserve;
}

void returnReservedBlocks(std::vector<CUdeviceptr> &reserved) {
  BlockCache &cache = blockCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  for (CUdeviceptr ptr : reserved)
    if (auto it = cache.sizes.find(ptr); it != cache.sizes.end())
      cache.freeBySize[it->second].push_back(ptr);
  reserved.clear();
}

namespace {
std::atomic<long> kernelLaunches{0}, libraryCalls{0};
std::atomic<uint64_t> moduleUnloads{0};
} // namespace

uint64_t modulesUnloaded() { return moduleUnloads.load(); }
void noteModuleUnloaded() { moduleUnloads.fetch_add(1); }

LaunchCounts launchCounts() {
  return {kernelLaunches.load(std::memory_order_relaxed),
          libraryCalls.load(std::memory_order_relaxed)};
}
void countKernelLaunch() {
  kernelLaunches.fetch_add(1, std::memory_order_relaxed);
}
void countLibraryCall() { libraryCalls.fetch_add(1, std::memory_order_relaxed); }

bool errorPending() {
  std::lock_guard<std::mutex> lock(errorMutex);
  return !firstError.empty();
}

} // namespace bregman::runtime::cuda
