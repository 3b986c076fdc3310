#!/usr/bin/env bash
# The 19-model table of issue 18 (scripts/onnx/model_table.py): exports the
# models into runs/onnx-models once (scripts/onnx/export-models.sh zoo
# table), then inspects, runs and retrains each with build/bin/bregman and
# prints a Markdown table. Outside CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-onnx"
if [[ ! -d "$root/runs/onnx-models" ]]; then
  "$root/scripts/onnx/export-models.sh" zoo table
fi
cd "$root"
exec "$venv/bin/python" scripts/onnx/model_table.py "$@"
