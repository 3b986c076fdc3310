//===- Grad.h - Reverse-mode differentiation of traces ----------*- C++ -*-===//
//
// `grad(f)` / `valueAndGrad(f)` differentiate a scalar function of a Tensor or
// of Params. They work on the trace being recorded: the reverse pass is
// appended to it as ordinary primitives (one VJP rule per primitive), so the
// gradient is compiled together with the forward pass and the update.
// Values computed before `f` was called are constants for the derivative,
// as in JAX.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_GRAD_H
#define BREGMAN_GRAD_H

#include "bregman/Params.h"
#include "bregman/Trace.h"

#include <tuple>
#include <type_traits>
#include <utility>

namespace bregman {
namespace detail {

/// Number of nodes recorded so far in the current trace; throws outside jit.
int currentTraceSize(const char *caller);

/// Appends the reverse pass of the scalar `output` with respect to `wrt`,
/// through the nodes recorded from `firstNode` on; one cotangent per `wrt`
/// (zeros where `output` does not depend on it).
std::vector<Tensor> backward(const Tensor &output,
                             const std::vector<Tensor> &wrt, int firstNode);

inline std::vector<Tensor> leaves(const Tensor &t) { return {t}; }
inline std::vector<Tensor> leaves(const Params &p) {
  std::vector<Tensor> out;
  for (const auto &entry : p)
    out.push_back(entry.second);
  return out;
}
inline Tensor rebuild(const Tensor &, const std::vector<Tensor> &g) {
  return g[0];
}
inline Params rebuild(const Params &like, const std::vector<Tensor> &g) {
  Params out;
  size_t i = 0;
  for (const auto &entry : like)
    out.add(entry.first, g[i++]);
  return out;
}

template <typename T> struct IsPair : std::false_type {};
template <typename A, typename B>
struct IsPair<std::pair<A, B>> : std::true_type {};

} // namespace detail

/// valueAndGrad(f)(x) -> (f(x), ∇f(x)) for f : X -> scalar Tensor, with X a
/// Tensor or Params. If f returns std::pair<Tensor, Aux>, the result is
/// (loss, aux, gradient): the auxiliary value (e.g. logits) is not
/// differentiated.
template <typename F> auto valueAndGrad(F f) {
  return [f](const auto &x) {
    int first = detail::currentTraceSize("valueAndGrad");
    auto result = f(x);
    using R = decltype(result);
    if constexpr (detail::IsPair<R>::value) {
      auto gradient = detail::rebuild(
          x, detail::backward(result.first, detail::leaves(x), first));
      return std::make_tuple(result.first, result.second, gradient);
    } else {
      static_assert(std::is_same_v<R, Tensor>,
                    "valueAndGrad: f must return a Tensor or std::pair");
      auto gradient =
          detail::rebuild(x, detail::backward(result, detail::leaves(x), first));
      return std::make_pair(result, gradient);
    }
  };
}

/// grad(f)(x) -> ∇f(x).
template <typename F> auto grad(F f) {
  return [f](const auto &x) {
    int first = detail::currentTraceSize("grad");
    Tensor value = f(x);
    return detail::rebuild(x, detail::backward(value, detail::leaves(x), first));
  };
}

} // namespace bregman

#endif // BREGMAN_GRAD_H
