#!/usr/bin/env bash
# Checks models against onnxruntime (see check_onnxruntime.py); outside CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-onnx" "$root/scripts/onnx/requirements.txt")
exec "$python" "$root/scripts/onnx/check_onnxruntime.py" "$@"
