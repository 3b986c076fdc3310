#!/usr/bin/env bash
# The bregman GPU kit's check, on the GPU machine: run.sh OUTDIR
#   For each CUDA artifact in steps/: run it (a warm-up call + N calls from
#   its saved state and first batch) and compare the state after them with
#   the CPU's results of the same calls (summaries in steps/*/expected.json,
#   GpuTrainingTest's tolerance); time it (ms per step, with the step
#   replayed as a CUDA graph and without: BREGMAN_CUDA_GRAPHS=0; launches
#   per step from bregman-run's profile line); then PyTorch eager
#   and JAX on the same card where importable. Writes OUTDIR/gpu-report.json
#   and OUTDIR/gpu-report.md. Needs: glibc >= 2.34, python3, the NVIDIA
#   driver; cuBLAS (MLP, ResNet) and cuDNN 9 (ConvNet, ResNet) from the
#   system or from python wheels (site-packages/nvidia/*/lib, found here).
#   Each command has a time limit; the whole run stays under 6 minutes.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUTDIR}
# Only a new or empty folder, or one an earlier run.sh wrote, is written
# into: its results, report and work/ are replaced.
marker=.bregman-gpu-report
if [ -e "$out" ] && { [ ! -d "$out" ] || [ -n "$(ls -A "$out")" ]; } && [ ! -f "$out/$marker" ]; then
  echo "run.sh: $out exists and is not a report folder of this kit: nothing was changed; give a new folder" >&2
  exit 2
fi
mkdir -p "$out" || exit 1
echo "the GPU kit's report folder, written by run.sh" > "$out/$marker"
out=$(cd "$out" && pwd)
work="$out/work"
mkdir -p "$work"
results="$out/results.jsonl"
: > "$results"
started=$(date +%s)
json() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
note() { echo "run.sh: $*"; }

# The machine: what is there and what is missing.
if command -v nvidia-smi > /dev/null; then
  smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -1)
else
  smi="nvidia-smi not found (no NVIDIA driver installed?)"
fi
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)
wheels=$(python3 - <<'PY' 2>/dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
print(":".join(sorted({d for r in roots for d in glob.glob(os.path.join(r, "*", "lib"))})))
PY
)
for name in libcublas.so.13 libcublas.so.12 libcudnn.so.9; do
  found=$( (ldconfig -p 2>/dev/null | grep -o "/.*/$name" | head -1) || true)
  IFS=: read -ra wheel_dirs <<< "${wheels:-}"
  for d in "${wheel_dirs[@]}"; do [ -e "$d/$name" ] && found="$d/$name"; done
  libs="${libs:-}$name=${found:-missing} "
done
json kind machine gpu "$smi" glibc "$glibc" \
  python "$(python3 --version 2>&1)" chip "$(cat "$kit/chip")" \
  wheel_lib_dirs "${wheels:-none}" cuda_libraries "$libs" >> "$results"
note "GPU: $smi; $libs"

# ==== Section (issue 14, kit measurements): what is missing, said first ====
# Each as a row of the report: the steps that need it fail further down, and
# this row says why before their errors do.
missing() { json name "$1" status missing detail "$2" >> "$results"; note "MISSING $1: $2"; }
if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
  missing gpu "no NVIDIA GPU usable here ($smi): every CUDA step below fails; run the kit on a machine with an NVIDIA driver and card"
fi
case $libs in *libcublas.so.13=missing*libcublas.so.12=missing*|*libcublas.so.12=missing*libcublas.so.13=missing*)
  missing cuBLAS "libcublas.so.13/.12 not in ldconfig -p nor in the python wheels (${wheels:-no site-packages/nvidia/*/lib}): the MLP, ConvNet and ResNet steps fail; pip install nvidia-cublas-cu12 (or the toolkit's) and rerun" ;;
esac
case $libs in *libcudnn.so.9=missing*)
  missing cuDNN "libcudnn.so.9 not in ldconfig -p nor in the python wheels (${wheels:-no site-packages/nvidia/*/lib}): the ConvNet and ResNet steps fail; pip install nvidia-cudnn-cu12 (cuDNN 9 with its sub-libraries) and rerun" ;;
esac
# ==== End of section: what is missing ====
export LD_LIBRARY_PATH="$kit/lib${wheels:+:$wheels}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

run_case() { # name rtol atol timing-steps
  local name=$1 rtol=$2 atol=$3 steps=$4 dir="$kit/steps/$1" log="$work/$1.log"
  local artifact="$work/$name.artifact"
  rm -rf "$work/$name.state" "$artifact"
  # The artifact with its state unpacked (the kit carries values.bin gzipped).
  mkdir -p "$artifact" && cp "$dir/cuda/manifest.json" "$dir/cuda/step.so" "$artifact/" &&
    gzip -dc "$dir/cuda/values.bin.gz" > "$artifact/values.bin"
  if ! timeout 120 "$kit/bin/bregman-run" "$artifact" --steps "$(cat "$kit/check-steps")" \
      --quiet --save "$work/$name.state" > "$log" 2>&1; then
    json name "$name" status failed detail "$(grep -e '^error' -e 'not found' "$log" | head -3 | tr '\n' ' ')" >> "$results"
    note "$name: failed (see $log)"
    return
  fi
  local verdict
  verdict=$(python3 "$kit/tools/kit.py" compare "$work/$name.state" "$dir/expected.json" "$rtol" "$atol")
  # Timed twice: with the step replayed as a CUDA graph (the default) and
  # with every kernel launched by the host code (BREGMAN_CUDA_GRAPHS=0).
  local timing ms plain_ms launches
  timing=$(timeout 120 "$kit/bin/bregman-run" "$artifact" --steps "$steps" --quiet 2>>"$log")
  ms=$(sed -n 's/.* \([0-9.]*\) ms per call.*/\1/p' <<< "$timing")
  launches=$(sed -n 's/^launches per step: //p' <<< "$timing")
  plain_ms=$(BREGMAN_CUDA_GRAPHS=0 timeout 120 "$kit/bin/bregman-run" "$artifact" --steps "$steps" \
             --quiet 2>>"$log" | sed -n 's/.* \([0-9.]*\) ms per call.*/\1/p')
  python3 - "$name" "$verdict" "${ms:-}" "$rtol" "$atol" "${plain_ms:-}" "${launches:-}" >> "$results" <<'PY'
import json, sys
name, verdict, ms, rtol, atol, plain_ms, launches = sys.argv[1:]
v = json.loads(verdict)
r = {"name": name, "status": "ok" if v["ok"] else "mismatch",
     "detail": {"tolerance": "%s + %s*|cpu|" % (atol, rtol), **v}}
if ms:
    r["ms_per_step"] = float(ms)
if plain_ms:
    r["ms_per_step_without_graph"] = float(plain_ms)
if launches:
    r["launches_per_step"] = launches
print(json.dumps(r))
PY
  note "$name: $(tail -1 "$results" | cut -c1-200)"
}

while read -r name rtol atol steps; do
  [ -n "$name" ] && run_case "$name" "$rtol" "$atol" "$steps"
done < "$kit/cases"

# ==== Section (issue 14, kit measurements): TF32 variants and the fused ====
# ==== update's bandwidth, from $kit/extras                                ====
# tf32 CASE RTOL ATOL CALLS: the case's artifact again with --tf32 (cuBLAS
#   and cuDNN may use TF32 tensor cores), checked against the same CPU
#   results with TF32's looser tolerance and timed: row CASE-tf32.
# bandwidth CASE ELEMENTS CALLS: the fused update timed and, in the same
#   process, device-to-device copies of the bytes it moves (16 per element,
#   bregman-run --copy-bytes): GB/s of each and the fraction (goal >= 0.8).
run_extra_tf32() { # case rtol atol calls
  local name=$1 rtol=$2 atol=$3 calls=$4 artifact="$work/$1.artifact" log="$work/$1-tf32.log"
  if [ ! -d "$artifact" ] || ! timeout 120 "$kit/bin/bregman-run" "$artifact" --tf32 \
      --steps "$(cat "$kit/check-steps")" --quiet --save "$work/$name-tf32.state" > "$log" 2>&1; then
    json name "$name-tf32" status failed detail "$(grep -e '^error' -e 'not found' "$log" 2>/dev/null | head -3 | tr '\n' ' ')" >> "$results"
    return
  fi
  local verdict ms
  verdict=$(python3 "$kit/tools/kit.py" compare "$work/$name-tf32.state" "$kit/steps/$name/expected.json" "$rtol" "$atol")
  ms=$(timeout 120 "$kit/bin/bregman-run" "$artifact" --tf32 --steps "$calls" --quiet 2>>"$log" |
       sed -n 's/.* \([0-9.]*\) ms per call.*/\1/p')
  python3 - "$name-tf32" "$verdict" "${ms:-}" "$rtol" "$atol" >> "$results" <<'PY'
import json, sys
name, verdict, ms, rtol, atol = sys.argv[1:]
v = json.loads(verdict)
r = {"name": name, "status": "ok" if v["ok"] else "mismatch",
     "detail": {"tolerance": "%s + %s*|cpu| (TF32)" % (atol, rtol), **v}}
if ms:
    r["ms_per_step"] = float(ms)
print(json.dumps(r))
PY
  note "$name-tf32: $(tail -1 "$results" | cut -c1-200)"
}
run_extra_bandwidth() { # case elements calls
  local name=$1 elements=$2 calls=$3 artifact="$work/$1.artifact" log="$work/$1-bandwidth.log"
  if [ ! -d "$artifact" ] || ! timeout 120 "$kit/bin/bregman-run" "$artifact" --steps "$calls" \
      --quiet --copy-bytes $(( elements * 8 )) > "$log" 2>&1; then
    json name "$name-bandwidth" status failed detail "$(grep -e '^error' -e 'not found' "$log" 2>/dev/null | head -3 | tr '\n' ' ')" >> "$results"
    return
  fi
  local figures
  figures=$(python3 "$kit/tools/kit.py" bandwidth "$log" "$elements")
  python3 - "$name-bandwidth" "$figures" >> "$results" <<'PY'
import json, sys
f = json.loads(sys.argv[2])
ok = f.get("ok") and f.get("fraction_of_copy", 0) >= 0.8
print(json.dumps({"name": sys.argv[1], "status": ("measured" if ok else "below goal")
                  if f.get("ok") else "failed", "detail": f}))
PY
  note "$name-bandwidth: $(tail -1 "$results" | cut -c1-200)"
}
# Seconds left of the 6 minutes (330 s, leaving time for the report): the
# extras and the frameworks are skipped, with a row saying so, rather than
# run past them.
seconds_left() { echo $(( 330 - ($(date +%s) - started) )); }
if [ -f "$kit/extras" ]; then
  while read -r kind name a b c; do
    if [ "$(seconds_left)" -lt 60 ]; then
      json name "$name-$kind" status skipped detail "the 6-minute budget is nearly spent" >> "$results"
      continue
    fi
    case $kind in
      tf32) run_extra_tf32 "$name" "$a" "$b" "$c" ;;
      bandwidth) run_extra_bandwidth "$name" "$a" "$b" ;;
    esac
  done < "$kit/extras"
fi
# ==== End of section: TF32 variants and bandwidth ====

# ==== Section (issue 14, kit measurements): the frameworks on the same ====
# ==== card, each in a process of its own (JAX takes most of the GPU's   ====
# ==== memory when it starts); what is missing is reported by the script ====
for framework in torch jax; do
  limit=$(seconds_left)
  [ "$limit" -gt 150 ] && limit=150
  if [ "$limit" -lt 20 ]; then
    json name "$framework" status skipped detail "the 6-minute budget is nearly spent" >> "$results"
    continue
  fi
  timeout "$limit" python3 "$kit/tools/torch_bench.py" "$framework" >> "$results" 2> "$work/$framework.log" ||
    json name "$framework" status failed detail "$(tail -3 "$work/$framework.log")" >> "$results"
done
# ==== End of section: frameworks ====

json name total status done detail "$(( $(date +%s) - started )) s" >> "$results"
python3 "$kit/tools/kit.py" report "$results" "$out" && note "wrote $out/gpu-report.md and gpu-report.json"
cat "$out/gpu-report.md"
# Non-zero where one of bregman's checks did not pass or did not run (no
# GPU included), so that a caller does not count the report as a pass; the
# peers (PyTorch, JAX) are measured where they import and do not count.
if ! python3 - "$results" <<'PY'
import json, sys
peers = ("pytorch", "jax")
bad = [r["name"] for r in map(json.loads, open(sys.argv[1]))
       if r.get("status") in ("failed", "mismatch", "missing", "skipped")
       and not str(r.get("name", "")).startswith(peers)]
sys.exit(1 if bad else 0)
PY
then
  note "some of bregman's checks failed or could not run (see the report)"
  exit 1
fi
