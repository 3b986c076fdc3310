//===- SourceLocation.cpp - Where the user called the DSL -----------------===//

#include "bregman/SourceLocation.h"
#include "bregman/Error.h"

#include <cstring>

namespace bregman {

namespace {
struct ActiveSite {
  bool active = false;
  SourceLocation loc;
};
thread_local ActiveSite activeSite;

/// "file:line: " for the active place, "" without one.
std::string activePrefix() {
  if (!activeSite.active || !activeSite.loc.known())
    return "";
  return activeSite.loc.str() + ": ";
}

/// The message with the active place in front (once: an Error rethrown with
/// its own text inside the same call keeps a single prefix).
std::string withCallSite(const std::string &message) {
  std::string prefix = activePrefix();
  if (prefix.empty() || message.compare(0, prefix.size(), prefix) == 0)
    return message;
  return prefix + message;
}
} // namespace

std::string SourceLocation::str() const {
  return known() ? std::string(file_) + ":" + std::to_string(line_) : "";
}

CallSite::CallSite(SourceLocation loc, bool replace)
    : active(replace || !activeSite.active), wasActive(activeSite.active),
      saved(activeSite.loc) {
  if (active)
    activeSite = {true, loc};
}

CallSite::~CallSite() {
  if (active)
    activeSite = {wasActive, saved};
}

SourceLocation CallSite::current() {
  return activeSite.active ? activeSite.loc : SourceLocation{};
}

Error::Error(const std::string &message)
    : std::runtime_error(withCallSite(message)) {}

} // namespace bregman
