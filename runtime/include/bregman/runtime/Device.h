//===- Device.h - Accelerator memory behind host buffers ---------*- C++ -*-===//
//
// A compiled GPU program reads and writes device memory; a Buffer (Buffer.h)
// keeps a device copy next to its host memory and moves data only when the
// other side holds the newer value. So parameters and optimizer state stay
// on the device across steps, a batch goes in with one copy, and only what
// the host reads (the loss, the correct count) comes back.
//
// Two implementations: the CUDA device (driver API, dlopen'ed) and a host
// mirror, separate host memory standing in for the device, with which the
// tests run the whole GPU path (kernels emulated on the CPU) and would see
// every missing copy as a wrong value.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_DEVICE_H
#define BREGMAN_RUNTIME_DEVICE_H

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bregman::runtime {

class DeviceMemory {
public:
  virtual ~DeviceMemory();
  /// "cuda (NVIDIA H100 ...)", "host mirror".
  virtual std::string name() const = 0;
  /// Device memory of `bytes` bytes; throws std::runtime_error naming the
  /// call and the CUDA error when it fails.
  virtual void *allocate(std::size_t bytes) = 0;
  virtual void release(void *ptr) = 0;
  /// Ordered after all work already submitted; returns before it completes.
  virtual void copyToDevice(void *dst, const void *src, std::size_t bytes) = 0;
  /// A marker of the work submitted so far (null where work is not queued,
  /// as on the host mirror).
  virtual std::shared_ptr<void> recordEvent() = 0;
  /// Waits for the work up to `ready` (all submitted work when null), then
  /// copies. Work queued after `ready` keeps running: the training loop
  /// reads step k's loss while step k+1 runs.
  virtual void copyToHost(void *dst, const void *src, std::size_t bytes,
                          const std::shared_ptr<void> &ready) = 0;
  /// Device to device, ordered like the rest (the benchmarks' yardstick).
  virtual void copyWithinDevice(void *dst, const void *src,
                                std::size_t bytes) = 0;
  /// Waits for all submitted work; throws with the first failure recorded
  /// since the last call (a kernel launch, a library call).
  virtual void synchronize() = 0;
  /// Queues one call of a compiled step: `run` calls its host code, which
  /// queues the step's work. `signature` is the step's entry point and its
  /// argument addresses: the CUDA device records a call whose signature
  /// came before as a graph and replays it (the host code then does not
  /// run). Here: run().
  virtual void submitStep(const std::vector<const void *> &signature,
                          const std::function<void()> &run);
  /// What the last submitted step launched ("launches per step: ..."), ""
  /// where that is not counted.
  virtual std::string stepProfile() const;
};

/// The CUDA device 0, initialised on first use; throws std::runtime_error
/// "no CUDA device/driver found (...)" where there is none.
DeviceMemory &cudaDevice();
/// Host memory standing in for a device (tests of the GPU path).
DeviceMemory &hostMirrorDevice();

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_DEVICE_H
