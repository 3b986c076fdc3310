//===- Buffer.cpp - Memory for tensors, on the host and a device ----------===//

#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/Device.h"
#include "bregman/runtime/InputFile.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

using namespace bregman::runtime;

AllocationFailure::AllocationFailure(std::size_t bytes)
    : message("out of memory: " + formatBytes(bytes) +
              " could not be allocated") {}

std::shared_ptr<Buffer> Buffer::allocate(std::size_t bytes, bool zero) {
  // 64-byte alignment: a cache line, and the widest vector load (AVX-512).
  std::size_t rounded = ((bytes + 63) / 64) * 64;
  void *data = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!data)
    throw AllocationFailure(bytes);
  if (zero)
    std::memset(data, 0, rounded == 0 ? 64 : rounded);
  return std::shared_ptr<Buffer>(new Buffer(data, bytes));
}

Buffer::~Buffer() {
  if (deviceData_)
    device_->release(deviceData_);
  std::free(data_);
}

void Buffer::syncToHost() const {
  if (hostCurrent_)
    return;
  device_->copyToHost(data_, deviceData_, bytes_, ready_);
  hostCurrent_ = true;
}

void *Buffer::data() {
  syncToHost();
  deviceCurrent_ = false; // the caller may write
  return data_;
}

const void *Buffer::data() const {
  syncToHost();
  return data_;
}

void Buffer::ensureDeviceAllocation(DeviceMemory &device) {
  if (device_ && device_ != &device)
    throw std::runtime_error("a buffer on " + device_->name() +
                             " is used on " + device.name() +
                             ": buffers live on one device");
  if (!deviceData_) {
    device_ = &device;
    deviceData_ = device.allocate(bytes_);
  }
}

void *Buffer::deviceData(DeviceMemory &device, bool willWrite) {
  ensureDeviceAllocation(device);
  if (willWrite)
    ready_.reset(); // until the writer sets its marker
  if (!deviceCurrent_) {
    device.copyToDevice(deviceData_, data_, bytes_);
    deviceCurrent_ = true;
  }
  if (willWrite)
    hostCurrent_ = false;
  return deviceData_;
}

void *Buffer::deviceDataForOverwrite(DeviceMemory &device) {
  ensureDeviceAllocation(device);
  ready_.reset(); // until the writer sets its marker
  deviceCurrent_ = true;
  hostCurrent_ = false;
  return deviceData_;
}
