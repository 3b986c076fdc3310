//===- Buffer.h - Memory for tensors, on the host and a device ---*- C++ -*-===//
//
// A Buffer owns one aligned, contiguous host allocation. Parameters,
// optimizer state and batches live in Buffers; compiled CPU steps read and
// write them in place through their base address.
//
// For a GPU step a Buffer also keeps a device copy (Device.h) and knows which
// side holds the current value: data() brings the host copy up to date,
// deviceData() the device copy, each copying only when the other side is
// newer. Host access through the non-const data() may write, so it makes the
// device copy stale (the next step uploads it again); read through the const
// overload to keep it.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_BUFFER_H
#define BREGMAN_RUNTIME_BUFFER_H

#include <cstddef>
#include <memory>
#include <new>
#include <string>

namespace bregman::runtime {

class DeviceMemory;

/// std::bad_alloc that says how much was asked for.
class AllocationFailure : public std::bad_alloc {
public:
  explicit AllocationFailure(std::size_t bytes);
  const char *what() const noexcept override { return message.c_str(); }

private:
  std::string message;
};

class Buffer {
public:
  /// Allocates `bytes` bytes aligned to 64 (zero-filled when `zero`).
  /// Throws AllocationFailure (a std::bad_alloc) when memory is exhausted.
  static std::shared_ptr<Buffer> allocate(std::size_t bytes, bool zero = true);

  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer();

  /// The host copy, current (may copy from the device, waiting for it).
  void *data();
  const void *data() const;
  std::size_t bytes() const { return bytes_; }

  /// The copy on `device`, current (may copy from the host). With
  /// `willWrite`, the host copy becomes stale. A buffer lives on one device.
  void *deviceData(DeviceMemory &device, bool willWrite);
  /// A device copy that is about to be overwritten entirely (an output):
  /// nothing is uploaded, the host copy becomes stale.
  void *deviceDataForOverwrite(DeviceMemory &device);
  /// After the work that writes the device copy was queued: its marker,
  /// which a later data() waits for (instead of for all queued work).
  void setDeviceReady(std::shared_ptr<void> event) { ready_ = std::move(event); }

private:
  Buffer(void *data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  void ensureDeviceAllocation(DeviceMemory &device);
  void syncToHost() const;

  void *data_;
  std::size_t bytes_;
  DeviceMemory *device_ = nullptr;
  void *deviceData_ = nullptr;
  mutable bool hostCurrent_ = true;
  bool deviceCurrent_ = false;
  std::shared_ptr<void> ready_; // marker of the last device write, if any
};

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_BUFFER_H
