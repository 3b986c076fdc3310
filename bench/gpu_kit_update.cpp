//===- gpu_kit_update.cpp - The fused update alone, as kit artifacts ------===//
//
// bregman_kit_update DIR [--elements N] [--chip sm_90]: writes DIR/cuda (for
// the chip, no GPU needed) and DIR/cpu, artifacts of the fused LinBreg update
// with the l1 regularizer (theta, v donated: it runs in place) on N floats,
// with the same initial state, so that the GPU kit (scripts/gpu-kit.sh) can
// check the device's result against the CPU's and time the update alone
// against a device-to-device copy of the same bytes (bregman-run
// --copy-bytes). The update reads v and g and writes v and theta: 16 bytes
// per element. The state repeats with a period of about 1,000 elements, so
// the artifacts' values gzip to a few hundred KiB.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>

using namespace bregman;

namespace {

/// amplitude * sin over a period of `period` elements (prime periods, so the
/// operands' patterns do not line up).
Tensor periodic(int64_t n, int period, float amplitude) {
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    values[i] = amplitude * std::sin(6.2831853f * float(i % period) / period);
  return Tensor::fromVector(values, {n});
}

void save(const std::string &dir, Device device, const std::string &chip,
          int64_t n) {
  auto update = jit(
      [](const Tensor &theta, const Tensor &v, const Tensor &g,
         const Tensor &lr, const Tensor &delta, const Tensor &lambda) {
        std::vector<Tensor> r =
            linbregUpdate(Regularizer::L1, theta, v, g, lr, delta, lambda);
        return std::make_tuple(r[0], r[1]);
      },
      JitOptions{{0, 1}, "kit_linbreg_update", device, chip});
  update.save(dir, Tensor::zeros({n}), periodic(n, 1021, 0.2f),
              periodic(n, 997, 0.05f), Tensor::scalar(0.1f),
              Tensor::scalar(1.0f), Tensor::scalar(0.1f));
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Write the fused LinBreg update as CUDA and CPU artifacts"};
  std::string dir, chip = "sm_90";
  int64_t elements = int64_t(1) << 24;
  app.add_option("dir", dir, "Output directory (gets cuda/ and cpu/)")
      ->required();
  app.add_option("--elements", elements, "Floats per tensor")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 28))
      ->capture_default_str();
  app.add_option("--chip", chip, "GPU generation of the CUDA artifact")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(dir); // save() makes cuda/, cpu/
    save(dir + "/cuda", Device::Cuda, chip, elements);
    save(dir + "/cpu", Device::Cpu, "", elements);
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
