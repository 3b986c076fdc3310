//===- SourceLocation.h - Where the user called the DSL ---------*- C++ -*-===//
//
// C++17 has no std::source_location, so the DSL's functions take a trailing
// `SourceLocation loc = SourceLocation::current()`: clang and gcc evaluate
// __builtin_FILE()/__builtin_LINE() in a default argument at the caller. The
// outermost DSL call made from a place is its `CallSite` while it runs: an
// Error thrown meanwhile starts with that place ("file.cpp:42: add: shapes
// ..."), and the trace nodes it records keep it for errors found later
// (emission, verification, differentiation).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_SOURCELOCATION_H
#define BREGMAN_SOURCELOCATION_H

#include <string>

namespace bregman {

/// A place in the user's source: file and line (unknown by default). Not an
/// aggregate, so that a braced list meant for a preceding parameter (the
/// axes of `sum(x, {0})`) cannot become a location.
class SourceLocation {
public:
  constexpr SourceLocation() = default;
  /// The caller's place, when used as a default argument.
  static constexpr SourceLocation current(const char *file = __builtin_FILE(),
                                          int line = __builtin_LINE()) {
    SourceLocation loc;
    loc.file_ = file;
    loc.line_ = line;
    return loc;
  }
  const char *file() const { return file_; }
  int line() const { return line_; }
  bool known() const { return file_ != nullptr; }
  /// "file:line", or "" when unknown.
  std::string str() const;

private:
  const char *file_ = nullptr;
  int line_ = 0;
};

/// Makes `loc` the place of the DSL operation running on this thread for
/// its lifetime — unless an enclosing CallSite is active (the user's call of
/// a composite, e.g. crossEntropy, names the place, not the primitives it
/// is built from), or `replace` is set (the reverse pass records each
/// gradient at the place of the forward operation it differentiates). An
/// unknown `loc` hides the places of the calls made inside it.
class CallSite {
public:
  explicit CallSite(SourceLocation loc, bool replace = false);
  ~CallSite();
  CallSite(const CallSite &) = delete;
  CallSite &operator=(const CallSite &) = delete;

  /// The active place (unknown outside every CallSite).
  static SourceLocation current();

private:
  bool active;
  bool wasActive;
  SourceLocation saved;
};

} // namespace bregman

#endif // BREGMAN_SOURCELOCATION_H
