#!/bin/sh
# Writes an MNIST-like directory of plain IDX files for the hostile data
# cases: make-idx.sh DIR TRAIN_N TRAIN_ROWS TRAIN_COLS TEST_N TEST_ROWS
# TEST_COLS [LABEL]; every label is LABEL (default 3), every pixel 0.
set -eu
dir=$1 label=${8:-3}
mkdir -p "$dir"
be32() { # big-endian 32-bit integer, as octal escapes for printf
  printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
  printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}
images() { # FILE N ROWS COLS
  { be32 2051; be32 "$2"; be32 "$3"; be32 "$4"; head -c $(($2 * $3 * $4)) /dev/zero; } >"$1"
}
labels() { # FILE N
  { be32 2049; be32 "$2"; i=0; while [ $i -lt "$2" ]; do
      printf "\\$(printf %03o "$label")"; i=$((i + 1)); done; } >"$1"
}
images "$dir/train-images-idx3-ubyte" "$2" "$3" "$4"
labels "$dir/train-labels-idx1-ubyte" "$2"
images "$dir/t10k-images-idx3-ubyte" "$5" "$6" "$7"
labels "$dir/t10k-labels-idx1-ubyte" "$5"
