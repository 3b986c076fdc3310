#!/usr/bin/env bash
# Creates .venv-onnx (PyTorch, onnx, onnxruntime from PyPI; outside CI) and
# exports the test models (scripts/onnx/export_models.py): without arguments
# mlp.onnx and convnet.onnx; `zoo table` the 19 models of issue 18 into
# runs/onnx-models, `zoo ci` their small copies into tests/e2e/onnx/models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-onnx" "$root/scripts/onnx/requirements.txt")
cd "$root"
exec "$python" scripts/onnx/export_models.py "$@"
