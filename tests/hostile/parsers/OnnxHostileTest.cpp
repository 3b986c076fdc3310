//===- OnnxHostileTest.cpp - Hostile ONNX models -------------------------===//
//
// Models built here with the protobuf classes, each hostile in one way; the
// importer must throw bregman::Error with the exact text (never abort, never
// allocate what the model only claims).
//
//===----------------------------------------------------------------------===//

#include "HostileSupport.h"

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <onnx/onnx_pb.h>

using namespace bregman;
using namespace bregman::hostile;

namespace {

void valueInfo(::onnx::ValueInfoProto *v, const std::string &name, const Shape &shape) {
  v->set_name(name);
  auto *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : shape)
    t->mutable_shape()->add_dim()->set_dim_value(d);
}

/// x[1,4] -> Relu -> y[1,4].
::onnx::ModelProto reluModel() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto *g = m.mutable_graph();
  g->set_name("g");
  valueInfo(g->add_input(), "x", {1, 4});
  valueInfo(g->add_output(), "y", {1, 4});
  auto *n = g->add_node();
  n->set_name("relu");
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  return m;
}

class HostileOnnx : public Scratch {
protected:
  std::string save(const ::onnx::ModelProto &m) {
    return write("model.onnx", m.SerializeAsString());
  }
  /// Loads and replays on traced inputs, as a training run would.
  void loadAndApply(const std::string &path) {
    bregman::onnx::OnnxModel model = bregman::onnx::OnnxModel::load(path);
    Trace trace;
    TraceScope scope(trace);
    auto traced = [&](const Params &concrete, const std::string &prefix) {
      Params p;
      for (const auto &[name, t] : concrete)
        p.add(name, trace.addInput(t.shape(), t.dtype(), prefix + name));
      return p;
    };
    Params inputs;
    for (const auto &v : model.inputs())
      inputs.add(v.name, trace.addInput(v.shape, v.dtype, "in/" + v.name));
    (void)model.apply(traced(model.weights(), "w/"), traced(model.constants(), "c/"), inputs);
  }
  /// A weight `w` of shape {4} with external data in `file`.
  ::onnx::ModelProto external(const std::string &file, const std::string &offset) {
    ::onnx::ModelProto m = reluModel();
    auto *t = m.mutable_graph()->add_initializer();
    t->set_name("w");
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto *kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(file);
    kv = t->add_external_data();
    kv->set_key("offset");
    kv->set_value(offset);
    return m;
  }
};

TEST_F(HostileOnnx, GraphsWithoutNodesOrWithDanglingOutputs) {
  ::onnx::ModelProto empty = reluModel();
  empty.mutable_graph()->clear_node();
  EXPECT_THROWS_WITH(Error, loadAndApply(save(empty)), "y");
  ::onnx::ModelProto dangling = reluModel();
  valueInfo(dangling.mutable_graph()->add_output(), "z", {1, 4});
  EXPECT_THROWS_WITH(Error, loadAndApply(save(dangling)), "'z'");
}

TEST_F(HostileOnnx, ExternalDataOffsets) {
  write("w.bin", std::string(64, '\0'));
  struct Case {
    const char *offset, *message;
  };
  for (const Case &c : {Case{"abc", "external data offset 'abc' is not a number of bytes"},
                        Case{"18446744073709551616", "external data offset '18446744073709551616'"},
                        Case{"-1", "external data offset '-1' is not a number"},
                        Case{"60", "external data " /* 16 bytes at 60 of 64 */}}) {
    SCOPED_TRACE(c.offset);
    EXPECT_THROWS_WITH(Error, loadAndApply(save(external("w.bin", c.offset))), c.message);
  }
  EXPECT_THROWS_WITH(Error, loadAndApply(save(external("w.bin", "60"))),
                     "holds fewer than 16 bytes at offset 60");
  // A wrong length was reported as a short file ("holds fewer than 16 bytes").
  ::onnx::ModelProto lengthy = external("w.bin", "0");
  auto *length =
      lengthy.mutable_graph()->mutable_initializer(0)->add_external_data();
  length->set_key("length");
  length->set_value("32");
  EXPECT_THROWS_WITH(Error, loadAndApply(save(lengthy)),
                     "tensor 'w': its external data's length is 32 bytes, but "
                     "its type and shape take 16");
  fifo("pipe.bin");
  EXPECT_THROWS_WITH(Error, loadAndApply(save(external("pipe.bin", "0"))),
                     "the external data of tensor 'w' must be a regular file, but this is a FIFO");
}

// Messages that named nothing useful: an empty file ("opset is 0"), an
// unknown data type (a blank name), an output listed twice ("params: 'y' is
// already present").
TEST_F(HostileOnnx, EmptyFilesUnknownTypesAndTwiceListedOutputs) {
  EXPECT_THROWS_WITH(Error, loadAndApply(write("empty.onnx", "")),
                     "an empty file, not an ONNX model");
  ::onnx::ModelProto unknown = reluModel();
  auto *t = unknown.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(999);
  t->add_dims(1);
  t->set_raw_data(std::string(4, '\0'));
  EXPECT_THROWS_WITH(Error, loadAndApply(save(unknown)),
                     "data type number 999 (no ONNX type) is not supported");
  ::onnx::ModelProto twice = reluModel();
  *twice.mutable_graph()->add_output() = twice.graph().output(0);
  EXPECT_THROWS_WITH(Error, loadAndApply(save(twice)),
                     "graph output 'y' is listed twice");
}

TEST_F(HostileOnnx, HugeSparseInitializer) {
  ::onnx::ModelProto m = reluModel();
  auto *s = m.mutable_graph()->add_sparse_initializer();
  s->add_dims(1000000);
  s->add_dims(1000000);
  auto *values = s->mutable_values();
  values->set_name("big");
  values->set_data_type(::onnx::TensorProto::FLOAT);
  values->add_dims(1);
  values->add_float_data(1.0f);
  auto *indices = s->mutable_indices();
  indices->set_name("big_indices");
  indices->set_data_type(::onnx::TensorProto::INT64);
  indices->add_dims(1);
  indices->add_int64_data(0);
  EXPECT_THROWS_WITH(Error, loadAndApply(save(m)), "sparse initializer 'big'");
}

/// A one-Conv model whose four pads are `pad`.
::onnx::ModelProto convWithPads(int64_t pad) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto *g = m.mutable_graph();
  g->set_name("g");
  valueInfo(g->add_input(), "x", {1, 1, 4, 4});
  valueInfo(g->add_output(), "y", {1, 1, 4, 4});
  auto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  for (int d : {1, 1, 3, 3})
    w->add_dims(d);
  for (int i = 0; i < 9; ++i)
    w->add_float_data(0.5f);
  auto *n = g->add_node();
  n->set_name("conv");
  n->set_op_type("Conv");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  auto *pads = n->add_attribute();
  pads->set_name("pads");
  pads->set_type(::onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i)
    pads->add_ints(pad);
  return m;
}

// Strides within bounds times a long input passed 2^63 in ConvTranspose's
// SAME padding: refused, naming both.
TEST_F(HostileOnnx, ConvTransposeStrideTimesInputPast2To40) {
  ::onnx::ModelProto m = convWithPads(0);
  auto *g = m.mutable_graph();
  g->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(3)
      ->set_dim_value(2048);
  auto *n = g->mutable_node(0);
  n->set_op_type("ConvTranspose");
  n->clear_attribute();
  auto *strides = n->add_attribute();
  strides->set_name("strides");
  strides->set_type(::onnx::AttributeProto::INTS);
  strides->add_ints(1);
  strides->add_ints(int64_t(1) << 30);
  auto *autoPad = n->add_attribute();
  autoPad->set_name("auto_pad");
  autoPad->set_type(::onnx::AttributeProto::STRING);
  autoPad->set_s("SAME_UPPER");
  EXPECT_THROWS_WITH(
      Error, loadAndApply(save(m)),
      "stride 1073741824 times the input's 2048 elements along an axis "
      "is more than 2^40");
}

// Pads past 2^30 are refused as such; up to it, an output no memory holds
// is refused by the allocation limit.
TEST_F(HostileOnnx, ConvPadsOf2To40) {
  EXPECT_THROWS_WITH(
      Error, loadAndApply(save(convWithPads(int64_t(1) << 40))),
      "attribute pads = [1099511627776, 1099511627776, "
      "1099511627776, 1099511627776]: entries must be at most 2^30");
  EXPECT_THROWS_WITH(Error, loadAndApply(save(convWithPads(int64_t(1) << 30))),
                     "of memory, more than the limit");
}

TEST_F(HostileOnnx, OnlyRegularFiles) {
  EXPECT_THROWS_WITH(Error, bregman::onnx::OnnxModel::load(fifo("pipe.onnx")),
                     "the ONNX model must be a regular file, but this is a FIFO");
  EXPECT_THROWS_WITH(Error, bregman::onnx::readTensorProto(fifo("pipe.pb")),
                     "the TensorProto must be a regular file, but this is a FIFO");
}

} // namespace
