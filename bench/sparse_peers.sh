#!/usr/bin/env bash
# Sparse MLP inference against the peers' sparse formats (issue 16): our CSR
# layers against torch.sparse's CSR and JAX's BCOO, in one run, one thread
# each. Creates .venv-bench with bench/requirements-peers.txt (as
# bench/peers.sh), builds bregman_sparse_bench and runs bench/sparse_peers.py;
# arguments go to it (e.g. --json out.json). Nothing here is a test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-bench" "$root/bench/requirements-peers.txt")
(cd "$root" && ./scripts/build.sh bregman_sparse_bench)
exec "$python" "$root/bench/sparse_peers.py" \
  --bench "$root/${BREGMAN_BUILD_DIR:-build}/bin/bregman_sparse_bench" "$@"
