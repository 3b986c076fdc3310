#!/usr/bin/env bash
# The ConvNet step against PyTorch eager and JAX jit (issue 5), in one run.
# Creates .venv-bench with bench/requirements-peers.txt (as bench/peers.sh),
# builds bregman_bench and runs bench/convnet_peers.py; arguments go to it.
# Nothing here is a test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-bench" "$root/bench/requirements-peers.txt")
(cd "$root" && ./scripts/build.sh bregman_bench)
exec "$python" "$root/bench/convnet_peers.py" \
  --bench "$root/${BREGMAN_BUILD_DIR:-build}/bin/bregman_bench" "$@"
