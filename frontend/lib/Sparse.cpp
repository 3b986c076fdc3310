//===- Sparse.cpp - Layers on compressed sparse rows -----------------------===//

#include "bregman/Error.h"
#include "bregman/Tensor.h"
#include "bregman/Trace.h"
#include "bregman/nn.h"
#include "bregman/runtime/SparseRows.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <fmt/format.h>

namespace bregman {

/// The CSR's buffers against its shape (the names say which is wrong).
static void checkCsr(const CsrWeight &w) {
  auto fail = [&](const std::string &why) {
    throw Error(fmt::format("sparse_matmul: CSR weight [{}, {}]: {}", w.rows,
                            w.cols, why));
  };
  if (w.rows < 0 || w.cols < 0)
    fail("negative dimensions");
  if (!w.positions.defined() || !w.coordinates.defined() ||
      !w.values.defined())
    fail("positions, coordinates and values must all be given");
  if (w.positions.dtype() != DType::I32 ||
      w.positions.shape() != Shape{w.rows + 1})
    fail(fmt::format("positions must be i32[{}], got {}{}", w.rows + 1,
                     dtypeName(w.positions.dtype()),
                     shapeString(w.positions.shape())));
  if (w.coordinates.dtype() != DType::I32 || w.coordinates.rank() != 1)
    fail(fmt::format("coordinates must be a 1-D i32 tensor, got {}{}",
                     dtypeName(w.coordinates.dtype()),
                     shapeString(w.coordinates.shape())));
  if (w.values.dtype() == DType::I32 ||
      w.values.shape() != w.coordinates.shape())
    fail(fmt::format("values must be floats shaped like the coordinates {}, "
                     "got {}{}",
                     shapeString(w.coordinates.shape()),
                     dtypeName(w.values.dtype()),
                     shapeString(w.values.shape())));
  if (w.dense.defined() && (w.dense.shape() != Shape{w.rows, w.cols} ||
                            w.dense.dtype() != w.values.dtype()))
    fail(fmt::format("the dense weight must be {}[{}, {}], got {}{}",
                     dtypeName(w.values.dtype()), w.rows, w.cols,
                     dtypeName(w.dense.dtype()), shapeString(w.dense.shape())));
}

/// The node of both forms: `left` puts W first (W·a or Wᵀ·a on [K, N]
/// activations), else a·Wᵀ or a·W on [N, K] ones.
static Tensor sparseProduct(const Tensor &a, const CsrWeight &w, bool left,
                            bool transposeW) {
  checkCsr(w);
  // The contracted and the kept extent of W.
  int64_t inner = transposeW == left ? w.rows : w.cols;
  int64_t outer = transposeW == left ? w.cols : w.rows;
  int64_t innerAxis = left ? 0 : 1;
  if (!a.defined() || a.rank() != 2 || a.dim(innerAxis) != inner ||
      a.dtype() != w.values.dtype()) {
    std::string want = left ? fmt::format("[{}, N] for {}·a", inner,
                                          transposeW ? "Wᵀ" : "W")
                            : fmt::format("[B, {}] for a·{}", inner,
                                          transposeW ? "Wᵀ" : "W");
    throw Error(fmt::format(
        "sparse_matmul: the dense operand must be {}{} with W [{}, {}], got "
        "{}{}",
        dtypeName(w.values.dtype()), want, w.rows, w.cols,
        a.defined() ? dtypeName(a.dtype()) : "nothing",
        a.defined() ? shapeString(a.shape()) : ""));
  }
  NodeAttrs attrs;
  attrs.transposeA = left;
  attrs.transposeB = transposeW;
  attrs.axes = {w.rows, w.cols};
  std::vector<Tensor> inputs{a, w.positions, w.coordinates, w.values};
  if (w.dense.defined())
    inputs.push_back(w.dense);
  Shape shape = left ? Shape{outer, a.dim(1)} : Shape{a.dim(0), outer};
  return apply(Prim::SparseMatMul, inputs, {{shape, a.dtype()}},
               std::move(attrs))[0];
}

Tensor sparseMatmul(const Tensor &a, const CsrWeight &w, bool transposeW) {
  return sparseProduct(a, w, /*left=*/false, transposeW);
}

Tensor sparseMatmulLeft(const CsrWeight &w, const Tensor &a, bool transposeW) {
  return sparseProduct(a, w, /*left=*/true, transposeW);
}

Tensor csrProduct(const Tensor &a, const CsrWeight &w, bool transposeW) {
  if (a.rank() != 2)
    throw Error(fmt::format("csrProduct: a must be 2-D [M, K], got {}",
                            shapeString(a.shape())));
  if (csrProductIsBatchMajor(a.dim(0), transposeW))
    return sparseMatmul(a, w, transposeW);
  return transpose(sparseMatmulLeft(w, transpose(a, {1, 0}), !transposeW), {1, 0});
}

CsrWeight compressRows(const Tensor &dense, int64_t capacity) {
  if (!dense.isConcrete() || dense.rank() != 2 || dense.dtype() != DType::F32)
    throw Error(fmt::format("compressRows: needs a concrete f32 matrix, got {}",
                            dense.defined() ? shapeString(dense.shape())
                                            : "an empty tensor"));
  CsrWeight w;
  w.rows = dense.dim(0);
  w.cols = dense.dim(1);
  const float *data = dense.data<float>();
  if (capacity < 0)
    capacity = std::max<int64_t>(
        1, runtime::countNonZeros(data, w.rows, w.cols));
  // Checked before allocating: more than every entry is never needed.
  int64_t most = std::max<int64_t>(1, w.rows * w.cols);
  if (capacity == 0 || capacity > most || capacity > INT32_MAX)
    throw Error(fmt::format("compressRows: capacity {} for a {} matrix must "
                            "be in [1, {}] (and fit 32 bits)",
                            capacity, shapeString(dense.shape()), most));
  w.positions = Tensor::zeros({w.rows + 1}, DType::I32);
  w.coordinates = Tensor::zeros({capacity}, DType::I32);
  w.values = Tensor::zeros({capacity}, DType::F32);
  std::string error = runtime::compressRows(
      data, w.rows, w.cols, capacity, w.positions.data<int32_t>(),
      w.coordinates.data<int32_t>(), w.values.data<float>(),
      fmt::format("compressRows of a {} matrix", shapeString(dense.shape())));
  if (!error.empty())
    throw Error(error);
  return w;
}

CsrWeight compressRowsInTrace(const Tensor &dense) {
  if (!dense.isTraced() || dense.rank() != 2 || dense.dtype() != DType::F32)
    throw Error(fmt::format(
        "compress_rows: needs a traced f32 matrix, got {}",
        dense.defined() ? fmt::format("{} {}{}",
                                      dense.isTraced() ? "a traced" : "a concrete",
                                      dtypeName(dense.dtype()),
                                      shapeString(dense.shape()))
                        : std::string("an empty tensor")));
  int64_t rows = dense.dim(0), cols = dense.dim(1);
  int64_t capacity = rows * cols;
  if (capacity < 1 || capacity > INT32_MAX)
    throw Error(fmt::format("compress_rows: a {} matrix must have between 1 "
                            "and 2^31 - 1 entries",
                            shapeString(dense.shape())));
  std::vector<Tensor> out =
      apply(Prim::CompressRows, {dense},
            {{{rows + 1}, DType::I32}, {{capacity}, DType::I32},
             {{capacity}, DType::F32}});
  return CsrWeight{out[0], out[1], out[2], dense, rows, cols};
}

namespace nn {

namespace {
/// A CSR under its three keys.
void addCsr(Params &out, const std::array<std::string, 3> &keys,
            const CsrWeight &c) {
  out.add(keys[0], c.positions);
  out.add(keys[1], c.coordinates);
  out.add(keys[2], c.values);
}

} // namespace

std::array<std::string, 3> csrKeys(const std::string &weight) {
  return {weight + ".csr.positions", weight + ".csr.coordinates",
          weight + ".csr.values"};
}

Params withCsrWeights(const Params &params, SparseExec policy,
                      std::vector<std::string> *sparseLayers, int64_t batch,
                      std::vector<SparseLayerDecision> *decisions,
                      double fixedDensity,
                      const SparseFilters *filters) {
  Params out = params;
  Params csr = csrWeights(params, policy, sparseLayers, batch, decisions,
                          fixedDensity, filters);
  for (const auto &[name, t] : csr)
    out.add(name, t);
  return out;
}

void addFilterInputSizes(SparseFilters &filters, const std::vector<Params> &inputs,
                         const std::function<void(const std::vector<Params> &)> &forward) {
  if (filters.empty())
    return;
  Trace trace;
  std::map<int, std::string> filterOf; // leaf value -> filter name
  std::vector<Params> leaves(inputs.size());
  {
    TraceScope scope(trace);
    for (size_t i = 0; i < inputs.size(); ++i)
      for (const auto &[name, t] : inputs[i]) {
        Tensor leaf = trace.addInput(t.shape(), t.dtype(), name);
        if (i == 0 && filters.count(name))
          filterOf[leaf.value()] = name;
        leaves[i].add(name, leaf);
      }
    forward(leaves);
  }
  std::map<std::string, std::set<std::array<int64_t, 2>>> seen;
  for (const Node &node : trace.nodes()) {
    if (node.prim != Prim::Conv2d || node.inputs.size() < 2)
      continue;
    auto filter = filterOf.find(node.inputs[1]);
    const Shape &x = trace.value(node.inputs[0]).shape;
    if (filter != filterOf.end() && x.size() == 4)
      seen[filter->second].insert({x[2], x[3]});
  }
  for (const auto &[name, sizes] : seen)
    if (sizes.size() == 1) // one size: the layer's; several: not known
      filters.at(name).inputSize = *sizes.begin();
}

Params recompressWeights(const Params &params, const Params &csr) {
  Params out;
  const std::string suffix = ".csr.positions";
  for (const auto &[name, t] : csr) {
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string weight = name.substr(0, name.size() - suffix.size());
    if (!params.contains(weight))
      throw Error(fmt::format("recompressWeights: '{}' has a CSR but no "
                              "weight in the parameters",
                              weight));
    const Tensor &dense = params.at(weight);
    if (dense.rank() == 4) {
      addFilterCsr(out, weight,
                   compressFilterInTrace(dense, filterGroups(csr, weight, dense)));
      continue;
    }
    addCsr(out, csrKeys(weight), compressRowsInTrace(dense));
  }
  return out;
}

namespace {

/// The CSR pair of a filter [O, C/g, KH, KW] (csrKeys: the forward
/// [O, (C/g)·KH·KW]; filterColumnsKeys: its transpose per group [C,
/// (O/g)·KH·KW]) with each buffer at the capacity of every entry (the tail
/// zero), so that a compiled step's shapes never change.
CsrFilter fullCapacityFilterCsr(const Tensor &w, int64_t groups) {
  CsrFilter f = compressFilter(w, groups);
  auto full = [&](const Tensor &t) {
    Tensor padded = Tensor::zeros({w.numel()}, t.dtype());
    if (t.dtype() == DType::I32)
      std::copy_n(t.data<int32_t>(), t.numel(), padded.data<int32_t>());
    else
      std::copy_n(t.data<float>(), t.numel(), padded.data<float>());
    return padded;
  };
  for (CsrWeight *c : {&f.rows, &f.columns}) {
    c->coordinates = full(c->coordinates);
    c->values = full(c->values);
  }
  return f;
}

} // namespace

std::array<std::string, 3> filterColumnsKeys(const std::string &weight) {
  return {weight + ".csrt.positions", weight + ".csrt.coordinates",
          weight + ".csrt.values"};
}

void addFilterCsr(Params &out, const std::string &weight, const CsrFilter &f) {
  addCsr(out, csrKeys(weight), f.rows);
  addCsr(out, filterColumnsKeys(weight), f.columns);
}

int64_t filterGroups(const Params &csr, const std::string &weight,
                     const Tensor &dense) {
  std::string key = filterColumnsKeys(weight)[0];
  if (dense.rank() != 4 || !csr.contains(key))
    throw Error(fmt::format("filterGroups: '{}' needs a 4-D filter and its "
                            "transposed CSR '{}'",
                            weight, key));
  const Tensor &positions = csr.at(key);
  int64_t channels = positions.rank() == 1 ? positions.dim(0) - 1 : 0;
  int64_t groups = channels / dense.dim(1);
  if (channels < 1 || channels % dense.dim(1) != 0 ||
      dense.dim(0) % groups != 0)
    throw Error(fmt::format("filterGroups: the transposed CSR '{}' ({}) has "
                            "no row per input channel of filter {} in groups",
                            key, shapeString(positions.shape()),
                            shapeString(dense.shape())));
  return groups;
}

std::optional<CsrFilter> filterCsr(const Params &params,
                                   const std::string &weight,
                                   const Tensor &dense) {
  auto rows = csrKeys(weight), columns = filterColumnsKeys(weight);
  if (dense.rank() != 4 || !params.contains(rows[0]) ||
      !params.contains(columns[0]))
    return std::nullopt;
  int64_t groups = filterGroups(params, weight, dense);
  int64_t o = dense.dim(0), c = dense.dim(1),
          taps = dense.dim(2) * dense.dim(3);
  return CsrFilter{{params.at(rows[0]), params.at(rows[1]),
                    params.at(rows[2]), Tensor(), o, c * taps},
                   {params.at(columns[0]), params.at(columns[1]),
                    params.at(columns[2]), Tensor(), c * groups,
                    o / groups * taps},
                   dense,
                   {o, c, dense.dim(2), dense.dim(3)},
                   groups};
}

Params csrWeights(const Params &params, SparseExec policy,
                  std::vector<std::string> *sparseLayers, int64_t batch,
                  std::vector<SparseLayerDecision> *decisions,
                  double fixedDensity, const SparseFilters *filters) {
  Params out;
  if (policy == SparseExec::Off)
    return out;
  const std::string suffix = ".weight";
  for (const auto &[name, w] : params) {
    bool isWeight = name.size() > suffix.size() &&
                    name.compare(name.size() - suffix.size(), suffix.size(),
                                 suffix) == 0;
    bool isFilter = w.rank() == 4 && filters && filters->count(name);
    if (!isWeight || !w.isConcrete() || (w.rank() != 2 && !isFilter) ||
        w.dtype() != DType::F32 || w.numel() == 0)
      continue;
    int64_t rows = w.dim(0), cols = w.numel() / w.dim(0);
    double density =
        static_cast<double>(runtime::countNonZeros(w.data<float>(), rows, cols)) /
        static_cast<double>(w.numel());
    SparseLayerDecision decision{name, density, {}, false};
    // A filter without a zero stays dense whatever its crossover (at most
    // 1): nothing to measure.
    if (policy == SparseExec::Auto)
      decision.crossover =
          isFilter ? (density >= 1.0 ? SparseCrossover{kSparseConvAutoDensity, "fixed"}
                                     : sparseConvCrossover({w.dim(0), w.dim(1), w.dim(2),
                                                            w.dim(3)},
                                                           filters->at(name).options,
                                                           /*withInputGradient=*/batch <= 0,
                                                           filters->at(name).inputSize))
          : batch > 0 ? sparseCrossover(rows, cols, batch)
                      : SparseCrossover{fixedDensity, "fixed"};
    decision.sparse = policy == SparseExec::On ||
                      density < decision.crossover.density;
    if (decisions)
      decisions->push_back(decision);
    if (!decision.sparse)
      continue;
    if (isFilter) {
      addFilterCsr(out, name,
                   fullCapacityFilterCsr(w, filters->at(name).options.groups));
    } else {
      addCsr(out, csrKeys(name), compressRows(w, w.numel()));
    }
    if (sparseLayers)
      sparseLayers->push_back(name);
  }
  return out;
}

} // namespace nn
} // namespace bregman
