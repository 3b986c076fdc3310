//===- TensorProtoFuzzer.cpp - libFuzzer target for TensorProto files
//------===//
//
// Each input is parsed as a serialized TensorProto by the runtime's bounded
// reader (bregman-run --input), and what it returns is written and parsed
// again. std::runtime_error is what the reader documents; anything else, a
// crash, leak, hang or a tensor whose bytes do not fit its shape is a
// finding.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/TensorProto.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bregman::runtime::setMemoryLimit(uint64_t(256) << 20);
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  try {
    bregman::runtime::HostTensor t =
        bregman::runtime::parseTensorProto(bytes, "x.pb");
    long double count = 1;
    for (int64_t d : t.shape)
      count *= static_cast<long double>(d);
    std::size_t element = t.dtype == "f64" ? 8 : 4;
    if (static_cast<long double>(t.bytes.size()) != count * element)
      std::abort();
    bregman::runtime::HostTensor back = bregman::runtime::parseTensorProto(
        bregman::runtime::serializeTensorProto(t), "again.pb");
    if (back.shape != t.shape || back.bytes != t.bytes || back.dtype != t.dtype)
      std::abort();
  } catch (const std::runtime_error &) {
  }
  return 0;
}
