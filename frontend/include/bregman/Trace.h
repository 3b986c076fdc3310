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
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bregman {

/// The primitives a trace records (Prims.def: their names and how they
/// are differentiated).
enum class Prim {
#define BREGMAN_PRIM(Name, Text, Gradient, Emitter) Name,
#include "bregman/Prims.def"
};

/// How a primitive is differentiated (see Prims.def).
enum class PrimGradient { Rule, Zero, Breg, Missing };

/// The primitive's name as shown in errors and dumps.
const char *primName(Prim prim);
PrimGradient primGradient(Prim prim);
/// Whether `prim` is one of the breg updates / proxes (lowered to the dialect,
/// never differentiated).
bool isBregPrimitive(Prim prim);

/// Regularisers of the breg dialect (static: they key the compile cache),
/// generated from Regularizers.def: "none", "l1", "l1_pos", "l1_l2" (row
/// groups of a 2-D weight), "l1_l2_conv" (k×k kernels of a 4-D conv
/// weight), "l1_l1_l2" (sparse group: l1 plus row groups, with a second
/// strength λ₂ that the breg primitives take as their last operand).
enum class Regularizer {
#define BREGMAN_REGULARIZER(Name, Text, AttrClass, Rank) Name,
#include "bregman/Regularizers.def"
};
const char *regularizerName(Regularizer reg);
/// The regulariser called `name`; throws an Error listing the known ones.
Regularizer parseRegularizer(const std::string &name);
/// The names of the regularisers that apply to a parameter of rank `rank`
/// (every one for -1), in Regularizers.def's order.
std::vector<std::string> regularizerNames(int rank = -1);
/// Checks that `reg` applies to a parameter of `shape` (group regularisers
/// need their rank); throws an Error naming `op`, the regulariser and shape.
void checkRegularizerFits(const char *op, Regularizer reg, const Shape &shape);

/// The largest kernel size, stride or dilation a window takes, and the
/// largest padding (derived padding, SAME's, can pass 2^30): with these and
/// extents below 2^40 (larger outputs are refused first), no extent
/// arithmetic overflows 64 bits.
inline constexpr int64_t kMaxWindowValue = int64_t(1) << 30;
inline constexpr int64_t kMaxWindowPadding = int64_t(1) << 61;

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
  uint32_t updateRoles = 0; // breg updates: which UpdateOperands roles
  ResampleTable resample;   // resample: the table (attrs.axis: its axis)
  std::string name; // inputs: the argument path
};

struct Node {
  Prim prim;
  std::vector<int> inputs;
  std::vector<int> outputs;
  NodeAttrs attrs;
  /// The user's call that recorded it (CallSite::current() then): errors
  /// found after tracing (gradient, emission, verification) name it.
  SourceLocation site;
};

struct ValueInfo {
  Shape shape;
  DType dtype;
  int node; // producer
};

/// A rule that differentiates one traced value as a whole (customVjp in
/// Grad.h) instead of through the primitives that computed it: the
/// cotangents of `inputs` (values of the same trace) from the value's.
struct CustomVjp {
  std::vector<int> inputs;
  std::function<std::vector<Tensor>(const Tensor &g)> rule;
  SourceLocation site; // the customVjp call: the rule's nodes and errors
};

class Trace {
public:
  /// Adds a node and its result values, recorded at the active CallSite;
  /// returns the node's index.
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

  /// Differentiates `value` by `vjp` (see CustomVjp); at most one per value.
  void setCustomVjp(int value, CustomVjp vjp);
  /// The rule registered for `value`, or null.
  const CustomVjp *customVjp(int value) const;

  /// A readable listing, one node per line with its call site (for errors
  /// and --dump).
  std::string str() const;

  /// The trace operations record into (innermost `TraceScope`), or null.
  static Trace *current();

  /// Unique in the process: tells this trace from an earlier one that lived
  /// at the same address.
  uint64_t serial() const { return serial_; }

private:
  static uint64_t nextSerial();
  uint64_t serial_ = nextSerial();
  std::vector<Node> nodes_;
  std::vector<ValueInfo> values_;
  std::vector<int> inputs_;
  std::map<int, CustomVjp> customVjps_;
};

/// Makes `trace` the current trace for its lifetime.
class TraceScope {
public:
  explicit TraceScope(Trace &trace);
  ~TraceScope();
  TraceScope(const TraceScope &) = delete;
  TraceScope &operator=(const TraceScope &) = delete;
};

/// The operands of the breg update and prox primitives, by role. optim
/// builds them, a trace node keeps the defined ones in `inputs` in the
/// order of the fields (and which ones in NodeAttrs::updateRoles), and
/// emission reads them back by role: no code relies on positions.
template <typename T> struct UpdateOperandsOf {
  T theta{}, v{}, grad{}, m1{}, m2{};           // parameter-shaped
  T lr{}, scale{}, delta{}, lambda{};           // scalars
  T momentum{}, beta{};                         // the momentum buffer, β
  T beta1{}, beta2{}, eps{}, step{}, lambda2{}; // scalars

  /// Whether the role with forEachRole's index `role` is parameter-shaped
  /// (θ, v, g, m1, m2, the momentum buffer) rather than a scalar.
  static bool isTensorRole(unsigned role) { return role <= 4 || role == 9; }

  /// Calls f(role index, field) for every role, in the trace's order.
  template <typename F> void forEachRole(F &&f) { visit(*this, f); }
  template <typename F> void forEachRole(F &&f) const { visit(*this, f); }

private:
  template <typename Self, typename F> static void visit(Self &self, F &f) {
    auto fields = {&self.theta, &self.v,     &self.grad,   &self.m1,
                    &self.m2,    &self.lr,    &self.scale,  &self.delta,
                    &self.lambda, &self.momentum, &self.beta, &self.beta1,
                    &self.beta2, &self.eps,   &self.step,   &self.lambda2};
    unsigned role = 0;
    for (auto *field : fields)
      f(role++, *field);
  }
};
using UpdateOperands = UpdateOperandsOf<Tensor>;

/// Records the breg primitive `prim` on the defined `operands` and returns
/// its results (attrs.updateRoles is set here).
std::vector<Tensor> applyUpdate(Prim prim, const UpdateOperands &operands,
                                const std::vector<std::pair<Shape, DType>> &results,
                                NodeAttrs attrs);
/// The trace values of a recorded update node's operands by role (-1 where
/// the role is absent).
UpdateOperandsOf<int> updateOperands(const Node &node);

/// Records `prim` on `inputs` (all traced in the current trace) and returns
/// its results. Throws bregman::Error on concrete operands outside jit.
std::vector<Tensor> apply(Prim prim, const std::vector<Tensor> &inputs,
                          const std::vector<std::pair<Shape, DType>> &results,
                          NodeAttrs attrs = {});

} // namespace bregman

#endif // BREGMAN_TRACE_H
