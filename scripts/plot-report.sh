#!/usr/bin/env bash
# Draws the curves of one or more `bregman train --report` files: test
# accuracy and net density per epoch, one line per report.
#   scripts/plot-report.sh OUT.png REPORT.jsonl [REPORT.jsonl ...]
# Needs gnuplot (Debian: gnuplot-nox, installed by scripts/install-deps.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT.png REPORT.jsonl [REPORT.jsonl ...]" >&2
  exit 2
fi
out=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plots_acc=() plots_dens=()
i=0
for report in "$@"; do
  [ -r "$report" ] || { echo "error: cannot read report '$report'" >&2; exit 1; }
  python3 - "$report" > "$tmp/$i.tsv" <<'PY'
import json, sys
path = sys.argv[1]
for n, line in enumerate(open(path), 1):
    if not line.strip():
        continue
    try:
        r = json.loads(line)
        if r.get("phase") == "thresholded":  # not an epoch: the baseline's result
            continue
        print(r["epoch"], r["test_acc"], r["net_density"], sep="\t")
    except (ValueError, KeyError) as e:
        sys.exit(f"error: {path}:{n}: not a bregman report line ({e})")
PY
  title=$(basename "$report" .jsonl)
  plots_acc+=("'$tmp/$i.tsv' using 1:(100*\$2) with linespoints title '$title'")
  plots_dens+=("'$tmp/$i.tsv' using 1:(100*\$3) with linespoints title '$title'")
  i=$((i + 1))
done
join() { local IFS=','; echo "$*"; }
gnuplot <<GP
set terminal pngcairo size 1100,450 font ",10"
set output '$out'
set multiplot layout 1,2
set grid
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set key bottom right
plot $(join "${plots_acc[@]}")
set ylabel 'non-zero weights (%)'
set key top left
plot $(join "${plots_dens[@]}")
unset multiplot
GP
echo "wrote $out"
