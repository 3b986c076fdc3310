//===- Recurrent.cpp - LSTM and GRU, unrolled over a static length --------===//
//
// Compositions of existing primitives: the input projection of every step
// is one GEMM ([T·N, I]·Wᵀ), then each step adds h·Rᵀ and applies the
// gates. Gradients come from the primitives' rules (backpropagation
// through time is the reverse pass of the unrolled trace).
//
//===----------------------------------------------------------------------===//

#include "bregman/nn.h"

#include <fmt/format.h>

namespace bregman {

namespace {

/// Where each gate sits in the stacked weights. LSTM gates in the order i,
/// f, g, o; GRU gates z, r, n.
std::vector<int64_t> gateSlots(bool isLstm, GateOrder order) {
  if (isLstm)
    return order == GateOrder::PyTorch ? std::vector<int64_t>{0, 1, 2, 3}   // i f g o
                                       : std::vector<int64_t>{0, 2, 3, 1};  // i o f c
  return order == GateOrder::PyTorch ? std::vector<int64_t>{1, 0, 2}        // r z n
                                     : std::vector<int64_t>{0, 1, 2};       // z r h
}

/// Checks the shapes of x, the weights and the initial states; returns H.
int64_t hiddenSize(const char *op, int64_t gates, const Tensor &x, const RecurrentWeights &w,
                   const std::vector<const Tensor *> &states) {
  auto fail = [&](const std::string &what) {
    return Error(fmt::format("{}: {}", op, what));
  };
  if (x.rank() != 3)
    throw fail(fmt::format("the input must be [T, N, I], got {}", shapeString(x.shape())));
  if (!w.w.defined() || !w.r.defined() || w.w.rank() != 2 || w.w.dim(0) % gates != 0 ||
      w.w.dim(1) != x.dim(2) || w.w.dim(0) == 0)
    throw fail(fmt::format("the input weight must be [{}·H, {}], got {}", gates, x.dim(2),
                           w.w.defined() ? shapeString(w.w.shape()) : "none"));
  int64_t h = w.w.dim(0) / gates, n = x.dim(1);
  auto expect = [&](const Tensor &t, const Shape &shape, const char *what) {
    if (t.defined() && (t.shape() != shape || t.dtype() != x.dtype()))
      throw fail(fmt::format("{} must be {}{}, got {}{}", what, dtypeName(x.dtype()),
                             shapeString(shape), dtypeName(t.dtype()), shapeString(t.shape())));
  };
  expect(w.r, {gates * h, h}, "the recurrent weight");
  expect(w.w, {gates * h, x.dim(2)}, "the input weight");
  expect(w.wb, {gates * h}, "the input bias");
  expect(w.rb, {gates * h}, "the recurrent bias");
  for (const Tensor *s : states)
    expect(*s, {n, h}, "an initial state");
  return h;
}

/// x·Wᵀ + wb for every step at once: [T, N, G·H].
Tensor inputProjection(const Tensor &x, const RecurrentWeights &w) {
  int64_t t = x.dim(0), n = x.dim(1);
  Tensor p = matmul(reshape(x, {t * n, x.dim(2)}), w.w, false, true);
  if (w.wb.defined())
    p = p + w.wb;
  return reshape(p, {t, n, w.w.dim(0)});
}

Tensor gate(const Tensor &stacked, int64_t slot, int64_t h) {
  return slice(stacked, 1, slot * h, h);
}

Tensor step(const Tensor &projected, int64_t t) {
  return reshape(slice(projected, 0, t, 1), {projected.dim(1), projected.dim(2)});
}

/// The hidden states of every step in time order: [T, N, H].
Tensor stacked(const std::vector<Tensor> &hs) {
  std::vector<Tensor> parts;
  for (const Tensor &h : hs)
    parts.push_back(reshape(h, {1, h.dim(0), h.dim(1)}));
  return concat(parts, 0);
}

} // namespace

RecurrentResult lstm(const Tensor &x, const RecurrentWeights &w, const Tensor &h0,
                     const Tensor &c0, GateOrder order, bool reverse) {
  int64_t hidden = hiddenSize("lstm", 4, x, w, {&h0, &c0});
  int64_t steps = x.dim(0), n = x.dim(1);
  std::vector<int64_t> slot = gateSlots(true, order);
  Tensor projected = inputProjection(x, w);
  Tensor h = h0.defined() ? h0 : full({n, hidden}, 0.0, x.dtype());
  Tensor c = c0.defined() ? c0 : full({n, hidden}, 0.0, x.dtype());
  std::vector<Tensor> hs(steps);
  for (int64_t s = 0; s < steps; ++s) {
    int64_t t = reverse ? steps - 1 - s : s;
    Tensor pre = step(projected, t) + matmul(h, w.r, false, true);
    if (w.rb.defined())
      pre = pre + w.rb;
    Tensor i = sigmoid(gate(pre, slot[0], hidden)), f = sigmoid(gate(pre, slot[1], hidden));
    Tensor g = tanh(gate(pre, slot[2], hidden)), o = sigmoid(gate(pre, slot[3], hidden));
    c = f * c + i * g;
    h = o * tanh(c);
    hs[t] = h;
  }
  return {stacked(hs), h, c};
}

RecurrentResult gru(const Tensor &x, const RecurrentWeights &w, const Tensor &h0,
                    GateOrder order, bool linearBeforeReset, bool reverse) {
  int64_t hidden = hiddenSize("gru", 3, x, w, {&h0});
  int64_t steps = x.dim(0), n = x.dim(1);
  std::vector<int64_t> slot = gateSlots(false, order);
  Tensor projected = inputProjection(x, w);
  Tensor h = h0.defined() ? h0 : full({n, hidden}, 0.0, x.dtype());
  // (r⊙h)·Rnᵀ needs Rn (and its bias) on their own.
  Tensor rn = slice(w.r, 0, slot[2] * hidden, hidden);
  Tensor rbn = w.rb.defined() ? slice(w.rb, 0, slot[2] * hidden, hidden) : Tensor();
  std::vector<Tensor> hs(steps);
  for (int64_t s = 0; s < steps; ++s) {
    int64_t t = reverse ? steps - 1 - s : s;
    Tensor xt = step(projected, t);
    Tensor hp = matmul(h, w.r, false, true);
    if (w.rb.defined())
      hp = hp + w.rb;
    Tensor z = sigmoid(gate(xt, slot[0], hidden) + gate(hp, slot[0], hidden));
    Tensor r = sigmoid(gate(xt, slot[1], hidden) + gate(hp, slot[1], hidden));
    Tensor candidate;
    if (linearBeforeReset) {
      candidate = gate(xt, slot[2], hidden) + r * gate(hp, slot[2], hidden);
    } else {
      candidate = gate(xt, slot[2], hidden) + matmul(r * h, rn, false, true);
      if (rbn.defined())
        candidate = candidate + rbn;
    }
    Tensor nNew = tanh(candidate);
    h = nNew + z * (h - nNew);
    hs[t] = h;
  }
  return {stacked(hs), h, Tensor()};
}

namespace nn {

void Recurrent::init(Params &params, Rng &rng, const SparseInit &config) const {
  checkSparseInit(name, config);
  if (in < 1 || hidden < 1)
    throw Error(fmt::format("{}: input size {} and hidden size {} must be positive", name, in,
                            hidden));
  int64_t rows = gates * hidden;
  params.add(name + ".weight_ih", sparseWeight({rows, in}, in, in, config.perRow, rng, config));
  params.add(name + ".weight_hh",
             sparseWeight({rows, hidden}, hidden, hidden, config.perRow, rng, config));
  params.add(name + ".bias_ih", uniformBias(rows, in, rng, config));
  params.add(name + ".bias_hh", uniformBias(rows, hidden, rng, config));
}

Tensor Recurrent::timeFirst(const Tensor &x) const {
  if (x.rank() != 3 || x.dim(2) != in)
    throw Error(fmt::format("{}: expects input [{}, {}, {}], got {}", name,
                            batchFirst ? "N" : "T", batchFirst ? "T" : "N", in,
                            shapeString(x.shape())));
  return batchFirst ? transpose(x, {1, 0, 2}) : x;
}

RecurrentWeights Recurrent::weights(const Params &params) const {
  return {params.at(name + ".weight_ih"), params.at(name + ".weight_hh"),
          params.at(name + ".bias_ih"), params.at(name + ".bias_hh")};
}

RecurrentResult Recurrent::laidOut(RecurrentResult r) const {
  if (batchFirst)
    r.y = transpose(r.y, {1, 0, 2});
  return r;
}

RecurrentResult LSTM::operator()(const Params &params, const Tensor &x) const {
  return laidOut(lstm(timeFirst(x), weights(params), {}, {}, GateOrder::PyTorch));
}

RecurrentResult GRU::operator()(const Params &params, const Tensor &x) const {
  return laidOut(gru(timeFirst(x), weights(params), {}, GateOrder::PyTorch,
                     /*linearBeforeReset=*/true));
}

} // namespace nn

} // namespace bregman
