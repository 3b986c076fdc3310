#!/usr/bin/env bash
# Sets up, builds and runs every test: lit/FileCheck, GoogleTest (unit and
# end-to-end training on Fashion-MNIST) and the command-line checks; then
# installs, packages and builds every example against the result
# (scripts/test-examples.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# Every jit compilation verifies its IR after each pass (by default only
# after the last): a pass that breaks the IR is named where it happens.
export BREGMAN_VERIFY_PASSES=1
# Every test compiles what it runs: no compilation linked from a cache the
# caller's environment may name.
unset BREGMAN_COMPILE_CACHE
(cd "${BREGMAN_BUILD_DIR:-build}" && ctest --output-on-failure -j2)
./scripts/test-examples.sh
