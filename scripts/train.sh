#!/usr/bin/env bash
# Sets up, builds and runs the main job: the reference MLP trained with LinBreg
# on Fashion-MNIST (Debian's dataset-fashion-mnist). Extra arguments go to
# `bregman train` (see `build/bin/bregman train --help`).
# Relative paths in the arguments are the caller's: no cd.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/install-deps.sh"
"$repo/scripts/build.sh" bregman
# The report goes to runs/train.jsonl unless the arguments name one.
report=(--report "$repo/runs/train.jsonl")
for arg in "$@"; do
  case $arg in --report|--report=*) report=() ;; esac
done
[ ${#report[@]} -eq 0 ] || mkdir -p "$repo/runs"
exec "$repo/build/bin/bregman" train "${report[@]}" "$@"
