#!/usr/bin/env bash
# Trains the MLP with every optimizer on the same data and seed, prints one
# table (best-by-validation test accuracy, net and node density at that epoch,
# time per epoch) and draws the curves (test accuracy and net density per
# epoch, one line per optimizer).
#   scripts/compare.sh [--epochs N] [--out DIR] [-- extra `bregman train` flags]
# Settings are the reference ones (ALGORITHMS.md §7) adapted to Fashion-MNIST.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."
epochs=10 out=runs/compare extra=()
usage() { echo "usage: $0 [--epochs N] [--out DIR] [-- bregman train flags]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) [ $# -ge 2 ] || usage; epochs=$2; shift 2 ;;
    # A relative --out is the caller's, not the repository's.
    --out) [ $# -ge 2 ] || usage; out=$2; [ "${out#/}" != "$out" ] || out="$caller/$out"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) usage ;;
  esac
done
# --epochs goes into each run's flags: a whole number only ("1 --seed 7"
# added flags).
[[ $epochs =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --epochs $epochs: expected a positive whole number" >&2; exit 2; }
for arg in "${extra[@]}"; do
  case $arg in --epochs|--epochs=*|--report|--report=*)
    echo "compare.sh: pass $arg as compare.sh's own option, not after --" >&2; exit 2 ;;
  esac
done
bregman=build/bin/bregman
[ -x "$bregman" ] || ./scripts/build.sh bregman
mkdir -p "$out"

runs=(
  "linbreg|--optimizer linbreg --lambda 0.1"
  "linbreg-momentum|--optimizer linbreg --lambda 0.1 --momentum 0.9"
  "linbreg-l1_l2|--optimizer linbreg --reg l1_l2 --lambda 0.01 --init-p 0.1"
  "adabreg|--optimizer adabreg --lambda 0.1"
  "proxsgd|--optimizer proxsgd --lambda 1e-4"
  "sgd|--optimizer sgd"
  "adam|--optimizer adam"
  "lasso+threshold|--optimizer proxsgd --lambda 1e-4 --threshold 0.01"
  "pruning+retrain|--optimizer sgd --prune-density 0.05 --retrain-epochs $epochs"
)
reports=()
for run in "${runs[@]}"; do
  name=${run%%|*} flags=${run#*|}
  echo "== $name: bregman train $flags --epochs $epochs ${extra[*]}"
  # shellcheck disable=SC2086
  "$bregman" train $flags --epochs "$epochs" --no-progress \
    --report "$out/$name.jsonl" "${extra[@]}" > "$out/$name.log"
  tail -n 2 "$out/$name.log"
  reports+=("$out/$name.jsonl")
done

python3 - "${reports[@]}" <<'PY' | tee "$out/table.md"
import json, os, sys
print("| optimizer | best val epoch | test acc | net density | node density | s/epoch |")
print("|---|---|---|---|---|---|")
import re
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path) if l.strip()]
    # Epoch lines only (a thresholded run's last line is its result); the
    # first epoch, which compiles, is left out where there are others.
    timed = [r["seconds"] for r in rows if "seconds" in r]
    timed = timed[1:] if len(timed) > 1 else timed
    secs = sum(timed) / max(len(timed), 1)
    # After pruning, the baseline's model is the retrained one.
    phase = rows[-1].get("phase", "train")
    best = max((r for r in rows if r.get("phase", "train") == phase),
               key=lambda r: r["val_acc"])
    acc, density = 100 * best["test_acc"], best["net_density"]
    # Thresholding changes the best model at the end: its log says how.
    log = open(path[:-6] + ".log").read()
    m = re.search(r"test accuracy ([0-9.]+)%, density ([0-9.]+)\n?$", log.split("thresholding")[-1]) \
        if "thresholding" in log else None
    if m:
        acc, density = float(m.group(1)), float(m.group(2))
    nodes = " / ".join(f"{d:.2f}" for d in best["node_density"])
    print(f"| {os.path.basename(path)[:-6]} | {best['epoch']} | {acc:.2f} % "
          f"| {density:.4f} | {nodes} | {secs:.2f} |")
PY
./scripts/plot-report.sh "$out/curves.png" "${reports[@]}"
