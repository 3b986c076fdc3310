#!/usr/bin/env bash
# Builds the Debian package bregman_<version>_amd64.deb (cpack -G DEB) into
# OUTDIR (default: the build directory). Builds what it installs first.
#   ./scripts/package.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BREGMAN_BUILD_DIR:-build}
./scripts/build.sh bregman bregman-run bregman-opt bregman_cpu_kernels \
  bregman_shared bregman_runtime_shared
out=$(realpath -m "${1:-$build}")
mkdir -p "$out"
staging_existed=0
[ -e "$out/_CPack_Packages" ] && staging_existed=1
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out"
# cpack's staging tree is not the package: removed unless it was there before.
[ "$staging_existed" = 1 ] || rm -rf "$out/_CPack_Packages"
ls "$out"/bregman_*_amd64.deb
