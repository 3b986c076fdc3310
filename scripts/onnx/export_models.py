#!/usr/bin/env python3
"""Exports the test models of the ONNX checks from PyTorch (torch.onnx,
TorchScript exporter). Outside CI; run through scripts/onnx/export-models.sh.

  scripts/onnx/export-models.sh [--random-weights] [OUT_DIR]
      mlp.onnx and convnet.onnx of the retraining tests (tests/e2e/onnx):
        mlp.onnx      784-200-80-10, ReLU (nn.Linear: Gemm with transB)
        convnet.onnx  conv 1→16 5×5, max-pool 2, ReLU, conv 16→32 5×5,
                      max-pool 2, ReLU, flatten, linear 512→64, ReLU,
                      linear 64→10
      Batch dimension 1 (bregman treats the first dimension as the batch).
      The weights are exported as zeros: the files compress to a few
      kilobytes in git, and the retraining checks start from a sparse
      initialization anyway (`--sparse-init`); `--random-weights` keeps
      PyTorch's initialization.

  scripts/onnx/export-models.sh zoo {table,ci} [OUT_DIR] [--only NAME ...]
      The 19 models of issue 18 (scripts/onnx/model_zoo.py lists them with
      the reason for each), opset 17, PyTorch's random initialization
      (seed 0), in ONNX's test-data layout, one directory per model:
        NAME/model.onnx                     batch norm kept (BatchNormalization
                                            nodes: eval mode, no constant
                                            folding, so nothing is fused)
        NAME/test_data_set_0/input_0.pb     a seeded N(0, 1) input (TensorProto)
        NAME/test_data_set_0/output_0.pb    PyTorch's output on it
        NAME-folded/...                     for models with batch norm: the
                                            default export (BN folded into Conv)
      `table`: torchvision's standard models, into runs/onnx-models (not
      committed; scripts/onnx/model-table.sh uses them). `ci`: small
      configurations of the same classes with random batch-norm statistics,
      into tests/e2e/onnx/models (the CI test OnnxModelZoo.* compares
      `bregman`'s output with PyTorch's; each directory's expectation.txt,
      written by hand, says whether the model is expected to match or to be
      refused, and why).
"""

import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 200), nn.Linear(200, 80), nn.Linear(80, 10)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 5), nn.Conv2d(16, 32, 5)
        self.fc1, self.fc2 = nn.Linear(512, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2(x), 2))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def export_legacy(model, example, path, random_weights):
    if not random_weights:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    model.eval()
    torch.onnx.export(model, example, path, input_names=["input"],
                      output_names=["logits"], opset_version=13, dynamo=False)
    print(f"{path}: {os.path.getsize(path)} bytes")


def legacy(argv):
    parser = argparse.ArgumentParser(prog="export_models.py")
    parser.add_argument("out", nargs="?", default="tests/e2e/onnx")
    parser.add_argument("--random-weights", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    export_legacy(Mlp(), torch.zeros(1, 784), os.path.join(args.out, "mlp.onnx"),
                  args.random_weights)
    export_legacy(ConvNet(), torch.zeros(1, 1, 28, 28), os.path.join(args.out, "convnet.onnx"),
                  args.random_weights)


def write_tensor(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def export_one(model, shape, directory, fold, dynamic_batch=0):
    """model.onnx with PyTorch's output on a seeded input beside it. With
    `dynamic_batch`, the batch axis is symbolic in the file and the input
    holds that many examples."""
    os.makedirs(os.path.join(directory, "test_data_set_0"), exist_ok=True)
    model.eval()
    if dynamic_batch:
        shape = (dynamic_batch,) + tuple(shape[1:])
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x).numpy()
    path = os.path.join(directory, "model.onnx")
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"],
                      opset_version=17, dynamo=False, do_constant_folding=fold,
                      training=torch.onnx.TrainingMode.EVAL, dynamic_axes=axes)
    graph = onnx.load(path).graph
    kept = sum(n.op_type == "BatchNormalization" for n in graph.node)
    data = os.path.join(directory, "test_data_set_0")
    write_tensor(os.path.join(data, "input_0.pb"), x.numpy(), "input")
    write_tensor(os.path.join(data, "output_0.pb"), expected, "logits")
    print(f"{path}: {os.path.getsize(path)} bytes, {len(graph.node)} nodes, "
          f"{kept} BatchNormalization")
    return kept


def randomize_batch_norm(model):
    """Running statistics and affine parameters away from PyTorch's initial
    1 and 0, so that the CI comparison sees every term of batch norm (and no
    two initializers are equal, which the exporter would merge)."""
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))


def zoo(argv):
    import model_zoo
    parser = argparse.ArgumentParser(prog="export_models.py zoo")
    parser.add_argument("size", choices=["table", "ci"])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    out = args.out or ("runs/onnx-models" if args.size == "table" else "tests/e2e/onnx/models")
    for name, (table, ci, shape, has_bn, why) in model_zoo.MODELS.items():
        build = table if args.size == "table" else ci
        if build is None or (args.only and name not in args.only):
            continue
        print(f"{name}: {why}")
        torch.manual_seed(0)
        model = build()
        if args.size == "ci":
            randomize_batch_norm(model)
        kept = export_one(model, shape, os.path.join(out, name), fold=False,
                          dynamic_batch=model_zoo.DYNAMIC_BATCH.get(name, 0))
        if has_bn and not kept:
            sys.exit(f"{name}: the export lost its BatchNormalization nodes")
        if has_bn and args.size == "table":
            export_one(model, shape, os.path.join(out, name + "-folded"), fold=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["zoo"]:
        zoo(sys.argv[2:])
    else:
        legacy(sys.argv[1:])
