//===- Buffer.h - Host memory for tensors -----------------------*- C++ -*-===//
//
// A Buffer owns one aligned, contiguous allocation. Parameters, optimizer
// state and batches live in Buffers; compiled steps read and write them in
// place through their base address.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_BUFFER_H
#define BREGMAN_RUNTIME_BUFFER_H

#include <cstddef>
#include <memory>

namespace bregman::runtime {

class Buffer {
public:
  /// Allocates `bytes` bytes aligned to 64 (zero-filled when `zero`).
  /// Throws std::bad_alloc when memory is exhausted.
  static std::shared_ptr<Buffer> allocate(std::size_t bytes, bool zero = true);

  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer();

  void *data() { return data_; }
  const void *data() const { return data_; }
  std::size_t bytes() const { return bytes_; }

private:
  Buffer(void *data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  void *data_;
  std::size_t bytes_;
};

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_BUFFER_H
