"""Models for tests, written in code: one-op models and randomly generated small CNNs (seeded, reproducible)."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """conv (+BN) + activation, optionally with a residual add or a concatenated second branch."""

    def __init__(self, rng: random.Random, cin: int, size: int) -> None:
        super().__init__()
        k = rng.choice([1, 3, 3, 5])
        depthwise = k > 1 and rng.random() < 0.3
        stride = rng.choice([1, 1, 2]) if size >= 6 else 1
        dilation = 2 if k == 3 and size >= 8 and rng.random() < 0.2 else 1
        pad = rng.choice([0, (k // 2) * dilation]) if size > k * dilation else (k // 2) * dilation
        cout = cin if depthwise else rng.choice([4, 8, 12, 16])
        self.conv = nn.Conv2d(
            cin, cout, k, stride, pad, dilation, groups=cin if depthwise else 1, bias=rng.random() < 0.7
        )
        self.bn = nn.BatchNorm2d(cout) if rng.random() < 0.5 else None
        self.act = rng.choice(["none", "relu", "relu6", "hardtanh"])
        out_size = (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        self.residual = cin == cout and out_size == size and rng.random() < 0.5
        self.branch = (
            nn.Conv2d(cin, 4, 1, stride)
            if (not self.residual and rng.random() < 0.3 and pad == (k // 2) * dilation and stride == 1)
            else None
        )
        self.cout = cout + (4 if self.branch is not None else 0)
        self.size = out_size
        if self.bn is not None:  # non-trivial BN statistics, so folding matters
            with torch.no_grad():
                self.bn.running_mean.uniform_(-0.5, 0.5)
                self.bn.running_var.uniform_(0.5, 2.0)
                self.bn.weight.uniform_(0.5, 1.5)
                self.bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.bn is not None:
            y = self.bn(y)
        if self.act == "relu":
            y = F.relu(y)
        elif self.act == "relu6":
            y = F.relu6(y)
        elif self.act == "hardtanh":
            y = F.hardtanh(y, -1.0, 1.0)
        if self.residual:
            y = y + x
        if self.branch is not None:
            y = torch.cat([y, self.branch(x)], dim=1)
        return y


class RandomCNN(nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        rng = random.Random(seed)
        torch.manual_seed(seed)
        self.in_channels = rng.choice([1, 3])
        self.size = rng.choice([8, 11, 16])
        c, s = self.in_channels, self.size
        blocks = []
        for _ in range(rng.randint(2, 5)):
            b = Block(rng, c, s)
            blocks.append(b)
            c, s = b.cout, b.size
            if s >= 4 and rng.random() < 0.3:
                blocks.append(
                    nn.MaxPool2d(2, ceil_mode=rng.random() < 0.5)
                    if rng.random() < 0.5
                    else nn.AvgPool2d(3, 2, 1, ceil_mode=rng.random() < 0.5)
                )
                s = blocks[-1](torch.zeros(1, c, s, s)).shape[-1]
        self.blocks = nn.Sequential(*blocks)
        self.global_pool = rng.random() < 0.7
        self.fc = nn.Linear(c if self.global_pool else c * s * s, rng.choice([5, 10]))

    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.in_channels, self.size, self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(x)
        y = F.adaptive_avg_pool2d(y, 1) if self.global_pool else y
        return self.fc(torch.flatten(y, 1))


def calibration(shape: tuple[int, ...], n: int = 16, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g) for _ in range(n)]
