#!/usr/bin/env bash
# Creates .venv-onnx (PyTorch, onnx, onnxruntime from PyPI; outside CI) and
# exports the test models of the retraining checks (scripts/onnx/export_models.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-onnx"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$root/scripts/onnx/requirements.txt"
cd "$root"
exec "$venv/bin/python" scripts/onnx/export_models.py "$@"
