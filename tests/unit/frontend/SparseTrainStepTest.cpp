//===- SparseTrainStepTest.cpp - the training step on CSR layers ----------===//
//
// compressRowsInTrace (breg.compress_rows) against the CSR written from its
// definition; a LinBreg training step whose linear layers run on the CSR
// the previous step made (the Trainer's TrainStep) against the same step on
// dense layers, over several steps, with the layers switching from dense to
// sparse midway as the Trainer does when a density crosses its threshold.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/models/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace bregman;

namespace {

bool emulatingGpu() {
  const char *emulate = std::getenv("BREGMAN_EMULATE_GPU");
  return emulate && std::string(emulate) == "1";
}

/// The CSR of `m` [rows, cols] by its definition: row by row, the entries
/// with x != 0 (NaN included, −0 not).
struct RefCsr {
  std::vector<int32_t> positions, coordinates;
  std::vector<float> values;
};
RefCsr refCompress(const std::vector<float> &m, int64_t rows, int64_t cols) {
  RefCsr r;
  r.positions.push_back(0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      float x = m[i * cols + j];
      if (x != 0.0f || std::isnan(x)) {
        r.coordinates.push_back(static_cast<int32_t>(j));
        r.values.push_back(x);
      }
    }
    r.positions.push_back(static_cast<int32_t>(r.coordinates.size()));
  }
  return r;
}

/// Positions equal; the first positions[rows] coordinates and values equal
/// (bit for bit: a compaction computes nothing).
void expectCsrEquals(const CsrWeight &got, const RefCsr &want,
                     const std::string &what) {
  ASSERT_EQ(got.positions.toVector<int32_t>(), want.positions) << what;
  std::vector<int32_t> crd = got.coordinates.toVector<int32_t>();
  std::vector<float> val = got.values.toVector<float>();
  size_t nnz = want.coordinates.size();
  ASSERT_LE(nnz, crd.size()) << what;
  auto bits = [](float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
  };
  for (size_t k = 0; k < nnz; ++k) {
    ASSERT_EQ(crd[k], want.coordinates[k]) << what << " entry " << k;
    ASSERT_EQ(bits(val[k]), bits(want.values[k])) << what << " entry " << k;
  }
}

TEST(CompressRowsInTrace, MatchesTheDefinitionAtEveryDensity) {
  if (emulatingGpu())
    GTEST_SKIP() << "sparse execution runs on the CPU only";
  auto compress = jit([](const Tensor &m) {
    CsrWeight w = compressRowsInTrace(m);
    return std::make_tuple(w.positions, w.coordinates, w.values);
  });
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // The CPU packs 16 columns at a time: widths below, at, and not a
  // multiple of 16 (a masked last chunk), and several chunks.
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{7, 13},
                            {5, 16},
                            {6, 37},
                            {4, 48},
                            {3, 200}}) {
    for (double density : {0.0, 0.01, 0.05, 0.3, 0.7, 1.0}) {
      std::vector<float> m(rows * cols, 0.0f);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          if (i != 2 && u(rng) < density) // row 2 stays empty
            m[i * cols + j] = static_cast<float>(u(rng) - 0.5);
      if (density == 0.3) {
        m[0] = -0.0f;                                           // not stored
        m[1] = std::numeric_limits<float>::quiet_NaN();         // stored
        m[cols - 1] = -std::numeric_limits<float>::quiet_NaN(); // stored
        m[cols + 1] = -0.0f;
      }
      auto [pos, crd, val] = compress(Tensor::fromVector(m, {rows, cols}));
      ASSERT_EQ(crd.shape(), (Shape{rows * cols}));
      CsrWeight got{pos, crd, val, Tensor(), rows, cols};
      expectCsrEquals(
          got, refCompress(m, rows, cols),
          fmt::format("[{}, {}] at density {}", rows, cols, density));
    }
  }
}

TEST(CompressRowsInTrace, RefusesConcreteAndNonMatrixOperands) {
  std::string error = bregman::testing::errorMessage(
      [] { compressRowsInTrace(Tensor::zeros({3, 4})); });
  EXPECT_NE(error.find("compress_rows: needs a traced f32 matrix, got a "
                       "concrete f32[3, 4]"),
            std::string::npos)
      << error;
  error = bregman::testing::errorMessage([] {
    jit([](const Tensor &v) { return compressRowsInTrace(v).positions; })(
        Tensor::zeros({5}));
  });
  EXPECT_NE(error.find("needs a traced f32 matrix, got a traced f32[5]"),
            std::string::npos)
      << error;
}

/// The Trainer's step (train/lib/Trainer.cpp TrainStep) on the zoo MLP
/// 784-200-80-10 with LinBreg (l1 on the weights): the CSR in `csr` feeds
/// the linear layers, and the step returns the CSR of the new weights.
struct MlpTrainStep {
  explicit MlpTrainStep(const std::string &name = "mlp")
      : model(models::makeModel(name, models::InputShape{},
                                models::ModelOptions{})) {}
  std::unique_ptr<nn::Model> model;
  optim::LinBreg opt{{{"weights", optim::weights(), Regularizer::L1, 0.1f,
                       1.0f, 0.02f},
                      {"biases", optim::biases(), Regularizer::None, 0.1f,
                       1.0f, 0.0f}}};

  auto jitted() {
    return jit([this](const Params &p, const Params &s, const Params &csr,
                      const Tensor &x, const Tensor &y) {
      auto [loss, out, grads] = valueAndGrad([&](const Params &q) {
        Params withCsr = q;
        for (const auto &[name, t] : csr)
          withCsr.add(name, t);
        Tensor logits = (*model)(withCsr, x);
        return std::make_pair(crossEntropy(logits, y), logits);
      })(p);
      auto [p2, s2] = opt.update(p, s, grads);
      return std::make_tuple(p2, s2, nn::recompressWeights(p2, csr), loss);
    });
  }
};

/// max |a − b| ≤ tolerance·max(1, max |b|), named.
void expectClose(const Tensor &a, const Tensor &b, double tolerance,
                 const std::string &what) {
  std::vector<float> x = a.toVector<float>(), y = b.toVector<float>();
  ASSERT_EQ(x.size(), y.size()) << what;
  double scale = 1.0;
  for (float v : y)
    scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(x[i], y[i], tolerance * scale) << what << " at " << i;
}

/// The step on CSR (loss, parameters, subgradients v) against the dense
/// one from the same state, to 1e-5 of their scale.
void expectStepsAgree(const Tensor &sparseLoss, const Params &sparse,
                      const Params &sparseState, const Tensor &denseLoss,
                      const Params &dense, const Params &denseState,
                      const std::string &at) {
  EXPECT_NEAR(sparseLoss.item(), denseLoss.item(),
              1e-5 * std::abs(denseLoss.item()))
      << at;
  for (const auto &[name, theta] : dense) {
    expectClose(sparse.at(name), theta, 1e-5, at + " " + name);
    expectClose(sparseState.at("v/" + name), denseState.at("v/" + name), 1e-5,
                at + " v/" + name);
  }
}

/// Equal to 1e-6 of max(1, |b|), NaN where b is NaN.
void expectSameValues(const Tensor &a, const Tensor &b,
                      const std::string &what) {
  std::vector<float> x = a.toVector<float>(), y = b.toVector<float>();
  ASSERT_EQ(x.size(), y.size()) << what;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(y[i]))
      ASSERT_TRUE(std::isnan(x[i])) << what << " at " << i;
    else
      ASSERT_NEAR(x[i], y[i], 1e-6 * std::max(1.0f, std::abs(y[i])))
          << what << " at " << i;
  }
}

/// The subgradient v that puts θ' = prox(v) (l1, δ = 1, threshold λ) at
/// `theta` before a small gradient step: θ + sign(θ)·λ where θ ≠ 0, θ
/// itself (0, −0.0, NaN) elsewhere.
std::vector<float> subgradientFor(const std::vector<float> &theta,
                                  float lambda) {
  std::vector<float> v(theta.size());
  for (size_t i = 0; i < theta.size(); ++i)
    v[i] = theta[i] != 0.0f && !std::isnan(theta[i])
               ? theta[i] + std::copysign(lambda, theta[i])
               : theta[i];
  return v;
}

/// A θ of `rows` × `cols` in blocks of `blockRows` rows for the fused
/// update and compaction. Sparse: block 0 empty, block 1 full, the rest at
/// 5 % with NaN (stored) and −0.0 (not): each later block's entries move
/// far down. Near-dense: every entry non-zero but three in block 0 and b
/// in block b ≥ 1 (and a NaN at the very end), so each block's entries move
/// down over themselves by a few slots, its last chunk of 16 is partial (a
/// write past it would clobber the next block's first entries before they
/// move), and the last row's masked chunk ends near the capacity.
std::vector<float> fusionTheta(std::mt19937 &rng, int64_t rows, int64_t cols,
                               int64_t blockRows, bool nearDense) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> theta(rows * cols, 0.0f);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float magnitude = static_cast<float>(0.1 + u(rng));
      float &x = theta[i * cols + j];
      if (nearDense || (i >= blockRows && i < 2 * blockRows))
        x = u(rng) < 0.5 ? magnitude : -magnitude;
      else if (i >= 2 * blockRows && u(rng) < 0.05)
        x = u(rng) < 0.5 ? magnitude : -magnitude;
    }
  if (nearDense) {
    theta[0] = theta[cols / 2] = theta[cols + 7] = 0.0f;
    for (int64_t block = 1; block * blockRows < rows; ++block)
      for (int64_t k = 0; k < block; ++k)
        theta[(block * blockRows + k) * cols + 3 * k + 1] = 0.0f;
  } else {
    theta[2 * blockRows * cols + 3] = std::numeric_limits<float>::quiet_NaN();
    theta[2 * blockRows * cols + 5] = -0.0f;
  }
  theta[rows * cols - 1] = std::numeric_limits<float>::quiet_NaN();
  return theta;
}

/// One update of θ ([rows, cols], v from subgradientFor, gradient g) with
/// the CSR of θ' in the same step against the update alone and the CSR's
/// definition.
void expectFusedUpdateMatches(const optim::Optimizer &opt,
                              const std::vector<float> &theta,
                              const std::vector<float> &g, int64_t rows,
                              int64_t cols, float lambda,
                              const std::string &at) {
  Params p{{"w", Tensor::fromVector(theta, {rows, cols})}};
  Params state = opt.init(p);
  if (state.contains("v/w")) // the Bregman methods
    state.set("v/w",
              Tensor::fromVector(subgradientFor(theta, lambda), {rows, cols}));
  Params grads{{"w", Tensor::fromVector(g, {rows, cols})}};
  auto fused = jit([&](const Params &q, const Params &s, const Params &d) {
    auto [q2, s2] = opt.update(q, s, d);
    CsrWeight w = compressRowsInTrace(q2.at("w"));
    return std::make_tuple(q2, s2, w.positions, w.coordinates, w.values);
  });
  auto alone = jit([&](const Params &q, const Params &s, const Params &d) {
    return opt.update(q, s, d);
  });
  auto [p2, s2, pos, crd, val] = fused(p, state, grads);
  auto [wantP, wantS] = alone(p, state, grads);
  expectSameValues(p2.at("w"), wantP.at("w"), at + " θ'");
  for (const auto &[key, t] : wantS)
    expectSameValues(s2.at(key), t, at + " " + key);
  CsrWeight got{pos, crd, val, Tensor(), rows, cols};
  expectCsrEquals(got,
                  refCompress(p2.at("w").toVector<float>(), rows, cols), at);
}

/// θ' of one update compressed in the same step (breg.compress_rows of the
/// update's θ', which the CPU lowers as one loop nest with the update:
/// CompressRowsWithUpdate.cpp) against the same update without the
/// compression, and its CSR against the definition, for LinBreg, LinBreg
/// with momentum, AdaBreg and proximal SGD (whose update reads θ). [255, 1100] moves twice the JIT's parallel
/// threshold and runs as five parallel blocks of 51 rows (56,100 slots: not
/// a multiple of 16, so a block's last partial chunk of moved entries, if
/// written whole, would reach into the next block's), each row ending in a
/// masked chunk of 12 columns (fusionTheta's two patterns); [6, 37] runs as
/// one loop.
TEST(CompressRowsInTrace, FusedWithItsUpdateMatchesTheUpdateAndTheDefinition) {
  if (emulatingGpu())
    GTEST_SKIP() << "sparse execution runs on the CPU only";
  const float lambda = 0.5f;
  auto all = [](const std::string &) { return true; };
  std::vector<std::pair<std::string, optim::Optimizer>> optimizers = {
      {"LinBreg", optim::LinBreg({{"w", all, Regularizer::L1, 1e-3f, 1.0f,
                                   lambda}})},
      {"LinBreg momentum",
       optim::LinBreg({{"w", all, Regularizer::L1, 1e-3f, 1.0f, lambda,
                        0.9f}})},
      {"AdaBreg", optim::AdaBreg({{"w", all, Regularizer::L1, 1e-3f, 1.0f,
                                   lambda}})},
      // Reads θ itself: θ' = prox(θ − τ·g).
      {"ProxSGD", optim::ProxSGD({{"w", all, Regularizer::L1, 1e-3f, 1.0f,
                                   lambda}})}};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto [rows, cols, blockRows] : {std::tuple<int64_t, int64_t, int64_t>{
                                           255, 1100, 51},
                                       {6, 37, 2}}) {
    for (bool nearDense : {false, true}) {
      std::vector<float> theta =
          fusionTheta(rng, rows, cols, blockRows, nearDense);
      std::vector<float> g(rows * cols);
      for (float &x : g)
        x = static_cast<float>(u(rng) * 2.0 - 1.0);
      for (const auto &[name, opt] : optimizers) {
        std::string at =
            fmt::format("{} on [{}, {}]{}", name, rows, cols,
                        nearDense ? " near-dense" : "");
        expectFusedUpdateMatches(opt, theta, g, rows, cols, lambda, at);
        if (!nearDense) {
          RefCsr want = refCompress(theta, rows, cols);
          EXPECT_EQ(want.positions[blockRows], 0) << at << ": block 0 empty";
        }
      }
    }
  }
}

TEST(SparseTrainStep, LinBregStepsOnCarriedCsrMatchDenseSteps) {
  if (emulatingGpu())
    GTEST_SKIP() << "sparse execution runs on the CPU only";
  MlpTrainStep t;
  nn::SparseInit init;
  init.p = 0.05;
  Params dense = t.model->init(5, init);
  Params sparse = dense;
  Params denseState = t.opt.init(dense), sparseState = denseState;
  auto step = t.jitted();
  auto [x, y] = bregman::testing::fixedBatch(64, 784, 10);
  Params csr; // steps 1-2 dense; from step 3 every layer sparse
  const int steps = 6;
  for (int k = 1; k <= steps; ++k) {
    if (k == 3) {
      std::vector<std::string> layers;
      csr = nn::csrWeights(sparse, nn::SparseExec::On, &layers);
      ASSERT_EQ(layers.size(), 3u);
    }
    auto [d2, ds2, dcsr, dloss] = step(dense, denseState, Params(), x, y);
    EXPECT_EQ(dcsr.size(), 0u);
    auto [s2, ss2, scsr, sloss] = step(sparse, sparseState, csr, x, y);
    std::string at = "step " + std::to_string(k);
    expectStepsAgree(sloss, s2, ss2, dloss, d2, ds2, at);
    // The step's CSR is that of its own new weights.
    ASSERT_EQ(scsr.size(), csr.size()) << at;
    for (const std::string &w : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
      if (csr.empty())
        break;
      auto [pos, crd, val] = nn::csrKeys(w);
      const Tensor &theta = s2.at(w);
      CsrWeight got{scsr.at(pos), scsr.at(crd), scsr.at(val), Tensor(),
                    theta.dim(0), theta.dim(1)};
      expectCsrEquals(got,
                      refCompress(theta.toVector<float>(), theta.dim(0),
                                  theta.dim(1)),
                      at + " " + w);
    }
    dense = d2, denseState = ds2;
    sparse = s2, sparseState = ss2;
    if (!csr.empty())
      csr = scsr;
  }
}

/// The ConvNet's step: both convolutions on their CSR pair (the forward
/// filter's and its transpose's, both carried from step to step), the
/// linear layers on theirs, against the dense step, with batches of 16 and
/// 40 in turn as a Trainer's epoch ends in a partial batch (two compiled
/// steps handing the CSR to each other); a small learning rate keeps the
/// losses bounded, so that 1e-5 compares steps, not float32 growth.
TEST(SparseTrainStep, ConvNetStepsOnCarriedFilterCsrMatchDenseSteps) {
  if (emulatingGpu())
    GTEST_SKIP() << "sparse execution runs on the CPU only";
  MlpTrainStep t("convnet");
  t.opt = optim::LinBreg{{{"weights", optim::weights(), Regularizer::L1,
                           0.002f, 1.0f, 0.02f},
                          {"biases", optim::biases(), Regularizer::None,
                           0.002f, 1.0f, 0.0f}}};
  nn::SparseInit init;
  init.p = 0.2;
  Params dense = t.model->init(3, init);
  Params sparse = dense;
  Params denseState = t.opt.init(dense), sparseState = denseState;
  auto step = t.jitted();
  auto [x, y] = bregman::testing::fixedBatch(16, 784, 10);
  auto [x40, y40] = bregman::testing::fixedBatch(40, 784, 10);
  std::vector<std::string> layers;
  nn::SparseFilters filters = t.model->sparseFilters();
  ASSERT_EQ(filters.size(), 2u);
  EXPECT_TRUE(filters.count("conv1.weight") && filters.count("conv2.weight"));
  Params csr = nn::csrWeights(sparse, nn::SparseExec::On, &layers, 0, nullptr,
                              nn::kSparseExecAutoDensity, &filters);
  ASSERT_EQ(layers.size(), 4u);
  ASSERT_TRUE(csr.contains("conv2.weight.csrt.values"));
  for (int k = 1; k <= 6; ++k) {
    const Tensor &bx = k % 3 ? x : x40, &by = k % 3 ? y : y40;
    auto [d2, ds2, dcsr, dloss] = step(dense, denseState, Params(), bx, by);
    auto [s2, ss2, scsr, sloss] = step(sparse, sparseState, csr, bx, by);
    std::string at = "step " + std::to_string(k);
    expectStepsAgree(sloss, s2, ss2, dloss, d2, ds2, at);
    // Both CSRs the step returns are those of its own new filters.
    for (const std::string &w : {"conv1.weight", "conv2.weight"}) {
      const Tensor &theta = s2.at(w);
      int64_t o = theta.dim(0), c = theta.dim(1),
              taps = theta.dim(2) * theta.dim(3);
      std::vector<float> m = theta.toVector<float>(), mt(m.size());
      for (int64_t i = 0; i < o; ++i)
        for (int64_t j = 0; j < c; ++j)
          for (int64_t q = 0; q < taps; ++q)
            mt[(j * o + i) * taps + q] = m[(i * c + j) * taps + q];
      auto [pos, crd, val] = nn::csrKeys(w);
      expectCsrEquals(CsrWeight{scsr.at(pos), scsr.at(crd), scsr.at(val),
                                Tensor(), o, c * taps},
                      refCompress(m, o, c * taps), at + " " + w);
      auto [tpos, tcrd, tval] = nn::filterColumnsKeys(w);
      expectCsrEquals(CsrWeight{scsr.at(tpos), scsr.at(tcrd), scsr.at(tval),
                                Tensor(), c, o * taps},
                      refCompress(mt, c, o * taps), at + " transposed " + w);
    }
    dense = d2, denseState = ds2;
    sparse = s2, sparseState = ss2;
    csr = scsr;
  }
}

} // namespace
