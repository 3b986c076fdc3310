//===- CudaDevice.cpp - DeviceMemory on CUDA device 0 ---------------------===//

#include "CudaContext.h"
#include "bregman/runtime/Device.h"

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace bregman::runtime {
namespace {

/// Uploads staged through pinned host buffers used in turn, so that the
/// copy is truly asynchronous (from pageable memory the driver stages it
/// itself, synchronously). A buffer is refilled only after the event
/// recorded behind its last copy: that copy reads it when it runs. Eight,
/// not two: a step uploads a batch, its labels and the odd changed
/// hyper-parameter, and each upload is queued behind the previous step's
/// work, so with two buffers the third upload of step k+1 would wait for
/// step k to finish and the device would idle until step k+1 is queued.
class PinnedStaging {
public:
  static constexpr int kBuffers = 8;
  /// Larger uploads (a whole initial state) go directly from pageable memory.
  static constexpr size_t kMaxStagedBytes = size_t(16) << 20;

  enum class Result { Queued, Failed, NoPinnedMemory };
  /// Queues the copy of `bytes` at `src` to `dst` on stream() through a
  /// staging buffer (Failed: recorded; NoPinnedMemory: the caller copies
  /// from pageable memory).
  Result upload(const cuda::Driver *d, cuda::CUdeviceptr dst,
                const void *src, size_t bytes) {
    if (bytes == 0)
      return Result::Queued; // nothing to copy
    std::lock_guard<std::mutex> lock(mutex);
    Slot &slot = slots[next];
    next = (next + 1) % kBuffers;
    if (slot.copied &&
        !cuda::check("cuEventSynchronize", d->cuEventSynchronize(slot.copied)))
      return Result::Failed;
    if (slot.capacity < bytes) {
      if (slot.host)
        d->cuMemFreeHost(slot.host);
      slot.host = nullptr;
      slot.capacity = 0;
      size_t rounded = (bytes + 65535) & ~size_t(65535);
      if (d->cuMemAllocHost_v2(&slot.host, rounded) != cuda::CUDA_SUCCESS)
        return Result::NoPinnedMemory; // scarce: pageable copies still work
      slot.capacity = rounded;
    }
    if (!slot.copied &&
        !cuda::check("cuEventCreate",
                     d->cuEventCreate(&slot.copied, /*DISABLE_TIMING=*/0x2)))
      return Result::Failed;
    std::memcpy(slot.host, src, bytes);
    bool queued =
        cuda::check("cuMemcpyHtoDAsync",
                    d->cuMemcpyHtoDAsync_v2(dst, slot.host, bytes,
                                            cuda::stream())) &&
        cuda::check("cuEventRecord",
                    d->cuEventRecord(slot.copied, cuda::stream()));
    return queued ? Result::Queued : Result::Failed;
  }

private:
  struct Slot {
    void *host = nullptr;
    size_t capacity = 0;
    cuda::CUevent copied = nullptr; // recorded behind the last copy from it
  };
  std::mutex mutex;
  Slot slots[kBuffers];
  int next = 0;
};

class CudaDevice final : public DeviceMemory {
public:
  explicit CudaDevice(std::string deviceName) : deviceName(std::move(deviceName)) {}
  std::string name() const override { return "cuda (" + deviceName + ")"; }

  void *allocate(std::size_t bytes) override {
    cuda::CUdeviceptr ptr = cuda::allocateBlock(bytes ? bytes : 1);
    if (!ptr)
      fail("allocating " + std::to_string(bytes) + " bytes of device memory");
    return reinterpret_cast<void *>(ptr);
  }
  void release(void *ptr) override {
    cuda::releaseBlock(reinterpret_cast<cuda::CUdeviceptr>(ptr));
  }
  void copyToDevice(void *dst, const void *src, std::size_t bytes) override {
    cuda::ScopedContext s;
    auto to = reinterpret_cast<cuda::CUdeviceptr>(dst);
    using Result = PinnedStaging::Result;
    Result staged = Result::NoPinnedMemory;
    if (s.ok && bytes <= PinnedStaging::kMaxStagedBytes)
      staged = staging.upload(s.d, to, src, bytes);
    bool ok = s.ok && (staged == Result::Queued ||
                       (staged == Result::NoPinnedMemory &&
                        cuda::check("cuMemcpyHtoDAsync",
                                    s.d->cuMemcpyHtoDAsync_v2(
                                        to, src, bytes, cuda::stream()))));
    if (!ok)
      fail("copying " + std::to_string(bytes) + " bytes to the device");
  }
  void submitStep(const std::vector<const void *> &signature,
                  const std::function<void()> &run) override {
    graphs.submit(signature, run);
  }
  std::string stepProfile() const override { return graphs.profile(); }
  std::shared_ptr<void> recordEvent() override {
    cuda::ScopedContext s;
    cuda::CUevent event = nullptr;
    // Timing off: a plain marker is cheaper.
    if (!s.ok ||
        !cuda::check("cuEventCreate",
                     s.d->cuEventCreate(&event, /*DISABLE_TIMING=*/0x2)) ||
        !cuda::check("cuEventRecord", s.d->cuEventRecord(event, cuda::stream())))
      fail("marking the work submitted so far");
    const cuda::Driver *d = s.d;
    return std::shared_ptr<void>(event, [d](void *e) {
      d->cuEventDestroy_v2(static_cast<cuda::CUevent>(e));
    });
  }
  void copyToHost(void *dst, const void *src, std::size_t bytes,
                  const std::shared_ptr<void> &ready) override {
    if (!ready) {
      synchronize();
      cuda::ScopedContext s;
      if (!s.ok ||
          !cuda::check("cuMemcpyDtoH",
                       s.d->cuMemcpyDtoH_v2(
                           dst, reinterpret_cast<cuda::CUdeviceptr>(src), bytes)))
        fail("copying " + std::to_string(bytes) + " bytes from the device");
      return;
    }
    // On the copy stream, after `ready` only: what was queued later keeps
    // the work stream busy meanwhile.
    cuda::ScopedContext s;
    cuda::CUstream copies = cuda::copyStream();
    if (!s.ok ||
        !cuda::check("cuStreamWaitEvent",
                     s.d->cuStreamWaitEvent(
                         copies, static_cast<cuda::CUevent>(ready.get()), 0)) ||
        !cuda::check("cuMemcpyDtoHAsync",
                     s.d->cuMemcpyDtoHAsync_v2(
                         dst, reinterpret_cast<cuda::CUdeviceptr>(src), bytes,
                         copies)) ||
        !cuda::check("cuStreamSynchronize", s.d->cuStreamSynchronize(copies)))
      fail("copying " + std::to_string(bytes) + " bytes from the device");
    if (std::string error = cuda::takeError(); !error.empty())
      throw std::runtime_error("on the GPU: " + error);
  }
  void copyWithinDevice(void *dst, const void *src, std::size_t bytes) override {
    cuda::ScopedContext s;
    if (!s.ok ||
        !cuda::check("cuMemcpyAsync",
                     s.d->cuMemcpyAsync(reinterpret_cast<cuda::CUdeviceptr>(dst),
                                        reinterpret_cast<cuda::CUdeviceptr>(src),
                                        bytes, cuda::stream())))
      fail("copying " + std::to_string(bytes) + " bytes on the device");
  }
  void synchronize() override {
    {
      cuda::ScopedContext s;
      if (s.ok)
        cuda::check("cuStreamSynchronize",
                    s.d->cuStreamSynchronize(cuda::stream()));
    }
    std::string error = cuda::takeError();
    if (!error.empty())
      throw std::runtime_error("on the GPU: " + error);
  }

private:
  [[noreturn]] void fail(const std::string &what) {
    std::string error = cuda::takeError();
    throw std::runtime_error("on the GPU, " + what + ": " +
                             (error.empty() ? "failed" : error));
  }
  std::string deviceName;
  PinnedStaging staging;
  cuda::StepGraphs graphs;
};

} // namespace

DeviceMemory &cudaDevice() {
  static CudaDevice *device = [] {
    cuda::DeviceInfo info = cuda::probeDevices();
    if (!info.available)
      throw std::runtime_error(info.reason);
    return new CudaDevice(info.name);
  }();
  return *device;
}

} // namespace bregman::runtime
