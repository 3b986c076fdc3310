//===- Artifact.cpp - Run a compiled step without the compiler ------------===//

#include "bregman/runtime/Artifact.h"
#include "CommandBoundary.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"
#include "bregman/runtime/Inference.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/SafeWrite.h"
#include "bregman/runtime/TensorProto.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cerrno>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace bregman::runtime {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw std::runtime_error(where + ": " + printableText(what));
}

std::size_t elementBytes(const std::string &dtype, const std::string &where) {
  if (dtype == "f32" || dtype == "i32")
    return 4;
  if (dtype == "f64")
    return 8;
  fail(where, "unknown dtype '" + dtype + "'");
}

/// A count or offset of the manifest: a non-negative integer (a negative
/// one converted to size_t was printed as 18446744073709551611).
std::size_t sizeField(const nlohmann::json &j, const char *field,
                      const std::string &name, const std::string &where) {
  const nlohmann::json &v = j.at(field);
  if (!v.is_number_integer() ||
      (!v.is_number_unsigned() && v.get<int64_t>() < 0))
    fail(where, "'" + name + "': \"" + field + "\" is " + v.dump() +
                    ", not a count of bytes");
  return v.get<std::size_t>();
}

ArtifactTensor readTensor(const nlohmann::json &j, const std::string &where) {
  ArtifactTensor t;
  t.name = j.at("name").get<std::string>();
  t.dtype = j.at("dtype").get<std::string>();
  t.shape = j.at("shape").get<std::vector<int64_t>>();
  t.bytes = sizeField(j, "bytes", t.name, where);
  t.offset = j.contains("offset") ? sizeField(j, "offset", t.name, where) : 0;
  t.stored = j.value("stored", true);
  t.alias = j.value("alias", -1);
  long double numel = 1; // no overflow on hostile shapes
  for (int64_t d : t.shape) {
    if (d < 0)
      fail(where, "negative dimension in '" + t.name + "'");
    numel *= static_cast<long double>(d);
  }
  if (numel * elementBytes(t.dtype, where) != static_cast<long double>(t.bytes))
    fail(where, "'" + t.name + "': " + std::to_string(t.bytes) +
                    " bytes do not match its shape and dtype");
  return t;
}
/// step.so's ELF headers against its size: dlopen maps what they describe,
/// and touching a page past the end of a truncated file is SIGBUS.
void checkSharedObject(const std::string &path) {
  // stat() without opening: opening a FIFO would block.
  requireRegularFile<std::runtime_error>(path, "artifact's shared object");
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  Elf64_Ehdr h{};
  if (!in.read(reinterpret_cast<char *>(&h), sizeof(h)) ||
      std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
    fail(path, "not a shared object (no ELF header)");
#if defined(__x86_64__)
  const int machine = EM_X86_64;
#elif defined(__aarch64__)
  const int machine = EM_AARCH64;
#else
  const int machine = h.e_machine;
#endif
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_type != ET_DYN ||
      h.e_machine != machine || h.e_phentsize != sizeof(Elf64_Phdr) ||
      (h.e_shnum && h.e_shentsize != sizeof(Elf64_Shdr)))
    fail(path, "not a shared object for this machine");
  // Every extent the headers name, in 64 bits (counts are 16-bit: no
  // overflow unless an offset is absurd, which then exceeds the size).
  uint64_t end = std::max<uint64_t>(
      h.e_phoff + uint64_t{h.e_phnum} * h.e_phentsize,
      h.e_shoff + uint64_t{h.e_shnum} * h.e_shentsize);
  if (h.e_phoff < size && end <= size) {
    std::vector<Elf64_Phdr> ph(h.e_phnum);
    in.seekg(static_cast<std::streamoff>(h.e_phoff));
    in.read(reinterpret_cast<char *>(ph.data()),
            static_cast<std::streamsize>(ph.size() * sizeof(Elf64_Phdr)));
    for (const Elf64_Phdr &p : ph)
      if (p.p_type == PT_LOAD)
        end = std::max(end, p.p_offset > size ? UINT64_MAX
                                              : p.p_offset + p.p_filesz);
  }
  if (end > size || h.e_phoff > size || h.e_shoff > size)
    fail(path, "truncated: " + std::to_string(size) +
                   " bytes, fewer than its ELF headers describe");
}

/// `name`'s address if step.so itself defines it (dlsym on a handle also
/// searches the object's dependencies, e.g. libc); its ELF symbol in `sym`.
void *ownSymbol(void *library, const char *name, const ElfW(Sym) **sym) {
  void *address = dlsym(library, name);
  struct link_map *map = nullptr;
  Dl_info info{};
  void *entry = nullptr;
  if (!address || dlinfo(library, RTLD_DI_LINKMAP, &map) != 0 || !map ||
      !dladdr1(address, &info, &entry, RTLD_DL_SYMENT) || !entry ||
      info.dli_saddr != address || !info.dli_fname ||
      std::strcmp(info.dli_fname, map->l_name) != 0)
    return nullptr;
  *sym = static_cast<const ElfW(Sym) *>(entry);
  return address;
}

/// Compares the manifest's inputs or outputs with the signature's, field by
/// field: the first disagreement is named.
void compareTensors(const std::vector<ArtifactTensor> &tensors,
                    const nlohmann::json &signed_, const std::string &kind,
                    const std::string &manifestPath) {
  if (!signed_.is_array() || signed_.size() != tensors.size())
    fail(manifestPath, std::to_string(tensors.size()) + " " + kind +
                           ", but step.so's signature has " +
                           std::to_string(signed_.size()));
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const ArtifactTensor &t = tensors[i];
    nlohmann::json mine{{"name", t.name},   {"dtype", t.dtype},
                        {"shape", t.shape}, {"bytes", t.bytes},
                        {"alias", t.alias}};
    for (const char *field : {"name", "dtype", "shape", "bytes", "alias"}) {
      nlohmann::json theirs = signed_[i].value(field, nlohmann::json(-1));
      if (mine[field] != theirs)
        fail(manifestPath, kind + "[" + std::to_string(i) + "] ('" + t.name +
                               "'): " + field + " " + mine[field].dump() +
                               " disagrees with step.so's signature (" +
                               theirs.dump() + ")");
    }
  }
}

/// The manifest against the signature compiled into step.so.
void checkSignature(void *library, const Artifact &a,
                    const std::string &libraryPath,
                    const std::string &manifestPath) {
  const ElfW(Sym) *sym = nullptr;
  auto *text = static_cast<const char *>(
      ownSymbol(library, Artifact::signatureSymbol, &sym));
  if (!text || sym->st_size == 0 || sym->st_size > (64u << 20))
    fail(libraryPath, std::string("has no signature (") +
                          Artifact::signatureSymbol +
                          "): not a bregman artifact, or one saved by an "
                          "older bregman; save it again");
  nlohmann::json signature = nlohmann::json::parse(
      text, text + strnlen(text, sym->st_size), nullptr, /*allow_exceptions=*/false);
  if (!signature.is_object() ||
      signature.value("format", "") != Artifact::signatureFormat)
    fail(libraryPath, "malformed signature");
  for (const auto &[field, mine] :
       {std::pair<const char *, std::string>{"entry", a.function},
        {"device", a.device}})
    if (signature.value(field, "") != mine)
      fail(manifestPath,
           std::string(field == std::string("entry") ? "function" : field) +
               " '" + mine + "' disagrees with step.so's signature ('" +
               signature.value(field, "") + "')");
  if (signature.value("id", "") != a.id)
    fail(manifestPath,
         "belongs to another step.so (its id is '" + a.id +
             "', step.so's is '" + signature.value("id", "") +
             "'): the files of two artifacts were mixed; save it again");
  compareTensors(a.inputs, signature["inputs"], "inputs", manifestPath);
  compareTensors(a.outputs, signature["outputs"], "outputs", manifestPath);
}

/// Each alias names an input (or -1), of the output's dtype and shape, and
/// no input is overwritten by two outputs.
void checkAliases(const ArtifactManifest &a, const std::string &manifestPath) {
  std::vector<int> writer(a.inputs.size(), -1);
  int n = static_cast<int>(a.inputs.size());
  for (std::size_t i = 0; i < a.outputs.size(); ++i) {
    const ArtifactTensor &o = a.outputs[i];
    if (o.alias < -1 || o.alias >= n)
      fail(manifestPath, "output '" + o.name + "': alias " +
                             std::to_string(o.alias) +
                             " is out of range (-1: none; 0.." +
                             std::to_string(n - 1) + ": an input)");
    if (o.alias < 0)
      continue;
    const ArtifactTensor &in = a.inputs[o.alias];
    if (in.bytes != o.bytes || in.dtype != o.dtype || in.shape != o.shape)
      fail(manifestPath, "output '" + o.name + "' aliases no matching input");
    if (!in.stored) // saveTo would lose the state it carries
      fail(manifestPath, "output '" + o.name + "' overwrites input '" +
                             in.name + "', which is not stored");
    if (int &w = writer[o.alias]; w >= 0)
      fail(manifestPath, "outputs '" + a.outputs[w].name + "' and '" + o.name +
                             "' both overwrite input " +
                             std::to_string(o.alias));
    else
      w = static_cast<int>(i);
  }
}

/// The GEMM and convolution functions of CPU artifacts: in the process
/// already (bregman and programs linking libbregman_runtime.so export them),
/// or from the plugin next to the executable (bregman-run in the build tree)
/// or in ../lib/bregman/ from it (an installed bregman-run, wherever the
/// prefix was moved to).
void loadCpuKernels() {
  if (dlsym(RTLD_DEFAULT, "bregman_cpu_sgemm"))
    return;
  char self[4096] = {0};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "";
  dir = dir.substr(0, dir.find_last_of('/') + 1);
  const char *name = "libbregman_cpu_kernels.so";
  std::string tried;
  for (const std::string &plugin :
       {dir + name, dir + "../lib/bregman/" + name}) {
    if (dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL))
      return;
    const char *why = dlerror();
    tried += (tried.empty() ? "" : "; ") + (why ? std::string(why) : plugin);
  }
  fail(dir + name, "CPU artifacts need the CPU kernels plugin (OpenBLAS, "
                   "oneDNN) next to the executable or in ../lib/bregman/: " +
                       tried);
}
} // namespace

/// Refuses anything but a regular file before it is opened (a FIFO would
/// block the open forever); a missing file is left to the caller's message.
static void requireRegularIfPresent(const std::string &path, const std::string &what) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    requireRegularFile<std::runtime_error>(path, what);
}

ArtifactManifest parseArtifactManifest(const std::string &text, const std::string &where) {
  ArtifactManifest m;
  try {
    nlohmann::json manifest = nlohmann::json::parse(text);
    if (!manifest.is_object())
      fail(where, "malformed manifest: not a JSON object");
    if (manifest.at("format") != "bregman-step/1")
      fail(where, "unknown format " + manifest.at("format").dump());
    m.name = manifest.at("name").get<std::string>();
    m.device = manifest.at("device").get<std::string>();
    m.function = manifest.at("function").get<std::string>();
    m.id = manifest.value("id", std::string());
    for (const auto &j : manifest.at("inputs"))
      m.inputs.push_back(readTensor(j, where));
    for (const auto &j : manifest.value("outputs", nlohmann::json::array()))
      m.outputs.push_back(readTensor(j, where));
    if (manifest.contains("training"))
      m.training = manifest["training"].dump();
    if (manifest.contains("inference"))
      m.inference = manifest["inference"].dump();
  } catch (const nlohmann::json::exception &e) {
    fail(where, std::string("malformed manifest: ") + e.what());
  }
  checkAliases(m, where);
  if (!m.inference.empty())
    (void)parseInferenceEntry(m.inference, m.inputs, m.outputs, where);
  return m;
}

namespace {

/// One field of the training entry, of its type, or an error naming it.
template <typename T>
T trainingField(const nlohmann::json &t, const char *field,
                const std::string &where) {
  if (!t.contains(field))
    fail(where, std::string("\"training\".") + field + ": missing");
  try {
    return t.at(field).get<T>();
  } catch (const nlohmann::json::exception &) {
    fail(where, std::string("\"training\".") + field + ": " +
                    t.at(field).dump() + " is of the wrong type");
  }
}

/// An index into `tensors` (inputs or outputs), as the field names it.
std::size_t trainingIndex(const nlohmann::json &t, const char *field,
                          const std::vector<ArtifactTensor> &tensors,
                          const char *kind, const std::string &where) {
  auto index = trainingField<int64_t>(t, field, where);
  if (index < 0 || static_cast<uint64_t>(index) >= tensors.size())
    fail(where, std::string("\"training\".") + field + ": " +
                    std::to_string(index) + " is not one of the " +
                    std::to_string(tensors.size()) + " " + kind);
  return static_cast<std::size_t>(index);
}

} // namespace

TrainingSpec parseTrainingEntry(const std::string &json,
                                const std::vector<ArtifactTensor> &inputs,
                                const std::vector<ArtifactTensor> &outputs,
                                const std::string &where) {
  nlohmann::json t = nlohmann::json::parse(json, nullptr, false);
  if (!t.is_object())
    fail(where, "\"training\": not a JSON object");
  TrainingSpec e;
  e.dataset = trainingField<std::string>(t, "dataset", where);
  e.dataDir = trainingField<std::string>(t, "data_dir", where);
  e.mean = trainingField<double>(t, "mean", where);
  e.std = trainingField<double>(t, "std", where);
  e.seed = trainingField<uint64_t>(t, "seed", where);
  e.valFraction = trainingField<double>(t, "val_fraction", where);
  e.trainLimit = trainingField<int64_t>(t, "train_limit", where);
  e.batch = trainingField<int64_t>(t, "batch_size", where);
  e.xInput = trainingIndex(t, "x_input", inputs, "inputs", where);
  e.yInput = trainingIndex(t, "y_input", inputs, "inputs", where);
  e.lossOutput = trainingIndex(t, "loss_output", outputs, "outputs", where);
  e.correctOutput =
      trainingIndex(t, "correct_output", outputs, "outputs", where);
  if (!(e.valFraction >= 0 && e.valFraction < 1))
    fail(where, "\"training\".val_fraction: must be in [0, 1)");
  if (e.trainLimit == 0 || e.trainLimit < -1)
    fail(where,
         "\"training\".train_limit: must be -1 (all) or a positive count");
  if (e.batch < 1)
    fail(where, "\"training\".batch_size: must be positive");
  for (auto [field, index] : {std::pair{"loss_output", e.lossOutput},
                              {"correct_output", e.correctOutput}}) {
    const ArtifactTensor &out = outputs[index];
    // One element: its bytes are one of its dtype's (shape checked with them).
    if (out.bytes != elementBytes(out.dtype, where))
      fail(where, std::string("\"training\".") + field + ": output " +
                      std::to_string(index) + " ('" + out.name + "') is " +
                      out.dtype + shapeText(out.shape) + ", not a scalar");
  }
  return e;
}

void checkArtifactValues(const std::vector<ArtifactTensor> &inputs, uint64_t valuesBytes,
                         const std::string &where) {
  for (const ArtifactTensor &t : inputs)
    if (t.stored &&
        (t.offset > valuesBytes || t.bytes > valuesBytes - t.offset))
      fail(where, "truncated: '" + t.name + "' needs bytes " + std::to_string(t.offset) +
                      ".." + std::to_string(uint64_t(t.offset) + t.bytes) + ", the file has " +
                      std::to_string(valuesBytes));
  for (const ArtifactTensor &t : inputs)
    requireAllocation<std::runtime_error>(t.bytes, 1, where + ": input '" + t.name + "'");
}

std::unique_ptr<Artifact> Artifact::load(const std::string &dir) {
  std::unique_ptr<Artifact> a(new Artifact);
  a->sourceDir = dir;
  std::string manifestPath = dir + "/manifest.json";
  requireRegularIfPresent(manifestPath, "artifact manifest");
  std::ifstream in(manifestPath);
  if (!in)
    fail(manifestPath, "cannot open (is " + dir + " a bregman artifact?)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ArtifactManifest manifest = parseArtifactManifest(text, manifestPath);
  a->name = manifest.name;
  a->device = manifest.device;
  a->function = manifest.function;
  a->id = manifest.id;
  a->inputs = std::move(manifest.inputs);
  a->outputs = std::move(manifest.outputs);
  a->training = manifest.training;
  a->inference = manifest.inference;
  if (a->function.rfind("_mlir_", 0) != 0)
    fail(manifestPath, "function '" + a->function +
                           "' is not an artifact's entry point (_mlir_<name>)");
  std::string libraryPath = dir + "/step.so";
  requireRegularFile<std::runtime_error>(dir + "/values.bin", "artifact values");
  checkSharedObject(libraryPath);

  if (a->device == "cuda")
    a->deviceMemory = &cudaDevice(); // throws "no CUDA device/driver found"
  else if (a->device != "cpu")
    fail(manifestPath, "unknown device '" + a->device + "'");

  // The library calls the shared object makes resolve to this process: keep
  // every core symbol linked in (the tables take their addresses), and load
  // the CPU libraries' plugin where this process lacks them (bregman-run).
  for (const LibrarySymbol *s = coreLibrarySymbols(); s->name; ++s)
    (void)s;
  for (const LibrarySymbol *s = gpuLibrarySymbols(); s->name; ++s)
    (void)s;
  if (a->device == "cpu")
    loadCpuKernels();
  a->library = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->library) {
    const char *why = dlerror();
    fail(libraryPath, std::string("cannot load: ") + (why ? why : "?"));
  }
  checkSignature(a->library, *a, libraryPath, manifestPath);
  const ElfW(Sym) *sym = nullptr;
  a->entry = reinterpret_cast<void (*)(void **)>(
      ownSymbol(a->library, a->function.c_str(), &sym));
  if (!a->entry || ELF64_ST_TYPE(sym->st_info) != STT_FUNC)
    fail(libraryPath, "has no entry point '" + a->function + "'");
  if (a->deviceMemory)
    if (std::string error = bregman_cuda_take_error(); !error.empty())
      fail(libraryPath, "loading its kernels failed: " + error);

  // Initial values.
  std::string valuesPath = dir + "/values.bin"; // a regular file (above)
  std::ifstream values(valuesPath, std::ios::binary);
  if (!values)
    fail(valuesPath, "cannot open");
  std::error_code ec;
  checkArtifactValues(a->inputs, std::filesystem::file_size(valuesPath, ec), valuesPath);
  for (const ArtifactTensor &t : a->inputs) {
    auto buffer = Buffer::allocate(t.bytes, /*zero=*/!t.stored);
    if (!t.stored) {
      a->inputBuffers.push_back(std::move(buffer));
      continue;
    }
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
  return a;
}

Artifact::~Artifact() {
  inputBuffers.clear();
  outputBuffers.clear();
  if (library)
    dlclose(library);
}

void Artifact::step() {
  std::vector<void *> &pointers = callPointers;
  pointers.clear();
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
  std::vector<void *> &slots = callSlots;
  slots.clear();
  for (void *&p : pointers)
    slots.push_back(&p);
  if (deviceMemory) {
    // The same step on the same device addresses: replayable (Device.h).
    std::vector<const void *> signature{reinterpret_cast<const void *>(entry)};
    signature.insert(signature.end(), pointers.begin(), pointers.end());
    deviceMemory->submitStep(signature, [&] { entry(slots.data()); });
  } else {
    entry(slots.data());
  }
  if (deviceMemory) {
    if (std::string error = bregman_cuda_take_error(); !error.empty())
      throw std::runtime_error(name + ": on the GPU: " + error);
    if (std::shared_ptr<void> done = deviceMemory->recordEvent())
      for (auto &buffer : outputBuffers)
        buffer->setDeviceReady(done);
  }
}

std::string artifactOwnership(const std::string &dir) {
  // Exactly what Jitted::save writes: these regular files, and a manifest
  // with our format marker. Anything else is the user's.
  static const char *const ours[] = {"manifest.json", "values.bin", "step.so"};
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (std::find(std::begin(ours), std::end(ours), name) == std::end(ours))
      return "exists and is not a bregman artifact (it holds '" + name +
             "', which an artifact does not); choose another directory";
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec))
      return "exists and is not a bregman artifact ('" + name +
             "' is not a regular file); choose another directory";
  }
  if (ec)
    return "cannot be read: " + ec.message();
  std::ifstream in(dir + "/manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
  if (!in || manifest.is_discarded() || !manifest.is_object() ||
      manifest.value("format", "") != kArtifactFormat)
    return "exists and is not a bregman artifact (no manifest.json with "
           "format " + std::string(kArtifactFormat) +
           "); choose another directory";
  return "";
}

void Artifact::saveTo(const std::string &dir) const {
  namespace fs = std::filesystem;
  replaceDirectory(dir, "saving the artifact", artifactOwnership,
                   [&](const std::string &tmp) {
                     for (const char *file : {"manifest.json", "step.so"})
                       fs::copy_file(fs::path(sourceDir) / file,
                                     fs::path(tmp) / file);
                     AtomicFile values(tmp + "/values.bin",
                                       "saving the artifact",
                                       anyExistingFile());
                     std::vector<char> bytes;
                     for (std::size_t i = 0; i < inputs.size(); ++i) {
                       if (!inputs[i].stored) // as saved: not in values.bin
                         continue;
                       const char *data =
                           static_cast<const char *>(input(i).data());
                       bytes.resize(std::max(bytes.size(),
                                             inputs[i].offset + inputs[i].bytes));
                       std::copy(data, data + inputs[i].bytes,
                                 bytes.begin() + inputs[i].offset);
                     }
                     values.write(bytes.data(), bytes.size());
                     values.commit();
                   });
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

std::string Artifact::stepProfile() const {
  return deviceMemory ? deviceMemory->stepProfile() : "";
}

int runArtifactCommand(const std::string &dir, int steps, bool quiet,
                       const std::string &saveDir) {
  return exitStatusOf([&] {
    std::unique_ptr<Artifact> step = Artifact::load(dir);
    std::printf("%s: %s on %s, %zu inputs, %zu outputs\n", dir.c_str(),
                step->name.c_str(), step->device.c_str(), step->inputs.size(),
                step->outputs.size());
    if (!step->inference.empty())
      std::printf(
          "an inference artifact: the calls run on the example input it "
          "was saved with (--input runs it on yours)\n");
    // The first call pays for uploads and the driver's first launches.
    step->step();
    step->synchronize();
    // Each call prints its scalar outputs by name (a step's loss and count
    // of correct answers); an inference, which has none, prints no lines.
    std::vector<std::size_t> scalars;
    std::vector<std::string> labels(step->outputs.size());
    for (std::size_t i = 0; i < step->outputs.size(); ++i) {
      if (step->outputs[i].bytes <= 8 && step->outputs[i].alias < 0)
        scalars.push_back(i);
      labels[i] = step->outputs[i].name.empty()
                      ? "output " + std::to_string(i)
                      : printableText(step->outputs[i].name);
    }
    // A training step's loss and count are unnamed outputs its entry names.
    if (!step->training.empty()) {
      try {
        TrainingSpec t = parseTrainingEntry(step->training, step->inputs,
                                            step->outputs, dir);
        labels[t.lossOutput] = "loss";
        labels[t.correctOutput] = "correct";
      } catch (const std::exception &) {
        // (bregman-run --train says what is wrong with the entry.)
      }
    }
    auto start = std::chrono::steady_clock::now();
    for (int k = 1; k <= steps; ++k) {
      step->step();
      if (quiet || scalars.empty())
        continue;
      std::printf("call %d:", k);
      for (std::size_t i : scalars)
        std::printf(" %s = %.6g", labels[i].c_str(), step->scalarOutput(i));
      std::printf("\n");
    }
    step->synchronize();
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    std::printf("%d calls: %.4f ms per call%s\n", steps, ms / steps,
                quiet ? "" : " (reading each call's results back)");
    if (std::string profile = step->stepProfile(); !profile.empty())
      std::printf("%s\n", profile.c_str());
    if (!saveDir.empty()) {
      step->saveTo(saveDir);
      std::printf("saved the state after %d calls to %s\n", steps + 1,
                  saveDir.c_str());
    }
  });
}

} // namespace bregman::runtime
