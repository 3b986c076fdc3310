//===- GpuDeviceTest.cpp - Fused updates on a real GPU --------------------===//
//
// The fused LinBreg update compiled by bregman-gpu-pipeline (PTX for the
// device's generation, JIT-compiled by the driver) and launched through the
// runtime's mgpu* functions, on host buffers registered with the device
// (unified addressing: the same pointers work in kernels). Compared with a
// float64 reference of ALGORITHMS.md §2. Skips, saying why, without a GPU.
//
//===----------------------------------------------------------------------===//

#include "JitTestContext.h"
#include "breg/Jit/CpuJit.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <gtest/gtest.h>
#include <vector>

using namespace bregman::runtime;

namespace {

constexpr int64_t kN = 1000;

const char *kModule = R"mlir(
func.func @step(%theta: memref<1000xf32>, %v: memref<1000xf32>, %g: memref<1000xf32>,
                %lr: f32, %delta: f32, %lambda: f32) attributes {llvm.emit_c_interface} {
  %t = bufferization.to_tensor %theta restrict writable : memref<1000xf32> to tensor<1000xf32>
  %vv = bufferization.to_tensor %v restrict writable : memref<1000xf32> to tensor<1000xf32>
  %gg = bufferization.to_tensor %g restrict : memref<1000xf32> to tensor<1000xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %vv, %gg lr(%lr) delta(%delta) lambda(%lambda) : tensor<1000xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<1000xf32>, memref<1000xf32>) -> ()
  return
}
)mlir";

/// The C layout of a rank-1 memref descriptor.
struct Memref1D {
  float *allocated, *aligned;
  int64_t offset, size, stride;
};

/// Where the GPU pipeline cannot run (no CUDA toolkit: libdevice missing).
std::string toolkitProblem() {
  std::string libdevice = mlir::breg::GpuPipelineOptions().libdevice;
  return std::ifstream(libdevice) ? "" : libdevice + " is missing (CUDA toolkit)";
}

/// The GPU pipeline for device 0's generation (the driver's compute
/// capability; the stand-in driver reports its own), sm_90 where there is
/// none: PTX for a newer chip than the device's is refused by the driver.
std::string deviceChip() {
  cuda::DeviceInfo info = cuda::probeDevices();
  if (!info.available)
    return "sm_90";
  return "sm_" + std::to_string(info.major) + std::to_string(info.minor);
}

/// The update compiled by the GPU pipeline, its host code JIT-compiled with
/// the runtime's mgpu* functions (which load the kernel module at once).
llvm::Expected<std::unique_ptr<mlir::breg::CpuExecutable>>
compileForGpu(mlir::MLIRContext &context) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  if (!module)
    return llvm::createStringError("the test module does not parse");
  mlir::breg::CpuJitOptions options;
  mlir::breg::GpuPipelineOptions gpu;
  gpu.chip = deviceChip();
  options.pipelineText = mlir::breg::gpuPipelineText(gpu);
  for (const LibrarySymbol *s = gpuLibrarySymbols(); s->name; ++s)
    options.symbols[s->name] = s->address;
  return mlir::breg::CpuExecutable::compile(*module, options);
}

// Without a GPU too: the host code links against every mgpu* function, and
// loading the kernel module reports the missing driver or device.
TEST(GpuDevice, HostCodeLinksAgainstTheRuntime) {
  if (std::string problem = toolkitProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  bregman_cuda_take_error();
  auto exe = compileForGpu(jitTestContext());
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  std::string error = bregman_cuda_take_error();
  if (cuda::probeDevices().available)
    EXPECT_EQ(error, "");
  else
    EXPECT_NE(error.find("CUDA"), std::string::npos) << error;
}

TEST(GpuDevice, FusedLinBregUpdateMatchesReference) {
  cuda::DeviceInfo info = cuda::probeDevices();
  if (!info.available)
    GTEST_SKIP() << info.reason;
  std::cout << "device: " << info.name << "\n";
  auto exe = compileForGpu(jitTestContext());
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());

  std::vector<float> theta(kN, 0.0f), v(kN), g(kN);
  for (int64_t i = 0; i < kN; ++i) {
    v[i] = std::sin(0.37f * i);
    g[i] = std::cos(0.11f * i);
  }
  std::vector<float> v0 = v;
  const cuda::Driver *d = cuda::driver();
  for (std::vector<float> *buf : {&theta, &v, &g})
    ASSERT_EQ(d->cuMemHostRegister_v2(buf->data(), kN * sizeof(float),
                                      /*PORTABLE|DEVICEMAP=*/0x3),
              cuda::CUDA_SUCCESS);

  Memref1D mt{theta.data(), theta.data(), 0, kN, 1};
  Memref1D mv{v.data(), v.data(), 0, kN, 1};
  Memref1D mg{g.data(), g.data(), 0, kN, 1};
  Memref1D *pt = &mt, *pv = &mv, *pg = &mg;
  float lr = 0.1f, delta = 1.5f, lambda = 0.3f;
  void *args[] = {&pt, &pv, &pg, &lr, &delta, &lambda};
  llvm::Error err = (*exe)->invoke("_mlir_ciface_step", args);
  ASSERT_FALSE(static_cast<bool>(err)) << llvm::toString(std::move(err));
  // The work is queued on the runtime's stream; wait for it.
  ASSERT_NO_THROW(cudaDevice().synchronize());
  for (std::vector<float> *buf : {&theta, &v, &g})
    d->cuMemHostUnregister(buf->data());

  for (int64_t i = 0; i < kN; ++i) {
    double nv = double(v0[i]) - double(lr) * g[i];
    double x = delta * nv, t = double(delta) * lambda;
    double want = std::copysign(std::max(std::fabs(x) - t, 0.0), x);
    EXPECT_NEAR(v[i], nv, 1e-6) << i;
    EXPECT_NEAR(theta[i], want, 1e-5) << i;
  }
}

// A whole MLP training step (the module of tests/lit/Inputs/mlp-step.mlir)
// through the GPU pipeline, its host code linked against the runtime: every
// symbol (mgpu*, bregman_gpu_sgemm) resolves, with or without a GPU.
TEST(GpuDevice, WholeStepHostCodeLinksAgainstTheRuntime) {
  if (std::string problem = toolkitProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  std::ifstream in(BREGMAN_MLP_STEP_MLIR);
  ASSERT_TRUE(in) << BREGMAN_MLP_STEP_MLIR;
  std::stringstream text;
  text << in.rdbuf();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text.str(), &jitTestContext());
  ASSERT_TRUE(module);
  mlir::breg::CpuJitOptions options;
  mlir::breg::GpuPipelineOptions gpu;
  gpu.chip = deviceChip();
  gpu.barePtrCallConv = true;
  options.pipelineText = mlir::breg::gpuPipelineText(gpu);
  for (const LibrarySymbol *s = gpuLibrarySymbols(); s->name; ++s)
    options.symbols[s->name] = s->address;
  bregman_cuda_take_error();
  auto exe = mlir::breg::CpuExecutable::compile(*module, options);
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  std::string error = bregman_cuda_take_error();
  if (cuda::probeDevices().available)
    EXPECT_EQ(error, "");
}

TEST(GpuDevice, ProbeExplainsAbsence) {
  cuda::DeviceInfo info = cuda::probeDevices();
  if (info.available) {
    EXPECT_GT(info.count, 0);
    EXPECT_FALSE(info.name.empty());
  } else {
    EXPECT_NE(info.reason.find("CUDA"), std::string::npos) << info.reason;
  }
}

} // namespace
