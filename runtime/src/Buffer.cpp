//===- Buffer.cpp - Host memory for tensors -------------------------------===//

#include "bregman/runtime/Buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

using namespace bregman::runtime;

std::shared_ptr<Buffer> Buffer::allocate(std::size_t bytes, bool zero) {
  // 64-byte alignment: a cache line, and the widest vector load (AVX-512).
  std::size_t rounded = ((bytes + 63) / 64) * 64;
  void *data = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!data)
    throw std::bad_alloc();
  if (zero)
    std::memset(data, 0, rounded == 0 ? 64 : rounded);
  return std::shared_ptr<Buffer>(new Buffer(data, bytes));
}

Buffer::~Buffer() { std::free(data_); }
