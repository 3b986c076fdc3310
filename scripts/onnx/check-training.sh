#!/usr/bin/env bash
# Issue 18's check that `bregman retrain` trains imported models as PyTorch
# does (scripts/onnx/check_training.py: the same images, plain SGD, batch norm
# in training mode; per-step losses, parameter updates, running statistics,
# test accuracy). Uses .venv-onnx (created as scripts/onnx/export-models.sh
# does) and build/bin/bregman. Outside CI.
#   scripts/onnx/check-training.sh [--size ci|table] [--only NAME ...] [--steps N] [--lr LR]
#     [--relu-flips]  (find first-step departures that are ReLU masks decided by rounding)
#     [--stepwise]    (every step from bregman's own state)
#     [--flip-candidates N] [--flip-modules NAME ...]  (how wide the mask search looks)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/python-venv.sh"
python=$(python_venv "$root/.venv-onnx" "$root/scripts/onnx/requirements.txt")
cd "$root"
exec "$python" scripts/onnx/check_training.py "$@"
