//===- CommandBoundary.h - A command's failures as exit status -*- C++ -*-===//
//
// runArtifactCommand and runInferenceCommand are the boundary of a command
// line tool: every failure becomes a message on stderr and exit status 1,
// never an abort.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_COMMANDBOUNDARY_H
#define BREGMAN_RUNTIME_COMMANDBOUNDARY_H

#include <exception>
#include <iostream>

namespace bregman::runtime {

/// Runs `body`; 0 when it returns, 1 (after the message) when it throws.
template <typename Body> int exitStatusOf(Body &&body) {
  try {
    body();
    return 0;
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: an unexpected failure (not a std::exception)\n";
  }
  return 1;
}

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_COMMANDBOUNDARY_H
