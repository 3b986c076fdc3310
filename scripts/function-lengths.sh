#!/usr/bin/env bash
# Lists every function outside tests/ longer than a limit (default 150
# lines, counted by lizard from its first to its last line) and exits 1 if
# there is one. lizard (PyPI) lives in .venv-lint, which this script makes.
#   scripts/function-lengths.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-150}
if [ ! -x .venv-lint/bin/lizard ]; then
  python3 -m venv .venv-lint
  .venv-lint/bin/pip install --quiet lizard
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' | grep -v '^tests/')
# lizard's CSV: NLOC, CCN, tokens, params, length, location, file, name, ...
.venv-lint/bin/lizard --csv -l cpp "${files[@]}" |
  awk -F, -v limit="$limit" '
    { n++; if ($5 + 0 > max) { max = $5 + 0; longest = $6 } }
    $5 + 0 > limit { print "  " $5 " lines: " $6; over++ }
    END {
      printf "%d functions in %d files; the longest, %d lines: %s\n", n, '"${#files[@]}"', max, longest
      if (over) { printf "%d over %d lines\n", over, limit; exit 1 }
    }'
