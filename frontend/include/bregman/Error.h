//===- Error.h - Errors of the bregman API ----------------------*- C++ -*-===//
//
// The user-facing layers (DSL, data, command line) report failures as
// exceptions; the compiler underneath uses LogicalResult / llvm::Expected and
// its messages are converted here, at the boundary.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ERROR_H
#define BREGMAN_ERROR_H

#include <stdexcept>
#include <string>

namespace bregman {

/// A failure the user can act on: the message names what and where.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace bregman

#endif // BREGMAN_ERROR_H
