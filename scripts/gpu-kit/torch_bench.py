#!/usr/bin/env python3
"""ms per training step of the kit's MLP (784-200-80-10, batch 128) and
ConvNet (ALGORITHMS.md §7: conv 1->64 5x5, maxpool 2, ReLU, conv 64->64 5x5,
maxpool 2, ReLU, 1024->128, ReLU, 128->10; batch 128, 28x28) in PyTorch
eager and JAX (jit) on the same card, with plain SGD steps (forward,
softmax cross-entropy, backward, update): the frameworks' cost of the same
work. Prints one JSON object per measurement; a framework that is not
importable (or sees no GPU) is reported as missing with the reason.
"""
import json
import time

STEPS, WARMUP, BATCH = 50, 5, 128


def emit(**kw):
    print(json.dumps(kw), flush=True)


def torch_bench():
    try:
        import torch
        import torch.nn as nn
    except Exception as e:  # noqa: BLE001 - any import failure is reported
        emit(name="pytorch", status="missing", detail="import torch: %s" % e)
        return
    if not torch.cuda.is_available():
        emit(name="pytorch", status="missing", detail="torch sees no CUDA device")
        return
    dev = torch.device("cuda")
    models = {
        "mlp": (nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(),
                              nn.Linear(200, 80), nn.ReLU(), nn.Linear(80, 10)),
                (BATCH, 1, 28, 28)),
        "convnet": (nn.Sequential(nn.Conv2d(1, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
                                  nn.Conv2d(64, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(),
                                  nn.Linear(128, 10)),
                    (BATCH, 1, 28, 28)),
    }
    for name, (model, shape) in models.items():
        model = model.to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(*shape, device=dev)
        y = torch.randint(0, 10, (BATCH,), device=dev)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()

        for _ in range(WARMUP):
            step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(STEPS):
            step()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - start) * 1000 / STEPS
        emit(name="pytorch-eager-" + name, status="measured", ms_per_step=ms,
             detail="torch %s, %s" % (torch.__version__,
                                      torch.cuda.get_device_name(0)))


def jax_bench():
    try:
        import jax
        import jax.numpy as jnp
    except Exception as e:  # noqa: BLE001
        emit(name="jax", status="missing", detail="import jax: %s" % e)
        return
    if not any(d.platform == "gpu" for d in jax.devices()):
        emit(name="jax", status="missing", detail="jax sees no GPU: %s" % jax.devices())
        return
    key = jax.random.PRNGKey(0)
    sizes = [(784, 200), (200, 80), (80, 10)]
    params = [(jax.random.normal(key, s) * 0.05, jnp.zeros(s[1])) for s in sizes]
    x = jax.random.normal(key, (BATCH, 784))
    y = jax.random.randint(key, (BATCH,), 0, 10)

    def loss(ps):
        h = x
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(ps):
        g = jax.grad(loss)(ps)
        return jax.tree_util.tree_map(lambda p, d: p - 0.01 * d, ps, g)

    for _ in range(WARMUP):
        params = step(params)
    jax.block_until_ready(params)
    start = time.perf_counter()
    for _ in range(STEPS):
        params = step(params)
    jax.block_until_ready(params)
    ms = (time.perf_counter() - start) * 1000 / STEPS
    emit(name="jax-jit-mlp", status="measured", ms_per_step=ms,
         detail="jax %s" % jax.__version__)


if __name__ == "__main__":
    for bench in (torch_bench, jax_bench):
        try:
            bench()
        except Exception as e:  # noqa: BLE001 - report, go on
            emit(name=bench.__name__, status="failed", detail=repr(e))
