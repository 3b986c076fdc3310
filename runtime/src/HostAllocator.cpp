//===- HostAllocator.cpp - Temporaries of compiled code, cached -----------===//
//
// Compiled steps allocate their temporaries (activations, gradients, the
// unfolded images of convolutions) afresh on every call. Through glibc, blocks
// of megabytes come from mmap or a trimmed heap top, so every call faults
// them in again: a third of a ConvNet step went to page faults; and a small
// inference (batch 1) spent a tenth of its call in memalign and free. Like
// the caching allocators of deep-learning frameworks, freed blocks are kept
// by exact (rounded) size and handed out again; a step asks for the same
// sizes every time, so after the first call nothing is faulted in and no
// allocation reaches glibc. Each block carries its size just before the
// address handed out, so a release needs no lookup. The cache holds at most
// kCacheLimitBytes. Small blocks released by a thread are first kept in that
// thread's own 16 slots (at most 1 MiB, outside that limit; the oldest goes
// to the shared cache when a 17th comes) and taken back from there without
// the lock (a batch-1 inference, a few microseconds, allocates and frees a
// handful).
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kCacheLimitBytes = size_t(2) << 30;

/// Stored in the bytes right before the address handed out.
struct Header {
  size_t size;   // of the whole block, header space included
  size_t offset; // from the block's start to the address handed out
};

/// A cached block: where it starts and its header.
struct CachedBlock {
  void *block;
  Header header;
};

class BlockCache;
BlockCache &cache();

/// The calling thread's most recently released small blocks, oldest first.
/// Plain data (no destructor), so that a release after the thread's
/// destructors ran still finds valid storage; `ThreadSlotsOwner` hands the
/// blocks back to the shared cache when the thread ends and closes the slots.
struct ThreadSlots {
  static constexpr int kSlots = 16;
  static constexpr size_t kMaxBlockBytes = 65536;
  CachedBlock slots[kSlots];
  int count;
  bool closed;
};
thread_local ThreadSlots threadSlots{};

struct ThreadSlotsOwner {
  ~ThreadSlotsOwner();
};

class BlockCache {
public:
  void *allocate(size_t bytes, size_t alignment) {
    // The header space keeps the address handed out aligned.
    size_t offset = std::max(alignment, kAlignment);
    if (bytes > SIZE_MAX / 2 - 2 * offset - 4096)
      outOfMemory(bytes);
    // Large blocks by whole pages (a step's sizes repeat; so do nearby ones).
    size_t size =
        round(offset + bytes,
              std::max(offset, bytes < 65536 ? kAlignment : size_t(4096)));
    void *block = takeFromThread(size, offset);
    if (!block)
      block = take(size, offset);
    if (!block)
      block = std::aligned_alloc(offset, size);
    if (!block) { // the cached blocks back to the system, and once more
      trim();
      dropThreadSlots();
      block = std::aligned_alloc(offset, size);
    }
    if (!block)
      outOfMemory(bytes);
    auto *user = static_cast<char *>(block) + offset;
    reinterpret_cast<Header *>(user)[-1] = Header{size, offset};
    return user;
  }

  void release(void *user) {
    if (!user)
      return;
    Header header = static_cast<Header *>(user)[-1];
    void *block = static_cast<char *>(user) - header.offset;
    if (keepInThread(block, header))
      return;
    releaseShared(block, header);
  }

  /// Hands every block of the calling thread's slots to the shared cache.
  void flushThread() {
    ThreadSlots &own = threadSlots;
    own.closed = true;
    for (int i = 0; i < own.count; ++i)
      releaseShared(own.slots[i].block, own.slots[i].header);
    own.count = 0;
  }

private:
  void releaseShared(void *block, Header header) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (cachedBytes + header.size <= kCacheLimitBytes) {
        free[key(header.size, header.offset)].push_back(block);
        cachedBytes += header.size;
        return;
      }
    }
    std::free(block); // beyond the cache's limit
  }

  bool keepInThread(void *block, Header header) {
    ThreadSlots &own = threadSlots;
    if (own.closed || header.size > ThreadSlots::kMaxBlockBytes)
      return false;
    // Constructed at the thread's first kept block; its destructor runs at
    // the thread's end.
    static thread_local ThreadSlotsOwner owner;
    (void)owner;
    if (own.count == ThreadSlots::kSlots) { // the oldest makes room
      releaseShared(own.slots[0].block, own.slots[0].header);
      removeSlot(own, 0);
    }
    own.slots[own.count++] = CachedBlock{block, header};
    return true;
  }

  static void *takeFromThread(size_t size, size_t offset) {
    if (size > ThreadSlots::kMaxBlockBytes)
      return nullptr;
    ThreadSlots &own = threadSlots;
    for (int i = own.count - 1; i >= 0; --i)
      if (own.slots[i].header.size == size &&
          own.slots[i].header.offset == offset) {
        void *block = own.slots[i].block;
        removeSlot(own, i);
        return block;
      }
    return nullptr;
  }

  /// Removes slot `i`, keeping the others oldest first.
  static void removeSlot(ThreadSlots &own, int i) {
    std::copy(own.slots + i + 1, own.slots + own.count, own.slots + i);
    --own.count;
  }

  /// The calling thread's slots back to the system (out of memory).
  static void dropThreadSlots() {
    ThreadSlots &own = threadSlots;
    for (int i = 0; i < own.count; ++i)
      std::free(own.slots[i].block);
    own.count = 0;
  }

  /// Compiled code cannot take a null block (it wrote through it: a
  /// segfault), nor an exception: the process ends here, saying why.
  [[noreturn]] static void outOfMemory(size_t bytes) {
    std::fprintf(stderr,
                 "error: out of memory: compiled code could not allocate a "
                 "temporary of %zu bytes (a smaller batch needs less; with "
                 "BREGMAN_MEMORY_LIMIT below what this machine can give, "
                 "such sizes are refused before they run)\n",
                 bytes);
    std::fflush(nullptr); // the program's own output too
    std::_Exit(1);
  }
  /// Returns every cached block to the system.
  void trim() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &[key, blocks] : free)
      for (void *block : blocks)
        std::free(block);
    free.clear();
    cachedBytes = 0;
  }
  static size_t round(size_t bytes, size_t to) {
    return bytes == 0 ? to : (bytes + to - 1) / to * to;
  }
  /// Blocks of one size and alignment are interchangeable.
  static std::pair<size_t, size_t> key(size_t size, size_t offset) {
    return {size, offset};
  }
  void *take(size_t size, size_t offset) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = free.find(key(size, offset));
    if (it == free.end() || it->second.empty())
      return nullptr;
    void *block = it->second.back();
    it->second.pop_back();
    cachedBytes -= size;
    return block;
  }
  struct KeyHash {
    size_t operator()(const std::pair<size_t, size_t> &k) const {
      return std::hash<size_t>()(k.first * 31 + k.second);
    }
  };
  std::mutex mutex;
  std::unordered_map<std::pair<size_t, size_t>, std::vector<void *>, KeyHash>
      free;
  size_t cachedBytes = 0;
};

BlockCache &cache() {
  // Never destroyed: compiled code may free after static destructors ran.
  static BlockCache *instance = new BlockCache();
  return *instance;
}

ThreadSlotsOwner::~ThreadSlotsOwner() { cache().flushThread(); }

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return cache().allocate(size, kAlignment);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return cache().allocate(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { cache().release(ptr); }
