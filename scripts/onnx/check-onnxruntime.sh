#!/usr/bin/env bash
# Checks models against onnxruntime (see check_onnxruntime.py); outside CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-onnx"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$root/scripts/onnx/requirements.txt"
exec "$venv/bin/python" "$root/scripts/onnx/check_onnxruntime.py" "$@"
