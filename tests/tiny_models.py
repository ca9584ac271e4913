"""The four MLPerf Tiny reference models (v1.x), written in PyTorch from their published architectures:

- KWS: DS-CNN (small), keyword spotting on 49x10 MFCC frames, 12 classes;
- VWW: MobileNetV1 with width 0.25 at 96x96x3, person / no person;
- IC: ResNet-8 at 32x32x3 (CIFAR-10), three stages of one residual block each (16, 32, 64 channels);
- AD: the fully connected autoencoder of the ToyADMOS task, 640 -> 128 x4 -> 8 -> 128 x4 -> 640.

Weights are seeded and trained-like (cnn_models.randomized), so each model's output depends on its input. Shared by
the microcontroller tests and bench/ (tests must not import bench/).
"""

from __future__ import annotations

import itertools

from torch import nn

from .cnn_models import randomized

__all__ = ["DSCNN", "TINY_MODELS", "Autoencoder", "MobileNetV1", "ResNet8", "tiny_model"]


def _conv_bn_relu(
    cin: int, cout: int, k: int | tuple[int, int], stride: int = 1, groups: int = 1
) -> nn.Sequential:
    kh, kw = (k, k) if isinstance(k, int) else k
    return nn.Sequential(
        nn.Conv2d(cin, cout, (kh, kw), stride, ((kh - 1) // 2, (kw - 1) // 2), groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class DSCNN(nn.Module):
    """KWS: a 10x4 stride-2 convolution to 64 channels, four depthwise-separable blocks, average pool, 12 logits."""

    def __init__(self, channels: int = 64, classes: int = 12) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(1, channels, (10, 4), stride=2)]
        for _ in range(4):
            layers.append(_conv_bn_relu(channels, channels, 3, groups=channels))
            layers.append(_conv_bn_relu(channels, channels, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):  # x: [N, 1, 49, 10]
        return self.fc(self.pool(self.features(x)).flatten(1))


class MobileNetV1(nn.Module):
    """VWW: MobileNetV1, width multiplier 0.25, 96x96 input, 2 classes."""

    def __init__(self, width: float = 0.25, classes: int = 2) -> None:
        super().__init__()
        cfg = (
            [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
            + [(512, 1)] * 5
            + [(1024, 2), (1024, 1)]
        )
        c = int(32 * width)
        layers: list[nn.Module] = [_conv_bn_relu(3, c, 3, stride=2)]
        for out, stride in cfg:
            o = int(out * width)
            layers.append(_conv_bn_relu(c, c, 3, stride=stride, groups=c))
            layers.append(_conv_bn_relu(c, o, 1))
            c = o
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):  # x: [N, 3, 96, 96]
        return self.fc(self.pool(self.features(x)).flatten(1))


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn_relu(cin, cout, 3, stride=stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.skip(x))


class ResNet8(nn.Module):
    """IC: ResNet-8 for 32x32x3 (a 16-channel stem, residual blocks of 16, 32 and 64 channels), 10 classes."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = _conv_bn_relu(3, 16, 3)
        self.blocks = nn.Sequential(_ResBlock(16, 16, 1), _ResBlock(16, 32, 2), _ResBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):  # x: [N, 3, 32, 32]
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


class Autoencoder(nn.Module):
    """AD: the ToyADMOS deep autoencoder, 640 inputs (5 frames x 128 mel bins), fully connected with BatchNorm."""

    def __init__(self, inputs: int = 640, hidden: int = 128, code: int = 8) -> None:
        super().__init__()

        def fc(i: int, o: int) -> list[nn.Module]:
            return [nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU()]

        dims = [inputs, hidden, hidden, hidden, hidden, code, hidden, hidden, hidden, hidden]
        layers: list[nn.Module] = []
        for i, o in itertools.pairwise(dims):
            layers += fc(i, o)
        layers.append(nn.Linear(hidden, inputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x):  # x: [N, 640]
        return self.net(x)


DSCNN_SHAPE = (1, 1, 49, 10)
VWW_SHAPE = (1, 3, 96, 96)
RESNET8_SHAPE = (1, 3, 32, 32)
AUTOENCODER_SHAPE = (1, 640)

# name -> (class, input shape)
TINY_MODELS: dict[str, tuple[type[nn.Module], tuple[int, ...]]] = {
    "kws": (DSCNN, DSCNN_SHAPE),
    "vww": (MobileNetV1, VWW_SHAPE),
    "ic": (ResNet8, RESNET8_SHAPE),
    "ad": (Autoencoder, AUTOENCODER_SHAPE),
}


def tiny_model(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """One MLPerf Tiny model with seeded, trained-like weights (eval mode) and its input shape."""
    cls, shape = TINY_MODELS[name]
    model = cls()
    # BatchNorm1d is fitted by randomized() only for 2-D BatchNorm; fit the autoencoder's here the same way
    randomized(model, seed=seed, input_shape=shape)
    _fit_bn1d(model, shape, seed)
    return model.eval(), shape


def _fit_bn1d(model: nn.Module, shape: tuple[int, ...], seed: int) -> None:
    import torch

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    if not bns:
        return
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        model.train()
        model(torch.randn((64,) + tuple(shape[1:]), generator=g))
        model.eval()
        for m in bns:
            m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
