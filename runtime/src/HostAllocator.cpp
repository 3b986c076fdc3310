//===- HostAllocator.cpp - Temporaries of compiled code, cached -----------===//
//
// Compiled steps allocate their temporaries (activations, gradients, the
// unfolded images of convolutions) afresh on every call. Through glibc, blocks
// of megabytes come from mmap or a trimmed heap top, so every call faults
// them in again: a third of a ConvNet step went to page faults. Like the
// caching allocators of deep-learning frameworks, freed blocks of at least
// kCachedMinBytes are kept by exact (rounded) size and handed out again; a
// step asks for the same sizes every time, so after the first call nothing
// is faulted in. The cache holds at most kCacheLimitBytes.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kCachedMinBytes = 64 * 1024;
constexpr size_t kCacheLimitBytes = size_t(2) << 30;

class BlockCache {
public:
  void *allocate(size_t bytes, size_t alignment) {
    if (bytes < kCachedMinBytes || alignment > kAlignment)
      return std::aligned_alloc(std::max(alignment, kAlignment),
                                round(bytes, std::max(alignment, kAlignment)));
    size_t size = round(bytes, 4096);
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = free.find(size);
      if (it != free.end() && !it->second.empty()) {
        void *block = it->second.back();
        it->second.pop_back();
        cachedBytes -= size;
        live[block] = size;
        return block;
      }
    }
    void *block = std::aligned_alloc(kAlignment, size);
    if (block) {
      std::lock_guard<std::mutex> lock(mutex);
      live[block] = size;
    }
    return block;
  }

  void release(void *block) {
    if (!block)
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = live.find(block);
      if (it != live.end()) {
        size_t size = it->second;
        live.erase(it);
        if (cachedBytes + size <= kCacheLimitBytes) {
          free[size].push_back(block);
          cachedBytes += size;
          return;
        }
      }
    }
    std::free(block); // small, over-aligned, or beyond the cache's limit
  }

private:
  static size_t round(size_t bytes, size_t to) {
    return bytes == 0 ? to : (bytes + to - 1) / to * to;
  }
  std::mutex mutex;
  std::unordered_map<void *, size_t> live;
  std::unordered_map<size_t, std::vector<void *>> free;
  size_t cachedBytes = 0;
};

BlockCache &cache() {
  // Never destroyed: compiled code may free after static destructors ran.
  static BlockCache *instance = new BlockCache();
  return *instance;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return cache().allocate(size, kAlignment);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return cache().allocate(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { cache().release(ptr); }
