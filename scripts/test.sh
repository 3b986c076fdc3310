#!/usr/bin/env bash
# Sets up, builds and runs every test: lit/FileCheck, GoogleTest (unit and
# end-to-end training on Fashion-MNIST) and the command-line checks; then
# installs, packages and builds every example against the result
# (scripts/test-examples.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
(cd "${BREGMAN_BUILD_DIR:-build}" && ctest --output-on-failure -j2)
./scripts/test-examples.sh
