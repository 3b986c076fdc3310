//===- SparseLayers.cpp - Gemm / MatMul weights chosen to run on a CSR -----===//

#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/SparseRows.h"

#include <fmt/format.h>

namespace bregman::onnx {

namespace {

/// The 2-D initializers read as a Gemm / MatMul weight, each with the first
/// node that reads it ("node 'fc1' (Gemm)", "node #0 (Gemm)" when unnamed).
std::map<std::string, std::string> linearWeights(const OnnxModel &model) {
  std::map<std::string, std::string> weights;
  std::vector<NodeSummary> nodes = model.summary();
  for (size_t index = 0; index < nodes.size(); ++index) {
    const NodeSummary &node = nodes[index];
    std::string where = node.name.empty()
                            ? fmt::format("node #{} ({})", index, node.opType)
                            : fmt::format("node '{}' ({})", node.name, node.opType);
    for (const auto &[input, role] : node.parameterRoles) {
      if (role != ParamRole::LinearWeight || input >= static_cast<int>(node.inputs.size()))
        continue;
      const std::string &name = node.inputs[input];
      if (model.weights().contains(name) && model.weights().at(name).rank() == 2)
        weights.emplace(name, where);
    }
  }
  return weights;
}

/// Stored entries / elements of `name`: its sparse_initializer's, else its
/// non-zeros'.
double densityOf(const OnnxModel &model, const std::string &name) {
  const Tensor &w = model.weights().at(name);
  auto sparse = model.sparseInitializers().find(name);
  int64_t stored = sparse != model.sparseInitializers().end()
                       ? sparse->second.values.numel()
                       : runtime::countNonZeros(w.data<float>(), w.dim(0), w.dim(1));
  return static_cast<double>(stored) / static_cast<double>(w.numel());
}

} // namespace

Params withSparseLayers(const OnnxModel &model, nn::SparseExec policy,
                        std::vector<SparseLayer> *sparseLayers, int64_t batch) {
  Params out = model.weights();
  if (policy == nn::SparseExec::Off)
    return out;
  for (const auto &[name, node] : linearWeights(model)) {
    const Tensor &w = model.weights().at(name);
    if (w.dtype() != DType::F32 || w.numel() == 0)
      continue;
    double density = densityOf(model, name);
    nn::SparseCrossover crossover;
    if (policy == nn::SparseExec::Auto) {
      crossover = nn::sparseCrossover(w.dim(0), w.dim(1), batch);
      if (density >= crossover.density)
        continue;
    }
    auto sparse = model.sparseInitializers().find(name);
    // Straight from the file's indices, no pass over the dense copy.
    CsrWeight csr = sparse != model.sparseInitializers().end()
                        ? sparse->second
                        : compressRows(w);
    auto [pos, crd, val] = nn::csrKeys(name);
    out.add(pos, csr.positions);
    out.add(crd, csr.coordinates);
    out.add(val, csr.values);
    if (sparseLayers)
      sparseLayers->push_back({name, node, density, crossover});
  }
  return out;
}

} // namespace bregman::onnx
