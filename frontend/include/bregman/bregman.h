//===- bregman.h - The bregman DSL ------------------------------*- C++ -*-===//
/// \file
/// Sparse neural networks trained with Bregman iterations, compiled through
/// MLIR. A whole training step — forward, backward, every fused LinBreg update
/// — is one compiled call that updates parameters and optimizer state in place:
/// \code
///   #include "bregman/bregman.h"
///   using namespace bregman;
///
///   nn::Linear fc1(784, 200, "fc1"), fc2(200, 10, "fc2");  // your network
///   auto model = [&](const Params &p, const Tensor &x) {
///     return fc2(p, relu(fc1(p, x)));
///   };
///   nn::Rng rng(/*seed=*/0);
///   Params params;
///   fc1.init(params, rng, nn::SparseInit{0.01, 7.0});      // 1 % non-zero
///   fc2.init(params, rng, nn::SparseInit{0.01, 7.0});
///   optim::LinBreg opt({
///       {"weights", optim::weights(), Regularizer::L1, 0.1f, 1.0f, 0.1f},
///       {"biases", optim::biases(), Regularizer::None, 0.1f, 1.0f, 0.0f}});
///   Params state = opt.init(params);
///
///   auto step = jit(
///       [&](const Params &p, const Params &s, const Tensor &x, const Tensor &y) {
///         auto [loss, g] = valueAndGrad([&](const Params &q) {
///           return crossEntropy(model(q, x), y);
///         })(p);
///         auto [p2, s2] = opt.update(p, s, g);
///         return std::make_tuple(p2, s2, loss);
///       },
///       JitOptions{/*donateArgnums=*/{0, 1}});
///
///   Tensor x = Tensor::zeros({128, 784});                  // a batch
///   Tensor y = Tensor::zeros({128}, DType::I32);
///   auto [p, s, loss] = step(params, state, x, y);         // compiled once
///   params = p; state = s;                                 // same buffers
///   opt.setHyper(state, "weights", "lambda", 0.2f);        // no recompilation
/// \endcode
/// Operations record primitives while a function is traced by `jit`; outside
/// `jit`, tensors are plain host arrays (see Tensor.h).
///
/// While writing a program: `debugPrint("loss {} acc {}", loss, acc)` inside
/// the traced function prints the values each time the compiled step runs
/// (CPU only; Tensor.h), and an error about shapes or dtypes starts with the
/// place of your call ("model.cpp:42: add: shapes [128, 10] and [200] cannot
/// be broadcast"), also for an operator's expression (SourceLocation.h).
///
/// A complete program — its own network, data, the training loop, test
/// accuracy and density — is examples/quickstart/quickstart.cpp (installed in
/// /usr/share/doc/bregman/examples/ by the Debian package).
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_BREGMAN_H
#define BREGMAN_BREGMAN_H

#include "bregman/Checkpoint.h"
#include "bregman/Error.h"
#include "bregman/Grad.h"
#include "bregman/Jit.h"
#include "bregman/Params.h"
#include "bregman/SourceLocation.h"
#include "bregman/Tensor.h"
#include "bregman/Trace.h"
#include "bregman/nn.h"
#include "bregman/optim.h"
#include "bregman/metrics.h"
#include "bregman/prune.h"

#endif // BREGMAN_BREGMAN_H
