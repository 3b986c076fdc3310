#!/usr/bin/env python3
"""Sparse MLP inference: our CSR layers against the peers' sparse formats.

Run through bench/sparse_peers.sh, which creates .venv-bench (as
bench/peers.sh does) and builds bregman_sparse_bench. In one run, every
system on one thread (OMP/OpenBLAS/MKL threads 1, torch.set_num_threads(1),
XLA's CPU client without its thread pool), each in a fresh process:

  1. ours: `bregman_sparse_bench --mlp-only` (the MLP 784-200-80-10 with
     random weights at 1 % and 5 % density: dense GEMMs against the CSR
     layers compiled by MLIR's sparsifier, in the form nn::Linear takes:
     batch-major at batch 1, feature-major at 128),
  2. PyTorch: `F.linear` on the dense weights against `W_csr @ hᵀ` on
     `W.to_sparse_csr()` (torch.sparse's CSR times dense),
  3. JAX: jit of the dense net against jit of the same net on
     `jax.experimental.sparse.BCOO.fromdense(W)` (BCOO times dense),

and prints one table of process CPU time per inference call (median of the
repetitions; the CPU time is the steadier figure on a shared machine) with
our CSR time divided by each peer's sparse and dense time (below 1: ours is
faster). Inference only: neither peer's sparse format gives the weight
gradient that a Bregman step needs.

  bench/sparse_peers.py --bench PATH [--json OUT]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

LAYERS = ((200, 784), (80, 200), (10, 80))  # [out, in] of each linear layer
DENSITIES = (0.01, 0.05)
BATCHES = (128, 1)
REPS = 7
MIN_REP_S = 0.2
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false "
                 "intra_op_parallelism_threads=1",
}


def cpu_us_per_call(call):
    """Median process CPU µs per call over REPS repetitions, each as many
    calls as fill MIN_REP_S seconds (after warm-up calls, which compile)."""
    for _ in range(3):
        call()
    t0 = time.perf_counter()
    call()
    k = max(1, int(MIN_REP_S / max(time.perf_counter() - t0, 1e-7)))
    cpu = []
    for _ in range(REPS):
        c0 = time.process_time()
        for _ in range(k):
            call()
        cpu.append((time.process_time() - c0) / k * 1e6)
    return statistics.median(cpu)


def random_mlp(np, rng, density):
    """Weights with `density` of the entries non-zero (normal, std 0.1) and
    zero biases, as bench/SparseBenchUtil.h makes them."""
    ws = []
    for rows, cols in LAYERS:
        w = rng.normal(0.0, 0.1, (rows, cols)).astype(np.float32)
        w[rng.random((rows, cols)) >= density] = 0.0
        ws.append(w)
    return ws


def worker_torch():
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    rng = np.random.default_rng(7)
    out = {"version": torch.__version__}
    for density in DENSITIES:
        ws = [torch.from_numpy(w) for w in random_mlp(np, rng, density)]
        bs = [torch.zeros(w.shape[0]) for w in ws]
        csrs = [w.to_sparse_csr() for w in ws]
        for batch in BATCHES:
            x = torch.from_numpy(
                rng.standard_normal((batch, 784)).astype(np.float32))

            def dense():
                h = x
                for i, (w, b) in enumerate(zip(ws, bs)):
                    h = F.linear(h, w, b)
                    h = torch.relu(h) if i + 1 < len(ws) else h
                return h

            def sparse():  # feature-major, as ours: W·hᵀ on the CSR
                h = x.t()
                for i, (w, b) in enumerate(zip(csrs, bs)):
                    h = (w @ h) + b[:, None]
                    h = torch.relu(h) if i + 1 < len(csrs) else h
                return h.t()

            with torch.no_grad():
                diff = (dense() - sparse()).abs().max().item()
                out[f"{density}/{batch}"] = {
                    "dense": cpu_us_per_call(dense),
                    "sparse": cpu_us_per_call(sparse), "maxdiff": diff}
    return out


def worker_jax():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.experimental import sparse as jsparse
    rng = np.random.default_rng(7)
    out = {"version": jax.__version__}

    def net(ws, bs, x):  # works for dense arrays and BCOO alike
        h = x.T
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = (w @ h) + b[:, None]
            h = jax.nn.relu(h) if i + 1 < len(ws) else h
        return h.T

    run = jax.jit(net)
    for density in DENSITIES:
        ws = [jnp.asarray(w) for w in random_mlp(np, rng, density)]
        bs = [jnp.zeros(w.shape[0]) for w in ws]
        bcoos = [jsparse.BCOO.fromdense(w) for w in ws]
        for batch in BATCHES:
            x = jnp.asarray(rng.standard_normal((batch, 784)), jnp.float32)
            diff = float(jnp.max(jnp.abs(run(ws, bs, x) - run(bcoos, bs, x))))
            out[f"{density}/{batch}"] = {
                "dense": cpu_us_per_call(
                    lambda: run(ws, bs, x).block_until_ready()),
                "sparse": cpu_us_per_call(
                    lambda: run(bcoos, bs, x).block_until_ready()),
                "maxdiff": diff}
    return out


ROW = re.compile(r"^inference (\d+) %, batch (\d+)\s+([\d.]+)\s+([\d.]+)\s+"
                 r"([\d.]+)\s+([\d.]+)")


def ours(bench):
    """Our figures: CPU µs of the CSR layers as nn::Linear runs them
    (csrProduct: batch-major below 16 rows, else feature-major) and of the
    dense path."""
    env = dict(os.environ, **ONE_THREAD)
    text = subprocess.run([bench, "--mlp-only"], env=env, check=True,
                          capture_output=True, text=True).stdout
    out = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            pct, batch, _gathered, _feature_major, linear, dense = m.groups()
            out[f"{int(pct) / 100}/{batch}"] = {
                "sparse": float(linear), "dense": float(dense)}
    if len(out) != len(DENSITIES) * len(BATCHES):
        sys.exit(f"could not read the MLP table of {bench}:\n{text}")
    return out


def peer(name):
    """Runs a worker in a fresh process (one thread) and returns its JSON."""
    env = dict(os.environ, **ONE_THREAD)
    proc = subprocess.run([sys.executable, __file__, "--worker", name],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results):
    t, j = results["torch"], results["jax"]
    print(f"MLP 784-200-80-10 inference, process CPU µs per call (one "
          f"thread; torch {t.get('version', '?')}, jax {j.get('version', '?')})")
    head = ("| density, batch | ours CSR | ours dense | torch CSR | torch dense"
            " | JAX BCOO | JAX dense | ours CSR / torch CSR | ours CSR / JAX "
            "BCOO | ours CSR / fastest peer |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for density in DENSITIES:
        for batch in BATCHES:
            key = f"{density}/{batch}"
            o = results["ours"][key]
            tp, jp = t.get(key, {}), j.get(key, {})
            cells = [o["sparse"], o["dense"], tp.get("sparse"),
                     tp.get("dense"), jp.get("sparse"), jp.get("dense")]
            peers = [c for c in cells[2:] if c]
            ratio = (lambda p: f"{o['sparse'] / p:.2f}" if p else "—")
            print(f"| {density * 100:g} %, {batch} | "
                  + " | ".join(f"{c:.1f}" if c else "—" for c in cells)
                  + f" | {ratio(tp.get('sparse'))} | {ratio(jp.get('sparse'))}"
                  f" | {ratio(min(peers) if peers else None)} |")
    for name in ("torch", "jax"):
        if "error" in results[name]:
            print(f"{name}: failed: {results[name]['error']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", help="path of bregman_sparse_bench")
    parser.add_argument("--json", help="also write every figure here")
    parser.add_argument("--worker", choices=("torch", "jax"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"torch": worker_torch,
                          "jax": worker_jax}[args.worker]()))
        return
    if not args.bench:
        parser.error("--bench is required")
    load = os.getloadavg()
    results = {"ours": ours(args.bench), "torch": peer("torch"),
               "jax": peer("jax"), "loadavg": load}
    print(f"load average before: {load[0]:.2f}; after: "
          f"{os.getloadavg()[0]:.2f}")
    table(results)
    if args.json:
        with open(args.json, "x") as f:  # never replaces a file
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
