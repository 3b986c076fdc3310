#!/usr/bin/env bash
# Issue 18's check that `bregman retrain` trains imported models as PyTorch
# does (scripts/onnx/check_training.py: the same images, plain SGD, batch norm
# in training mode; per-step losses, parameter updates, running statistics,
# test accuracy). Uses .venv-onnx (created as scripts/onnx/export-models.sh
# does) and build/bin/bregman. Outside CI.
#   scripts/onnx/check-training.sh [--size ci|table] [--only NAME ...] [--steps N] [--lr LR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-onnx"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$root/scripts/onnx/requirements.txt"
cd "$root"
exec "$venv/bin/python" scripts/onnx/check_training.py "$@"
