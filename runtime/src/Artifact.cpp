//===- Artifact.cpp - Run a compiled step without the compiler ------------===//

#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unistd.h>

namespace bregman::runtime {

namespace {
[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw std::runtime_error(where + ": " + what);
}

std::size_t elementBytes(const std::string &dtype, const std::string &where) {
  if (dtype == "f32" || dtype == "i32")
    return 4;
  if (dtype == "f64")
    return 8;
  fail(where, "unknown dtype '" + dtype + "'");
}

ArtifactTensor readTensor(const nlohmann::json &j, const std::string &where) {
  ArtifactTensor t;
  t.name = j.at("name").get<std::string>();
  t.dtype = j.at("dtype").get<std::string>();
  t.shape = j.at("shape").get<std::vector<int64_t>>();
  t.bytes = j.at("bytes").get<std::size_t>();
  t.offset = j.value("offset", std::size_t{0});
  t.alias = j.value("alias", -1);
  std::size_t numel = 1;
  for (int64_t d : t.shape) {
    if (d < 0)
      fail(where, "negative dimension in '" + t.name + "'");
    numel *= static_cast<std::size_t>(d);
  }
  if (numel * elementBytes(t.dtype, where) != t.bytes)
    fail(where, "'" + t.name + "': " + std::to_string(t.bytes) +
                    " bytes do not match its shape and dtype");
  return t;
}
/// The GEMM and convolution functions of CPU artifacts: in the process
/// already (bregman, which links them and exports them), or from the plugin
/// next to the executable (bregman-run).
void loadCpuKernels() {
  if (dlsym(RTLD_DEFAULT, "bregman_cpu_sgemm"))
    return;
  char self[4096] = {0};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "";
  dir = dir.substr(0, dir.find_last_of('/') + 1);
  std::string plugin = dir + "libbregman_cpu_kernels.so";
  if (!dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    const char *why = dlerror();
    fail(plugin, std::string("CPU artifacts need the CPU kernels plugin "
                             "(OpenBLAS, oneDNN) next to the executable: ") +
                     (why ? why : "not found"));
  }
}
} // namespace

std::unique_ptr<Artifact> Artifact::load(const std::string &dir) {
  std::unique_ptr<Artifact> a(new Artifact);
  a->sourceDir = dir;
  std::string manifestPath = dir + "/manifest.json";
  std::ifstream in(manifestPath);
  if (!in)
    fail(manifestPath, "cannot open (is " + dir + " a bregman artifact?)");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(in);
    if (manifest.at("format") != "bregman-step/1")
      fail(manifestPath, "unknown format " + manifest.at("format").dump());
    a->name = manifest.at("name").get<std::string>();
    a->device = manifest.at("device").get<std::string>();
    a->function = manifest.at("function").get<std::string>();
    for (const auto &j : manifest.at("inputs"))
      a->inputs.push_back(readTensor(j, manifestPath));
    for (const auto &j : manifest.value("outputs", nlohmann::json::array()))
      a->outputs.push_back(readTensor(j, manifestPath));
    if (manifest.contains("training"))
      a->training = manifest["training"].dump();
  } catch (const nlohmann::json::exception &e) {
    fail(manifestPath, std::string("malformed manifest: ") + e.what());
  }
  for (const ArtifactTensor &o : a->outputs)
    if (o.alias >= static_cast<int>(a->inputs.size()) ||
        (o.alias >= 0 && a->inputs[o.alias].bytes != o.bytes))
      fail(manifestPath, "output '" + o.name + "' aliases no matching input");

  if (a->device == "cuda")
    a->deviceMemory = &cudaDevice(); // throws "no CUDA device/driver found"
  else if (a->device != "cpu")
    fail(manifestPath, "unknown device '" + a->device + "'");

  // Initial values.
  std::string valuesPath = dir + "/values.bin";
  std::ifstream values(valuesPath, std::ios::binary);
  if (!values)
    fail(valuesPath, "cannot open");
  for (const ArtifactTensor &t : a->inputs) {
    auto buffer = Buffer::allocate(t.bytes, /*zero=*/false);
    values.seekg(static_cast<std::streamoff>(t.offset));
    if (!values.read(static_cast<char *>(buffer->data()),
                     static_cast<std::streamsize>(t.bytes)))
      fail(valuesPath, "truncated: '" + t.name + "' needs bytes " +
                           std::to_string(t.offset) + ".." +
                           std::to_string(t.offset + t.bytes));
    a->inputBuffers.push_back(std::move(buffer));
  }
  for (const ArtifactTensor &t : a->outputs)
    a->outputBuffers.push_back(t.alias >= 0 ? a->inputBuffers[t.alias]
                                            : Buffer::allocate(t.bytes));

  // The library calls the shared object makes resolve to this process: keep
  // every core symbol linked in (the tables take their addresses), and load
  // the CPU libraries' plugin where this process lacks them (bregman-run).
  for (const LibrarySymbol *s = coreLibrarySymbols(); s->name; ++s)
    (void)s;
  for (const LibrarySymbol *s = gpuLibrarySymbols(); s->name; ++s)
    (void)s;
  if (a->device == "cpu")
    loadCpuKernels();
  std::string libraryPath = dir + "/step.so";
  a->library = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->library) {
    const char *why = dlerror();
    fail(libraryPath, std::string("cannot load: ") + (why ? why : "?"));
  }
  a->entry = reinterpret_cast<void (*)(void **)>(
      dlsym(a->library, a->function.c_str()));
  if (!a->entry)
    fail(libraryPath, "has no entry point '" + a->function + "'");
  if (a->deviceMemory)
    if (std::string error = bregman_cuda_take_error(); !error.empty())
      fail(libraryPath, "loading its kernels failed: " + error);
  return a;
}

Artifact::~Artifact() {
  inputBuffers.clear();
  outputBuffers.clear();
  if (library)
    dlclose(library);
}

void Artifact::step() {
  std::vector<void *> pointers;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    bool written = std::any_of(outputs.begin(), outputs.end(), [&](auto &o) {
      return o.alias == static_cast<int>(i);
    });
    pointers.push_back(deviceMemory
                           ? inputBuffers[i]->deviceData(*deviceMemory, written)
                           : inputBuffers[i]->data());
  }
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].alias < 0)
      pointers.push_back(deviceMemory
                             ? outputBuffers[i]->deviceDataForOverwrite(
                                   *deviceMemory)
                             : outputBuffers[i]->data());
  std::vector<void *> slots;
  for (void *&p : pointers)
    slots.push_back(&p);
  entry(slots.data());
  if (deviceMemory) {
    if (std::string error = bregman_cuda_take_error(); !error.empty())
      throw std::runtime_error(name + ": on the GPU: " + error);
    if (std::shared_ptr<void> done = deviceMemory->recordEvent())
      for (auto &buffer : outputBuffers)
        buffer->setDeviceReady(done);
  }
}

void Artifact::saveTo(const std::string &dir) const {
  namespace fs = std::filesystem;
  fs::path target = fs::absolute(dir), tmp = target.string() + ".tmp";
  std::error_code ec;
  if (fs::exists(target) && !fs::is_empty(target, ec) &&
      !fs::exists(target / "manifest.json"))
    fail(target.string(), "exists and is not a bregman artifact");
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  for (const char *file : {"manifest.json", "step.so"})
    fs::copy_file(fs::path(sourceDir) / file, tmp / file);
  {
    std::ofstream values(tmp / "values.bin", std::ios::binary);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      values.seekp(static_cast<std::streamoff>(inputs[i].offset));
      values.write(static_cast<const char *>(input(i).data()),
                   static_cast<std::streamsize>(inputs[i].bytes));
    }
    if (!values)
      fail((tmp / "values.bin").string(), "write failed");
  }
  fs::remove_all(target, ec);
  fs::rename(tmp, target, ec);
  if (ec)
    fail(target.string(), "cannot move the artifact there: " + ec.message());
}

void Artifact::synchronize() {
  if (deviceMemory)
    deviceMemory->synchronize();
}

double Artifact::scalarOutput(std::size_t i) {
  const ArtifactTensor &t = outputs.at(i);
  const Buffer &b = *outputBuffers.at(i);
  const void *p = b.data();
  if (t.dtype == "f32")
    return *static_cast<const float *>(p);
  if (t.dtype == "f64")
    return *static_cast<const double *>(p);
  return *static_cast<const int32_t *>(p);
}

int runArtifactCommand(const std::string &dir, int steps, bool quiet) {
  try {
    std::unique_ptr<Artifact> step = Artifact::load(dir);
    std::printf("%s: %s on %s, %zu inputs, %zu outputs\n", dir.c_str(),
                step->name.c_str(), step->device.c_str(), step->inputs.size(),
                step->outputs.size());
    // The first call pays for uploads and the driver's first launches.
    step->step();
    step->synchronize();
    auto start = std::chrono::steady_clock::now();
    for (int k = 1; k <= steps; ++k) {
      step->step();
      if (quiet)
        continue;
      std::printf("call %d:", k);
      for (std::size_t i = 0; i < step->outputs.size(); ++i)
        if (step->outputs[i].bytes <= 8 && step->outputs[i].alias < 0)
          std::printf(" output %zu = %.6g", i, step->scalarOutput(i));
      std::printf("\n");
    }
    step->synchronize();
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    std::printf("%d calls: %.3f ms per call%s\n", steps, ms / steps,
                quiet ? "" : " (reading each call's results back)");
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace bregman::runtime
