//===- Jit.cpp - Compile traces and run them ------------------------------===//

#include "bregman/Jit.h"

#include "Emit.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/runtime/Device.h"
#include "bregman/runtime/Environment.h"
#include "bregman/runtime/Profile.h"
#include "bregman/runtime/SafeWrite.h"

#include "breg/Jit/CompileCache.h"
#include "breg/Jit/CpuJit.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string_view>
#include <tuple>
#include <unistd.h>

namespace bregman {

const char *deviceName(Device device) {
  switch (device) {
  case Device::Cpu:
    return "cpu";
  case Device::Cuda:
    return "cuda";
  case Device::HostMirror:
    return "host-mirror";
  }
  return "?";
}

/// The libdevice the GPU pipeline links: $CUDA_HOME's or the default.
static std::string libdevicePath() {
  if (const char *home = std::getenv("CUDA_HOME"))
    return std::string(home) + "/nvvm/libdevice/libdevice.10.bc";
  return mlir::breg::GpuPipelineOptions().libdevice;
}

/// The device binary format: BREGMAN_CUDA_FORMAT (isa, bin or fatbin) if
/// set; for an artifact, a fatbin (the chip's cubin, PTX as the fallback)
/// where the toolkit of libdevice has ptxas and fatbinary, so that the
/// target needs no PTX JIT; otherwise PTX, which the driver JIT-compiles at
/// load (in-process, that costs what ptxas would).
static std::string cudaBinaryFormat(const std::string &toolkit,
                                    bool artifact) {
  if (const char *format = std::getenv("BREGMAN_CUDA_FORMAT")) {
    std::string f = format;
    if (f != "isa" && f != "bin" && f != "fatbin")
      throw Error(fmt::format("BREGMAN_CUDA_FORMAT='{}': expected isa, bin "
                              "or fatbin",
                              f));
    return f;
  }
  bool tools = ::access((toolkit + "/bin/ptxas").c_str(), X_OK) == 0 &&
               ::access((toolkit + "/bin/fatbinary").c_str(), X_OK) == 0;
  return artifact && tools ? "fatbin" : "isa";
}

/// The threads that run LLVM on a compilation: JitOptions::compileThreads
/// if set, else BREGMAN_COMPILE_THREADS, else one per core (at most 8); at
/// most 256 either way.
static unsigned compileThreads(const JitOptions &opts) {
  constexpr unsigned maxThreads = 256;
  if (opts.compileThreads > maxThreads)
    throw Error(fmt::format("{}: compileThreads {}: at most {}", opts.name,
                            opts.compileThreads, maxThreads));
  unsigned requested = opts.compileThreads;
  const char *variable = std::getenv("BREGMAN_COMPILE_THREADS");
  if (requested == 0 && variable && *variable) {
    std::string_view text(variable);
    bool digits = text.size() <= 3 &&
                  std::all_of(text.begin(), text.end(),
                              [](char c) { return c >= '0' && c <= '9'; });
    unsigned threads = digits ? static_cast<unsigned>(std::stoul(variable)) : 0;
    if (threads < 1 || threads > maxThreads)
      throw Error(fmt::format("BREGMAN_COMPILE_THREADS='{}': expected a "
                              "number of threads from 1 to {}",
                              variable, maxThreads));
    requested = threads;
  }
  return mlir::breg::resolveCompileThreads(requested);
}

/// An environment variable that is 1 (on) or 0, empty or unset (off).
static bool switchedOn(const char *name) {
  if (std::string problem = runtime::switchProblem(name); !problem.empty())
    throw Error(problem);
  return runtime::switchSetting(name, false);
}

/// What the environment asks of a compilation for diagnosis.
static void configureDiagnostics(mlir::breg::CpuJitOptions &jitOptions) {
  // BREGMAN_VERIFY_PASSES=1: the IR verified after every pass of the
  // pipeline, not only after the last (the test suite does; slower).
  jitOptions.verifyEachPass = switchedOn("BREGMAN_VERIFY_PASSES");
  // BREGMAN_PERF=1: the generated functions named in `perf record -k 1`
  // profiles (a jitdump file for `perf inject --jit`).
  jitOptions.perfProfiling = switchedOn("BREGMAN_PERF");
}

std::string jitEnvironmentProblem() {
  auto directory = mlir::breg::compileCacheDirectoryFromEnvironment();
  return directory ? "" : llvm::toString(directory.takeError());
}

/// BREGMAN_COMPILE_CACHE=1 (or a folder): compilations kept on disk, and a
/// function compiled before by this bregman on this machine linked from
/// there (breg/Jit/CompileCache.h).
static void configureCompileCache(mlir::breg::CpuJitOptions &jitOptions) {
  auto directory = mlir::breg::compileCacheDirectoryFromEnvironment();
  if (!directory)
    throw Error(llvm::toString(directory.takeError()));
  jitOptions.cacheDirectory = *directory;
}

/// The emulated GPU program calls cuBLAS's and cuDNN's stand-ins: the same
/// GEMM and convolutions on host memory (one signature for both).
static void useHostStandIns(mlir::breg::CpuJitOptions &jitOptions) {
  for (const char *name : {"sgemm", "conv2d_forward", "conv2d_grad_input",
                           "conv2d_grad_filter"})
    jitOptions.symbols[std::string("bregman_gpu_") + name] =
        jitOptions.symbols[std::string("bregman_cpu_") + name];
}

/// The threads of the compiled code and of its compilation.
static void configureThreads(mlir::breg::CpuJitOptions &jitOptions,
                             const JitOptions &opts, bool artifact) {
  // Loops over at least 2^18 elements (for elementwise ones: that move as
  // many bytes as a one-in one-out f32 loop of 2^18, 2 MiB, so a LinBreg
  // update of 2^17 weights qualifies) run on all cores when the OpenMP
  // runtime is there; smaller ones stay on one core, where a fork would cost
  // more than it saves.
  // (Not in artifacts: the runtime alone must be able to run them.)
  if (*mlir::breg::openMPLibrary() && !artifact)
    jitOptions.pipeline.parallelThreshold = 1 << 18;
  jitOptions.compileThreads = compileThreads(opts);
  if (jitOptions.compileThreads > 1)
    jitOptions.pipeline.outlineNestsMinOps =
        mlir::breg::kSplitOutlineNestsMinOps;
}

std::string cudaCompilationProblem() {
  std::string libdevice = libdevicePath();
  if (std::ifstream(libdevice))
    return "";
  return fmt::format("CUDA's libdevice ({}) is missing: install the CUDA "
                     "toolkit or set CUDA_HOME",
                     libdevice);
}

static std::mutex processTotalsMutex;
static CompileTotals processTotals;

CompileTotals processCompileTotals() {
  std::lock_guard<std::mutex> lock(processTotalsMutex);
  return processTotals;
}

static void addToProcessTotals(double seconds) {
  std::lock_guard<std::mutex> lock(processTotalsMutex);
  ++processTotals.count;
  processTotals.seconds += seconds;
}

namespace detail {

/// Held by every compilation and save in the process: they share one MLIR
/// context, made without MLIR's own locking (Threading::DISABLED), so two
/// jits compiling at once from two threads would race inside it. Recursive:
/// a compilation may compile (a calibration's small functions).
static std::recursive_mutex &processCompileMutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

/// One MLIR context for the process: dialects are loaded once.
static mlir::MLIRContext &sharedContext() {
  static mlir::MLIRContext *context = [] {
    mlir::DialectRegistry registry;
    mlir::breg::registerCpuJitDependencies(registry);
    auto *ctx = new mlir::MLIRContext(registry,
                                      mlir::MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    return ctx;
  }();
  return *context;
}

class CompiledFunction {
public:
  std::unique_ptr<mlir::breg::CpuExecutable> executable;
  std::string symbol;
  FlatOutputs structure;          // names of the outputs
  std::vector<LeafSpec> outputSpecs;
  std::vector<int> outputAlias;   // input leaf whose buffer an output reuses
  size_t numArgs = 0;
  std::vector<LeafSpec> inputSpecs; // what it was compiled for
};

void FlatInputs::ownNames() {
  for (const std::string *&name : names)
    if (name)
      name = &ownedNames.emplace_back(*name);
}

const std::string &FlatInputs::name(size_t i) const {
  static const std::string none;
  return names[i] ? *names[i] : none;
}

LeafSpec FlatInputs::spec(size_t i) const {
  return {leaves[i].shape(), leaves[i].dtype(), name(i), args[i]};
}

std::vector<LeafSpec> FlatInputs::specs() const {
  std::vector<LeafSpec> out;
  out.reserve(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i)
    out.push_back(spec(i));
  return out;
}

uint64_t FlatInputs::hash() const {
  // FNV-1a over each leaf's fields (the name's own hash); a collision only
  // costs a comparison (matches()), never a wrong function.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (size_t i = 0; i < leaves.size(); ++i) {
    mix(static_cast<uint64_t>(args[i]));
    mix(std::hash<std::string_view>{}(name(i)));
    mix(static_cast<uint64_t>(leaves[i].dtype()) + 0x100);
    const Shape &shape = leaves[i].shape();
    mix(shape.size());
    for (int64_t d : shape)
      mix(static_cast<uint64_t>(d));
  }
  return h;
}

bool FlatInputs::matches(const std::vector<LeafSpec> &specs) const {
  if (specs.size() != leaves.size())
    return false;
  for (size_t i = 0; i < leaves.size(); ++i)
    if (specs[i].arg != args[i] || specs[i].dtype != leaves[i].dtype() ||
        specs[i].shape != leaves[i].shape() || specs[i].name != name(i))
      return false;
  return true;
}

JitState::JitState(JitOptions options) : opts(std::move(options)) {}
JitState::~JitState() = default;

CompiledFunction *JitState::lookup(const FlatInputs &inputs) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  return lookupLocked(inputs);
}

CompiledFunction *JitState::lookupLocked(const FlatInputs &inputs) {
  auto it = cache.find(inputs.hash());
  if (it == cache.end())
    return nullptr;
  for (const auto &fn : it->second)
    if (inputs.matches(fn->inputSpecs))
      return fn.get();
  return nullptr;
}

const FlatOutputs &JitState::outputStructure(const CompiledFunction &fn) const {
  return fn.structure;
}

/// Pairs each output with a donated input of the same shape and dtype,
/// preferring one with the same name (θ' into θ, v' into v).
static std::vector<int> assignDonations(const FlatInputs &inputs,
                                        const FlatOutputs &outputs,
                                        const std::vector<int> &donate) {
  int arguments = inputs.argumentCount;
  for (int d : donate)
    if (d < 0 || d >= arguments)
      throw Error(fmt::format("jit: donateArgnums names argument {}, but the "
                              "function takes {} argument(s)",
                              d, arguments));
  std::set<int> donated(donate.begin(), donate.end());
  std::vector<bool> used(inputs.leaves.size(), false);
  std::vector<int> alias(outputs.leaves.size(), -1);
  auto fits = [&](size_t in, size_t out) {
    const Tensor &leaf = inputs.leaves[in];
    return !used[in] && donated.count(inputs.args[in]) &&
           leaf.shape() == outputs.leaves[out].shape() &&
           leaf.dtype() == outputs.leaves[out].dtype();
  };
  for (int pass = 0; pass < 2; ++pass)
    for (size_t out = 0; out < outputs.leaves.size(); ++out) {
      if (alias[out] >= 0)
        continue;
      for (size_t in = 0; in < inputs.leaves.size(); ++in) {
        bool sameName = inputs.name(in) == outputs.names[out];
        if (fits(in, out) && (pass == 1 || sameName)) {
          alias[out] = static_cast<int>(in);
          used[in] = true;
          break;
        }
      }
    }
  return alias;
}

/// The GPU pipeline for device 0's generation (PTX, JIT-compiled by the
/// driver at load), its host code calling the runtime's mgpu* functions.
static void configureForCuda(mlir::breg::CpuJitOptions &jitOptions,
                             const std::string &chip, bool artifact) {
  mlir::breg::GpuPipelineOptions gpu;
  if (chip.empty()) {
    runtime::cuda::DeviceInfo info = runtime::cuda::probeDevices();
    if (!info.available)
      throw Error("the CUDA device (Device::Cuda, --device cuda): " +
                  info.reason);
    gpu.chip = fmt::format("sm_{}{}", info.major, info.minor);
  } else {
    gpu.chip = chip;
    if (std::string problem = mlir::breg::gpuPipelineOptionsProblem(gpu);
        !problem.empty())
      throw Error("cuda " + problem);
  }
  // No +ptxNN feature: LLVM's NVPTX backend takes the lowest PTX ISA
  // version that has the chip (sm_80: 7.0, sm_90: 7.8, sm_120: 8.7); a fixed
  // version per major aborted LLVM for chips newer than it (sm_120 with 8.6).
  gpu.features = "";
  gpu.barePtrCallConv = true;
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    throw Error("the CUDA device (Device::Cuda, --device cuda): " + problem);
  gpu.libdevice = libdevicePath();
  // .../nvvm/libdevice/libdevice.10.bc -> the toolkit's root.
  gpu.toolkit = std::filesystem::path(gpu.libdevice.getValue())
                    .parent_path()
                    .parent_path()
                    .parent_path()
                    .string();
  gpu.format = cudaBinaryFormat(gpu.toolkit, artifact);
  jitOptions.pipelineText = mlir::breg::gpuPipelineText(gpu);
  for (const runtime::LibrarySymbol *s = runtime::gpuLibrarySymbols(); s->name;
       ++s)
    jitOptions.symbols[s->name] = s->address;
}

/// An argument or result as both the manifest and step.so's signature
/// describe it.
static nlohmann::json describeLeaf(const LeafSpec &spec) {
  int64_t numel = 1;
  for (int64_t d : spec.shape)
    numel *= d;
  return nlohmann::json{{"name", spec.name},
                        {"dtype", dtypeName(spec.dtype)},
                        {"shape", spec.shape},
                        {"bytes", numel * dtypeSize(spec.dtype)}};
}

/// What an artifact's step.so says about itself (Artifact.h's signature):
/// its entry point, device and every argument and output, so that the
/// runtime can refuse a manifest that does not describe this code.
static std::string artifactSignature(const FlatInputs &inputs,
                                     const CompiledFunction &fn, Device device,
                                     const std::string &id) {
  nlohmann::json signature{{"format", runtime::Artifact::signatureFormat},
                           {"id", id},
                           {"entry", "_mlir_" + fn.symbol},
                           {"device", deviceName(device)},
                           {"inputs", nlohmann::json::array()},
                           {"outputs", nlohmann::json::array()}};
  for (const LeafSpec &spec : inputs.specs())
    signature["inputs"].push_back(describeLeaf(spec));
  for (size_t i = 0; i < fn.outputSpecs.size(); ++i) {
    nlohmann::json output = describeLeaf(fn.outputSpecs[i]);
    output["alias"] = fn.outputAlias[i];
    signature["outputs"].push_back(std::move(output));
  }
  return signature.dump();
}

/// 128 random bits in hex: unique per save, so a manifest and a step.so of
/// different saves never pass for one artifact.
static std::string newArtifactId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i)
    id += fmt::format("{:08x}", static_cast<uint32_t>(random()));
  return id;
}

/// The steps of a GPU pipeline cannot print: their values live in device
/// memory (or, emulated, in kernels' buffers) where the host's print call
/// cannot read them.
static void refuseDebugPrintsOffCpu(const Trace &trace, const JitOptions &opts,
                                    bool emulatedGpu) {
  if (opts.device == Device::Cpu && !emulatedGpu)
    return;
  for (const Node &node : trace.nodes())
    if (node.prim == Prim::DebugPrint)
      throw Error(fmt::format(
          "{}{}: debugPrint(\"{}\") runs on the CPU only, not on {}{} (the "
          "values live in device memory there); compile the step with "
          "Device::Cpu to print, or remove the print",
          node.site.known() ? node.site.str() + ": " : "", opts.name,
          node.attrs.name, deviceName(opts.device),
          emulatedGpu ? " with BREGMAN_EMULATE_GPU=1" : ""));
}

/// "file.cpp:42: add#12: " for a node's location (Emitter::nodeLoc), "" for
/// others.
static std::string describeLocation(mlir::Location loc) {
  auto name = llvm::dyn_cast<mlir::NameLoc>(loc);
  if (!name)
    return "";
  std::string prefix;
  if (auto site = llvm::dyn_cast<mlir::FileLineColLoc>(name.getChildLoc()))
    prefix = fmt::format("{}:{}: ", site.getFilename().str(), site.getLine());
  return prefix + name.getName().str() + ": ";
}

/// Verifies the emitted module; the error names the failing node's call
/// site, then lists the trace and the IR.
static void verifyEmitted(mlir::ModuleOp module, const Trace &trace,
                          const std::string &name) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &diag) {
        diagnostics += describeLocation(diag.getLocation()) + diag.str() + "\n";
        return mlir::success();
      });
  if (mlir::succeeded(mlir::verify(module)))
    return;
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  throw Error(fmt::format("{}: the emitted MLIR does not verify (an internal "
                          "error):\n{}trace:\n{}\nIR:\n{}",
                          name, diagnostics, trace.str(), text));
}

/// BREGMAN_DUMP_IR's folder for one compilation: DIR/NAME-INDEX, created
/// here; "NAME-INDEX.2", ".3", ... when that exists (another jit of the same
/// name in this process, or an earlier run), so no dump replaces another.
static std::string freshDumpFolder(const std::string &root,
                                   const std::string &name, size_t index) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  std::string base = fmt::format("{}/{}-{}", root, name, index);
  for (int copy = 1; copy < 10000; ++copy) {
    std::string folder = copy == 1 ? base : fmt::format("{}.{}", base, copy);
    if (std::filesystem::create_directory(folder, ec))
      return folder;
    if (ec)
      break; // unwritable root: the dump is skipped, as before
  }
  return "";
}

/// BREGMAN_COMPILE_TIMING=1: one line on stderr per compilation, the CPU and
/// wall seconds of its phases (docs/PERFORMANCE.md).
static void reportCompileTiming(const std::string &label,
                                const mlir::breg::CompilePhases &phases) {
  const char *timing = std::getenv("BREGMAN_COMPILE_TIMING");
  if (!timing || !*timing || std::string(timing) == "0")
    return;
  const auto &[mlirTime, opt, codegen] =
      std::tie(phases.pipeline, phases.llvmOpt, phases.codegen);
  fmt::print(stderr,
             "compile timing {}: MLIR pipeline {:.3f} s CPU ({:.3f} s wall), "
             "LLVM optimization {:.3f} s ({:.3f} s), translation and code "
             "generation {:.3f} s ({:.3f} s); total {:.3f} s CPU ({:.3f} s "
             "wall); LLVM parts {}{}\n",
             label, mlirTime.cpu, mlirTime.wall, opt.cpu, opt.wall,
             codegen.cpu, codegen.wall, mlirTime.cpu + opt.cpu + codegen.cpu,
             mlirTime.wall + opt.wall + codegen.wall, phases.parts,
             phases.fromCache ? " (linked from the compile cache)" : "");
}

CompiledFunction *JitState::compile(const Trace &trace, const FlatInputs &inputs,
                                    const FlatOutputs &outputs) {
  std::lock_guard<std::recursive_mutex> compiling(processCompileMutex());
  std::lock_guard<std::mutex> lock(cacheMutex);
  if (CompiledFunction *compiled = lookupLocked(inputs))
    return compiled;
  std::unique_ptr<CompiledFunction> fn = build(trace, inputs, outputs, "");
  CompiledFunction *raw = fn.get();
  cache[inputs.hash()].push_back(std::move(fn));
  ++cached;
  return raw;
}

std::unique_ptr<CompiledFunction> JitState::build(const Trace &trace,
                                                  const FlatInputs &inputs,
                                                  const FlatOutputs &outputs,
                                                  const std::string &objectFile) {
  auto start = std::chrono::steady_clock::now();
  auto fn = std::make_unique<CompiledFunction>();
  fn->structure = outputs;
  fn->inputSpecs = inputs.specs();
  fn->symbol = "bregman_main";

  EmitSpec spec;
  spec.trace = &trace;
  spec.functionName = fn->symbol;
  for (size_t i = 0; i < outputs.leaves.size(); ++i) {
    const Tensor &t = outputs.leaves[i];
    if (!t.belongsTo(trace))
      throw Error(fmt::format(
          "{}: output {} ('{}') is not computed by the traced function (a "
          "concrete or foreign tensor was returned)",
          opts.name, i, outputs.names[i]));
    spec.outputs.push_back(t.value());
    fn->outputSpecs.push_back({t.shape(), t.dtype(), outputs.names[i], -1});
  }
  fn->outputAlias = assignDonations(inputs, outputs, opts.donateArgnums);
  spec.outputAlias = fn->outputAlias;
  fn->numArgs = inputs.leaves.size();
  for (int a : fn->outputAlias)
    if (a < 0)
      ++fn->numArgs;

  // BREGMAN_EMULATE_GPU=1: compile the GPU kernels' IR and run it as loops
  // on the CPU (the tests run this way too, to check the kernels).
  // (Not for artifacts: a CPU artifact is the CPU program.)
  bool emulateGpu = objectFile.empty() && switchedOn("BREGMAN_EMULATE_GPU");
  refuseDebugPrintsOffCpu(trace, opts, emulateGpu);

  mlir::MLIRContext &ctx = sharedContext();
  mlir::OwningOpRef<mlir::ModuleOp> module = emitModule(ctx, spec);
  verifyEmitted(*module, trace, opts.name);
  times.emit += std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();

  mlir::breg::CpuJitOptions jitOptions;
  for (const runtime::LibrarySymbol *s = runtime::cpuLibrarySymbols(); s->name;
       ++s)
    jitOptions.symbols[s->name] = s->address;
  if (opts.device == Device::Cuda)
    configureForCuda(jitOptions, opts.cudaChip, !objectFile.empty());
  configureThreads(jitOptions, opts, !objectFile.empty());
  configureDiagnostics(jitOptions);
  configureCompileCache(jitOptions);
  jitOptions.objectFile = objectFile;
  jitOptions.objectOnly = !objectFile.empty(); // saved, not called here
  if (!objectFile.empty())
    jitOptions.objectConstants[runtime::Artifact::signatureSymbol] =
        artifactSignature(inputs, *fn, opts.device, savingId);
  // Temporaries come from the runtime's block cache (reused across calls).
  jitOptions.pipeline.runtimeAllocator = true;
  if (emulateGpu)
    jitOptions.pipeline.emulateGpu = true;
  if (opts.device == Device::HostMirror)
    jitOptions.pipeline.emulateGpu = true;
  if (jitOptions.pipeline.emulateGpu)
    useHostStandIns(jitOptions);
  if (const char *dump = std::getenv("BREGMAN_DUMP_IR"))
    jitOptions.dumpDirectory = freshDumpFolder(dump, opts.name, compiles);
  auto executable = mlir::breg::CpuExecutable::compile(*module, jitOptions);
  if (!executable)
    throw Error(fmt::format("{}: compilation failed: {}", opts.name,
                            llvm::toString(executable.takeError())));
  fn->executable = std::move(*executable);

  const mlir::breg::CompilePhases &phases = fn->executable->phases();
  reportCompileTiming(fmt::format("{}-{}", opts.name, compiles), phases);
  ++compiles;
  times.passes += phases.pipeline.wall;
  times.llvmOpt += phases.llvmOpt.wall;
  times.codegen += phases.codegen.wall;
  times.llvmParts += phases.parts;
  times.fromCache += phases.fromCache;
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  times.total += seconds;
  addToProcessTotals(seconds);
  return fn;
}

void JitState::requireUsableEnvironment() {
  // Once per process: the OpenMP runtime reads these when it starts.
  static const std::string problem = runtime::openMpEnvironmentProblem();
  if (!problem.empty())
    throw Error(problem);
}

void JitState::requireConcrete(const FlatInputs &inputs) const {
  for (size_t i = 0; i < inputs.leaves.size(); ++i) {
    if (inputs.leaves[i].isConcrete()) // every call, every leaf
      continue;
    std::string jit = inputs.leaves[i].donatedTo();
    throw Error(fmt::format(
        "{}: argument {} ('{}') {}", opts.name, inputs.args[i], inputs.name(i),
        jit.empty()
            ? "is a tracer: calling a jit function inside another (or itself) "
              "is not supported; call the plain function there"
            : fmt::format("was donated to an earlier call of jit '{}', whose "
                          "outputs hold its buffer now: pass those outputs, "
                          "or a copy made before that call (Tensor::copy, "
                          "Params::copy)",
                          jit)));
  }
}

/// A buffer that is overwritten must not be visible through another
/// argument (the compiled code assumes it).
static void checkCallArguments(const std::string &name,
                               const CompiledFunction &fn,
                               const FlatInputs &inputs) {
  // A leaf whose buffer a donated output overwrites must be the only leaf on
  // that buffer: (buffer, leaf) sorted, a written buffer seen twice is shared.
  std::vector<const void *> written;
  for (int a : fn.outputAlias)
    if (a >= 0)
      written.push_back(inputs.leaves[a].buffer().get());
  if (written.empty())
    return;
  std::sort(written.begin(), written.end());
  std::vector<std::pair<const void *, size_t>> byBuffer;
  byBuffer.reserve(inputs.leaves.size());
  for (size_t i = 0; i < inputs.leaves.size(); ++i)
    byBuffer.emplace_back(inputs.leaves[i].buffer().get(), i);
  std::sort(byBuffer.begin(), byBuffer.end());
  for (size_t k = 1; k < byBuffer.size(); ++k) {
    auto [buf, i] = byBuffer[k];
    size_t first = byBuffer[k - 1].second;
    if (buf == byBuffer[k - 1].first &&
        std::binary_search(written.begin(), written.end(), buf))
      throw Error(fmt::format(
          "{}: leaves '{}' (argument {}) and '{}' (argument {}) share one "
          "buffer that a donated output overwrites; pass distinct tensors",
          name, inputs.name(first), inputs.args[first], inputs.name(i),
          inputs.args[i]));
  }
}

std::vector<Tensor> JitState::run(CompiledFunction &fn,
                                  const FlatInputs &inputs) {
  // Profiling: the whole call counts as dispatch, minus its compiled part.
  runtime::ProfileCounters &profile = runtime::profileCounters();
  runtime::ProfileScope dispatch(profile.dispatchNs);
  checkCallArguments(opts.name, fn, inputs);

  // On a device, each buffer's device copy (uploaded only when the host
  // holds a newer value); donated buffers become device-current.
  runtime::DeviceMemory *device =
      opts.device == Device::Cuda         ? &runtime::cudaDevice()
      : opts.device == Device::HostMirror ? &runtime::hostMirrorDevice()
                                          : nullptr;
  std::vector<void *> pointers;
  pointers.reserve(fn.numArgs);
  for (size_t i = 0; i < inputs.leaves.size(); ++i) {
    runtime::Buffer &buffer = *inputs.leaves[i].buffer();
    bool donated = std::find(fn.outputAlias.begin(), fn.outputAlias.end(),
                             static_cast<int>(i)) != fn.outputAlias.end();
    // On the CPU, arguments only read keep a device copy current.
    pointers.push_back(
        device    ? buffer.deviceData(*device, donated)
        : donated ? buffer.data()
                  : const_cast<void *>(
                        static_cast<const runtime::Buffer &>(buffer).data()));
  }
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < fn.outputSpecs.size(); ++i) {
    const LeafSpec &spec = fn.outputSpecs[i];
    if (fn.outputAlias[i] >= 0) {
      outputs.push_back(Tensor::fromBuffer(
          inputs.leaves[fn.outputAlias[i]].buffer(), spec.shape, spec.dtype));
    } else {
      // Not zero-filled: the compiled function writes every output in full,
      // except a CSR compressed into its output, whose entries past the
      // stored ones are unspecified (breg.compress_rows).
      Tensor t = Tensor::fromBuffer(
          runtime::Buffer::allocate(
              numElements(spec.shape) * dtypeSize(spec.dtype), /*zero=*/false),
          spec.shape, spec.dtype);
      runtime::Buffer &buffer = *t.buffer();
      pointers.push_back(device ? buffer.deviceDataForOverwrite(*device)
                                : buffer.data());
      outputs.push_back(t);
    }
  }
  // The packed calling convention wants a pointer to each argument value.
  std::vector<void *> slots;
  slots.reserve(pointers.size());
  for (void *&p : pointers)
    slots.push_back(&p);
  auto start = std::chrono::steady_clock::now();
  std::string failure;
  auto invoke = [&] {
    if (llvm::Error err = fn.executable->invoke(fn.symbol, slots))
      failure = llvm::toString(std::move(err));
  };
  if (device) {
    // The same function on the same device addresses: replayable as a
    // graph (runtime/Device.h).
    std::vector<const void *> signature{&fn};
    signature.insert(signature.end(), pointers.begin(), pointers.end());
    device->submitStep(signature, invoke);
  } else {
    invoke();
  }
  if (!failure.empty())
    throw Error(fmt::format("{}: call failed: {}", opts.name, failure));
  // Launch failures show at once; failures inside kernels when the host
  // next waits for the device (reading a result).
  if (opts.device == Device::Cuda)
    if (std::string error = bregman_cuda_take_error(); !error.empty())
      throw Error(fmt::format("{}: on the GPU: {}", opts.name, error));
  // Reading a result waits for this call's work only, not for later calls.
  if (device)
    if (std::shared_ptr<void> done = device->recordEvent())
      for (Tensor &output : outputs) // donated buffers included
        output.buffer()->setDeviceReady(done);
  // The donated arguments' handles (and every copy of them, such as a
  // "snapshot" Params) would show the outputs: they say so instead.
  for (int a : fn.outputAlias)
    if (a >= 0)
      inputs.leaves[a].markDonated(opts.name);
  if (runtime::profilingEnabled()) {
    int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    profile.compiledCallNs += ns;
    profile.dispatchNs -= ns;
    ++profile.compiledCalls;
  }
  return outputs;
}

void JitState::save(const std::string &dir, const Trace &trace,
                    const FlatInputs &inputs, const FlatOutputs &outputs) {
  namespace fs = std::filesystem;
  if (opts.device == Device::HostMirror)
    throw Error(fmt::format("{}: save: host-mirror is a test device; save for "
                            "cpu or cuda",
                            opts.name));
  // The id, the entries and the compilation: one save at a time.
  std::lock_guard<std::recursive_mutex> compiling(processCompileMutex());
  savingId = newArtifactId();
  // Built in a unique temporary directory beside it and swapped into place:
  // a failure leaves no half-written artifact, and only an earlier artifact
  // (nothing else) is ever replaced.
  try {
    runtime::replaceDirectory(
        fs::absolute(dir).string(), opts.name + ": save",
        runtime::artifactOwnership, [&](const std::string &tmp) {
          // Not cached: compiled for the artifact, freed with it written.
          // Only the object is compiled (no JIT copy whose constructors
          // would load the kernels here).
          std::unique_ptr<CompiledFunction> fn =
              build(trace, inputs, outputs, tmp + "/step.o");
          linkArtifact(tmp);
          EmitSpec spec{&trace, {}, fn->outputAlias};
          for (const Tensor &t : outputs.leaves)
            spec.outputs.push_back(t.value());
          writeArtifactFiles(tmp, *fn, inputs, emittedInputReads(spec));
        });
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

/// The shared object: the host code, its packed wrapper, and (for CUDA) the
/// embedded kernels; runtime symbols stay undefined, resolved from the runner
/// at load time. $CC is split into words as a shell would ("ccache cc",
/// quotes and backslashes), but no shell runs it.
void JitState::linkArtifact(const std::string &tmp) {
  const char *cc = std::getenv("CC");
  std::vector<std::string> argv;
  try {
    argv = runtime::splitCommandWords(cc ? cc : "", "$CC");
  } catch (const std::invalid_argument &e) {
    throw Error(fmt::format("{}: save: {}", opts.name, e.what()));
  }
  if (argv.empty())
    argv.push_back("cc");
  argv.insert(argv.end(), {"-shared", "-o", tmp + "/step.so",
                           tmp + "/step.o", "-lm"});
  std::string output;
  int status = 0;
  try {
    status = runtime::runProgram(argv, output);
  } catch (const runtime::WriteError &e) {
    // Most often: no C compiler installed (the package only recommends one).
    throw Error(fmt::format(
        "{}: save: cannot run the C compiler that links the artifact ({}); "
        "install one (apt install gcc) or set $CC to a C compiler",
        opts.name, e.what()));
  }
  if (status != 0)
    throw Error(fmt::format("{}: save: linking the artifact failed ({} exited "
                            "with {}): {}",
                            opts.name, argv[0], status, output));
  std::filesystem::remove(tmp + "/step.o");
}

void JitState::writeArtifactFiles(const std::string &tmp,
                                  const CompiledFunction &fn,
                                  const FlatInputs &inputs,
                                  const std::vector<bool> &read) {
  nlohmann::json manifest;
  manifest["format"] = runtime::kArtifactFormat;
  manifest["name"] = opts.name;
  manifest["function"] = "_mlir_" + fn.symbol;
  manifest["device"] = deviceName(opts.device);
  manifest["id"] = savingId;
  for (const auto &[key, json] : artifactEntries)
    manifest[key] = nlohmann::json::parse(json);
  // In the artifact folder being built (a fresh temporary).
  runtime::AtomicFile values(tmp + "/values.bin", opts.name + ": save",
                             runtime::anyExistingFile());
  size_t offset = 0;
  for (size_t i = 0; i < inputs.leaves.size(); ++i) {
    const LeafSpec spec = inputs.spec(i);
    const auto &buffer =
        static_cast<const runtime::Buffer &>(*inputs.leaves[i].buffer());
    nlohmann::json input = describeLeaf(spec);
    input["arg"] = spec.arg;
    if (!read[i]) {
      input["stored"] = false; // never read: allocated zeroed by the runner
    } else {
      values.write(buffer.data(), buffer.bytes());
      input["offset"] = offset;
      offset += buffer.bytes();
    }
    manifest["inputs"].push_back(std::move(input));
  }
  for (size_t i = 0; i < fn.outputSpecs.size(); ++i) {
    nlohmann::json output = describeLeaf(fn.outputSpecs[i]);
    output["alias"] = fn.outputAlias[i];
    manifest["outputs"].push_back(std::move(output));
  }
  values.commit();
  runtime::writeFileAtomically(tmp + "/manifest.json", opts.name + ": save",
                               manifest.dump(2) + "\n",
                               runtime::anyExistingFile());
}

} // namespace detail
} // namespace bregman
