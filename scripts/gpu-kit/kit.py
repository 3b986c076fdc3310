#!/usr/bin/env python3
"""The GPU kit's helper (standard library only: it runs with the GPU
machine's python, which may lack numpy).

  kit.py summarize ARTIFACT OUT.json   per f32 state tensor of an artifact
      (values.bin laid out by manifest.json): its L1 and L2 norms, largest
      magnitude and up to 4096 elements at a fixed stride, so that the kit
      carries the CPU's results of big steps (ResNet-18) in kilobytes.
  kit.py compare ARTIFACT EXPECTED.json RTOL ATOL   the GPU's state against
      the CPU's summary: every sampled element within ATOL + RTOL*|cpu|
      (GpuTrainingTest's tolerance), norms within RTOL; prints one JSON
      object (ok, worst element, tensors checked); exit 0 either way.
  kit.py report RESULTS.jsonl OUTDIR   gpu-report.json and gpu-report.md.
  kit.py fake-cifar DIR N   CIFAR-10's binary layout (data_batch_1..5.bin,
      test_batch.bin) with N pseudo-random 32x32x3 images in data_batch_1
      and one in each other file: a CIFAR-sized step's shapes and a batch
      to check it on, where CIFAR-10 itself is not at hand (kit build only).
  kit.py bandwidth LOG ELEMENTS   the update's and the copy's GB/s from
      bregman-run --copy-bytes output (the update reads v, g and writes v,
      theta: 16 bytes per element; the copy moves the same bytes); one JSON
      object.
"""
import array
import json
import math
import operator
import os
import sys

SAMPLES = 4096


def tensors(artifact):
    """(name, values) of each f32 input; bare tensors (no Params key) are
    named by their position, "input<N>"."""
    with open(os.path.join(artifact, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(artifact, "values.bin"), "rb") as f:
        data = f.read()
    for index, t in enumerate(manifest["inputs"]):
        if t.get("dtype") != "f32":
            continue
        values = array.array("f")
        values.frombytes(data[t["offset"]:t["offset"] + t["bytes"]])
        if sys.byteorder != "little":
            values.byteswap()
        yield t["name"] or "input%d" % index, values


def l2norm(v):
    # map/sum run in C: seconds, not minutes, for the 2^24-float update.
    return math.sqrt(sum(map(operator.mul, v, v)))


def summarize(artifact, out):
    summary = {}
    for name, v in tensors(artifact):
        stride = max(1, len(v) // SAMPLES)
        summary[name] = {
            "count": len(v), "stride": stride,
            "l1": sum(map(abs, v)),
            "l2": l2norm(v),
            "max_abs": max(map(abs, v), default=0.0),
            # 9 significant digits hold a float32 exactly.
            "samples": [float("%.9g" % x) for x in v[::stride][:SAMPLES]],
        }
    with open(out, "w") as f:
        json.dump(summary, f)


def compare(artifact, expected_path, rtol, atol):
    with open(expected_path) as f:
        expected = json.load(f)
    worst = {"excess": -1.0}
    bad, checked = 0, 0
    for name, v in tensors(artifact):
        e = expected.get(name)
        if e is None or e["count"] != len(v):
            bad += 1
            worst = {"tensor": name, "problem": "missing or resized"}
            continue
        checked += 1
        for i, want in enumerate(e["samples"]):
            got = v[i * e["stride"]]
            allowed = atol + rtol * abs(want)
            excess = abs(got - want) / allowed if math.isfinite(got) else math.inf
            if excess > 1:
                bad += 1
            if excess > worst.get("excess", -1):
                worst = {"tensor": name, "index": i * e["stride"], "gpu": got,
                         "cpu": want, "excess": excess}
        l2 = l2norm(v)
        if abs(l2 - e["l2"]) > atol + rtol * e["l2"]:
            bad += 1
            worst = {"tensor": name, "problem": "L2 norm", "gpu": l2,
                     "cpu": e["l2"], "excess": math.inf}
    if worst.get("excess") == math.inf:
        worst["excess"] = "inf"
    print(json.dumps({"ok": bad == 0 and checked > 0, "mismatches": bad,
                      "tensors": checked, "worst": worst}))


# (ours, peer, goal: our ms at most this times the peer's), issue 14.
GOALS = [("mlp-linbreg", "pytorch-eager-mlp", 0.8),
         ("mlp-linbreg", "jax-jit-mlp", 1.0),
         ("convnet", "pytorch-eager-convnet", 1.0),
         ("mlp-linbreg-tf32", "pytorch-eager-mlp-tf32", 0.8),
         ("mlp-linbreg-tf32", "jax-jit-mlp-tf32", 1.0),
         ("convnet-tf32", "pytorch-eager-convnet-tf32", 1.0)]


def goals(results):
    """The goals' table: each ratio of step times measured in this run (the
    peers train with plain SGD, our steps with the Bregman updates: the same
    layers, a slightly heavier update)."""
    ms = {r["name"]: r["ms_per_step"] for r in results
          if isinstance(r.get("ms_per_step"), (int, float))}
    lines = ["", "| goal | ours ms | peer ms | ratio | met |", "|---|---|---|---|---|"]
    for ours, peer, limit in GOALS:
        if ours in ms and peer in ms and ms[peer] > 0:
            ratio = ms[ours] / ms[peer]
            lines.append("| %s <= %.1f x %s | %.4f | %.4f | %.2f | %s |" % (
                ours, limit, peer, ms[ours], ms[peer], ratio,
                "yes" if ratio <= limit else "no"))
        else:
            lines.append("| %s <= %.1f x %s | %s | %s | - | not measured |" % (
                ours, limit, peer, ms.get(ours, "-"), ms.get(peer, "-")))
    for r in results:
        d = r.get("detail")
        if r.get("name", "").endswith("-bandwidth") and isinstance(d, dict) \
                and d.get("ok"):
            lines.append("| update >= 0.8 x device copy (GB/s) | %.1f | %.1f | "
                         "%.2f | %s |" % (d["update_gb_s"], d["copy_gb_s"],
                                          d["fraction_of_copy"],
                                          "yes" if d["fraction_of_copy"] >= 0.8
                                          else "no"))
    return lines


def report(results_path, outdir):
    results = []
    with open(results_path) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "gpu-report.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = ["# bregman GPU kit report", ""]
    for r in results:
        if r.get("kind") == "machine":
            lines += ["| | |", "|---|---|"]
            for k, v in r.items():
                if k != "kind":
                    lines.append("| %s | %s |" % (k, str(v).replace("\n", " ")))
            lines.append("")
    lines += ["| check | status | ms/step | ms/step without graph | "
              "launches/step | detail |", "|---|---|---|---|---|---|"]
    ms_text = lambda ms: "%.4f" % ms if isinstance(ms, (int, float)) else "-"
    for r in results:
        if r.get("kind") == "machine":
            continue
        detail = r.get("detail", "")
        if isinstance(detail, (dict, list)):
            detail = json.dumps(detail)
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            r.get("name", "?"), r.get("status", "?"),
            ms_text(r.get("ms_per_step")),
            ms_text(r.get("ms_per_step_without_graph")),
            r.get("launches_per_step", "-"),
            str(detail).replace("\n", " ").replace("|", "/")[:300]))
    lines += goals(results)
    with open(os.path.join(outdir, "gpu-report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def fake_cifar(directory, count):
    import random
    rng = random.Random(7)
    os.makedirs(directory, exist_ok=True)
    for name, n in [("data_batch_1.bin", count)] + [
            ("data_batch_%d.bin" % i, 1) for i in range(2, 6)] + [
            ("test_batch.bin", 1)]:
        with open(os.path.join(directory, name), "wb") as f:
            for k in range(n):
                f.write(bytes([k % 10]) + rng.randbytes(3072))


def bandwidth(log_path, elements):
    import re
    with open(log_path) as f:
        text = f.read()
    step = re.search(r"([0-9.]+) ms per call", text)
    copy = re.search(r"device copy of ([0-9]+) bytes: ([0-9.]+) ms per copy",
                     text)
    if not step or not copy:
        print(json.dumps({"ok": False, "detail": "no timing in " + log_path}))
        return
    moved = 16 * elements  # bytes the update reads and writes
    step_ms, copy_ms = float(step.group(1)), float(copy.group(2))
    if step_ms <= 0 or copy_ms <= 0:
        print(json.dumps({"ok": False, "detail": "%g ms per update, %g ms per "
                          "copy: no kernel ran (a stand-in driver?)"
                          % (step_ms, copy_ms)}))
        return
    update_gbs = moved / (step_ms * 1e6)
    copy_gbs = 2 * int(copy.group(1)) / (copy_ms * 1e6)
    print(json.dumps({"ok": True, "update_gb_s": round(update_gbs, 1),
                      "copy_gb_s": round(copy_gbs, 1),
                      "fraction_of_copy": round(update_gbs / copy_gbs, 3),
                      "goal": ">= 0.8", "elements": elements,
                      "update_ms": step_ms, "copy_ms": copy_ms}))


if __name__ == "__main__":
    cmd = sys.argv[1:2]
    if cmd == ["summarize"] and len(sys.argv) == 4:
        summarize(sys.argv[2], sys.argv[3])
    elif cmd == ["compare"] and len(sys.argv) == 6:
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
    elif cmd == ["report"] and len(sys.argv) == 4:
        report(sys.argv[2], sys.argv[3])
    elif cmd == ["fake-cifar"] and len(sys.argv) == 4:
        fake_cifar(sys.argv[2], int(sys.argv[3]))
    elif cmd == ["bandwidth"] and len(sys.argv) == 4:
        bandwidth(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
