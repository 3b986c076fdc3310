#!/usr/bin/env python3
"""Checks the numerics harness's output against JAX (and PyTorch where JAX
has no matching op).

    python compare.py HARNESS_OUTPUT [--only SUBSTRING] [--verbose]

Every case of harness.cpp is recomputed here under the same name: its value,
and its gradient with jax.vjp and the harness's cotangent pattern. Values in
f32 are compared with the exact result, computed in f64 from the same inputs
and rounded to f32 (so the check measures bregman's error, not JAX's f32
error). Prints one line per case and a summary; exits 1 when any case fails
(a wrong value, a missing reference, an unexpected error or a crash).

Comparison: NaN must meet NaN and an infinity the same infinity; a finite
value passes when |ours - ref| <= rtol * max(|ref|, scale) + floor, where
  rtol   is 1e-5 for f32 and 1e-12 for f64 unless the case says otherwise,
  scale  is 0 for elementwise results (a purely relative error), and the
         largest |ref| of that output for results that accumulate (sums,
         products, normalizations...), whose small elements come from
         cancellation and carry the error of the large terms,
  floor  is the smallest normal number: subnormal results may flush to zero.
"""
import argparse
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np  # noqa: E402
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

inf = math.inf

#############################################################################
# The harness's output
#############################################################################

NUMPY_TYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32}


def parse_tensor(line):
    head, _, values = line.partition(":")
    _tag, key, dtype, shape = head.split(" ", 3)
    shape = tuple(int(size) for size in shape.strip("[] ").replace(",", " ").split())
    array = np.array(values.split(), dtype=np.float64 if dtype != "i32" else np.int64)
    return key, array.astype(NUMPY_TYPES[dtype]).reshape(shape)


def parse(path):
    cases, current = [], None
    with open(path) as lines:
        for line in lines:
            line = line.rstrip("\n")
            if line.startswith("BEGIN "):
                current = {"name": line[6:], "in": {}, "out": {}, "error": None, "crash": None, "ended": False}
                cases.append(current)
            elif current is None or not line:
                continue
            elif line.startswith(("IN ", "OUT ")):
                try:
                    key, array = parse_tensor(line)
                except ValueError:  # a line cut short: the case has no END and fails
                    continue
                current["in" if line.startswith("IN ") else "out"][key] = array
            elif line.startswith("ERROR "):
                current["error"] = line[6:]
            elif line.startswith("CRASH "):
                current["crash"] = line[6:]
            elif line.startswith("END "):
                current["ended"] = True
    return cases


def cotangent(shape, dtype):
    """The harness's cotangent pattern (cotangentValue in harness.cpp)."""
    count = int(np.prod(shape, dtype=np.int64))
    i = np.arange(count)
    return jnp.asarray((((i * 7) % 11 - 5) * 0.25 + 0.125).reshape(shape).astype(dtype))


#############################################################################
# The reference table
#############################################################################


@dataclass
class Reference:
    function: Callable            # inputs (dict of jnp arrays) -> y
    accumulates: bool = False     # error relative to the case's largest value
    rtol: Optional[float] = None  # None: 1e-5 for f32, 1e-12 for f64
    floor: Optional[float] = None  # None: the smallest normal number
    in_f32: bool = False          # the reference in f32 (JAX's own f32 result)
    returns_outputs: bool = False  # function(inputs) gives {"y", "g.KEY"...} itself


@dataclass
class Known:
    """An accepted difference from the reference, checked as it is stated:
    the case must fail with the message `error_contains`, or match the
    reference once the elements of `overrides` ({output: {flat index:
    value}}) are replaced. A case that matches the plain reference is
    reported as PASS with a note to drop its entry."""
    reason: str
    error_contains: Optional[str] = None
    overrides: dict = field(default_factory=dict)


REFERENCES = {}


def reference(names, function, **options):
    for name in names.split():
        assert name not in REFERENCES, name
        REFERENCES[name] = Reference(function, **options)


def x_of(inputs):
    return inputs["x"]


# --- elementwise ---------------------------------------------------------

def gelu_exact(x):
    # x·Φ(x) through erfc: 1 + erf(x/√2) cancels in the left tail even in f64.
    return 0.5 * x * lax.erfc(-x / np.sqrt(2.0))


def gelu_tanh(x):
    # 0.5·x·(1 + tanh(u)) = x·σ(2u): the same function, without 1 + tanh's
    # cancellation (which reaches f64 from x ≈ -10 on).
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    return x * sigmoid(2 * u)


@jax.custom_jvp
def sigmoid(x):
    return jax.nn.sigmoid(x)


@jax.custom_jvp
def tanh(x):
    return jnp.tanh(x)


# The derivatives as s(x)·s(-x) and 4·s(2x)·s(-2x): JAX's y·(1 - y) and
# 1 - y² cancel where the function saturates (even in f64: tanh'(15) is 3e-4
# off, sigmoid'(40) is 0), and the reference must be the exact result.
sigmoid.defjvp(lambda primals, tangents: (
    sigmoid(primals[0]), jax.nn.sigmoid(primals[0]) * jax.nn.sigmoid(-primals[0]) * tangents[0]))
tanh.defjvp(lambda primals, tangents: (
    tanh(primals[0]), 4 * jax.nn.sigmoid(2 * primals[0]) * jax.nn.sigmoid(-2 * primals[0]) * tangents[0]))


def silu(x):
    return x * sigmoid(x)


UNARY = {
    "relu": jax.nn.relu, "abs": jnp.abs, "neg": jnp.negative, "sqrt": jnp.sqrt, "log": jnp.log,
    "exp": jnp.exp, "sigmoid": sigmoid, "tanh": tanh, "silu": silu,
    "erf": jax.scipy.special.erf, "gelu": gelu_exact, "gelutanh": gelu_tanh,
}
UNARY_CASES = {
    "relu": "special rank0 f64", "abs": "special", "neg": "special", "sqrt": "special sweep",
    "log": "special accuracy sweep", "exp": "f64 accuracy rank0 zerosize sweep",
    "sigmoid": "big f64 accuracy sweep", "tanh": "big f64 accuracy sweep", "silu": "big sweep",
    "erf": "big f64 accuracy sweep", "gelu": "big f64 huge sweep", "gelutanh": "big sweep",
}
# σ(x) is subnormal below x = -87.3 and the vectorized code flushes it to
# zero (as XLA does), so x·σ(x) may be 0 where it is up to 100·2^-126.
SUBNORMAL_PRODUCT_FLOOR = {"silu#sweep": 1.2e-36, "gelutanh#sweep": 1.2e-36}
for op, variants in UNARY_CASES.items():
    for variant in variants.split():
        name = f"{op}#{variant}"
        reference(name, lambda inputs, f=UNARY[op]: f(x_of(inputs)), floor=SUBNORMAL_PRODUCT_FLOOR.get(name))

# e^88.8 overflows f32 and the gradient g·e^x reuses that inf, as JAX and
# PyTorch do (the exact g·e^x, 3.2e38, would be finite): JAX's f32 result.
reference("exp#big", lambda i: jnp.exp(i["x"]), in_f32=True)


def numpy_unary(function, derivative):
    """For f64 subnormal inputs: XLA on the CPU flushes them to zero
    (log(1e-310) = -inf there), NumPy and bregman do not."""
    def run(inputs):
        x = np.asarray(inputs["x"])
        with np.errstate(all="ignore"):
            y = function(x)
            return {"y": y, "g.x": np.asarray(cotangent(y.shape, y.dtype)) * derivative(x)}
    return run


reference("log#f64", numpy_unary(np.log, lambda x: 1 / x), returns_outputs=True)
reference("sqrt#f64", numpy_unary(np.sqrt, lambda x: 0.5 / np.sqrt(x)), returns_outputs=True)

reference("div#special div#bcast3", lambda i: i["a"] / i["b"])
reference("mul#special mul#bcast2 mul#zerosize_b", lambda i: i["a"] * i["b"])
reference("add#special add#bcast1 add#zerosize", lambda i: i["a"] + i["b"])
reference("sub#special sub#bcast4", lambda i: i["a"] - i["b"])
reference("add#f64", lambda i: i["a"] * i["b"] + i["a"])
reference("scalarops#x", lambda i: (2.5 * i["x"] - 1.0) / 3.0 + 0.5)
reference("divzero#x", lambda i: i["x"] / 0.0)
reference("maximum#ties maximum#bcast maximum#scalar maximum#f64ties", lambda i: jnp.maximum(i["a"], i["b"]))
reference("composite#max_self", lambda i: jnp.maximum(i["x"], i["x"]))


def as_float(mask, like):
    # comparisons give the operands' float type (f32 for i32 operands)
    return mask.astype(jnp.float32 if like.dtype == jnp.int32 else like.dtype)


reference("equal#i32 equal#special", lambda i: as_float(i["a"] == i["b"], i["a"]))
reference("less#i32 less#special", lambda i: as_float(i["a"] < i["b"], i["a"]))
reference("greater#special", lambda i: as_float(i["a"] > i["b"], i["a"]))
reference("where#special where#bcast where#condbcast where#f64",
          lambda i: jnp.where(i["c"] != 0, i["a"], i["b"]))

# --- reductions ----------------------------------------------------------


def reduction(names, function, **options):
    reference(names, lambda i: function(i["x"]), accumulates=True, **options)


reduction("sum#axes02", lambda x: jnp.sum(x, (0, 2)))
reduction("sum#axesneg", lambda x: jnp.sum(x, (-1, -3), keepdims=True))
reduction("sum#all sum#rank0 sum#long_prime sum#prime1e6 sum#2xprime sum#pow2_20 sum#multi_prime "
          "sum#pos_long_prime", jnp.sum)
reduction("sum#noaxes", lambda x: x)
reduction("sum#zerosize0 sum#long2048ax0 sum#cols_prime", lambda x: jnp.sum(x, 0))
reduction("sum#zerosize1 sum#long1500 sum#inf sum#f64 sum#rows_prime", lambda x: jnp.sum(x, -1))
reduction("sum#long_multi", lambda x: jnp.sum(x, (0, 2)))
reduction("max#ties max#nan max#f64", lambda x: jnp.max(x, -1))
reduction("max#multiaxes", lambda x: jnp.max(x, (0, 2)))
reduction("max#keep", lambda x: jnp.max(x, -2, keepdims=True))
reduction("max#zerosize max#zerosize_keep_grad", lambda x: jnp.max(x, 1, initial=-inf))
reduction("mean#axes", lambda x: jnp.mean(x, (0, -1)))
reduction("mean#all mean#rank0 mean#prime1e6", jnp.mean)
reduction("mean#zerosize", lambda x: jnp.mean(x, 0))
reduction("mean#awkward1030", lambda x: jnp.mean(x, 1))
# Four times 3e38 overflows f32 before the division (in JAX's f32 too): JAX's f32 result.
reduction("mean#big", jnp.mean, in_f32=True)
reduction("composite#relu_max", lambda x: jnp.max(jax.nn.relu(x - 1.0)))
reference("argmax#ties argmax#rank3 argmax#rank1 argmax#f64 argmax#allnan argmax#long",
          lambda i: jnp.argmax(i["x"], -1).astype(jnp.int32))

# --- shapes --------------------------------------------------------------
reference("shape#transpose_reshape_slice", lambda i: jnp.transpose(i["x"], (2, 0, 1)).reshape(4, 6)[:, 2:5])
reference("slice#negaxis", lambda i: i["x"][:, 1:4])
reference("slice#size0", lambda i: i["x"][:, 2:2])
reference("slice#size0_at_end slice#size0_at_end_grad", lambda i: i["x"][:, 5:5])
reference("slice#full", lambda i: i["x"])
reference("slice#end", lambda i: i["x"][1:2])
reference("broadcastTo#rank0", lambda i: jnp.broadcast_to(i["x"], (2, 3)))
reference("broadcastTo#mid", lambda i: jnp.broadcast_to(i["x"], (2, 3, 4)))
reference("sumTo#x", lambda i: jnp.sum(i["x"], (0, 2)).reshape(3, 1), accumulates=True)
reference("sumTo#scalar", lambda i: jnp.sum(i["x"]), accumulates=True)
reference("transpose#4d", lambda i: jnp.transpose(i["x"], (3, 1, 0, 2)))
reference("reshape#rank0", lambda i: i["x"].reshape(1, 1))
reference("reshape#to0", lambda i: i["x"].reshape(()) * 3.0)
reference("stopgrad#x", lambda i: i["x"] * lax.stop_gradient(i["x"]))
reference("full#i32", lambda i: jnp.full((2,), 3, jnp.int32))  # 3.7 truncates toward zero
reference("full#f64", lambda i: jnp.full((2,), 0.1, jnp.float64))
reference("full#f32", lambda i: jnp.full((2,), 0.1, jnp.float32))
reference("dropout#rate0", lambda i: i["x"])
reference("concat#neg", lambda i: jnp.concatenate([i["a"], i["b"], i["c"]], -1))
reference("concat#self", lambda i: jnp.concatenate([i["a"], i["a"] * 2.0], 0))
reference("concat#zero_last_fwd", lambda i: jnp.concatenate([i["a"], i["c"]], 1))
reference("concat#zero_first_fwd", lambda i: jnp.concatenate([i["c"], i["a"]], 1))
reference("concat#zero_mid_grad", lambda i: jnp.concatenate([i["a"], i["c"], i["b"]], 1))
reference("concat#axis0_zero", lambda i: jnp.concatenate([i["a"], i["c"]], 0))
reference("concat#all_zero", lambda i: jnp.concatenate([i["c"], i["c"]], 1))


def take(table, indices):
    """ONNX Gather: negative indices from the end, out of range: zero rows."""
    rows = table.shape[0]
    indices = indices.astype(jnp.int64)
    indices = jnp.where(indices < 0, indices + rows, indices)
    valid = (indices >= 0) & (indices < rows)
    picked = table[jnp.clip(indices, 0, rows - 1)]
    return jnp.where(valid.reshape(valid.shape + (1,) * (table.ndim - 1)), picked, 0)


reference("take#neg take#oob take#intmin take#1d take#scalaridx", lambda i: take(i["t"], i["i"]))

# --- softmax, losses, normalization --------------------------------------
reduction("logSoftmax#special logSoftmax#f64 logSoftmax#rank1", lambda x: jax.nn.log_softmax(x, -1))
reduction("logSoftmax#axis0", lambda x: jax.nn.log_softmax(x, 0))
reduction("logSoftmax#axis_m2", lambda x: jax.nn.log_softmax(x, -2))
reduction("logSoftmax#prime_rand", lambda x: jax.nn.log_softmax(x, -1)[:, :8])
reduction("softmax#special", lambda x: jax.nn.softmax(x, -1))
reduction("softmax#axis1of3", lambda x: jax.nn.softmax(x, 1))
reduction("softmax#long_prime", lambda x: jax.nn.softmax(x, -1)[:, :4])
reduction("softmax#prime_rand", lambda x: jax.nn.softmax(x, -1)[:, :8])
reference("softmax#mask softmax#maskbcast softmax#maskgrad", lambda i: jax.nn.softmax(i["x"] + i["m"], -1),
          accumulates=True)
# In f32 σ(-200) underflows to 0 and σ(20) rounds to 1, so log(σ(x)) is -inf
# and 0 there (the composite is the point): computed in f32, with σ's exact
# derivative (JAX's own rounds to 0 at x = 20, where bregman's is right).
reference("composite#log_sigmoid", lambda i: jnp.log(sigmoid(i["x"])), in_f32=True)


def cross_entropy(logits, labels):
    # Picks the label's log-probability (a one-hot product would turn a -inf
    # logit into 0·-inf = NaN); an out-of-range label adds 0 but counts in N.
    classes = logits.shape[1]
    valid = (labels >= 0) & (labels < classes)
    log_p = jax.nn.log_softmax(logits, 1)
    picked = jnp.take_along_axis(log_p, jnp.clip(labels, 0, classes - 1)[:, None], 1)[:, 0]
    return -jnp.mean(jnp.where(valid, picked, 0))


reference("crossEntropy#basic crossEntropy#neginf_logit crossEntropy#huge crossEntropy#oob",
          lambda i: cross_entropy(i["x"], i["l"]), accumulates=True)
reference("oneHot#x", lambda i: jax.nn.one_hot(i["l"], 3, dtype=jnp.float32))  # out of range: zeros
reference("countCorrect#x", lambda i: jnp.sum(jnp.argmax(i["x"], -1) == i["l"]).astype(jnp.float32))


def standardize(x, axes, eps):
    mean = jnp.mean(x, axes, keepdims=True)
    variance = jnp.mean((x - mean) ** 2, axes, keepdims=True)
    return (x - mean) / jnp.sqrt(variance + eps)


def batch_norm(i):
    x = i["x"]
    axes = tuple(a for a in range(x.ndim) if a != 1)
    channel = [1] * x.ndim
    channel[1] = x.shape[1]
    return standardize(x, axes, 1e-5) * i["s"].reshape(channel) + i["b"].reshape(channel)


reduction("standardize#ax0", lambda x: standardize(x, (0,), 1e-5))
reduction("standardize#axes", lambda x: standardize(x, (0, 2), 1e-3))
reduction("standardize#const", lambda x: standardize(x, (1,), 0.0))
# Values 10000.1 .. 10000.4: the f32 mean alone is off by up to half an ulp of
# 1e4 (4.9e-4), 0.3 % of the smallest deviation; E[x²] - E[x]² would be off
# by far more (the variance cancels completely in f32).
reduction("standardize#offset", lambda x: standardize(x, (1,), 1e-5), rtol=1e-2)
reference("batchNorm#x batchNorm#2d batchNorm#n1 batchNorm#f64", batch_norm, accumulates=True)
reference("layerNorm#x", lambda i: standardize(i["x"], (1, 2), 1e-5) * i["s"] + i["b"], accumulates=True)
reference("layerNorm#scale_bcast", lambda i: standardize(i["x"], (1, 2), 1e-5) * i["s"], accumulates=True)
reduction("layerNorm#noaffine", lambda x: standardize(x, (1,), 1e-5))
reduction("composite#sqrt_sumsq0", lambda x: jnp.sqrt(jnp.sum(x * x)))
reference("composite#xlogx0", lambda i: i["x"] * jnp.log(i["x"]))

# --- matmul, convolution, pooling ----------------------------------------


def matmul(a, b, transpose_a=False, transpose_b=False):
    if transpose_a:
        a = jnp.swapaxes(a, -1, -2)
    if transpose_b:
        b = jnp.swapaxes(b, -1, -2)
    return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


for shapes in ("2d", "bcast", "nd2d", "2dnd"):
    for flags in ("00", "01", "10", "11"):
        reference(f"matmul#{shapes}_{flags}", lambda i, t=flags: matmul(i["a"], i["b"], t[0] == "1", t[1] == "1"),
                  accumulates=True)
reference("matmul#k0 matmul#m0 matmul#infnan matmul#big matmul#vecshape", lambda i: matmul(i["a"], i["b"]),
          accumulates=True)
reference("matmul#batch0", lambda i: matmul(i["a"], i["b"], True), accumulates=True)
reference("matmul#f64", lambda i: matmul(i["a"], i["b"], False, True), accumulates=True)


def conv(x, w, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Conv2dOptions semantics; pad is [top, left, bottom, right]."""
    return lax.conv_general_dilated(x, w, stride, [(pad[0], pad[2]), (pad[1], pad[3])], rhs_dilation=dilation,
                                    feature_group_count=groups, dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                    precision=lax.Precision.HIGHEST)


CONVOLUTIONS = {  # the options of harness.cpp's convolution table
    "basic": {}, "infnan": {}, "batch0": {},
    "asympad_stride_dil": dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2)),
    "f64": dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2)),
    "depthwise": dict(stride=(2, 2), pad=(1, 1, 1, 1), groups=3),
    "groups2": dict(dilation=(2, 1), groups=2),
    "stride_gt_kernel": dict(stride=(3, 3)),
    "kernel_gt_input": dict(pad=(1, 1, 1, 1)),
    "bigpad": dict(stride=(2, 1), pad=(3, 2, 3, 0)),
    "stride_leftover": dict(stride=(3, 2), pad=(0, 1, 0, 0)),
    "groups_stride_dil": dict(stride=(2, 2), pad=(2, 1, 0, 2), dilation=(2, 2), groups=3),
}
for variant, options in CONVOLUTIONS.items():
    reference(f"conv2d#{variant}", lambda i, o=options: conv(i["x"], i["w"], **o), accumulates=True)


def conv_transpose(x, w, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1, output_padding=(0, 0)):
    """The transpose (VJP) of the convolution with these options, at x."""
    out_channels = w.shape[1] * groups
    size = [stride[k] * (x.shape[2 + k] - 1) + output_padding[k] + dilation[k] * (w.shape[2 + k] - 1) + 1
            - pad[k] - pad[k + 2] for k in range(2)]
    zeros = jnp.zeros((x.shape[0], out_channels, *size), x.dtype)
    _, vjp = jax.vjp(lambda z: conv(z, w, stride, pad, dilation, groups), zeros)
    return vjp(x)[0]


TRANSPOSED = {
    "basic": {},
    "stride2pad1op1": dict(stride=(2, 2), pad=(1, 1, 1, 1), output_padding=(1, 1)),
    "groups": dict(stride=(2, 1), groups=2, output_padding=(1, 0)),
    "dil_asym": dict(stride=(1, 2), pad=(1, 0, 0, 1), dilation=(2, 1), output_padding=(0, 1)),
}
for variant, options in TRANSPOSED.items():
    reference(f"convT#{variant}", lambda i, o=options: conv_transpose(i["x"], i["w"], **o), accumulates=True)


def pool(x, init, op, kernel, stride=(0, 0), pad=(0, 0, 0, 0), dilation=(1, 1)):
    stride = tuple(stride[k] or kernel[k] for k in range(2))  # 0: the kernel size
    return lax.reduce_window(x, init, op, (1, 1, *kernel), (1, 1, *stride),
                             ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])),
                             window_dilation=(1, 1, *dilation))


POOLINGS = {
    "k2": dict(kernel=(2, 2)), "f64": dict(kernel=(2, 2)), "batch0": dict(kernel=(2, 2)),
    "k3s1p1": dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1)),
    "k2s1dil2": dict(kernel=(2, 2), stride=(1, 1), dilation=(2, 2)),
    "asym": dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0, 0, 1)),
    "bigpad": dict(kernel=(2, 2), stride=(1, 1), pad=(2, 2, 2, 2)),
    "leftover": dict(kernel=(2, 2), stride=(3, 3)),
    "overlap": dict(kernel=(3, 3), stride=(1, 1)),
    "neg": dict(kernel=(2, 2), stride=(1, 1), pad=(1, 1, 1, 1)),
    "nan": dict(kernel=(2, 2), stride=(1, 1)),
}
AVERAGE_POOLINGS = dict(POOLINGS, f64=dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1)))
for variant, options in POOLINGS.items():
    if variant != "k2s1dil2":  # JAX has no gradient for a dilated max window: PyTorch below
        reduction(f"maxpool#{variant}", lambda x, o=options: pool(x, -inf, lax.max, **o))
for variant in ("k2", "k3s1p1", "k2s1dil2", "asym", "bigpad", "leftover", "overlap", "f64"):
    options = AVERAGE_POOLINGS[variant]
    # padding counts in the divisor (count_include_pad)
    reduction(f"avgpool#{variant}", lambda x, o=options: pool(x, 0.0, lax.add, **o) / np.prod(o["kernel"]))
reduction("gap#x", lambda x: jnp.mean(x, (2, 3), keepdims=True))

# --- recurrent layers ----------------------------------------------------


def lstm(i, reverse=False):
    x, w, r = i["x"], i["w"], i["r"]
    steps, batch, _ = x.shape
    hidden = r.shape[1]
    zeros = jnp.zeros(4 * hidden, x.dtype)
    wb, rb = i.get("wb", zeros), i.get("rb", zeros)
    h = i.get("h0", jnp.zeros((batch, hidden), x.dtype))
    c = i.get("c0", jnp.zeros((batch, hidden), x.dtype))
    ys = [None] * steps
    for t in (reversed(range(steps)) if reverse else range(steps)):
        gates = x[t] @ w.T + wb + h @ r.T + rb
        in_gate, forget, cell, out = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))  # PyTorch order
        c = jax.nn.sigmoid(forget) * c + jax.nn.sigmoid(in_gate) * jnp.tanh(cell)
        h = jax.nn.sigmoid(out) * jnp.tanh(c)
        ys[t] = h
    return jnp.concatenate([jnp.stack(ys).reshape(steps * batch, hidden), h, c], 0)


def gru(i, pytorch_order):
    x, w, r, wb, rb, h = i["x"], i["w"], i["r"], i["wb"], i["rb"], i["h0"]
    steps, batch, _ = x.shape
    hidden = r.shape[1]

    def gate(a, k):
        return a[:, k * hidden:(k + 1) * hidden]

    ys = []
    for t in range(steps):
        gx, gh = x[t] @ w.T + wb, h @ r.T + rb
        if pytorch_order:  # r, z, n with linear_before_reset
            reset = jax.nn.sigmoid(gate(gx, 0) + gate(gh, 0))
            update = jax.nn.sigmoid(gate(gx, 1) + gate(gh, 1))
            new = jnp.tanh(gate(gx, 2) + reset * gate(gh, 2))
        else:  # ONNX: z, r, h with linear_before_reset = 0
            update = jax.nn.sigmoid(gate(gx, 0) + gate(gh, 0))
            reset = jax.nn.sigmoid(gate(gx, 1) + gate(gh, 1))
            new = jnp.tanh(gate(gx, 2) + (reset * h) @ r[2 * hidden:].T + rb[2 * hidden:])
        h = (1 - update) * new + update * h
        ys.append(h)
    return jnp.concatenate([jnp.stack(ys).reshape(steps * batch, hidden), h], 0)


reference("lstm#pt", lstm, accumulates=True)
reference("lstm#rev", lambda i: lstm(i, reverse=True), accumulates=True)
reference("gru#pt", lambda i: gru(i, True), accumulates=True)
reference("gru#onnx_default", lambda i: gru(i, False), accumulates=True)

# --- PyTorch references: resizing and the dilated max pool ---------------


def torch_case(function):
    def run(inputs):
        import torch
        x = torch.tensor(np.asarray(inputs["x"]), requires_grad=True)
        y = function(torch.nn.functional, x)
        (y * torch.tensor(np.asarray(cotangent(tuple(y.shape), np.float64)))).sum().backward()
        return {"y": y.detach().numpy(), "g.x": x.grad.numpy()}
    return run


for name, function in {
        "upsample#nearest": lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest"),
        "upsample#bilinear": lambda F, x: F.interpolate(x, scale_factor=3, mode="bilinear", align_corners=False),
        "upsample#bilinear_ac": lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
        "resize#linear_half": lambda F, x: F.interpolate(x, size=(3, 7), mode="bilinear", align_corners=False),
        "maxpool#k2s1dil2": lambda F, x: F.max_pool2d(x, 2, 1, 0, dilation=2)}.items():
    reference(name, torch_case(function), accumulates=True, returns_outputs=True)

#############################################################################
# Accepted differences
#############################################################################

KNOWN = {
    # Documented (Tensor.h, abs): the gradient is sign(x), 0 at ±0, as in
    # PyTorch (which also gives 0 at NaN); JAX gives +1 at ±0 and at NaN.
    "abs#special": Known("abs' is sign(x): 0 at ±0 and NaN (PyTorch's choice; JAX: 1)",
                         overrides={"g.x": {1: 0.0, 2: 0.0, 10: 0.0}}),
    # x = 1e20: x² overflows f32 and the gradient's σ'(2u)·x² term is 0·inf;
    # JAX and PyTorch give NaN too (the exact gradient is 1).
    "gelutanh#big": Known("gradient NaN at x = 1e20, where x² overflows f32 (JAX and PyTorch: NaN too)",
                          overrides={"g.x": {16: math.nan}}),
    # Integer tensors are indices and labels; arithmetic on them is refused
    # with this message (requireFloat in frontend/lib/Tensor.cpp).
    "add#i32": Known("integer arithmetic is refused (i32 is for indices and labels)",
                     error_contains="add: needs a floating-point tensor"),
    "sum#i32": Known("integer arithmetic is refused (i32 is for indices and labels)",
                     error_contains="reduce_sum: needs a floating-point tensor"),
}

#############################################################################
# Comparison
#############################################################################

SMALLEST_NORMAL = {np.float32: float(np.finfo(np.float32).tiny), np.float64: float(np.finfo(np.float64).tiny)}
DEFAULT_RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def compute_reference(case, spec):
    """The reference outputs {"y", "g.KEY"...} as NumPy arrays."""
    wide = not spec.in_f32

    def prepare(array):
        if wide and array.dtype == np.float32:
            array = array.astype(np.float64)
        return jnp.asarray(array)

    inputs = {key: prepare(array) for key, array in case["in"].items()}
    if spec.returns_outputs:
        return spec.function(inputs)
    differentiate = [key[2:] for key in case["out"] if key.startswith("g.")]

    def function(*variables):
        return spec.function(dict(inputs, **dict(zip(differentiate, variables))))

    y, vjp = jax.vjp(function, *[inputs[key] for key in differentiate])
    result = {"y": np.asarray(y)}
    if differentiate:
        for key, gradient in zip(differentiate, vjp(cotangent(y.shape, y.dtype))):
            result["g." + key] = np.asarray(gradient)
    return result


def compare_output(ours, ref, spec, scale):
    """(ok, max abs error, max relative error, detail) for one output;
    `scale` is the case's largest |reference| value (used if it accumulates)."""
    if ours.shape != tuple(np.shape(ref)):
        return False, inf, inf, f"shape {list(ours.shape)}, reference {list(np.shape(ref))}"
    dtype = ours.dtype.type
    if dtype == np.int32:
        bad = np.flatnonzero(ours.ravel() != np.asarray(ref).ravel())
        error = float(len(bad) > 0)
        return len(bad) == 0, error, error, describe(bad, ours, ref)
    with np.errstate(over="ignore"):  # beyond the f32 range rounds to inf
        ref = np.asarray(ref).astype(dtype).astype(np.float64)  # the exact result, rounded to our type
    mine = ours.astype(np.float64)
    rtol = spec.rtol if spec.rtol is not None else DEFAULT_RTOL[dtype]
    floor = spec.floor if spec.floor is not None else SMALLEST_NORMAL[dtype]
    finite = np.isfinite(ref) & np.isfinite(mine)
    special_ok = np.where(np.isnan(ref), np.isnan(mine), (mine == ref) | finite)
    magnitude = np.maximum(np.abs(np.where(finite, ref, 0.0)), scale if spec.accumulates else 0.0)
    difference = np.abs(np.where(finite, mine - np.where(finite, ref, 0.0), 0.0))
    allowed = rtol * magnitude + floor
    relative = np.maximum(difference - floor, 0) / np.maximum(magnitude, SMALLEST_NORMAL[dtype])
    bad = np.flatnonzero((~special_ok | (difference > allowed)).ravel())
    max_abs = float(np.max(difference, initial=0.0))
    max_rel = float(np.max(relative, initial=0.0))
    if np.any(~special_ok):
        max_abs = max_rel = inf
    return len(bad) == 0, max_abs, max_rel, describe(bad, ours, ref)


def describe(bad, ours, ref):
    if len(bad) == 0:
        return ""
    shown = bad[:4]
    pairs = ", ".join(f"[{i}] {ours.ravel()[i]!r} vs {np.asarray(ref).ravel()[i]!r}" for i in shown)
    return f"{len(bad)} element(s) off: {pairs}"


def largest_finite(outputs):
    values = [np.abs(np.asarray(v, np.float64)) for v in outputs.values() if np.asarray(v).size]
    return max((float(np.max(v[np.isfinite(v)], initial=0.0)) for v in values), default=0.0)


def compare_outputs(case, spec, reference_outputs):
    """(worst abs, worst rel, rtol text, failures) over the case's outputs."""
    scale = largest_finite(reference_outputs)
    worst_abs = worst_rel = 0.0
    failures, rtols = [], set()
    for key, ours in case["out"].items():
        if key not in reference_outputs:
            failures.append(f"{key}: no reference output")
            continue
        ok, max_abs, max_rel, detail = compare_output(ours, reference_outputs[key], spec, scale)
        worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, max_rel)
        if ours.dtype != np.int32:
            rtols.add(spec.rtol if spec.rtol is not None else DEFAULT_RTOL[ours.dtype.type])
        if not ok:
            failures.append(f"{key}: {detail}")
    missing = set(reference_outputs) - set(case["out"])
    if missing:
        failures.append("missing outputs " + ", ".join(sorted(missing)))
    return worst_abs, worst_rel, "/".join(f"{r:g}" for r in sorted(rtols)) or "exact", failures


def with_overrides(reference_outputs, overrides):
    result = dict(reference_outputs)
    for key, elements in overrides.items():
        array = np.array(result[key], copy=True)
        for index, value in elements.items():
            array.reshape(-1)[index] = value
        result[key] = array
    return result


def check_case(case):
    """(status, max abs, max rel, rtol text, detail)."""
    name = case["name"]
    known = KNOWN.get(name)
    if case["crash"]:
        return "FAIL", inf, inf, "-", "crashed: " + case["crash"]
    if not case["ended"]:
        return "FAIL", inf, inf, "-", "the output stops inside this case (the harness died)"
    if known and known.error_contains:
        if case["error"] and known.error_contains in case["error"]:
            return "KNOWN", 0.0, 0.0, "-", known.reason
        return "FAIL", inf, inf, "-", f"the KNOWN entry expects the error '{known.error_contains}', got " + (
            case["error"] or "outputs")
    if case["error"]:
        return "FAIL", inf, inf, "-", "error: " + case["error"][:300]
    spec = REFERENCES.get(name)
    if spec is None:
        return "FAIL", inf, inf, "-", "no reference in compare.py"
    reference_outputs = compute_reference(case, spec)
    worst_abs, worst_rel, rtol, failures = compare_outputs(case, spec, reference_outputs)
    if not known:
        return ("FAIL" if failures else "PASS"), worst_abs, worst_rel, rtol, "; ".join(failures)
    if not failures:
        return "PASS", worst_abs, worst_rel, rtol, "matches the plain reference: drop its KNOWN entry"
    worst_abs, worst_rel, rtol, failures = compare_outputs(case, spec,
                                                           with_overrides(reference_outputs, known.overrides))
    if failures:
        return "FAIL", worst_abs, worst_rel, rtol, "even with its KNOWN overrides: " + "; ".join(failures)
    return "KNOWN", worst_abs, worst_rel, rtol, known.reason


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the harness's output")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    arguments = parser.parse_args()
    cases = [case for case in parse(arguments.output) if arguments.only in case["name"]]
    if not cases:
        print(f"compare.py: no cases in {arguments.output}", file=sys.stderr)
        return 1
    counts = {"PASS": 0, "KNOWN": 0, "FAIL": 0}
    print(f"{'case':36} {'max abs':>10} {'max rel':>10} {'rtol':>9}  status")
    for case in cases:
        try:
            status, max_abs, max_rel, rtol, detail = check_case(case)
        except Exception as error:  # a broken reference is a failure, not a stop
            status, max_abs, max_rel, rtol, detail = "FAIL", inf, inf, "-", f"reference raised {error!r}"
        counts[status] += 1
        line = f"{case['name']:36} {max_abs:10.3g} {max_rel:10.3g} {rtol:>9}  {status}"
        print(line + (f"  {detail}" if detail else ""))
    names = {case["name"] for case in cases}
    missing = sorted(name for name in set(REFERENCES) | set(KNOWN) if name not in names)
    if missing and not arguments.only:  # the harness and this table must list the same cases
        counts["FAIL"] += len(missing)
        print(f"FAIL: {len(missing)} case(s) of compare.py missing from the output: {' '.join(missing[:20])}")
    total = len(cases) + (len(missing) if not arguments.only else 0)
    print(f"numerics: {total} cases, {counts['PASS']} pass, {counts['KNOWN']} known, {counts['FAIL']} fail")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
