//===- TensorProto.h - ONNX TensorProto files without protobuf --*- C++ -*-===//
//
// The runtime alone (bregman-run) reads and writes the same input and output
// files as `bregman run model.onnx`: ONNX TensorProto messages. Their wire
// format is small, so this is a bounded reader of it rather than a
// dependency on protobuf and onnx: every length is checked against what is
// left of the message, the element count against the payload and the memory
// limit (InputFile.h) before anything is allocated, and what the runtime
// cannot represent is refused by name (external data, segments, strings and
// element types other than float, double, int32 and int64).
//
// Read: dims (packed or not), data_type, name, raw_data, float_data,
// int32_data, int64_data, double_data, doc_string; metadata is skipped.
// int64 tensors become i32 (the artifacts' integer type), each value
// checked to fit. Written: name, dims, data_type, raw_data and doc_string,
// as ONNX's own serializer writes them; the doc_string (kWrittenByBregman)
// marks the files a later run may replace.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_TENSORPROTO_H
#define BREGMAN_RUNTIME_TENSORPROTO_H

#include "bregman/runtime/SafeWrite.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bregman::runtime {

/// A tensor on the host as the artifacts describe it: dtype "f32", "f64" or
/// "i32", little-endian bytes in row-major order.
struct HostTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  std::string docString; // as read; written: kWrittenByBregman
};

/// The doc_string of every TensorProto file bregman writes.
inline constexpr const char *kWrittenByBregman = "written by bregman";

/// Replaces only TensorProto files that carry kWrittenByBregman: a user's
/// input tensor (or any other file) named as an output stays as it is.
FileOwnershipCheck tensorFilesWrittenByBregman();

/// "[128, 784]", for messages.
std::string shapeText(const std::vector<int64_t> &shape);

/// Parses the bytes of a serialized TensorProto; throws std::runtime_error
/// "<where>: <problem>" on anything malformed or unsupported.
HostTensor parseTensorProto(std::string_view message, const std::string &where);

/// Reads the TensorProto file `path` (a regular file within the memory
/// limit); errors name the path.
HostTensor readTensorProtoFile(const std::string &path);

/// Input files are bound to a model's inputs in order; a file whose tensor
/// is named after another input was swapped (y = b − a gave −4, not 4,
/// silently). Why `path`, holding a tensor named `tensorName` and given for
/// input `position` of `inputNames`, is refused; "" when its name is empty,
/// this input's, or no input's (names are often the exporter's own).
std::string swappedInputProblem(const std::string &path,
                                const std::string &tensorName, size_t position,
                                const std::vector<std::string> &inputNames);

/// The TensorProto serialization of `t` (name, dims, data_type, raw_data).
std::string serializeTensorProto(const HostTensor &t);

/// Writes `t` to `path` atomically (SafeWrite.h: a regular file is
/// replaced, anything else refused); throws WriteError.
void writeTensorProtoFile(const std::string &path, const HostTensor &t);

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_TENSORPROTO_H
