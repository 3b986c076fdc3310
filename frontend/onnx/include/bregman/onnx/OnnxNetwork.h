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
// ".running_mean" or ".running_var" suffix. A float initializer read
// outside those roles trains when plainOperandVerdict says PyTorch trains it
// (a position table, a cls token, a learned scale: "<onnx name>.learned",
// no regularizer; a "*.bias" added to a MatMul: "<name>.bias"; a ≥2-D
// operand of a matrix product: "<name>.weight"); the others stay frozen
// constants, as do the ones RetrainOptions freezes. An initializer read more than once (PyTorch's exporter
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
#include <set>
#include <string>
#include <vector>

namespace bregman::onnx {

/// One read of a float initializer outside the operator table's roles.
struct PlainRead {
  std::string opType, node;
  int input = 0;
};

/// What retraining makes of a float initializer no operator reads in a
/// parameter role: trained (in `role`) or a frozen constant, and why.
struct OperandVerdict {
  bool trained = false;
  ParamRole role = ParamRole::Learned; // when trained
  std::string reason;
};

/// The rule (PlainOperands.cpp says why): a float initializer PyTorch
/// trains has a module-path name (not "onnx::…", "/…", "…Constant…",
/// "val_…") and every read is a data operand (arithmetic, Concat, data
/// movement, a matrix product, Where's values), none attribute-like (Pow's
/// exponent, Clip's bounds, Resize's scales, Dropout's ratio); a
/// constant-valued tensor read by several nodes stays frozen (the exporter
/// may have merged equal parameters). Trained: LinearWeight when ≥2-D and
/// read by a matrix product, Bias when 1-D and named "*.bias", else Learned.
OperandVerdict plainOperandVerdict(const std::string &name, const Tensor &value,
                                   const std::vector<PlainRead> &reads);
/// Whether `read` is a data operand of its operator (not an attribute-like
/// input such as Pow's exponent or Resize's scales).
bool isDataRead(const PlainRead &read);

/// The user's say over which initializers retraining trains.
struct RetrainOptions {
  /// Train the plain operands plainOperandVerdict picks (false: only the
  /// operator table's roles, as before).
  bool trainOperands = true;
  /// ONNX initializer names of the file kept as imported (with every copy
  /// an untie makes of them). A name that is not a float initializer of the
  /// file is an error.
  std::vector<std::string> freeze;
  /// ONNX initializer names read only as plain operands that train although
  /// the rule keeps them frozen (an exporter-constant name, an equal-valued
  /// tensor read by several nodes). An attribute-like read (Pow's exponent,
  /// Resize's scales), a batch-norm statistic, a name read by no node, or
  /// one in `freeze` too is an error; a name that trains anyway is kept.
  std::vector<std::string> unfreeze;
};

/// A float initializer of the graph that trains, and what it became.
struct InitializerRole {
  std::string onnxName;  // in the graph that trains (OnnxNetwork::model())
  std::string parameter; // parameter or buffer name; empty when frozen
  bool trained = false;  // a parameter (buffers and frozen ones: false)
  std::string role;      // "conv weight", "learned (no regularizer)", ...
  std::string reason;    // how the rule decided, or why it stays frozen
};

class OnnxNetwork : public nn::Model {
public:
  /// `fromPretrained`: init() returns the imported weights; otherwise it
  /// draws the sparse initialization of ALGORITHMS.md §4 by role (conv
  /// weights per kernel when config.perKernel, linear weights per row when
  /// config.perRow, biases uniform, batch-norm scale 1 and shift 0).
  OnnxNetwork(std::shared_ptr<const OnnxModel> model, std::string file,
              bool fromPretrained, RetrainOptions options = {});

  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Params initBuffers() const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  /// The trained filters whose Conv can run on their CSR pair
  /// (onnx::sparseConvWeights, by parameter name).
  nn::SparseFilters sparseFilters() const override;
  /// The trained weight of the Gemm or MatMul that is the only reader of a
  /// 2-D graph input [N, features] (as its A, untransposed); "" otherwise.
  std::string inputLinearWeight() const override { return inputLinearWeight_; }

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
  /// Every float initializer of model(): its role and parameter, or why it
  /// stays frozen (what `bregman inspect` lists), by ONNX name.
  std::vector<InitializerRole> initializerRoles() const;
  /// The initializers read only as plain operands that train (ONNX names):
  /// the file cannot say whether PyTorch held them as parameters or as
  /// buffers, which it never trains.
  std::vector<std::string> trainedPlainOperands() const {
    std::vector<std::string> names;
    for (const auto &entry : trainedWhy_)
      names.push_back(entry.first);
    return names;
  }

private:
  struct Entry {
    std::string onnxName;
    ParamRole role;
    int64_t fanIn = 1;   // of the layer it belongs to
    int64_t rowSize = 1; // linear: elements per output row
  };
  using Claim = std::function<void(const std::string &, ParamRole, int64_t, int64_t)>;
  /// The parameter's shape: its initializer's, or a 1-D filter's 2-D view
  /// (unitHeightFilters_).
  Shape trainedShape(const Entry &e) const;
  /// Gives every role use of an initializer its parameter or buffer name.
  void claimRoles();
  /// Then the initializers read only plainly, by plainOperandVerdict.
  void claimPlainOperands(const std::vector<NodeSummary> &summary, const Claim &claim);
  /// RetrainOptions::unfreeze's override of the rule's verdict `v` on `name`.
  OperandVerdict forcedVerdict(const std::string &name, const OperandVerdict &v,
                               const std::vector<PlainRead> &reads) const;
  /// Checks options_.unfreeze against the file before anything is claimed.
  void checkTrainNames() const;
  /// Checks options_.freeze against the file and takes those entries out.
  void applyFreeze();
  /// Roles for the initializers a node's weights are moved out of (when
  /// the graph computes them: PyTorch's LSTM/GRU gate reordering).
  void claimMoved(const NodeSummary &n,
                  const std::map<std::string, const NodeSummary *> &producers,
                  const std::function<void(const std::string &, ParamRole, int64_t, int64_t)>
                      &claim);

  std::shared_ptr<const OnnxModel> model_;
  std::vector<InitializerSplit> splits_;
  /// inputLinearWeight(), found at construction (findInputLinearWeight).
  std::string inputLinearWeight_;
  std::string findInputLinearWeight() const;
  size_t identityCopies_ = 0; // OnnxModel::identityCopies() of the file
  std::string file_;
  bool fromPretrained_;
  RetrainOptions options_;
  std::map<std::string, std::string> frozenWhy_;  // ONNX name -> reason
  std::map<std::string, std::string> trainedWhy_; // plain operands: the rule's
  std::map<std::string, Entry> entries_; // by parameter / buffer name
  // 1-D filters [M, C, K] that only Convs read: trained as [M, C, 1, K].
  std::set<std::string> unitHeightFilters_;
  std::map<std::string, std::string> onnxNames_;
  Params frozen_; // float initializers without a trainable role
};

} // namespace bregman::onnx

#endif // BREGMAN_ONNX_ONNXNETWORK_H
