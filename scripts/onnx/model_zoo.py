"""The 19 models of issue 18 (architectures people bring to `bregman
retrain`), as PyTorch modules, each with the reason it is in the list.

Two sizes of the same architectures:
  table  the models as users have them (torchvision's standard widths),
         exported into runs/onnx-models for scripts/onnx/model-table.sh;
  ci     small configurations of the same classes (torchvision's own
         classes with small widths where the class allows it, else left
         out), stored with PyTorch's outputs under tests/e2e/onnx/models
         for the CI test (a few hundred kilobytes in all).
The plain modules are small already and the same in both sets.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models as tvm
from torchvision.models.efficientnet import EfficientNet, MBConvConfig
from torchvision.models.regnet import BlockParams, RegNet
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.densenet import DenseNet
from torchvision.models.mobilenetv2 import MobileNetV2

FASHION = (1, 1, 28, 28)  # Fashion-MNIST images
CIFAR = (1, 3, 32, 32)    # CIFAR-10-shaped images
ROWS = (1, 28, 28)        # an image as a sequence of 28 rows


class MlpBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.body(x)


class LeNet(nn.Module):
    """LeNet-5's shape on 28×28 with a chosen activation and pooling."""

    def __init__(self, act, pool, bn=False):
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), norm(6), act(), pool(2),
            nn.Conv2d(6, 16, 5), norm(16), act(), pool(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(256, 64), act(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class AllConv(nn.Module):
    """Strided convolutions, LeakyReLU, global average pooling, no linear
    hidden layer (the "all-convolutional" style)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(32, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.body(x)


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class SmallUNet(nn.Module):
    """Two levels down and up (28 → 14 → 7 → 14 → 28), skip connections by
    concatenation, transposed convolutions, a per-class head averaged to
    logits so that it trains as a classifier."""

    def __init__(self, c=8):
        super().__init__()
        self.enc1, self.enc2 = conv_bn(1, c), conv_bn(c, 2 * c)
        self.mid = conv_bn(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = conv_bn(4 * c, 2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec1 = conv_bn(2 * c, c)
        self.head = nn.Conv2d(c, 10, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1).mean(dim=(2, 3))


class Upsampling(nn.Module):
    """Down with strided convolutions, up with nn.Upsample (nearest) and
    F.interpolate (bilinear, align_corners False and True)."""

    def __init__(self):
        super().__init__()
        self.down1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.mix = nn.Conv2d(16, 8, 3, padding=1)
        self.head = nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Linear(8 * 7 * 7, 10))

    def forward(self, x):
        x = torch.relu(self.down2(torch.relu(self.down1(x))))      # 16×7×7
        x = torch.relu(self.mix(self.up_nearest(x)))               # 8×14×14
        a = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        b = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=True)
        return self.head(a + b)


class RowTransformer(nn.Module):
    """nn.TransformerEncoder over the 28 rows of an image (tokens of 28
    pixels), learned positions, mean-pooled to 10 logits."""

    def __init__(self, d=32, heads=4, layers=2):
        super().__init__()
        self.embed = nn.Linear(28, d)
        self.pos = nn.Parameter(torch.randn(1, 28, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x) + self.pos).mean(dim=1))


class BertBlock(nn.Module):
    """One BERT layer written out as BERT's code does: a [CLS] token,
    learned positions, attention by explicit matmul/softmax with a scale,
    post-LayerNorm, GELU (erf) feed-forward; 4×7×7 patches as tokens."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.d, self.heads = d, heads
        self.patch = nn.Linear(49, d)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 17, d) * 0.02)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        b = x.shape[0]
        p = x.reshape(b, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(b, 16, 49)
        h = torch.cat([self.cls.expand(b, 1, self.d), self.patch(p)], 1) + self.pos
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        split = lambda t: t.reshape(b, 17, self.heads, -1).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-1, -2) / (self.d // self.heads) ** 0.5, -1)
        a = (att @ v).transpose(1, 2).reshape(b, 17, self.d)
        h = self.ln1(h + self.out(a))
        h = self.ln2(h + self.ff2(F.gelu(self.ff1(h))))
        return self.head(h[:, 0])


class Recurrent(nn.Module):
    """An LSTM or GRU over the 28 rows, the last hidden state to 10 logits."""

    def __init__(self, cell, hidden=64):
        super().__init__()
        self.rnn = cell(28, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def cifar_vgg11():
    """torchvision's VGG-11; at 32×32 the features end at 1×1, so the 7×7
    adaptive pooling (which the exporter cannot write for 1 → 7) goes and
    the first classifier layer takes 512 inputs, as CIFAR versions do."""
    net = tvm.vgg11(num_classes=10)
    net.avgpool = nn.Identity()
    net.classifier[0] = nn.Linear(512, 4096)
    return net


def tiny_efficientnet():
    settings = [MBConvConfig(1, 3, 1, 8, 8, 1, 1.0, 1.0),
                MBConvConfig(4, 3, 2, 8, 16, 2, 1.0, 1.0),
                MBConvConfig(4, 5, 2, 16, 24, 1, 1.0, 1.0)]
    return EfficientNet(settings, dropout=0.0, num_classes=10, last_channel=64)


def tiny_regnet():
    params = BlockParams.from_init_params(depth=4, w_0=8, w_a=8.0, w_m=2.0,
                                          group_width=8, se_ratio=0.25)
    return RegNet(params, num_classes=10, stem_width=8)


def tiny_mobilenet_v2():
    setting = [[1, 8, 1, 1], [6, 16, 2, 2], [6, 24, 2, 2]]
    net = MobileNetV2(num_classes=10, inverted_residual_setting=setting)
    # torchvision fixes the last convolution at 1280 channels: narrow it.
    last = net.features[-1]
    net.features[-1] = nn.Sequential(nn.Conv2d(last[0].in_channels, 64, 1, bias=False),
                                     nn.BatchNorm2d(64), nn.ReLU6())
    net.classifier[-1] = nn.Linear(64, 10)
    return net


# Exported with a dynamic batch axis (torch.onnx.export's dynamic_axes), their
# test input a batch of 3: nn.MultiheadAttention reshapes with the batch in
# dimension 1 and BertBlock expands its [CLS] token to x.shape[0], so a
# static batch of 1 is folded into shapes bregman cannot tell from other
# dimensions of size 1; with a dynamic batch those shapes are Shape(input)
# arithmetic, which bregman folds at the batch it compiles for.
DYNAMIC_BATCH = {"transformer_encoder": 3, "bert_block": 3}

# name: (builder for the table, builder for CI or None, input shape,
#        has batch norm, why it is in the list)
MODELS = {
    "resnet18": (lambda: tvm.resnet18(num_classes=10), None, CIFAR, True,
                 "the reference CNN: residual adds, BN after every conv"),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(num_classes=10), tiny_mobilenet_v2, CIFAR, True,
                     "depthwise convolutions, ReLU6 (Clip), inverted residuals"),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(num_classes=10), tiny_efficientnet,
                        CIFAR, True, "SiLU, squeeze-excitation (Sigmoid gates, global pooling)"),
    "densenet121": (lambda: tvm.densenet121(num_classes=10),
                    lambda: DenseNet(8, (2, 2, 2), 16, num_classes=10), CIFAR, True,
                    "concatenation of every earlier layer, BN before conv, average pooling"),
    "vgg11": (cifar_vgg11, None, CIFAR, False,
              "plain deep stack, large linear layers (the most weights)"),
    "shufflenet_v2": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10),
                      lambda: ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10),
                      CIFAR, True, "channel shuffle: Reshape/Transpose with the batch baked in"),
    "regnet_x_400mf": (lambda: tvm.regnet_x_400mf(num_classes=10), tiny_regnet, CIFAR, True,
                       "grouped convolutions (the CI copy also squeeze-excitation)"),
    "squeezenet1_0": (lambda: tvm.squeezenet1_0(num_classes=10), None, CIFAR, False,
                      "MaxPool with ceil_mode = 1, fire modules (concat), conv classifier"),
    "unet_small": (SmallUNet, SmallUNet, FASHION, True,
                   "encoder-decoder: ConvTranspose, skip concatenation"),
    "mlp_bn": (MlpBn, MlpBn, FASHION, True, "BatchNorm1d after Linear (Gemm + BN on 2-D)"),
    "transformer_encoder": (RowTransformer, RowTransformer, ROWS, False,
                            "nn.TransformerEncoder: LayerNorm, attention, 3-D MatMul"),
    "bert_block": (BertBlock, BertBlock, FASHION, False,
                   "BERT as written: Erf GELU, 4-D batched MatMul, Softmax, Expand, Gather"),
    "lstm": (lambda: Recurrent(nn.LSTM), lambda: Recurrent(nn.LSTM), ROWS, False,
             "the ONNX LSTM op over a sequence of rows"),
    "gru": (lambda: Recurrent(nn.GRU), lambda: Recurrent(nn.GRU), ROWS, False,
            "the ONNX GRU op over a sequence of rows"),
    "upsampling": (Upsampling, Upsampling, FASHION, False,
                   "Resize: nearest, bilinear half-pixel and align-corners"),
    "lenet_sigmoid": (lambda: LeNet(nn.Sigmoid, nn.AvgPool2d),
                      lambda: LeNet(nn.Sigmoid, nn.AvgPool2d), FASHION, False,
                      "LeNet-5 as published: Sigmoid, average pooling"),
    "lenet_tanh": (lambda: LeNet(nn.Tanh, nn.MaxPool2d), lambda: LeNet(nn.Tanh, nn.MaxPool2d),
                   FASHION, False, "Tanh (saturating gradients), max pooling"),
    "lenet_silu_bn": (lambda: LeNet(nn.SiLU, nn.MaxPool2d, bn=True),
                      lambda: LeNet(nn.SiLU, nn.MaxPool2d, bn=True), FASHION, True,
                      "SiLU (x·sigmoid(x)) with batch norm"),
    "allconv_leaky": (AllConv, AllConv, FASHION, False,
                      "strided convs, LeakyReLU, global average pooling, no Linear"),
}
