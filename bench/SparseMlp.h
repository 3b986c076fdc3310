//===- SparseMlp.h - The MLP the sparse benchmarks run ------------*- C++ -*-===//
//
// The MLP 784-200-80-10 with random weights at a given density, dense and as
// CSR, and its logits in each form, for sparse_bench.cpp and
// csr_bound_bench.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_BENCH_SPARSEMLP_H
#define BREGMAN_BENCH_SPARSEMLP_H

#include "SparseBenchUtil.h"
#include "bregman/bregman.h"

#include <array>
#include <random>
#include <string>

namespace bregman::bench {

constexpr std::array<std::array<int64_t, 2>, 3> kLayers{
    {{200, 784}, {80, 200}, {10, 80}}};

inline std::string key(const char *what, size_t layer) {
  return std::string(what) + std::to_string(layer);
}

/// Weights, biases and (capacity rows·cols) CSRs of the MLP at `density`.
struct Mlp {
  Params dense, csr;
  Mlp(std::mt19937 &rng, double density) {
    for (size_t l = 0; l < kLayers.size(); ++l) {
      auto [rows, cols] = kLayers[l];
      Tensor w = randomWeight(rng, rows, cols, density);
      dense.add(key("w", l), w);
      dense.add(key("b", l), Tensor::zeros({rows}));
      CsrWeight c = compressRows(w, rows * cols);
      csr.add(key("pos", l), c.positions);
      csr.add(key("crd", l), c.coordinates);
      csr.add(key("val", l), c.values);
    }
  }
};

/// How the layers run: dense GEMMs, CSR on batch-major activations
/// (a·Wᵀ: gathers of a at the stored columns), CSR on feature-major ones
/// (W·aᵀ: the batch innermost and contiguous; x transposed once on entry,
/// the logits once on exit), or CSR as nn::Linear runs it (csrProduct: the
/// batch-major form below 16 rows, else the feature-major one per layer).
enum class Form { Dense, Gathered, FeatureMajor, Linear };

inline CsrWeight layerCsr(const Params &p, const Params &csr, size_t l) {
  auto [rows, cols] = kLayers[l];
  return CsrWeight{csr.at(key("pos", l)), csr.at(key("crd", l)),
                   csr.at(key("val", l)), p.at(key("w", l)), rows, cols};
}

/// The MLP's logits; on a CSR the dense weight only carries the weight
/// gradient.
inline Tensor logits(const Params &p, const Params &csr, const Tensor &x, Form form) {
  bool featureMajor = form == Form::FeatureMajor;
  Tensor h = featureMajor ? transpose(x, {1, 0}) : x;
  for (size_t l = 0; l < kLayers.size(); ++l) {
    int64_t rows = kLayers[l][0];
    Tensor b = p.at(key("b", l));
    Tensor y;
    if (form == Form::Dense)
      y = matmul(h, p.at(key("w", l)), false, true) + b;
    else if (form == Form::Gathered)
      y = sparseMatmul(h, layerCsr(p, csr, l), true) + b;
    else if (form == Form::Linear)
      y = csrProduct(h, layerCsr(p, csr, l), true) + b;
    else
      y = sparseMatmulLeft(layerCsr(p, csr, l), h, false) +
          reshape(b, {rows, 1});
    h = l + 1 < kLayers.size() ? relu(y) : y;
  }
  return featureMajor ? transpose(h, {1, 0}) : h;
}

} // namespace bregman::bench

#endif // BREGMAN_BENCH_SPARSEMLP_H
