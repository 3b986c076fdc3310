#!/usr/bin/env bash
# The side-by-side benchmark against the peers (issue 7): bregman vs PyTorch
# eager, torch.compile and JAX jit on this machine's CPU, in one run, printed
# as one table (see docs/PERFORMANCE.md).
#
# Creates the virtual environment .venv-bench in the repository root
# (git-ignored), installs bench/requirements-peers.txt from PyPI into it,
# builds bregman_bench and the CPU kernels plugin (whose bregman_cpu_sgemm it
# times) with scripts/build.sh and runs bench/peers.py.
# Arguments go to peers.py:
#   bench/peers.sh                      # the full run (about 8 minutes)
#   bench/peers.sh --json out.json      # also keep every measurement
#   bench/peers.sh --quick              # a short smoke run, not figures
#   bench/peers.sh --vit-only           # only the Transformer (vit) step
# PYTHON picks the interpreter that creates the environment (default
# python3); BREGMAN_BUILD_DIR the build directory (default build).
# Nothing here is a test: no test runs it and none depends on its timings.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-bench"
python="${PYTHON:-python3}"
build="${BREGMAN_BUILD_DIR:-build}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$root/bench/requirements-peers.txt"

(cd "$root" && ./scripts/build.sh bregman_bench bregman_cpu_kernels)

exec "$venv/bin/python" "$root/bench/peers.py" \
  --bench "$root/$build/bin/bregman_bench" "$@"
