#!/usr/bin/env python3
# damage.py BREGMAN_RUN PRISTINE CASE [ARGS...]: copies the artifact
# PRISTINE to CASE.bregman, damages it as CASE says, runs `bregman-run
# CASE.bregman ARGS` (default --steps 1) and prints its output, then
# "rc=N unchanged=yes|no" (the damaged artifact's files, byte for byte,
# after the run as before it).
import hashlib, json, os, shutil, stat, subprocess, sys

run, pristine, case = sys.argv[1:4]
args = sys.argv[4:] or ["--steps", "1"]
d = case + ".bregman"
if os.path.lexists(d):
    for root, dirs, files in os.walk(d, topdown=False):
        for f in files: os.unlink(os.path.join(root, f))
        for x in dirs: os.rmdir(os.path.join(root, x))
    os.rmdir(d)
shutil.copytree(pristine, d)
manifest_path = os.path.join(d, "manifest.json")
manifest = json.load(open(manifest_path))

def edit(change):
    change(manifest)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)

def replace(name, make):
    os.unlink(os.path.join(d, name))
    make(os.path.join(d, name))

def set_shape(m, kind, i, shape):
    t = m[kind][i]
    t["bytes"] = t["bytes"] // max(1, eval("*".join(map(str, t["shape"])))) \
        * eval("*".join(map(str, shape)))
    t["shape"] = shape

def truncate_half(path):
    os.truncate(path, os.path.getsize(path) // 2)

def both_shapes(m):  # the alias stays consistent: only step.so disagrees
    set_shape(m, "inputs", 0, m["inputs"][0]["shape"][::-1])
    set_shape(m, "outputs", 0, m["outputs"][0]["shape"][::-1])

cases = {
    "shape-swapped": lambda: edit(both_shapes),
    "batch-shape-smaller": lambda: edit(lambda m: set_shape(
        m, "inputs", 20, [64] + m["inputs"][20]["shape"][1:])),
    "output-shape-changed": lambda: edit(lambda m: set_shape(
        m, "outputs", 0, m["outputs"][0]["shape"][::-1])),
    "function-abort": lambda: edit(lambda m: m.update(function="abort")),
    "function-other-mlir": lambda: edit(
        lambda m: m.update(function="_mlir_memref_to_llvm_alloc")),
    "alias-negative": lambda: edit(lambda m: m["outputs"][0].update(alias=-2)),
    "alias-out-of-range": lambda: edit(
        lambda m: m["outputs"][0].update(alias=len(m["inputs"]))),
    "alias-dropped": lambda: edit(lambda m: m["outputs"][0].update(alias=-1)),
    "alias-twice": lambda: edit(lambda m: m["outputs"][6].update(alias=0)),
    "step-so-truncated": lambda: truncate_half(os.path.join(d, "step.so")),
    "step-so-fifo": lambda: replace("step.so", os.mkfifo),
    "step-so-directory": lambda: replace("step.so", os.mkdir),
    "step-so-not-elf": lambda: replace(
        "step.so", lambda p: open(p, "w").write("not a shared object\n")),
    "step-so-foreign-library": lambda: replace("step.so", lambda p: shutil.copy(
        os.path.join(os.path.dirname(run), "libbregman_cpu_kernels.so"), p)),
    "values-short": lambda: os.truncate(os.path.join(d, "values.bin"), 100),
    "values-fifo": lambda: replace("values.bin", os.mkfifo),
    # Inference artifacts (bregman run --save-artifact): the entry that
    # binds the graph's inputs and outputs, damaged.
    "inference-input-out-of-range": lambda: edit(
        lambda m: m["inference"]["inputs"][0].update(input=len(m["inputs"]))),
    "inference-input-renamed": lambda: edit(
        lambda m: m["inference"]["inputs"][0].update(name="z")),
    "inference-input-reshaped": lambda: edit(
        lambda m: m["inference"]["inputs"][0].update(shape=[1, 784])),
    "inference-outputs-missing": lambda: edit(
        lambda m: m["inference"].pop("outputs")),
    "inference-not-an-object": lambda: edit(lambda m: m.update(inference=[1])),
}
for intact in ("inference-wrong-batch", "inference-not-a-tensor",
               "inference-two-inputs", "inference-on-a-step"):
    cases[intact] = lambda: None  # the input is wrong, not the artifact
cases[case]()

def snapshot():
    state = []
    for root, dirs, files in os.walk(d):
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            st = os.lstat(p)
            digest = (hashlib.sha256(open(p, "rb").read()).hexdigest()
                      if stat.S_ISREG(st.st_mode) else "")
            state.append((p, stat.S_IFMT(st.st_mode), st.st_size, digest))
    return sorted(state)

before = snapshot()
try:
    p = subprocess.run([run, d] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out, rc = p.stdout.decode(errors="replace"), p.returncode
except subprocess.TimeoutExpired:
    out, rc = "timed out (blocked?)\n", "timeout"
sys.stdout.write(out)
print("rc=%s unchanged=%s" % (rc, "yes" if snapshot() == before else "no"))
