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

#include <functional>
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

/// A new value of the trace equal to `t` (Prim::GradArgument, recorded at
/// `loc`: grad's call), for grad to differentiate with respect to; `t`
/// itself when it is not traced (the error then names it).
Tensor gradArgument(const Tensor &t, SourceLocation loc);
inline Tensor gradArguments(const Tensor &t, SourceLocation loc) {
  return gradArgument(t, loc);
}
inline Params gradArguments(const Params &p, SourceLocation loc) {
  Params out;
  for (const auto &entry : p)
    out.add(entry.first, gradArgument(entry.second, loc));
  return out;
}

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
/// differentiated. f is called with new values equal to x: x itself, when f
/// captures it, is a constant (as in JAX).
template <typename F>
auto valueAndGrad(F f, SourceLocation loc = SourceLocation::current()) {
  return [f, loc](const auto &argument) {
    detail::currentTraceSize("valueAndGrad"); // throws outside jit
    // f gets values of its own: its uses of `argument` through a capture
    // are constants for the derivative, as in JAX.
    auto x = detail::gradArguments(argument, loc);
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

/// The cotangents of a customVjp's inputs from its value's cotangent `g`:
/// one per input, each of its input's shape (an undefined Tensor for an
/// input that gets none).
using VjpFunction = std::function<std::vector<Tensor>(const Tensor &g)>;

/// Returns `out`, computed from `inputs` in the current trace, and makes
/// every gradient through it use `rule` instead of the primitives that
/// computed it (as jax.custom_vjp): a cheaper reverse pass of a composite
/// (a normalization), or a surrogate gradient (a straight-through
/// estimator on a stopGradient). The rule may read any value of the trace
/// (the forward's intermediates are its residuals); its operations are
/// recorded when a gradient is taken. `out` must be a float value that is
/// the only result of its operation, computed after every input, and not
/// given a rule yet. Outside jit (concrete tensors) it returns `out`.
Tensor customVjp(const Tensor &out, const std::vector<Tensor> &inputs,
                 VjpFunction rule,
                 SourceLocation loc = SourceLocation::current());

/// grad(f)(x) -> ∇f(x).
template <typename F>
auto grad(F f, SourceLocation loc = SourceLocation::current()) {
  return [f, loc](const auto &argument) {
    detail::currentTraceSize("grad");              // throws outside jit
    auto x = detail::gradArguments(argument, loc); // as in valueAndGrad
    int first = detail::currentTraceSize("grad");
    Tensor value = f(x);
    return detail::rebuild(x, detail::backward(value, detail::leaves(x), first));
  };
}

} // namespace bregman

#endif // BREGMAN_GRAD_H
