//===- Jit.h - Trace, compile and run C++ functions -------------*- C++ -*-===//
//
// jit(f) returns a callable. On each call it flattens the arguments (Tensor
// and Params, in order) into leaves; the leaves' shapes, dtypes and names key
// a cache. On a miss, f is traced once with tracer arguments, the trace is
// emitted as MLIR, lowered by the CPU pipeline and JIT-compiled; on a hit the
// compiled function runs directly on the arguments' buffers.
//
// Donation (as jax.jit's donate_argnums): the buffers of donated arguments
// are reused for outputs of the same shape and dtype (same name first), so a
// training step updates parameters and optimizer state in place. A donated
// argument is consumed: its buffers hold the outputs, and the argument and
// every copy of it (a copied Tensor or Params shares it) then throw an
// error saying so, as JAX's deleted arrays do. (A Tensor::fromBuffer view
// of the same buffer is not tracked: it shows the outputs.) Tensor::copy and Params::copy keep a value
// (a snapshot of the best weights) across such a call.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_JIT_H
#define BREGMAN_JIT_H

#include "bregman/Error.h"
#include "bregman/Params.h"
#include "bregman/Trace.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace bregman {

/// Where a compiled function runs.
enum class Device {
  /// The CPU pipeline, in the process (JIT).
  Cpu,
  /// The GPU pipeline: kernels for CUDA device 0 (PTX for its generation),
  /// host code launching them; arguments' buffers get device copies that
  /// stay there across calls (runtime/Buffer.h).
  Cuda,
  /// The GPU pipeline's program with its kernels run as loops on the CPU and
  /// buffers in separate host memory standing in for device memory: checks
  /// the GPU path, copies included, without a GPU.
  HostMirror,
};

/// "cpu", "cuda", "host-mirror".
const char *deviceName(Device device);

/// Why programs cannot be compiled for CUDA here ("" when they can): the
/// CUDA toolkit's libdevice ($CUDA_HOME, or /usr/local/cuda) is missing.
std::string cudaCompilationProblem();

/// Why the jit's settings in the environment cannot be used ("" when they
/// can): BREGMAN_COMPILE_CACHE other than 0, 1 or an absolute folder. The
/// tools say it before loading data (it was said at the first compilation).
std::string jitEnvironmentProblem();

struct JitOptions {
  JitOptions() = default;
  JitOptions(std::vector<int> donateArgnums, std::string name = "jit",
             Device device = Device::Cpu, std::string cudaChip = "")
      : donateArgnums(std::move(donateArgnums)), name(std::move(name)),
        device(device), cudaChip(std::move(cudaChip)) {}

  /// Arguments whose buffers the outputs may overwrite.
  std::vector<int> donateArgnums;
  /// Shown in errors and IR dumps.
  std::string name = "jit";
  Device device = Device::Cpu;
  /// Device::Cuda: the GPU generation to compile for ("sm_90"); empty: that
  /// of device 0 (needs one). Set it to build artifacts without a GPU.
  std::string cudaChip;
  /// Threads that run LLVM on a compilation (CPU code): 0, the environment's
  /// BREGMAN_COMPILE_THREADS or else one per core (at most 8); 1, the calling
  /// thread only; at most 256. With more than one, the loop nests of a step
  /// are outlined into functions and compiled as that many parts.
  unsigned compileThreads = 0;
};

namespace detail {

struct LeafSpec {
  Shape shape;
  DType dtype;
  std::string name; // the Params key, or "" for a bare Tensor
  int arg;          // position of the argument the leaf comes from
};

/// A call's arguments as leaves. Per leaf: its Params key (pointing into
/// the caller's argument, valid during the call; null for a bare Tensor) and
/// its argument position. Shapes and dtypes are read from the leaves: a call
/// that hits the cache copies no name and no shape.
struct FlatInputs {
  std::vector<Tensor> leaves;
  std::vector<const std::string *> names;
  std::vector<int> args;
  int argumentCount = 0; // of the call (an empty Params has no leaves)
  std::deque<std::string> ownedNames; // stable addresses for names
  void add(const Tensor &t, const std::string *name, int arg) {
    leaves.push_back(t);
    names.push_back(name);
    args.push_back(arg);
  }
  /// Copies the names (before the traced function runs: it may change the
  /// caller's Params). Only on a cache miss, so hits copy nothing.
  void ownNames();
  const std::string &name(size_t i) const;
  LeafSpec spec(size_t i) const;
  std::vector<LeafSpec> specs() const;
  /// Of every leaf's position, name, dtype and shape: the cache's key.
  uint64_t hash() const;
  /// Whether these leaves are `specs` (same names, positions, dtypes, shapes).
  bool matches(const std::vector<LeafSpec> &specs) const;
};

struct FlatOutputs {
  std::vector<Tensor> leaves;
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> paramsNames; // one per Params, in order
};

class CompiledFunction;

} // namespace detail

/// Where a jit callable's compilations spent their time (seconds of wall
/// time, summed over its compilations): emitting and verifying the MLIR of
/// the trace, the pass pipeline down to the LLVM dialect, LLVM's
/// optimization, and the rest of LLVM's JIT (translation, instruction
/// selection, register allocation, linking).
struct CompileTimes {
  double total = 0, emit = 0, passes = 0, llvmOpt = 0, codegen = 0;
  /// Object files LLVM made, summed over the compilations: more than one per
  /// compilation where several threads compiled its parts.
  size_t llvmParts = 0;
  /// Compilations linked from the compile cache (BREGMAN_COMPILE_CACHE)
  /// instead of compiled.
  size_t fromCache = 0;
};

/// Every jit compilation of this process so far, of all jit callables (the
/// optimizers' init too): how many and their wall seconds.
struct CompileTotals {
  size_t count = 0;
  double seconds = 0;
};
CompileTotals processCompileTotals();

namespace detail {

/// The cache and the compiled functions of one jit callable.
class JitState {
public:
  explicit JitState(JitOptions options);
  ~JitState();
  /// Throws unless every argument is concrete: a tracer means a jit function
  /// called inside another's trace (tracing it would recurse without end
  /// when it calls itself).
  void requireConcrete(const FlatInputs &inputs) const;
  /// Throws when OMP_NUM_THREADS or OMP_THREAD_LIMIT would make the OpenMP
  /// runtime, which compiled code calls, end the process.
  static void requireUsableEnvironment();
  CompiledFunction *lookup(const FlatInputs &inputs);
  /// Compiles the trace for these inputs and keeps it in the cache; when
  /// another thread compiled them meanwhile, returns that one instead (the
  /// cache's lock is held while compiling: threads calling a new jit at once
  /// compile it once).
  CompiledFunction *compile(const Trace &trace, const FlatInputs &inputs,
                            const FlatOutputs &outputs);
  /// Compiles the trace ahead of time into the artifact directory `dir`.
  void save(const std::string &dir, const Trace &trace,
            const FlatInputs &inputs, const FlatOutputs &outputs);
  /// JSON objects written into the manifest by save(), by key ("training",
  /// "inference").
  std::map<std::string, std::string> artifactEntries;
  std::vector<Tensor> run(CompiledFunction &fn, const FlatInputs &inputs);
  const FlatOutputs &outputStructure(const CompiledFunction &fn) const;
  size_t cacheSize() const { return cached; }
  size_t compileCount() const { return compiles; }
  double compileSeconds() const { return times.total; }
  const CompileTimes &compileTimes() const { return times; }
  const JitOptions &options() const { return opts; }

private:
  /// The compiled function, and with `objectFile` its object file too.
  std::unique_ptr<CompiledFunction> build(const Trace &trace,
                                          const FlatInputs &inputs,
                                          const FlatOutputs &outputs,
                                          const std::string &objectFile);
  void linkArtifact(const std::string &tmp);
  /// manifest.json and values.bin; `read[i]`: whether the code reads leaf
  /// i (the others are not stored: "stored": false, zeroed at load).
  void writeArtifactFiles(const std::string &tmp, const CompiledFunction &fn,
                          const FlatInputs &inputs,
                          const std::vector<bool> &read);

  JitOptions opts;
  /// The id of the artifact save() is writing, in both its manifest and
  /// step.so's signature (runtime::ArtifactManifest::id).
  std::string savingId;
  // By FlatInputs::hash(); a bucket holds more than one only on a collision.
  CompiledFunction *lookupLocked(const FlatInputs &inputs);
  /// Guards the cache. (The compile counts and times are written by build()
  /// under the process-wide compile lock, when compiling or saving.)
  std::mutex cacheMutex;
  std::unordered_map<uint64_t, std::vector<std::unique_ptr<CompiledFunction>>> cache;
  size_t cached = 0;
  size_t compiles = 0;
  CompileTimes times;
};

template <typename T> struct Tree;

template <> struct Tree<Tensor> {
  static void flattenInput(const Tensor &t, int arg, FlatInputs &in) {
    if (!t.defined())
      throw Error("jit: argument " + std::to_string(arg) + " is an empty tensor");
    in.add(t, nullptr, arg);
  }
  static Tensor rebuildInput(const Tensor &, const std::vector<Tensor> &leaves,
                             size_t &pos) {
    return leaves[pos++];
  }
  static void flattenOutput(const Tensor &t, FlatOutputs &out) {
    out.leaves.push_back(t);
    out.names.push_back("");
  }
  static Tensor rebuildOutput(const std::vector<Tensor> &leaves, size_t &pos,
                              const FlatOutputs &, size_t &) {
    return leaves[pos++];
  }
};

template <> struct Tree<Params> {
  static void flattenInput(const Params &p, int arg, FlatInputs &in) {
    for (const auto &[name, t] : p) {
      if (!t.defined())
        throw Error("jit: argument " + std::to_string(arg) + " entry '" +
                    name + "' is an empty tensor");
      in.add(t, &name, arg);
    }
  }
  static Params rebuildInput(const Params &like,
                             const std::vector<Tensor> &leaves, size_t &pos) {
    Params out;
    for (const auto &entry : like)
      out.add(entry.first, leaves[pos++]);
    return out;
  }
  static void flattenOutput(const Params &p, FlatOutputs &out) {
    std::vector<std::string> names;
    for (const auto &[name, t] : p) {
      out.leaves.push_back(t);
      out.names.push_back(name);
      names.push_back(name);
    }
    out.paramsNames.push_back(std::move(names));
  }
  static Params rebuildOutput(const std::vector<Tensor> &leaves, size_t &pos,
                              const FlatOutputs &structure, size_t &paramsPos) {
    Params out;
    for (const std::string &name : structure.paramsNames[paramsPos])
      out.add(name, leaves[pos++]);
    ++paramsPos;
    return out;
  }
};

template <typename... Ts> struct Tree<std::tuple<Ts...>> {
  static void flattenOutput(const std::tuple<Ts...> &t, FlatOutputs &out) {
    std::apply([&](const auto &...e) {
      (Tree<std::decay_t<decltype(e)>>::flattenOutput(e, out), ...);
    }, t);
  }
  static std::tuple<Ts...> rebuildOutput(const std::vector<Tensor> &leaves,
                                         size_t &pos,
                                         const FlatOutputs &structure,
                                         size_t &paramsPos) {
    // Braced initialization evaluates left to right.
    return std::tuple<Ts...>{
        Tree<Ts>::rebuildOutput(leaves, pos, structure, paramsPos)...};
  }
};

template <typename A, typename B> struct Tree<std::pair<A, B>> {
  static void flattenOutput(const std::pair<A, B> &p, FlatOutputs &out) {
    Tree<A>::flattenOutput(p.first, out);
    Tree<B>::flattenOutput(p.second, out);
  }
  static std::pair<A, B> rebuildOutput(const std::vector<Tensor> &leaves,
                                       size_t &pos, const FlatOutputs &s,
                                       size_t &paramsPos) {
    A a = Tree<A>::rebuildOutput(leaves, pos, s, paramsPos);
    B b = Tree<B>::rebuildOutput(leaves, pos, s, paramsPos);
    return {std::move(a), std::move(b)};
  }
};

} // namespace detail

/// The callable returned by `jit`.
template <typename F> class Jitted {
public:
  Jitted(F f, JitOptions options)
      : f(std::move(f)),
        state(std::make_shared<detail::JitState>(std::move(options))) {}

  template <typename... Args> auto operator()(const Args &...args) {
    using R = std::invoke_result_t<F &, const Args &...>;
    detail::FlatInputs inputs = flatten(args...);
    live().requireConcrete(inputs);
    detail::JitState::requireUsableEnvironment();
    detail::CompiledFunction *fn = live().lookup(inputs);
    if (!fn) {
      // `f` runs next and may change the Params the names point into.
      inputs.ownNames();
      Trace trace;
      detail::FlatOutputs outputs = traceInto(trace, inputs, args...);
      fn = live().compile(trace, inputs, outputs);
    }
    std::vector<Tensor> results = live().run(*fn, inputs);
    size_t pos = 0, paramsPos = 0;
    return detail::Tree<R>::rebuildOutput(
        results, pos, live().outputStructure(*fn), paramsPos);
  }

  /// Compiles `f` for these arguments ahead of time and writes an artifact
  /// directory: the compiled code as a shared object (`step.so`, the device
  /// binary embedded for Device::Cuda), `manifest.json` (arguments, outputs,
  /// donations) and `values.bin` (these arguments' values, the initial state
  /// a runner starts from; not those of leaves the compiled code never reads,
  /// such as the dense copy of a weight whose layer runs on its CSR in an
  /// inference: "stored": false, zeroed at load). `bregman-run DIR` runs it
  /// without MLIR or LLVM.
  template <typename... Args>
  void save(const std::string &dir, const Args &...args) {
    detail::FlatInputs inputs = flatten(args...);
    live().requireConcrete(inputs);
    inputs.ownNames();
    Trace trace;
    detail::FlatOutputs outputs = traceInto(trace, inputs, args...);
    live().save(dir, trace, inputs, outputs);
  }

private:
  template <typename... Args>
  static detail::FlatInputs flatten(const Args &...args) {
    detail::FlatInputs inputs;
    int argIndex = 0;
    (detail::Tree<Args>::flattenInput(args, argIndex++, inputs), ...);
    inputs.argumentCount = static_cast<int>(sizeof...(Args));
    return inputs;
  }

  template <typename... Args>
  detail::FlatOutputs traceInto(Trace &trace, const detail::FlatInputs &inputs,
                                const Args &...args) {
    using R = std::invoke_result_t<F &, const Args &...>;
    detail::FlatOutputs outputs;
    TraceScope scope(trace);
    std::vector<Tensor> tracers;
    for (const detail::LeafSpec &spec : inputs.specs())
      tracers.push_back(trace.addInput(
          spec.shape, spec.dtype,
          "arg" + std::to_string(spec.arg) +
              (spec.name.empty() ? "" : "/" + spec.name)));
    size_t pos = 0;
    std::tuple<Args...> traced{
        detail::Tree<Args>::rebuildInput(args, tracers, pos)...};
    R result = std::apply(f, traced);
    detail::Tree<R>::flattenOutput(result, outputs);
    return outputs;
  }

public:
  /// A JSON object the next save() writes into the manifest ("training"):
  /// how a runner feeds the step (bregman train writes its data set, batch
  /// inputs and loss outputs there for `bregman-run --data`).
  void setArtifactMetadata(std::string json) {
    setArtifactEntry("training", std::move(json));
  }
  /// A JSON object the next save() writes into the manifest under `key`
  /// (bregman run writes "inference": which inputs are the graph's).
  void setArtifactEntry(const std::string &key, std::string json) {
    live().artifactEntries[key] = std::move(json);
  }

  /// Number of distinct input signatures compiled so far.
  size_t cacheSize() const { return live().cacheSize(); }
  /// Number of compilations (a schedule that changes only values keeps it).
  size_t compileCount() const { return live().compileCount(); }
  /// Seconds spent tracing-to-binary in compilations.
  double compileSeconds() const { return live().compileSeconds(); }
  /// Where that time went.
  const CompileTimes &compileTimes() const { return live().compileTimes(); }

private:
  /// The state, or an error for a callable that was moved from (it
  /// segfaulted: a user's `auto s2 = std::move(step); step(...)`).
  detail::JitState &live() const {
    if (!state)
      throw Error("jit: this callable was moved from; call the one it was "
                  "moved into");
    return *state;
  }

  F f;
  std::shared_ptr<detail::JitState> state;
};

/// Traces, compiles (once per input signature) and runs `f`.
template <typename F> Jitted<F> jit(F f, JitOptions options = {}) {
  return Jitted<F>(std::move(f), std::move(options));
}

} // namespace bregman

#endif // BREGMAN_JIT_H
