#!/usr/bin/env bash
# Configures (once) and builds bregman into ./build with Debian's clang-22,
# LLVM/MLIR 22 (shared libMLIR.so), ninja, ccache and lld.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BREGMAN_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DLLVM_USE_LINKER=lld
fi
ninja -C "$build" "$@"
