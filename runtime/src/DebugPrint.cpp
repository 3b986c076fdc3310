//===- DebugPrint.cpp - Values printed by compiled steps ------------------===//
//
// bregman::debugPrint inside a compiled step becomes a call of
// bregman_debug_print at that point of the program: the descriptor (format
// and each value's dtype and shape) is a constant of the step, the values
// its buffers at that moment.
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct ValueSpec {
  std::string dtype; // "f32", "f64" or "i32"
  std::vector<int64_t> shape;
};

/// "f32 2 3 4" -> {f32, [3, 4]} (the second word is the rank).
ValueSpec parseSpec(const char *text) {
  ValueSpec spec;
  const char *p = text;
  while (*p && *p != ' ')
    ++p;
  spec.dtype.assign(text, p);
  char *end = nullptr;
  long long rank = std::strtoll(p, &end, 10);
  p = end;
  for (long long i = 0; i < rank && p && *p; ++i) {
    spec.shape.push_back(std::strtoll(p, &end, 10));
    p = end;
  }
  return spec;
}

/// Element i, shortest text that reads back to the same value.
std::string element(const std::string &dtype, const void *data, int64_t i) {
  char text[64];
  std::to_chars_result r{};
  if (dtype == "f32")
    r = std::to_chars(text, text + sizeof text,
                      static_cast<const float *>(data)[i]);
  else if (dtype == "f64")
    r = std::to_chars(text, text + sizeof text,
                      static_cast<const double *>(data)[i]);
  else
    r = std::to_chars(text, text + sizeof text,
                      static_cast<const int32_t *>(data)[i]);
  return std::string(text, r.ptr);
}

/// A scalar in full; a tensor as NumPy summarises a large one: its dtype
/// and shape, then its elements in row-major order, the first and last
/// three only beyond six.
std::string describe(const ValueSpec &spec, const void *data) {
  int64_t count = 1;
  for (int64_t d : spec.shape)
    count *= d;
  if (spec.shape.empty())
    return element(spec.dtype, data, 0);
  std::string out = spec.dtype + "[";
  for (size_t i = 0; i < spec.shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(spec.shape[i]);
  out += "] [";
  constexpr int64_t kEdge = 3;
  for (int64_t i = 0; i < count; ++i) {
    if (count > 2 * kEdge && i == kEdge) {
      out += ", ...";
      i = count - kEdge;
    }
    out += (i ? ", " : "") + element(spec.dtype, data, i);
  }
  return out + "]";
}

} // namespace

extern "C" void bregman_debug_print(intptr_t descriptor, intptr_t count,
                                    intptr_t values) {
  const char *format = reinterpret_cast<const char *>(descriptor);
  const auto *pointers = reinterpret_cast<const intptr_t *>(values);
  std::vector<ValueSpec> specs;
  const char *next = format + std::strlen(format) + 1;
  for (intptr_t i = 0; i < count; ++i) {
    specs.push_back(parseSpec(next));
    next += std::strlen(next) + 1;
  }
  // "{}" takes the next value, "{{" and "}}" are braces (fmt's rules; the
  // DSL checked the format when it was traced).
  std::string line;
  size_t used = 0;
  for (const char *p = format; *p; ++p) {
    if (p[0] == '{' && p[1] == '}' && used < specs.size()) {
      line +=
          describe(specs[used], reinterpret_cast<const void *>(pointers[used]));
      ++used;
      ++p;
    } else if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
      line += *p++;
    } else {
      line += *p;
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}
