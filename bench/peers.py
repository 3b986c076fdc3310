#!/usr/bin/env python3
"""Side-by-side benchmark of bregman against PyTorch and JAX on the CPU.

Run through bench/peers.sh, which creates .venv-bench, installs
bench/requirements-peers.txt and builds bregman_bench. In one run this script

  1. runs our bregman_bench (Google Benchmark, --benchmark_repetitions=5, JSON),
  2. measures the physical limits: a memory copy of the same sizes (numpy and
     torch) and the GEMMs of the MLP step in the OpenBLAS that bregman links
     (called through ctypes, with the environment our process gets), through
     bregman_cpu_sgemm itself (the call our step makes: OpenBLAS or oneDNN
     by shape; from the CPU kernels plugin, in a process of its own), in
     numpy's bundled OpenBLAS and in torch.mm,
  3. runs the peers, each in a fresh process: PyTorch eager (written the way
     the method's PyTorch reference writes it), torch.compile of the MLP's
     forward and backward, and JAX jit (functional, state donated),

and prints one table: median and spread (min-max over the repetitions) of
each system, our time divided by each peer's (below 1: we are faster) and
the bandwidth of the update workloads next to the copy bandwidth.

Every peer measurement: warm-up calls, then REPS repetitions, each the mean
time per call of as many calls as fill MIN_REP_S seconds (as Google Benchmark
does for ours). Wall time throughout.

  bench/peers.py [--bench PATH] [--quick] [--json OUT]
"""

import argparse
import ctypes
import ctypes.util
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (1_000_000, 10_000_000)
ROW = 1000  # row length of the row-group prox
REPS = 5
MIN_REP_S = 0.3
WARMUP = 3

# The update workloads: key, label, bytes per element the op must move (as
# bregman_bench counts them), our benchmark.
UPDATES = [
    ("linbreg", "LinBreg l1", 16, "BM_LinBregUpdate/{n}/real_time"),
    ("momentum", "LinBreg l1, momentum 0.9", 24,
     "BM_LinBregMomentum/{n}/real_time"),
    ("adabreg", "AdaBreg l1", 32, "BM_AdaBregUpdate/{n}/real_time"),
    ("rowprox", "row-group prox step (l1_l2, rows of 1000)", 12,
     "BM_ProxStepL1L2Rows/{n}/real_time"),
]
COPY_BYTES = 8  # a copy reads and writes each float once

# The MLP step: 784-200-80-10, batch 128, LinBreg lr 0.1, delta 1, l1 with
# lambda 0.1 on the weights, none on the biases.
LAYERS = (784, 200, 80, 10)
BATCH = 128
LR, DELTA, LAM = 0.1, 1.0, 0.1

# The eight GEMMs of one step of ours (row-major, as bregman calls
# cblas_sgemm; read off with a breakpoint on cblas_sgemm): (transA, transB,
# m, n, k). Forward X·Wᵀ, backward dY·W for the hidden inputs and dYᵀ·X for
# the weight gradients.
STEP_GEMMS = [
    (False, True, 128, 200, 784), (False, True, 128, 80, 200),
    (False, True, 128, 10, 80), (False, False, 128, 80, 10),
    (False, False, 128, 200, 80), (True, False, 10, 80, 128),
    (True, False, 80, 200, 128), (True, False, 200, 784, 128),
]


def gemm_flops(m, n, k):
    return 2.0 * m * n * k


STEP_FLOPS = sum(gemm_flops(m, n, k) for _, _, m, n, k in STEP_GEMMS)


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

def measure(call, sync=lambda r: None, reps=None, min_rep_s=None,
            warmup=WARMUP):
    """Seconds per call of each of `reps` repetitions, after warm-up."""
    reps = reps or REPS
    min_rep_s = min_rep_s or MIN_REP_S
    out = None
    for _ in range(warmup):
        out = call()
    sync(out)
    t0 = time.perf_counter()
    sync(call())
    once = max(time.perf_counter() - t0, 1e-7)
    k = max(1, int(min_rep_s / once))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(k):
            out = call()
        sync(out)
        times.append((time.perf_counter() - t0) / k)
    return times


def summary(times):
    return {"median": statistics.median(times), "min": min(times),
            "max": max(times), "reps": len(times)}


def guarded(results, key, fn):
    """results[key] = fn(), or the reason it failed."""
    try:
        results[key] = fn()
    except Exception as e:  # a peer that fails is reported, not fatal
        msg = f"{type(e).__name__}: {e}".strip().splitlines()
        results[key] = {"error": msg[0][:300] if msg else type(e).__name__}


# --------------------------------------------------------------------------
# Worker: numpy (copy) and the GEMMs of the step in the OpenBLAS we link
# --------------------------------------------------------------------------

def openblas_sgemm():
    """cblas_sgemm of the OpenBLAS that bregman_bench links (Debian's)."""
    path = os.environ.get("BREGMAN_OPENBLAS", "libopenblas.so.0")
    lib = ctypes.CDLL(path)
    f = lib.cblas_sgemm
    P, I, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    f.argtypes = [I, I, I, I, I, I, F, P, I, P, I, F, P, I]
    f.restype = None
    return lib, f


def worker_blas(quick, gemm_only=False):
    import numpy as np
    from threadpoolctl import threadpool_info

    res = {}
    rng = np.random.default_rng(0)
    if not gemm_only:
        for n in SIZES:
            src = rng.standard_normal(n, dtype=np.float32)
            dst = np.empty_like(src)
            res[f"copy/numpy/{n}"] = summary(
                measure(lambda: np.copyto(dst, src)))

    lib, sgemm = openblas_sgemm()
    ok = True
    calls = {"openblas": [], "numpy": []}
    for tA, tB, m, n, k in STEP_GEMMS:
        a = rng.standard_normal((k, m) if tA else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tB else (k, n), dtype=np.float32)
        c = np.zeros((m, n), dtype=np.float32)
        args = (101, 112 if tA else 111, 112 if tB else 111, m, n, k, 1.0,
                a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], 0.0,
                c.ctypes.data, n)
        sgemm(*args)
        want = (a.T if tA else a).astype(np.float64) @ \
            (b.T if tB else b).astype(np.float64)
        if not np.allclose(c, want, rtol=1e-3, atol=1e-2):
            ok = False
        name = f"{'T' if tA else 'N'}{'T' if tB else 'N'} {m}x{n}x{k}"
        res[f"gemm/openblas/{name}"] = summary(measure(lambda: sgemm(*args)))
        aa, bb = (a.T if tA else a), (b.T if tB else b)
        calls["openblas"].append(args)
        calls["numpy"].append((aa, bb, c))
        res[f"gemm/numpy/{name}"] = summary(
            measure(lambda: np.dot(aa, bb, out=c)))
    res["gemm/openblas/correct"] = ok
    # The eight back to back, as one step calls them (threads stay warm).
    res["gemm/openblas/step"] = summary(measure(
        lambda: [sgemm(*a) for a in calls["openblas"]]))
    res["gemm/numpy/step"] = summary(measure(
        lambda: [np.dot(a, b, out=c) for a, b, c in calls["numpy"]]))
    info = [{k: d.get(k) for k in ("internal_api", "version",
                                    "architecture", "num_threads",
                                    "filepath")}
            for d in threadpool_info()]
    return res, {"blas": info,
                 "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                 "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}


def worker_ours_gemm(quick, bench):
    """The eight GEMMs through bregman_cpu_sgemm, the call our compiled step
    makes (OpenBLAS or oneDNN by shape), from the CPU kernels plugin built
    next to bregman_bench; in a process of its own."""
    import numpy as np

    lib = ctypes.CDLL(os.path.join(os.path.dirname(bench),
                                   "libbregman_cpu_kernels.so"))
    f = lib.bregman_cpu_sgemm
    P, I, F = ctypes.c_void_p, ctypes.c_int32, ctypes.c_float
    f.argtypes = [I, I, ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_ssize_t,
                  F, P, P, P]
    f.restype = None
    rng = np.random.default_rng(0)
    res, ok, calls = {}, True, []
    for tA, tB, m, n, k in STEP_GEMMS:
        a = rng.standard_normal((k, m) if tA else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tB else (k, n), dtype=np.float32)
        c = np.zeros((m, n), dtype=np.float32)
        args = (int(tA), int(tB), m, n, k, 0.0, a.ctypes.data, b.ctypes.data,
                c.ctypes.data)
        f(*args)
        want = (a.T if tA else a).astype(np.float64) @ \
            (b.T if tB else b).astype(np.float64)
        ok = ok and bool(np.allclose(c, want, rtol=1e-3, atol=1e-2))
        name = f"{'T' if tA else 'N'}{'T' if tB else 'N'} {m}x{n}x{k}"
        res[f"gemm/ours/{name}"] = summary(measure(lambda: f(*args)))
        calls.append((args, a, b, c))
    res["gemm/ours/correct"] = ok
    res["gemm/ours/step"] = summary(measure(
        lambda: [f(*call[0]) for call in calls]))
    return res, {"BREGMAN_GEMM": os.environ.get("BREGMAN_GEMM")}


# --------------------------------------------------------------------------
# Worker: PyTorch
# --------------------------------------------------------------------------

def worker_torch(quick, threads):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    res = {}
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "blas": torch.backends.mkldnn.is_available() and "oneDNN/MKL"}

    # ---- the fused updates, as the reference's optimizers write them ------
    def prox_l1(x, delta, lam):
        return torch.sign(x) * torch.clamp(torch.abs(x) - delta * lam, min=0)

    def prox_l1_l2_rows(x, s, lam):
        thresh = s * lam * math.sqrt(x.shape[-1])
        ret = torch.clone(x)
        nx = torch.norm(x, p=2, dim=1).view(x.shape[0], 1)
        ind = torch.where(nx != 0)[0]
        ret[ind] = x[ind] * torch.clamp(1 - torch.clamp(thresh / nx[ind],
                                                        max=1), min=0)
        return ret

    def operands(n):
        g = torch.Generator().manual_seed(1)
        st = {"theta": torch.zeros(n),
              "v": torch.rand(n, generator=g) * 0.4 - 0.2,
              "m": torch.zeros(n), "m1": torch.zeros(n), "m2": torch.zeros(n),
              "g": torch.rand(n, generator=g) * 2e-3 - 1e-3, "step": 0}
        return st

    @torch.no_grad()
    def linbreg(st):
        st["v"].add_(st["g"], alpha=-LR)
        st["theta"] = prox_l1(DELTA * st["v"], DELTA, LAM)

    @torch.no_grad()
    def momentum(st, beta=0.9):
        st["m"].mul_(beta)
        st["m"].add_((1 - beta) * LR * st["g"])
        st["v"].add_(-st["m"])
        st["theta"] = prox_l1(DELTA * st["v"], DELTA, LAM)

    @torch.no_grad()
    def adabreg(st, b1=0.9, b2=0.999, eps=1e-8):
        st["step"] += 1
        bc1, bc2 = 1 - b1 ** st["step"], 1 - b2 ** st["step"]
        st["m1"].mul_(b1).add_(st["g"], alpha=1 - b1)
        st["m2"].mul_(b2).addcmul_(st["g"], st["g"], value=1 - b2)
        denom = (st["m2"].sqrt() / math.sqrt(bc2)).add_(eps)
        st["v"].addcdiv_(st["m1"], denom, value=-LR / bc1)
        st["theta"] = prox_l1(DELTA * st["v"], DELTA, LAM)

    @torch.no_grad()
    def rowprox(st, lam=1e-6):
        # ProxSGD as the reference writes it: p.add_(-lr*g); p = prox(p, lr)
        p = st["theta2"]
        p.add_(-LR * st["g2"])
        st["theta2"] = prox_l1_l2_rows(p, LR, lam)

    fns = {"linbreg": linbreg, "momentum": momentum, "adabreg": adabreg,
           "rowprox": rowprox}
    for n in SIZES:
        if not quick:
            src, dst = torch.randn(n), torch.empty(n)
            res[f"copy/torch/{n}"] = summary(measure(lambda: dst.copy_(src)))
        for key, _, _, _ in UPDATES:
            st = operands(n)
            st["theta2"] = (torch.rand(n) * 2 - 1).view(n // ROW, ROW)
            st["g2"] = st["g"].view(n // ROW, ROW)
            fn = fns[key]
            guarded(res, f"update/{key}/eager/{n}",
                    lambda: summary(measure(lambda: fn(st))))

    # ---- GEMMs of the step in torch.mm ------------------------------------
    seq = []
    for tA, tB, m, n, k in STEP_GEMMS:
        a = torch.randn((k, m) if tA else (m, k))
        b = torch.randn((n, k) if tB else (k, n))
        aa, bb = (a.t() if tA else a), (b.t() if tB else b)
        c = torch.empty(m, n)
        name = f"{'T' if tA else 'N'}{'T' if tB else 'N'} {m}x{n}x{k}"
        res[f"gemm/torch/{name}"] = summary(
            measure(lambda: torch.mm(aa, bb, out=c)))
        seq.append((aa, bb, c))
    res["gemm/torch/step"] = summary(
        measure(lambda: [torch.mm(a, b, out=c) for a, b, c in seq]))

    # ---- the MLP step -------------------------------------------------------
    class LinBreg(torch.optim.Optimizer):
        """LinBreg written like the reference's optimizer class."""

        def __init__(self, params, lr, reg, delta=1.0, momentum=0.0):
            super().__init__(params, dict(lr=lr, reg=reg, delta=delta,
                                          momentum=momentum))

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                delta, lam = group["delta"], group["reg"]
                lr, beta = group["lr"], group["momentum"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad, state = p.grad, self.state[p]
                    if len(state) == 0:
                        state["sub_grad"] = p.clone() / delta + (
                            lam * torch.sign(p) if lam else 0)
                        state["momentum_buffer"] = torch.zeros_like(p)
                    v = state["sub_grad"]
                    if beta > 0:
                        mb = state["momentum_buffer"]
                        mb.mul_(beta)
                        mb.add_((1 - beta) * lr * grad)
                        v.add_(-mb)
                    else:
                        v.add_(-lr * grad)
                    p.data = (prox_l1(delta * v, delta, lam) if lam
                              else delta * v)

    def mlp():
        torch.manual_seed(0)
        a, b, c, d = LAYERS
        return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c),
                             nn.ReLU(), nn.Linear(c, d))

    class WithLoss(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x, y):
            out = self.net(x)
            return F.cross_entropy(out, y), out

    g = torch.Generator().manual_seed(42)
    x = (torch.rand(BATCH, LAYERS[0], generator=g) - 0.5) / 0.5
    y = torch.randint(0, 10, (BATCH,), generator=g)

    def make(beta, compiled):
        net = WithLoss(mlp())
        weights = [p for n_, p in net.named_parameters() if n_.endswith(
            "weight")]
        biases = [p for n_, p in net.named_parameters() if n_.endswith("bias")]
        opt = LinBreg([{"params": weights, "reg": LAM},
                       {"params": biases, "reg": 0.0}], lr=LR, delta=DELTA,
                      reg=0.0, momentum=beta)
        fwd = torch.compile(net) if compiled else net

        def step():
            opt.zero_grad()
            loss, out = fwd(x, y)
            loss.backward()
            opt.step()
            return loss, (out.argmax(1) == y).sum()
        return step

    for beta in (0.0, 0.9):
        tag = "" if beta == 0 else "_momentum"
        step = make(beta, False)
        guarded(res, f"mlp{tag}/eager",
                lambda: summary(measure(step)))

    def compiled(beta, tag):
        step = make(beta, True)
        t0 = time.perf_counter()
        loss, _ = step()  # compiles forward and backward
        loss.item()
        first = time.perf_counter() - t0
        # The first compile of the process runs with an empty inductor cache
        # (peers.sh gives the worker a fresh TORCHINDUCTOR_CACHE_DIR); the
        # second module's graph is the same, so it finds the cache warm.
        key = "compile/torch.compile" + ("" if beta == 0 else "/warm")
        res[key] = {"median": first, "min": first, "max": first, "reps": 1}
        r = summary(measure(step))
        if not math.isfinite(float(loss)):
            raise RuntimeError("loss not finite")
        return r

    if not quick:
        for beta in (0.0, 0.9):
            tag = "" if beta == 0 else "_momentum"
            guarded(res, f"mlp{tag}/compile",
                    lambda: compiled(beta, tag))
    return res, info


# --------------------------------------------------------------------------
# Worker: JAX
# --------------------------------------------------------------------------

def worker_jax(quick):
    import warnings
    import numpy as np
    import jax
    import jax.numpy as jnp

    warnings.filterwarnings("ignore", message=".*donated buffers.*")
    res = {}
    info = {"jax": jax.__version__, "devices": str(jax.devices())}
    block = jax.block_until_ready

    # ---- the MLP step (first, so that its first compile is the process's) --
    def init_params(seed=0):
        rng = np.random.default_rng(seed)
        p = {}
        for i, (a, b) in enumerate(zip(LAYERS[:-1], LAYERS[1:])):
            bound = 1 / math.sqrt(a)
            p[f"w{i}"] = jnp.asarray(rng.uniform(-bound, bound, (b, a)),
                                     jnp.float32)
            p[f"b{i}"] = jnp.asarray(rng.uniform(-bound, bound, (b,)),
                                     jnp.float32)
        return p

    def lam_of(name):
        return LAM if name.startswith("w") else 0.0

    def linbreg(lr, delta, momentum=0.0):
        """An optax-style LinBreg: init(params) -> state;
        update(grads, state, params) -> (new params, new state)."""
        def prox(x, lam):
            if lam == 0.0:
                return x
            return jnp.sign(x) * jnp.maximum(jnp.abs(x) - delta * lam, 0.0)

        def init(params):
            v = {k: p / delta + lam_of(k) * jnp.sign(p)
                 for k, p in params.items()}
            m = {k: jnp.zeros_like(p) for k, p in params.items()}
            return {"v": v, "m": m}

        def update(grads, state, params):
            v, m = dict(state["v"]), dict(state["m"])
            new = {}
            for k in params:
                if momentum > 0:
                    m[k] = momentum * m[k] + (1 - momentum) * lr * grads[k]
                    v[k] = v[k] - m[k]
                else:
                    v[k] = v[k] - lr * grads[k]
                new[k] = prox(delta * v[k], lam_of(k))
            return new, {"v": v, "m": m}
        return init, update

    def forward(p, x):
        h = x
        n = len(LAYERS) - 1
        for i in range(n):
            h = h @ p[f"w{i}"].T + p[f"b{i}"]
            if i < n - 1:
                h = jax.nn.relu(h)
        return h

    def make_step(update):
        def loss_fn(p, x, y):
            logits = forward(p, x)
            logp = jax.nn.log_softmax(logits)
            loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1))
            return loss, logits

        def step(params, state, x, y):
            (loss, logits), grads = jax.value_and_grad(
                loss_fn, has_aux=True)(params, x, y)
            params, state = update(grads, state, params)
            return params, state, loss, jnp.sum(jnp.argmax(logits, 1) == y)
        return step

    rng = np.random.default_rng(42)
    x = jnp.asarray((rng.uniform(0, 1, (BATCH, LAYERS[0])) - 0.5) / 0.5,
                    jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, BATCH), jnp.int32)

    def fresh(init):
        p = init_params()
        return block((p, init(p)))

    # compile latency: jit call to first result, fresh process, then after
    # jax.clear_caches()
    init, update = linbreg(LR, DELTA)
    step = make_step(update)
    lat = []
    for i in range(1 if quick else REPS + 1):
        if i > 0:
            jax.clear_caches()
        p, s = fresh(init)
        t0 = time.perf_counter()
        out = jax.jit(step, donate_argnums=(0, 1))(p, s, x, y)
        block(out)
        lat.append(time.perf_counter() - t0)
    res["compile/jax/first"] = {"median": lat[0], "min": lat[0],
                                "max": lat[0], "reps": 1}
    if len(lat) > 1:
        res["compile/jax/cleared"] = summary(lat[1:])

    for beta in (0.0, 0.9):
        tag = "" if beta == 0 else "_momentum"
        init, update = linbreg(LR, DELTA, beta)
        jstep = jax.jit(make_step(update), donate_argnums=(0, 1))
        box = list(fresh(init))

        def call():
            box[0], box[1], loss, _ = jstep(box[0], box[1], x, y)
            return loss
        guarded(res, f"mlp{tag}/jax", lambda: summary(measure(call, block)))
        if not math.isfinite(float(call())):
            res[f"mlp{tag}/jax"] = {"error": "loss not finite"}

    # ---- the fused updates: functional, state donated -----------------------
    def prox_l1(x, delta, lam):
        return jnp.sign(x) * jnp.maximum(jnp.abs(x) - delta * lam, 0.0)

    def u_linbreg(theta, v, g, lr, delta, lam):
        v = v - lr * g
        return prox_l1(delta * v, delta, lam), v

    def u_momentum(theta, v, m, g, lr, delta, lam, beta):
        m = beta * m + (1 - beta) * lr * g
        v = v - m
        return prox_l1(delta * v, delta, lam), v, m

    def u_adabreg(theta, v, m1, m2, g, lr, delta, lam, b1, b2, eps, t):
        m1 = b1 * m1 + (1 - b1) * g
        m2 = b2 * m2 + (1 - b2) * g * g
        d = jnp.sqrt(m2) / jnp.sqrt(1 - b2 ** t) + eps
        v = v - (lr / (1 - b1 ** t)) * m1 / d
        return prox_l1(delta * v, delta, lam), v, m1, m2

    def u_rowprox(theta, g, lr, lam):
        x = theta - lr * g
        nx = jnp.sqrt(jnp.sum(x * x, axis=1, keepdims=True))
        thresh = lr * lam * math.sqrt(x.shape[1])
        scale = jnp.where(nx > 0,
                          jnp.maximum(1 - thresh / jnp.where(nx > 0, nx, 1),
                                      0.0), 0.0)
        return x * scale

    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    jits = {"linbreg": jax.jit(u_linbreg, donate_argnums=(0, 1)),
            "momentum": jax.jit(u_momentum, donate_argnums=(0, 1, 2)),
            "adabreg": jax.jit(u_adabreg, donate_argnums=(0, 1, 2, 3)),
            "rowprox": jax.jit(u_rowprox, donate_argnums=(0,))}
    for n in SIZES:
        r = np.random.default_rng(1)
        g = f32(r.uniform(-1e-3, 1e-3, n))
        lr, delta, lam = f32(LR), f32(DELTA), f32(LAM)
        for key, _, _, _ in UPDATES:
            fn = jits[key]
            if key == "linbreg":
                box = [jnp.zeros(n), f32(r.uniform(-0.2, 0.2, n))]
                extra = (g, lr, delta, lam)
            elif key == "momentum":
                box = [jnp.zeros(n), f32(r.uniform(-0.2, 0.2, n)),
                       jnp.zeros(n)]
                extra = (g, lr, delta, lam, f32(0.9))
            elif key == "adabreg":
                box = [jnp.zeros(n), f32(r.uniform(-0.2, 0.2, n)),
                       jnp.zeros(n), jnp.zeros(n)]
                extra = (g, lr, delta, lam, f32(0.9), f32(0.999), f32(1e-8),
                         f32(1.0))
            else:
                box = [f32(r.uniform(-1, 1, (n // ROW, ROW)))]
                extra = (g.reshape(n // ROW, ROW), lr, f32(1e-6))

            def call(fn=fn, box=box, extra=extra):
                out = fn(*box, *extra)
                box[:] = list(out) if isinstance(out, tuple) else [out]
                return box[0]
            guarded(res, f"update/{key}/jax/{n}",
                    lambda: summary(measure(call, block)))
    return res, info


# --------------------------------------------------------------------------
# Workload: the Transformer step (issue 18), a separate table
# --------------------------------------------------------------------------

# The zoo's vit (models/lib/Vit.cpp): 28x28 images cut into 7x7 patches (16
# tokens of 49 values), linear patch embedding to width 64 plus a learned
# position table, 2 post-norm encoder layers (4 heads, feed-forward 128,
# GELU, no dropout), final layer norm, mean over tokens, linear head to 10.
# One step: forward, backward, LinBreg l1 (lr 0.1, delta 1, lambda 0.1) on
# every weight matrix (the projections, the position table), none on the
# biases and layer norms; batch 128.
VIT = dict(patch=7, tokens=16, width=64, heads=4, ff=128, depth=2,
           classes=10)


def measure_wall_cpu(call, sync=lambda r: None):
    """(wall, process CPU) seconds per call of each repetition: on a shared
    machine the CPU time is the steadier figure (it sums all threads)."""
    for _ in range(WARMUP):
        out = call()
    sync(out)
    t0 = time.perf_counter()
    sync(call())
    k = max(1, int(MIN_REP_S / max(time.perf_counter() - t0, 1e-7)))
    wall, cpu = [], []
    for _ in range(REPS):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(k):
            out = call()
        sync(out)
        wall.append((time.perf_counter() - t0) / k)
        cpu.append((time.process_time() - c0) / k)
    return {"wall": summary(wall), "cpu": summary(cpu)}


def vit_batch(np):
    rng = np.random.default_rng(42)
    x = ((rng.random((BATCH, 784), dtype=np.float32) - 0.5) / 0.5)
    y = rng.integers(0, VIT["classes"], BATCH).astype(np.int64)
    return x, y


def worker_vit_torch(quick, threads):
    """PyTorch eager: nn.TransformerEncoderLayer (batch_first, post-norm)
    and LinBreg written as the MLP row's optimizer loop."""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    v = VIT

    class Vit(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(v["patch"] ** 2, v["width"])
            self.pos = nn.Parameter(torch.randn(v["tokens"], v["width"]))
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(v["width"], v["heads"], v["ff"],
                                           dropout=0.0, activation="gelu",
                                           batch_first=True)
                for _ in range(v["depth"]))
            self.norm = nn.LayerNorm(v["width"])
            self.head = nn.Linear(v["width"], v["classes"])

        def forward(self, x):
            n, p = x.shape[0], v["patch"]
            s = 28 // p
            h = x.view(n, 1, s, p, s, p).permute(0, 2, 4, 1, 3, 5)
            h = self.embed(h.reshape(n, v["tokens"], p * p)) + self.pos
            for layer in self.layers:
                h = layer(h)
            return self.head(self.norm(h).mean(1))

    net = Vit()
    weights = [p for p in net.parameters() if p.dim() >= 2]
    others = [p for p in net.parameters() if p.dim() < 2]
    subgrad = {p: p.detach().clone() / DELTA + LAM * torch.sign(p.detach())
               for p in weights}
    subgrad.update({p: p.detach().clone() / DELTA for p in others})
    xn, yn = vit_batch(np)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)

    def step():
        net.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        with torch.no_grad():
            for p in weights:
                s = subgrad[p]
                s.add_(p.grad, alpha=-LR)
                w = DELTA * s
                p.copy_(torch.sign(w) * torch.clamp(w.abs() - DELTA * LAM,
                                                    min=0))
            for p in others:
                subgrad[p].add_(p.grad, alpha=-LR)
                p.copy_(DELTA * subgrad[p])
        return loss

    res = {}
    guarded(res, "vit/eager", lambda: measure_wall_cpu(step))
    return res, {"torch": torch.__version__,
                 "threads": torch.get_num_threads()}


def worker_vit_jax(quick):
    """JAX jit: the same network written functionally (jax.nn), the step
    (loss, gradients, LinBreg) one jitted function, state donated."""
    import numpy as np
    import jax
    import jax.numpy as jnp

    v = VIT
    key = jax.random.PRNGKey(0)

    def dense(k, fan_in, fan_out):
        return {"w": jax.random.normal(k, (fan_out, fan_in)) / fan_in ** 0.5,
                "b": jnp.zeros(fan_out)}

    keys = iter(jax.random.split(key, 32))
    e = v["width"]
    params = {"embed": dense(next(keys), v["patch"] ** 2, e),
              "pos": {"w": jax.random.normal(next(keys), (v["tokens"], e))},
              "norm": {"g": jnp.ones(e), "b": jnp.zeros(e)},
              "head": dense(next(keys), e, v["classes"]), "layers": []}
    for _ in range(v["depth"]):
        params["layers"].append({
            **{name: dense(next(keys), e, e) for name in ("q", "k", "v", "o")},
            "ff1": dense(next(keys), e, v["ff"]),
            "ff2": dense(next(keys), v["ff"], e),
            "n1": {"g": jnp.ones(e), "b": jnp.zeros(e)},
            "n2": {"g": jnp.ones(e), "b": jnp.zeros(e)}})

    def linear(p, h):
        return h @ p["w"].T + p["b"]

    def norm(p, h):
        mean = h.mean(-1, keepdims=True)
        var = ((h - mean) ** 2).mean(-1, keepdims=True)
        return (h - mean) / jnp.sqrt(var + 1e-5) * p["g"] + p["b"]

    def attention(p, h):
        n, s, _ = h.shape
        d = e // v["heads"]

        def heads(t):
            return t.reshape(n, s, v["heads"], d).transpose(0, 2, 1, 3)
        q, k, vv = (heads(linear(p[w], h)) for w in ("q", "k", "v"))
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / d ** 0.5, axis=-1)
        return linear(p["o"], (a @ vv).transpose(0, 2, 1, 3).reshape(n, s, e))

    def forward(params, x):
        n, pt = x.shape[0], v["patch"]
        s = 28 // pt
        h = x.reshape(n, 1, s, pt, s, pt).transpose(0, 2, 4, 1, 3, 5)
        h = linear(params["embed"], h.reshape(n, v["tokens"], pt * pt))
        h = h + params["pos"]["w"]
        for p in params["layers"]:
            h = norm(p["n1"], h + attention(p, h))
            ff = linear(p["ff2"], jax.nn.gelu(linear(p["ff1"], h),
                                              approximate=False))
            h = norm(p["n2"], h + ff)
        return linear(params["head"], norm(params["norm"], h).mean(1))

    def loss_fn(params, x, y):
        logits = forward(params, x)
        return -jnp.mean(jnp.take_along_axis(
            jax.nn.log_softmax(logits), y[:, None], axis=1))

    def regularized(path):  # weight matrices: "w" entries of rank 2
        return getattr(path[-1], "key", None) == "w"

    def linbreg(path, theta, sub, g):
        sub = sub - LR * g
        w = DELTA * sub
        if regularized(path) and theta.ndim >= 2:
            w = jnp.sign(w) * jnp.maximum(jnp.abs(w) - DELTA * LAM, 0.0)
        return w, sub

    @jax.jit
    def init_subgrad(params):
        return jax.tree_util.tree_map_with_path(
            lambda path, t: t / DELTA + (LAM * jnp.sign(t)
                                         if regularized(path) and t.ndim >= 2
                                         else 0.0), params)

    def step(params, sub, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        out = jax.tree_util.tree_map_with_path(linbreg, params, sub, grads)
        new_params = jax.tree_util.tree_map(lambda o: o[0], out,
                                            is_leaf=lambda o: isinstance(o, tuple))
        new_sub = jax.tree_util.tree_map(lambda o: o[1], out,
                                         is_leaf=lambda o: isinstance(o, tuple))
        return new_params, new_sub, loss

    jstep = jax.jit(step, donate_argnums=(0, 1))
    xn, yn = vit_batch(np)
    x, y = jnp.asarray(xn), jnp.asarray(yn.astype(np.int32))
    box = [params, init_subgrad(params)]

    def call():
        box[0], box[1], loss = jstep(box[0], box[1], x, y)
        return loss

    res = {}
    guarded(res, "vit/jax", lambda: measure_wall_cpu(
        call, lambda r: r.block_until_ready()))
    return res, {"jax": jax.__version__,
                 "devices": str(jax.devices())}


def run_ours_vit(bench, quick):
    """BM_VitTrainStep alone: wall and process CPU time per step."""
    cmd = [bench, "--benchmark_format=json", "--benchmark_filter=BM_VitTrainStep",
           f"--benchmark_repetitions={2 if quick else REPS}", "--no_summary"]
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    data = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                                     cwd=ROOT).stdout)
    wall, cpu = [], []
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        wall.append(b["real_time"] * scale)
        cpu.append(b["cpu_time"] * scale)
    return ({"vit/ours": {"wall": summary(wall), "cpu": summary(cpu)}}
            if wall else {"vit/ours": {"error": "BM_VitTrainStep failed"}})


def vit_table(results):
    """One row per clock: wall and CPU time of the ViT step, and ours/peer."""
    head = ["ViT step (2 layers, width 64, 16 tokens, batch 128, LinBreg l1)",
            "ours", "PyTorch eager", "JAX jit", "ours/eager", "ours/JAX"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    o, e, j = (results.get(f"vit/{k}", {}) for k in ("ours", "eager", "jax"))
    for clock, label in (("cpu", "process CPU time per step (all threads)"),
                         ("wall", "wall time per step")):
        row = [label] + [cell(r.get(clock, r) if "error" not in r else r)
                         if r else "—" for r in (o, e, j)]
        row += [ratio(o.get(clock), e.get(clock)),
                ratio(o.get(clock), j.get(clock))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def run_vit(bench, quick, cores):
    """The Transformer-step comparison: ours, then each peer in a fresh
    process; returns the results and the peers' infos."""
    results = run_ours_vit(bench, quick)
    infos = {}
    for name, env in (("vit_torch", None),
                      ("vit_jax", dict(os.environ, JAX_PLATFORMS="cpu"))):
        r, i = run_worker(name, quick, env, cores)
        results.update(r)
        infos[name] = i
    return results, infos


# --------------------------------------------------------------------------
# Ours
# --------------------------------------------------------------------------

def run_ours(bench, quick):
    cmd = [bench, "--benchmark_format=json", "--benchmark_repetitions=5",
           "--no_summary"]
    if quick:
        cmd = [bench, "--benchmark_format=json", "--benchmark_repetitions=2",
               "--benchmark_min_time=0.05", "--no_summary"]
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         cwd=ROOT).stdout
    data = json.loads(out)
    reps = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        # With threads, Google Benchmark divides the wall time by the
        # iterations of all threads; one copy of n floats takes `threads`
        # times that.
        reps.setdefault(b["run_name"], []).append(
            b["real_time"] * scale * b.get("threads", 1))
    return {k: summary(v) for k, v in reps.items()}, data["context"]


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

def fmt_t(s):
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def cell(r):
    if r is None:
        return "—"
    if "error" in r:
        return "failed"
    if r["reps"] == 1:
        return fmt_t(r["median"])
    return (f"{fmt_t(r['median'])} ({fmt_t(r['min'])}–"
            f"{fmt_t(r['max'])})").replace(" ms–", "–").replace(" µs–", "–")


def ratio(ours, peer):
    if not ours or not peer or "error" in ours or "error" in peer:
        return "—"
    return f"{ours['median'] / peer['median']:.2f}"


def gbs(r, n, nbytes):
    if not r or "error" in r:
        return None
    return n * nbytes / r["median"] / 1e9


def f_gbs(v):
    return "—" if v is None else f"{v:.1f}"


def sup(n):
    return {1_000_000: "10⁶", 10_000_000: "10⁷"}[n]


def build_table(ours, peers):
    rows = []
    head = ["workload", "ours: median (min–max)", "PyTorch eager",
            "torch.compile", "JAX jit", "ours/eager", "ours/compile",
            "ours/JAX", "GB/s ours · eager · JAX",
            "ours/copy GB/s (1 thread · 2 threads, the faster copy)"]
    for n in SIZES:
        o = ours.get(f"BM_Memcpy/{n}/real_time")
        o2 = ours.get(f"BM_MemcpyThreads/{n}/real_time/threads:2")
        t = peers.get(f"copy/torch/{n}")
        npc = peers.get(f"copy/numpy/{n}")
        rows.append([f"memory copy, {sup(n)} floats, 1 thread (ours "
                     "std::memcpy; numpy np.copyto) (8 B/float)", cell(o),
                     "—", "—", "—", "—", "—", "—",
                     f"{f_gbs(gbs(o, n, 8))} · numpy "
                     f"{f_gbs(gbs(npc, n, 8))}", "—"])
        rows.append([f"memory copy, {sup(n)} floats, 2 threads (ours "
                     "std::memcpy of halves; torch copy_) (8 B/float)",
                     cell(o2), cell(t), "—", "—", ratio(o2, t), "—", "—",
                     f"{f_gbs(gbs(o2, n, 8))} · {f_gbs(gbs(t, n, 8))}",
                     "—"])
    for key, label, nbytes, bm in UPDATES:
        for n in SIZES:
            o = ours.get(bm.format(n=n))
            e = peers.get(f"update/{key}/eager/{n}")
            j = peers.get(f"update/{key}/jax/{n}")
            cp = gbs(ours.get(f"BM_Memcpy/{n}/real_time"), n, COPY_BYTES)
            # All cores: the faster of our split memcpy and torch's copy_
            # (a build on the other core slows either at times).
            cps = [gbs(ours.get(f"BM_MemcpyThreads/{n}/real_time/threads:2"),
                       n, COPY_BYTES),
                   gbs(peers.get(f"copy/torch/{n}"), n, COPY_BYTES)]
            cps = [c for c in cps if c is not None]
            cp2 = max(cps) if cps else None
            og = gbs(o, n, nbytes)
            rows.append([f"{label}, {sup(n)} ({nbytes} B/float)", cell(o),
                         cell(e), "—", cell(j), ratio(o, e), "—", ratio(o, j),
                         f"{f_gbs(og)} · {f_gbs(gbs(e, n, nbytes))} · "
                         f"{f_gbs(gbs(j, n, nbytes))}",
                         "—" if og is None or cp is None or cp2 is None
                         else f"{og / cp:.2f} · {og / cp2:.2f}"])
    for tag, label in (("", "MLP step, LinBreg"),
                       ("_momentum", "MLP step, LinBreg momentum 0.9")):
        bm = "BM_MlpTrainStep" + ("Momentum" if tag else "") + "/real_time"
        o = ours.get(bm)
        e, c, j = (peers.get(f"mlp{tag}/{p}") for p in ("eager", "compile",
                                                        "jax"))
        rows.append([label + " (784-200-80-10, batch 128)", cell(o), cell(e),
                     cell(c), cell(j), ratio(o, e), ratio(o, c), ratio(o, j),
                     "—", "—"])
    o = ours.get("BM_MlpStepCompile/iterations:3/real_time")
    c = peers.get("compile/torch.compile")
    cw = peers.get("compile/torch.compile/warm")
    ccell = cell(c) + " cold" + (f"; {cell(cw)} warm cache" if cw else "")
    jf, jc = peers.get("compile/jax/first"), peers.get("compile/jax/cleared")
    jcell = cell(jf) + (f"; after clear_caches {cell(jc)}" if jc else "")
    rows.append(["MLP step compile: jit call → first result", cell(o),
                 "—", ccell, jcell, "—",
                 ratio(o, c), ratio(o, jf), "—", "—"])
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def gemm_table(peers):
    libs = [("ours", "ours: bregman_cpu_sgemm (ctypes)"),
            ("openblas", "Debian's OpenBLAS (ctypes)"),
            ("openblas_native", "same, OPENBLAS_CORETYPE unset"),
            ("numpy", "numpy.dot"), ("torch", "torch.mm")]
    libs = [(k, v) for k, v in libs
            if any(key.startswith(f"gemm/{k}/") for key in peers)]
    head = ["GEMM (trans, m×n×k)", "MFLOP"] + [v for _, v in libs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    totals = {k: 0.0 for k, _ in libs}
    for tA, tB, m, n, k in STEP_GEMMS:
        name = f"{'T' if tA else 'N'}{'T' if tB else 'N'} {m}x{n}x{k}"
        fl = gemm_flops(m, n, k)
        row = [name, f"{fl / 1e6:.1f}"]
        for lib, _ in libs:
            r = peers.get(f"gemm/{lib}/{name}")
            if r:
                totals[lib] += r["median"]
                row.append(f"{fmt_t(r['median'])} = "
                           f"{fl / r['median'] / 1e9:.0f} GFLOP/s")
            else:
                row.append("—")
        lines.append("| " + " | ".join(row) + " |")
    row = ["sum of the 8", f"{STEP_FLOPS / 1e6:.1f}"]
    for lib, _ in libs:
        row.append(f"{fmt_t(totals[lib])} = "
                   f"{STEP_FLOPS / totals[lib] / 1e9:.0f} GFLOP/s")
    lines.append("| " + " | ".join(row) + " |")
    row = ["the 8 back to back (one step's GEMMs)", f"{STEP_FLOPS / 1e6:.1f}"]
    steps = {}
    for lib, _ in libs:
        r = peers.get(f"gemm/{lib}/step")
        if r:
            steps[lib] = r["median"]
            row.append(f"{cell(r)} = "
                       f"{STEP_FLOPS / r['median'] / 1e9:.0f} GFLOP/s")
        else:
            row.append("—")
    lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines), steps


# --------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------

def run_worker(name, quick, env=None, threads=None, extra=()):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name]
    if quick:
        cmd.append("--quick")
    cmd += list(extra)
    if threads:
        cmd += ["--threads", str(threads)]
    print("running:", name, file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    if p.returncode != 0:
        return {}, {"error": f"worker {name} exited with {p.returncode}"}
    last = p.stdout.decode().strip().splitlines()[-1]
    d = json.loads(last)
    return d["results"], d["info"]


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE,
                             text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bin",
                                                    "bregman_bench"))
    ap.add_argument("--quick", action="store_true",
                    help="fewer, shorter repetitions and no torch.compile "
                         "(a smoke run of the script, not figures)")
    ap.add_argument("--json", help="also write every measurement here")
    ap.add_argument("--vit-only", action="store_true",
                    help="only the Transformer (ViT) step against PyTorch "
                         "eager and JAX jit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--gemm-only", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()

    global REPS, MIN_REP_S
    if args.quick:
        REPS, MIN_REP_S = 2, 0.05

    if args.worker:
        res, info = {"blas": lambda: worker_blas(args.quick, args.gemm_only),
                     "ours_gemm": lambda: worker_ours_gemm(args.quick,
                                                           args.bench),
                     "torch": lambda: worker_torch(args.quick, args.threads),
                     "jax": lambda: worker_jax(args.quick),
                     "vit_torch": lambda: worker_vit_torch(args.quick,
                                                           args.threads),
                     "vit_jax": lambda: worker_vit_jax(args.quick),
                     }[args.worker]()
        print(json.dumps({"results": res, "info": info}))
        return

    cores = os.cpu_count()
    load0 = os.getloadavg()
    started = datetime.datetime.now().astimezone()
    if args.vit_only:
        vit, vit_infos = run_vit(args.bench, args.quick, cores)
        load1 = os.getloadavg()
        print(f"\n# Transformer step, {started:%Y-%m-%d %H:%M %Z}: {cores} "
              f"cores ({cpu_model()}), load average {load0[0]:.2f} before, "
              f"{load1[0]:.2f} after; torch "
              f"{vit_infos['vit_torch'].get('torch')} "
              f"({vit_infos['vit_torch'].get('threads')} threads), jax "
              f"{vit_infos['vit_jax'].get('jax')}\n")
        print(vit_table(vit))
        for k, v in sorted(vit.items()):
            if "error" in v:
                print(f"  {k} failed: {v['error']}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"vit": vit, "infos": vit_infos,
                           "load": [load0, load1],
                           "date": started.isoformat()}, f, indent=1)
        return
    ours, context = run_ours(args.bench, args.quick)
    peers, infos = {}, {}
    inductor_cache = tempfile.mkdtemp(prefix="peers-inductor-")
    for name, env in (("blas", None), ("ours_gemm", None),
                      ("torch", dict(os.environ,
                                     TORCHINDUCTOR_CACHE_DIR=inductor_cache)),
                      ("jax", dict(os.environ, JAX_PLATFORMS="cpu"))):
        extra = ["--bench", args.bench] if name == "ours_gemm" else []
        r, i = run_worker(name, args.quick, env, cores, extra)
        peers.update(r)
        infos[name] = i
    # The same GEMMs with the OpenBLAS core type this machine sets removed
    # (for this measurement only; our process keeps the environment).
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    r, i = run_worker("blas", args.quick, env, extra=["--gemm-only"])
    for k, v in r.items():
        if k.startswith("gemm/openblas/") and k != "gemm/openblas/correct":
            peers[k.replace("gemm/openblas/", "gemm/openblas_native/")] = v
    infos["blas_native"] = i
    vit, infos["vit"] = run_vit(args.bench, args.quick, cores)
    load1 = os.getloadavg()

    print()
    print(f"# bregman vs PyTorch and JAX, {started:%Y-%m-%d %H:%M %Z}")
    print(f"machine: {cores} cores ({cpu_model()}), load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after")
    ti, ji = infos.get("torch", {}), infos.get("jax", {})
    print(f"peers: torch {ti.get('torch')} with torch.set_num_threads"
          f"({ti.get('threads')}), jax {ji.get('jax')} on {ji.get('devices')}"
          f"; ours: {context.get('library_build_type')} Google Benchmark "
          f"library, 5 repetitions")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')} "
          "(as this machine sets them; our process keeps them)")
    print()
    print("Times per call: median of the repetitions (min–max). "
          "ours/peer < 1: we are faster.")
    print()
    print(build_table(ours, peers))
    print()
    print("The Transformer step (the zoo's vit), wall and CPU time:")
    print()
    print(vit_table(vit))
    print()
    table, totals = gemm_table(peers)
    print("GEMMs of one MLP step (the physical limit of the step; median "
          "of the repetitions):")
    print()
    print(table)
    for name in ("blas", "blas_native"):
        for lib in infos.get(name, {}).get("blas", []):
            print(f"  {name}: {lib.get('internal_api')} {lib.get('version')} "
                  f"kernel {lib.get('architecture')} threads "
                  f"{lib.get('num_threads')} ({lib.get('filepath')})")
    if "gemm/ours/correct" in peers:
        print(f"  bregman_cpu_sgemm results correct: "
              f"{peers['gemm/ours/correct']}")
    if "gemm/openblas/correct" in peers:
        print(f"  OpenBLAS results correct: {peers['gemm/openblas/correct']}"
              f" (as set), {r.get('gemm/openblas/correct')} "
              "(core type unset)")
    for k, v in sorted(peers.items()):
        if isinstance(v, dict) and "error" in v:
            print(f"  {k} failed: {v['error']}")
    o = ours.get("BM_MlpTrainStep/real_time")
    j = peers.get("mlp/jax")
    if o and totals.get("openblas"):
        print(f"  one MLP step: ours {fmt_t(o['median'])}, JAX "
              f"{fmt_t(j['median']) if j and 'median' in j else '—'}; "
              f"its 8 GEMMs through bregman_cpu_sgemm "
              f"{fmt_t(totals.get('ours'))}, in Debian's OpenBLAS "
              f"{fmt_t(totals['openblas'])} with the core type as set, "
              f"{fmt_t(totals.get('openblas_native'))} with it unset")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ours": ours, "peers": peers, "vit": vit,
                       "infos": infos,
                       "context": context, "load": [load0, load1],
                       "date": started.isoformat()}, f, indent=1)


if __name__ == "__main__":
    main()
