//===- OnnxModel.cpp - ONNX graphs as DSL programs ------------------------===//
//
// Loading (tensors, external data, the checker), the replay of the graph
// through the table of operator handlers (OpHandlers.h), the load-time dry
// run that decides `unsupported()`, and export.
//
//===----------------------------------------------------------------------===//

#include "bregman/onnx/OnnxModel.h"

#include "GraphEdits.h"
#include "OpHandlers.h"

#include "bregman/bregman.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/SafeWrite.h"
#include "bregman/runtime/TensorProto.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace fs = std::filesystem;

namespace bregman::onnx {

using detail::checkedCount;
using detail::typeName;
using detail::Value;

namespace {


/// An external-data offset or length: decimal digits only, below 2^63.
int64_t externalNumber(const ::onnx::TensorProto &t, const std::string &key,
                       const std::string &text) {
  bool digits = !text.empty() && text.size() <= 18 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    throw Error(fmt::format("tensor '{}': external data {} '{}' is not a number of "
                            "bytes below 10^18",
                            t.name(), key, text));
  return std::stoll(text);
}

/// The `bytes` bytes of `t`'s external data, read only from inside `dir`
/// (absolute paths, `..` and links out are refused).
std::string externalBytes(const ::onnx::TensorProto &t, const fs::path &dir,
                          size_t bytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = externalNumber(t, "offset", kv.value());
    else if (kv.key() == "length")
      length = externalNumber(t, "length", kv.value());
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
  runtime::requireRegularFile<Error>(file.string(),
                                    fmt::format("external data of tensor '{}'", t.name()));
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(fmt::format("tensor '{}': cannot read external data {}",
                            t.name(), file.string()));
  std::error_code ec;
  uint64_t fileSize = fs::file_size(file, ec);
  bool fits = !ec && uint64_t(offset) <= fileSize && bytes <= fileSize - uint64_t(offset);
  std::string data;
  if (fits) {
    data.assign(bytes, '\0');
    in.seekg(offset);
  }
  if (length >= 0 && static_cast<uint64_t>(length) != bytes)
    throw Error(fmt::format("tensor '{}': its external data's length is {} "
                            "bytes, but its type and shape take {}",
                            t.name(), length, bytes));
  if (!fits || !in.read(data.data(), static_cast<std::streamsize>(bytes)))
    throw Error(fmt::format("tensor '{}': external data {} holds fewer than "
                            "{} bytes at offset {}",
                            t.name(), file.string(), bytes, offset));
  return data;
}

/// The element bytes of `t` (raw_data or the typed fields, or external
/// data read from inside `dir`).
std::string tensorBytes(const ::onnx::TensorProto &t, const fs::path &dir,
                        size_t elementSize, int64_t count) {
  size_t bytes = elementSize * static_cast<size_t>(count);
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    return externalBytes(t, dir, bytes);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes)
      throw Error(fmt::format("tensor '{}': raw data of {} bytes for {} "
                              "elements",
                              t.name(), t.raw_data().size(), count));
    return t.raw_data();
  }
  std::string data;
  auto copy = [&](const auto &field) {
    if (static_cast<int64_t>(field.size()) != count)
      throw Error(fmt::format("tensor '{}': {} values for {} elements", t.name(),
                              field.size(), count));
    data.assign(bytes, '\0');
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

/// A TensorProto as a Value: float/double become tensors, int32/int64 and
/// bool (0/1) static integers. Other types: an Error naming the tensor and
/// type.
Value toValue(const ::onnx::TensorProto &t, const fs::path &dir) {
  Shape shape(t.dims().begin(), t.dims().end());
  int64_t count = checkedCount(shape, fmt::format("tensor '{}'", t.name()));
  runtime::requireAllocation<Error>(count, 8, fmt::format("tensor '{}'", t.name()));
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
  case ::onnx::TensorProto::BOOL: {
    // One byte each in raw_data; the typed form keeps them in int32_data.
    v.isStatic = true;
    v.shape = shape;
    v.ints.resize(count);
    if (t.data_location() != ::onnx::TensorProto::EXTERNAL && !t.has_raw_data()) {
      if (t.int32_data_size() != count)
        throw Error(fmt::format("tensor '{}': {} values for {} elements", t.name(),
                                t.int32_data_size(), count));
      for (int64_t i = 0; i < count; ++i)
        v.ints[i] = t.int32_data(static_cast<int>(i)) != 0;
      return v;
    }
    std::string bytes = tensorBytes(t, dir, 1, count);
    for (int64_t i = 0; i < count; ++i)
      v.ints[i] = bytes[i] != 0;
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
                            "(float, double, int32, int64, bool are)",
                            t.name(), typeName(t.data_type())));
  }
}

/// The CSR of a [rows, cols] matrix from its stored (linear index, value)
/// entries in any order; a repeated index keeps its last value, as the
/// dense copy does.
CsrWeight csrOfEntries(std::vector<std::pair<int64_t, float>> entries, int64_t rows,
                       int64_t cols) {
  // By index, then by position in the file (the last of a repeat wins).
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(entries[a].first, a) < std::pair(entries[b].first, b);
  });
  std::vector<std::pair<int64_t, float>> sorted;
  sorted.reserve(entries.size());
  for (size_t k : order)
    sorted.push_back(entries[k]);
  entries = std::move(sorted);
  std::vector<int32_t> positions(rows + 1, 0), coordinates;
  std::vector<float> values;
  for (size_t k = 0; k < entries.size(); ++k) {
    if (k + 1 < entries.size() && entries[k + 1].first == entries[k].first)
      continue; // overwritten by a later entry
    positions[entries[k].first / cols + 1] += 1;
    coordinates.push_back(static_cast<int32_t>(entries[k].first % cols));
    values.push_back(entries[k].second);
  }
  std::partial_sum(positions.begin(), positions.end(), positions.begin());
  int64_t stored = values.size();
  CsrWeight csr;
  csr.rows = rows;
  csr.cols = cols;
  csr.positions = Tensor::fromVector(positions, {rows + 1});
  csr.coordinates = Tensor::fromVector(coordinates, {stored});
  csr.values = Tensor::fromVector(values, {stored});
  return csr;
}

} // namespace

struct OnnxModel::Impl {
  ::onnx::ModelProto model;
  std::string path; // for messages
  fs::path dir;
  Params weights, constants;
  /// The CSR of each 2-D sparse_initializer and each 3-D or 4-D one (a
  /// filter, as the matrix [O, C·K] or [O, C·KH·KW]), from its own indices.
  std::map<std::string, CsrWeight> sparseInitializers;
  std::map<std::string, Value> staticValues; // integer initializers/constants
  std::vector<ValueSpec> inputs, outputs;
  std::vector<std::string> unsupported;
  std::string refusal; // what apply throws: the first problem's own message
  std::map<std::string, Shape> shapes; // every value's shape, from the dry run
  int64_t opset = 0;
  /// The inputs' common static batch (dimension 0), or 0: none (dynamic,
  /// differing, or no batch dimension).
  int64_t exportedBatch = 0;
  std::string batchRestriction; // why the graph does not replay at batch + 1
  /// Reshape nodes whose leading exported batch is taken as the batch at
  /// another batch, though their target fits with it as a plain number.
  std::vector<std::string> batchGuesses;

  void parse(const std::string &path);
  /// Everything after parsing: initializers, constants, the graph's inputs
  /// and outputs, the dry run.
  void build();
  void checkOpset(const std::string &path) const;
  /// Outputs' symbolic dimensions (-1 in their specs) from the dry run.
  void resolveOutputShapes();
  std::set<std::string> readInitializers(const std::string &path);
  void readSparseInitializer(const std::string &path,
                             const ::onnx::SparseTensorProto &sparse);
  std::map<int, std::string> readConstants();
  /// Fills `unsupported`: replays the graph on traced inputs of the declared
  /// shapes through the same handlers `apply` runs (only the table look-up
  /// where `replay` is false: the graph's inputs are unusable).
  void analyze(const std::map<int, std::string> &constantErrors, bool replay);
  /// Runs one node of the dry run; false (and reported) when it fails.
  bool dryRun(const ::onnx::NodeProto &n, std::map<std::string, Value> &env);
  /// The inputs' static batch, when they agree on one.
  int64_t commonBatch() const;
  /// Fills `batchRestriction`: the graph replayed at the declared batch + 1.
  void replayAtAnotherBatch();
  std::map<std::string, Value> tracedEnv(Trace &trace, int64_t batch) const;
  /// The rewriting of exported-batch shapes for inputs `in` (null at the
  /// exported batch).
  std::optional<detail::Rebatch> rebatchFor(const Params &in) const;
  void replay(std::map<std::string, Value> &env, Params *trainingStatistics,
              const detail::Rebatch *rebatch) const;
  void refuse(const std::string &reason, const std::string &message);

  /// The environment the graph starts from: constants, weights, inputs.
  std::map<std::string, Value> bind(const Params &w, const Params &c,
                                    const Params &in) const;
  Params collectOutputs(const std::map<std::string, Value> &env) const;
  Params run(const Params &w, const Params &c, const Params &in,
             Params *trainingStatistics = nullptr) const;
};

OnnxModel::OnnxModel(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
OnnxModel::OnnxModel(OnnxModel &&) noexcept = default;
OnnxModel &OnnxModel::operator=(OnnxModel &&) noexcept = default;
OnnxModel::~OnnxModel() = default;
const Params &OnnxModel::weights() const { return impl->weights; }
const std::map<std::string, CsrWeight> &OnnxModel::sparseInitializers() const {
  return impl->sparseInitializers;
}
const Params &OnnxModel::constants() const { return impl->constants; }
const std::vector<ValueSpec> &OnnxModel::inputs() const { return impl->inputs; }
const std::vector<ValueSpec> &OnnxModel::outputs() const { return impl->outputs; }
int64_t OnnxModel::opsetVersion() const { return impl->opset; }
const std::vector<std::string> &OnnxModel::unsupported() const {
  return impl->unsupported;
}
const std::string &OnnxModel::batchRestriction() const {
  return impl->batchRestriction;
}
std::string OnnxModel::batchGuessNote(int64_t batch) const {
  if (impl->batchGuesses.empty() || batch == impl->exportedBatch ||
      impl->exportedBatch == 0)
    return "";
  return fmt::format(
      "the model was exported at a static batch {}; at {}, {} take{} "
      "the leading {} of {} target as the batch (PyTorch's exporter folds "
      "x.size(0) into such constants); if one means a plain {} "
      "(x.view({}, -1, ...)), re-export with a dynamic batch "
      "(dynamic_axes={{'{}': {{0: 'batch'}}}})",
      impl->exportedBatch,
      batch > 0 ? fmt::format("batch {}", batch) : std::string("another batch"),
      fmt::join(impl->batchGuesses, ", "),
      impl->batchGuesses.size() == 1 ? "s" : "", impl->exportedBatch,
      impl->batchGuesses.size() == 1 ? "its Reshape" : "their Reshape",
      impl->exportedBatch, impl->exportedBatch, impl->inputs.front().name);
}

/// The shape of a graph input/output from its type; dynamic dimensions and
/// non-tensor types are refused. An output's symbolic dimension is kept
/// as -1, to be read off the dry run (resolveOutputShapes): PyTorch's
/// exporter names sizes it did not infer ('Add13_dim_2') on outputs whose
/// sizes are all fixed but the batch.
static ValueSpec specOf(const ::onnx::ValueInfoProto &info,
                        const std::string &path, bool output = false) {
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
  else if (elem == ::onnx::TensorProto::INT64 || elem == ::onnx::TensorProto::INT32)
    spec.dtype = DType::I32; // token ids and other indices, fed as i32
  else
    throw Error(fmt::format("{}: unsupported: graph value '{}' has data type "
                            "{} (float, double, int32 and int64 are supported)",
                            path, info.name(), typeName(elem)));
  const auto &dims = type.tensor_type().shape().dim();
  for (int i = 0; i < dims.size(); ++i) {
    const auto &d = dims[i];
    if (i == 0 && dims.size() > 1 && !d.has_dim_value()) {
      // The batch, exported with dynamic axes: free like a static one.
      spec.dynamicBatch = true;
      spec.shape.push_back(1);
      continue;
    }
    if (output && !d.has_dim_value()) {
      spec.shape.push_back(-1);
      continue;
    }
    if (!d.has_dim_value() || d.dim_value() < 0)
      throw Error(fmt::format(
          "{}: unsupported: graph value '{}' has a dynamic dimension {} ({}); "
          "export with static shapes",
          path, info.name(), i,
          d.has_dim_param() ? fmt::format("'{}'", d.dim_param())
          : d.has_dim_value() ? fmt::format("{}", d.dim_value())
                              : std::string("no size given")));
    spec.shape.push_back(d.dim_value());
  }
  if (std::find(spec.shape.begin(), spec.shape.end(), -1) == spec.shape.end())
    checkedCount(spec.shape,
                 fmt::format("{}: graph value '{}'", path, info.name()));
  return spec;
}
void OnnxModel::Impl::parse(const std::string &path) {
  runtime::requireRegularFile<Error>(path, "ONNX model");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot open the ONNX model", path));
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 && !ec)
    throw Error(fmt::format("{}: an empty file, not an ONNX model", path));
  if (!model.ParseFromIstream(&in))
    throw Error(fmt::format("{}: not an ONNX model (the protobuf does not "
                            "parse: malformed or truncated)",
                            path));
  this->path = path;
  dir = fs::path(path).parent_path();
  if (dir.empty())
    dir = ".";
  // External data first: our confinement to the model's folder, before the
  // checker (given the path, it resolves locations relative to the model).
  for (const auto &t : model.graph().initializer())
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
      (void)toValue(t, dir);
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  checkOpset(path);
  for (const auto &n : model.graph().node()) {
    try {
      detail::checkNodeVersion(n, opset);
    } catch (const Error &e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
  }
  try {
    detail::checkWholeModel(model, opset, path);
  } catch (const std::exception &e) {
    throw Error(fmt::format("{}: the ONNX checker rejects the model: {}", path,
                            e.what()));
  }
}

// Operators' semantics change between opsets: a model of an opset the
// table was not written for would be run with another opset's meaning.
void OnnxModel::Impl::checkOpset(const std::string &path) const {
  int64_t oldest = detail::kNewestOpset;
  for (const detail::OpHandler &h : detail::opTable())
    oldest = std::min(oldest, h.sinceVersion);
  if (opset < oldest || opset > detail::kNewestOpset)
    throw Error(fmt::format("{}: unsupported: the model's default-domain "
                            "(ai.onnx) opset is {}; this importer supports "
                            "opsets {} to {}",
                            path, opset, oldest, detail::kNewestOpset));
}

std::set<std::string> OnnxModel::Impl::readInitializers(const std::string &path) {
  std::set<std::string> names;
  for (const auto &t : model.graph().initializer()) {
    names.insert(t.name());
    Value v = toValue(t, dir);
    if (v.isStatic)
      staticValues[t.name()] = v;
    else
      weights.add(t.name(), v.tensor);
  }
  for (const auto &sparse : model.graph().sparse_initializer()) {
    names.insert(sparse.values().name());
    readSparseInitializer(path, sparse);
  }
  return names;
}

// Stored as non-zero values at linear (or N-D) indices: made dense.
void OnnxModel::Impl::readSparseInitializer(const std::string &path,
                                            const ::onnx::SparseTensorProto &sparse) {
  const auto &values = sparse.values();
  Shape shape(sparse.dims().begin(), sparse.dims().end());
  Value v = toValue(values, dir), at = toValue(sparse.indices(), dir);
  if (v.isStatic || !at.isStatic || v.tensor.dtype() != DType::F32)
    throw Error(fmt::format("{}: sparse initializer '{}': only float values "
                            "with integer indices are supported",
                            path, values.name()));
  std::string what = fmt::format("{}: sparse initializer '{}'", path, values.name());
  runtime::requireAllocation<Error>(checkedCount(shape, what), 4, what + " made dense");
  Tensor dense = Tensor::zeros(shape);
  std::vector<float> nz = v.tensor.toVector<float>();
  int64_t rank = shape.size(), count = nz.size();
  bool linear = at.shape.size() == 1;
  // A matrix, or a filter [O, C, K] or [O, C, KH, KW] as the matrix
  // [O, C·K…], also keeps its entries for its CSR (int32 positions and
  // coordinates, as compressRows: larger ones stay dense only).
  int64_t rowLength = rank >= 2 && rank <= 4
                          ? dense.numel() / std::max<int64_t>(1, shape[0])
                          : 0;
  bool keepsCsr =
      rowLength > 0 && count > 0 && count <= INT32_MAX && rowLength <= INT32_MAX;
  std::vector<std::pair<int64_t, float>> entries; // (linear index, value)
  if (keepsCsr)
    entries.reserve(count);
  for (int64_t k = 0; k < count; ++k) {
    int64_t index = 0;
    if (linear) {
      index = at.ints.at(k);
    } else {
      for (int64_t d = 0; d < rank; ++d)
        index = index * shape[d] + at.ints.at(k * rank + d);
    }
    if (index < 0 || index >= dense.numel())
      throw Error(fmt::format("{}: sparse initializer '{}': index {} outside {}",
                              path, values.name(), index, shapeString(shape)));
    dense.data<float>()[index] = nz[k];
    if (keepsCsr)
      entries.emplace_back(index, nz[k]);
  }
  weights.add(values.name(), dense);
  if (keepsCsr)
    sparseInitializers[values.name()] = csrOfEntries(std::move(entries), shape[0], rowLength);
}

/// Folds the `value` tensors of Constant nodes; returns the nodes (by
/// index) whose value cannot be read, with the reason.
std::map<int, std::string> OnnxModel::Impl::readConstants() {
  std::map<int, std::string> errors;
  const auto &nodes = model.graph().node();
  for (int i = 0; i < nodes.size(); ++i) {
    const auto &n = nodes[i];
    if (n.op_type() != "Constant" || (!n.domain().empty() && n.domain() != "ai.onnx"))
      continue;
    const auto *value = detail::findAttr(n, "value");
    try {
      if (value && value->has_t()) {
        Value v = toValue(value->t(), dir);
        if (v.isStatic)
          staticValues[n.output(0)] = v;
        else
          constants.add(n.output(0), v.tensor);
      }
    } catch (const Error &e) {
      errors[i] = fmt::format("node '{}' (Constant): {}", n.name(), e.what());
    }
  }
  return errors;
}

OnnxModel OnnxModel::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->parse(path);
  impl->build();
  return OnnxModel(std::move(impl));
}

void OnnxModel::Impl::build() {
  std::set<std::string> initializerNames = readInitializers(path);
  std::map<int, std::string> constantErrors = readConstants();
  std::string specError;
  try {
    for (const auto &i : model.graph().input())
      if (!initializerNames.count(i.name()))
        inputs.push_back(specOf(i, path));
    std::set<std::string> listed;
    for (const auto &o : model.graph().output()) {
      // (It failed later as "params: 'y' is already present".)
      if (!listed.insert(o.name()).second)
        throw Error(fmt::format("{}: graph output '{}' is listed twice", path,
                                o.name()));
      outputs.push_back(specOf(o, path, /*output=*/true));
    }
  } catch (const Error &e) {
    specError = e.what();
  }
  // No onnx::shape_inference: libonnx 1.12's crashes on malformed models
  // (our fuzzer found two SEGVs in it within seconds). Shapes come from the
  // dry run instead.
  exportedBatch = commonBatch();
  analyze(constantErrors, specError.empty());
  if (specError.empty())
    resolveOutputShapes();
  if (!specError.empty())
    refuse(specError, "unsupported: " + specError);
  else if (unsupported.empty())
    replayAtAnotherBatch();
}

void OnnxModel::Impl::resolveOutputShapes() {
  for (ValueSpec &spec : outputs) {
    if (std::find(spec.shape.begin(), spec.shape.end(), -1) == spec.shape.end())
      continue;
    auto computed = shapes.find(spec.name);
    if (computed == shapes.end())
      continue; // not computed: analyze() refused the model
    if (computed->second.size() != spec.shape.size()) {
      std::string why = fmt::format(
          "graph output '{}' is declared with {} dimensions but has {}",
          spec.name, spec.shape.size(), computed->second.size());
      refuse(why, "unsupported: " + why);
      continue;
    }
    for (size_t d = 0; d < spec.shape.size(); ++d)
      if (spec.shape[d] == -1)
        spec.shape[d] = computed->second[d];
  }
}

std::vector<InitializerSplit> OnnxModel::tiedInitializers() const {
  return detail::planSplits(impl->model.graph(), impl->weights, impl->opset);
}

std::vector<std::string> OnnxModel::identityCopies() const {
  return detail::identityCopies(impl->model.graph(), impl->weights);
}

OnnxModel OnnxModel::untied() const {
  auto copy = std::make_unique<Impl>();
  copy->model = impl->model;
  copy->path = impl->path;
  copy->dir = impl->dir;
  copy->opset = impl->opset;
  detail::applySplits(copy->model, tiedInitializers(), impl->weights);
  // After the splits: they name nodes by index, and no split is an
  // Identity's (Identity has no parameter roles).
  detail::materializeIdentityCopies(copy->model, impl->weights);
  copy->build();
  return OnnxModel(std::move(copy));
}

void OnnxModel::Impl::refuse(const std::string &reason, const std::string &message) {
  unsupported.push_back(reason);
  if (refusal.empty())
    refusal = message;
}

namespace {

/// An error other than bregman::Error from a node (out-of-range indices and
/// the like in hostile files): an Error naming the node, never a crash.
Error invalidModel(const ::onnx::NodeProto &n, const std::exception &e) {
  return Error(
      fmt::format("{}: invalid model: {}", detail::nodeLabel(n), e.what()));
}

/// "node 'n' (Op): why" for unsupported() from a node's error message.
std::string reasonOf(const ::onnx::NodeProto &n, const std::string &message) {
  const std::string prefix = "unsupported: ";
  if (message.rfind(prefix, 0) == 0)
    return message.substr(prefix.size());
  if (message.rfind("node '", 0) == 0)
    return message;
  return fmt::format("{}: {}", detail::nodeLabel(n), message);
}

/// `e` naming node `n` when it does not yet (a DSL operation's error, such
/// as "add: element types differ", said no node), its "unsupported: "
/// prefix kept.
Error namingTheNode(const ::onnx::NodeProto &n, const Error &e) {
  std::string message = e.what(), prefix = "unsupported: ";
  size_t start = message.rfind(prefix, 0) == 0 ? prefix.size() : 0;
  if (message.compare(start, 6, "node '") == 0)
    return e;
  return Error(fmt::format("{}{}: {}", message.substr(0, start),
                           detail::nodeLabel(n), message.substr(start)));
}

} // namespace

void OnnxModel::Impl::analyze(const std::map<int, std::string> &constantErrors,
                              bool replay) {
  Trace trace;
  TraceScope scope(trace);
  std::map<std::string, Value> env;
  if (replay) {
    env = tracedEnv(trace, 0);
    for (const ValueSpec &v : inputs)
      shapes[v.name] = v.shape;
  }
  // Outputs of refused nodes: their consumers cannot be replayed, only
  // looked up in the table.
  std::set<std::string> poisoned;
  const auto &nodes = model.graph().node();
  for (int i = 0; i < nodes.size(); ++i) {
    const auto &n = nodes[i];
    bool blocked = !replay;
    for (const std::string &input : n.input())
      blocked = blocked || poisoned.count(input);
    bool ok = false;
    if (constantErrors.count(i)) {
      refuse(constantErrors.at(i), "unsupported: " + constantErrors.at(i));
    } else if (blocked) {
      try {
        (void)detail::handlerFor(n, opset);
      } catch (const Error &e) {
        refuse(reasonOf(n, e.what()), e.what());
      }
    } else {
      ok = dryRun(n, env);
    }
    if (!ok)
      poisoned.insert(n.output().begin(), n.output().end());
  }
  if (replay && unsupported.empty()) {
    try {
      (void)collectOutputs(env);
    } catch (const Error &e) {
      std::string message = e.what(), prefix = "unsupported: ";
      refuse(message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message,
             message);
    }
  }
}

/// Weights, constants and the declared inputs as traced values; `batch`
/// > 0 replaces the inputs' declared batch.
std::map<std::string, Value> OnnxModel::Impl::tracedEnv(Trace &trace,
                                                        int64_t batch) const {
  auto traced = [&](const Params &concrete) {
    Params p;
    for (const auto &[name, t] : concrete)
      p.add(name, trace.addInput(t.shape(), t.dtype(), name));
    return p;
  };
  Params in;
  for (const ValueSpec &v : inputs) {
    Shape shape = v.shape;
    if (batch > 0 && !shape.empty())
      shape[0] = batch;
    in.add(v.name, trace.addInput(shape, v.dtype, v.name));
  }
  return bind(traced(weights), traced(constants), in);
}

int64_t OnnxModel::Impl::commonBatch() const {
  int64_t batch = 0;
  for (const ValueSpec &v : inputs) {
    if (v.shape.empty() || v.dynamicBatch || (batch && v.shape[0] != batch))
      return 0;
    batch = v.shape[0];
  }
  return batch;
}

std::optional<detail::Rebatch> OnnxModel::Impl::rebatchFor(const Params &in) const {
  if (exportedBatch == 0)
    return std::nullopt;
  int64_t actual = 0;
  for (const ValueSpec &spec : inputs) {
    if (!in.contains(spec.name) || in.at(spec.name).rank() == 0)
      return std::nullopt; // bind() says what is wrong
    int64_t n = in.at(spec.name).dim(0);
    if (actual && n != actual)
      return std::nullopt; // inputs of different batches: nothing to rewrite
    actual = n;
  }
  if (actual == exportedBatch)
    return std::nullopt;
  return detail::Rebatch{exportedBatch, actual, inputs.front().name, &shapes};
}

// What `retrain` meets at its own batch, found at load: a graph that only
// replays at its exported batch says so (inspect prints it).
void OnnxModel::Impl::replayAtAnotherBatch() {
  // Only where dimension 0 is one batch: every input static at the same
  // size (exportedBatch) or every input dynamic.
  bool allDynamic = !inputs.empty();
  for (const ValueSpec &v : inputs)
    allDynamic = allDynamic && v.dynamicBatch;
  if (exportedBatch == 0 && !allDynamic)
    return;
  int64_t batch = (exportedBatch ? exportedBatch : 1) + 1;
  Trace trace;
  TraceScope scope(trace);
  try {
    std::map<std::string, Value> env = tracedEnv(trace, batch);
    Params in;
    for (const ValueSpec &v : inputs)
      in.add(v.name, env.at(v.name).tensor);
    std::optional<detail::Rebatch> rebatch = rebatchFor(in);
    if (rebatch)
      rebatch->guesses = &batchGuesses;
    replay(env, nullptr, rebatch ? &*rebatch : nullptr);
    (void)collectOutputs(env);
  } catch (const Error &e) {
    batchGuesses.clear();
    std::string message = e.what(), prefix = "unsupported: ";
    batchRestriction = fmt::format(
        "at batch {}: {}", batch,
        message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message);
  }
}

bool OnnxModel::Impl::dryRun(const ::onnx::NodeProto &n,
                             std::map<std::string, Value> &env) {
  try {
    try {
      detail::runNode(detail::NodeContext{n, opset, env, weights, constants, nullptr});
    } catch (const Error &) {
      throw;
    } catch (const std::exception &e) {
      throw invalidModel(n, e);
    }
  } catch (const Error &e) {
    refuse(reasonOf(n, e.what()), namingTheNode(n, e).what());
    return false;
  }
  for (const std::string &out : n.output())
    if (env.count(out)) {
      const Value &v = env.at(out);
      shapes[out] = v.isStatic ? v.shape : v.tensor.shape();
    }
  return true;
}

void OnnxModel::checkSupported() const {
  if (!impl->unsupported.empty())
    throw Error(impl->refusal);
}

Params OnnxModel::apply(const Params &weights, const Params &constants,
                        const Params &inputs, Params *trainingStatistics) const {
  checkSupported();
  return impl->run(weights, constants, inputs, trainingStatistics);
}

std::map<std::string, Value> OnnxModel::Impl::bind(const Params &w, const Params &c,
                                                   const Params &in) const {
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
  return env;
}

Params OnnxModel::Impl::collectOutputs(const std::map<std::string, Value> &env) const {
  Params out;
  for (const ValueSpec &spec : outputs) {
    auto it = env.find(spec.name);
    if (it == env.end())
      throw Error(fmt::format("onnx: graph output '{}' is not computed by any node",
                              spec.name));
    if (it->second.isStatic)
      throw Error(fmt::format("unsupported: graph output '{}' is an integer "
                              "tensor",
                              spec.name));
    out.add(spec.name, it->second.tensor);
  }
  return out;
}

/// A node that fails away from the exported batch: the batch folded into
/// one of its constant shapes where it cannot be recognised (a 1 among
/// other 1s: BERT's cls.expand(b, 1, d), a sequence-first reshape). Says
/// so, naming the node, with the re-export; a refusal that gives its own
/// advice stays as it is.
static Error batchFoldedIn(const ::onnx::NodeProto &n, const Error &e,
                           const detail::Rebatch &r) {
  std::string message = e.what(), prefix = "unsupported: ";
  if (message.find("re-export") != std::string::npos)
    return e;
  if (message.rfind(prefix, 0) == 0)
    message = message.substr(prefix.size());
  if (message.rfind("node '", 0) != 0)
    message = fmt::format("{}: {}", detail::nodeLabel(n), message);
  return Error(fmt::format(
      "unsupported: {} (at batch {}; the model's inputs declare a static batch {}, which "
      "its shapes may hold where it cannot be told from other dimensions); re-export with "
      "a dynamic batch, torch.onnx.export(..., input_names=['{}'], dynamic_axes={{'{}': "
      "{{0: 'batch'}}}})",
      message, r.actual, r.exported, r.inputName, r.inputName));
}

void OnnxModel::Impl::replay(std::map<std::string, Value> &env,
                             Params *trainingStatistics,
                             const detail::Rebatch *rebatch) const {
  for (const auto &n : model.graph().node()) {
    try {
      detail::runNode(detail::NodeContext{n, opset, env, weights, constants,
                                          trainingStatistics, rebatch});
    } catch (const Error &e) {
      if (rebatch)
        throw batchFoldedIn(n, e, *rebatch);
      throw namingTheNode(n, e);
    } catch (const std::exception &e) {
      throw invalidModel(n, e);
    }
  }
}

Params OnnxModel::Impl::run(const Params &w, const Params &c, const Params &in,
                            Params *trainingStatistics) const {
  std::map<std::string, Value> env = bind(w, c, in);
  std::optional<detail::Rebatch> rebatch = rebatchFor(in);
  replay(env, trainingStatistics, rebatch ? &*rebatch : nullptr);
  return collectOutputs(env);
}

std::vector<NodeSummary> OnnxModel::summary() const {
  // Output shapes: from the dry run, when the whole graph imports.
  std::map<std::string, Shape> shapes;
  if (impl->unsupported.empty())
    shapes = impl->shapes;
  std::vector<NodeSummary> out;
  for (const auto &n : impl->model.graph().node()) {
    NodeSummary s;
    s.name = n.name();
    s.opType = n.op_type();
    s.inputs.assign(n.input().begin(), n.input().end());
    s.outputs.assign(n.output().begin(), n.output().end());
    for (const auto &a : n.attribute())
      if (a.type() == ::onnx::AttributeProto::INT)
        s.intAttributes[a.name()] = a.i();
      else if (a.type() == ::onnx::AttributeProto::INTS)
        s.intListAttributes[a.name()].assign(a.ints().begin(), a.ints().end());
    if (n.output_size() > 0 && shapes.count(n.output(0)))
      s.outputShape = shapes[n.output(0)];
    try {
      s.parameterRoles = detail::handlerFor(n, impl->opset).roles;
    } catch (const Error &) {
      // not in the table: no roles (unsupported() says why)
    }
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

namespace {

/// Serializes `message` to a unique temporary beside `path`, renamed over it
/// once complete (SafeWrite.h); the target must be absent or a file `owned`
/// accepts.
void writeMessage(const ::google::protobuf::MessageLite &message,
                  const std::string &path, const std::string &what,
                  const runtime::FileOwnershipCheck &owned) {
  std::string bytes;
  if (!message.SerializeToString(&bytes))
    throw Error(fmt::format("{}: {}: cannot serialize it", what, path));
  try {
    runtime::writeFileAtomically(path, what, bytes, owned);
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

/// Every value name a node of `graph` (or of a subgraph) reads, and the
/// graph's outputs.
void collectReadNames(const ::onnx::GraphProto &graph,
                      std::set<std::string> &read) {
  for (const auto &node : graph.node()) {
    for (const std::string &in : node.input())
      read.insert(in);
    for (const auto &attribute : node.attribute()) {
      if (attribute.has_g())
        collectReadNames(attribute.g(), read);
      for (const auto &g : attribute.graphs())
        collectReadNames(g, read);
    }
  }
  for (const auto &out : graph.output())
    read.insert(out.name());
}

/// Drops the initializers no node reads: the originals of untied copies,
/// whose uses all read a trained copy now (left in, they kept the imported
/// values under the names a loader looks for), with their graph inputs.
void dropUnreadInitializers(::onnx::GraphProto *graph) {
  std::set<std::string> read, dropped;
  collectReadNames(*graph, read);
  auto drop = [&](const std::string &name) {
    if (read.count(name))
      return false;
    dropped.insert(name);
    return true;
  };
  auto *dense = graph->mutable_initializer();
  dense->erase(std::remove_if(dense->begin(), dense->end(),
                              [&](const auto &t) { return drop(t.name()); }),
               dense->end());
  auto *sparse = graph->mutable_sparse_initializer();
  sparse->erase(
      std::remove_if(sparse->begin(), sparse->end(),
                     [&](const auto &t) { return drop(t.values().name()); }),
      sparse->end());
  // A graph input that named a dropped initializer (older IR versions list
  // initializers as inputs) goes with it; the model's own inputs stay.
  auto *inputs = graph->mutable_input();
  inputs->erase(std::remove_if(
                    inputs->begin(), inputs->end(),
                    [&](const auto &v) { return dropped.count(v.name()) > 0; }),
                inputs->end());
}

/// The metadata entry that marks a model bregman exported.
constexpr const char *kExportKey = "bregman.export";

/// `model` marked as exported by bregman (the entry set once).
void markExported(::onnx::ModelProto &model) {
  for (auto &entry : *model.mutable_metadata_props())
    if (entry.key() == kExportKey) {
      entry.set_value("1");
      return;
    }
  auto *entry = model.add_metadata_props();
  entry->set_key(kExportKey);
  entry->set_value("1");
}

} // namespace

runtime::FileOwnershipCheck exportedModels() {
  return [](const std::string &path) -> std::string {
    // Any file may be named here: one beyond the memory limit is no export.
    std::error_code ec;
    if (!runtime::allocationProblem(
             static_cast<long double>(fs::file_size(path, ec)), 1, path)
             .empty())
      return "is not a model that bregman exported (too large to be read)";
    ::onnx::ModelProto model;
    std::ifstream in(path, std::ios::binary);
    if (in && model.ParseFromIstream(&in))
      for (const auto &entry : model.metadata_props())
        if (entry.key() == kExportKey)
          return "";
    return "is not a model that bregman exported (it would be the model "
           "you started from, or another)";
  };
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
  for (const auto &[name, t] : floats)
    (sparse ? detail::addSparseInitializer : detail::addDenseInitializer)(graph, name, t);
  if (sparse && out.ir_version() < 6)
    out.set_ir_version(6); // sparse initializers need IR version 6
  dropUnreadInitializers(graph);
  try {
    for (const auto &n : graph->node())
      detail::checkNodeVersion(n, impl->opset);
    detail::checkWholeModel(out, impl->opset);
  } catch (const std::exception &e) {
    throw Error(fmt::format("{}: the exported model fails the ONNX checker: {}",
                            path, e.what()));
  }
  markExported(out);
  writeMessage(out, path, "writing the model", exportedModels());
  return static_cast<int64_t>(fs::file_size(path));
}

Tensor readTensorProto(const std::string &path, std::string *name) {
  runtime::requireRegularFile<Error>(path, "TensorProto");
  ::onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  if (!in || !t.ParseFromIstream(&in))
    throw Error(fmt::format("{}: not a readable TensorProto", path));
  if (t.data_type() == ::onnx::TensorProto::UNDEFINED)
    throw Error(fmt::format("{}: not a TensorProto (no data type{})", path,
                            fs::file_size(path) == 0 ? ": an empty file" : ""));
  if (name)
    *name = t.name();
  Value v;
  try {
    v = toValue(t, fs::path(path).parent_path());
  } catch (const Error &e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  if (v.isStatic) {
    // Integer inputs (token ids) run as int32: a wider id read the row of
    // its low 32 bits (2^32 + 3 read row 3).
    for (size_t i = 0; i < v.ints.size(); ++i)
      if (v.ints[i] < std::numeric_limits<int32_t>::min() ||
          v.ints[i] > std::numeric_limits<int32_t>::max())
        throw Error(fmt::format("{}: value {} at element {} does not fit the "
                                "int32 that integer inputs run as",
                                path, v.ints[i], i));
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
  proto.set_doc_string(runtime::kWrittenByBregman);
  writeMessage(proto, path, "writing the tensor",
               runtime::tensorFilesWrittenByBregman());
}

} // namespace bregman::onnx