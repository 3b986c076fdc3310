//===- SparseLayers.cpp - Gemm / MatMul weights chosen to run on a CSR -----===//

#include "bregman/onnx/OnnxModel.h"

#include "OpHandlers.h"
#include "bregman/runtime/SparseRows.h"

#include <fmt/format.h>
#include <set>
#include <optional>

namespace bregman::onnx {

namespace {

std::string nodeWhere(const NodeSummary &node, size_t index) {
  return node.name.empty()
             ? fmt::format("node #{} ({})", index, node.opType)
             : fmt::format("node '{}' ({})", node.name, node.opType);
}

/// An INTS attribute, or `count` copies of `value` when absent.
std::vector<int64_t> intsOr(const NodeSummary &node, const std::string &name,
                            size_t count, int64_t value) {
  auto it = node.intListAttributes.find(name);
  return it != node.intListAttributes.end()
             ? it->second
             : std::vector<int64_t>(count, value);
}

/// A Conv weight as the 2-D filter its node runs: [M, C/group, kH, kW], a
/// 1-D one [M, C/group, K] with height 1 (ConvPoolOps.cpp); none for other
/// ranks.
std::optional<std::array<int64_t, 4>> filterShape4(const Tensor &w) {
  if (w.rank() == 4)
    return std::array<int64_t, 4>{w.dim(0), w.dim(1), w.dim(2), w.dim(3)};
  if (w.rank() == 3) {
    Shape s = detail::signalFilterAsImage(w.shape());
    return std::array<int64_t, 4>{s[0], s[1], s[2], s[3]};
  }
  return std::nullopt;
}

/// The geometry of a Conv node with this weight when it runs on its
/// filter's CSR pair; a 1-D node's as a window of height 1. (Any auto_pad
/// at stride 1 pads at most dilation·(K − 1) per side.)
std::optional<Conv2dOptions> sparseConvOptions(const NodeSummary &node,
                                               const Tensor &w) {
  std::optional<std::array<int64_t, 4>> filter = filterShape4(w);
  if (!filter)
    return std::nullopt;
  auto axes = static_cast<size_t>(w.rank() - 2);
  auto group = node.intAttributes.find("group");
  std::vector<int64_t> strides = intsOr(node, "strides", axes, 1);
  std::vector<int64_t> dilations = intsOr(node, "dilations", axes, 1);
  std::vector<int64_t> pads = intsOr(node, "pads", 2 * axes, 0);
  if (strides.size() != axes || dilations.size() != axes ||
      pads.size() != 2 * axes)
    return std::nullopt;
  if (axes == 1)
    detail::signalWindowAsImage(strides, dilations, pads);
  Conv2dOptions options{{strides[0], strides[1]},
                        {pads[0], pads[1], pads[2], pads[3]},
                        {dilations[0], dilations[1]},
                        group == node.intAttributes.end() ? 1 : group->second};
  if (!sparseConv2dFits(*filter, options))
    return std::nullopt;
  return options;
}

/// Where a linear weight is first read, and how: x·Wᵀ (a Gemm with transB)
/// or x·W (MatMul, a Gemm without).
struct LinearUse {
  std::string where; // "node 'fc1' (Gemm)", "node #0 (Gemm)" when unnamed
  bool transposed = false;
  // Rows of the product per sample: a MatMul on [N, S, ..., K] multiplies
  // N·S·… rows (a sequence's tokens), as its inferred output shape says.
  int64_t rowsPerSample = 1;
};

/// The product of an output shape's dimensions between the batch and the
/// features; 1 when unknown or implausible.
int64_t rowsPerSample(const Shape &output) {
  int64_t rows = 1;
  for (size_t d = 1; d + 1 < output.size(); ++d) {
    if (output[d] <= 0 || output[d] > (int64_t(1) << 20) / rows)
      return 1;
    rows *= output[d];
  }
  return rows;
}

/// The 2-D initializers read as a Gemm / MatMul weight, each with the first
/// node that reads it.
std::map<std::string, LinearUse> linearWeights(const OnnxModel &model) {
  std::map<std::string, LinearUse> weights;
  std::vector<NodeSummary> nodes = model.summary();
  for (size_t index = 0; index < nodes.size(); ++index) {
    const NodeSummary &node = nodes[index];
    std::string where = nodeWhere(node, index);
    for (const auto &[input, role] : node.parameterRoles) {
      if (role != ParamRole::LinearWeight || input >= static_cast<int>(node.inputs.size()))
        continue;
      const std::string &name = node.inputs[input];
      auto transB = node.intAttributes.find("transB");
      bool transposed = node.opType == "Gemm" && transB != node.intAttributes.end() &&
                        transB->second != 0;
      if (model.weights().contains(name) && model.weights().at(name).rank() == 2)
        weights.emplace(name, LinearUse{where, transposed, rowsPerSample(node.outputShape)});
    }
  }
  return weights;
}

/// Stored entries / elements of `name` (a matrix or a filter): its
/// sparse_initializer's, else its non-zeros'.
double densityOf(const OnnxModel &model, const std::string &name) {
  const Tensor &w = model.weights().at(name);
  auto sparse = model.sparseInitializers().find(name);
  int64_t stored = sparse != model.sparseInitializers().end()
                       ? sparse->second.values.numel()
                       : runtime::countNonZeros(w.data<float>(), w.dim(0),
                                                w.numel() / w.dim(0));
  return static_cast<double>(stored) / static_cast<double>(w.numel());
}

} // namespace

std::map<std::string, SparseConvWeight> sparseConvWeights(const OnnxModel &model) {
  std::map<std::string, SparseConvWeight> filters;
  std::set<std::string> refused; // read by a Conv that cannot run sparse
  std::vector<NodeSummary> nodes = model.summary();
  for (size_t index = 0; index < nodes.size(); ++index) {
    const NodeSummary &node = nodes[index];
    if (node.opType != "Conv" || node.inputs.size() < 2 ||
        !model.weights().contains(node.inputs[1]))
      continue;
    const std::string &name = node.inputs[1];
    const Tensor &w = model.weights().at(name);
    std::optional<Conv2dOptions> options;
    if (w.dtype() == DType::F32 && w.numel() > 0)
      options = sparseConvOptions(node, w);
    // The transposed CSR depends on the groups: a filter that Convs read
    // with different groups stays dense.
    auto seen = filters.find(name);
    if (options && seen != filters.end() &&
        seen->second.options.groups != options->groups)
      options.reset();
    if (options)
      filters.emplace(name, SparseConvWeight{nodeWhere(node, index), *options});
    else
      refused.insert(name);
  }
  for (const std::string &name : refused)
    filters.erase(name);
  return filters;
}

namespace {

/// The ONNX filters that can run sparse, each with the height and width of
/// the input its Conv reads on `feeds` (unknown without them).
nn::SparseFilters filtersWithInputSizes(const OnnxModel &model,
                                        const std::map<std::string, SparseConvWeight> &convs,
                                        const Params *feeds) {
  nn::SparseFilters filters;
  for (const auto &[name, use] : convs)
    filters.emplace(name, nn::SparseFilter{use.options});
  if (feeds)
    nn::addFilterInputSizes(filters, {model.weights(), model.constants(), *feeds},
                            [&model](const std::vector<Params> &in) {
                              model.apply(in[0], in[1], in[2]);
                            });
  return filters;
}

} // namespace

Params withSparseLayers(const OnnxModel &model, nn::SparseExec policy,
                        std::vector<SparseLayer> *sparseLayers, int64_t batch,
                        const Params *feeds) {
  Params out = model.weights();
  if (policy == nn::SparseExec::Off)
    return out;
  for (const auto &[name, use] : linearWeights(model)) {
    const Tensor &w = model.weights().at(name);
    if (w.dtype() != DType::F32 || w.numel() == 0)
      continue;
    double density = densityOf(model, name);
    nn::SparseCrossover crossover;
    if (policy == nn::SparseExec::Auto) {
      int64_t rows = batch > 0 && batch <= (int64_t(1) << 20) ? batch * use.rowsPerSample : batch;
      crossover = nn::sparseCrossover(w.dim(0), w.dim(1), rows, use.transposed);
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
      sparseLayers->push_back({name, use.where, density, crossover});
  }
  std::map<std::string, SparseConvWeight> convs = sparseConvWeights(model);
  nn::SparseFilters filters = filtersWithInputSizes(
      model, convs, policy == nn::SparseExec::Auto ? feeds : nullptr);
  for (const auto &[name, use] : convs) {
    const Tensor &w = model.weights().at(name);
    std::array<int64_t, 4> filter =
        *filterShape4(w); // sparseConvWeights checked
    double density = densityOf(model, name);
    nn::SparseCrossover crossover;
    if (policy == nn::SparseExec::Auto) {
      if (density >= 1.0) // dense whatever its crossover: nothing to measure
        continue;
      crossover = nn::sparseConvCrossover(filter, use.options,
                                          /*withInputGradient=*/false,
                                          filters.at(name).inputSize);
      if (density >= crossover.density)
        continue;
    }
    // Capacity: the entries stored (the run's shapes are fixed by them). A
    // 1-D filter's values are its 2-D view's, in the same order.
    auto sparse = model.sparseInitializers().find(name);
    Tensor filter4 =
        w.rank() == 4
            ? w
            : Tensor::fromVector(w.toVector<float>(),
                                 {filter[0], filter[1], 1, filter[3]});
    nn::addFilterCsr(
        out, name,
        sparse != model.sparseInitializers().end()
            ? filterCsrFromRows(sparse->second, filter, use.options.groups)
            : compressFilter(filter4, use.options.groups));
    if (sparseLayers)
      sparseLayers->push_back(
          {name, use.node, density, crossover, /*filter=*/true});
  }
  return out;
}

} // namespace bregman::onnx
