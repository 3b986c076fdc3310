#!/usr/bin/env bash
# Creates .venv-onnx (PyTorch, onnx, onnxruntime from PyPI; outside CI) and
# exports the test models (scripts/onnx/export_models.py): without arguments
# mlp.onnx and convnet.onnx; `zoo table` the 19 models of issue 18 into
# runs/onnx-models, `zoo ci` their small copies into tests/e2e/onnx/models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-onnx"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$root/scripts/onnx/requirements.txt"
cd "$root"
exec "$venv/bin/python" scripts/onnx/export_models.py "$@"
