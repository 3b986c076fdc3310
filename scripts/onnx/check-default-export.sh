#!/usr/bin/env bash
# PyTorch's default ONNX export of small models, run by bregman and compared
# with PyTorch (see check_default_export.py); outside CI. Needs the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-onnx" "$root/scripts/onnx/requirements.txt")
exec "$python" "$root/scripts/onnx/check_default_export.py" "$@"
