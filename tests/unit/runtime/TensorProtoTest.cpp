//===- TensorProtoTest.cpp - The runtime's TensorProto reader and writer
//---===//
//
// Messages are made with ONNX's own protobuf classes in each of the
// encodings a writer may choose (typed fields packed or not, raw_data), so
// the bounded reader is checked against the library's serializer; what it
// writes is parsed back by the library. Malformed and unsupported messages
// are refused with a message naming the problem.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/TensorProto.h"
#include "bregman/runtime/InputFile.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <stdexcept>

using namespace bregman::runtime;

namespace {

std::string serialize(const onnx::TensorProto &t) {
  std::string bytes;
  EXPECT_TRUE(t.SerializeToString(&bytes));
  return bytes;
}

template <typename T> std::vector<T> values(const HostTensor &t) {
  std::vector<T> v(t.bytes.size() / sizeof(T));
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

onnx::TensorProto floatTensor(const std::vector<int64_t> &dims,
                              const std::vector<float> &v) {
  onnx::TensorProto t;
  t.set_name("x");
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t.add_dims(d);
  for (float f : v)
    t.add_float_data(f);
  return t;
}

/// The message of the std::runtime_error parsing `bytes` throws.
std::string parseError(const std::string &bytes) {
  try {
    parseTensorProto(bytes, "x.pb");
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(TensorProto, ReadsFloatDataAndShape) {
  HostTensor t = parseTensorProto(
      serialize(floatTensor({2, 3}, {1, -2, 3.5f, 0, 1e-30f, -7})), "x.pb");
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.dtype, "f32");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values<float>(t), (std::vector<float>{1, -2, 3.5f, 0, 1e-30f, -7}));
}

TEST(TensorProto, ReadsRawDataAsTheTypedField) {
  std::vector<float> v{0.25f, -1.5f, 3, 4};
  onnx::TensorProto t = floatTensor({4}, {});
  t.set_raw_data(std::string(reinterpret_cast<const char *>(v.data()), 16));
  EXPECT_EQ(values<float>(parseTensorProto(serialize(t), "x.pb")), v);
}

TEST(TensorProto, ReadsScalarsAndEmptyTensors) {
  HostTensor scalar =
      parseTensorProto(serialize(floatTensor({}, {42})), "x.pb");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(values<float>(scalar), std::vector<float>{42});
  HostTensor empty =
      parseTensorProto(serialize(floatTensor({0, 5}, {})), "x.pb");
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(empty.bytes.empty());
}

TEST(TensorProto, ReadsDoubles) {
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::DOUBLE);
  t.add_dims(2);
  t.add_double_data(1.0 / 3);
  t.add_double_data(-1e300);
  HostTensor h = parseTensorProto(serialize(t), "x.pb");
  EXPECT_EQ(h.dtype, "f64");
  EXPECT_EQ(values<double>(h), (std::vector<double>{1.0 / 3, -1e300}));
}

TEST(TensorProto, ReadsIntegersAsInt32) {
  onnx::TensorProto i32;
  i32.set_data_type(onnx::TensorProto::INT32);
  i32.add_dims(3);
  for (int32_t v : {-1, 2147483647, -2147483647 - 1})
    i32.add_int32_data(v);
  EXPECT_EQ(values<int32_t>(parseTensorProto(serialize(i32), "x.pb")),
            (std::vector<int32_t>{-1, 2147483647, -2147483647 - 1}));
  std::vector<int64_t> wide{-5, 7, 100000};
  onnx::TensorProto raw64;
  raw64.set_data_type(onnx::TensorProto::INT64);
  raw64.add_dims(3);
  raw64.set_raw_data(
      std::string(reinterpret_cast<const char *>(wide.data()), 24));
  HostTensor h = parseTensorProto(serialize(raw64), "x.pb");
  EXPECT_EQ(h.dtype, "i32");
  EXPECT_EQ(values<int32_t>(h), (std::vector<int32_t>{-5, 7, 100000}));
  std::vector<int32_t> narrow{-3, 9};
  onnx::TensorProto raw32;
  raw32.set_data_type(onnx::TensorProto::INT32);
  raw32.add_dims(2);
  raw32.set_raw_data(
      std::string(reinterpret_cast<const char *>(narrow.data()), 8));
  EXPECT_EQ(values<int32_t>(parseTensorProto(serialize(raw32), "x.pb")),
            narrow);
}

TEST(TensorProto, WrittenTensorsParseInOnnx) {
  std::vector<float> v{1.5f, -2, 0, 8, 9, 10};
  HostTensor t{"y", "f32", {3, 2}, {}, ""};
  t.bytes.assign(reinterpret_cast<const char *>(v.data()),
                 reinterpret_cast<const char *>(v.data()) + 24);
  onnx::TensorProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(serializeTensorProto(t)));
  EXPECT_EQ(parsed.name(), "y");
  EXPECT_EQ(parsed.data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(std::vector<int64_t>(parsed.dims().begin(), parsed.dims().end()),
            (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(parsed.raw_data(), std::string(t.bytes.begin(), t.bytes.end()));
  // The doc_string marks the files a later run may replace.
  EXPECT_EQ(parsed.doc_string(), kWrittenByBregman);
  // ONNX's serializer writes these fields the same way, byte for byte.
  EXPECT_EQ(serializeTensorProto(t), serialize(parsed));
  HostTensor back = parseTensorProto(serializeTensorProto(t), "y.pb");
  EXPECT_EQ(back.shape, t.shape);
  EXPECT_EQ(back.bytes, t.bytes);
  EXPECT_EQ(back.docString, kWrittenByBregman);
}

TEST(TensorProto, RefusesPayloadsThatDoNotFitTheShape) {
  EXPECT_EQ(parseError(serialize(floatTensor({2, 3}, {1, 2}))),
            "x.pb: holds 2 values, the shape [2, 3] needs 6");
  onnx::TensorProto raw = floatTensor({4}, {});
  raw.set_raw_data("abc");
  EXPECT_EQ(parseError(serialize(raw)),
            "x.pb: raw_data has 3 bytes, the shape [4] of FLOAT needs 16");
  onnx::TensorProto both = floatTensor({1}, {1});
  both.set_raw_data("abcd");
  EXPECT_EQ(parseError(serialize(both)),
            "x.pb: holds both raw_data and typed data");
  EXPECT_EQ(parseError(serialize(floatTensor({-1}, {}))),
            "x.pb: negative dimension in [-1]");
}

TEST(TensorProto, RefusesHugeShapesBeforeAllocating) {
  setMemoryLimit(uint64_t(1) << 30);
  std::string message =
      parseError(serialize(floatTensor({1 << 20, 1 << 20, 1 << 20}, {})));
  setMemoryLimit(0);
  EXPECT_NE(
      message.find(
          "x.pb: a tensor of shape [1048576, 1048576, 1048576] would need"),
      std::string::npos)
      << message;
}

TEST(TensorProto, RefusesWhatTheRuntimeCannotHold) {
  onnx::TensorProto strings;
  strings.set_data_type(onnx::TensorProto::STRING);
  strings.add_string_data("a");
  EXPECT_EQ(parseError(serialize(strings)),
            "x.pb: string tensors are not supported");
  onnx::TensorProto half = floatTensor({1}, {});
  half.set_data_type(onnx::TensorProto::FLOAT16);
  half.add_int32_data(0x3c00);
  EXPECT_EQ(parseError(serialize(half)),
            "x.pb: FLOAT16 tensors are not supported (float, double, int32, "
            "int64 are)");
  onnx::TensorProto external = floatTensor({1}, {});
  external.set_data_location(onnx::TensorProto::EXTERNAL);
  auto *entry = external.add_external_data();
  entry->set_key("location");
  entry->set_value("weights.bin");
  EXPECT_NE(parseError(serialize(external)).find("external file"),
            std::string::npos);
  onnx::TensorProto big;
  big.set_data_type(onnx::TensorProto::INT64);
  big.add_dims(1);
  big.add_int64_data(int64_t(1) << 40);
  EXPECT_EQ(parseError(serialize(big)),
            "x.pb: int64 value 1099511627776 at element 0 does not fit the "
            "runtime's int32");
}

TEST(TensorProto, TruncatedMessagesAreRefusedOrShorter) {
  std::string whole =
      serialize(floatTensor({8, 8}, std::vector<float>(64, 1.0f)));
  for (size_t n = 0; n < whole.size(); ++n) {
    std::string cut = whole.substr(0, n);
    try {
      HostTensor t = parseTensorProto(cut, "x.pb");
      // A cut between fields is a valid, shorter message: consistent.
      long double count = 1;
      for (int64_t d : t.shape)
        count *= d;
      EXPECT_EQ(static_cast<long double>(t.bytes.size()), count * 4);
    } catch (const std::runtime_error &e) {
      EXPECT_EQ(std::string(e.what()).rfind("x.pb: ", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(parseError(std::string("\x0a\x05\x01", 3)),
            "x.pb: truncated (a packed field of 5 bytes, 1 left)");
  EXPECT_EQ(parseError(std::string(11, '\xff')),
            "x.pb: malformed (a number longer than 10 bytes)");
}
