//===- DebugPrint.h - debugPrint's descriptor (internal) --------*- C++ -*-===//

#ifndef BREGMAN_LIB_DEBUGPRINT_H
#define BREGMAN_LIB_DEBUGPRINT_H

#include "bregman/Tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace bregman::detail {

/// What bregman_debug_print reads (runtime/CpuLibrary.h): the format, a
/// NUL, then "dtype rank dims..." and a NUL per value.
std::string debugPrintDescriptor(
    const std::string &format,
    const std::vector<std::pair<Shape, DType>> &values);

} // namespace bregman::detail

#endif // BREGMAN_LIB_DEBUGPRINT_H
