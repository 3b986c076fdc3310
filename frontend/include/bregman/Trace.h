//===- Trace.h - The recorded program ---------------------------*- C++ -*-===//
//
// A Trace is a small jaxpr: a list of primitive applications on numbered
// values. Tracing a C++ function records one; `grad` appends the reverse pass
// to it; `jit` lowers it to MLIR. Values are in SSA form: each is produced by
// exactly one node.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRACE_H
#define BREGMAN_TRACE_H

#include "bregman/Tensor.h"

#include <array>
#include <string>
#include <vector>

namespace bregman {

enum class Prim {
  Input,      // a traced argument
  Constant,   // a splat: attrs.value
  MatMul,     // attrs.transposeA/B
  Add, Sub, Mul, Div, Maximum,
  Neg, Exp, Log, Relu, Abs, Sqrt,
  ReluGrad,   // (x, g) -> g where x > 0
  ReduceSum,  // attrs.axes (sorted, keepDims = false)
  ReduceMax,
  Broadcast,  // NumPy broadcasting to the output shape
  Reshape,
  Transpose,  // attrs.axes = the permutation (result dim i = input dim axes[i])
  StopGradient,
  OneHot,     // attrs.classes
  ArgMax,     // last axis
  Equal,
  // Convolution and pooling (NCHW): attrs.window
  Conv2d,           // (x, w) -> y
  Conv2dGradInput,  // (dy, w) -> dx
  Conv2dGradFilter, // (x, dy) -> dw
  MaxPool2d,        // x -> y
  MaxPool2dGrad,    // (x, dy) -> dx: to the first maximum of each window
  SumPool2d,        // x -> y (window sums; average pooling scales them)
  SumPool2dGrad,    // dy -> dx
  Concat,           // (x0, x1, ...) -> y along attrs.axis
  Slice,            // x -> x[start : start + size] along attrs.axis (size: the result's)
  DropoutMask,      // seed (i32 scalar) -> {0, 1/(1−rate)} of the result's shape; rate = attrs.value
  // Bregman updates (the `breg` dialect): attrs.regularizer, attrs.momentum
  LinBregUpdate,   // (θ, v, g, lr, δ, λ [, m, β]) -> (θ', v' [, m'])
  Prox,            // (x, scale, λ) -> prox
  SubgradientInit, // (θ, δ, λ) -> v
  AdaBregUpdate,   // (θ, v, g, m1, m2, lr, δ, λ, β1, β2, ε, t) -> (θ', v', m1', m2')
  ProxSgdUpdate,   // (θ, g, lr, λ) -> θ'
  SgdUpdate,       // (θ, g, lr [, m, β]) -> (θ' [, m'])
  AdamUpdate,      // (θ, g, m1, m2, lr, β1, β2, ε, t) -> (θ', m1', m2')
};

/// The primitive's name as shown in errors and dumps.
const char *primName(Prim prim);
/// Whether `prim` is one of the breg updates / proxes (lowered to the dialect,
/// never differentiated).
bool isBregPrimitive(Prim prim);

/// Regularisers of the breg dialect (static: they key the compile cache).
/// Names as in the dialect and on the command line: "none", "l1", "l1_pos",
/// "l1_l2" (row groups of a 2-D weight), "l1_l2_conv" (k×k kernels of a 4-D
/// conv weight), "l1_l1_l2" (sparse group: l1 plus row groups, with a second
/// strength λ₂ that the breg primitives take as their last operand).
enum class Regularizer { None, L1, L1Pos, L1L2, L1L2Conv, L1L1L2 };
const char *regularizerName(Regularizer reg);
/// The regulariser called `name`; throws an Error listing the known ones.
Regularizer parseRegularizer(const std::string &name);
/// Checks that `reg` applies to a parameter of `shape` (group regularisers
/// need their rank); throws an Error naming `op`, the regulariser and shape.
void checkRegularizerFits(const char *op, Regularizer reg, const Shape &shape);

/// The window of a convolution or pooling: kernel (pooling only; a
/// convolution's is its filter's), strides, padding [top, left, bottom,
/// right], dilations and groups (convolution only).
struct Window {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 4> padding{0, 0, 0, 0};
  std::array<int64_t, 2> dilations{1, 1};
  int64_t groups = 1;
};

struct NodeAttrs {
  std::vector<int64_t> axes;
  bool transposeA = false, transposeB = false;
  double value = 0.0;
  int64_t classes = 0;
  Regularizer regularizer = Regularizer::None;
  bool momentum = false;
  Window window;
  int64_t axis = 0, start = 0; // concat, slice
  std::string name; // inputs: the argument path
};

struct Node {
  Prim prim;
  std::vector<int> inputs;
  std::vector<int> outputs;
  NodeAttrs attrs;
};

struct ValueInfo {
  Shape shape;
  DType dtype;
  int node; // producer
};

class Trace {
public:
  /// Adds a node and its result values; returns the node's index.
  int addNode(Prim prim, std::vector<int> inputs,
              const std::vector<std::pair<Shape, DType>> &results,
              NodeAttrs attrs = {});
  /// Adds an argument of the traced function.
  Tensor addInput(const Shape &shape, DType dtype, const std::string &name);

  const std::vector<Node> &nodes() const { return nodes_; }
  const std::vector<ValueInfo> &values() const { return values_; }
  const std::vector<int> &inputs() const { return inputs_; }
  const ValueInfo &value(int id) const { return values_.at(id); }
  Tensor tensor(int value) const;

  /// A readable listing, one node per line (for errors and --dump).
  std::string str() const;

  /// The trace operations record into (innermost `TraceScope`), or null.
  static Trace *current();

private:
  std::vector<Node> nodes_;
  std::vector<ValueInfo> values_;
  std::vector<int> inputs_;
};

/// Makes `trace` the current trace for its lifetime.
class TraceScope {
public:
  explicit TraceScope(Trace &trace);
  ~TraceScope();
  TraceScope(const TraceScope &) = delete;
  TraceScope &operator=(const TraceScope &) = delete;
};

/// Records `prim` on `inputs` (all traced in the current trace) and returns
/// its results. Throws bregman::Error on concrete operands outside jit.
std::vector<Tensor> apply(Prim prim, const std::vector<Tensor> &inputs,
                          const std::vector<std::pair<Shape, DType>> &results,
                          NodeAttrs attrs = {});

} // namespace bregman

#endif // BREGMAN_TRACE_H
