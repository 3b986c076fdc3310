//===- csr_bound_bench.cpp - How fast batch-1 CSR inference can be here -===//
//
// The MLP 784-200-80-10 at 1 % and 5 % weight density, batch 1: our compiled
// inference, dense (OpenBLAS) and on CSR (the sparsifier's loops, in the
// feature-major and in the batch-major form, which nn::Linear takes at batch
// 1), each run as a saved artifact (runtime::Artifact::step, no JIT dispatch),
// against hand-written CSR kernels on the same weights — one accumulator per
// row, four, 16-lane AVX-512 gathers per row, and SELL-C (rows in slices of C =
// 8 or 16, padded to the slice's longest row, one C-lane gather per column
// step: no branch per row; SELL-C-σ sorts the rows by length first, so that
// little padding is left). The hand-written kernels are not part of bregman:
// they measure what any CSR kernel can reach on this CPU, so that the issue's
// batch-1 goal (CSR ≥ 3× our dense path at 5 %) can be judged against the
// hardware rather than against our code generator. Process CPU time per call,
// median of 7 rounds, one thread.
//
//===----------------------------------------------------------------------===//

#include "SparseBenchUtil.h"
#include "SparseMlp.h"
#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <immintrin.h>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace bregman;

namespace {

using bench::kLayers;
using bench::measure;
using bench::Times;

/// One layer's CSR as plain arrays (the stored entries only).
struct Csr {
  int rows = 0;
  std::vector<int32_t> pos, crd;
  std::vector<float> val;
};

/// SELL-C of a Csr: per slice of `lanes` rows, `len` column steps of `lanes`
/// (row-major within a step), padded with zero values at coordinate 0.
/// `order[s]` is the row in slot s: the rows themselves, or (SELL-C-σ) the
/// rows sorted by length, longest first, so that a slice's rows are about
/// as long as each other and the padding nearly vanishes.
struct Sell {
  int rows = 0, lanes = 8;
  std::vector<int> start, len, order;
  std::vector<int32_t> crd;
  std::vector<float> val;
};

Csr toCsr(const Params &csr, size_t layer) {
  Csr c;
  c.rows = static_cast<int>(kLayers[layer][0]);
  std::vector<int32_t> pos = csr.at(bench::key("pos", layer)).toVector<int32_t>();
  pos.resize(c.rows + 1);
  std::vector<int32_t> crd = csr.at(bench::key("crd", layer)).toVector<int32_t>();
  std::vector<float> val = csr.at(bench::key("val", layer)).toVector<float>();
  c.crd.assign(crd.begin(), crd.begin() + pos.back());
  c.val.assign(val.begin(), val.begin() + pos.back());
  c.pos = std::move(pos);
  return c;
}

Sell toSell(const Csr &c, int lanes, bool sorted) {
  Sell s;
  s.rows = c.rows;
  s.lanes = lanes;
  auto length = [&](int r) { return c.pos[r + 1] - c.pos[r]; };
  for (int r = 0; r < c.rows; ++r)
    s.order.push_back(r);
  if (sorted)
    std::stable_sort(s.order.begin(), s.order.end(),
                     [&](int a, int b) { return length(a) > length(b); });
  for (int first = 0; first < c.rows; first += lanes) {
    int longest = 0;
    for (int slot = first; slot < std::min(c.rows, first + lanes); ++slot)
      longest = std::max(longest, length(s.order[slot]));
    s.start.push_back(static_cast<int>(s.crd.size()));
    s.len.push_back(longest);
    for (int j = 0; j < longest; ++j)
      for (int lane = 0; lane < lanes; ++lane) {
        int slot = first + lane;
        int r = slot < c.rows ? s.order[slot] : -1;
        bool stored = r >= 0 && j < length(r);
        s.crd.push_back(stored ? c.crd[c.pos[r] + j] : 0);
        s.val.push_back(stored ? c.val[c.pos[r] + j] : 0.0f);
      }
  }
  return s;
}

void rowsOneAccumulator(const Csr &m, const float *x, float *y) {
  for (int i = 0; i < m.rows; ++i) {
    float sum = 0;
    for (int k = m.pos[i]; k < m.pos[i + 1]; ++k)
      sum += m.val[k] * x[m.crd[k]];
    y[i] = sum;
  }
}

void rowsFourAccumulators(const Csr &m, const float *x, float *y) {
  for (int i = 0; i < m.rows; ++i) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = m.pos[i], end = m.pos[i + 1];
    for (; k + 4 <= end; k += 4) {
      s0 += m.val[k] * x[m.crd[k]];
      s1 += m.val[k + 1] * x[m.crd[k + 1]];
      s2 += m.val[k + 2] * x[m.crd[k + 2]];
      s3 += m.val[k + 3] * x[m.crd[k + 3]];
    }
    for (; k < end; ++k)
      s0 += m.val[k] * x[m.crd[k]];
    y[i] = (s0 + s1) + (s2 + s3);
  }
}

/// Four accumulators, and the last `length mod 4` entries without a loop:
/// three steps on clamped positions whose products past the row's end are
/// dropped by a select, so no branch depends on the row's length modulo 4
/// (a loop of 0 to 3 iterations mispredicts its exit about once per row).
void rowsFourBranchlessTail(const Csr &m, const float *x, float *y) {
  for (int i = 0; i < m.rows; ++i) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = m.pos[i], end = m.pos[i + 1];
    for (; k + 4 <= end; k += 4) {
      s0 += m.val[k] * x[m.crd[k]];
      s1 += m.val[k + 1] * x[m.crd[k + 1]];
      s2 += m.val[k + 2] * x[m.crd[k + 2]];
      s3 += m.val[k + 3] * x[m.crd[k + 3]];
    }
    if (k < end) {
      int last = end - 1;
      int k1 = std::min(k + 1, last), k2 = std::min(k + 2, last);
      float t0 = m.val[k] * x[m.crd[k]];
      float t1 = m.val[k1] * x[m.crd[k1]];
      float t2 = m.val[k2] * x[m.crd[k2]];
      s0 += t0;
      s1 += k + 1 < end ? t1 : 0.0f;
      s2 += k + 2 < end ? t2 : 0.0f;
    }
    y[i] = (s0 + s1) + (s2 + s3);
  }
}

__attribute__((target("avx512f"))) void rowsGather16(const Csr &m,
                                                     const float *x, float *y) {
  for (int i = 0; i < m.rows; ++i) {
    __m512 acc = _mm512_setzero_ps();
    for (int k = m.pos[i], end = m.pos[i + 1]; k < end; k += 16) {
      __mmask16 mask = end - k >= 16 ? 0xffff : (1u << (end - k)) - 1;
      __m512i crd = _mm512_maskz_loadu_epi32(mask, &m.crd[k]);
      __m512 val = _mm512_maskz_loadu_ps(mask, &m.val[k]);
      __m512 xs = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, crd, x, 4);
      acc = _mm512_fmadd_ps(val, xs, acc);
    }
    y[i] = _mm512_reduce_add_ps(acc);
  }
}

/// Writes a slice's `lanes` sums to their rows.
void storeSlice(const Sell &s, size_t slice, const float *lanes, float *y) {
  int first = static_cast<int>(slice) * s.lanes;
  for (int lane = 0; lane < s.lanes && first + lane < s.rows; ++lane)
    y[s.order[first + lane]] = lanes[lane];
}

__attribute__((target("avx2,fma"))) void sellGather8(const Sell &s,
                                                     const float *x, float *y) {
  for (size_t slice = 0; slice < s.start.size(); ++slice) {
    __m256 acc = _mm256_setzero_ps();
    const int32_t *crd = &s.crd[s.start[slice]];
    const float *val = &s.val[s.start[slice]];
    for (int j = 0; j < s.len[slice]; ++j) {
      __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(crd + 8 * j));
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(val + 8 * j),
                            _mm256_i32gather_ps(x, c, 4), acc);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    storeSlice(s, slice, lanes, y);
  }
}

/// SELL-16: two accumulators over alternate column steps, so that two
/// gathers are in flight per slice.
__attribute__((target("avx512f"))) void sellGather16(const Sell &s,
                                                     const float *x, float *y) {
  for (size_t slice = 0; slice < s.start.size(); ++slice) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    const int32_t *crd = &s.crd[s.start[slice]];
    const float *val = &s.val[s.start[slice]];
    int j = 0, len = s.len[slice];
    for (; j + 2 <= len; j += 2) {
      __m512i c0 = _mm512_loadu_si512(crd + 16 * j);
      __m512i c1 = _mm512_loadu_si512(crd + 16 * j + 16);
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(val + 16 * j),
                             _mm512_i32gather_ps(c0, x, 4), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(val + 16 * j + 16),
                             _mm512_i32gather_ps(c1, x, 4), acc1);
    }
    if (j < len)
      acc0 = _mm512_fmadd_ps(
          _mm512_loadu_ps(val + 16 * j),
          _mm512_i32gather_ps(_mm512_loadu_si512(crd + 16 * j), x, 4), acc0);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
    storeSlice(s, slice, lanes, y);
  }
}

/// Rows in slices of 16 over column blocks of 32: per slice, a list of steps,
/// each naming a block and giving every lane one of its row's entries in
/// that block (an 8-bit column within the block and its value; zero where
/// the row has fewer entries there than the slice's longest). A step takes
/// x's 32 values of the block in two registers and picks the 16 it needs
/// with one permute (vpermt2ps) instead of 16 gathered loads.
struct BlockPermuted {
  int rows = 0, cols = 0;
  std::vector<int> sliceEnd;
  std::vector<int32_t> block;
  std::vector<uint8_t> column;
  std::vector<float> val;
};

BlockPermuted toBlockPermuted(const Csr &c, int cols) {
  BlockPermuted b;
  b.rows = c.rows;
  b.cols = cols;
  for (int first = 0; first < c.rows; first += 16) {
    for (int blk = 0; blk * 32 < cols; ++blk) {
      std::vector<std::vector<int>> lanes(16);
      size_t longest = 0;
      for (int lane = 0; lane < 16 && first + lane < c.rows; ++lane) {
        int r = first + lane;
        for (int k = c.pos[r]; k < c.pos[r + 1]; ++k)
          if (c.crd[k] / 32 == blk)
            lanes[lane].push_back(k);
        longest = std::max(longest, lanes[lane].size());
      }
      for (size_t step = 0; step < longest; ++step) {
        b.block.push_back(blk);
        for (auto &entries : lanes) {
          bool stored = step < entries.size();
          b.column.push_back(stored ? c.crd[entries[step]] % 32 : 0);
          b.val.push_back(stored ? c.val[entries[step]] : 0.0f);
        }
      }
    }
    b.sliceEnd.push_back(static_cast<int>(b.block.size()));
  }
  return b;
}

__attribute__((target("avx512f"))) void
blockPermuted(const BlockPermuted &b, const float *x, float *y) {
  alignas(64) float padded[1024] = {};
  std::copy(x, x + b.cols, padded);
  const int32_t *block = b.block.data();
  const uint8_t *column = b.column.data();
  const float *val = b.val.data();
  int step = 0;
  for (size_t slice = 0; slice < b.sliceEnd.size(); ++slice) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int end = b.sliceEnd[slice]; step < end; ++step) {
      const float *xb = padded + 32 * block[step];
      __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(
          reinterpret_cast<const __m128i *>(column + 16 * step)));
      __m512 xs = _mm512_permutex2var_ps(_mm512_load_ps(xb), idx,
                                         _mm512_load_ps(xb + 16));
      acc[step & 3] =
          _mm512_fmadd_ps(_mm512_loadu_ps(val + 16 * step), xs, acc[step & 3]);
    }
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]),
                                         _mm512_add_ps(acc[2], acc[3])));
    int first = static_cast<int>(slice) * 16;
    for (int lane = 0; lane < 16 && first + lane < b.rows; ++lane)
      y[first + lane] = lanes[lane];
  }
}

/// Runs the three layers with `layer(l, in, out)`; the biases are zero, so
/// only the ReLU sits between them.
template <typename Layer> void mlpForward(Layer layer, const float *x,
                                          std::vector<std::vector<float>> &h) {
  const float *in = x;
  for (size_t l = 0; l < kLayers.size(); ++l) {
    layer(l, in, h[l].data());
    if (l + 1 < kLayers.size())
      for (float &v : h[l])
        v = std::max(v, 0.0f);
    in = h[l].data();
  }
}

/// The logits in float64 from the dense weights, to check every kernel.
std::vector<double> referenceLogits(const bench::Mlp &mlp,
                                    const std::vector<float> &x) {
  std::vector<double> in(x.begin(), x.end());
  for (size_t l = 0; l < kLayers.size(); ++l) {
    auto [rows, cols] = kLayers[l];
    std::vector<float> w = mlp.dense.at(bench::key("w", l)).toVector<float>();
    std::vector<double> out(rows, 0.0);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j)
        out[i] += double(w[i * cols + j]) * in[j];
      if (l + 1 < kLayers.size())
        out[i] = std::max(out[i], 0.0);
    }
    in = std::move(out);
  }
  return in;
}

/// Our compiled inference in `form`, saved as an artifact under `dir` and
/// timed through the runtime.
Times ourArtifact(const bench::Mlp &mlp, const Tensor &x, bench::Form form,
                  const std::string &dir) {
  auto infer = jit([form](const Params &p, const Params &c, const Tensor &in) {
    return bench::logits(p, c, in, form);
  });
  infer.save(dir, mlp.dense, mlp.csr, x);
  std::unique_ptr<runtime::Artifact> artifact = runtime::Artifact::load(dir);
  return measure([&] { artifact->step(); }, 3000);
}

void densityRow(double density, std::mt19937 &rng, const std::string &tmp) {
  bench::Mlp mlp(rng, density);
  Tensor x = bench::randomInput(rng, 1, 784);
  std::string tag = fmt::format("{:g}", density * 100);
  Times dense = ourArtifact(mlp, x, bench::Form::Dense, tmp + "/dense-" + tag);
  Times ours = ourArtifact(mlp, x, bench::Form::FeatureMajor, tmp + "/csr-" + tag);
  Times oursGathered =
      ourArtifact(mlp, x, bench::Form::Gathered, tmp + "/csr-gathered-" + tag);
  std::vector<Csr> csr;
  std::vector<Sell> sell8, sell8Sorted, sell16Sorted;
  std::vector<BlockPermuted> permuted;
  size_t stored = 0, padded = 0, paddedSorted = 0, paddedPermuted = 0;
  for (size_t l = 0; l < kLayers.size(); ++l) {
    csr.push_back(toCsr(mlp.csr, l));
    sell8.push_back(toSell(csr.back(), 8, false));
    sell8Sorted.push_back(toSell(csr.back(), 8, true));
    sell16Sorted.push_back(toSell(csr.back(), 16, true));
    permuted.push_back(
        toBlockPermuted(csr.back(), static_cast<int>(kLayers[l][1])));
    paddedPermuted += permuted.back().val.size();
    stored += csr.back().val.size();
    padded += sell8.back().val.size();
    paddedSorted += sell16Sorted.back().val.size();
  }
  std::vector<float> xv = x.toVector<float>();
  std::vector<std::vector<float>> h;
  for (auto [rows, cols] : kLayers)
    h.emplace_back(rows);
  std::vector<double> expected = referenceLogits(mlp, xv);
  auto time = [&](auto kernel) {
    mlpForward(kernel, xv.data(), h);
    for (size_t i = 0; i < expected.size(); ++i)
      if (std::abs(h.back()[i] - expected[i]) > 1e-4 * (1 + std::abs(expected[i])))
        throw std::runtime_error(fmt::format(
            "a hand-written kernel's logit {} is {}, float64 says {}", i,
            h.back()[i], expected[i]));
    return measure([&] { mlpForward(kernel, xv.data(), h); }, 3000);
  };
  fmt::print("{:g} % ({} stored entries; SELL-8 pads them to {}, SELL-16 "
             "of rows sorted by length to {}, 32-column blocks to {}):\n",
             density * 100, stored, padded, paddedSorted, paddedPermuted);
  auto row = [&](const std::string &what, const Times &t) {
    fmt::print("  {:<44} {:7.2f} us cpu   dense / this {:5.2f}x\n", what,
               t.cpuUs, dense.cpuUs / t.cpuUs);
  };
  row("ours, dense (OpenBLAS)", dense);
  row("ours, CSR feature-major (sparsifier)", ours);
  row("ours, CSR gathered (sparsifier)", oursGathered);
  row("hand: one accumulator per row",
      time([&](size_t l, const float *in, float *out) {
        rowsOneAccumulator(csr[l], in, out);
      }));
  row("hand: four accumulators per row",
      time([&](size_t l, const float *in, float *out) {
        rowsFourAccumulators(csr[l], in, out);
      }));
  row("hand: four accumulators, branchless tail",
      time([&](size_t l, const float *in, float *out) {
        rowsFourBranchlessTail(csr[l], in, out);
      }));
  if (__builtin_cpu_supports("avx512f"))
    row("hand: AVX-512 16-lane gathers per row",
        time([&](size_t l, const float *in, float *out) {
          rowsGather16(csr[l], in, out);
        }));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    row("hand: SELL-8, 8-lane gathers",
        time([&](size_t l, const float *in, float *out) {
          sellGather8(sell8[l], in, out);
        }));
    row("hand: SELL-8, rows sorted by length",
        time([&](size_t l, const float *in, float *out) {
          sellGather8(sell8Sorted[l], in, out);
        }));
  }
  if (__builtin_cpu_supports("avx512f"))
    row("hand: SELL-16, rows sorted by length",
        time([&](size_t l, const float *in, float *out) {
          sellGather16(sell16Sorted[l], in, out);
        }));
  if (__builtin_cpu_supports("avx512f"))
    row("hand: 16 rows x 32-column blocks, permutes",
        time([&](size_t l, const float *in, float *out) {
          blockPermuted(permuted[l], in, out);
        }));
}

} // namespace

int main() {
  try {
    bench::ScratchDir tmp("bregman-csr-bound");
    fmt::print("MLP 784-200-80-10, batch 1, CPU us per inference\n");
    std::mt19937 rng(7);
    for (double density : {0.01, 0.05})
      densityRow(density, rng, tmp.path());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
