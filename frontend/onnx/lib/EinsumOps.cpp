//===- EinsumOps.cpp - Einsum as transposes, sums and batched GEMMs -------===//
//
// torch.einsum exports as Einsum (opset 12): attention written as
// "bhqd,bhkd->bhqk", bilinear and per-row products. The equation is parsed
// into labels per operand (an ellipsis becomes labels of its own, aligned
// from the right as NumPy broadcasts them); operands are contracted two at a
// time, left to right: a label only one operand has and nothing later needs
// is summed out first, the rest become [batch, rows, inner]·[batch, inner,
// cols] (one batched GEMM, or one GEMM without shared labels), and the last
// result is summed and transposed into the output's order. Everything is a
// DSL op, so gradients and both back ends apply unchanged.
//
//===----------------------------------------------------------------------===//

#include "OpHandlers.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <set>

namespace bregman::onnx::detail {

namespace {

/// A label: a letter's code, or kEllipsis + the position of an ellipsis
/// axis counted from the right.
using Label = int;
constexpr Label kEllipsis = 1000;

/// Longest ellipsis accepted (the ONNX rank limit in practice).
constexpr size_t kMaxEllipsis = 16;

/// One operand (or the output): its labels in axis order.
using Term = std::vector<Label>;

std::string labelName(Label l) {
  return l >= kEllipsis ? fmt::format("...{}", l - kEllipsis)
                        : std::string(1, char(l));
}

/// The labels of one term; `rank` expands its ellipsis (absent for the
/// output, whose ellipsis takes `ellipsisRank`).
Term parseTerm(const NodeContext &c, const std::string &equation,
               const std::string &text, std::optional<int64_t> rank,
               size_t ellipsisRank) {
  Term labels;
  bool ellipsis = false;
  size_t letters = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "...") == 0 && !ellipsis) {
      ellipsis = true;
      labels.push_back(-1); // placeholder
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(text[i]))) {
      labels.push_back(text[i]);
      ++letters;
    } else {
      throw c.badAttr(
          "equation", equation,
          fmt::format("'{}' is not a label (letters and one '...' per term)",
                      text.substr(i, 1)));
    }
  }
  size_t extra = ellipsisRank;
  if (rank) {
    if (*rank < static_cast<int64_t>(letters) ||
        (!ellipsis && *rank != static_cast<int64_t>(letters)))
      throw c.badAttr(
          "equation", equation,
          fmt::format("term '{}' has {} label(s) for an operand of rank {}",
                      text, letters, *rank));
    extra = static_cast<size_t>(*rank) - letters;
    if (extra > kMaxEllipsis)
      throw c.unsupported(fmt::format("an ellipsis of {} axes", extra));
  }
  auto at = std::find(labels.begin(), labels.end(), -1);
  if (at == labels.end())
    return labels;
  Term axes;
  for (size_t k = extra; k > 0; --k)
    axes.push_back(kEllipsis + static_cast<Label>(k - 1));
  at = labels.erase(at);
  labels.insert(at, axes.begin(), axes.end());
  return labels;
}

/// The output term when the equation has none (implicit mode): the
/// ellipsis axes, then every letter used once, in alphabetical order.
Term implicitOutput(const std::vector<Term> &inputs) {
  std::map<Label, int> uses;
  for (const Term &t : inputs)
    for (Label l : t)
      ++uses[l];
  Term out;
  for (auto it = uses.rbegin(); it != uses.rend(); ++it)
    if (it->first >= kEllipsis)
      out.push_back(it->first);
  for (const auto &[l, n] : uses)
    if (l < kEllipsis && n == 1)
      out.push_back(l);
  return out;
}

/// A tensor with its labels, one per axis.
struct Labelled {
  Tensor t;
  Term labels;
};

/// Sums out the axes whose labels are not in `keep`.
Labelled sumExcept(const Labelled &x, const std::set<Label> &keep) {
  std::vector<int64_t> axes;
  Term rest;
  for (size_t a = 0; a < x.labels.size(); ++a) {
    if (keep.count(x.labels[a]))
      rest.push_back(x.labels[a]);
    else
      axes.push_back(static_cast<int64_t>(a));
  }
  if (axes.empty())
    return x;
  return {sum(x.t, axes), rest};
}

/// x's axes in the order of `labels` (a permutation of x's).
Tensor arrange(const Labelled &x, const Term &labels) {
  std::vector<int64_t> perm;
  for (Label l : labels)
    perm.push_back(std::find(x.labels.begin(), x.labels.end(), l) -
                   x.labels.begin());
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == static_cast<int64_t>(i);
  return identity ? x.t : transpose(x.t, perm);
}

/// The product of the sizes of `labels`.
int64_t extent(const std::map<Label, int64_t> &sizes, const Term &labels) {
  int64_t n = 1;
  for (Label l : labels)
    n *= sizes.at(l);
  return n;
}

/// a·b over their shared labels that `needed` (later operands, the output)
/// does not want: [batch, rows, inner]·[batch, inner, cols].
Labelled contract(const Labelled &a, const Labelled &b,
                  const std::set<Label> &needed,
                  const std::map<Label, int64_t> &sizes) {
  std::set<Label> inA(a.labels.begin(), a.labels.end()),
      inB(b.labels.begin(), b.labels.end());
  std::set<Label> keepA = needed, keepB = needed;
  keepA.insert(inB.begin(), inB.end());
  keepB.insert(inA.begin(), inA.end());
  Labelled x = sumExcept(a, keepA), y = sumExcept(b, keepB);
  Term batch, rows, inner, cols;
  for (Label l : x.labels) {
    bool shared = std::count(y.labels.begin(), y.labels.end(), l) > 0;
    (shared ? (needed.count(l) ? batch : inner) : rows).push_back(l);
  }
  for (Label l : y.labels)
    if (!std::count(x.labels.begin(), x.labels.end(), l))
      cols.push_back(l);
  Term left = batch, right = batch;
  left.insert(left.end(), rows.begin(), rows.end());
  left.insert(left.end(), inner.begin(), inner.end());
  right.insert(right.end(), inner.begin(), inner.end());
  right.insert(right.end(), cols.begin(), cols.end());
  int64_t nb = extent(sizes, batch), nr = extent(sizes, rows),
          nk = extent(sizes, inner), nc = extent(sizes, cols);
  Tensor product = batch.empty()
                       ? matmul(reshape(arrange(x, left), {nr, nk}),
                                reshape(arrange(y, right), {nk, nc}))
                       : matmul(reshape(arrange(x, left), {nb, nr, nk}),
                                reshape(arrange(y, right), {nb, nk, nc}));
  Term labels = batch;
  labels.insert(labels.end(), rows.begin(), rows.end());
  labels.insert(labels.end(), cols.begin(), cols.end());
  Shape shape;
  for (Label l : labels)
    shape.push_back(sizes.at(l));
  return {reshape(product, shape), labels};
}

/// Each label's size, checked equal wherever it appears; no label twice in
/// one operand (a diagonal).
std::map<Label, int64_t> labelSizes(const NodeContext &c,
                                    const std::string &equation,
                                    const std::vector<Labelled> &operands) {
  std::map<Label, int64_t> sizes;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Labelled &x = operands[i];
    std::set<Label> seen;
    for (size_t a = 0; a < x.labels.size(); ++a) {
      Label l = x.labels[a];
      if (!seen.insert(l).second)
        throw c.unsupported(fmt::format("equation '{}': label '{}' twice in "
                                        "operand {} (a diagonal or trace)",
                                        equation, labelName(l), i));
      auto [it, fresh] = sizes.emplace(l, x.t.dim(static_cast<int64_t>(a)));
      if (!fresh && it->second != x.t.dim(static_cast<int64_t>(a)))
        throw c.error(fmt::format(
            "equation '{}': label '{}' is {} in one operand and {} "
            "in operand {} {} (broadcasting a 1 is not supported)",
            equation, labelName(l), it->second,
            x.t.dim(static_cast<int64_t>(a)), i, shapeString(x.t.shape())));
    }
  }
  return sizes;
}

/// The output term, checked: each label once, each from an input.
Term outputTerm(const NodeContext &c, const std::string &equation,
                const std::string &text, const std::vector<Term> &inputs,
                const std::map<Label, int64_t> &sizes) {
  size_t ellipsisRank = 0;
  for (const auto &[l, n] : sizes)
    if (l >= kEllipsis)
      ellipsisRank =
          std::max(ellipsisRank, static_cast<size_t>(l - kEllipsis + 1));
  Term out = parseTerm(c, equation, text, std::nullopt, ellipsisRank);
  std::set<Label> seen;
  for (Label l : out) {
    if (!seen.insert(l).second || !sizes.count(l))
      throw c.badAttr(
          "equation", equation,
          fmt::format("output label '{}' is repeated or in no input",
                      labelName(l)));
  }
  return out;
}

void einsum(const NodeContext &c) {
  std::string equation = c.stringAttr("equation", "");
  equation.erase(std::remove(equation.begin(), equation.end(), ' '),
                 equation.end());
  size_t arrow = equation.find("->");
  std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> texts;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    texts.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  int inputs = c.node.input_size();
  if (equation.empty() || static_cast<int>(texts.size()) != inputs)
    throw c.badAttr("equation", equation,
                    fmt::format("must have one term per input ({})", inputs));
  std::vector<Labelled> operands;
  std::vector<Term> terms;
  for (int i = 0; i < inputs; ++i) {
    Tensor t = c.tensor(i);
    if (t.dtype() != DType::F32 && t.dtype() != DType::F64)
      throw c.unsupported(
          fmt::format("operand {} of type {} (float operands only)", i,
                      dtypeName(t.dtype())));
    terms.push_back(parseTerm(c, equation, texts[i], t.rank(), 0));
    operands.push_back({t, terms.back()});
  }
  std::map<Label, int64_t> sizes = labelSizes(c, equation, operands);
  Term out =
      arrow == std::string::npos
          ? implicitOutput(terms)
          : outputTerm(c, equation, equation.substr(arrow + 2), terms, sizes);
  // Left to right; each step keeps what later operands and the output read.
  Labelled acc = operands.front();
  for (size_t i = 1; i < operands.size(); ++i) {
    std::set<Label> needed(out.begin(), out.end());
    for (size_t j = i + 1; j < operands.size(); ++j)
      needed.insert(operands[j].labels.begin(), operands[j].labels.end());
    acc = contract(acc, operands[i], needed, sizes);
  }
  acc = sumExcept(acc, std::set<Label>(out.begin(), out.end()));
  c.set(out.empty() ? reshape(acc.t, {}) : arrange(acc, out));
}

} // namespace

std::vector<OpHandler> einsumOps() {
  return {{"Einsum", 12, kNewestOpset, einsum, {}}};
}

} // namespace bregman::onnx::detail
