#!/usr/bin/env bash
# Regenerates tests/unit/frontend/golden/ssim.json with scikit-image
# (float64). Creates the virtual environment .venv-ssim in the repository
# root (git-ignored), installs scripts/golden/requirements-ssim.txt from PyPI
# and runs scripts/golden/make_ssim_goldens.py. The JSON is committed; the
# C++ test SsimTest.cpp only reads it.
#
#   scripts/golden/make-ssim-goldens.sh [--out PATH]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-ssim"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-ssim.txt"

out="$root/tests/unit/frontend/golden/ssim.json"
if [[ "${1:-}" == "--out" && -n "${2:-}" ]]; then
  out="$2"
fi
"$venv/bin/python" "$here/make_ssim_goldens.py" --out "$out"
