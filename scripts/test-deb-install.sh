#!/usr/bin/env bash
# The .deb as a user gets it: installed with `apt install ./bregman_….deb` on
# a fresh Debian 12 (debootstrap --variant=minbase bookworm in a throwaway
# chroot), from the apt sources of this machine (LLVM/MLIR 22 come from them).
#  1. apt install --no-install-recommends ./bregman_….deb (and Debian's
#     dataset-fashion-mnist): every Depends resolves, every installed binary
#     and library finds its libraries, and the installed `bregman` trains
#     with no compiler, linker or cmake installed (the JIT needs none);
#  2. apt install what the package recommends (gcc, g++, cmake); the
#     quickstart shipped in
#     /usr/share/doc/bregman/examples is configured with the default
#     generator and compiler (g++), built with find_package(Bregman) and run;
#     `bregman train --save-step` (which links with cc) and `bregman-run`.
# Not run by CI (it downloads about 250 MB from Debian's mirrors, fills about
# 1 GB of disk and takes 5-8 minutes; README.md, "The Debian package").
# Needs root and debootstrap.
#
#   sudo scripts/test-deb-install.sh [DEB] [CHROOT_DIR]
#
# DEB: default, built by scripts/package.sh into a temporary directory.
# CHROOT_DIR: must not exist (or be an empty directory); default a new
# /var/tmp/bregman-deb-chroot.XXXXXX. It is removed at the end, after its
# /proc is unmounted, unless BREGMAN_KEEP_CHROOT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
say() { echo "test-deb-install: [$((SECONDS - start)) s] $*"; }
die() { echo "test-deb-install: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || die "needs debootstrap (apt install debootstrap)"
mirror=${BREGMAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

root=${2:-}
if [ -z "$root" ]; then
  root=$(mktemp -d /var/tmp/bregman-deb-chroot.XXXXXX)
elif [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
  die "$root exists and is not empty: give a new directory"
else
  mkdir -p "$root"
fi
root=$(realpath "$root")
work=$(mktemp -d /tmp/bregman-deb-test.XXXXXX)
cleanup() {
  # Unmount before removing, and remove nothing if something stays mounted.
  if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
  if [ "${BREGMAN_KEEP_CHROOT:-0}" = 1 ]; then
    echo "test-deb-install: chroot kept in $root"
  elif findmnt -rn -o TARGET | grep -qE "^$root(/|$)"; then
    echo "test-deb-install: something is still mounted under $root; not removed" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

deb=${1:-}
if [ -z "$deb" ]; then
  say "building the .deb (scripts/package.sh)"
  ./scripts/package.sh "$work/deb" >"$work/package.log" 2>&1 ||
    die "scripts/package.sh: $(tail -20 "$work/package.log")"
  deb=$(ls "$work"/deb/bregman_*_amd64.deb)
fi
[ -f "$deb" ] || die "$deb: no such file"
name=$(basename "$deb")

say "debootstrap --variant=minbase bookworm $root ($mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  die "debootstrap: $(tail -20 "$work/debootstrap.log")"

# This machine's apt sources (bookworm, -updates, -security: LLVM 22 is in
# the latter) and the keyrings they name, in place of debootstrap's list.
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mkdir -p "$root$(dirname "$f")"
  cp "$f" "$root$f"
  for key in $(grep -oE '(Signed-By:|signed-by=) *[^] ]+' "$f" | sed -E 's/^(Signed-By:|signed-by=) *//'); do
    [ -e "$root$key" ] || { mkdir -p "$root$(dirname "$key")" && cp "$key" "$root$key"; }
  done
done
mount -t proc proc "$root/proc"
cp "$deb" "$root/root/$name"

# Runs a shell command inside the chroot with a clean environment.
inside() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive sh -ec "$1"
}

say "1. apt install --no-install-recommends ./$name dataset-fashion-mnist"
inside "apt-get update -q >/dev/null &&
        apt-get install -y -q --no-install-recommends /root/$name dataset-fashion-mnist" \
  >"$work/install.log" 2>&1 || die "apt install: $(tail -30 "$work/install.log")"
grep -E 'newly installed' "$work/install.log"
inside "dpkg-deb -f /root/$name Depends; dpkg -s bregman | grep -E '^(Status|Version)';
        dpkg-query -W libmlir-22 libllvm22"
inside "for f in /usr/bin/bregman /usr/bin/bregman-run /usr/bin/bregman-opt /usr/lib/libbregman*.so /usr/lib/bregman/*.so; do
          if ldd \$f | grep 'not found'; then echo \"\$f: libraries not found\"; exit 1; fi; done
        if command -v cc c++ gcc g++ ld cmake; then echo 'a compiler, linker or cmake is installed already'; exit 1; fi" ||
  die "after installing without recommends"
inside "cd /tmp && bregman train --train-limit 256 --epochs 1 --no-progress | tail -1" ||
  die "bregman train without a compiler"
# --save-step links the saved step with cc: without one, an error, not a crash.
if inside "cd /tmp && bregman train --save-step step --train-limit 256 --no-progress" >"$work/save.log" 2>&1; then
  die "bregman train --save-step succeeded with no cc installed"
fi
grep -q 'cc' "$work/save.log" || die "--save-step without cc: $(tail -5 "$work/save.log")"
echo "without a C compiler, --save-step says: $(tail -1 "$work/save.log")"
say "every binary and library finds its libraries; bregman trains without a compiler installed"

say "2. apt install cmake g++ gcc (what the package recommends)"
inside "apt-get install -y -q cmake g++ gcc" >"$work/tools.log" 2>&1 ||
  die "apt install cmake g++: $(tail -30 "$work/tools.log")"
grep -E 'newly installed' "$work/tools.log"
inside "cd /tmp && bregman train --train-limit 256 --epochs 1 --no-progress | tail -1" ||
  die "bregman train in the chroot"
inside "cd /tmp && bregman train --save-step step --train-limit 256 --no-progress >/dev/null &&
        bregman-run step --steps 2 | tail -1" || die "bregman train --save-step / bregman-run"
inside "cp -r /usr/share/doc/bregman/examples/quickstart /root/quickstart && cd /root/quickstart &&
        cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build >/dev/null &&
        c++ --version | head -1 && ./build/quickstart --steps 20" >"$work/quickstart.log" 2>&1 ||
  die "quickstart: $(tail -30 "$work/quickstart.log")"
cat "$work/quickstart.log"
grep -q 'test accuracy' "$work/quickstart.log" || die "quickstart printed no test accuracy"
say "passed: $name installs on a fresh Debian 12 and quickstart builds and runs against it"
