#!/usr/bin/env python3
"""GPU benchmark of bregman next to PyTorch and JAX on the same card (issue 4).

Run through bench/gpu_peers.sh on a machine with an NVIDIA GPU. In one run:

  1. our bregman_bench GPU benchmarks (Google Benchmark JSON, 5 repetitions):
     a device-to-device copy and the fused LinBreg update of 2^24 and 2^26
     parameters resident on the device (GB/s), and the MLP training step
     784-200-80-10, batch 128, LinBreg (lr 0.1, delta 1, l1 lambda 0.1),
     without and with momentum 0.9, the loss read back every step;
  2. PyTorch eager on the card: the same copy (Tensor.copy_), the LinBreg
     update written the way the method's reference writes it, and the same
     MLP step (loss.item() every step);
  3. JAX jit on the card: the same MLP step (state donated, the loss blocked
     on every step).

It prints the card's name, our update bandwidth as a fraction of our copy's
(the goal is at least 0.8) and the step times with our time divided by each
peer's (below 1: we are faster). Wall time throughout; median of the
repetitions with min-max.

  bench/gpu_peers.py --bench PATH [--json OUT]
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

LAYERS = (784, 200, 80, 10)
BATCH = 128
LR, DELTA, LAM = 0.1, 1.0, 0.1
SIZES = (1 << 24, 1 << 26)
REPS, MIN_REP_S, WARMUP = 5, 0.3, 5
# --smoke: the peers' code on the CPU with tiny sizes (checks the script
# where no GPU is; not figures).
SMOKE = False


def measure(call, sync):
    for _ in range(WARMUP):
        sync(call())
    times = []
    for _ in range(REPS):
        n, t0 = 0, time.perf_counter()
        while True:
            sync(call())
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= MIN_REP_S:
                break
        times.append(elapsed / n)
    return {"median": statistics.median(times), "min": min(times),
            "max": max(times)}


def ours(bench):
    out = subprocess.run(
        [bench, "--benchmark_filter=Gpu", "--benchmark_format=json",
         "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    start = out.index("{")
    data = json.loads(out[start:out.rindex("}") + 1])
    res = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"bregman_bench: {b['name']}: {b.get('error_message')}")
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"]
        seconds = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}[
            b["time_unit"]]
        res[name] = {"seconds": seconds,
                     "bytes_per_second": b.get("bytes_per_second")}
    return res, data["context"]


def torch_peer():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    if SMOKE:
        dev, sync, card = torch.device("cpu"), (lambda _: None), "cpu (smoke)"
    else:
        dev = torch.device("cuda")
        sync = lambda _: torch.cuda.synchronize()
        card = torch.cuda.get_device_name(0)
    res = {"card": card, "torch": torch.__version__}

    def prox_l1(x, lam):
        return torch.sign(x) * torch.clamp(torch.abs(x) - lam, min=0)

    for n in SIZES:
        src = torch.rand(n, device=dev)
        dst = torch.empty_like(src)
        r = measure(lambda: dst.copy_(src), sync)
        res[f"copy/{n}"] = dict(r, gbps=8 * n / r["median"] / 1e9)
        theta = torch.zeros(n, device=dev)
        v = (torch.rand(n, device=dev) - 0.5) * 0.4
        g = (torch.rand(n, device=dev) - 0.5) * 2e-3

        def update():
            v.add_(-LR * g)
            theta.copy_(prox_l1(DELTA * v, DELTA * LAM))
        r = measure(update, sync)
        res[f"linbreg/{n}"] = dict(r, gbps=16 * n / r["median"] / 1e9)

    def make(beta):
        torch.manual_seed(0)
        a, b, c, d = LAYERS
        net = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c),
                            nn.ReLU(), nn.Linear(c, d)).to(dev)
        params = list(net.named_parameters())
        state = {p: {"v": p.detach().clone() / DELTA,
                     "m": torch.zeros_like(p)} for _, p in params}
        gen = torch.Generator().manual_seed(42)
        x = ((torch.rand(BATCH, a, generator=gen) - 0.5) / 0.5).to(dev)
        y = torch.randint(0, 10, (BATCH,), generator=gen).to(dev)

        def step():
            net.zero_grad()
            out = net(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            with torch.no_grad():
                for name, p in params:
                    lam = LAM if name.endswith("weight") else 0.0
                    s = state[p]
                    if beta > 0:
                        s["m"].mul_(beta).add_((1 - beta) * LR * p.grad)
                        s["v"].add_(-s["m"])
                    else:
                        s["v"].add_(-LR * p.grad)
                    p.copy_(prox_l1(DELTA * s["v"], DELTA * lam) if lam
                            else DELTA * s["v"])
            return loss.item(), (out.argmax(1) == y).sum()
        return step

    for beta, tag in ((0.0, ""), (0.9, "_momentum")):
        res[f"mlp{tag}"] = measure(make(beta), lambda r: None)
    return res


def jax_peer():
    import jax
    import jax.numpy as jnp
    if not SMOKE and not any(d.platform == "gpu" for d in jax.devices()):
        raise RuntimeError(f"JAX sees no GPU: {jax.devices()}")
    res = {"jax": jax.__version__}
    def init_params():  # fresh for each step function (state is donated)
        key = jax.random.PRNGKey(0)
        params = []
        for a, b in zip(LAYERS[:-1], LAYERS[1:]):
            key, k1 = jax.random.split(key)
            params.append((jax.random.normal(k1, (b, a)) * 0.01, jnp.zeros(b)))
        return params

    key, kx, ky = jax.random.split(jax.random.PRNGKey(1), 3)
    x = (jax.random.uniform(kx, (BATCH, LAYERS[0])) - 0.5) / 0.5
    y = jax.random.randint(ky, (BATCH,), 0, 10)

    def loss_fn(ps):
        h = x
        for i, (w, b) in enumerate(ps):
            h = h @ w.T + b
            if i + 1 < len(ps):
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1)), h

    def prox(v, lam):
        return jnp.sign(v) * jnp.maximum(jnp.abs(v) - lam, 0)

    for beta, tag in ((0.0, ""), (0.9, "_momentum")):
        def step_fn(ps, vs, ms, beta=beta):
            (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(ps)
            new_ps, new_vs, new_ms = [], [], []
            for (w, b), (vw, vb), (mw, mb), (gw, gb) in zip(ps, vs, ms, grads):
                if beta > 0:
                    mw = beta * mw + (1 - beta) * LR * gw
                    mb = beta * mb + (1 - beta) * LR * gb
                    vw, vb = vw - mw, vb - mb
                else:
                    vw, vb = vw - LR * gw, vb - LR * gb
                new_ps.append((prox(DELTA * vw, DELTA * LAM), DELTA * vb))
                new_vs.append((vw, vb))
                new_ms.append((mw, mb))
            return new_ps, new_vs, new_ms, loss, jnp.sum(
                jnp.argmax(out, 1) == y)

        step = jax.jit(step_fn, donate_argnums=(0, 1, 2))
        params = init_params()
        state = {"ps": params, "vs": [(w / DELTA, b / DELTA) for w, b in params],
                 "ms": [(jnp.zeros_like(w), jnp.zeros_like(b))
                        for w, b in params]}

        def call():
            ps, vs, ms, loss, hits = step(state["ps"], state["vs"], state["ms"])
            state.update(ps=ps, vs=vs, ms=ms)
            return loss
        res[f"mlp{tag}"] = measure(call, lambda l: l.block_until_ready())
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--json")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        global SMOKE, SIZES, REPS, MIN_REP_S
        SMOKE, SIZES, REPS, MIN_REP_S = True, (1 << 10,), 1, 0.01
        for name, fn in (("torch", torch_peer), ("jax", jax_peer)):
            print(name, fn())
        return
    our, context = ours(args.bench)
    peers = {}
    for name, fn in (("torch", torch_peer), ("jax", jax_peer)):
        try:
            peers[name] = fn()
        except Exception as e:  # a missing peer is reported, not fatal
            peers[name] = {"error": f"{type(e).__name__}: {e}"}
            print(f"{name}: not measured ({peers[name]['error']})")
    card = peers.get("torch", {}).get("card", "?")
    print(f"\nGPU: {card}; {context.get('date', '')}")
    print("\nFused LinBreg update, parameters resident on the device:")
    print(f"{'n':>10} {'copy GB/s':>10} {'update GB/s':>12} {'update/copy':>12}"
          f" {'torch upd GB/s':>15}")
    for n in SIZES:
        copy = our[f"BM_GpuDeviceCopy/{n}/real_time"]["bytes_per_second"] / 1e9
        upd = our[f"BM_GpuLinBregUpdate/{n}/real_time"]["bytes_per_second"] / 1e9
        tu = peers.get("torch", {}).get(f"linbreg/{n}", {}).get("gbps",
                                                                 math.nan)
        print(f"{n:>10} {copy:>10.1f} {upd:>12.1f} {upd / copy:>12.2f}"
              f" {tu:>15.1f}")
    print("\nMLP training step 784-200-80-10, batch 128 (ms; loss read back "
          "every step):")
    print(f"{'':>16} {'bregman':>9} {'torch':>9} {'jax':>9} "
          f"{'ours/torch':>11} {'ours/jax':>9}")
    for arg, tag in ((0, ""), (1, "_momentum")):
        mine = our[f"BM_GpuMlpTrainStep/{arg}/real_time"]["seconds"] * 1e3
        t = peers.get("torch", {}).get(f"mlp{tag}", {}).get("median",
                                                              math.nan) * 1e3
        j = peers.get("jax", {}).get(f"mlp{tag}", {}).get("median",
                                                          math.nan) * 1e3
        print(f"{'linbreg' + tag:>16} {mine:>9.3f} {t:>9.3f} {j:>9.3f} "
              f"{mine / t:>11.2f} {mine / j:>9.2f}")
    conv = our.get("BM_GpuConvNetTrainStep/real_time")
    if conv:
        print(f"\nConvNet training step, batch 128 (ours, cuDNN): "
              f"{conv['seconds'] * 1e3:.3f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ours": our, "peers": peers, "card": card}, f, indent=1)


if __name__ == "__main__":
    main()
