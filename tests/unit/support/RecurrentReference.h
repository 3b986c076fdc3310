//===- RecurrentReference.h - float64 LSTM and GRU, loop by loop ----------===//
//
// The ONNX operator definitions (equal to PyTorch's nn.LSTM / nn.GRU) as
// plain loops in double precision, for the DSL's and the importer's tests.
// Gates are located by `slot` (the position of each gate in the stacked
// weights): LSTM gates in the order i, f, g, o; GRU gates z, r, n.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_SUPPORT_RECURRENTREFERENCE_H
#define BREGMAN_TESTS_SUPPORT_RECURRENTREFERENCE_H

#include <cmath>
#include <cstdint>
#include <vector>

namespace bregman::testing {

struct RnnShape {
  int64_t steps, batch, features, hidden;
};
/// One direction's weights: w [G·H, I], r [G·H, H], wb, rb [G·H] (empty:
/// zero), h0, c0 [N, H] (empty: zero).
struct RnnWeights {
  std::vector<double> w, r, wb, rb, h0, c0;
};
struct RnnResult {
  std::vector<double> y, h, c; // y [T, N, H]; h, c [N, H]
};

/// a[row]·v for row `row` of a [rows, cols] matrix and v [cols].
inline double dot(const std::vector<double> &a, int64_t row, const double *v, int64_t cols) {
  double s = 0;
  for (int64_t k = 0; k < cols; ++k)
    s += a[row * cols + k] * v[k];
  return s;
}

inline double sigmoidRef(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// Pre-activation of gate row `row` (x·wᵀ + wb and h·rᵀ + rb separately).
struct Projections {
  double fromX, fromH;
};
inline Projections project(const RnnShape &s, const RnnWeights &w, const double *x,
                           const double *h, int64_t row) {
  return {dot(w.w, row, x, s.features) + (w.wb.empty() ? 0.0 : w.wb[row]),
          dot(w.r, row, h, s.hidden) + (w.rb.empty() ? 0.0 : w.rb[row])};
}

inline RnnResult referenceRnn(bool isLstm, const std::vector<double> &x, const RnnShape &s,
                              const RnnWeights &w, const std::vector<int64_t> &slot,
                              bool linearBeforeReset, bool reverse) {
  int64_t n = s.batch, hd = s.hidden;
  std::vector<double> h = w.h0.empty() ? std::vector<double>(n * hd, 0.0) : w.h0;
  std::vector<double> c = w.c0.empty() ? std::vector<double>(n * hd, 0.0) : w.c0;
  RnnResult out;
  out.y.assign(s.steps * n * hd, 0.0);
  for (int64_t step = 0; step < s.steps; ++step) {
    int64_t t = reverse ? s.steps - 1 - step : step;
    std::vector<double> hNew(n * hd), cNew(n * hd);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t j = 0; j < hd; ++j) {
        const double *xt = &x[(t * n + b) * s.features], *hb = &h[b * hd];
        auto p = [&](int64_t gate) { return project(s, w, xt, hb, slot[gate] * hd + j); };
        if (isLstm) {
          auto sum = [&](int64_t gate) { return p(gate).fromX + p(gate).fromH; };
          double i = sigmoidRef(sum(0)), f = sigmoidRef(sum(1)), g = std::tanh(sum(2)),
                 o = sigmoidRef(sum(3));
          cNew[b * hd + j] = f * c[b * hd + j] + i * g;
          hNew[b * hd + j] = o * std::tanh(cNew[b * hd + j]);
          continue;
        }
        double z = sigmoidRef(p(0).fromX + p(0).fromH), r = sigmoidRef(p(1).fromX + p(1).fromH);
        double candidate;
        if (linearBeforeReset) {
          candidate = p(2).fromX + r * p(2).fromH;
        } else {
          // (r ⊙ h)·Rnᵀ + Rbn: r of every hidden unit k of this example.
          candidate = p(2).fromX + (w.rb.empty() ? 0.0 : w.rb[slot[2] * hd + j]);
          for (int64_t k = 0; k < hd; ++k) {
            Projections pk = project(s, w, xt, hb, slot[1] * hd + k);
            double rk = sigmoidRef(pk.fromX + pk.fromH);
            candidate += w.r[(slot[2] * hd + j) * hd + k] * rk * hb[k];
          }
        }
        double nn = std::tanh(candidate);
        hNew[b * hd + j] = (1 - z) * nn + z * hb[j];
      }
    h = hNew;
    if (isLstm)
      c = cNew;
    for (int64_t k = 0; k < n * hd; ++k)
      out.y[t * n * hd + k] = h[k];
  }
  out.h = h;
  out.c = c;
  return out;
}

} // namespace bregman::testing

#endif // BREGMAN_TESTS_SUPPORT_RECURRENTREFERENCE_H
