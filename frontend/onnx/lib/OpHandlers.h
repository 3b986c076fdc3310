//===- OpHandlers.h - The importer's table of operator handlers -*- C++ -*-===//
//
// Private to the ONNX importer. Every operator the importer runs has one
// entry in `opTable()`: its op type, the opsets its handler implements, the
// handler, and the parameter roles of its inputs. The supported-op list,
// `OnnxModel::unsupported()` (a dry run of the same handlers at load time)
// and retraining's parameter roles all come from this one table, so they
// cannot disagree with what `apply` runs.
//
// The handlers live by family: ElementwiseOps.cpp, LinearOps.cpp,
// ConvPoolOps.cpp, NormalizationOps.cpp, ReduceOps.cpp, ShapeOps.cpp,
// TransformerOps.cpp, ResizeOps.cpp, RecurrentOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ONNX_LIB_OPHANDLERS_H
#define BREGMAN_ONNX_LIB_OPHANDLERS_H

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bregman::onnx::detail {

/// A value while the graph is replayed: a DSL tensor, or integers known at
/// trace time (shapes, axes) that are folded instead of computed.
struct Value {
  Tensor tensor;
  bool isStatic = false;
  std::vector<int64_t> ints;
  Shape shape; // of `ints`
  /// Float data whose values are known at load time although it is not an
  /// initializer or Constant itself (a Concat of Constants: Resize's scales).
  std::optional<std::vector<float>> known;
};

/// An error for something the importer cannot represent (as opposed to a
/// malformed model): "unsupported: node 'n' (Op): what". The conformance
/// runner counts these as skipped.
/// "node 'name' (Op)"; for a node without a name, which exporters and
/// hand-written graphs leave, "node '' (Op, output 'y')".
std::string nodeLabel(const ::onnx::NodeProto &node);
Error unsupportedError(const ::onnx::NodeProto &node, const std::string &what);
/// An error in a malformed node: "node 'n' (Op): what".
Error nodeError(const ::onnx::NodeProto &node, const std::string &what);

const ::onnx::AttributeProto *findAttr(const ::onnx::NodeProto &node,
                                       const std::string &name);
int64_t intAttr(const ::onnx::NodeProto &node, const std::string &name,
                int64_t fallback);
float floatAttr(const ::onnx::NodeProto &node, const std::string &name,
                float fallback);
std::string stringAttr(const ::onnx::NodeProto &node, const std::string &name,
                       const std::string &fallback);
std::vector<int64_t> intsAttr(const ::onnx::NodeProto &node,
                              const std::string &name,
                              std::vector<int64_t> fallback = {});

/// Values known while tracing (folded integers, folded constants) as a
/// tensor of the trace: runs of equal values become splat constants, joined
/// (traces have no dense constants). Throws for more than 4096 runs.
Tensor tracedConstant(const std::vector<double> &values, const Shape &shape,
                      const std::string &what);

/// The name of an onnx::TensorProto data type ("FLOAT", "INT64", ...).
std::string typeName(int dataType);
/// Checks that `shape` is a sane static shape (non-negative dimensions, at
/// most 2^32 elements) and returns its element count.
int64_t checkedCount(const Shape &shape, const std::string &what);

/// The graph replayed at a batch other than the one its inputs declare
/// (PyTorch exports with a static batch fold x.size(0) into constant
/// shapes; Reshape rewrites those where sound, see ShapeOps.cpp).
struct Rebatch {
  int64_t exported = 0, actual = 0;
  std::string inputName; // the graph input, for the re-export advice
  /// Every value's shape in the load-time replay at the exported batch.
  const std::map<std::string, Shape> *exportedShapes = nullptr;
  /// Where set (the load-time replay at another batch), the Reshape nodes
  /// whose leading exported batch was taken as the batch although the
  /// target, with its -1, also fits the data as it stands.
  std::vector<std::string> *guesses = nullptr;
};

/// What a handler sees of the node it replays: its inputs (from `env`), its
/// attributes, the model's opset and host copies of constant inputs.
struct NodeContext {
  const ::onnx::NodeProto &node;
  int64_t opset;
  std::map<std::string, Value> &env;
  const Params &weights;   // the model's float initializers (host values)
  const Params &constants; // the model's float Constant nodes
  Params *trainingStatistics; // non-null: batch norm in training mode
  const Rebatch *rebatch = nullptr; // non-null: not at the exported batch

  const std::string &op() const { return node.op_type(); }
  /// Whether optional input `i` is given.
  bool has(int i) const;
  const Value &value(int i) const;
  /// Input `i` as a tensor (static integers as f32).
  Tensor tensor(int i) const;
  /// Input `i`, which must be integers known at trace time.
  const std::vector<int64_t> &staticInts(int i) const;
  /// Input `i` when it is a float known at load time (initializer,
  /// Constant, or a value with `known` floats).
  std::optional<std::vector<float>> hostFloats(int i) const;
  void set(Tensor t, int output = 0) const;
  void setStatic(std::vector<int64_t> ints, Shape shape) const;
  void setValue(const Value &v) const;

  /// Whether input `i` carries the batch in dimension 0: it was the
  /// exported batch there at load and is the actual batch now (false at the
  /// exported batch).
  bool carriesBatch(int i) const;

  /// A possibly negative axis, normalized for `rank`.
  int64_t axis(int64_t axis, int64_t rank) const;
  /// `v` (one value per channel of `x`) shaped to broadcast along dim 1.
  Tensor perChannel(const Tensor &v, const Tensor &x) const;
  Error unsupported(const std::string &what) const {
    return unsupportedError(node, what);
  }
  Error error(const std::string &what) const { return nodeError(node, what); }
  int64_t intAttr(const std::string &name, int64_t fallback) const {
    return detail::intAttr(node, name, fallback);
  }
  float floatAttr(const std::string &name, float fallback) const {
    return detail::floatAttr(node, name, fallback);
  }
  std::string stringAttr(const std::string &name,
                         const std::string &fallback) const {
    return detail::stringAttr(node, name, fallback);
  }
  std::vector<int64_t> intsAttr(const std::string &name,
                                std::vector<int64_t> fallback = {}) const {
    return detail::intsAttr(node, name, std::move(fallback));
  }

  // Attributes checked against the ONNX spec: a value outside it is an
  // error "node 'n' (Op): attribute name = value: why", never a default.
  Error badAttr(const std::string &name, const std::string &value,
                const std::string &why) const;
  /// A 0/1 attribute (transB, keepdims, ceil_mode, ...).
  int64_t flagAttr(const std::string &name, int64_t fallback) const;
  /// A float attribute that must be finite (alpha, epsilon, ...).
  float finiteAttr(const std::string &name, float fallback) const;
  /// An axis attribute in [-rank, rank - 1] (`extra` widens the top: Flatten
  /// takes rank itself), normalized to be non-negative.
  int64_t axisAttr(const std::string &name, int64_t fallback, int64_t rank,
                   int64_t extra = 0) const;
  /// A window's ints attribute (kernel_shape, strides, pads, ...): entries
  /// in [`min`, kMaxWindowValue] (Trace.h: with extents bounded too, no
  /// window arithmetic overflows).
  std::vector<int64_t> windowInts(const std::string &name,
                                  std::vector<int64_t> fallback,
                                  int64_t min) const;
};

/// 1-D convolutions and pools run as 2-D ones of height 1 (ConvPoolOps.cpp;
/// SparseLayers.cpp and OnnxNetwork.cpp follow the same view): a filter
/// [M, C/group, K] as [M, C/group, 1, K], and a window's strides and
/// dilations with a 1 in front, its pads [begin, end] as [0, begin, 0, end].
Shape signalFilterAsImage(const Shape &filter);
void signalWindowAsImage(std::vector<int64_t> &strides,
                         std::vector<int64_t> &dilations,
                         std::vector<int64_t> &pads);

/// B of a binary operator (Add..Div, Pow, the comparisons) as numpy's
/// broadcasting must see it: before opset 7 the legacy `broadcast`/`axis`
/// form, checked (an error naming the node, shapes and opset) and aligned
/// with trailing 1s; unchanged from opset 7.
Tensor legacyBroadcastOperand(const NodeContext &c, const Tensor &a, const Tensor &b);
/// NumPy broadcasting of two shapes; an error naming the node otherwise.
Shape broadcastShape(const NodeContext &c, const Shape &a, const Shape &b);
/// The element of static `v` that output index `flat` of `out` reads under
/// broadcasting.
int64_t broadcastRead(const Value &v, const Shape &out, int64_t flat);
/// Folds an elementwise op on static integers (shape arithmetic) with NumPy
/// broadcasting; false when an operand is not static.
bool foldStatic(const NodeContext &c, int operands,
                int64_t (*f)(const std::vector<int64_t> &));

using Handler = void (*)(const NodeContext &);

/// The newest opset this importer was written and tested against: 22.
/// PyTorch 2.15's exporter writes opset 20 by default. Of the table's
/// operators, 18 to 22 changed Split, the reductions, Pad, Resize,
/// AveragePool and Cast, and added Gelu and GroupNormalization; the rest
/// only gained element types (int4, float8, bfloat16) the importer refuses
/// by name. libonnx 1.12's
/// schemas end at 17: OpHandlers.cpp says how later nodes are checked.
constexpr int64_t kNewestOpset = 22;

/// One row of the table.
struct OpHandler {
  std::string opType;
  int64_t sinceVersion = 1;            // first opset the handler implements
  int64_t lastVersion = kNewestOpset;  // last opset it implements
  Handler handle = nullptr;
  std::map<int, ParamRole> roles; // input index -> role of an initializer there
};

/// Entries by family (each defined next to its handlers).
std::vector<OpHandler> elementwiseOps();
std::vector<OpHandler> linearOps();
std::vector<OpHandler> convPoolOps();
std::vector<OpHandler> normalizationOps();
std::vector<OpHandler> reduceOps();
std::vector<OpHandler> shapeOps();
std::vector<OpHandler> transformerOps();
std::vector<OpHandler> resizeOps();
std::vector<OpHandler> recurrentOps();
std::vector<OpHandler> padOps();
std::vector<OpHandler> einsumOps();
std::vector<OpHandler> rearrangeOps();

/// The newest ai.onnx opset whose schemas the linked ONNX library knows (17
/// for Debian's libonnx 1.12).
int64_t checkerNewestOpset();

/// Every entry, sorted by op type.
const std::vector<OpHandler> &opTable();
/// The entry that runs `node` at `opset`. Throws unsupportedError for an
/// operator of another domain, one not in the table, or an opset outside
/// the entry's range.
const OpHandler &handlerFor(const ::onnx::NodeProto &node, int64_t opset);
/// Looks `c.node` up and runs its handler.
void runNode(const NodeContext &c);
/// Checks `node` against the ONNX schema its model's `opset` selects
/// (attributes that version has, its inputs), before the whole-model
/// checker, so that the error names the node, the operator, the opset and
/// the version: "node 'n' (MaxPool): the ONNX checker rejects it under
/// MaxPool-8, the version the model's opset 9 selects: Unrecognized
/// attribute: ceil_mode ...", or the operator's first version when the
/// opset predates it.
void checkNodeVersion(const ::onnx::NodeProto &node, int64_t opset);

/// libonnx 1.12's whole-model checker on `model` (its file at `path` when
/// given, for external data), where it can judge it: up to opset 17 (past
/// it, the changed operators would be judged by their old forms; the
/// per-node checks above still run). The checker knows IR versions up to 8;
/// PyTorch 2.15 writes IR 10 at every opset. Later versions add element
/// types (refused by type), metadata, function overloads (functions are not
/// read) and device configurations: a newer model's graph is checked as IR
/// 8, its functions not at all.
void checkWholeModel(const ::onnx::ModelProto &model, int64_t opset,
                     const std::string &path = "");

} // namespace bregman::onnx::detail

#endif // BREGMAN_ONNX_LIB_OPHANDLERS_H
