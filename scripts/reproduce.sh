#!/usr/bin/env bash
# Reruns one row of the paper's tables (docs/EXPERIMENTS.md) with the exact
# command its stored report came from (rows: scripts/experiments/rows.json).
#   scripts/reproduce.sh --list            the rows, their commands, epochs stored
#   scripts/reproduce.sh ROW [--out DIR] [--data DIR]
# Writes DIR/ROW.jsonl (the report) and DIR/ROW.ckpt (a checkpoint after every
# epoch; default DIR: build/experiments). Run it again to continue a stopped
# run from its checkpoint. It never replaces an existing report.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tool="$repo/scripts/experiments/experiments.py"
if [ "${1:-}" = "--list" ]; then
  exec python3 "$tool" list "$repo/docs/experiments"
fi
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { sed -n '2,9p' "$0" | cut -c3-; exit 2; }
row=$1; shift
out="$repo/build/experiments"; data=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "reproduce.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bregman=${BREGMAN:-$repo/build/bin/bregman}
[ -x "$bregman" ] || { echo "reproduce.sh: no $bregman: build first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"
extra=()
[ -n "$data" ] && extra=("$data")
exec python3 "$tool" run "$row" "$out" "$bregman" "${extra[@]}"
