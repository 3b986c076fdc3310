#!/usr/bin/env bash
# The ConvNet step against PyTorch eager and JAX jit (issue 5), in one run.
# Creates .venv-bench with bench/requirements-peers.txt (as bench/peers.sh),
# builds bregman_bench and runs bench/convnet_peers.py; arguments go to it.
# Nothing here is a test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-bench"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$root/bench/requirements-peers.txt"
(cd "$root" && ./scripts/build.sh bregman_bench)
exec "$venv/bin/python" "$root/bench/convnet_peers.py" \
  --bench "$root/${BREGMAN_BUILD_DIR:-build}/bin/bregman_bench" "$@"
