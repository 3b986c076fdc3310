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
# A picture only: "plot-report.sh r1.jsonl r2.jsonl" replaced the report
# r1.jsonl by the curves.
case $out in *.png) ;; *) echo "error: '$out': OUT must name a .png file" >&2; exit 2 ;; esac
if [ -e "$out" ] && ! { [ -f "$out" ] && [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = "211PNG" ]; }; then
  echo "error: '$out' exists and is not a PNG picture: it is not replaced" >&2; exit 1
fi
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
    except (ValueError, KeyError, AttributeError, TypeError) as e:
        sys.exit(f"error: {path}:{n}: not a bregman report line ({e})")
PY
  # gnuplot's single-quoted strings double a quote: a title is text, never
  # a command (a report named "x'; system('...'); '" ran one).
  title=$(basename "$report" .jsonl)
  title=${title//\'/\'\'}
  plots_acc+=("'$tmp/$i.tsv' using 1:(100*\$2) with linespoints title '$title'")
  plots_dens+=("'$tmp/$i.tsv' using 1:(100*\$3) with linespoints title '$title'")
  i=$((i + 1))
done
join() { local IFS=','; echo "$*"; }
gnuplot <<GP
set terminal pngcairo size 1100,450 font ",10"
set output '$tmp/out.png'
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
# Moved into place only when gnuplot succeeded: no partial picture.
mv -f "$tmp/out.png" "$out"
echo "wrote $out"
