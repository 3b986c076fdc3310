//===- RecurrentOps.cpp - LSTM and GRU ------------------------------------===//
//
// Both become the DSL's unrolled `lstm` / `gru` (frontend/lib/Recurrent.cpp)
// at the graph's static sequence length, one call per direction, in ONNX's
// gate order. Supported: forward, reverse and bidirectional; the default
// activations; initial states; GRU's linear_before_reset; layout 0 and 1;
// sequence_lens absent or equal to the sequence length everywhere.
// Peepholes, clip, other activations and input_forget are refused naming the
// input or attribute.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::onnx::detail {

namespace {

/// Refuses what the unrolled cells do not implement.
void refuseExtras(const NodeContext &c, bool isLstm, int64_t directions) {
  if (findAttr(c.node, "clip"))
    throw c.unsupported(fmt::format("attribute clip = {} (cell clipping is not supported)",
                                    c.floatAttr("clip", 0.0f)));
  for (const char *a : {"activation_alpha", "activation_beta"})
    if (findAttr(c.node, a))
      throw c.unsupported(fmt::format("attribute {} (only the default activations are "
                                      "supported)",
                                      a));
  if (const auto *a = findAttr(c.node, "activations")) {
    std::vector<std::string> given(a->strings().begin(), a->strings().end());
    std::vector<std::string> want;
    for (int64_t d = 0; d < directions; ++d)
      for (const char *f : isLstm ? std::vector<const char *>{"Sigmoid", "Tanh", "Tanh"}
                                  : std::vector<const char *>{"Sigmoid", "Tanh"})
        want.push_back(f);
    if (given != want)
      throw c.unsupported(fmt::format("attribute activations = [{}] (only the defaults [{}] "
                                      "are supported)",
                                      fmt::join(given, ", "), fmt::join(want, ", ")));
  }
  if (isLstm && c.intAttr("input_forget", 0) != 0)
    throw c.unsupported("attribute input_forget = 1 (coupled input and forget gates are "
                        "not supported)");
  if (isLstm && c.has(7))
    throw c.unsupported("input P (peepholes are not supported)");
}

/// sequence_lens: absent, or every entry the sequence length.
void checkSequenceLengths(const NodeContext &c, int64_t steps, int64_t batch) {
  if (!c.has(4))
    return;
  if (!c.value(4).isStatic)
    throw c.unsupported("sequence_lens computed at run time (only absent or constant "
                        "lengths equal to the sequence length are supported)");
  const std::vector<int64_t> &lens = c.value(4).ints;
  if (static_cast<int64_t>(lens.size()) != batch)
    throw c.error(fmt::format("sequence_lens has {} entries for a batch of {}", lens.size(),
                              batch));
  for (int64_t l : lens)
    if (l != steps)
      throw c.unsupported(fmt::format("sequence_lens [{}] (only lengths equal to the "
                                      "sequence length {} are supported)",
                                      fmt::join(lens, ", "), steps));
}

/// Input `i` [D, ...] at direction d without its leading axis (undefined
/// when the input is absent).
Tensor direction(const NodeContext &c, int i, int64_t d, const Shape &shape, const char *what) {
  if (!c.has(i))
    return Tensor();
  Tensor t = c.tensor(i);
  if (t.rank() != static_cast<int64_t>(shape.size()) + 1 || t.dim(0) <= d ||
      Shape(t.shape().begin() + 1, t.shape().end()) != shape)
    throw c.error(fmt::format("{} '{}' is {}, expected [D, {}]", what, c.node.input(i),
                              shapeString(t.shape()), fmt::join(shape, ", ")));
  return reshape(slice(t, 0, d, 1), shape);
}

/// What the node asks for, checked against X [T, N, I] (time first) and W.
struct RecurrentSpec {
  bool isLstm = true, reverse = false, linearBeforeReset = false;
  int64_t gates = 4, directions = 1, hidden = 0;
};

RecurrentSpec recurrentSpec(const NodeContext &c, const Tensor &x) {
  RecurrentSpec s;
  s.isLstm = c.op() == "LSTM";
  s.gates = s.isLstm ? 4 : 3;
  std::string dir = c.stringAttr("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    throw c.badAttr("direction", dir, "must be forward, reverse or bidirectional");
  s.directions = dir == "bidirectional" ? 2 : 1;
  s.reverse = dir == "reverse";
  refuseExtras(c, s.isLstm, s.directions);
  Tensor w = c.tensor(1);
  if (w.rank() != 3 || w.dim(0) != s.directions || w.dim(1) % s.gates != 0 || w.dim(1) == 0)
    throw c.error(fmt::format("W is {}, expected [{}, {}·hidden_size, {}]",
                              shapeString(w.shape()), s.directions, s.gates, x.dim(2)));
  s.hidden = w.dim(1) / s.gates;
  if (c.intAttr("hidden_size", s.hidden) != s.hidden)
    throw c.badAttr("hidden_size", std::to_string(c.intAttr("hidden_size", s.hidden)),
                    fmt::format("W {} holds hidden size {}", shapeString(w.shape()), s.hidden));
  checkSequenceLengths(c, x.dim(0), x.dim(1));
  s.linearBeforeReset = !s.isLstm && c.flagAttr("linear_before_reset", 0) == 1;
  return s;
}

/// Direction d (1: the reverse pass of a bidirectional node) over x.
RecurrentResult runDirection(const NodeContext &c, const RecurrentSpec &s, const Tensor &x,
                             int64_t d) {
  int64_t rows = s.gates * s.hidden, batch = x.dim(1);
  RecurrentWeights weights{direction(c, 1, d, {rows, x.dim(2)}, "W"),
                           direction(c, 2, d, {rows, s.hidden}, "R"), {}, {}};
  if (Tensor b = direction(c, 3, d, {2 * rows}, "B"); b.defined()) {
    weights.wb = slice(b, 0, 0, rows);
    weights.rb = slice(b, 0, rows, rows);
  }
  Tensor h0 = direction(c, 5, d, {batch, s.hidden}, "initial_h");
  bool reverse = s.reverse || d == 1;
  try {
    return s.isLstm ? lstm(x, weights, h0, direction(c, 6, d, {batch, s.hidden}, "initial_c"),
                           GateOrder::Onnx, reverse)
                    : gru(x, weights, h0, GateOrder::Onnx, s.linearBeforeReset, reverse);
  } catch (const Error &e) {
    throw c.error(e.what());
  }
}

void recurrentOp(const NodeContext &c) {
  // LSTM-1 and GRU-1/3 (`output_sequence`, GRU-1's other gate form) are not
  // read: refused by name rather than read as the opset-7 form.
  if (c.opset < 7)
    throw c.error(fmt::format("{}-{} (opset {}) is not supported; "
                              "re-export at opset 7 or later",
                              c.op(), c.opset < 3 || c.op() == "LSTM" ? 1 : 3,
                              c.opset));
  Tensor x = c.tensor(0);
  if (x.rank() != 3)
    throw c.error(fmt::format("X is {}, expected rank 3", shapeString(x.shape())));
  bool batchFirst = c.opset >= 14 && c.flagAttr("layout", 0) == 1;
  if (batchFirst)
    x = transpose(x, {1, 0, 2});
  RecurrentSpec s = recurrentSpec(c, x);
  int64_t steps = x.dim(0), batch = x.dim(1);
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < s.directions; ++d) {
    RecurrentResult r = runDirection(c, s, x, d);
    ys.push_back(reshape(r.y, {steps, 1, batch, s.hidden}));
    hs.push_back(reshape(r.h, {1, batch, s.hidden}));
    if (s.isLstm)
      cs.push_back(reshape(r.c, {1, batch, s.hidden}));
  }
  // Y [T, D, N, H] and Y_h, Y_c [D, N, H]; layout 1: [N, T, D, H], [N, D, H].
  auto join = [](const std::vector<Tensor> &parts, int64_t axis) {
    return parts.size() == 1 ? parts[0] : concat(parts, axis);
  };
  auto state = [&](const std::vector<Tensor> &parts) {
    return batchFirst ? transpose(join(parts, 0), {1, 0, 2}) : join(parts, 0);
  };
  auto wanted = [&](int i) { return c.node.output_size() > i && !c.node.output(i).empty(); };
  if (wanted(0))
    c.set(batchFirst ? transpose(join(ys, 1), {2, 0, 1, 3}) : join(ys, 1), 0);
  if (wanted(1))
    c.set(state(hs), 1);
  if (s.isLstm && wanted(2))
    c.set(state(cs), 2);
}

} // namespace

// LSTM and GRU since opset 7 (their current inputs and activations; 14
// added layout). W and R retrain as linear weights, B as a bias: PyTorch's
// export computes them in the graph (Slice/Concat reorder the gates), and
// retraining then trains the 2-D initializers they are moved out of
// (OnnxNetwork::claimMoved); 3-D initializers as W itself stay frozen.
std::vector<OpHandler> recurrentOps() {
  const std::map<int, ParamRole> roles = {
      {1, ParamRole::LinearWeight}, {2, ParamRole::LinearWeight}, {3, ParamRole::Bias}};
  return {
      {"LSTM", 1, kNewestOpset, recurrentOp, roles},
      {"GRU", 1, kNewestOpset, recurrentOp, roles},
  };
}

} // namespace bregman::onnx::detail
