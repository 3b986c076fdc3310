#!/usr/bin/env python3
"""The paper's tables as runs of `bregman train` (standard library only).

  experiments.py list                         rows, their commands, what is stored
  experiments.py run ROW OUT BREGMAN [DATA]   run (or continue) ROW into OUT/ROW.*
  experiments.py table REPORTS                the Markdown table from REPORTS/*.jsonl
  experiments.py check REPORTS DOC            exit 1 unless DOC holds that table
  experiments.py write REPORTS DOC            put the table into DOC
  experiments.py compare REPORTS ROW          ROW's epochs beside the method's own run
                                              (REPORTS/reference-ROW.json) where there is one

Rows and the paper's figures are in rows.json beside this file. A row's report
is the JSON-lines file `bregman train --report` writes, one object per epoch.
"""
import json
import os
import tempfile
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN = "<!-- experiments-table: begin (scripts/experiments-table.sh writes this) -->"
END = "<!-- experiments-table: end -->"


def fail(message):
    print(f"experiments: {message}", file=sys.stderr)
    sys.exit(1)


def load_rows():
    with open(os.path.join(HERE, "rows.json"), encoding="utf-8") as f:
        return json.load(f)["rows"]


def find_row(name):
    for row in load_rows():
        if row["name"] == name:
            return row
    fail(f"no row named '{name}' (scripts/reproduce.sh --list shows them)")


def command(row, bregman, out, data=None):
    """The exact argument vector of a row's run (no shell involved)."""
    args = [data if a == "DATA" and data else a for a in row["args"]]
    if "DATA" in args:
        fail(f"row {row['name']} needs its data folder: scripts/reproduce.sh {row['name']} --data DIR")
    stem = os.path.join(out, row["name"])
    return [bregman, "train", *args, "--epochs", str(row["epochs"]),
            "--report", stem + ".jsonl", "--checkpoint", stem + ".ckpt", "--no-progress"]


def read_report(path):
    epochs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                epochs.append(json.loads(line))
            except json.JSONDecodeError as error:
                fail(f"{path}:{number}: not a JSON object ({error.msg})")
    return epochs


def check_command(row, epochs, path):
    """A report must come from its row's command: the λ and the optimizer it
    records are the ones the row's arguments give."""
    args, first = row["args"], epochs[0] if epochs else {}
    if "--lambda" in args and "lambda" in first:
        wanted = float(args[args.index("--lambda") + 1])
        if abs(first["lambda"] - wanted) > 1e-6 * max(1.0, wanted):
            fail(f"{path}: trained with lambda {first['lambda']:g}, but row {row['name']} "
                 f"says --lambda {wanted:g}")
    if "--optimizer" in args and "optimizer" in first:
        wanted = args[args.index("--optimizer") + 1]
        if first["optimizer"] != wanted:
            fail(f"{path}: trained with {first['optimizer']}, but row {row['name']} "
                 f"says --optimizer {wanted}")


def planned_epochs(row):
    args = row["args"]
    extra = int(args[args.index("--retrain-epochs") + 1]) if "--retrain-epochs" in args else 0
    return row["epochs"] + extra


def summarize(row, epochs):
    """Test accuracy at the best validation epoch (the last phase's, so a pruned
    run is judged after pruning, a thresholded one after thresholding; the
    first of equal ones), and its densities."""
    if not epochs:
        return None
    phase = epochs[-1].get("phase", "train")
    candidates = [e for e in epochs if e.get("phase", "train") == phase]
    best = max(candidates, key=lambda e: (e["val_acc"], -e["epoch"]))
    # With kernel groups (the only rows whose paper column counts kernels)
    # a kernel is all zero or not, so the convolutions' weight density is
    # the fraction of non-zero kernels.
    kernels = best.get("conv_density", 1.0)
    return {
        "done": sum(1 for e in epochs if e.get("phase", "train") != "thresholded"), "planned": planned_epochs(row), "best_epoch": best["epoch"],
        "test": 100 * best["test_acc"], "val": 100 * best["val_acc"],
        "nonzero": 100 * best["net_density"], "linear": 100 * best.get("linear_density", best["net_density"]),
        "kernels": 100 * kernels,
        "hours": sum(e.get("seconds", 0.0) for e in epochs) / 3600,
    }


def paper_cell(paper):
    parts = [f"{paper['nonzero']:g}" if "nonzero" in paper else "—"]
    if "linear" in paper:
        parts.append(f"{paper['linear']:g} lin")
    if "kernels" in paper:
        parts.append(f"{paper['kernels']:g} ker")
    return " / ".join(parts)


def ours_cell(paper, s):
    """Our densities in the paper's columns, the overall one always."""
    parts = [f"{s['nonzero']:.1f}"]
    if "linear" in paper:
        parts.append(f"{s['linear']:.1f} lin")
    if "kernels" in paper:
        parts.append(f"{s['kernels']:.1f} ker")
    return " / ".join(parts)


def table(reports):
    lines = ["| row | table | strategy | paper: % non-zero | paper: test | ours: % non-zero "
             "| ours: test (val) | best epoch | epochs run | wall-clock |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in load_rows():
        path = os.path.join(reports, row["name"] + ".jsonl")
        head = f"| {row['name']} | {row['table']} | {row['strategy']} | {paper_cell(row['paper'])} | {row['paper']['test']:g} % "
        epochs = read_report(path) if os.path.exists(path) else None
        if epochs is not None:
            check_command(row, epochs, path)
        s = summarize(row, epochs) if epochs is not None else None
        if s is None:
            where = "needs a GPU" if row["device"] == "gpu" else "not run yet"
            lines.append(head + f"| — | — | — | 0 of {planned_epochs(row)} ({where}) | — |")
            continue
        status = f"{s['done']} of {s['planned']}" + ("" if s["done"] >= s["planned"] else " (in progress)")
        lines.append(head + f"| {ours_cell(row['paper'], s)} | {s['test']:.2f} % ({s['val']:.2f} %) | {s['best_epoch']} "
                     f"| {status} | {s['hours']:.1f} h |")
    return "\n".join(lines) + "\n"


def check(reports, doc):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        fail(f"{doc}: the markers of the generated table are missing ({BEGIN} ... {END})")
    stored = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    wanted = table(reports)
    if stored != wanted:
        print(f"experiments: {doc} disagrees with the reports in {reports}; "
              "rerun scripts/experiments-table.sh --write. Expected:\n" + wanted, file=sys.stderr)
        sys.exit(1)
    print(f"experiments: {doc} agrees with the {len(load_rows())} rows' reports in {reports}")


def write(reports, doc):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        fail(f"{doc}: put the markers where the table goes first: {BEGIN} and {END}")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    new = before + BEGIN + "\n" + table(reports) + END + after
    # A fresh temporary beside it (a fixed name left by an interrupted run
    # made every later --write fail), renamed into place.
    handle, temporary = tempfile.mkstemp(prefix=os.path.basename(doc) + ".",
                                         suffix=".new", dir=os.path.dirname(doc) or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(new)
        os.chmod(temporary, os.stat(doc).st_mode & 0o777)
        os.replace(temporary, doc)
    except BaseException:
        os.unlink(temporary)
        raise


def compare(reports, name):
    """Every tenth epoch (and the best-validation ones) of our run beside the
    reference code's run of the same settings."""
    path = os.path.join(reports, f"reference-{name}.json")
    if not os.path.exists(path):
        fail(f"no reference run for {name} ({path})")
    with open(path, encoding="utf-8") as f:
        reference = json.load(f)
    columns = reference["columns"]
    theirs = {r[0]: dict(zip(columns, r)) for r in reference["epochs"]}
    ours = {e["epoch"]: e for e in read_report(os.path.join(reports, name + ".jsonl"))}
    best_ours = max(ours.values(), key=lambda e: (e["val_acc"], -e["epoch"]))["epoch"]
    best_theirs = max(theirs.values(), key=lambda e: (e["val_acc"], -e["epoch"]))["epoch"]
    print(f"{name} against {reference['source']}")
    print("| epoch | val: ours / reference | kernels % | linear % | train acc |")
    print("|---|---|---|---|---|")
    shown = sorted({e for e in ours if e % 10 == 0 or e == 1} | {best_ours, best_theirs})
    for epoch in shown:
        o, t = ours.get(epoch), theirs.get(epoch)
        def pair(key_ours, key_theirs, scale=100):
            a = f"{scale * o[key_ours]:.2f}" if o and key_ours in o else "—"
            b = f"{scale * t[key_theirs]:.2f}" if t else "—"
            return f"{a} / {b}"
        mark = " (best ours)" if epoch == best_ours else ""
        mark += " (best reference)" if epoch == best_theirs else ""
        print(f"| {epoch}{mark} | {pair('val_acc', 'val_acc')} | {pair('conv_density', 'kernel_density')} "
              f"| {pair('linear_density', 'linear_density')} | {pair('train_acc', 'train_acc')} |")


def list_rows(reports):
    for row in load_rows():
        path = os.path.join(reports, row["name"] + ".jsonl")
        done = len(read_report(path)) if os.path.exists(path) else 0
        print(f"{row['name']:26} {row['device']:4} {done:3}/{planned_epochs(row):<3} epochs stored   "
              f"bregman train {' '.join(row['args'])} --epochs {row['epochs']}")
        print(f"{'':26} {row['chosen']}")


def run(name, out, bregman, data):
    row = find_row(name)
    argv = command(row, bregman, out, data)
    stem = os.path.join(out, name)
    if os.path.exists(stem + ".ckpt"):
        argv += ["--resume", stem + ".ckpt"]  # continue where the last run stopped
    elif os.path.exists(stem + ".jsonl"):
        fail(f"{stem}.jsonl exists without its checkpoint: move it away first (it is not replaced)")
    print("experiments: " + " ".join(argv), flush=True)
    os.execv(bregman, argv)


def main(argv):
    if len(argv) >= 2 and argv[0] == "list":
        return list_rows(argv[1])
    if len(argv) >= 4 and argv[0] == "run":
        return run(argv[1], argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    if len(argv) == 2 and argv[0] == "table":
        return print(table(argv[1]), end="")
    if len(argv) == 3 and argv[0] == "check":
        return check(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "compare":
        return compare(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "write":
        return write(argv[1], argv[2])
    fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
