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
"""
import json
import math
import os
import struct
import sys

SAMPLES = 4096


def tensors(artifact):
    with open(os.path.join(artifact, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(artifact, "values.bin"), "rb") as f:
        data = f.read()
    for t in manifest["inputs"]:
        if t.get("dtype") != "f32":
            continue
        n = t["bytes"] // 4
        values = struct.unpack_from("<%df" % n, data, t["offset"])
        yield t["name"], values


def summarize(artifact, out):
    summary = {}
    for name, v in tensors(artifact):
        stride = max(1, len(v) // SAMPLES)
        summary[name] = {
            "count": len(v), "stride": stride,
            "l1": math.fsum(abs(x) for x in v),
            "l2": math.sqrt(math.fsum(x * x for x in v)),
            "max_abs": max((abs(x) for x in v), default=0.0),
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
        l2 = math.sqrt(math.fsum(x * x for x in v))
        if abs(l2 - e["l2"]) > atol + rtol * e["l2"]:
            bad += 1
            worst = {"tensor": name, "problem": "L2 norm", "gpu": l2,
                     "cpu": e["l2"], "excess": math.inf}
    if worst.get("excess") == math.inf:
        worst["excess"] = "inf"
    print(json.dumps({"ok": bad == 0 and checked > 0, "mismatches": bad,
                      "tensors": checked, "worst": worst}))


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
    ms_text = lambda ms: "%.3f" % ms if isinstance(ms, (int, float)) else "-"
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
    with open(os.path.join(outdir, "gpu-report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    cmd = sys.argv[1:2]
    if cmd == ["summarize"] and len(sys.argv) == 4:
        summarize(sys.argv[2], sys.argv[3])
    elif cmd == ["compare"] and len(sys.argv) == 6:
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
    elif cmd == ["report"] and len(sys.argv) == 4:
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
