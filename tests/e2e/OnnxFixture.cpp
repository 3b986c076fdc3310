//===- OnnxFixture.cpp - Small ONNX files for the command-line tests
//-------===//
//
// bregman_onnx_fixture mlp OUT.onnx IN,H1,...,OUT DENSITY SEED
// [--sparse-initializers]
//   a ReLU MLP of Gemm nodes (PyTorch's nn.Linear export: transB = 1)
//   "fc<k>" reading "fc<k>.weight" [out, in] and "fc<k>.bias"; each weight
//   keeps a DENSITY fraction of its entries (the rest exactly zero), as a
//   Bregman-trained model does; --sparse-initializers stores the weights as
//   ONNX sparse_initializers (COO), as `bregman retrain --export
//   --sparse-initializers` does. Input "x" [batch from the input file], output
//   "y".
// bregman_onnx_fixture signal-cnn OUT.onnx SEED
//   a 1-D CNN of a Fashion-MNIST image read as a signal [batch, 1, 784], as
//   PyTorch exports Conv1d, MaxPool1d and AdaptiveAvgPool1d(1): Conv "conv1"
//   (8 filters [8, 1, 9], stride 4, pads [4, 4]), Relu, MaxPool (2), Conv
//   "conv2" (16 filters [16, 4, 5] in 2 groups, stride 2, pads [2, 2]),
//   Relu, GlobalAveragePool, Flatten, Gemm "fc" [10, 16]: output "y".
// bregman_onnx_fixture input OUT.pb ROWS,COLS SEED
//   a float TensorProto "x" of standard normal values.
// bregman_onnx_fixture compare A.pb B.pb RTOL
//   exit 0 when both are float tensors of one shape and every element
//   satisfies |a − b| <= RTOL·(|b| + 1); prints the largest difference.
// bregman_onnx_fixture summary MODEL.onnx
//   JSON lines: a digest of the model without its float values, then each
//   float initializer's (dense or sparse) dims, non-zero count, l1 and
//   squared l2 norm: what the behaviour tests compare an export with.
//
// Written with ONNX's own protobuf classes, so the runtime's TensorProto
// reader is checked against the library's serializer, not against itself.
//
//===----------------------------------------------------------------------===//

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<int64_t> parseList(const std::string &text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(std::stoll(item));
  return out;
}

void writeMessage(const google::protobuf::MessageLite &m,
                  const std::string &path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!m.SerializeToOstream(&out))
    throw std::runtime_error(path + ": cannot write");
}

void addDims(onnx::TensorProto *t, const std::vector<int64_t> &dims) {
  for (int64_t d : dims)
    t->add_dims(d);
}

/// A [rows, cols] weight with about `density` of its entries non-zero,
/// uniform in ±1/sqrt(cols) scaled up by 1/sqrt(density) (the activations
/// keep their size at any density).
std::vector<float> sparseWeight(int64_t rows, int64_t cols, double density,
                                std::mt19937 &rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::bernoulli_distribution keep(density);
  float scale =
      1.0f / std::sqrt(static_cast<float>(cols) * static_cast<float>(density));
  std::vector<float> w(static_cast<size_t>(rows * cols), 0.0f);
  for (float &x : w)
    if (keep(rng))
      x = value(rng) * scale;
  return w;
}

void addInitializer(onnx::GraphProto *g, const std::string &name,
                    const std::vector<int64_t> &dims,
                    const std::vector<float> &v, bool sparse) {
  if (!sparse) {
    auto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    addDims(t, dims);
    t->set_raw_data(
        std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4));
    return;
  }
  auto *s = g->add_sparse_initializer();
  for (int64_t d : dims)
    s->add_dims(d);
  auto *values = s->mutable_values();
  auto *indices = s->mutable_indices();
  values->set_name(name);
  values->set_data_type(onnx::TensorProto::FLOAT);
  indices->set_data_type(onnx::TensorProto::INT64);
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != 0.0f) {
      values->add_float_data(v[i]);
      indices->add_int64_data(static_cast<int64_t>(i)); // linearized
    }
  values->add_dims(values->float_data_size());
  indices->add_dims(indices->int64_data_size());
}

int makeMlp(const std::string &path, const std::vector<int64_t> &sizes,
            double density, unsigned seed, bool sparse) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto *g = model.mutable_graph();
  g->set_name("sparse_mlp");
  std::mt19937 rng(seed);
  auto valueInfo = [](onnx::ValueInfoProto *v, const std::string &name,
                      int64_t features) {
    v->set_name(name);
    auto *shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
    v->mutable_type()->mutable_tensor_type()->set_elem_type(
        onnx::TensorProto::FLOAT);
    shape->add_dim()->set_dim_param("batch");
    shape->add_dim()->set_dim_value(features);
  };
  valueInfo(g->add_input(), "x", sizes.front());
  valueInfo(g->add_output(), "y", sizes.back());
  std::string x = "x";
  for (size_t k = 1; k < sizes.size(); ++k) {
    std::string layer = "fc" + std::to_string(k);
    addInitializer(g, layer + ".weight", {sizes[k], sizes[k - 1]},
                   sparseWeight(sizes[k], sizes[k - 1], density, rng), sparse);
    std::vector<float> bias(static_cast<size_t>(sizes[k]));
    for (float &b : bias)
      b = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
    addInitializer(g, layer + ".bias", {sizes[k]}, bias, false);
    bool last = k + 1 == sizes.size();
    std::string y = last ? "y" : "h" + std::to_string(k);
    auto *n = g->add_node();
    n->set_op_type("Gemm");
    n->set_name(layer);
    for (const std::string &in : {x, layer + ".weight", layer + ".bias"})
      n->add_input(in);
    n->add_output(last ? y : y + ".pre");
    auto *a = n->add_attribute();
    a->set_name("transB");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
    if (!last) {
      auto *relu = g->add_node();
      relu->set_op_type("Relu");
      relu->set_name("relu" + std::to_string(k));
      relu->add_input(y + ".pre");
      relu->add_output(y);
    }
    x = y;
  }
  writeMessage(model, path);
  return 0;
}

onnx::NodeProto *addNode(onnx::GraphProto *g, const std::string &op,
                         const std::string &name,
                         const std::vector<std::string> &inputs,
                         const std::string &output) {
  auto *n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string &in : inputs)
    n->add_input(in);
  n->add_output(output);
  return n;
}

void addInts(onnx::NodeProto *n, const std::string &name,
             const std::vector<int64_t> &values) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(values.size() == 1 && name == "group"
                  ? onnx::AttributeProto::INT
                  : onnx::AttributeProto::INTS);
  if (a->type() == onnx::AttributeProto::INT)
    a->set_i(values[0]);
  else
    for (int64_t v : values)
      a->add_ints(v);
}

/// A dense layer's initializers: weight [out, in] (fan-in in·kernel) and a
/// small bias.
void addLayer(onnx::GraphProto *g, const std::string &layer,
              const std::vector<int64_t> &dims, std::mt19937 &rng) {
  int64_t count = 1;
  for (int64_t d : dims)
    count *= d;
  addInitializer(g, layer + ".weight", dims,
                 sparseWeight(dims[0], count / dims[0], 1.0, rng), false);
  std::vector<float> bias(static_cast<size_t>(dims[0]));
  for (float &b : bias)
    b = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
  addInitializer(g, layer + ".bias", {dims[0]}, bias, false);
}

int makeSignalCnn(const std::string &path, unsigned seed) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto *g = model.mutable_graph();
  g->set_name("signal_cnn");
  std::mt19937 rng(seed);
  for (auto [v, dims] :
       {std::pair{g->add_input(), std::vector<int64_t>{1, 784}},
        std::pair{g->add_output(), std::vector<int64_t>{10}}}) {
    v->set_name(dims.size() == 2 ? "x" : "y");
    auto *type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    for (int64_t d : dims)
      type->mutable_shape()->add_dim()->set_dim_value(d);
  }
  addLayer(g, "conv1", {8, 1, 9}, rng);
  addLayer(g, "conv2", {16, 4, 5}, rng);
  addLayer(g, "fc", {10, 16}, rng);
  auto *conv1 = addNode(g, "Conv", "/conv1/Conv",
                        {"x", "conv1.weight", "conv1.bias"}, "c1");
  addInts(conv1, "kernel_shape", {9});
  addInts(conv1, "strides", {4});
  addInts(conv1, "pads", {4, 4});
  addNode(g, "Relu", "/relu1/Relu", {"c1"}, "r1");
  auto *pool = addNode(g, "MaxPool", "/pool/MaxPool", {"r1"}, "p1");
  addInts(pool, "kernel_shape", {2});
  addInts(pool, "strides", {2});
  auto *conv2 = addNode(g, "Conv", "/conv2/Conv",
                        {"p1", "conv2.weight", "conv2.bias"}, "c2");
  addInts(conv2, "kernel_shape", {5});
  addInts(conv2, "strides", {2});
  addInts(conv2, "pads", {2, 2});
  addInts(conv2, "group", {2});
  addNode(g, "Relu", "/relu2/Relu", {"c2"}, "r2");
  addNode(g, "GlobalAveragePool", "/gap/GlobalAveragePool", {"r2"}, "avg");
  addNode(g, "Flatten", "/flatten/Flatten", {"avg"}, "flat");
  auto *fc =
      addNode(g, "Gemm", "/fc/Gemm", {"flat", "fc.weight", "fc.bias"}, "y");
  auto *transB = fc->add_attribute();
  transB->set_name("transB");
  transB->set_type(onnx::AttributeProto::INT);
  transB->set_i(1);
  writeMessage(model, path);
  return 0;
}

/// y = b − a for inputs a, b of `shape` (their order matters).
int makeDifference(const std::string &path, const std::vector<int64_t> &shape) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto *g = model.mutable_graph();
  g->set_name("difference");
  for (auto *v : {g->add_input(), g->add_input(), g->add_output()}) {
    auto *type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      type->mutable_shape()->add_dim()->set_dim_value(d);
  }
  g->mutable_input(0)->set_name("a");
  g->mutable_input(1)->set_name("b");
  g->mutable_output(0)->set_name("y");
  auto *sub = g->add_node();
  sub->set_name("sub");
  sub->set_op_type("Sub");
  sub->add_input("b");
  sub->add_input("a");
  sub->add_output("y");
  writeMessage(model, path);
  return 0;
}

int makeInput(const std::string &path, const std::vector<int64_t> &shape,
              unsigned seed, const std::string &name = "x") {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  addDims(&t, shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  for (int64_t i = 0; i < count; ++i) // float_data, not raw_data: both are read
    t.add_float_data(normal(rng));
  writeMessage(t, path);
  return 0;
}

onnx::TensorProto readTensor(const std::string &path) {
  onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  if (!in || !t.ParseFromIstream(&in))
    throw std::runtime_error(path + ": not a TensorProto");
  return t;
}

std::vector<float> floats(const onnx::TensorProto &t) {
  if (t.data_type() != onnx::TensorProto::FLOAT)
    throw std::runtime_error("'" + t.name() + "' is not a float tensor");
  if (!t.has_raw_data())
    return {t.float_data().begin(), t.float_data().end()};
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}

int compare(const std::string &a, const std::string &b, double rtol) {
  onnx::TensorProto ta = readTensor(a), tb = readTensor(b);
  std::vector<int64_t> da(ta.dims().begin(), ta.dims().end()),
      db(tb.dims().begin(), tb.dims().end());
  std::vector<float> va = floats(ta), vb = floats(tb);
  if (da != db || va.size() != vb.size() || va.empty()) {
    std::printf("the shapes differ (or the tensors are empty)\n");
    return 1;
  }
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double diff = std::fabs(double(va[i]) - double(vb[i]));
    worst = std::max(worst, diff / (std::fabs(double(vb[i])) + 1));
    bad += !(diff <= rtol * (std::fabs(double(vb[i])) + 1));
  }
  std::printf("%zu values, largest |a-b|/(|b|+1) %.3g, %zu beyond %.3g\n",
              va.size(), worst, bad, rtol);
  return bad == 0 ? 0 : 1;
}

/// 64-bit FNV-1a: a digest that is the same on every machine.
uint64_t fnv1a(const std::string &bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

/// One JSON line of a float initializer's figures: its non-zero count,
/// norms and position-weighted sums of its positive and of its negative
/// parts (weights (i mod 251) + 1 by linear index i: a value moved to
/// another place or a flipped sign changes them; each part a sum of
/// non-negative terms, so nothing cancels) in float64. The last bits of
/// float32 weights differ between CPUs, these within a tolerance.
/// `positions` holds each value's linear index.
void printWeight(const std::string &name, const std::vector<int64_t> &dims,
                 const std::vector<float> &values,
                 const std::vector<int64_t> &positions, const char *storage) {
  double l1 = 0, l2 = 0, positive = 0, negative = 0;
  int64_t nonZero = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    nonZero += v != 0;
    l1 += std::fabs(v);
    l2 += v * v;
    double weight = double(positions[i] % 251 + 1);
    (v > 0 ? positive : negative) += weight * std::fabs(v);
  }
  std::string shape;
  for (size_t i = 0; i < dims.size(); ++i)
    shape += (i ? "," : "") + std::to_string(dims[i]);
  std::printf("{\"initializer\": \"%s\", \"storage\": \"%s\", \"dims\": [%s], "
              "\"non_zero\": %lld, \"l1\": %.17g, \"l2_squared\": %.17g, "
              "\"weighted_positive\": %.17g, \"weighted_negative\": %.17g}\n",
              name.c_str(), storage, shape.c_str(), (long long)nonZero, l1, l2,
              positive, negative);
}

/// The linear index of each stored value of a sparse initializer: its
/// indices [nnz] as they are, or [nnz, rank] coordinates flattened.
std::vector<int64_t> sparsePositions(const onnx::SparseTensorProto &s) {
  const auto &t = s.indices();
  std::vector<int64_t> raw(t.int64_data().begin(), t.int64_data().end());
  if (t.has_raw_data()) {
    raw.resize(t.raw_data().size() / 8);
    std::memcpy(raw.data(), t.raw_data().data(), raw.size() * 8);
  }
  if (t.dims_size() != 2)
    return raw;
  if (t.dims(1) > s.dims_size() || int64_t(raw.size()) != t.dims(0) * t.dims(1))
    throw std::runtime_error("sparse initializer '" + s.values().name() +
                             "': its indices do not match its dims");
  std::vector<int64_t> linear(t.dims(0), 0);
  for (int64_t e = 0; e < t.dims(0); ++e)
    for (int64_t d = 0; d < t.dims(1); ++d)
      linear[e] = linear[e] * s.dims(d) + raw[e * t.dims(1) + d];
  return linear;
}

/// What the behaviour tests hold an export to, machine-independently: a
/// digest of the model with its float values left out (graph, attributes,
/// metadata, and a sparse initializer's indices: the support), then a line
/// per float initializer (printWeight).
int summarize(const std::string &path) {
  onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  if (!in || !model.ParseFromIstream(&in))
    throw std::runtime_error(path + ": not a ModelProto");
  onnx::ModelProto structure = model;
  auto *g = structure.mutable_graph();
  for (auto &t : *g->mutable_initializer())
    if (t.data_type() == onnx::TensorProto::FLOAT)
      t.clear_raw_data(), t.clear_float_data();
  for (auto &s : *g->mutable_sparse_initializer())
    s.mutable_values()->clear_raw_data(),
        s.mutable_values()->clear_float_data();
  std::string bytes;
  if (!structure.SerializeToString(&bytes))
    throw std::runtime_error(path + ": cannot serialize");
  std::printf("{\"structure_fnv1a\": \"%016llx\"}\n",
              (unsigned long long)fnv1a(bytes));
  for (const auto &t : model.graph().initializer())
    if (t.data_type() == onnx::TensorProto::FLOAT) {
      std::vector<float> values = floats(t);
      std::vector<int64_t> positions(values.size());
      for (size_t i = 0; i < positions.size(); ++i)
        positions[i] = static_cast<int64_t>(i);
      printWeight(t.name(), {t.dims().begin(), t.dims().end()}, values,
                  positions, "dense");
    }
  for (const auto &s : model.graph().sparse_initializer()) {
    std::vector<float> values = floats(s.values());
    std::vector<int64_t> positions = sparsePositions(s);
    if (positions.size() != values.size())
      throw std::runtime_error("sparse initializer '" + s.values().name() +
                               "': " + std::to_string(positions.size()) +
                               " indices for " + std::to_string(values.size()) +
                               " values");
    printWeight(s.values().name(), {s.dims().begin(), s.dims().end()}, values,
                positions, "sparse");
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() >= 5 && args[0] == "mlp")
      return makeMlp(args[1], parseList(args[2]), std::stod(args[3]),
                     static_cast<unsigned>(std::stoul(args[4])),
                     args.size() > 5 && args[5] == "--sparse-initializers");
    if (args.size() == 3 && args[0] == "signal-cnn")
      return makeSignalCnn(args[1], static_cast<unsigned>(std::stoul(args[2])));
    if ((args.size() == 4 || args.size() == 5) && args[0] == "input")
      return makeInput(args[1], parseList(args[2]),
                       static_cast<unsigned>(std::stoul(args[3])),
                       args.size() == 5 ? args[4] : "x");
    if (args.size() == 3 && args[0] == "difference")
      return makeDifference(args[1], parseList(args[2]));
    if (args.size() == 4 && args[0] == "compare")
      return compare(args[1], args[2], std::stod(args[3]));
    if (args.size() == 2 && args[0] == "summary")
      return summarize(args[1]);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: bregman_onnx_fixture mlp OUT.onnx SIZES DENSITY SEED "
               "[--sparse-initializers] | signal-cnn OUT.onnx SEED | "
               "input OUT.pb SHAPE SEED [NAME] | "
               "difference OUT.onnx SHAPE | "
               "compare A.pb B.pb RTOL | summary MODEL.onnx\n");
  return 2;
}
