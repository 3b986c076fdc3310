#!/usr/bin/env bash
# Regenerates tests/unit/frontend/golden/optimizers.json with JAX (float64).
#
# Creates the virtual environment .venv-golden in the repository root
# (git-ignored), installs scripts/golden/requirements.txt from PyPI and runs
# scripts/golden/make_goldens.py. The generated JSON is committed; the C++
# test GoldenTest.cpp only reads it, so neither Python nor JAX is needed to
# build or run the tests.
#
#   scripts/golden/make-goldens.sh [--out PATH]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-golden"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"

out="$root/tests/unit/frontend/golden/optimizers.json"
if [[ "${1:-}" == "--out" && -n "${2:-}" ]]; then
  out="$2"
fi
JAX_PLATFORMS=cpu "$venv/bin/python" "$here/make_goldens.py" --out "$out"
