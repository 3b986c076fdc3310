#!/usr/bin/env bash
# The public API reference: Doxygen over the installed headers, into
# build/docs/html (open index.html). Installs Debian's doxygen when missing
# (only this command needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BREGMAN_BUILD_DIR:-build}
if ! command -v doxygen >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends doxygen
fi
./scripts/build.sh build.ninja # configure once, like every build
cmake "$build" >/dev/null      # find doxygen if it came after the configuration
ninja -C "$build" docs
echo "docs: $(realpath "$build")/docs/html/index.html"
