//===- Artifact.h - Run a compiled step without the compiler ----*- C++ -*-===//
//
// An artifact directory (written by Jitted::save): step.so (host code, the
// packed `_mlir_<name>` entry point, for CUDA the embedded kernels),
// manifest.json (inputs and outputs: dtype, shape, bytes, which input an
// output overwrites) and values.bin (the inputs' initial values; an input
// marked "stored": false has none there and starts zeroed). Loading
// needs no MLIR or LLVM: the shared object's library calls (GEMM,
// convolution, mgpu*) resolve to this runtime in the running executable.
//
// step.so carries its own signature, a JSON C string exported as
// `bregman_artifact_signature_v1`: format, entry point, device, and each
// input's and output's name, dtype, shape, bytes (outputs: alias). Loading
// refuses a manifest that disagrees with it (naming the field), calls only
// an `_mlir_` entry point defined in step.so itself, and checks step.so's
// ELF headers against its size before dlopen.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_ARTIFACT_H
#define BREGMAN_RUNTIME_ARTIFACT_H

#include "bregman/runtime/Buffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bregman::runtime {

class DeviceMemory;

/// The manifest's format marker.
inline constexpr const char *kArtifactFormat = "bregman-step/1";

/// Why the existing, non-empty directory `dir` may not be replaced by an
/// artifact ("" when it may: it is one, and holds nothing else). For
/// replaceDirectory (SafeWrite.h).
std::string artifactOwnership(const std::string &dir);

struct ArtifactTensor {
  std::string name;
  std::string dtype; // f32, f64, i32
  std::vector<int64_t> shape;
  std::size_t bytes = 0;
  std::size_t offset = 0; // inputs: in values.bin
  bool stored = true;     // inputs: false: not in values.bin, zeroed
  int alias = -1;         // outputs: the input whose buffer it overwrites
};

/// What manifest.json says, before anything is loaded or allocated.
struct ArtifactManifest {
  std::string name, device, function;
  /// Random per save, also in step.so's signature: ties the two files (a
  /// step.so of another artifact with the same signature ran silently).
  /// "" in artifacts saved before ids.
  std::string id;
  std::string training;  // JSON text, "" if none
  std::string inference; // JSON text, "" if none (Inference.h)
  std::vector<ArtifactTensor> inputs, outputs;
};

/// Parses the text of a manifest.json (`where` names it in errors); throws
/// std::runtime_error on malformed JSON, missing or mistyped fields, sizes
/// that do not match shapes, outputs aliasing no matching input, and an
/// "inference" entry that does not fit the inputs and outputs.
ArtifactManifest parseArtifactManifest(const std::string &text, const std::string &where);

/// The manifest's "training" entry (`bregman-run DIR --train`).
struct TrainingSpec {
  std::string dataset, dataDir;
  double mean = 0, std = 1, valFraction = 0;
  uint64_t seed = 0;
  int64_t trainLimit = -1, batch = 0;
  std::size_t xInput = 0, yInput = 0, lossOutput = 0, correctOutput = 0;
};

/// Parses the "training" entry (JSON text) and checks each field against
/// the artifact's inputs and outputs: indices in range, the loss and the
/// count of correct predictions scalars, the data settings in range; throws
/// std::runtime_error naming `where` and the field. (An index past the end
/// gave vector::_M_range_check; the weights' output taken as the loss
/// trained with "loss 0.0000".) Not part of parseArtifactManifest: a step
/// artifact runs its calls whatever this entry says.
TrainingSpec parseTrainingEntry(const std::string &json,
                                const std::vector<ArtifactTensor> &inputs,
                                const std::vector<ArtifactTensor> &outputs,
                                const std::string &where);

/// Checks that a values.bin of `valuesBytes` bytes holds every input and
/// that each fits the memory limit; throws std::runtime_error naming `where`.
void checkArtifactValues(const std::vector<ArtifactTensor> &inputs, uint64_t valuesBytes,
                         const std::string &where);

class Artifact {
public:
  /// The exported symbol holding step.so's signature, and its format.
  static constexpr const char *signatureSymbol = "bregman_artifact_signature_v1";
  static constexpr const char *signatureFormat = "bregman-signature/1";

  /// Loads `dir`; throws std::runtime_error naming the file and the problem
  /// (missing, malformed, wrong sizes, no CUDA device for a CUDA artifact).
  static std::unique_ptr<Artifact> load(const std::string &dir);
  ~Artifact();

  /// One call: outputs that overwrite inputs carry the state to the next.
  void step();
  /// Waits for the device (CUDA), reporting failures of the calls so far.
  void synchronize();
  /// An output's value after the last step, as double (numel() == 1).
  double scalarOutput(std::size_t i);
  /// An input's current value (state carried over from the last step).
  const Buffer &input(std::size_t i) const { return *inputBuffers.at(i); }
  /// An input to write before the next step (a batch).
  Buffer &mutableInput(std::size_t i) { return *inputBuffers.at(i); }
  /// An output's value after the last step (its host copy, brought up to
  /// date from the device).
  const Buffer &output(std::size_t i) const { return *outputBuffers.at(i); }
  /// Writes a copy of the artifact with the current inputs as its initial
  /// values (the state reached so far): `dir` is created, or replaced if it
  /// holds an artifact and nothing else (see artifactOwnership).
  void saveTo(const std::string &dir) const;
  /// What the last step launched on the device ("" on the CPU; see
  /// DeviceMemory::stepProfile).
  std::string stepProfile() const;
  /// The manifest's "training" entry as JSON text ("" if none).
  std::string training;
  /// The manifest's "inference" entry as JSON text ("" if none): an
  /// inference artifact (`bregman run model.onnx --save-artifact`).
  std::string inference;

  std::string name, device, function, id;
  std::vector<ArtifactTensor> inputs, outputs;

private:
  Artifact() = default;
  std::string sourceDir;
  void *library = nullptr;
  void (*entry)(void **) = nullptr;
  DeviceMemory *deviceMemory = nullptr; // null: the CPU
  std::vector<std::shared_ptr<Buffer>> inputBuffers, outputBuffers;
  /// step()'s argument pointers and the slots pointing at them, kept
  /// between calls: a batch-1 inference takes a few microseconds, and
  /// growing fresh vectors cost a tenth of it.
  std::vector<void *> callPointers, callSlots;
};

/// What `bregman-run DIR` and `bregman run DIR` do: load, run `steps`
/// calls (after one warm-up call), print each call's scalar outputs (unless
/// `quiet`) and the time per call to stdout. Returns the exit status; errors
/// go to stderr.
/// With `saveDir`: the state after the calls is written there as an
/// artifact (the GPU check compares it with the CPU's).
int runArtifactCommand(const std::string &dir, int steps, bool quiet,
                       const std::string &saveDir = "");

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_ARTIFACT_H
