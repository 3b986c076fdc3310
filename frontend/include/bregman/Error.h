//===- Error.h - Errors of the bregman API ----------------------*- C++ -*-===//
//
// The user-facing layers (DSL, data, command line) report failures as
// exceptions; the compiler underneath uses LogicalResult / llvm::Expected and
// its messages are converted here, at the boundary.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ERROR_H
#define BREGMAN_ERROR_H

#include "bregman/SourceLocation.h"

#include <stdexcept>
#include <string>

namespace bregman {

/// A failure the user can act on: the message names what and where. Thrown
/// while a DSL operation called from a known place runs (SourceLocation.h),
/// the message starts with that place: "model.cpp:42: add: shapes ...".
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message);
};

} // namespace bregman

#endif // BREGMAN_ERROR_H
