//===- OnnxModel.h - ONNX graphs as DSL programs ----------------*- C++ -*-===//
//
// An ONNX model (checked with onnx::checker, shapes inferred) whose graph is
// replayed on DSL tensors: inside `jit` it records an ordinary trace, so
// `grad`, every optimizer and both back ends apply unchanged. Float
// initializers become named Params (the trainable weights); other constant
// tensors are fed as a second Params; integer tensors that only describe
// shapes (Reshape's target, Shape → Gather chains, axes inputs) are folded
// while tracing.
//
//   auto model = onnx::OnnxModel::load("mlp.onnx");
//   auto run = jit([&](const Params &w, const Params &c, const Params &in) {
//     return model.apply(w, c, in);          // outputs by name
//   });
//   Params out = run(model.weights(), model.constants(), {{"input", x}});
//
// Everything the importer cannot represent — an operator, attribute value,
// data type or dynamic shape — is reported by `unsupported()` (and `apply`
// throws) naming the node, its op type and what is unsupported. The verdict
// comes from a dry run of the same handlers `apply` uses, on the declared
// input shapes, when the model is loaded.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ONNX_ONNXMODEL_H
#define BREGMAN_ONNX_ONNXMODEL_H

#include "bregman/Params.h"
#include "bregman/nn.h"
#include "bregman/runtime/SafeWrite.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bregman::onnx {

struct ValueSpec {
  std::string name;
  Shape shape; // a dynamic batch dimension is given as 1
  DType dtype = DType::F32;
  /// Dimension 0 is symbolic in the file (exported with dynamic axes).
  bool dynamicBatch = false;
};

/// What an initializer is to the operator that reads it (retraining gives
/// each its regularizer, initialization and parameter name from this).
enum class ParamRole {
  ConvWeight,   // Conv / ConvTranspose input 1
  LinearWeight, // Gemm / MatMul input 1
  Bias,         // Conv / ConvTranspose / Gemm input 2
  Scale,        // BatchNormalization input 1
  Shift,        // BatchNormalization input 2
  RunningMean,  // BatchNormalization input 3 (a buffer)
  RunningVar,   // BatchNormalization input 4 (a buffer)
  Embedding,    // Gather input 0: a table whose rows are picked (tokens)
  Learned,      // a data operand PyTorch trains (a position table, a cls
                // token, a learned scale): never in the operator table, the
                // rule of plainOperandVerdict (OnnxNetwork.h) gives it
};

/// An operator the importer runs, from its table of handlers: the opsets
/// it implements and the parameter roles of its inputs.
struct SupportedOp {
  std::string opType;
  int64_t sinceVersion = 0, lastVersion = 0;
  std::map<int, ParamRole> roles; // input index -> role
};
/// Every supported operator, by op type.
std::vector<SupportedOp> supportedOps();

/// One line of `summary()` per node.
struct NodeSummary {
  std::string name, opType;
  std::vector<std::string> inputs, outputs;
  Shape outputShape; // of the first output, when known
  std::map<std::string, int64_t> intAttributes;
  std::map<std::string, std::vector<int64_t>> intListAttributes;
  int64_t parameters = 0, nonZero = 0; // of its weight initializers
  std::map<int, ParamRole> parameterRoles; // from the operator's table entry
};

/// One use of a tied initializer that OnnxModel::untied() gives a copy of
/// its own.
struct InitializerSplit {
  int nodeIndex = 0; // in the graph's list of nodes
  std::string node;  // its name
  int input = 0;     // the input that reads the initializer
  ParamRole role = ParamRole::ConvWeight;
  std::string initializer, copy; // the tied initializer, its copy's name
};

class OnnxModel {
public:
  /// Reads and validates `path`. Throws bregman::Error naming the file and
  /// the problem: unreadable, not a model (protobuf parse), checker errors,
  /// external data outside the model's folder.
  static OnnxModel load(const std::string &path);
  OnnxModel(OnnxModel &&) noexcept;
  OnnxModel &operator=(OnnxModel &&) noexcept;
  ~OnnxModel();

  /// Float initializers (the trainable weights), by their ONNX names.
  const Params &weights() const;
  /// The CSR (compressed rows, its stored entries only) of each 2-D float
  /// sparse_initializer and each 3-D or 4-D one (a filter [O, C, K] or
  /// [O, C, KH, KW], as the matrix [O, C·K…]), built from the file's indices
  /// (weights() holds its dense copy too).
  const std::map<std::string, CsrWeight> &sparseInitializers() const;
  /// Other constant float tensors (Constant nodes).
  const Params &constants() const;
  /// Graph inputs that are not initializers, and graph outputs.
  const std::vector<ValueSpec> &inputs() const;
  const std::vector<ValueSpec> &outputs() const;
  int64_t opsetVersion() const;
  /// "node 'name' (OpType): reason" for everything the importer cannot run
  /// (found by replaying the graph on the declared shapes at load time: an
  /// operator outside the table or its opsets, or a node its handler
  /// refuses); empty when the whole graph is supported.
  const std::vector<std::string> &unsupported() const;
  /// Throws the first unsupported()'s own error (what `apply` throws); a
  /// no-op for a supported model.
  void checkSupported() const;
  /// Empty when the graph also replays at a batch other than the one its
  /// inputs declare (tried at load: the declared batch + 1); otherwise the
  /// error it gives there, naming the node and what to re-export.
  const std::string &batchRestriction() const;
  /// At `batch`, other than a static exported batch B: names the Reshape
  /// nodes whose target [B, ..., -1, ...] is read with B as the batch,
  /// though it would fit the data with B as a plain number too (a guess,
  /// right for PyTorch's folded x.size(0), wrong for x.view(1, -1, C)), and
  /// what to re-export; "" when there is none or the batch is B (any other
  /// batch for `batch` ≤ 0).
  std::string batchGuessNote(int64_t batch) const;

  /// Records the graph on `inputs` (by input name) inside a traced
  /// function; returns the graph outputs by name. With `trainingStatistics`,
  /// BatchNormalization runs in training mode (batch statistics) and the
  /// updated running mean and variance (the node's `momentum`, variance
  /// unbiased, as PyTorch) are added to it under their initializer names.
  Params apply(const Params &weights, const Params &constants,
               const Params &inputs, Params *trainingStatistics = nullptr) const;

  /// Per-node summary (op, shapes, parameter counts, non-zeros of weights).
  std::vector<NodeSummary> summary() const;

  /// Float initializers read in a parameter role (NodeSummary::
  /// parameterRoles) that are read more than once — in two roles (γ and
  /// running variance), by two nodes, or also as a plain operand — as
  /// PyTorch's exporter writes tensors of equal values. Every such role use
  /// is listed, except the first when nothing reads the initializer
  /// plainly (it keeps the initializer); in graph order. Each copy is named
  /// after its layer in PyTorch's style ("bn2.running_var"), unique in the
  /// graph.
  std::vector<InitializerSplit> tiedInitializers() const;
  /// The outputs of Identity nodes that copy a float initializer, as
  /// PyTorch's exporter writes the equal parameters of deep-copied layers
  /// (a fresh nn.TransformerEncoder's): layer 1's weight is
  /// Identity(layer 0's), named as PyTorch names layer 1's parameter.
  std::vector<std::string> identityCopies() const;
  /// The model with every tiedInitializers() use reading its own copy (the
  /// same values, a dense initializer): the node inputs renamed; and every
  /// identityCopies() Identity node replaced by an initializer of its
  /// output's name with the copied values; nothing else changed.
  /// Retraining trains each copy on its own and save() writes each back.
  OnnxModel untied() const;

  /// Writes the model with the float initializers in `initializers` (by
  /// ONNX name; the others keep their imported values), zeros kept. With
  /// `sparse`, every float initializer is stored as an ONNX
  /// sparse_initializer (non-zero values and their linear indices). The
  /// result passes onnx::checker and carries the metadata entry
  /// "bregman.export", by which a later export recognizes it: an existing
  /// file is replaced only when it has that entry (exportedModels). It is
  /// written to a temporary file and renamed. Returns the file size in bytes.
  int64_t save(const std::string &path, const Params &initializers,
               bool sparse = false) const;

private:
  struct Impl;
  explicit OnnxModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// A Gemm / MatMul that runs on the CSR of its weight initializer.
struct SparseLayer {
  std::string initializer; // the weight's ONNX name
  std::string node;        // "node 'fc1' (Gemm)"
  double density = 0;      // stored entries / elements
  nn::SparseCrossover crossover; // what `auto` compared it with
  bool filter = false;           // a Conv's (its crossover: per filter shape)
};

/// model.weights() plus, under nn::csrKeys(initializer), the CSR of each
/// 2-D initializer read as a Gemm / MatMul weight whose density is below
/// `policy`'s threshold (Off: none, On: all); Gemm and MatMul then run on
/// it (MLIR's sparsifier, CPU). Likewise each of sparseConvWeights() gets
/// its CSR pair (nn::csrKeys, nn::filterColumnsKeys; `auto`: below
/// nn::sparseConvCrossover of the filter's shape and its node's geometry,
/// forward only), which Conv then runs on. A sparse_initializer's CSR comes from its
/// indices (sparseInitializers()), the others' from their dense values.
/// The layers chosen go to `sparseLayers` when given. `auto` compares each
/// density with nn::sparseCrossover of the weight's shape at `batch` inputs
/// (the fixed threshold when `batch` is 0), and a filter's with its
/// crossover at the size of the input its Conv reads when `feeds` (the
/// graph's inputs) are given: the graph is traced on them once, nothing
/// computed.
Params withSparseLayers(const OnnxModel &model, nn::SparseExec policy,
                        std::vector<SparseLayer> *sparseLayers = nullptr,
                        int64_t batch = 0, const Params *feeds = nullptr);

/// A filter that runs on its CSR pair: the first Conv node that reads it
/// ("node 'c1' (Conv)") and that node's geometry.
struct SparseConvWeight {
  std::string node;
  Conv2dOptions options;
};

/// The 4-D initializers (and the 3-D filters of 1-D Convs, as [O, C, 1, K])
/// read as the weight of a Conv that can run on the filter's CSR pair (one
/// group, padding ≤ dilation·(K − 1), any strides: sparseConv2dFits), by ONNX
/// name. A filter that some Conv reads in a way that cannot run sparse is not
/// among them.
std::map<std::string, SparseConvWeight> sparseConvWeights(const OnnxModel &model);

/// What OnnxModel::save may replace: models it exported (their metadata
/// entry "bregman.export"), nothing else.
runtime::FileOwnershipCheck exportedModels();

/// Reads a serialized onnx TensorProto (the test cases' input_0.pb files);
/// with `name`, also the tensor's name.
Tensor readTensorProto(const std::string &path, std::string *name = nullptr);
/// Writes a float tensor as a serialized onnx TensorProto named `name`.
void writeTensorProto(const std::string &path, const Tensor &t,
                      const std::string &name);

} // namespace bregman::onnx

#endif // BREGMAN_ONNX_ONNXMODEL_H
