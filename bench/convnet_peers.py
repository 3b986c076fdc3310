#!/usr/bin/env python3
"""The ConvNet training step (batch 128) of bregman next to PyTorch and JAX.

Run through bench/convnet_peers.sh (it creates .venv-bench and builds
bregman_bench). One process per system, in one run on this machine's CPU:

  bregman   BM_ConvNetTrainStep of bregman_bench (5 repetitions, median),
            dense and on CSR (BM_ConvNetTrainStepSparse: --sparse-exec on)
  pytorch   eager, the way the method's PyTorch reference writes a step:
            loss.backward() then the LinBreg update under no_grad
  jax       jit of the whole step (forward, backward, update), state donated

The step is the same everywhere: the ConvNet of ALGORITHMS.md §7 (conv 1→64
5×5, max-pool 2, ReLU, conv 64→64 5×5, max-pool 2, ReLU, linear 1024→128,
ReLU, linear 128→10), cross-entropy, LinBreg with τ = 0.07, δ = 1, λ = 0.5,
kernel groups (l1_l2_conv) on the convolutions, l1 on the linear weights,
none on the biases. Timings are wall time per step after warm-up, median of
5 repetitions of ≥ 0.5 s each; the ratio is ours divided by the peer's.

  bench/convnet_peers.py [--bench PATH] [--json OUT]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, LR, DELTA, LAM = 128, 0.07, 1.0, 0.5
REPS, MIN_REP_S, WARMUP = 5, 0.5, 3


def measure(call, sync):
    for _ in range(WARMUP):
        out = call()
    sync(out)
    t0 = time.perf_counter()
    sync(call())
    k = max(1, int(MIN_REP_S / max(time.perf_counter() - t0, 1e-6)))
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(k):
            out = call()
        sync(out)
        times.append((time.perf_counter() - t0) / k)
    return statistics.median(times)


def run_torch():
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    shapes = {"conv1.weight": (64, 1, 5, 5), "conv1.bias": (64,),
              "conv2.weight": (64, 64, 5, 5), "conv2.bias": (64,),
              "fc1.weight": (128, 1024), "fc1.bias": (128,),
              "fc2.weight": (10, 128), "fc2.bias": (10,)}
    params = {k: (torch.randn(s) * 0.05).requires_grad_() for k, s in shapes.items()}
    v = {k: torch.zeros(s) for k, s in shapes.items()}
    x = torch.randn(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))

    def model(p):
        h = F.relu(F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2))
        h = F.relu(F.max_pool2d(F.conv2d(h, p["conv2.weight"], p["conv2.bias"]), 2))
        h = F.relu(F.linear(h.flatten(1), p["fc1.weight"], p["fc1.bias"]))
        return F.linear(h, p["fc2.weight"], p["fc2.bias"])

    def step():
        for t in params.values():
            t.grad = None
        loss = F.cross_entropy(model(params), y)
        loss.backward()
        with torch.no_grad():
            for k, t in params.items():
                v[k].sub_(LR * t.grad)
                z = DELTA * v[k]
                if k.endswith("bias"):
                    t.copy_(z)
                elif t.dim() == 4:  # kernels: group soft threshold
                    norm = z.flatten(2).norm(dim=2, keepdim=True).unsqueeze(-1)
                    n = z.shape[2] * z.shape[3]
                    t.copy_(z * torch.clamp(1 - DELTA * LAM * n ** 0.5 / norm.clamp_min(1e-30), min=0))
                else:
                    t.copy_(torch.sign(z) * torch.clamp(z.abs() - DELTA * LAM, min=0))
        return loss

    return {"ms": 1e3 * measure(step, lambda l: l.item()),
            "threads": torch.get_num_threads(), "version": torch.__version__}


def run_jax():
    import jax
    import jax.numpy as jnp
    key = jax.random.PRNGKey(0)
    shapes = {"conv1.weight": (64, 1, 5, 5), "conv1.bias": (64,),
              "conv2.weight": (64, 64, 5, 5), "conv2.bias": (64,),
              "fc1.weight": (128, 1024), "fc1.bias": (128,),
              "fc2.weight": (10, 128), "fc2.bias": (10,)}
    params = {k: 0.05 * jax.random.normal(jax.random.fold_in(key, i), s)
              for i, (k, s) in enumerate(shapes.items())}
    v = {k: jnp.zeros(s) for k, s in shapes.items()}
    x = jax.random.normal(key, (BATCH, 1, 28, 28))
    y = jax.random.randint(key, (BATCH,), 0, 10)

    def conv(h, w, b):
        out = jax.lax.conv_general_dilated(h, w, (1, 1), "VALID",
                                           dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return out + b[None, :, None, None]

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2),
                                     (1, 1, 2, 2), "VALID")

    def loss_fn(p):
        h = jax.nn.relu(pool(conv(x, p["conv1.weight"], p["conv1.bias"])))
        h = jax.nn.relu(pool(conv(h, p["conv2.weight"], p["conv2.bias"])))
        h = jax.nn.relu(h.reshape(BATCH, -1) @ p["fc1.weight"].T + p["fc1.bias"])
        logits = h @ p["fc2.weight"].T + p["fc2.bias"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(BATCH), y])

    def prox(k, z):
        if k.endswith("bias"):
            return z
        if z.ndim == 4:
            norm = jnp.sqrt(jnp.sum(z * z, axis=(2, 3), keepdims=True))
            n = z.shape[2] * z.shape[3]
            return z * jnp.maximum(1 - DELTA * LAM * n ** 0.5 / jnp.maximum(norm, 1e-30), 0)
        return jnp.sign(z) * jnp.maximum(jnp.abs(z) - DELTA * LAM, 0)

    @jax.jit
    def step(p, v):
        loss, g = jax.value_and_grad(loss_fn)(p)
        v = {k: v[k] - LR * g[k] for k in v}
        p = {k: prox(k, DELTA * v[k]) for k in v}
        return p, v, loss

    step = jax.jit(step, donate_argnums=(0, 1))
    state = [params, v]

    def call():
        p, vv, loss = step(*state)
        state[0], state[1] = p, vv
        return loss

    return {"ms": 1e3 * measure(call, lambda l: l.block_until_ready()),
            "version": jax.__version__}


def run_bregman(bench, name):
    out = subprocess.run(
        [bench, f"--benchmark_filter={name}/", "--no_summary",
         "--benchmark_repetitions=5", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"]
            if b.get("run_type") == "iteration"]
    return {"ms": statistics.median(b["real_time"] for b in runs)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", default=os.path.join(ROOT, "build/bin/bregman_bench"))
    parser.add_argument("--json")
    parser.add_argument("--worker", choices=["torch", "jax"])
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_torch() if args.worker == "torch" else run_jax()))
        return
    results = {"bregman": run_bregman(args.bench, "BM_ConvNetTrainStep"),
               "bregman-csr": run_bregman(args.bench,
                                          "BM_ConvNetTrainStepSparse")}
    for peer in ("torch", "jax"):
        try:
            out = subprocess.run([sys.executable, __file__, "--worker", peer],
                                 check=True, capture_output=True, text=True).stdout
            results[peer] = json.loads(out.strip().splitlines()[-1])
        except subprocess.CalledProcessError as e:
            results[peer] = {"error": (e.stderr or "").strip().splitlines()[-1:]}
    ours = results["bregman"]["ms"]
    csr = results["bregman-csr"]["ms"]
    print(f"ConvNet training step, batch {BATCH}, LinBreg (l1_l2_conv + l1), "
          f"CPU, {os.cpu_count()} cores")
    print(f"{'system':<24}{'ms/step':>10}{'ours/peer':>12}{'CSR/peer':>12}")
    print(f"{'bregman dense':<24}{ours:>10.1f}{'':>12}{csr / ours:>12.2f}")
    print(f"{'bregman on CSR':<24}{csr:>10.1f}")
    for peer, label in (("torch", "PyTorch eager"), ("jax", "JAX jit")):
        r = results[peer]
        if "ms" in r:
            print(f"{label + ' ' + r.get('version', ''):<24}{r['ms']:>10.1f}"
                  f"{ours / r['ms']:>12.2f}{csr / r['ms']:>12.2f}")
        else:
            print(f"{label:<24} failed: {r['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
