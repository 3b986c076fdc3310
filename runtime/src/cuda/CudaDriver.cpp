//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//

#include "bregman/runtime/CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

namespace bregman::runtime::cuda {

namespace {
struct Loaded {
  Driver driver;
  bool ok = false;
  std::string reason;
};

Loaded load() {
  Loaded l;
  // The driver installs libcuda.so.1 (the unversioned name is the toolkit's
  // link-time stub, which must never be loaded).
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    l.reason = std::string("no CUDA driver found (dlopen libcuda.so.1: ") +
               (why ? why : "not found") + ")";
    return l;
  }
#define BREGMAN_CU_SYMBOL(name, ...)                                           \
  l.driver.name = reinterpret_cast<decltype(l.driver.name)>(dlsym(lib, #name)); \
  if (!l.driver.name) {                                                        \
    l.reason = "the CUDA driver lacks " #name " (driver too old?)";            \
    return l;                                                                  \
  }
#include "bregman/runtime/CudaSymbols.def"
#undef BREGMAN_CU_SYMBOL
  l.driver.cuFuncGetParamInfo = reinterpret_cast<decltype(
      l.driver.cuFuncGetParamInfo)>(dlsym(lib, "cuFuncGetParamInfo"));
  if (CUresult r = l.driver.cuInit(0); r != CUDA_SUCCESS) {
    l.reason = "no CUDA device/driver usable: " + [&] {
      const char *s = nullptr;
      l.driver.cuGetErrorString(r, &s);
      return std::string(s ? s : "cuInit failed");
    }();
    return l;
  }
  l.ok = true;
  return l;
}
} // namespace

const Driver *driver(std::string *reason) {
  static Loaded loaded = load();
  if (!loaded.ok) {
    if (reason)
      *reason = loaded.reason;
    return nullptr;
  }
  return &loaded.driver;
}

DeviceInfo probeDevices() {
  DeviceInfo info;
  const Driver *d = driver(&info.reason);
  if (!d)
    return info;
  if (CUresult r = d->cuDeviceGetCount(&info.count); r != CUDA_SUCCESS) {
    info.reason = "no CUDA device: " + describe("cuDeviceGetCount", r);
    return info;
  }
  if (info.count == 0) {
    info.reason = "no CUDA device found (the driver reports 0 devices)";
    return info;
  }
  CUdevice device = 0;
  char name[256] = {0};
  if (d->cuDeviceGet(&device, 0) == CUDA_SUCCESS &&
      d->cuDeviceGetName(name, sizeof(name), device) == CUDA_SUCCESS)
    info.name = name;
  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR.
  d->cuDeviceGetAttribute(&info.major, 75, device);
  d->cuDeviceGetAttribute(&info.minor, 76, device);
  info.available = true;
  return info;
}

std::string describe(const char *call, CUresult result) {
  const Driver *d = driver();
  const char *name = nullptr, *text = nullptr;
  if (d) {
    d->cuGetErrorName(result, &name);
    d->cuGetErrorString(result, &text);
  }
  return std::string(call) + " failed: " +
         (name ? name : "CUDA error " + std::to_string(result)) +
         (text ? std::string(" (") + text + ")" : std::string());
}

} // namespace bregman::runtime::cuda
