//===- CudaDevice.cpp - DeviceMemory on CUDA device 0 ---------------------===//

#include "CudaContext.h"
#include "bregman/runtime/Device.h"

#include <stdexcept>

namespace bregman::runtime {
namespace {

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
    if (!s.ok || !cuda::check("cuMemcpyHtoDAsync",
                              s.d->cuMemcpyHtoDAsync_v2(
                                  reinterpret_cast<cuda::CUdeviceptr>(dst), src,
                                  bytes, cuda::stream())))
      fail("copying " + std::to_string(bytes) + " bytes to the device");
  }
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
