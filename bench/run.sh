#!/usr/bin/env bash
# Builds bregman_bench and runs it with 5 repetitions, reporting aggregates
# only. Extra arguments go to the benchmark, e.g.
#   bench/run.sh --benchmark_filter=LinBreg --no_summary
# BUILD_DIR picks the build directory (default: build).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DLLVM_USE_LINKER=lld
fi
ninja -C "$build" bregman_bench

exec "$build/bin/bregman_bench" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
