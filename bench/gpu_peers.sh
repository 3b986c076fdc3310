#!/usr/bin/env bash
# The GPU benchmark against the peers on the same card (issue 4): builds
# bregman_bench and runs bench/gpu_peers.py. Uses the python3 of the machine
# when it has torch and jax with CUDA (GPU machines usually do, and may have
# no network); otherwise creates .venv-bench-gpu and installs
# bench/requirements-gpu-peers.txt from PyPI. Arguments go to gpu_peers.py
# (e.g. --json out.json). Nothing here is a test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BREGMAN_BUILD_DIR:-build}"
python="${PYTHON:-python3}"
if ! "$python" -c "import torch, jax" 2>/dev/null; then
  venv="$root/.venv-bench-gpu"
  [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet -r "$root/bench/requirements-gpu-peers.txt"
  python="$venv/bin/python"
fi
(cd "$root" && ./scripts/build.sh bregman_bench)
exec "$python" "$root/bench/gpu_peers.py" --bench "$root/$build/bin/bregman_bench" "$@"
