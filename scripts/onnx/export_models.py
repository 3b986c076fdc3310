#!/usr/bin/env python3
"""Exports the test models of the ONNX retraining checks from PyTorch.

  mlp.onnx      784-200-80-10, ReLU (nn.Linear: Gemm with transB)
  convnet.onnx  conv 1→16 5×5, max-pool 2, ReLU, conv 16→32 5×5, max-pool 2,
                ReLU, flatten, linear 512→64, ReLU, linear 64→10

Batch dimension 1 (bregman treats the first dimension as the batch). The
weights are exported as zeros: the files compress to a few kilobytes in
git, and the retraining checks start from a sparse initialization anyway
(`--sparse-init`); `--random-weights` keeps PyTorch's initialization.

  scripts/onnx/export-models.sh [--random-weights] [OUT_DIR]
"""

import argparse
import os

import torch
import torch.nn as nn


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


def export(model, example, path, random_weights):
    if not random_weights:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    model.eval()
    torch.onnx.export(model, example, path, input_names=["input"],
                      output_names=["logits"], opset_version=13, dynamo=False)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", default="tests/e2e/onnx")
    parser.add_argument("--random-weights", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    export(Mlp(), torch.zeros(1, 784), os.path.join(args.out, "mlp.onnx"), args.random_weights)
    export(ConvNet(), torch.zeros(1, 1, 28, 28), os.path.join(args.out, "convnet.onnx"),
           args.random_weights)


if __name__ == "__main__":
    main()
