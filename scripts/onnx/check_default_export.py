#!/usr/bin/env python3
"""Exports small PyTorch models with every default of torch.onnx.export
(PyTorch 2.15: the dynamo exporter, opset 20, IR version 10), runs each with
`bregman run` and prints its operators and its largest difference from
PyTorch. Outside CI; run through scripts/onnx/check-default-export.sh. A new
PyTorch that changes its default opset or its lowerings shows here first.
"""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BREGMAN = os.path.join(ROOT, os.environ.get("BREGMAN_BUILD_DIR", "build"), "bin", "bregman")
nn, F = torch.nn, torch.nn.functional


class CircularGeluCnn(nn.Module):
    """Circular padding (Pad wrap), GELU (Gelu), batch norm, both pools."""

    def __init__(self):
        super().__init__()
        self.c1, self.bn = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, padding_mode="circular")
        self.fc = nn.Linear(8 * 3 * 3, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn(self.c1(x))), 2)
        return self.fc(F.avg_pool2d(F.gelu(self.c2(x)), 2).flatten(1))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.enc(x).mean(1))


class Signal(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.fc = nn.Conv1d(2, 4, 5, padding=2), nn.Linear(4 * 8, 3)

    def forward(self, x):
        return self.fc(F.avg_pool1d(F.gelu(self.c(x), approximate="tanh"), 2).flatten(1))


class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.g, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(4, 8), nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(F.silu(self.g(self.c(x))), 1).flatten(1))


class Upsampling(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.t = nn.Conv2d(3, 4, 3, padding=1), nn.ConvTranspose2d(4, 2, 2, stride=2)

    def forward(self, x):
        y = F.interpolate(self.c(x), scale_factor=2, mode="bilinear", align_corners=False)
        return self.t(F.hardswish(y)) + F.interpolate(x[:, :2], scale_factor=4, mode="nearest")


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.e, self.l, self.fc = nn.Embedding(20, 8), nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 3)

    def forward(self, t):
        return self.fc(self.l(self.e(t))[0][:, -1])


class Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.d, self.p = nn.Conv2d(4, 4, 3, groups=4, padding=1), nn.Conv2d(4, 8, 1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return F.max_pool2d(F.relu6(self.bn(self.p(self.d(x)))), 2, ceil_mode=True)


class CausalAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.o, self.n = nn.Linear(16, 48), nn.Linear(16, 16), nn.LayerNorm(16)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = (z.view(b, t, 2, 8).transpose(1, 2) for z in self.q(x).chunk(3, -1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.n(x + self.o(y.transpose(1, 2).reshape(b, t, 16)))


MODELS = [
    ("circular_gelu_cnn", CircularGeluCnn, lambda: torch.randn(2, 1, 14, 14)),
    ("encoder", Encoder, lambda: torch.randn(2, 6, 32)),
    ("signal", Signal, lambda: torch.randn(2, 2, 16)),
    ("groupnorm", GroupNormNet, lambda: torch.randn(2, 3, 8, 8)),
    ("upsampling", Upsampling, lambda: torch.randn(2, 3, 4, 4)),
    ("lstm", Sequence, lambda: torch.randint(0, 20, (2, 5))),
    ("depthwise", Depthwise, lambda: torch.randn(2, 4, 7, 7)),
    ("causal_attention", CausalAttention, lambda: torch.randn(2, 6, 16)),
]


def check(name, model, x, tmp):
    """True when `bregman run` matches PyTorch within 1e-5 relative."""
    path = os.path.join(tmp, name + ".onnx")
    torch.onnx.export(model, (x,), path)  # every default
    m = onnx.load(path)
    opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    xin, yout = os.path.join(tmp, name + "_x.pb"), os.path.join(tmp, name + "_y.pb")
    with open(xin, "wb") as out:
        out.write(numpy_helper.from_array(x.numpy(), m.graph.input[0].name).SerializeToString())
    r = subprocess.run([BREGMAN, "run", path, "--input", xin, "--output", yout],
                       capture_output=True, text=True, check=False)
    ops = ", ".join(sorted({n.op_type for n in m.graph.node}))
    print(f"{name}: opset {opset[0]}, IR {m.ir_version}; {ops}")
    if r.returncode != 0:
        print("  refused:", (r.stderr or r.stdout).strip()[-400:])
        return False
    got = numpy_helper.to_array(onnx.load_tensor(yout))
    with torch.no_grad():
        want = model(x).numpy()
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    print(f"  max |bregman - PyTorch| / max |PyTorch| = {rel:.2e}")
    return rel < 1e-5


def main():
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        results = [check(name, make().eval(), example(), tmp) for name, make, example in MODELS]
    print(f"{sum(results)} of {len(results)} match")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
