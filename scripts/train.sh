#!/usr/bin/env bash
# Sets up, builds and runs the main job: the reference MLP trained with LinBreg
# on Fashion-MNIST (Debian's dataset-fashion-mnist). Extra arguments go to
# `bregman train` (see `build/bin/bregman train --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh bregman
mkdir -p runs
exec ./build/bin/bregman train --report runs/train.jsonl "$@"
