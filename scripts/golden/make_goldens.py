#!/usr/bin/env python3
"""Float64 goldens for the compiled optimizer primitives, computed with JAX.

An independent reference for tests/unit/frontend/GoldenTest.cpp: every update
of ALGORITHMS.md §2–3 is written here in jax.numpy directly from the formulas
of the specification (not from the C++ sources). Random inputs are drawn,
rounded to float32 (what the compiled f32 code receives), and every update is
then evaluated in float64 from those rounded values; hyper-parameters are
rounded to float32 too. The chains run 5 steps, each step starting from the
previous step's float64 result.

Inputs are chosen so that no element (elementwise regularizers) or group
(l1_l2, l1_l2_conv) lies within a relative 1e-3 of its prox threshold in any
step: the sets of exact zeros are then the same in float32 and float64, and
the C++ test can demand exact zeros where the golden is exactly 0.

Run through scripts/golden/make-goldens.sh (creates .venv-golden).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

import jax
import jax.numpy as jnp
import jaxlib

jax.config.update("jax_enable_x64", True)

STEPS = 5
MARGIN = 1e-3  # minimum relative distance of |x| / group norms from a threshold
ELEM_SHAPE = (4, 6)  # elementwise regularizers and l1_l2 (rows of 6)
CONV_SHAPE = (2, 2, 3, 3)  # l1_l2_conv: 4 kernels of 3×3


def f32(x):
    """The float32 rounding of a Python float / array, as float64."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


# ---------------------------------------------------------------------------
# ALGORITHMS.md §3: regularizers (prox and the chosen subgradient)
# ---------------------------------------------------------------------------


class MarginTracker:
    """Records how close any prox input came to its threshold."""

    def __init__(self):
        self.min_rel = math.inf

    def note(self, magnitude, threshold):
        if threshold <= 0:
            return
        rel = np.abs(np.asarray(magnitude) / threshold - 1.0)
        self.min_rel = min(self.min_rel, float(np.min(rel)))


TRACK = MarginTracker()


def groups_view(x, reg):
    """x as (num_groups, n): rows of a 2-D weight or k×k kernels of a 4-D one."""
    if reg == "l1_l2":
        assert x.ndim == 2, "l1_l2 needs a 2-D tensor"
        return x.reshape(x.shape[0], x.shape[1])
    if reg == "l1_l2_conv":
        assert x.ndim == 4, "l1_l2_conv needs a 4-D tensor"
        return x.reshape(-1, x.shape[2] * x.shape[3])
    raise ValueError(reg)


def prox(reg, x, s, lam):
    """prox_{s·J}(x) = argmin_y ½‖y − x‖² + s·J(y), J = λ·reg."""
    x = jnp.asarray(x, dtype=jnp.float64)
    t = s * lam
    if reg == "none":
        return x
    if reg == "l1":
        TRACK.note(jnp.abs(x), t)
        return jnp.sign(x) * jnp.maximum(jnp.abs(x) - t, 0.0)
    if reg == "l1_pos":
        # argmin over y ≥ 0 of ½(y − x)² + t·y
        TRACK.note(x, t)
        return jnp.maximum(x - t, 0.0)
    if reg in ("l1_l2", "l1_l2_conv"):
        g = groups_view(x, reg)
        n = g.shape[1]
        thr = t * math.sqrt(n)
        norms = jnp.sqrt(jnp.sum(g * g, axis=1, keepdims=True))
        TRACK.note(norms[norms > 0], thr)
        # a zero group stays zero (no division by zero)
        safe = jnp.where(norms > 0, norms, 1.0)
        factor = jnp.where(norms > 0, jnp.maximum(0.0, 1.0 - thr / safe), 0.0)
        return (g * factor).reshape(x.shape)
    raise ValueError(reg)


def subgradient(reg, theta, lam):
    """The chosen p ∈ ∂J(θ) of ALGORITHMS.md §3."""
    theta = jnp.asarray(theta, dtype=jnp.float64)
    if reg == "none":
        return jnp.zeros_like(theta)
    if reg in ("l1", "l1_pos"):
        return lam * jnp.sign(theta)  # sign(0) = 0
    if reg in ("l1_l2", "l1_l2_conv"):
        g = groups_view(theta, reg)
        n = g.shape[1]
        norms = jnp.sqrt(jnp.sum(g * g, axis=1, keepdims=True))
        safe = jnp.where(norms > 0, norms, 1.0)
        p = jnp.where(norms > 0, lam * math.sqrt(n) * g / safe, 0.0)
        return p.reshape(theta.shape)
    raise ValueError(reg)


def subgradient_init(reg, theta, delta, lam):
    """v = θ/δ + p, p ∈ ∂J(θ)."""
    return jnp.asarray(theta, jnp.float64) / delta + subgradient(reg, theta, lam)


# ---------------------------------------------------------------------------
# ALGORITHMS.md §2: optimizers (one step each)
# ---------------------------------------------------------------------------


def linbreg_step(reg, st, g, h):
    if h.get("beta", 0.0) > 0:
        m = h["beta"] * st["m"] + (1.0 - h["beta"]) * h["lr"] * g
        v = st["v"] - m
    else:
        m = None
        v = st["v"] - h["lr"] * g
    theta = prox(reg, h["delta"] * v, h["delta"], h["lambda"])
    out = {"theta": theta, "v": v}
    if m is not None:
        out["m"] = m
    return out


def adabreg_step(reg, st, g, h):
    t = st["step"] + 1
    b1, b2 = h["beta1"], h["beta2"]
    m1 = b1 * st["m1"] + (1.0 - b1) * g
    m2 = b2 * st["m2"] + (1.0 - b2) * g * g
    d = jnp.sqrt(m2) / math.sqrt(1.0 - b2**t) + h["eps"]
    v = st["v"] - (h["lr"] / (1.0 - b1**t)) * m1 / d
    theta = prox(reg, h["delta"] * v, h["delta"], h["lambda"])
    return {"theta": theta, "v": v, "m1": m1, "m2": m2, "step": t}


def proxsgd_step(reg, st, g, h):
    return {"theta": prox(reg, st["theta"] - h["lr"] * g, h["lr"], h["lambda"])}


def sgd_step(_reg, st, g, h):
    if h.get("beta", 0.0) > 0:
        # PyTorch heavy ball (dampening 0): m ← βm + g ; θ ← θ − τm
        m = h["beta"] * st["m"] + g
        return {"theta": st["theta"] - h["lr"] * m, "m": m}
    return {"theta": st["theta"] - h["lr"] * g}


def adam_step(_reg, st, g, h):
    t = st["step"] + 1
    b1, b2 = h["beta1"], h["beta2"]
    m1 = b1 * st["m1"] + (1.0 - b1) * g
    m2 = b2 * st["m2"] + (1.0 - b2) * g * g
    m1_hat = m1 / (1.0 - b1**t)
    m2_hat = m2 / (1.0 - b2**t)
    theta = st["theta"] - h["lr"] * m1_hat / (jnp.sqrt(m2_hat) + h["eps"])
    return {"theta": theta, "m1": m1, "m2": m2, "step": t}


STEP_FNS = {
    "linbreg": linbreg_step,
    "adabreg": adabreg_step,
    "proxsgd": proxsgd_step,
    "sgd": sgd_step,
    "adam": adam_step,
}

# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def shape_for(reg):
    return CONV_SHAPE if reg == "l1_l2_conv" else ELEM_SHAPE


def group_scaled(rng, shape, reg, scales, lo=-1.0, hi=1.0):
    """Uniform values with each group (row / kernel) scaled by scales[i]."""
    x = rng.uniform(lo, hi, size=shape)
    if reg in ("l1_l2", "l1_l2_conv"):
        gv = x.reshape(-1, (shape[1] if reg == "l1_l2" else shape[2] * shape[3]))
        gv *= np.asarray(scales)[: gv.shape[0], None]
        x = gv.reshape(shape)
    return x


def count_zero_groups(x, reg):
    if reg in ("l1_l2", "l1_l2_conv"):
        gv = np.asarray(x).reshape(
            -1, (x.shape[1] if reg == "l1_l2" else x.shape[2] * x.shape[3])
        )
        return int(np.sum(np.all(gv == 0, axis=1))), gv.shape[0]
    return None


def to_list(x):
    return [float(v) for v in np.asarray(x, dtype=np.float64).reshape(-1)]


def run_chain(method, reg, h, state0, grads):
    step = STEP_FNS[method]
    st = {k: (jnp.asarray(v) if k != "step" else v) for k, v in state0.items()}
    outs = []
    for g in grads:
        new = step(reg, st, jnp.asarray(g), h)
        merged = dict(st)
        merged.update(new)
        st = merged
        outs.append({k: np.asarray(v) for k, v in new.items() if k != "step"})
    return outs


def chain_case(name, method, reg, hyper, seed, shape=None, beta_state=False):
    """Draws inputs until every prox stays MARGIN away from its threshold and,
    for a regularized case, every step has exact zeros and non-zeros (for the
    group cases: a zero group and a non-zero group)."""
    shape = tuple(shape or shape_for(reg))
    h = {k: float(f32(v)) for k, v in hyper.items()}
    for attempt in range(1000):
        rng = np.random.default_rng(seed * 1000 + attempt)
        # groups (rows / kernels) of different sizes so that some fall below
        # the group threshold and some stay above it
        scales = rng.permutation([0.15, 0.6, 1.0, 1.6])
        theta0 = f32(group_scaled(rng, shape, reg, scales))
        if method in ("linbreg", "proxsgd") and reg != "none":
            # sparse-ish starting point: a few exact zeros
            theta0[rng.uniform(size=shape) < 0.3] = 0.0
        state = {"theta": theta0}
        if method in ("linbreg", "adabreg"):
            state["v"] = f32(group_scaled(rng, shape, reg, scales, -1.2, 1.2))
        if method == "linbreg" and h.get("beta", 0.0) > 0:
            state["m"] = f32(rng.uniform(-0.1, 0.1, size=shape))
        if method == "sgd" and h.get("beta", 0.0) > 0:
            state["m"] = f32(rng.uniform(-0.5, 0.5, size=shape))
        if method in ("adabreg", "adam"):
            state["m1"] = np.zeros(shape)
            state["m2"] = np.zeros(shape)
            state["step"] = 0
        grads = [f32(rng.uniform(-1.0, 1.0, size=shape)) for _ in range(STEPS)]

        TRACK.min_rel = math.inf
        outs = run_chain(method, reg, h, state, grads)
        if TRACK.min_rel < MARGIN:
            continue
        if reg != "none" and method != "sgd" and method != "adam":
            ok = True
            for o in outs:
                th = o["theta"]
                if reg in ("l1_l2", "l1_l2_conv"):
                    z, total = count_zero_groups(th, reg)
                    ok &= 0 < z < total
                else:
                    ok &= bool(np.any(th == 0)) and bool(np.any(th != 0))
            if not ok:
                continue
        break
    else:
        raise RuntimeError(f"{name}: no admissible inputs found")

    init = {k: to_list(v) for k, v in state.items() if k != "step"}
    return {
        "name": name,
        "kind": "chain",
        "optimizer": method,
        "regularizer": reg,
        "hyper": h,
        "shape": list(shape),
        "init": init,
        "grads": [to_list(g) for g in grads],
        "expected": [{k: to_list(v) for k, v in o.items()} for o in outs],
        "min_threshold_margin": None if math.isinf(TRACK.min_rel) else TRACK.min_rel,
    }


def zero_group_input(rng, shape, reg, scales):
    x = group_scaled(rng, shape, reg, scales)
    x[rng.uniform(size=shape) < 0.25] = 0.0  # exact zeros
    gv = x.reshape(-1, shape[-1] if len(shape) == 2 else shape[-1] * shape[-2])
    gv[rng.integers(gv.shape[0])] = 0.0  # a zero row / kernel
    return f32(gv.reshape(shape))


def prox_case(reg, seed, scale, lam):
    shape = shape_for(reg)
    s, l = float(f32(scale)), float(f32(lam))
    for attempt in range(1000):
        rng = np.random.default_rng(seed * 1000 + attempt)
        scales = rng.permutation([0.15, 0.6, 1.0, 1.6])
        x = zero_group_input(rng, shape, reg, scales)
        TRACK.min_rel = math.inf
        y = np.asarray(prox(reg, x, s, l))
        if TRACK.min_rel < MARGIN:
            continue
        if reg in ("l1_l2", "l1_l2_conv"):
            z, total = count_zero_groups(y, reg)
            zx, _ = count_zero_groups(x, reg)
            if not (zx < z < total):  # a group thresholded to zero, not just the zero one
                continue
        elif reg != "none" and not (np.any(y == 0) and np.any(y != 0)):
            continue
        break
    else:
        raise RuntimeError(f"prox {reg}: no admissible inputs found")
    return {
        "name": f"prox_{reg}",
        "kind": "prox",
        "regularizer": reg,
        "hyper": {"scale": s, "lambda": l},
        "shape": list(shape),
        "x": to_list(x),
        "expected": to_list(y),
        "min_threshold_margin": None if math.isinf(TRACK.min_rel) else TRACK.min_rel,
    }


def subgradient_case(reg, seed, delta, lam):
    shape = shape_for(reg)
    d, l = float(f32(delta)), float(f32(lam))
    rng = np.random.default_rng(seed)
    scales = rng.permutation([0.15, 0.6, 1.0, 1.6])
    theta = zero_group_input(rng, shape, reg, scales)
    v = np.asarray(subgradient_init(reg, theta, d, l))
    return {
        "name": f"subgradient_init_{reg}",
        "kind": "subgradient_init",
        "regularizer": reg,
        "hyper": {"delta": d, "lambda": l},
        "shape": list(shape),
        "theta": to_list(theta),
        "expected": to_list(v),
    }


def build_cases():
    cases = []
    seed = 1
    # LinBreg: {none, l1, l1_pos, l1_l2} × momentum {0, 0.9} × δ {1, 2.5}
    lam = {"none": 0.0, "l1": 0.35, "l1_pos": 0.3, "l1_l2": 0.3}
    for reg in ("none", "l1", "l1_pos", "l1_l2"):
        for beta in (0.0, 0.9):
            for delta in (1.0, 2.5):
                hyper = {"lr": 0.1, "delta": delta, "lambda": lam[reg]}
                if beta > 0:
                    hyper["beta"] = beta
                name = f"linbreg_{reg}_beta{beta:g}_delta{delta:g}"
                cases.append(chain_case(name, "linbreg", reg, hyper, seed))
                seed += 1
    # AdaBreg: {none, l1, l1_l2}
    for reg, l in (("none", 0.0), ("l1", 0.3), ("l1_l2", 0.25)):
        hyper = {"lr": 0.05, "delta": 1.5, "lambda": l, "beta1": 0.9,
                 "beta2": 0.999, "eps": 1e-8}
        cases.append(chain_case(f"adabreg_{reg}", "adabreg", reg, hyper, seed))
        seed += 1
    # ProxSGD: {l1, l1_pos, l1_l2, l1_l2_conv}
    for reg, l in (("l1", 0.8), ("l1_pos", 0.8), ("l1_l2", 1.0),
                   ("l1_l2_conv", 0.8)):
        hyper = {"lr": 0.1, "lambda": l}
        cases.append(chain_case(f"proxsgd_{reg}", "proxsgd", reg, hyper, seed))
        seed += 1
    # LinBreg with kernel groups as well (the conv shape)
    cases.append(chain_case("linbreg_l1_l2_conv_beta0.9_delta2.5", "linbreg",
                            "l1_l2_conv", {"lr": 0.1, "delta": 2.5,
                                           "lambda": 0.2, "beta": 0.9}, seed))
    seed += 1
    # Unregularized baselines
    cases.append(chain_case("sgd", "sgd", "none", {"lr": 0.1}, seed))
    seed += 1
    cases.append(chain_case("sgd_momentum", "sgd", "none",
                            {"lr": 0.1, "beta": 0.9}, seed))
    seed += 1
    cases.append(chain_case("adam", "adam", "none",
                            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999,
                             "eps": 1e-8}, seed))
    seed += 1
    # prox and subgradient_init for every regularizer
    for reg, s, l in (("none", 0.7, 0.5), ("l1", 0.7, 0.5), ("l1_pos", 0.7, 0.5),
                      ("l1_l2", 1.3, 0.3), ("l1_l2_conv", 1.3, 0.2)):
        cases.append(prox_case(reg, seed, s, l))
        seed += 1
    for reg, d, l in (("none", 2.5, 0.4), ("l1", 2.5, 0.4), ("l1_pos", 2.5, 0.4),
                      ("l1_l2", 2.5, 0.4), ("l1_l2_conv", 2.5, 0.4)):
        cases.append(subgradient_case(reg, seed, d, l))
        seed += 1
    return cases


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def fmt_number(x, is_f32):
    """Shortest text that reads back (double parse, then float cast for the
    f32 inputs) as exactly the same value."""
    if x == 0.0:
        return "0" if math.copysign(1.0, x) > 0 else "-0.0"
    if is_f32:
        s = np.format_float_positional(np.float32(x), unique=True, trim="-")
        if float(np.float32(float(s))) == x:
            return s
        return repr(x)
    return repr(x)


class Encoder:
    """JSON with the float32 inputs written as the shortest text that reads
    back as the same float32, and the float64 results in full (repr)."""

    F32_KEYS = {"init", "grads", "x", "theta", "hyper"}

    def encode(self, obj, mode=None, indent=0):
        pad = " " * indent
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                m = mode
                if m is None and k in self.F32_KEYS:
                    m = "f32"
                elif m is None and k == "expected":
                    m = "f64"
                items.append(f"{pad}  {json.dumps(k)}: {self.encode(v, m, indent + 2)}")
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(obj, list):
            if obj and all(isinstance(v, float) for v in obj):
                return "[" + ", ".join(fmt_number(v, mode == "f32") for v in obj) + "]"
            if all(isinstance(v, int) for v in obj):
                return json.dumps(obj)
            inner = [pad + "  " + self.encode(v, mode, indent + 2) for v in obj]
            return "[\n" + ",\n".join(inner) + "\n" + pad + "]"
        if isinstance(obj, float):
            return fmt_number(obj, mode == "f32") if math.isfinite(obj) else "null"
        return json.dumps(obj)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    cases = build_cases()
    doc = {
        "generator": f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, float64",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "spec": "docs: /work/shared/ALGORITHMS.md §2-3 (formulas re-implemented in "
                "scripts/golden/make_goldens.py)",
        "steps": STEPS,
        "notes": [
            "Inputs (init, grads, x, theta, hyper) are float32 values; expected "
            "values are float64 results computed from those float32 values.",
            "chain: each expected[i] is the state after step i+1, starting from "
            "init; adabreg/adam start with m1 = m2 = 0 and step count 0 "
            "(incremented before each update).",
            "l1_l2 groups are the rows of the 2-D tensor (n = row length), "
            "l1_l2_conv groups the k×k kernels (last two dims, n = k·k); "
            "threshold s·λ·√n.",
            "min_threshold_margin: smallest |magnitude/threshold − 1| seen by any "
            "prox of the case (inputs are redrawn until it is ≥ 1e-3).",
        ],
        "cases": cases,
    }
    text = Encoder().encode(doc) + "\n"
    json.loads(text)  # well-formed
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}: {len(cases)} cases, {len(text)} bytes "
          f"({doc['generator']})")


if __name__ == "__main__":
    main()
