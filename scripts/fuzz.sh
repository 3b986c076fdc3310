#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), outside CI: the
# longer runs that ctest's bounded ones (label fuzz) cannot afford. Builds
# the targets into ./build first; a crashing input is left in
# build/tests/fuzz/fuzz-work-<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
build=${BREGMAN_BUILD_DIR:-build}
targets=(bregman_onnx_fuzzer bregman_idx_fuzzer bregman_cifar_fuzzer
         bregman_checkpoint_fuzzer bregman_artifact_fuzzer
         bregman_calibration_fuzzer bregman_tensorproto_fuzzer
         bregman_compile_cache_fuzzer)
./scripts/build.sh "${targets[@]}"
cmake -DBREGMAN_FUZZ_SECONDS="$seconds" "$build" >/dev/null
status=0
ctest --test-dir "$build" -L fuzz --output-on-failure --timeout $((seconds * 2 + 120)) || status=$?
cmake -DBREGMAN_FUZZ_SECONDS=22 "$build" >/dev/null # back to CI's bound
exit $status
