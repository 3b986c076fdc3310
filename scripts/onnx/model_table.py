#!/usr/bin/env python3
"""The 19-model table of issue 18: for each model that
`export_models.py zoo table` wrote (runs/onnx-models), runs

  bregman inspect   does the importer take every node? (else its first reason)
  bregman run       on PyTorch's seeded input: max |got - expected| / max
                    |expected| against PyTorch's output
  bregman retrain   --from-pretrained, 2 short epochs: does the training
                    loss fall, is the test accuracy above chance (10 %),
                    the density; the seconds bregman reports compiling
                    (every compilation, wall clock), the CPU seconds of the
                    whole process (user + system, wait4's rusage) and its
                    peak resident memory (ru_maxrss)

and prints the table as Markdown. Models with batch norm are retrained a
second time in their folded export (BN fused into Conv), for the compile
time alone. Fashion-MNIST-shaped models train on Fashion-MNIST; the
CIFAR-shaped ones on "CIFAR-10-shaped" data written from Fashion-MNIST
(padded to 32×32, the gray channel three times, in CIFAR-10's binary
format) since no CIFAR-10 copy is at hand: the accuracy then says whether
the model learns, not how well it does on CIFAR-10.

Outside CI; run through scripts/onnx/model-table.sh [--only NAME ...].
"""

import argparse
import gzip
import json
import os
import re
import signal
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_zoo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BREGMAN = os.path.join(ROOT, os.environ.get("BREGMAN_BUILD_DIR", "build"), "bin", "bregman")
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def run(cmd, timeout):
    """(exit status or 'timeout', combined output, wall seconds, peak RSS in
    MiB, CPU seconds): the child's own rusage from wait4 (RUSAGE_CHILDREN
    would be the maximum over every child so far), user + system time, which
    a machine shared with other work inflates far less than wall time."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as log:
        fd = log.fileno()
        pid = os.posix_spawn(cmd[0], cmd, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1),
                                           (os.POSIX_SPAWN_DUP2, fd, 2)])
        timed_out = False
        while True:
            done, wait_status, usage = os.wait4(pid, os.WNOHANG)
            if done == pid:
                break
            if not timed_out and time.monotonic() - start > timeout:
                os.kill(pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.1)
        log.seek(0)
        text = log.read().decode(errors="replace")
    status = "timeout" if timed_out else os.waitstatus_to_exitcode(wait_status)
    return (status, text, time.monotonic() - start, usage.ru_maxrss / 1024.0,
            usage.ru_utime + usage.ru_stime)


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def first_reason(text):
    """The first line that says why, without the file name in front."""
    for line in text.splitlines():
        if "unsupported" in line or "error" in line.lower():
            return line.strip().replace(ROOT + "/", "")[:160]
    lines = [l for l in text.splitlines() if l.strip()]
    return (lines[-1] if lines else "no output")[:160]


def inspect(model):
    status, text, *_ = run([BREGMAN, "inspect", model], 300)
    if status == 0 and "every node is supported" in text:
        return True, ""
    m = re.search(r"not supported \(\d+\):\n\s*(.*)", text)
    return False, (m.group(1) if m else first_reason(text))[:160]


def compare(directory, tmp):
    data = os.path.join(directory, "test_data_set_0")
    out = os.path.join(tmp, "out.pb")
    status, text, *_ = run([BREGMAN, "run", os.path.join(directory, "model.onnx"),
                              "--input", os.path.join(data, "input_0.pb"),
                              "--output", out], 900)
    if status != 0:
        return None, first_reason(text)
    got, expected = read_tensor(out), read_tensor(os.path.join(data, "output_0.pb"))
    if got.shape != expected.shape:
        return None, f"output shape {list(got.shape)}, PyTorch's {list(expected.shape)}"
    return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected))), ""


def retrain(model, data_args, epochs, limit, tmp, timeout):
    report = os.path.join(tmp, "report.jsonl")
    if os.path.exists(report):
        os.remove(report)
    cmd = [BREGMAN, "retrain", model, "--from-pretrained", "--epochs", str(epochs),
           "--train-limit", str(limit), "--no-progress", "--report", report] + data_args
    status, text, seconds, rss, cpu = run(cmd, timeout)
    result = {"status": status, "seconds": seconds, "rss": rss, "cpu": cpu, "why": ""}
    m = re.search(r"([0-9.]+)s compiling", text)
    result["compile"] = float(m.group(1)) if m else None
    if status != 0:
        result["why"] = "timed out" if status == "timeout" else first_reason(text)
        return result
    with open(report) as f:
        epochs_seen = [json.loads(l) for l in f if l.strip()]
    train = [e for e in epochs_seen if e.get("phase") == "train"]
    result["losses"] = [e["train_loss"] for e in train]
    result["test_acc"] = max(e["test_acc"] for e in train)
    result["density"] = train[-1]["net_density"]
    return result


def cifar_shaped(directory, train, test):
    """Fashion-MNIST in CIFAR-10's binary format (see the module's comment)."""
    def load(prefix, count):
        with gzip.open(os.path.join(FASHION_DIR, f"{prefix}-images-idx3-ubyte.gz")) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(os.path.join(FASHION_DIR, f"{prefix}-labels-idx1-ubyte.gz")) as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        padded = np.pad(images[:count], ((0, 0), (2, 2), (2, 2)))
        pixels = np.repeat(padded[:, None], 3, axis=1).reshape(count, -1)
        return np.concatenate([labels[:count, None], pixels], axis=1).astype(np.uint8)

    os.makedirs(directory, exist_ok=True)
    records = load("train", train)
    load("t10k", test).tofile(os.path.join(directory, "test_batch.bin"))
    records.tofile(os.path.join(directory, "data_batch_1.bin"))
    for i in range(2, 6):  # not read once --train-limit is reached, but must exist
        records[:1].tofile(os.path.join(directory, f"data_batch_{i}.bin"))


def fmt_row(name, shape, imports, why_import, err, why_run, r, folded):
    cells = [name, "×".join(map(str, shape[1:]))]
    cells.append("yes" if imports else "no")
    cells.append(f"{err:.1e}" if err is not None else "—")
    if r and r["status"] == 0:
        l = r["losses"]
        falls = "yes" if len(l) > 1 and l[-1] < l[0] else "no"
        cells += [f"{falls} ({l[0]:.3f}→{l[-1]:.3f})", f"{100 * r['test_acc']:.1f} %",
                  f"{r['density']:.3f}"]
    else:
        cells += ["—", "—", "—"]
    for x in (r, folded):
        if x and x["compile"] is not None:
            cells.append(f"{x['compile']:.1f} s ({x['cpu']:.0f} s CPU in all), "
                         f"{x['rss'] / 1024:.1f} GB")
        elif x and x["status"] == "timeout":
            cells.append(f"> {x['seconds']:.0f} s (timed out)")
        else:
            cells.append("—")
    reasons = [w for w in (why_import, why_run, r["why"] if r else "") if w]
    cells.append(reasons[0] if reasons else "")
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=os.path.join(ROOT, "runs", "onnx-models"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=1280)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per retrain")
    args = parser.parse_args()
    header = ("| model | input | imports | run: max rel. error | retrain: loss falls | "
              "test acc. | density | compile (BN kept) | compile (BN folded) | first refusal |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    load_before, started = os.getloadavg(), time.strftime('%Y-%m-%d %H:%M')
    with tempfile.TemporaryDirectory() as tmp:
        cifar = os.path.join(tmp, "cifar-shaped")
        cifar_shaped(cifar, args.train_limit, 1000)
        for name, (_, _, shape, has_bn, _) in model_zoo.MODELS.items():
            if args.only and name not in args.only:
                continue
            directory = os.path.join(args.models, name)
            model = os.path.join(directory, "model.onnx")
            data = (["--dataset", "cifar10", "--data", cifar] if shape[1:] == (3, 32, 32)
                    else [])
            imports, why_import = inspect(model)
            err, why_run = compare(directory, tmp)
            r = retrain(model, data, args.epochs, args.train_limit, tmp, args.timeout)
            folded = None
            folded_model = os.path.join(args.models, name + "-folded", "model.onnx")
            if has_bn and os.path.exists(folded_model):
                folded = retrain(folded_model, data, 1, 256, tmp, args.timeout)
            rows.append(fmt_row(name, shape, imports, why_import, err, why_run, r, folded))
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"Measured from {started} to {time.strftime('%H:%M')} with torch {model_zoo.torch.__version__}; "
          f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.\n")
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
