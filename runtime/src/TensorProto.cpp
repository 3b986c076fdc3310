//===- TensorProto.cpp - ONNX TensorProto files without protobuf ----------===//

#include "bregman/runtime/TensorProto.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/SafeWrite.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace bregman::runtime {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "TensorProto raw_data is little-endian; so must the host be");

namespace {

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw std::runtime_error(where + ": " + what);
}

// onnx.proto's field numbers and TensorProto.DataType values.
enum Field : uint32_t {
  kDims = 1,
  kDataType = 2,
  kSegment = 3,
  kFloatData = 4,
  kInt32Data = 5,
  kStringData = 6,
  kInt64Data = 7,
  kName = 8,
  kRawData = 9,
  kDoubleData = 10,
  kUint64Data = 11,
  kDocString = 12,
  kExternalData = 13,
  kDataLocation = 14,
};
enum DataType : int64_t { kFloat = 1, kInt32 = 6, kInt64 = 7, kDouble = 11 };
enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5
};

/// Reads protobuf's wire format from a byte range, never past its end.
class WireReader {
public:
  WireReader(std::string_view bytes, const std::string &where)
      : rest(bytes), where(where) {}
  bool done() const { return rest.empty(); }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest.empty())
        fail(where, "truncated (a number runs past the end)");
      auto byte = static_cast<uint8_t>(rest.front());
      rest.remove_prefix(1);
      value |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return value;
    }
    fail(where, "malformed (a number longer than 10 bytes)");
  }
  std::string_view take(uint64_t size, const char *what) {
    if (size > rest.size())
      fail(where, std::string("truncated (") + what + " of " +
                      std::to_string(size) + " bytes, " +
                      std::to_string(rest.size()) + " left)");
    std::string_view out = rest.substr(0, size);
    rest.remove_prefix(size);
    return out;
  }
  template <typename T> T fixed() {
    T value;
    std::memcpy(&value, take(sizeof(T), "a fixed-size number").data(),
                sizeof(T));
    return value;
  }
  /// Skips a field of an unknown or ignored number.
  void skip(uint32_t wire) {
    switch (wire) {
    case kVarint:
      varint();
      return;
    case kFixed64:
      take(8, "a field");
      return;
    case kLengthDelimited:
      take(varint(), "a field");
      return;
    case kFixed32:
      take(4, "a field");
      return;
    default:
      fail(where, "malformed (wire type " + std::to_string(wire) + ")");
    }
  }

private:
  std::string_view rest;
  const std::string &where;
};

/// The fields as read, before they are checked against each other.
struct Fields {
  std::vector<int64_t> dims;
  int64_t dataType = 0;
  std::string name, docString;
  std::string_view raw;
  bool hasRaw = false;
  std::vector<float> floats;
  std::vector<double> doubles;
  std::vector<int64_t> ints; // int32_data and int64_data
};

/// One element of a repeated scalar field, packed (a length-delimited run)
/// or not; `read` reads one element from a reader.
template <typename Read>
void readRepeated(WireReader &in, uint32_t wire, uint32_t elementWire,
                  const std::string &where, Read read) {
  if (wire == kLengthDelimited) {
    WireReader packed(in.take(in.varint(), "a packed field"), where);
    while (!packed.done())
      read(packed);
  } else if (wire == elementWire) {
    read(in);
  } else {
    fail(where, "malformed (a repeated field of the wrong wire type)");
  }
}

void readField(WireReader &in, uint32_t field, uint32_t wire, Fields &f,
               const std::string &where) {
  auto varintInto = [&](std::vector<int64_t> &out) {
    readRepeated(in, wire, kVarint, where, [&](WireReader &r) {
      out.push_back(static_cast<int64_t>(r.varint()));
    });
  };
  switch (field) {
  case kDims:
    varintInto(f.dims);
    return;
  case kInt32Data:
    readRepeated(in, wire, kVarint, where, [&](WireReader &r) {
      f.ints.push_back(static_cast<int32_t>(r.varint())); // int32: low 32 bits
    });
    return;
  case kInt64Data:
    varintInto(f.ints);
    return;
  case kFloatData:
    readRepeated(in, wire, kFixed32, where,
                 [&](WireReader &r) { f.floats.push_back(r.fixed<float>()); });
    return;
  case kDoubleData:
    readRepeated(in, wire, kFixed64, where, [&](WireReader &r) {
      f.doubles.push_back(r.fixed<double>());
    });
    return;
  case kDataType:
    if (wire != kVarint)
      fail(where, "malformed (data_type)");
    f.dataType = static_cast<int32_t>(in.varint());
    return;
  case kName:
  case kDocString:
  case kRawData: {
    if (wire != kLengthDelimited)
      fail(where, "malformed (name, doc_string or raw_data)");
    std::string_view bytes = in.take(in.varint(), "a string");
    if (field == kName)
      f.name.assign(bytes);
    else if (field == kDocString)
      f.docString.assign(bytes);
    else
      f.raw = bytes, f.hasRaw = true;
    return;
  }
  case kSegment:
    fail(where, "segmented tensors are not supported");
  case kStringData:
    fail(where, "string tensors are not supported");
  case kUint64Data:
    fail(where, "uint64 tensors are not supported");
  case kExternalData:
    fail(where, "the tensor's data is in an external file; the runtime reads "
                "only tensors stored in the file itself");
  case kDataLocation:
    if (wire == kVarint && in.varint() != 0)
      fail(where, "the tensor's data is in an external file; the runtime reads "
                  "only tensors stored in the file itself");
    if (wire != kVarint)
      in.skip(wire);
    return;
  default:
    in.skip(wire); // metadata_props, later additions
  }
}

std::string dataTypeName(int64_t type) {
  static const char *const names[] = {
      "UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
      "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
      "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  return type >= 0 && type < int64_t(std::size(names))
             ? names[type]
             : "type " + std::to_string(type);
}

/// The element count of `dims`, checked (non-negative, within the limit).
std::size_t elementCount(const std::vector<int64_t> &dims,
                         const std::string &where) {
  long double count = 1;
  for (int64_t d : dims) {
    if (d < 0)
      fail(where, "negative dimension in " + shapeText(dims));
    count *= static_cast<long double>(d);
  }
  requireAllocation<std::runtime_error>(
      count, 8, where + ": a tensor of shape " + shapeText(dims));
  return static_cast<std::size_t>(count);
}

/// The payload as `elementBytes`-byte values: raw_data or the typed field
/// (exactly one of them, of `count` elements).
template <typename T>
std::vector<T> payload(const Fields &f, const std::vector<T> &typed,
                       std::size_t count, std::size_t elementBytes,
                       const std::string &where) {
  if (f.hasRaw && !typed.empty())
    fail(where, "holds both raw_data and typed data");
  if (f.hasRaw) {
    if (f.raw.size() != count * elementBytes)
      fail(where, "raw_data has " + std::to_string(f.raw.size()) +
                      " bytes, the shape " + shapeText(f.dims) + " of " +
                      dataTypeName(f.dataType) + " needs " +
                      std::to_string(count * elementBytes));
    std::vector<T> out(count);
    for (std::size_t i = 0; i < count; ++i) // elementBytes <= sizeof(T)
      std::memcpy(&out[i], f.raw.data() + i * elementBytes, elementBytes);
    return out;
  }
  if (typed.size() != count)
    fail(where, "holds " + std::to_string(typed.size()) +
                    " values, the shape " + shapeText(f.dims) + " needs " +
                    std::to_string(count));
  return typed;
}

template <typename T> std::vector<char> asBytes(const std::vector<T> &values) {
  std::vector<char> bytes(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

void putVarint(std::string &out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void putKey(std::string &out, uint32_t field, uint32_t wire) {
  putVarint(out, uint64_t(field) << 3 | wire);
}

} // namespace

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

HostTensor parseTensorProto(std::string_view message,
                            const std::string &where) {
  WireReader in(message, where);
  Fields f;
  while (!in.done()) {
    uint64_t key = in.varint();
    if (key >> 3 == 0 || key >> 3 > std::numeric_limits<uint32_t>::max())
      fail(where, "malformed (field number " + std::to_string(key >> 3) + ")");
    readField(in, static_cast<uint32_t>(key >> 3),
              static_cast<uint32_t>(key & 7), f, where);
  }
  std::size_t count = elementCount(f.dims, where);
  HostTensor t{f.name, "", f.dims, {}, f.docString};
  switch (f.dataType) {
  case kFloat:
    t.dtype = "f32";
    t.bytes = asBytes(payload(f, f.floats, count, 4, where));
    break;
  case kDouble:
    t.dtype = "f64";
    t.bytes = asBytes(payload(f, f.doubles, count, 8, where));
    break;
  case kInt32:
  case kInt64: {
    std::vector<int64_t> wide =
        payload(f, f.ints, count, f.dataType == kInt32 ? 4 : 8, where);
    std::vector<int32_t> narrow(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (f.dataType == kInt32 &&
          f.hasRaw) // 4 raw bytes in an int64: sign-extend
        wide[i] = static_cast<int32_t>(static_cast<uint32_t>(wide[i]));
      if (wide[i] < std::numeric_limits<int32_t>::min() ||
          wide[i] > std::numeric_limits<int32_t>::max())
        fail(where, "int64 value " + std::to_string(wide[i]) + " at element " +
                        std::to_string(i) +
                        " does not fit the runtime's int32");
      narrow[i] = static_cast<int32_t>(wide[i]);
    }
    t.dtype = "i32";
    t.bytes = asBytes(narrow);
    break;
  }
  default:
    fail(where,
         dataTypeName(f.dataType) +
             " tensors are not supported (float, double, int32, int64 are)");
  }
  return t;
}

HostTensor readTensorProtoFile(const std::string &path) {
  requireRegularFile<std::runtime_error>(path, "TensorProto");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    fail(path, "cannot open the TensorProto");
  auto size = static_cast<long double>(in.tellg());
  requireAllocation<std::runtime_error>(size, 1, path + ": the TensorProto");
  in.seekg(0);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return parseTensorProto(bytes, path);
}

std::string serializeTensorProto(const HostTensor &t) {
  int64_t type = t.dtype == "f32"   ? kFloat
                 : t.dtype == "f64" ? kDouble
                 : t.dtype == "i32" ? kInt32
                                    : 0;
  if (type == 0)
    throw std::invalid_argument("serializeTensorProto: unknown dtype '" +
                                t.dtype + "'");
  std::string out;
  for (int64_t d : t.shape) { // proto2: repeated int64, not packed
    putKey(out, kDims, kVarint);
    putVarint(out, static_cast<uint64_t>(d));
  }
  putKey(out, kDataType, kVarint);
  putVarint(out, static_cast<uint64_t>(type));
  putKey(out, kName, kLengthDelimited);
  putVarint(out, t.name.size());
  out += t.name;
  putKey(out, kRawData, kLengthDelimited);
  putVarint(out, t.bytes.size());
  out.append(t.bytes.data(), t.bytes.size());
  putKey(out, kDocString, kLengthDelimited);
  putVarint(out, std::string_view(kWrittenByBregman).size());
  out += kWrittenByBregman;
  return out;
}

FileOwnershipCheck tensorFilesWrittenByBregman() {
  return [](const std::string &path) -> std::string {
    try {
      if (readTensorProtoFile(path).docString == kWrittenByBregman)
        return "";
    } catch (const std::exception &) {
    }
    return "is not a tensor file that bregman wrote";
  };
}

void writeTensorProtoFile(const std::string &path, const HostTensor &t) {
  writeFileAtomically(path, "writing the tensor", serializeTensorProto(t),
                      tensorFilesWrittenByBregman());
}

std::string swappedInputProblem(const std::string &path,
                                const std::string &tensorName, size_t position,
                                const std::vector<std::string> &inputNames) {
  if (tensorName.empty() || position >= inputNames.size() ||
      tensorName == inputNames[position])
    return "";
  std::string order;
  bool another = false;
  for (const std::string &name : inputNames) {
    another = another || name == tensorName;
    order += (order.empty() ? "'" : ", '") + name + "'";
  }
  if (!another)
    return "";
  return path + ": holds input '" + tensorName + "' but is given for input " +
         std::to_string(position + 1) + " ('" + inputNames[position] +
         "'): give the --input files in the model's order (" + order + ")";
}

} // namespace bregman::runtime
