#!/usr/bin/env bash
# gpu-kit.sh build DIR [--chip sm_90] [--small] [--build BUILD_DIR]
#
# Writes a self-contained GPU check kit (at most 48 MiB) to DIR, for a
# machine with an NVIDIA driver and python but no MLIR/LLVM (docs/BENCHMARKS.md):
#   bin/bregman-run, lib/ (its libstdc++, libgcc_s, libz: only glibc >= 2.34
#   is needed there), steps/NAME/cuda (CUDA artifacts compiled here for the
#   chip: fatbins, cubin + PTX, where this toolkit has ptxas and fatbinary;
#   values.bin gzipped),
#   steps/NAME/expected.json (the CPU's results of the same calls on the same
#   state and batch, summarized), tools/ (kit.py, torch_bench.py), run.sh.
# The steps: the MLP (784-200-80-10) with LinBreg, momentum and AdaBreg and
# LinBreg with each regularizer (l1_pos, l1_l2, l1_l1_l2: the fused updates),
# the ConvNet (cuDNN), ResNet-18 (--width 64) on Fashion-MNIST's 28x28x1 and
# on CIFAR-sized 32x32x3 images (pseudo-random ones in CIFAR-10's layout:
# the step's shapes, not CIFAR-10's accuracy), and the fused LinBreg update
# alone on 2^24 floats (bregman_kit_update; run.sh times it against a
# device-to-device copy of the same bytes). extras lists what run.sh does
# beyond checking and timing each step: the TF32 variants (--tf32) of the
# MLP and ConvNet, the update's bandwidth. --small: the MLP with LinBreg
# and the update on 2^16 floats (CI). Prints the kit's size.
set -euo pipefail
usage() { echo "usage: gpu-kit.sh build DIR [--chip sm_90] [--small] [--build BUILD_DIR]" >&2; exit 2; }
[ "${1:-}" = build ] || usage
kit=${2:-}
# "build --small" took --small for the folder.
case $kit in ''|-*) usage ;; esac
shift 2
repo=$(cd "$(dirname "$0")/.." && pwd)
chip=sm_90 small=0 build="$repo/build"
while [ $# -gt 0 ]; do
  case $1 in
    --chip) [ $# -ge 2 ] || usage; chip=$2; shift 2 ;;
    --small) small=1; shift ;;
    --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    *) usage ;;
  esac
done
# Said before minutes of compiling end in ptxas's "not defined".
if ! [[ $chip =~ ^sm_[0-9]{2,3}[af]?$ ]]; then
  echo "gpu-kit.sh: --chip $chip: expected sm_<number> (sm_80, sm_90, sm_90a, sm_120)" >&2; exit 2
fi
# A chip this toolkit does not know (sm_999) failed in ptxas after the
# compile; nvcc lists what it knows.
nvcc=${CUDA_HOME:-/usr/local/cuda}/bin/nvcc
if [ -x "$nvcc" ] && known=$("$nvcc" --list-gpu-arch 2>/dev/null); then
  base=${chip%[af]}
  if ! grep -qx "compute_${base#sm_}" <<< "$known"; then
    echo "gpu-kit.sh: --chip $chip: not a chip of this CUDA toolkit ($(echo $known | sed 's/compute_/sm_/g'))" >&2; exit 2
  fi
fi
for tool in bregman bregman-run bregman_kit_update; do
  [ -x "$build/bin/$tool" ] || { echo "gpu-kit.sh: $build/bin/$tool is missing (build it first)" >&2; exit 1; }
done
# Only a directory this script made (or an empty/new one) is written into;
# the marker comes first, so a build that failed halfway can be redone.
marker=.bregman-gpu-kit
if [ -e "$kit" ] && { [ ! -d "$kit" ] || [ -n "$(ls -A "$kit")" ]; } &&
   [ ! -f "$kit/$marker" ] && [ ! -f "$kit/chip" ]; then
  echo "gpu-kit.sh: $kit exists and is not a kit: nothing was changed" >&2; exit 1
fi
mkdir -p "$kit"
echo "a GPU check kit written by scripts/gpu-kit.sh" > "$kit/$marker"
rm -rf "$kit/steps" "$kit/bin" "$kit/lib" "$kit/tools"
mkdir -p "$kit/bin" "$kit/lib" "$kit/steps" "$kit/tools"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check_steps=3
update_elements=$(( 1 << 24 ))
[ $small = 1 ] && update_elements=$(( 1 << 16 ))
# name | tolerance rtol atol (GpuTrainingTest: 1e-3 relative) | timed calls | bregman train options
# (or "update": the fused update alone, from bregman_kit_update)
cases=(
  "mlp-linbreg|1e-3 1e-5|100|--model mlp"
  "update-linbreg|1e-3 1e-5|200|update"
)
if [ $small = 0 ]; then
  cases+=(
    "mlp-momentum|1e-3 1e-5|100|--model mlp --momentum 0.9"
    "mlp-adabreg|1e-3 1e-5|100|--model mlp --optimizer adabreg"
    "mlp-l1pos|1e-3 1e-5|100|--model mlp --reg l1_pos"
    "mlp-l1l2|1e-3 1e-5|100|--model mlp --reg l1_l2"
    "mlp-l1l1l2|1e-3 1e-5|100|--model mlp --reg l1_l1_l2 --lambda2 0.01"
    "convnet|1e-3 1e-5|50|--model convnet"
    "resnet18|1e-3 1e-5|20|--model resnet18 --width 64"
    "resnet18-cifar|1e-3 1e-5|20|--model resnet18 --width 64 --dataset cifar10 --data @CIFAR@"
  )
  python3 "$repo/scripts/gpu-kit/kit.py" fake-cifar "$tmp/cifar" 520
fi
# What run.sh does besides checking and timing each case: kind, case,
# tolerance (TF32: a 10-bit mantissa, ~1e-3 relative per product, so
# GpuTrainingTest's TF32 tolerance 1e-2 relative + 1e-4), timed calls; and
# the update against a copy of the same bytes.
{
  echo "tf32 mlp-linbreg 1e-2 1e-4 100"
  [ $small = 0 ] && echo "tf32 convnet 1e-2 1e-4 50"
  echo "bandwidth update-linbreg $update_elements 200"
} > "$kit/extras"

# The CUDA artifact of one case in $kit/steps/NAME/cuda and the CPU's in
# $tmp/NAME-cpu, from the same state and first batch.
make_artifacts() { # name options
  local name=$1 options=$2
  if [ "$options" = update ]; then
    "$build/bin/bregman_kit_update" "$tmp/$name" --elements "$update_elements" \
      --chip "$chip" > "$tmp/$name.log" 2>&1
    mv "$tmp/$name/cuda" "$kit/steps/$name/cuda"
    mv "$tmp/$name/cpu" "$tmp/$name-cpu"
    return
  fi
  # The options are words; @CIFAR@ is the pictures' folder, one word even
  # where $TMPDIR holds a space.
  local words=() word
  read -ra words <<< "$options"
  for word in "${!words[@]}"; do
    [ "${words[$word]}" = @CIFAR@ ] && words[word]="$tmp/cifar"
  done
  "$build/bin/bregman" train "${words[@]}" --device cuda --cuda-chip "$chip" \
    --save-step "$kit/steps/$name/cuda" --train-limit 500 --no-progress > "$tmp/$name.log"
  "$build/bin/bregman" train "${words[@]}" --device cpu \
    --save-step "$tmp/$name-cpu" --train-limit 500 --no-progress >> "$tmp/$name.log"
}

: > "$kit/cases"
for entry in "${cases[@]}"; do
  IFS='|' read -r name tol timed options <<< "$entry"
  echo "gpu-kit.sh: $name ($options)"
  mkdir -p "$kit/steps/$name"
  make_artifacts "$name" "$options"
  # The initial state is mostly zeros (sparse initialization) or periodic
  # (the update): ResNet-18's 90 MB compress to 1.5 MB; run.sh unpacks it.
  gzip -6 "$kit/steps/$name/cuda/values.bin"
  "$build/bin/bregman-run" "$tmp/$name-cpu" --steps $check_steps --quiet \
    --save "$tmp/$name-cpu-after" >> "$tmp/$name.log"
  python3 "$repo/scripts/gpu-kit/kit.py" summarize "$tmp/$name-cpu-after" \
    "$kit/steps/$name/expected.json"
  rm -rf "$tmp/$name-cpu" "$tmp/$name-cpu-after" "$tmp/$name"
  echo "$name $tol $timed" >> "$kit/cases"
done
cp "$build/bin/bregman-run" "$kit/bin/"
# What bregman-run needs besides glibc, from this machine.
for lib in libstdc++.so.6 libgcc_s.so.1 libz.so.1; do
  path=$(ldd "$build/bin/bregman-run" | awk -v l="$lib" '$1 == l { print $3 }')
  [ -n "$path" ] && cp -L "$path" "$kit/lib/$lib"
done
cp "$repo/scripts/gpu-kit/kit.py" "$repo/scripts/gpu-kit/torch_bench.py" "$kit/tools/"
cp "$repo/scripts/gpu-kit/run.sh" "$kit/run.sh"
echo "$chip" > "$kit/chip"
echo "$check_steps" > "$kit/check-steps"
bytes=$(du -sb "$kit" | cut -f1)
echo "gpu-kit.sh: kit $kit for $chip: $(( bytes / 1024 )) KiB ($(wc -l < "$kit/cases") steps)"
if [ "$bytes" -gt $(( 48 * 1024 * 1024 )) ]; then
  echo "gpu-kit.sh: the kit is over 48 MiB" >&2; exit 1
fi
