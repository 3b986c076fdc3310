#!/usr/bin/env bash
# Installs every Debian package bregman needs to build, test and train. Idempotent:
# apt-get skips what is already installed, and the package index is refreshed only
# when a package is missing.
set -euo pipefail

packages=(
  # Toolchain: Debian's LLVM/MLIR 22 (shared libMLIR.so), clang to build, lld to link.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld
  cmake ninja-build ccache pkg-config
  # Libraries the project uses (see README "Libraries").
  libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev libopenblas-dev libdnnl-dev
  libonnx-dev libprotobuf-dev
  libomp5-14
  libgtest-dev libgmock-dev libbenchmark-dev
  # libFuzzer and AddressSanitizer for the importer's fuzz target.
  libclang-rt-22-dev
  # The Debian package (cpack -G DEB: dpkg-shlibdeps, file).
  dpkg-dev file
  # Data and plots.
  dataset-fashion-mnist gnuplot-nox
  # The ONNX conformance cases (models with inputs and expected outputs).
  libonnx-testdata
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
