#!/usr/bin/env python3
"""ms per training step of the kit's MLP (784-200-80-10, batch 128) and
ConvNet (ALGORITHMS.md §7: conv 1->64 5x5, maxpool 2, ReLU, conv 64->64 5x5,
maxpool 2, ReLU, 1024->128, ReLU, 128->10; batch 128, 28x28) in PyTorch
eager and JAX (jit) on the same card, with plain SGD steps (forward,
softmax cross-entropy, backward, update): the frameworks' cost of the same
work. Each model twice: in plain FP32 (TF32 off: PyTorch's cuDNN allows TF32
by default, JAX's default matmul precision uses it; bregman's default is
plain FP32) and with TF32 allowed (bregman's --tf32).

  torch_bench.py [torch|jax] [--smoke]   one framework (run.sh runs each in
      a process of its own); both without an argument. --smoke: two steps
      of each on whatever device the framework has, the CPU included (checks
      this code where there is no GPU).

Prints one JSON object per measurement; a framework that is not importable
(or sees no GPU) is reported as missing with the reason.
"""
import json
import sys
import time

STEPS, WARMUP, BATCH = 50, 5, 128
SMOKE = "--smoke" in sys.argv
if SMOKE:
    STEPS, WARMUP = 2, 1


def emit(**kw):
    print(json.dumps(kw), flush=True)


def timed(step, sync):
    for _ in range(WARMUP):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    sync()
    return (time.perf_counter() - start) * 1000 / STEPS


def torch_models(nn):
    return {
        "mlp": lambda: nn.Sequential(
            nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 80),
            nn.ReLU(), nn.Linear(80, 10)),
        "convnet": lambda: nn.Sequential(
            nn.Conv2d(1, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(64, 64, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 10)),
    }


def torch_bench():
    try:
        import torch
        import torch.nn as nn
    except Exception as e:  # noqa: BLE001 - any import failure is reported
        emit(name="pytorch", status="missing", detail="import torch: %s" % e)
        return
    if not torch.cuda.is_available() and not SMOKE:
        emit(name="pytorch", status="missing", detail="torch sees no CUDA device")
        return
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    device_name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        for name, make in torch_models(nn).items():
            model = make().to(dev)
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            x = torch.randn(BATCH, 1, 28, 28, device=dev)
            y = torch.randint(0, 10, (BATCH,), device=dev)
            loss_fn = nn.CrossEntropyLoss()

            def step():
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x), y).backward()
                opt.step()

            ms = timed(step, sync)
            emit(name="pytorch-eager-" + name + ("-tf32" if tf32 else ""),
                 status="measured", ms_per_step=ms,
                 detail="torch %s, %s, TF32 %s" % (
                     torch.__version__, device_name,
                     "allowed" if tf32 else "off"))


def jax_models(jax, jnp):
    """(init(key) -> params, apply(params, x) -> logits, input shape)."""
    def dense(key, n_in, n_out):
        return (jax.random.normal(key, (n_in, n_out)) * (2.0 / n_in) ** 0.5,
                jnp.zeros(n_out))

    def mlp_init(key):
        keys = jax.random.split(key, 3)
        return [dense(k, a, b) for k, (a, b) in
                zip(keys, [(784, 200), (200, 80), (80, 10)])]

    def mlp_apply(ps, x):
        h = x.reshape(x.shape[0], -1)
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = jax.nn.relu(h)
        return h

    def conv(x, w, b):  # NCHW, OIHW, valid padding, stride 1
        y = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    def pool(x):  # 2x2 max pooling, stride 2
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max,
                                     (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def convnet_init(key):
        k = jax.random.split(key, 4)
        return [(jax.random.normal(k[0], (64, 1, 5, 5)) * 0.2, jnp.zeros(64)),
                (jax.random.normal(k[1], (64, 64, 5, 5)) * 0.025, jnp.zeros(64)),
                dense(k[2], 1024, 128), dense(k[3], 128, 10)]

    def convnet_apply(ps, x):
        h = jax.nn.relu(pool(conv(x, *ps[0])))
        h = jax.nn.relu(pool(conv(h, *ps[1])))
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ ps[2][0] + ps[2][1])
        return h @ ps[3][0] + ps[3][1]

    return {"mlp": (mlp_init, mlp_apply), "convnet": (convnet_init, convnet_apply)}


def jax_bench():
    try:
        import jax
        import jax.numpy as jnp
    except Exception as e:  # noqa: BLE001
        emit(name="jax", status="missing", detail="import jax: %s" % e)
        return
    if not SMOKE and not any(d.platform == "gpu" for d in jax.devices()):
        emit(name="jax", status="missing", detail="jax sees no GPU: %s" % jax.devices())
        return
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (BATCH, 1, 28, 28))
    y = jax.random.randint(key, (BATCH,), 0, 10)
    for tf32 in (False, True):
        precision = "tensorfloat32" if tf32 else "float32"
        for name, (init, apply) in jax_models(jax, jnp).items():
            def loss(ps):
                logp = jax.nn.log_softmax(apply(ps, x))
                return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

            with jax.default_matmul_precision(precision):
                @jax.jit
                def update(ps):
                    g = jax.grad(loss)(ps)
                    return jax.tree_util.tree_map(lambda p, d: p - 0.01 * d, ps, g)

                state = {"params": init(key)}

                def step():
                    state["params"] = update(state["params"])

                ms = timed(step, lambda: jax.block_until_ready(state["params"]))
            emit(name="jax-jit-" + name + ("-tf32" if tf32 else ""),
                 status="measured", ms_per_step=ms,
                 detail="jax %s, matmul precision %s" % (jax.__version__, precision))


if __name__ == "__main__":
    benches = {"torch": torch_bench, "jax": jax_bench}
    chosen = [a for a in sys.argv[1:] if a != "--smoke"] or list(benches)
    for which in chosen:
        bench = benches.get(which)
        if bench is None:
            sys.exit(__doc__)
        try:
            bench()
        except Exception as e:  # noqa: BLE001 - report, go on
            emit(name=which, status="failed", detail=repr(e))
