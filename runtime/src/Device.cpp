//===- Device.cpp - The host-mirror device --------------------------------===//

#include "bregman/runtime/Device.h"
#include "bregman/runtime/Buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace bregman::runtime {

DeviceMemory::~DeviceMemory() = default;

void DeviceMemory::submitStep(const std::vector<const void *> &,
                              const std::function<void()> &run) {
  run();
}

std::string DeviceMemory::stepProfile() const { return ""; }

namespace {
/// Separate host allocations play the device's memory: a value read from the
/// wrong side is stale, as it would be on a GPU.
class HostMirrorDevice final : public DeviceMemory {
public:
  std::string name() const override { return "host mirror"; }
  void *allocate(std::size_t bytes) override {
    void *p = std::aligned_alloc(64, ((bytes + 63) / 64) * 64 + 64);
    if (!p)
      throw AllocationFailure(bytes);
    // Garbage, not zeros: a missing upload must not go unnoticed.
    std::memset(p, 0x7f, bytes);
    return p;
  }
  void release(void *ptr) override { std::free(ptr); }
  void copyToDevice(void *dst, const void *src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  std::shared_ptr<void> recordEvent() override { return nullptr; }
  void copyToHost(void *dst, const void *src, std::size_t bytes,
                  const std::shared_ptr<void> &) override {
    std::memcpy(dst, src, bytes);
  }
  void copyWithinDevice(void *dst, const void *src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void synchronize() override {}
};
} // namespace

DeviceMemory &hostMirrorDevice() {
  static HostMirrorDevice device;
  return device;
}

} // namespace bregman::runtime
