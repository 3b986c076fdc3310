//===- OnnxNetwork.h - An imported ONNX graph as a trainable model -*- C++ -*-===//
//
// Wraps an OnnxModel as an nn::Model for sparse retraining. Float
// initializers get roles from the operators that read them (the parameter
// roles of the importer's table of operators, NodeSummary::parameterRoles),
// and parameter names that say so (the trainer's groups and the density
// metrics go by them):
//
//   Conv input 1                        -> "<name>.weight" (4-D: kernel groups)
//   Gemm / MatMul input 1 (2-D)         -> "<name>.weight"
//   Conv / Gemm input 2                 -> "<name>.bias"
//   BatchNormalization inputs 1, 2      -> "<name>.scale", "<name>.shift"
//   BatchNormalization inputs 3, 4      -> buffers (running statistics)
//   Gather input 0 (embedding table)    -> "<name>.weight" (rows: tokens)
//
// where <name> is the initializer's ONNX name without a ".weight", ".bias",
// ".running_mean" or ".running_var" suffix. Other float initializers stay
// frozen constants. An initializer read more than once (PyTorch's exporter
// merges tensors of equal values: a fresh batch norm's γ and running
// variance, β and running mean, the γ of every batch norm of one width) is
// split first (OnnxModel::untied): every role of every layer trains its own
// tensor, and the export writes each back. In training mode batch
// normalization uses batch statistics and updates the running ones (like
// nn::BatchNorm2d); in evaluation it uses the running ones. The batch
// dimension of the graph input is free; the rest of its shape is fixed.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ONNX_ONNXNETWORK_H
#define BREGMAN_ONNX_ONNXNETWORK_H

#include "bregman/nn.h"
#include "bregman/onnx/OnnxModel.h"

#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace bregman::onnx {

class OnnxNetwork : public nn::Model {
public:
  /// `fromPretrained`: init() returns the imported weights; otherwise it
  /// draws the sparse initialization of ALGORITHMS.md §4 by role (conv
  /// weights per kernel when config.perKernel, linear weights per row when
  /// config.perRow, biases uniform, batch-norm scale 1 and shift 0).
  OnnxNetwork(std::shared_ptr<const OnnxModel> model, std::string file,
              bool fromPretrained);

  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Params initBuffers() const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;

  /// The graph that trains (untied: see tiedInitializers()).
  const OnnxModel &model() const { return *model_; }
  /// Parameter or buffer name -> ONNX initializer name (of model()).
  const std::map<std::string, std::string> &onnxNames() const { return onnxNames_; }
  /// The uses of tied initializers of the imported file that got their own
  /// tensors (OnnxModel::tiedInitializers).
  const std::vector<InitializerSplit> &tiedInitializers() const { return splits_; }
  /// The trained values by ONNX initializer name, for model().save():
  /// `params` and the running statistics of `buffers`. Throws an Error
  /// naming a parameter or buffer that is missing.
  Params onnxInitializers(const Params &params, const Params &buffers) const;

private:
  struct Entry {
    std::string onnxName;
    ParamRole role;
    int64_t fanIn = 1;   // of the layer it belongs to
    int64_t rowSize = 1; // linear: elements per output row
  };
  /// Gives every role use of an initializer its parameter or buffer name.
  void claimRoles();
  /// Roles for the initializers a node's weights are moved out of (when
  /// the graph computes them: PyTorch's LSTM/GRU gate reordering).
  void claimMoved(const NodeSummary &n,
                  const std::map<std::string, const NodeSummary *> &producers,
                  const std::function<void(const std::string &, ParamRole, int64_t, int64_t)>
                      &claim);

  std::shared_ptr<const OnnxModel> model_;
  std::vector<InitializerSplit> splits_;
  size_t identityCopies_ = 0; // OnnxModel::identityCopies() of the file
  std::string file_;
  bool fromPretrained_;
  std::map<std::string, Entry> entries_; // by parameter / buffer name
  std::map<std::string, std::string> onnxNames_;
  Params frozen_; // float initializers without a trainable role
};

} // namespace bregman::onnx

#endif // BREGMAN_ONNX_ONNXNETWORK_H
