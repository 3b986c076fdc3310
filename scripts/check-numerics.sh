#!/usr/bin/env bash
# The numerics check: bregman's ops, values and gradients, against JAX (and
# PyTorch where JAX has no matching op) on about 240 hostile cases (special
# values, overflow thresholds, ties, zero sizes, long reductions, sweeps).
#
#   scripts/check-numerics.sh [BUILD_DIR]      # BUILD_DIR: default build
#
# Installs BUILD_DIR (already built) into a temporary prefix, builds
# scripts/numerics/harness.cpp against it as a user's program would be,
# runs it and checks its output with scripts/numerics/compare.py, which
# prints one line per case and exits 1 when any case fails.
# compare.py runs in .venv-bench (created by scripts/python-venv.sh from
# bench/requirements-peers.txt: numpy, torch, jax); NUMERICS_PYTHON names
# an interpreter to use instead (it must have those three).
# NUMERICS_OUTPUT=FILE keeps the harness's raw output there.
# Note: cmake --install writes install_manifest.txt into BUILD_DIR.
# Nothing here is part of the build or the tests.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
[[ "$build" == /* ]] || build="$root/$build"

fail() {
  echo "check-numerics: $*" >&2
  exit 2
}

[[ $# -le 1 ]] || fail "usage: scripts/check-numerics.sh [BUILD_DIR]"
# The raw output goes to a new file only: nothing of the user's is replaced.
if [[ -n "${NUMERICS_OUTPUT:-}" && -e "$NUMERICS_OUTPUT" ]]; then
  fail "NUMERICS_OUTPUT=$NUMERICS_OUTPUT exists: name a new file"
fi
[[ -f "$build/cmake_install.cmake" ]] ||
  fail "$build is not a configured build directory (build it first: scripts/build.sh)"

work="$(mktemp -d "${TMPDIR:-/tmp}/check-numerics.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

echo "check-numerics: installing $build into a temporary prefix"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install $build failed"; }

echo "check-numerics: building the harness"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root/scripts/numerics" -B "$work/harness" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "configuring the harness failed"; }
cmake --build "$work/harness" >"$work/compile.log" 2>&1 ||
  { cat "$work/compile.log" >&2; fail "building the harness failed"; }

if [[ -n "${NUMERICS_PYTHON:-}" ]]; then
  python="$NUMERICS_PYTHON"
else
  echo "check-numerics: preparing $root/.venv-bench"
  # shellcheck source=scripts/python-venv.sh
  source "$root/scripts/python-venv.sh"
  python="$(python_venv "$root/.venv-bench" "$root/bench/requirements-peers.txt")" ||
    fail "could not prepare the Python environment .venv-bench"
fi

echo "check-numerics: running the cases"
# A crashing case is reported in the output (CRASH) and fails in compare.py;
# the harness itself exits 0 unless it could not run at all.
"$work/harness/numerics_harness" >"$work/output.txt" 2>"$work/harness.log" ||
  { tail -n 20 "$work/harness.log" >&2; fail "the harness failed to run"; }
if [[ -n "${NUMERICS_OUTPUT:-}" ]]; then
  cp -- "$work/output.txt" "$NUMERICS_OUTPUT"
fi

echo "check-numerics: comparing with JAX ($python)"
status=0
"$python" "$root/scripts/numerics/compare.py" "$work/output.txt" || status=$?
if [[ $status -ne 0 ]]; then
  echo "check-numerics: FAILED (rerun one case: the harness's --only NAME, compare.py --only NAME)" >&2
fi
exit "$status"
