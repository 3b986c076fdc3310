#!/usr/bin/env bash
# The table of docs/EXPERIMENTS.md ("The paper's tables at 100 epochs"),
# derived from the stored reports docs/experiments/ROW.jsonl.
#   scripts/experiments-table.sh           print it
#   scripts/experiments-table.sh --check   exit 1 unless the document holds it (CI)
#   scripts/experiments-table.sh --write   put it into the document
#   scripts/experiments-table.sh --compare ROW   ROW's epochs beside the method's
#                                           own run of the same settings, where stored
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tool="$repo/scripts/experiments/experiments.py"
reports="$repo/docs/experiments"; doc="$repo/docs/EXPERIMENTS.md"
case ${1:-} in
  "") exec python3 "$tool" table "$reports" ;;
  --check) exec python3 "$tool" check "$reports" "$doc" ;;
  --write) exec python3 "$tool" write "$reports" "$doc" ;;
  --compare) exec python3 "$tool" compare "$reports" "${2:?--compare needs a row}" ;;
  *) sed -n '2,8p' "$0" | cut -c3-; exit 2 ;;
esac
