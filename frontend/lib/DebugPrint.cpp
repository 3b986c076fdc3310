//===- DebugPrint.cpp - Printing traced values ----------------------------===//

#include "DebugPrint.h"

#include "bregman/Trace.h"
#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/CpuLibrary.h"

#include <fmt/format.h>

namespace bregman {

namespace detail {

std::string
debugPrintDescriptor(const std::string &format,
                     const std::vector<std::pair<Shape, DType>> &values) {
  std::string descriptor = format;
  descriptor += '\0';
  for (const auto &[shape, dtype] : values) {
    descriptor += fmt::format("{} {}", dtypeName(dtype), shape.size());
    for (int64_t d : shape)
      descriptor += fmt::format(" {}", d);
    descriptor += '\0';
  }
  return descriptor;
}

} // namespace detail

/// The number of `{}` in `format`; throws for any other use of braces (fmt's
/// specs such as {:.3f} are not supported: the values are formatted when the
/// step runs, by the runtime).
static size_t countPlaceholders(const std::string &format) {
  size_t count = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i], next = i + 1 < format.size() ? format[i + 1] : '\0';
    if (c == '{' && next == '}') {
      ++count;
      ++i;
    } else if ((c == '{' || c == '}') && next == c) {
      ++i;
    } else if (c == '{' || c == '}') {
      throw Error(fmt::format("debugPrint: format \"{}\" has a lone '{}' at "
                              "offset {}: only {{}} placeholders (and {{{{, "
                              "}}}} for braces) are supported",
                              format, c, i));
    }
  }
  return count;
}

void debugPrint(DebugFormat format, const std::vector<Tensor> &values) {
  CallSite site(format.loc);
  size_t placeholders = countPlaceholders(format.text);
  if (placeholders != values.size())
    throw Error(fmt::format("debugPrint: format \"{}\" has {} placeholder(s) "
                            "for {} value(s)",
                            format.text, placeholders, values.size()));
  std::vector<std::pair<Shape, DType>> specs;
  bool concrete = true;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].defined())
      throw Error(fmt::format("debugPrint: value {} is an empty tensor", i));
    // A donated one has no buffer left: buffer() names the jit that took it
    // (else it read as a tracer used outside its function).
    if (!Trace::current() && !values[i].donatedTo().empty())
      (void)values[i].buffer();
    specs.emplace_back(values[i].shape(), values[i].dtype());
    concrete = concrete && values[i].isConcrete();
  }
  if (Trace::current() || !concrete) {
    // Recorded: printed by the compiled step when it runs.
    NodeAttrs attrs;
    attrs.name = format.text;
    apply(Prim::DebugPrint, values, {}, attrs);
    return;
  }
  std::string descriptor = detail::debugPrintDescriptor(format.text, specs);
  std::vector<intptr_t> pointers;
  for (const Tensor &t : values)
    pointers.push_back(reinterpret_cast<intptr_t>(
        static_cast<const runtime::Buffer &>(*t.buffer()).data()));
  bregman_debug_print(reinterpret_cast<intptr_t>(descriptor.data()),
                      static_cast<intptr_t>(pointers.size()),
                      reinterpret_cast<intptr_t>(pointers.data()));
}

} // namespace bregman
