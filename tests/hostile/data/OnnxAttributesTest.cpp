//===- OnnxAttributesTest.cpp - Hostile ONNX attributes, opsets, shapes ---===//
//
// Each case is a one-node model the test writes itself with an attribute
// outside the ONNX spec (or an opset or input shape the importer does not
// support). The import must refuse it with the exact reason, list the node
// as unsupported with the same reason (what `inspect` prints), refuse to
// run it, and leave the model file as it was.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace fs = std::filesystem;
using namespace bregman;

namespace {

using Node = ::onnx::NodeProto;

void ints(Node *n, const std::string &name, std::vector<int64_t> v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

void integer(Node *n, const std::string &name, int64_t v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

void real(Node *n, const std::string &name, float v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void text(Node *n, const std::string &name, const std::string &v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

/// BatchNormalization's scale, bias, mean and variance: all `w`.
void batchNormInputs(Node *n) {
  for (int i = 0; i < 3; ++i)
    n->add_input("w");
}

void valueInfo(::onnx::ValueInfoProto *v, const std::string &name, const Shape &shape,
               const std::string &dynamic = "") {
  v->set_name(name);
  auto *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : shape)
    t->mutable_shape()->add_dim()->set_dim_value(d);
  if (!dynamic.empty())
    t->mutable_shape()->mutable_dim(1)->set_dim_param(dynamic);
}

/// One hostile model: node `n` of type `op` on x[1, 2, 4, 4] (a Conv also
/// gets a weight `w` of `weight` shape), `attrs` set on it.
struct Case {
  std::string name, op;
  std::function<void(Node *)> attrs;
  std::string expected; // the exact reason (a substring of the error)
  Shape weight = {};
  int64_t opset = 13;
  std::string dynamic = ""; // a dim_param for x's dimension 1
};

::onnx::ModelProto modelOf(const Case &c) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(c.opset);
  auto *g = model.mutable_graph();
  g->set_name("hostile");
  valueInfo(g->add_input(), "x", {1, 2, 4, 4}, c.dynamic);
  valueInfo(g->add_output(), "y", {1, 2, 4, 4});
  Node *n = g->add_node();
  n->set_name("n");
  n->set_op_type(c.op);
  n->add_input("x");
  if (!c.weight.empty()) {
    auto *w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(::onnx::TensorProto::FLOAT);
    int64_t count = 1;
    for (int64_t d : c.weight) {
      w->add_dims(d);
      count *= d;
    }
    for (int64_t i = 0; i < count; ++i)
      w->add_float_data(0.5f);
    n->add_input("w");
  }
  if (c.op == "Concat")
    n->add_input("x");
  n->add_output("y");
  if (c.attrs)
    c.attrs(n);
  return model;
}

const Case kCases[] = {
    {"maxpool_stride_0", "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       ints(n, "strides", {0, 0});
     },
     "node 'n' (MaxPool): attribute strides = [0, 0]: entries must be >= 1"},
    {"maxpool_kernel_0", "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {0, 2});
     },
     "node 'n' (MaxPool): attribute kernel_shape = [0, 2]: entries must be >= "
     "1"},
    {"maxpool_dilation_neg", "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       ints(n, "dilations", {-1, 1});
     },
     "node 'n' (MaxPool): attribute dilations = [-1, 1]: entries must be >= 1"},
    {"maxpool_ceil_mode_2", "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       integer(n, "ceil_mode", 2);
     },
     "node 'n' (MaxPool): attribute ceil_mode = 2: must be 0 or 1"},
    {"avgpool_pads_ge_kernel", "AveragePool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       ints(n, "pads", {2, 2, 2, 2});
     },
     "node 'n' (AveragePool): attribute pads = [2, 2, 2, 2]: must be smaller "
     "than the kernel 2x2"},
    {"avgpool_pads_negative", "AveragePool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       ints(n, "pads", {0, -1, 0, 0});
     },
     "node 'n' (AveragePool): attribute pads = [0, -1, 0, 0]: entries must be "
     ">= 0"},
    {"avgpool_count_include_pad_7", "AveragePool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       integer(n, "count_include_pad", 7);
     },
     "node 'n' (AveragePool): attribute count_include_pad = 7: must be 0 or 1"},
    {"flatten_axis_minus_100", "Flatten",
     [](Node *n) { integer(n, "axis", -100); },
     "node 'n' (Flatten): attribute axis = -100: out of range [-4, 4] for a "
     "rank-4 input"},
    {"flatten_axis_5", "Flatten", [](Node *n) { integer(n, "axis", 5); },
     "node 'n' (Flatten): attribute axis = 5: out of range [-4, 4] for a "
     "rank-4 input"},
    {"conv_kernel_shape_contradicts_weight",
     "Conv",
     [](Node *n) {
       ints(n, "kernel_shape", {5, 5});
     },
     "node 'n' (Conv): attribute kernel_shape = [5, 5]: contradicts the "
     "weight's kernel [3, 3]",
     {2, 2, 3, 3}},
    {"conv_stride_0",
     "Conv",
     [](Node *n) {
       ints(n, "strides", {1, 0});
     },
     "node 'n' (Conv): attribute strides = [1, 0]: entries must be >= 1",
     {2, 2, 3, 3}},
    {"conv_group_0",
     "Conv",
     [](Node *n) { integer(n, "group", 0); },
     "node 'n' (Conv): attribute group = 0: must be >= 1 and divide the "
     "input's 2 channels",
     {2, 2, 3, 3}},
    {"convtranspose_output_padding_ge_stride",
     "ConvTranspose",
     [](Node *n) {
       ints(n, "strides", {2, 2});
       ints(n, "output_padding", {2, 0});
     },
     "node 'n' (ConvTranspose): attribute output_padding = [2, 0]: must be "
     "smaller than the stride or the dilation",
     {2, 2, 3, 3}},
    // Window values past 2^30 overflowed the extent arithmetic before any
    // size check (a dilation of 2^62 times the kernel's span).
    {"conv_dilation_2_62",
     "Conv",
     [](Node *n) {
       ints(n, "dilations", {int64_t(1) << 62, 1});
     },
     "node 'n' (Conv): attribute dilations = [4611686018427387904, 1]: entries "
     "must be at most 2^30",
     {2, 2, 3, 3}},
    {"convtranspose_stride_2_62",
     "ConvTranspose",
     [](Node *n) {
       ints(n, "strides", {int64_t(1) << 62, 1});
     },
     "node 'n' (ConvTranspose): attribute strides = [4611686018427387904, 1]: "
     "entries must be at most 2^30",
     {2, 2, 3, 3}},
    {"convtranspose_output_shape_2_40",
     "ConvTranspose",
     [](Node *n) {
       ints(n, "output_shape", {int64_t(1) << 40, 4});
     },
     "node 'n' (ConvTranspose): attribute output_shape = [1099511627776, 4]: "
     "entries must be at most 2^30",
     {2, 2, 3, 3}},
    {"maxpool_pads_2_40", "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       ints(n, "pads", {int64_t(1) << 40, 0, 0, 0});
     },
     "node 'n' (MaxPool): attribute pads = [1099511627776, 0, 0, 0]: entries "
     "must be at most 2^30"},
    {"softmax_axis_9", "Softmax", [](Node *n) { integer(n, "axis", 9); },
     "node 'n' (Softmax): attribute axis = 9: out of range [-4, 3] for a "
     "rank-4 input"},
    {"concat_axis_minus_5", "Concat", [](Node *n) { integer(n, "axis", -5); },
     "node 'n' (Concat): attribute axis = -5: out of range [-4, 3] for a "
     "rank-4 input"},
    {"transpose_perm_repeated", "Transpose",
     [](Node *n) {
       ints(n, "perm", {0, 0, 1, 2});
     },
     "node 'n' (Transpose): attribute perm = [0, 0, 1, 2]: not a permutation "
     "of the 4 axes"},
    {"layernorm_axis_4",
     "LayerNormalization",
     [](Node *n) { integer(n, "axis", 4); },
     "node 'n' (LayerNormalization): attribute axis = 4: out of range [-4, 3] "
     "for a "
     "rank-4 input",
     {4},
     17},
    {"layernorm_epsilon_inf",
     "LayerNormalization",
     [](Node *n) { real(n, "epsilon", INFINITY); },
     "node 'n' (LayerNormalization): attribute epsilon = inf: must be finite",
     {4},
     17},
    {"layernorm_scale_mismatch",
     "LayerNormalization",
     [](Node *n) { integer(n, "axis", 2); },
     "node 'n' (LayerNormalization): shapes [3] and [4, 4] do not broadcast",
     {3},
     17},
    {"leakyrelu_alpha_nan", "LeakyRelu", [](Node *n) { real(n, "alpha", NAN); },
     "node 'n' (LeakyRelu): attribute alpha = nan: must be finite"},
    {"opset_9999",
     "Relu",
     nullptr,
     "unsupported: the model's default-domain (ai.onnx) opset is 9999; this "
     "importer supports opsets 1 to 22",
     {},
     9999},
    // Opset 18 is past libonnx 1.12's schemas: the handlers refuse what
    // the checker would have.
    {"reducemean_opset18_axes_attribute",
     "ReduceMean",
     [](Node *n) { ints(n, "axes", {1}); },
     "node 'n' (ReduceMean): axes is an attribute, but ReduceMean takes it as "
     "an input at "
     "opset 18",
     {},
     18},
    {"split_opset18_num_outputs_mismatch",
     "Split",
     [](Node *n) { integer(n, "num_outputs", 2); },
     "node 'n' (Split): num_outputs = 2 but the node has 1 outputs",
     {},
     18},
    {"split_opset18_sizes_attribute",
     "Split",
     [](Node *n) { ints(n, "split", {4}); },
     "node 'n' (Split): split is an attribute, but Split takes the sizes as an "
     "input at "
     "opset 18",
     {},
     18},
    {"resize_opset18_antialias",
     "Resize",
     [](Node *n) { integer(n, "antialias", 1); },
     "antialias = 1",
     {},
     18},
    {"opset_23",
     "Relu",
     nullptr,
     "unsupported: the model's default-domain (ai.onnx) opset is 23; this "
     "importer supports opsets 1 to 22",
     {},
     23},
    // Older versions: forms the handler refuses at the model's opset, and
    // nodes the schema that opset selects refuses (checked per node at load).
    {"add_opset6_without_broadcast",
     "Add",
     nullptr,
     "node 'n' (Add): A [1, 2, 4, 4] and B [4] differ in shape, and at opset 6 "
     "(the "
     "model's) only broadcast = 1 broadcasts (numpy's rules from opset 7)",
     {4},
     6},
    {"add_opset6_axis_mismatch",
     "Add",
     [](Node *n) {
       integer(n, "broadcast", 1);
       integer(n, "axis", 1);
     },
     "node 'n' (Add): B [4] does not broadcast onto A [1, 2, 4, 4] at axis 1 "
     "(at opset 6, "
     "the model's, B must be one element or match a run of A's dimensions, "
     "where its 1s "
     "expand)",
     {4},
     6},
    {"mul_opset1_b_of_higher_rank",
     "Mul",
     [](Node *n) { integer(n, "broadcast", 1); },
     "node 'n' (Mul): B [1, 1, 2, 4, 4] does not broadcast onto A [1, 2, 4, 4] "
     "at axis -1",
     {1, 1, 2, 4, 4},
     1},
    {"pow_opset6_scalar_without_broadcast",
     "Pow",
     nullptr,
     "node 'n' (Pow): A [1, 2, 4, 4] and B [1] differ in shape, and at opset 6",
     {1},
     6},
    {"less_opset6_without_broadcast",
     "Less",
     nullptr,
     "node 'n' (Less): A [1, 2, 4, 4] and B [4, 4] differ in shape, and at "
     "opset 6",
     {4, 4},
     6},
    {"max_opset7_different_shapes",
     "Max",
     nullptr,
     "node 'n' (Max): inputs of shapes [1, 2, 4, 4] and [4]: at opset 7 (the "
     "model's) they "
     "must be equal (broadcasting from opset 8)",
     {4},
     7},
    {"batchnorm_opset6_training",
     "BatchNormalization",
     batchNormInputs,
     "unsupported: node 'n' (BatchNormalization): is_test = 0 (training mode, "
     "the default "
     "before opset 7) at opset 6, the model's; only inference (is_test = 1) is "
     "imported",
     {2},
     6},
    {"batchnorm_opset8_spatial_0",
     "BatchNormalization",
     [](Node *n) {
       batchNormInputs(n);
       integer(n, "spatial", 0);
     },
     "unsupported: node 'n' (BatchNormalization): spatial = 0 (statistics per "
     "element) at "
     "opset 8, the model's; only per-channel statistics (spatial = 1) are "
     "imported",
     {2},
     8},
    {"cast_opset5_unknown_type_name",
     "Cast",
     [](Node *n) { text(n, "to", "FLOAT32"); },
     "node 'n' (Cast): attribute to = 'FLOAT32': not a tensor type name such "
     "as 'FLOAT' (at "
     "opset 5, the model's, Cast names its type; an enum value from opset 6)",
     {},
     5},
    {"reshape_opset4_without_shape",
     "Reshape",
     nullptr,
     "node 'n' (Reshape): no shape attribute (at opset 4, the model's, Reshape "
     "takes its "
     "target as an attribute; an input from opset 5)",
     {},
     4},
    {"mod_opset9_before_its_first_version",
     "Mod",
     nullptr,
     "node 'n' (Mod): the model's opset 9 is before Mod's first version, opset "
     "10",
     {4},
     9},
    {"reducesum_opset13_axes_attribute", "ReduceSum",
     [](Node *n) { ints(n, "axes", {1}); },
     "node 'n' (ReduceSum): the ONNX checker rejects it under ReduceSum-13, "
     "the version the "
     "model's opset 13 selects: Unrecognized attribute: axes for operator "
     "ReduceSum"},
    {"maxpool_opset9_ceil_mode",
     "MaxPool",
     [](Node *n) {
       ints(n, "kernel_shape", {2, 2});
       integer(n, "ceil_mode", 1);
     },
     "node 'n' (MaxPool): the ONNX checker rejects it under MaxPool-8, the "
     "version the "
     "model's opset 9 selects: Unrecognized attribute: ceil_mode for operator "
     "MaxPool",
     {},
     9},
    {"concat_opset4_without_axis",
     "Concat",
     nullptr,
     "node 'n' (Concat): the ONNX checker rejects it under Concat-4, the "
     "version the "
     "model's opset 4 selects: Required attribute 'axis' is missing.",
     {},
     4},
    {"dynamic_input_dimension",
     "Relu",
     nullptr,
     "unsupported: graph value 'x' has a dynamic dimension 1 ('C'); export "
     "with static shapes",
     {},
     13,
     "C"},
};

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class HostileOnnx : public ::testing::TestWithParam<Case> {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_hostile_onnx_" + std::to_string(::getpid()) + "_" + GetParam().name);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

// Refused at load (opsets) or listed as unsupported with the reason, and
// `apply` throws the same; the file is untouched and nothing is written.
TEST_P(HostileOnnx, RefusedWithTheExactReason) {
  const Case &c = GetParam();
  fs::path path = dir / "model.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(modelOf(c).SerializeToOstream(&out));
  }
  std::string before = slurp(path);
  std::string error;
  try {
    bregman::onnx::OnnxModel model = bregman::onnx::OnnxModel::load(path.string());
    ASSERT_FALSE(model.unsupported().empty()) << c.name << " was accepted";
    EXPECT_NE(model.unsupported().front().find(
                  c.expected.rfind("unsupported: ", 0) == 0 ? c.expected.substr(13)
                                                           : c.expected),
              std::string::npos)
        << model.unsupported().front();
    Trace trace;
    TraceScope scope(trace);
    Params in{{"x", trace.addInput({1, 2, 4, 4}, DType::F32, "x")}};
    (void)model.apply(model.weights(), model.constants(), in);
  } catch (const Error &e) {
    error = e.what();
  }
  EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

INSTANTIATE_TEST_SUITE_P(Cases, HostileOnnx, ::testing::ValuesIn(kCases),
                         [](const auto &info) { return info.param.name; });

} // namespace
