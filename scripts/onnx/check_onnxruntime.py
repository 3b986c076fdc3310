#!/usr/bin/env python3
"""Runs an ONNX model (e.g. one `bregman retrain --export` wrote) in
onnxruntime and in `bregman run` on the same seeded random input, and
prints the largest differences. Outside CI; run through
scripts/onnx/check-onnxruntime.sh MODEL.onnx [MODEL.onnx ...].
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BREGMAN = os.path.join(ROOT, os.environ.get("BREGMAN_BUILD_DIR", "build"), "bin", "bregman")


def check(path):
    onnx.checker.check_model(path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds, files = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, inp in enumerate(session.get_inputs()):
            x = rng.standard_normal(inp.shape).astype(np.float32)
            feeds[inp.name] = x
            f = os.path.join(tmp, f"input_{i}.pb")
            with open(f, "wb") as out:
                out.write(numpy_helper.from_array(x, inp.name).SerializeToString())
            files.append(f)
        expected = session.run(None, feeds)
        outs = [os.path.join(tmp, f"output_{i}.pb") for i in range(len(expected))]
        cmd = [BREGMAN, "run", path]
        for f in files:
            cmd += ["--input", f]
        for f in outs:
            cmd += ["--output", f]
        subprocess.run(cmd, check=True, capture_output=True)
        worst = 0.0
        for e, f in zip(expected, outs):
            t = onnx.TensorProto()
            with open(f, "rb") as src:
                t.ParseFromString(src.read())
            got = numpy_helper.to_array(t)
            rel = np.max(np.abs(got - e) / np.maximum(np.abs(e), 1e-6))
            worst = max(worst, float(np.max(np.abs(got - e))))
            print(f"{path}: output {t.name} {list(got.shape)}: max |diff| "
                  f"{np.max(np.abs(got - e)):.3g}, max rel {rel:.3g}")
        return worst


if __name__ == "__main__":
    failed = [p for p in sys.argv[1:] if check(p) > 1e-4]
    sys.exit(1 if failed else 0)
