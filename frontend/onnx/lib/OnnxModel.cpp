//===- OnnxModel.cpp - ONNX graphs as DSL programs ------------------------===//

#include "bregman/onnx/OnnxModel.h"

#include "bregman/bregman.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace fs = std::filesystem;

namespace bregman::onnx {

namespace {

/// An error for something the importer cannot represent (as opposed to a
/// malformed model): the conformance runner counts these as skipped.
Error unsupportedError(const ::onnx::NodeProto &node, const std::string &what) {
  return Error(fmt::format("unsupported: node '{}' ({}): {}", node.name(),
                           node.op_type(), what));
}

const ::onnx::AttributeProto *findAttr(const ::onnx::NodeProto &node,
                                       const std::string &name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
int64_t intAttr(const ::onnx::NodeProto &node, const std::string &name,
                int64_t fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->i() : fallback;
}
float floatAttr(const ::onnx::NodeProto &node, const std::string &name,
                float fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->f() : fallback;
}
std::string stringAttr(const ::onnx::NodeProto &node, const std::string &name,
                       const std::string &fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->s() : fallback;
}
std::vector<int64_t> intsAttr(const ::onnx::NodeProto &node,
                              const std::string &name,
                              std::vector<int64_t> fallback = {}) {
  const auto *a = findAttr(node, name);
  if (!a)
    return fallback;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

/// A value while the graph is replayed: a DSL tensor, or integers known at
/// trace time (shapes, axes) that are folded instead of computed.
struct Value {
  Tensor tensor;
  bool isStatic = false;
  std::vector<int64_t> ints;
  Shape shape; // of `ints`
};

/// Checks that `shape` is a sane static shape (non-negative dimensions, at
/// most 2^32 elements) and returns its element count; hostile files must not
/// overflow the arithmetic or the allocator.
int64_t checkedCount(const Shape &shape, const std::string &what) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > (int64_t(1) << 32))
      throw Error(fmt::format("{}: dimension {} out of range", what, d));
    if (d != 0 && count > (int64_t(1) << 32) / d)
      throw Error(fmt::format("{}: more than 2^32 elements", what));
    count *= d;
  }
  return count;
}

/// The element bytes of `t` (raw_data or the typed fields, or external
/// data read from inside `dir`).
std::string tensorBytes(const ::onnx::TensorProto &t, const fs::path &dir,
                        size_t elementSize, int64_t count) {
  size_t bytes = elementSize * static_cast<size_t>(count);
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    }
    fs::path rel(location);
    if (location.empty() || rel.is_absolute())
      throw Error(fmt::format("tensor '{}': external data location '{}' must "
                              "be a relative path inside the model's folder",
                              t.name(), location));
    fs::path base = fs::weakly_canonical(dir);
    fs::path file = fs::weakly_canonical(base / rel); // resolves links and ..
    auto [end, _] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (end != base.end())
      throw Error(fmt::format("tensor '{}': external data '{}' leaves the "
                              "model's folder {}; refused",
                              t.name(), location, base.string()));
    std::ifstream in(file, std::ios::binary);
    if (!in)
      throw Error(fmt::format("tensor '{}': cannot read external data {}",
                              t.name(), file.string()));
    in.seekg(offset);
    std::string data(bytes, '\0');
    if ((length >= 0 && static_cast<size_t>(length) != bytes) ||
        !in.read(data.data(), static_cast<std::streamsize>(bytes)))
      throw Error(fmt::format("tensor '{}': external data {} holds fewer than "
                              "{} bytes at offset {}",
                              t.name(), file.string(), bytes, offset));
    return data;
  }
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes)
      throw Error(fmt::format("tensor '{}': raw data of {} bytes for {} "
                              "elements",
                              t.name(), t.raw_data().size(), count));
    return t.raw_data();
  }
  std::string data(bytes, '\0');
  auto copy = [&](const auto &field) {
    if (static_cast<int64_t>(field.size()) != count)
      throw Error(fmt::format("tensor '{}': {} values for {} elements", t.name(),
                              field.size(), count));
    for (int64_t i = 0; i < count; ++i) {
      auto v = field.Get(static_cast<int>(i));
      std::memcpy(data.data() + i * elementSize, &v, elementSize);
    }
  };
  switch (t.data_type()) {
  case ::onnx::TensorProto::FLOAT: copy(t.float_data()); break;
  case ::onnx::TensorProto::DOUBLE: copy(t.double_data()); break;
  case ::onnx::TensorProto::INT64: copy(t.int64_data()); break;
  case ::onnx::TensorProto::INT32: copy(t.int32_data()); break;
  default: break;
  }
  return data;
}

const char *typeName(int dataType) {
  return ::onnx::TensorProto::DataType_Name(
             static_cast<::onnx::TensorProto::DataType>(dataType))
      .c_str();
}

/// A TensorProto as a Value: float/double become tensors, int32/int64
/// static integers. Other types: an Error naming the tensor and type.
Value toValue(const ::onnx::TensorProto &t, const fs::path &dir) {
  Shape shape(t.dims().begin(), t.dims().end());
  int64_t count = checkedCount(shape, fmt::format("tensor '{}'", t.name()));
  Value v;
  switch (t.data_type()) {
  case ::onnx::TensorProto::FLOAT: {
    std::string bytes = tensorBytes(t, dir, 4, count);
    std::vector<float> values(count);
    std::memcpy(values.data(), bytes.data(), bytes.size());
    v.tensor = Tensor::fromVector(values, shape);
    return v;
  }
  case ::onnx::TensorProto::DOUBLE: {
    std::string bytes = tensorBytes(t, dir, 8, count);
    std::vector<double> values(count);
    std::memcpy(values.data(), bytes.data(), bytes.size());
    v.tensor = Tensor::fromVector(values, shape);
    return v;
  }
  case ::onnx::TensorProto::INT64:
  case ::onnx::TensorProto::INT32: {
    bool wide = t.data_type() == ::onnx::TensorProto::INT64;
    std::string bytes = tensorBytes(t, dir, wide ? 8 : 4, count);
    v.isStatic = true;
    v.shape = shape;
    v.ints.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      if (wide) {
        std::memcpy(&v.ints[i], bytes.data() + 8 * i, 8);
      } else {
        int32_t x;
        std::memcpy(&x, bytes.data() + 4 * i, 4);
        v.ints[i] = x;
      }
    }
    return v;
  }
  default:
    throw Error(fmt::format("tensor '{}': data type {} is not supported "
                            "(float, double, int32, int64 are)",
                            t.name(), typeName(t.data_type())));
  }
}

const std::set<std::string> kSupportedOps = {
    "Gemm", "MatMul", "Conv", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp",
    "Log", "Neg", "Abs", "Clip", "BatchNormalization", "MaxPool",
    "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose",
    "Concat", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Constant",
    "Shape", "Gather", "ReduceMean", "ReduceSum", "Cast", "ConvTranspose",
    "Max", "Min", "ReduceMax", "ReduceMin", "Slice", "Split"};

} // namespace

struct OnnxModel::Impl {
  ::onnx::ModelProto model;
  fs::path dir;
  Params weights, constants;
  std::map<std::string, Value> staticValues; // integer initializers/constants
  std::vector<ValueSpec> inputs, outputs;
  std::vector<std::string> unsupported;
  int64_t opset = 0;

  /// Replays the graph; with `shapes`, records each node's first output
  /// shape by output name.
  Params run(const Params &w, const Params &c, const Params &in,
             std::map<std::string, Shape> *shapes = nullptr,
             Params *trainingStatistics = nullptr) const;
  void node(const ::onnx::NodeProto &n, std::map<std::string, Value> &env,
            Params *trainingStatistics) const;
};

OnnxModel::OnnxModel(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
OnnxModel::OnnxModel(OnnxModel &&) noexcept = default;
OnnxModel &OnnxModel::operator=(OnnxModel &&) noexcept = default;
OnnxModel::~OnnxModel() = default;
const Params &OnnxModel::weights() const { return impl->weights; }
const Params &OnnxModel::constants() const { return impl->constants; }
const std::vector<ValueSpec> &OnnxModel::inputs() const { return impl->inputs; }
const std::vector<ValueSpec> &OnnxModel::outputs() const { return impl->outputs; }
int64_t OnnxModel::opsetVersion() const { return impl->opset; }
const std::vector<std::string> &OnnxModel::unsupported() const {
  return impl->unsupported;
}

/// The shape of a graph input/output from its type; dynamic dimensions and
/// non-tensor types are refused.
static ValueSpec specOf(const ::onnx::ValueInfoProto &info,
                        const std::string &path) {
  ValueSpec spec;
  spec.name = info.name();
  const auto &type = info.type();
  if (!type.has_tensor_type())
    throw Error(fmt::format("{}: unsupported: graph value '{}' is not a tensor",
                            path, info.name()));
  int elem = type.tensor_type().elem_type();
  if (elem == ::onnx::TensorProto::FLOAT)
    spec.dtype = DType::F32;
  else if (elem == ::onnx::TensorProto::DOUBLE)
    spec.dtype = DType::F64;
  else
    throw Error(fmt::format("{}: unsupported: graph value '{}' has data type "
                            "{} (float and double are supported)",
                            path, info.name(), typeName(elem)));
  for (const auto &d : type.tensor_type().shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0)
      throw Error(fmt::format("{}: unsupported: graph value '{}' has a dynamic "
                              "dimension '{}'; export with static shapes",
                              path, info.name(), d.dim_param()));
    spec.shape.push_back(d.dim_value());
  }
  checkedCount(spec.shape, fmt::format("{}: graph value '{}'", path, info.name()));
  return spec;
}

OnnxModel OnnxModel::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot open the ONNX model", path));
  if (!impl->model.ParseFromIstream(&in))
    throw Error(fmt::format("{}: not an ONNX model (the protobuf does not "
                            "parse: malformed or truncated)",
                            path));
  impl->dir = fs::path(path).parent_path();
  if (impl->dir.empty())
    impl->dir = ".";
  // External data first: our confinement to the model's folder, before the
  // checker (given the path, it resolves locations relative to the model).
  for (const auto &t : impl->model.graph().initializer())
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
      (void)toValue(t, impl->dir);
  try {
    ::onnx::checker::check_model(path);
  } catch (const std::exception &e) {
    throw Error(fmt::format("{}: the ONNX checker rejects the model: {}", path,
                            e.what()));
  }
  for (const auto &o : impl->model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      impl->opset = o.version();
  const auto &graph = impl->model.graph();
  std::set<std::string> initializerNames;
  for (const auto &t : graph.initializer()) {
    initializerNames.insert(t.name());
    Value v = toValue(t, impl->dir);
    if (v.isStatic)
      impl->staticValues[t.name()] = v;
    else
      impl->weights.add(t.name(), v.tensor);
  }
  for (const auto &sparse : graph.sparse_initializer()) {
    // Stored as non-zero values at linear (or N-D) indices: made dense.
    const auto &values = sparse.values();
    initializerNames.insert(values.name());
    Shape shape(sparse.dims().begin(), sparse.dims().end());
    Value v = toValue(values, impl->dir), at = toValue(sparse.indices(), impl->dir);
    if (v.isStatic || !at.isStatic || v.tensor.dtype() != DType::F32)
      throw Error(fmt::format("{}: sparse initializer '{}': only float values "
                              "with integer indices are supported",
                              path, values.name()));
    Tensor dense = Tensor::zeros(shape);
    std::vector<float> nz = v.tensor.toVector<float>();
    int64_t rank = shape.size(), count = nz.size();
    bool linear = at.shape.size() == 1;
    for (int64_t k = 0; k < count; ++k) {
      int64_t index = 0;
      if (linear) {
        index = at.ints.at(k);
      } else {
        for (int64_t d = 0; d < rank; ++d)
          index = index * shape[d] + at.ints.at(k * rank + d);
      }
      if (index < 0 || index >= dense.numel())
        throw Error(fmt::format("{}: sparse initializer '{}': index {} outside "
                                "{}",
                                path, values.name(), index, shapeString(shape)));
      dense.data<float>()[index] = nz[k];
    }
    impl->weights.add(values.name(), dense);
  }
  for (const auto &n : graph.node()) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") {
      impl->unsupported.push_back(fmt::format(
          "node '{}' ({}): operator domain '{}'", n.name(), n.op_type(), n.domain()));
      continue;
    }
    if (!kSupportedOps.count(n.op_type()))
      impl->unsupported.push_back(fmt::format("node '{}' ({}): operator not "
                                              "supported",
                                              n.name(), n.op_type()));
    if (n.op_type() == "Constant") {
      const auto *value = findAttr(n, "value");
      try {
        if (value && value->has_t()) {
          Value v = toValue(value->t(), impl->dir);
          if (v.isStatic)
            impl->staticValues[n.output(0)] = v;
          else
            impl->constants.add(n.output(0), v.tensor);
        }
      } catch (const Error &e) {
        impl->unsupported.push_back(
            fmt::format("node '{}' (Constant): {}", n.name(), e.what()));
      }
    }
  }
  try {
    for (const auto &i : graph.input())
      if (!initializerNames.count(i.name()))
        impl->inputs.push_back(specOf(i, path));
    for (const auto &o : graph.output())
      impl->outputs.push_back(specOf(o, path));
  } catch (const Error &e) {
    impl->unsupported.push_back(e.what());
  }
  // No onnx::shape_inference: libonnx 1.12's crashes on malformed models
  // (our fuzzer found two SEGVs in it within seconds). Shapes are computed
  // while the graph is replayed instead (`summary` replays it on traced
  // inputs).
  return OnnxModel(std::move(impl));
}

Params OnnxModel::apply(const Params &weights, const Params &constants,
                        const Params &inputs, Params *trainingStatistics) const {
  if (!impl->unsupported.empty())
    throw Error("unsupported: " + impl->unsupported.front());
  return impl->run(weights, constants, inputs, nullptr, trainingStatistics);
}

Params OnnxModel::Impl::run(const Params &w, const Params &c, const Params &in,
                            std::map<std::string, Shape> *shapes,
                            Params *trainingStatistics) const {
  std::map<std::string, Value> env = staticValues;
  for (const auto &[name, t] : w)
    env[name].tensor = t;
  for (const auto &[name, t] : c)
    env[name].tensor = t;
  for (const ValueSpec &spec : inputs) {
    if (!in.contains(spec.name))
      throw Error(fmt::format("onnx: the model's input '{}' is missing", spec.name));
    const Tensor &t = in.at(spec.name);
    // The batch (first) dimension is free; the others are the model's.
    bool fits = t.rank() == static_cast<int64_t>(spec.shape.size());
    for (size_t d = 1; fits && d < spec.shape.size(); ++d)
      fits = t.dim(d) == spec.shape[d];
    if (!fits)
      throw Error(fmt::format("onnx: input '{}' is {} but the model wants {}",
                              spec.name, shapeString(t.shape()),
                              shapeString(spec.shape)));
    env[spec.name].tensor = t;
  }
  for (const auto &n : model.graph().node()) {
    try {
      node(n, env, trainingStatistics);
    } catch (const Error &) {
      throw;
    } catch (const std::exception &e) {
      // Out-of-range indices and the like in hostile files: an error naming
      // the node, never a crash.
      throw Error(fmt::format("node '{}' ({}): invalid model: {}", n.name(),
                              n.op_type(), e.what()));
    }
    if (shapes && n.output_size() > 0 && env.count(n.output(0))) {
      const Value &v = env.at(n.output(0));
      (*shapes)[n.output(0)] = v.isStatic ? v.shape : v.tensor.shape();
    }
  }
  Params out;
  for (const ValueSpec &spec : outputs) {
    const Value &v = env.at(spec.name);
    if (v.isStatic)
      throw Error(fmt::format("unsupported: graph output '{}' is an integer "
                              "tensor",
                              spec.name));
    out.add(spec.name, v.tensor);
  }
  return out;
}

namespace {

/// Normalizes a possibly negative axis.
int64_t axisOf(const ::onnx::NodeProto &n, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error(fmt::format("node '{}' ({}): axis {} is out of range for rank {}",
                            n.name(), n.op_type(), axis, rank));
  return a;
}

/// `v` (one value per channel of `x`) shaped to broadcast along dim 1.
Tensor perChannel(const ::onnx::NodeProto &n, const Tensor &v, const Tensor &x) {
  if (x.rank() < 2 || v.numel() != x.dim(1))
    throw Error(fmt::format("node '{}' ({}): {} values for the channels of {}",
                            n.name(), n.op_type(), v.numel(),
                            shapeString(x.shape())));
  Shape shape(x.rank(), 1);
  shape[1] = v.numel();
  return reshape(v, shape);
}

} // namespace

void OnnxModel::Impl::node(const ::onnx::NodeProto &n,
                           std::map<std::string, Value> &env,
                           Params *trainingStatistics) const {
  const std::string &op = n.op_type();
  auto has = [&](int i) { return i < n.input_size() && !n.input(i).empty(); };
  auto value = [&](int i) -> const Value & {
    auto it = env.find(n.input(i));
    if (it == env.end())
      throw Error(fmt::format("node '{}' ({}): input '{}' is not computed before "
                              "it",
                              n.name(), op, n.input(i)));
    return it->second;
  };
  auto tensor = [&](int i) -> Tensor {
    const Value &v = value(i);
    if (v.isStatic) {
      // An integer tensor used as data: as f32 (shape arithmetic results).
      std::vector<float> f(v.ints.begin(), v.ints.end());
      return Tensor::fromVector(f, v.shape);
    }
    return v.tensor;
  };
  auto staticInts = [&](int i) -> const std::vector<int64_t> & {
    const Value &v = value(i);
    if (!v.isStatic)
      throw unsupportedError(n, fmt::format("input '{}' must be a constant integer "
                                       "tensor (dynamic shapes are not "
                                       "supported)",
                                       n.input(i)));
    return v.ints;
  };
  /// A float input known at load time (initializer or Constant).
  auto hostFloats = [&](int i) -> std::optional<std::vector<float>> {
    const std::string &name = n.input(i);
    const Params *sources[] = {&weights, &constants};
    for (const Params *p : sources)
      if (p->contains(name) && p->at(name).dtype() == DType::F32)
        return p->at(name).toVector<float>();
    return std::nullopt;
  };
  auto set = [&](Tensor t) {
    Value v;
    v.tensor = std::move(t);
    env[n.output(0)] = v;
  };
  auto setStatic = [&](std::vector<int64_t> ints, Shape shape) {
    Value v;
    v.isStatic = true;
    v.ints = std::move(ints);
    v.shape = std::move(shape);
    env[n.output(0)] = v;
  };

  if (op == "Identity" || op == "Dropout") {
    env[n.output(0)] = value(0);
    if (n.output_size() > 1 && !n.output(1).empty())
      throw unsupportedError(n, "the dropout mask output");
    return;
  }
  if (op == "Constant") {
    if (env.count(n.output(0)))
      return; // folded at load time (value attribute)
    if (const auto *a = findAttr(n, "value_float"))
      return set(Tensor::fromVector(std::vector<float>{a->f()}, {}));
    if (const auto *a = findAttr(n, "value_floats"))
      return set(Tensor::fromVector(std::vector<float>(a->floats().begin(), a->floats().end()),
                                    {a->floats_size()}));
    if (const auto *a = findAttr(n, "value_int"))
      return setStatic({a->i()}, {});
    if (const auto *a = findAttr(n, "value_ints"))
      return setStatic(std::vector<int64_t>(a->ints().begin(), a->ints().end()),
                       {a->ints_size()});
    throw unsupportedError(n, "a Constant without a tensor, float(s) or int(s) value");
  }
  if (op == "Relu")
    return set(relu(tensor(0)));
  if (op == "LeakyRelu") {
    double alpha = floatAttr(n, "alpha", 0.01f);
    Tensor x = tensor(0);
    return set(relu(x) - relu(-x) * alpha);
  }
  if (op == "Sigmoid")
    return set(full({}, 1.0, tensor(0).dtype()) / (exp(-tensor(0)) + 1.0));
  if (op == "Tanh") {
    Tensor s = full({}, 1.0, tensor(0).dtype()) / (exp(tensor(0) * -2.0) + 1.0);
    return set(s * 2.0 - 1.0);
  }
  if (op == "Exp")
    return set(exp(tensor(0)));
  if (op == "Log")
    return set(log(tensor(0)));
  if (op == "Neg")
    return set(-tensor(0));
  if (op == "Abs")
    return set(abs(tensor(0)));
  if (op == "Sqrt")
    return set(sqrt(tensor(0)));
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    const Value &a = value(0), &b = value(1);
    if (a.isStatic && b.isStatic && a.ints.size() == b.ints.size()) {
      std::vector<int64_t> r(a.ints.size());
      for (size_t i = 0; i < r.size(); ++i)
        r[i] = op == "Add"   ? a.ints[i] + b.ints[i]
               : op == "Sub" ? a.ints[i] - b.ints[i]
               : op == "Mul" ? a.ints[i] * b.ints[i]
                             : (b.ints[i] ? a.ints[i] / b.ints[i] : 0);
      return setStatic(r, a.shape);
    }
    Tensor x = tensor(0), y = tensor(1);
    return set(op == "Add"   ? x + y
               : op == "Sub" ? x - y
               : op == "Mul" ? x * y
                             : x / y);
  }
  if (op == "Pow") {
    auto exponent = hostFloats(1);
    if (!exponent || exponent->size() != 1)
      throw unsupportedError(n, "an exponent that is not a constant scalar");
    float e = (*exponent)[0];
    Tensor x = tensor(0);
    if (e == 1.0f)
      return set(x);
    if (e == 2.0f)
      return set(x * x);
    if (e == 3.0f)
      return set(x * x * x);
    if (e == 0.5f)
      return set(sqrt(x));
    if (e == -1.0f)
      return set(full({}, 1.0, x.dtype()) / x);
    throw unsupportedError(n, fmt::format("exponent {} (1, 2, 3, 0.5 and -1 are "
                                     "supported)",
                                     e));
  }
  if (op == "Clip") {
    Tensor x = tensor(0);
    std::optional<float> lo, hi;
    if (opset < 11) {
      if (findAttr(n, "min"))
        lo = floatAttr(n, "min", 0);
      if (findAttr(n, "max"))
        hi = floatAttr(n, "max", 0);
    } else {
      for (int i : {1, 2}) {
        if (!has(i))
          continue;
        auto bound = hostFloats(i);
        if (!bound || bound->size() != 1)
          throw unsupportedError(n, "a bound that is not a constant scalar");
        (i == 1 ? lo : hi) = (*bound)[0];
      }
    }
    if (lo)
      x = maximum(x, full({}, *lo, x.dtype()));
    if (hi)
      x = -maximum(-x, full({}, -*hi, x.dtype()));
    return set(x);
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    Tensor x = tensor(0);
    int64_t axis = axisOf(n, intAttr(n, "axis", opset >= 13 ? -1 : 1), x.rank());
    if (opset < 13 && axis != x.rank() - 1)
      throw unsupportedError(n, "before opset 13 the axis flattens the input; only "
                           "the last axis is supported");
    Tensor l = logSoftmax(x, axis);
    return set(op == "Softmax" ? exp(l) : l);
  }
  if (op == "Gemm") {
    Tensor a = tensor(0), b = tensor(1);
    if (a.rank() != 2 || b.rank() != 2)
      throw unsupportedError(n, "Gemm operands must be 2-D");
    Tensor y = matmul(a, b, intAttr(n, "transA", 0) != 0, intAttr(n, "transB", 0) != 0);
    double alpha = floatAttr(n, "alpha", 1.0f), beta = floatAttr(n, "beta", 1.0f);
    if (alpha != 1.0)
      y = y * alpha;
    if (has(2))
      y = y + (beta != 1.0 ? tensor(2) * beta : tensor(2));
    return set(y);
  }
  if (op == "MatMul") {
    Tensor a = tensor(0), b = tensor(1);
    if (a.rank() != 2 || b.rank() != 2)
      throw unsupportedError(n, fmt::format("MatMul of {} and {} (2-D only)",
                                       shapeString(a.shape()), shapeString(b.shape())));
    return set(matmul(a, b));
  }
  if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
    Tensor x = tensor(0);
    if (x.rank() != 4)
      throw unsupportedError(n, fmt::format("{}-D input (2-D images, NCHW, only)",
                                       x.rank() - 2));
    std::string autoPad = stringAttr(n, "auto_pad", "NOTSET");
    std::vector<int64_t> kernel = intsAttr(n, "kernel_shape");
    if (op == "Conv" && kernel.empty())
      kernel = {tensor(1).dim(2), tensor(1).dim(3)};
    std::vector<int64_t> strides = intsAttr(n, "strides", {1, 1});
    std::vector<int64_t> dilations = intsAttr(n, "dilations", {1, 1});
    std::vector<int64_t> pads = intsAttr(n, "pads", {0, 0, 0, 0});
    if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 ||
        pads.size() != 4)
      throw unsupportedError(n, "kernel, strides, dilations or pads not 2-D");
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      for (int i = 0; i < 2; ++i) {
        int64_t in = x.dim(2 + i), out = (in + strides[i] - 1) / strides[i];
        int64_t total = std::max<int64_t>(
            0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
        int64_t small = total / 2, large = total - small;
        pads[i] = autoPad == "SAME_UPPER" ? small : large;
        pads[i + 2] = autoPad == "SAME_UPPER" ? large : small;
      }
    } else if (autoPad == "VALID") {
      pads = {0, 0, 0, 0};
    } else if (autoPad != "NOTSET") {
      throw unsupportedError(n, "auto_pad " + autoPad);
    }
    std::array<int64_t, 4> padding{pads[0], pads[1], pads[2], pads[3]};
    if (op == "Conv") {
      Conv2dOptions o{{strides[0], strides[1]}, padding,
                      {dilations[0], dilations[1]}, intAttr(n, "group", 1)};
      Tensor y = conv2d(x, tensor(1), o);
      if (has(2))
        y = y + perChannel(n, tensor(2), y);
      return set(y);
    }
    if (intAttr(n, "ceil_mode", 0) != 0)
      throw unsupportedError(n, "ceil_mode = 1");
    Pool2dOptions o{{kernel[0], kernel[1]}, {strides[0], strides[1]}, padding,
                    {dilations[0], dilations[1]}};
    if (op == "MaxPool") {
      if (n.output_size() > 1 && !n.output(1).empty())
        throw unsupportedError(n, "the Indices output");
      if (intAttr(n, "storage_order", 0) != 0)
        throw unsupportedError(n, "storage_order = 1");
      return set(maxPool2d(x, o));
    }
    Tensor avg = avgPool2d(x, o);
    bool padded = padding != std::array<int64_t, 4>{0, 0, 0, 0};
    if (intAttr(n, "count_include_pad", 0) == 0 && padded) {
      // Divide by the number of real (unpadded) elements of each window.
      Tensor count = avgPool2d(full(x.shape(), 1.0, x.dtype()), o);
      avg = avg / count;
    }
    return set(avg);
  }
  if (op == "ConvTranspose") {
    Tensor x = tensor(0), w = tensor(1);
    if (x.rank() != 4 || w.rank() != 4)
      throw unsupportedError(n, fmt::format("{}-D input (2-D images, NCHW, only)",
                                            x.rank() - 2));
    std::vector<int64_t> strides = intsAttr(n, "strides", {1, 1});
    std::vector<int64_t> dilations = intsAttr(n, "dilations", {1, 1});
    std::vector<int64_t> pads = intsAttr(n, "pads", {0, 0, 0, 0});
    std::vector<int64_t> outputPadding = intsAttr(n, "output_padding", {0, 0});
    std::vector<int64_t> outputShape = intsAttr(n, "output_shape");
    std::string autoPad = stringAttr(n, "auto_pad", "NOTSET");
    if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4 ||
        outputPadding.size() != 2)
      throw unsupportedError(n, "strides, dilations, pads or output_padding not 2-D");
    if (outputShape.size() > 2)
      outputShape.erase(outputShape.begin(), outputShape.end() - 2);
    if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      // Padding that gives the requested (or the "same" = stride·input) size.
      for (int i = 0; i < 2; ++i) {
        int64_t in = x.dim(2 + i);
        int64_t out = outputShape.empty() ? in * strides[i] : outputShape.at(i);
        int64_t total = strides[i] * (in - 1) + outputPadding[i] +
                        (w.dim(2 + i) - 1) * dilations[i] + 1 - out;
        if (total < 0) {
          // More output than the kernel reaches: extra output padding.
          outputPadding[i] -= total;
          total = 0;
        }
        bool upper = autoPad != "SAME_LOWER";
        pads[i] = upper ? total / 2 : total - total / 2;
        pads[i + 2] = total - pads[i];
      }
    } else if (autoPad == "VALID") {
      pads = {0, 0, 0, 0};
    } else if (autoPad != "NOTSET") {
      throw unsupportedError(n, "auto_pad " + autoPad);
    }
    Conv2dOptions o{{strides[0], strides[1]}, {pads[0], pads[1], pads[2], pads[3]},
                    {dilations[0], dilations[1]}, intAttr(n, "group", 1)};
    Tensor y = convTranspose2d(x, w, o, {outputPadding[0], outputPadding[1]});
    if (has(2))
      y = y + perChannel(n, tensor(2), y);
    return set(y);
  }
  if (op == "Max" || op == "Min") {
    Tensor y = tensor(0);
    for (int i = 1; i < n.input_size(); ++i)
      y = op == "Max" ? maximum(y, tensor(i)) : -maximum(-y, -tensor(i));
    return set(y);
  }
  if (op == "Slice") {
    Tensor x = tensor(0);
    // starts, ends [, axes [, steps]]: inputs from opset 10, attributes before.
    std::vector<int64_t> starts = opset >= 10 ? staticInts(1) : intsAttr(n, "starts");
    std::vector<int64_t> ends = opset >= 10 ? staticInts(2) : intsAttr(n, "ends");
    std::vector<int64_t> axes = opset >= 10 ? (has(3) ? staticInts(3) : std::vector<int64_t>{})
                                            : intsAttr(n, "axes");
    std::vector<int64_t> steps = opset >= 10 && has(4) ? staticInts(4) : std::vector<int64_t>{};
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i)
        axes.push_back(static_cast<int64_t>(i));
    if (starts.size() != ends.size() || axes.size() != starts.size())
      throw Error(fmt::format("node '{}' (Slice): starts, ends and axes differ in "
                              "length",
                              n.name()));
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!steps.empty() && steps.at(i) != 1)
        throw unsupportedError(n, "steps other than 1");
      int64_t axis = axisOf(n, axes[i], x.rank()), dim = x.dim(axis);
      auto clampIndex = [&](int64_t v) {
        if (v < 0)
          v += dim;
        return std::clamp<int64_t>(v, 0, dim);
      };
      int64_t begin = clampIndex(starts[i]), end = clampIndex(ends[i]);
      x = slice(x, axis, begin, std::max<int64_t>(end - begin, 0));
    }
    return set(x);
  }
  if (op == "Split") {
    Tensor x = tensor(0);
    int64_t axis = axisOf(n, intAttr(n, "axis", 0), x.rank());
    std::vector<int64_t> sizes = opset >= 13 && has(1) ? staticInts(1) : intsAttr(n, "split");
    if (sizes.empty()) {
      int64_t parts = n.output_size(), dim = x.dim(axis);
      if (parts == 0 || dim % parts != 0)
        throw unsupportedError(n, "an uneven split without sizes");
      sizes.assign(parts, dim / parts);
    }
    if (static_cast<int>(sizes.size()) != n.output_size())
      throw Error(fmt::format("node '{}' (Split): {} sizes for {} outputs", n.name(),
                              sizes.size(), n.output_size()));
    int64_t offset = 0;
    for (int i = 0; i < n.output_size(); ++i) {
      Value v;
      v.tensor = slice(x, axis, offset, sizes[i]);
      env[n.output(i)] = v;
      offset += sizes[i];
    }
    return;
  }
  if (op == "GlobalAveragePool") {
    Tensor x = tensor(0);
    if (x.rank() != 4)
      throw unsupportedError(n, "input of rank other than 4");
    return set(globalAvgPool2d(x));
  }
  if (op == "BatchNormalization") {
    if (intAttr(n, "training_mode", 0) != 0 || n.output_size() > 1)
      throw unsupportedError(n, "the training-mode outputs of BatchNormalization");
    Tensor x = tensor(0);
    double eps = floatAttr(n, "epsilon", 1e-5f);
    if (trainingStatistics) {
      // Batch statistics over every axis but the channels; running ones
      // updated as r·momentum + batch·(1 − momentum), variance unbiased.
      std::vector<int64_t> axes;
      for (int64_t a = 0; a < x.rank(); ++a)
        if (a != 1)
          axes.push_back(a);
      if (x.rank() < 2)
        throw Error(fmt::format("node '{}' (BatchNormalization): input {} has no "
                                "channel axis",
                                n.name(), shapeString(x.shape())));
      Tensor mean = bregman::mean(x, axes, /*keepDims=*/true);
      Tensor centered = x - mean;
      Tensor var = bregman::mean(centered * centered, axes, /*keepDims=*/true);
      double momentum = floatAttr(n, "momentum", 0.9f);
      double count = static_cast<double>(x.numel() / std::max<int64_t>(x.dim(1), 1));
      Tensor batchMean = reshape(stopGradient(mean), {x.dim(1)});
      Tensor batchVar = reshape(stopGradient(var), {x.dim(1)}) * (count / std::max(count - 1, 1.0));
      trainingStatistics->add(n.input(3), tensor(3) * momentum + batchMean * (1 - momentum));
      trainingStatistics->add(n.input(4), tensor(4) * momentum + batchVar * (1 - momentum));
      Tensor y = centered / sqrt(var + eps);
      return set(y * perChannel(n, tensor(1), x) + perChannel(n, tensor(2), x));
    }
    Tensor y = (x - perChannel(n, tensor(3), x)) / sqrt(perChannel(n, tensor(4), x) + eps);
    return set(y * perChannel(n, tensor(1), x) + perChannel(n, tensor(2), x));
  }
  if (op == "Flatten") {
    Tensor x = tensor(0);
    int64_t axis = intAttr(n, "axis", 1);
    if (axis < 0)
      axis += x.rank();
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i)
      outer *= x.dim(i);
    return set(reshape(x, {outer, x.numel() / std::max<int64_t>(outer, 1)}));
  }
  if (op == "Reshape") {
    const Value &data = value(0);
    std::vector<int64_t> target = staticInts(1);
    Shape from = data.isStatic ? data.shape : data.tensor.shape();
    int64_t infer = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == 0 && intAttr(n, "allowzero", 0) == 0)
        target[i] = from.at(i);
      if (target[i] == -1) {
        if (infer >= 0)
          throw Error(fmt::format("node '{}' (Reshape): more than one -1 in the "
                                  "target shape",
                                  n.name()));
        infer = static_cast<int64_t>(i);
      }
    }
    Shape known = target;
    if (infer >= 0)
      known[infer] = 1;
    int64_t knownCount =
        checkedCount(known, fmt::format("node '{}' (Reshape) target", n.name()));
    if (infer >= 0)
      target[infer] = knownCount ? numElements(from) / knownCount : 0;
    if (data.isStatic)
      return setStatic(data.ints, target);
    return set(reshape(data.tensor, target));
  }
  if (op == "Transpose") {
    Tensor x = tensor(0);
    std::vector<int64_t> perm = intsAttr(n, "perm");
    if (perm.empty())
      for (int64_t i = x.rank() - 1; i >= 0; --i)
        perm.push_back(i);
    return set(transpose(x, perm));
  }
  if (op == "Concat") {
    bool allStatic = true;
    for (int i = 0; i < n.input_size(); ++i)
      allStatic = allStatic && value(i).isStatic;
    if (allStatic) {
      std::vector<int64_t> joined;
      for (int i = 0; i < n.input_size(); ++i)
        joined.insert(joined.end(), value(i).ints.begin(), value(i).ints.end());
      return setStatic(joined, {static_cast<int64_t>(joined.size())});
    }
    std::vector<Tensor> parts;
    for (int i = 0; i < n.input_size(); ++i)
      parts.push_back(tensor(i));
    return set(concat(parts, axisOf(n, intAttr(n, "axis", 0), parts[0].rank())));
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    const Value &data = value(0);
    Shape shape = data.isStatic ? data.shape : data.tensor.shape();
    std::vector<int64_t> axes = opset >= 13 && has(1) ? staticInts(1) : intsAttr(n, "axes");
    if (op == "Squeeze") {
      Shape out;
      for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
        bool listed = axes.empty() ? shape[i] == 1 : false;
        for (int64_t a : axes)
          listed = listed || axisOf(n, a, shape.size()) == i;
        if (!listed)
          out.push_back(shape[i]);
      }
      shape = out;
    } else {
      int64_t rank = shape.size() + axes.size();
      std::vector<int64_t> sorted;
      for (int64_t a : axes)
        sorted.push_back(axisOf(n, a, rank));
      std::sort(sorted.begin(), sorted.end());
      for (int64_t a : sorted)
        shape.insert(shape.begin() + a, 1);
    }
    if (data.isStatic)
      return setStatic(data.ints, shape);
    return set(reshape(data.tensor, shape));
  }
  if (op == "Shape") {
    const Value &data = value(0);
    Shape shape = data.isStatic ? data.shape : data.tensor.shape();
    int64_t rank = shape.size();
    int64_t start = intAttr(n, "start", 0), end = intAttr(n, "end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    std::vector<int64_t> dims(shape.begin() + start, shape.begin() + std::max(start, end));
    return setStatic(dims, {static_cast<int64_t>(dims.size())});
  }
  if (op == "Gather") {
    const Value &data = value(0);
    if (!data.isStatic || data.shape.size() != 1)
      throw unsupportedError(n, "Gather on data computed at run time (only "
                           "constant shape vectors are folded)");
    const std::vector<int64_t> &indices = staticInts(1);
    std::vector<int64_t> picked;
    for (int64_t i : indices)
      picked.push_back(data.ints.at(i < 0 ? i + data.ints.size() : i));
    return setStatic(picked, value(1).shape);
  }
  if (op == "Cast") {
    const Value &data = value(0);
    int to = static_cast<int>(intAttr(n, "to", 0));
    if (data.isStatic && (to == ::onnx::TensorProto::INT64 || to == ::onnx::TensorProto::INT32))
      return env[n.output(0)] = data, void();
    if (!data.isStatic && to == ::onnx::TensorProto::FLOAT &&
        data.tensor.dtype() == DType::F32)
      return set(data.tensor);
    throw unsupportedError(n, fmt::format("Cast to {}", typeName(to)));
  }
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" ||
      op == "ReduceMin") {
    Tensor x = tensor(0);
    std::vector<int64_t> axes;
    if (op == "ReduceSum" && opset >= 13) {
      if (has(1))
        axes = staticInts(1);
    } else {
      axes = intsAttr(n, "axes");
    }
    if (axes.empty()) {
      if (intAttr(n, "noop_with_empty_axes", 0) != 0)
        return set(x);
      for (int64_t i = 0; i < x.rank(); ++i)
        axes.push_back(i);
    }
    for (int64_t &a : axes)
      a = axisOf(n, a, x.rank());
    bool keep = intAttr(n, "keepdims", 1) != 0;
    if (op == "ReduceMax")
      return set(max(x, axes, keep));
    if (op == "ReduceMin")
      return set(-max(-x, axes, keep));
    return set(op == "ReduceMean" ? mean(x, axes, keep) : sum(x, axes, keep));
  }
  throw unsupportedError(n, "operator not supported");
}

std::vector<NodeSummary> OnnxModel::summary() const {
  const auto &graph = impl->model.graph();
  // Output shapes: from a replay on traced inputs when the graph imports.
  std::map<std::string, Shape> shapes;
  if (impl->unsupported.empty()) {
    try {
      Trace trace;
      TraceScope scope(trace);
      auto traced = [&](const Params &concrete) {
        Params p;
        for (const auto &[name, t] : concrete)
          p.add(name, trace.addInput(t.shape(), t.dtype(), name));
        return p;
      };
      Params in;
      for (const ValueSpec &v : impl->inputs)
        in.add(v.name, trace.addInput(v.shape, v.dtype, v.name));
      impl->run(traced(impl->weights), traced(impl->constants), in, &shapes);
    } catch (const Error &) {
      shapes.clear(); // shown without shapes; apply() reports the problem
    }
  }
  std::vector<NodeSummary> out;
  for (const auto &n : graph.node()) {
    NodeSummary s;
    s.name = n.name();
    s.opType = n.op_type();
    s.inputs.assign(n.input().begin(), n.input().end());
    s.outputs.assign(n.output().begin(), n.output().end());
    for (const auto &a : n.attribute())
      if (a.type() == ::onnx::AttributeProto::INT)
        s.intAttributes[a.name()] = a.i();
    if (n.output_size() > 0 && shapes.count(n.output(0)))
      s.outputShape = shapes[n.output(0)];
    for (const std::string &i : s.inputs)
      if (impl->weights.contains(i)) {
        const Tensor &w = impl->weights.at(i);
        s.parameters += w.numel();
        if (w.dtype() == DType::F32)
          for (float v : w.toVector<float>())
            s.nonZero += v != 0.0f;
      }
    out.push_back(s);
  }
  return out;
}

int64_t OnnxModel::save(const std::string &path, const Params &initializers,
                        bool sparse) const {
  ::onnx::ModelProto out = impl->model;
  auto *graph = out.mutable_graph();
  graph->clear_value_info(); // inferred shapes: the file keeps what came in
  // Every float initializer, dense, with the new values where given.
  std::vector<std::pair<std::string, Tensor>> floats;
  for (const auto &[name, t] : impl->weights) {
    const Tensor &value = initializers.contains(name) ? initializers.at(name) : t;
    if (value.shape() != t.shape() || value.dtype() != DType::F32)
      throw Error(fmt::format("{}: initializer '{}' is {}{}, the model's is {}{}",
                              path, name, dtypeName(value.dtype()),
                              shapeString(value.shape()), dtypeName(t.dtype()),
                              shapeString(t.shape())));
    floats.emplace_back(name, value);
  }
  std::set<std::string> replaced;
  for (const auto &[name, t] : floats)
    replaced.insert(name);
  ::google::protobuf::RepeatedPtrField<::onnx::TensorProto> kept;
  for (const auto &t : graph->initializer())
    if (!replaced.count(t.name()))
      *kept.Add() = t;
  graph->mutable_initializer()->Swap(&kept);
  graph->clear_sparse_initializer();
  for (const auto &[name, t] : floats) {
    std::vector<float> values = t.toVector<float>();
    if (!sparse) {
      auto *proto = graph->add_initializer();
      proto->set_name(name);
      proto->set_data_type(::onnx::TensorProto::FLOAT);
      for (int64_t d : t.shape())
        proto->add_dims(d);
      proto->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()),
                                      values.size() * sizeof(float)));
      continue;
    }
    auto *proto = graph->add_sparse_initializer();
    for (int64_t d : t.shape())
      proto->add_dims(d);
    std::vector<float> nz;
    std::vector<int64_t> at;
    for (size_t i = 0; i < values.size(); ++i)
      if (values[i] != 0.0f) {
        nz.push_back(values[i]);
        at.push_back(static_cast<int64_t>(i));
      }
    auto *v = proto->mutable_values();
    v->set_name(name);
    v->set_data_type(::onnx::TensorProto::FLOAT);
    v->add_dims(static_cast<int64_t>(nz.size()));
    v->set_raw_data(std::string(reinterpret_cast<const char *>(nz.data()),
                                nz.size() * sizeof(float)));
    auto *ix = proto->mutable_indices();
    ix->set_data_type(::onnx::TensorProto::INT64);
    ix->add_dims(static_cast<int64_t>(at.size()));
    ix->set_raw_data(std::string(reinterpret_cast<const char *>(at.data()),
                                 at.size() * sizeof(int64_t)));
  }
  if (sparse && out.ir_version() < 6)
    out.set_ir_version(6); // sparse initializers need IR version 6
  try {
    ::onnx::checker::check_model(out);
  } catch (const std::exception &e) {
    throw Error(fmt::format("{}: the exported model fails the ONNX checker: {}",
                            path, e.what()));
  }
  std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file || !out.SerializeToOstream(&file))
      throw Error(fmt::format("{}: cannot write the model", path));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error(fmt::format("{}: cannot write the model", path));
  }
  return static_cast<int64_t>(fs::file_size(path));
}

Tensor readTensorProto(const std::string &path) {
  ::onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  if (!in || !t.ParseFromIstream(&in))
    throw Error(fmt::format("{}: not a readable TensorProto", path));
  Value v = toValue(t, fs::path(path).parent_path());
  if (v.isStatic) {
    std::vector<int32_t> ints(v.ints.begin(), v.ints.end());
    return Tensor::fromVector(ints, v.shape);
  }
  return v.tensor;
}

void writeTensorProto(const std::string &path, const Tensor &t,
                      const std::string &name) {
  ::onnx::TensorProto proto;
  proto.set_name(name);
  for (int64_t d : t.shape())
    proto.add_dims(d);
  if (t.dtype() == DType::F32) {
    proto.set_data_type(::onnx::TensorProto::FLOAT);
    std::vector<float> v = t.toVector<float>();
    proto.set_raw_data(std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4));
  } else if (t.dtype() == DType::F64) {
    proto.set_data_type(::onnx::TensorProto::DOUBLE);
    std::vector<double> v = t.toVector<double>();
    proto.set_raw_data(std::string(reinterpret_cast<const char *>(v.data()), v.size() * 8));
  } else {
    throw Error(fmt::format("{}: only float tensors are written", path));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !proto.SerializeToOstream(&out))
    throw Error(fmt::format("{}: cannot write the tensor", path));
}

} // namespace bregman::onnx
