//===- HostAllocatorTest.cpp - The compiled code's block cache ------------===//
//
// _mlir_memref_to_llvm_alloc / _aligned_alloc / _free, which compiled steps
// call for every temporary: alignment, the whole size usable, reuse of a
// released block of the same size, no reuse of a live one, refusal of sizes
// that cannot exist, two threads at once, and the blocks a thread keeps for
// itself going back to everyone when it ends.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {

bool alignedTo(void *p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

/// Fills `bytes` of `p` with a pattern of `seed` and checks it back.
bool fillsAndKeeps(void *p, size_t bytes, unsigned char seed) {
  auto *c = static_cast<unsigned char *>(p);
  for (size_t i = 0; i < bytes; ++i)
    c[i] = static_cast<unsigned char>(seed + i * 7);
  for (size_t i = 0; i < bytes; ++i)
    if (c[i] != static_cast<unsigned char>(seed + i * 7))
      return false;
  return true;
}

TEST(HostAllocator, BlocksAreAlignedUsableAndDistinct) {
  const std::vector<size_t> sizes{0,    1,     63,    64,      100,
                                  4096, 65535, 65536, 1 << 20, 3000001};
  std::vector<void *> live;
  for (size_t i = 0; i < sizes.size(); ++i) {
    void *p = _mlir_memref_to_llvm_alloc(sizes[i]);
    ASSERT_NE(p, nullptr) << sizes[i] << " bytes";
    EXPECT_TRUE(alignedTo(p, 64)) << sizes[i] << " bytes";
    EXPECT_TRUE(fillsAndKeeps(p, sizes[i], static_cast<unsigned char>(i)));
    live.push_back(p);
  }
  // Writing every block did not disturb the others.
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto *c = static_cast<unsigned char *>(live[i]);
    for (size_t k = 0; k < sizes[i]; ++k)
      ASSERT_EQ(c[k], static_cast<unsigned char>(i + k * 7))
          << "block " << i << " byte " << k;
  }
  EXPECT_EQ(std::set<void *>(live.begin(), live.end()).size(), live.size());
  for (void *p : live)
    _mlir_memref_to_llvm_free(p);
}

TEST(HostAllocator, OverAlignedBlocks) {
  for (size_t alignment : {128, 256, 4096}) {
    void *p = _mlir_memref_to_llvm_aligned_alloc(alignment, 1000);
    ASSERT_NE(p, nullptr) << alignment;
    EXPECT_TRUE(alignedTo(p, alignment)) << alignment;
    EXPECT_TRUE(fillsAndKeeps(p, 1000, 3));
    _mlir_memref_to_llvm_free(p);
  }
}

TEST(HostAllocator, AReleasedBlockComesBackForTheSameSizeOnly) {
  for (size_t bytes : {size_t(800), size_t(1) << 20}) {
    void *first = _mlir_memref_to_llvm_alloc(bytes);
    void *other = _mlir_memref_to_llvm_alloc(bytes);
    ASSERT_NE(first, other);
    _mlir_memref_to_llvm_free(first);
    void *again = _mlir_memref_to_llvm_alloc(bytes);
    EXPECT_EQ(again, first) << bytes << " bytes: the released block";
    void *third = _mlir_memref_to_llvm_alloc(bytes);
    EXPECT_NE(third, again);
    EXPECT_NE(third, other);
    for (void *p : {again, other, third})
      _mlir_memref_to_llvm_free(p);
  }
}

// Compiled code writes through what it is given: a null block was a
// segfault. An allocation the system refuses (after the cache's blocks went
// back to it) ends the process with exit 1 and a message naming the size.
TEST(HostAllocator, ImpossibleSizesEndTheProcessWithAMessage) {
  const char *message = "error: out of memory: compiled code could not "
                        "allocate a temporary of [0-9]+ bytes";
  EXPECT_EXIT(_mlir_memref_to_llvm_alloc(SIZE_MAX),
              ::testing::ExitedWithCode(1), message);
  EXPECT_EXIT(_mlir_memref_to_llvm_alloc(SIZE_MAX / 2),
              ::testing::ExitedWithCode(1), message);
  EXPECT_EXIT(_mlir_memref_to_llvm_aligned_alloc(64, SIZE_MAX - 10),
              ::testing::ExitedWithCode(1), message);
  EXPECT_EXIT(_mlir_memref_to_llvm_alloc(size_t(1) << 60),
              ::testing::ExitedWithCode(1), message);
  _mlir_memref_to_llvm_free(nullptr);
}

TEST(HostAllocator, TwoThreadsAllocateAndReleaseAtOnce) {
  auto work = [](unsigned char seed, bool *ok) {
    for (int round = 0; round < 2000; ++round) {
      size_t bytes = 64 + size_t(round % 7) * 1000 + (round % 3) * 70000;
      void *p = _mlir_memref_to_llvm_alloc(bytes);
      if (!p || !alignedTo(p, 64) || !fillsAndKeeps(p, bytes, seed)) {
        *ok = false;
        return;
      }
      _mlir_memref_to_llvm_free(p);
    }
  };
  bool ok1 = true, ok2 = true;
  std::thread a(work, 1, &ok1), b(work, 2, &ok2);
  a.join();
  b.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

// A thread keeps its latest small blocks for itself (no lock on the way
// back); when it ends, they go to the shared cache, so another thread gets
// them instead of new memory. Sizes no other test uses.
TEST(HostAllocator, AnEndedThreadsBlocksGoToTheOthers) {
  void *released = nullptr;
  std::thread([&] {
    released = _mlir_memref_to_llvm_alloc(1234);
    _mlir_memref_to_llvm_free(released);
  }).join();
  void *again = _mlir_memref_to_llvm_alloc(1234);
  EXPECT_EQ(again, released);
  // Freed by another thread than the one that allocated it: the same.
  std::thread([&] { _mlir_memref_to_llvm_free(again); }).join();
  void *third = _mlir_memref_to_llvm_alloc(1234);
  EXPECT_EQ(third, again);
  _mlir_memref_to_llvm_free(third);
}

// More small blocks than a thread keeps: the rest go to the shared cache,
// and every one of them comes back, none twice.
TEST(HostAllocator, ManySmallBlocksAllComeBackOnce) {
  std::vector<void *> first;
  for (int i = 0; i < 40; ++i)
    first.push_back(_mlir_memref_to_llvm_alloc(2345));
  for (void *p : first)
    _mlir_memref_to_llvm_free(p);
  std::vector<void *> second;
  for (int i = 0; i < 40; ++i) {
    second.push_back(_mlir_memref_to_llvm_alloc(2345));
    EXPECT_TRUE(
        fillsAndKeeps(second.back(), 2345, static_cast<unsigned char>(i)));
  }
  EXPECT_EQ(std::set<void *>(second.begin(), second.end()),
            std::set<void *>(first.begin(), first.end()));
  for (void *p : second)
    _mlir_memref_to_llvm_free(p);
}

// A thread keeps 16 small blocks: a 17th sends the oldest to the shared
// cache, so blocks of sizes the thread stops using do not take its slots
// for good. 3456 bytes are first released (oldest), then 16 blocks of 4567;
// the 3456-byte block is then in the shared cache, which another thread
// reaches (its own slots are empty).
TEST(HostAllocator, AFullThreadHandsItsOldestBlockToTheOthers) {
  void *oldest = _mlir_memref_to_llvm_alloc(3456);
  std::vector<void *> newer;
  for (int i = 0; i < 16; ++i)
    newer.push_back(_mlir_memref_to_llvm_alloc(4567));
  _mlir_memref_to_llvm_free(oldest);
  for (void *p : newer)
    _mlir_memref_to_llvm_free(p);
  void *elsewhere = nullptr;
  std::thread([&] { elsewhere = _mlir_memref_to_llvm_alloc(3456); }).join();
  EXPECT_EQ(elsewhere, oldest);
  _mlir_memref_to_llvm_free(elsewhere);
}

// A released 64-aligned block is not handed out for a 256-aligned request
// of the same size (another header offset), from the thread's slots or not.
TEST(HostAllocator, AlignmentIsPartOfWhatComesBack) {
  void *p = _mlir_memref_to_llvm_alloc(5678);
  _mlir_memref_to_llvm_free(p);
  void *q = _mlir_memref_to_llvm_aligned_alloc(256, 5678);
  EXPECT_TRUE(alignedTo(q, 256));
  EXPECT_TRUE(fillsAndKeeps(q, 5678, 9));
  void *r = _mlir_memref_to_llvm_alloc(5678);
  EXPECT_EQ(r, p);
  _mlir_memref_to_llvm_free(q);
  _mlir_memref_to_llvm_free(r);
}

/// Frees its block when the thread's thread_local objects are destroyed:
/// constructed before the allocator's owner of that thread's slots, so
/// destroyed after it, when the slots are closed.
struct FreesAtThreadEnd {
  void *block = nullptr;
  ~FreesAtThreadEnd() { _mlir_memref_to_llvm_free(block); }
};

// A release after the thread's slots were handed back (compiled code's
// buffers held by a thread_local, say) goes to the shared cache.
TEST(HostAllocator, AReleaseAfterTheThreadsSlotsClosedGoesToTheOthers) {
  void *released = nullptr;
  std::thread([&] {
    static thread_local FreesAtThreadEnd late;
    late.block = _mlir_memref_to_llvm_alloc(6789);
    released = late.block;
    _mlir_memref_to_llvm_free(
        _mlir_memref_to_llvm_alloc(64)); // opens the slots
  }).join();
  void *again = _mlir_memref_to_llvm_alloc(6789);
  EXPECT_EQ(again, released);
  _mlir_memref_to_llvm_free(again);
}

} // namespace
