//===- Inference.h - Inference artifacts, run by the runtime alone -*- C++
//-*-===//
//
// `bregman run model.onnx --input x.pb --save-artifact DIR` saves the
// compiled inference as an artifact (Artifact.h): its inputs are the
// weights, the CSR of the layers chosen sparse (positions, coordinates,
// values), the constants and the graph inputs; values.bin holds them with
// the example input. Its manifest's "inference" entry says what a runner
// needs beyond the signed inputs and outputs:
//
//   "inference": {"model": "mlp.onnx", "sparse_exec": "on", "preprocessing":
//   "",
//     "sparse_layers": [{"node": "node 'fc1' (Gemm)", "weight": "fc1.weight",
//                        "density": 0.05}, ...],
//     "inputs":  [{"name": "x", "input": 9, "dtype": "f32", "shape": [128,
//     784]}], "outputs": [{"name": "y", "output": 0, "dtype": "f32", "shape":
//     [128, 10]}]}
//
// "input" / "output" index the artifact's inputs / outputs, whose name,
// dtype and shape (checked against step.so's signature) must be the same.
// "preprocessing" (optional) says what the inputs must be beyond their
// shape: `bregman train --save-infer` writes the images' normalization.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_INFERENCE_H
#define BREGMAN_RUNTIME_INFERENCE_H

#include "bregman/runtime/Artifact.h"

#include <string>
#include <vector>

namespace bregman::runtime {

/// A graph input or output and the artifact input or output it is.
struct InferenceBinding {
  std::string name;
  std::size_t index = 0;
  std::string dtype;
  std::vector<int64_t> shape;
};

/// A layer the artifact runs on its weight's CSR.
struct InferenceSparseLayer {
  std::string node, weight;
  double density = 0;
};

/// The manifest's "inference" entry.
struct InferenceSpec {
  std::string model, sparseExec;
  /// What the inputs must be beyond dtype and shape ("" when nothing: an
  /// ONNX model's inputs are the graph's); printed by the runner.
  std::string preprocessing;
  std::vector<InferenceBinding> inputs, outputs;
  std::vector<InferenceSparseLayer> sparseLayers;
};

/// The "inference" entry of `spec` as JSON text (Jitted::setArtifactEntry).
std::string inferenceEntryJson(const InferenceSpec &spec);

/// Parses the "inference" entry (JSON text) and checks it against the
/// artifact's inputs and outputs (indices in range, names, dtypes and shapes
/// equal, no input or output bound twice); throws std::runtime_error naming
/// `where` and the entry.
InferenceSpec parseInferenceEntry(const std::string &json,
                                  const std::vector<ArtifactTensor> &inputs,
                                  const std::vector<ArtifactTensor> &outputs,
                                  const std::string &where);

/// What `bregman-run DIR --input ...` and `bregman run DIR --input ...` do:
/// load the inference artifact, read one TensorProto per graph input (in
/// the manifest's order; dtype and shape must be the artifact's), run it
/// once, print each output as `output NAME f32[shape]` (as `bregman run
/// model.onnx` does) and write the first outputs to `outputFiles`. Returns
/// the exit status; errors go to stderr.
int runInferenceCommand(const std::string &dir,
                        const std::vector<std::string> &inputFiles,
                        const std::vector<std::string> &outputFiles);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_INFERENCE_H
