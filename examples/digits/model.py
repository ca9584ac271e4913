"""DigitsCNN: a small CNN for scikit-learn's 8×8 digits, built from the layers edgebuild's kernels run.

Input: [N, 1, 8, 8] float32 in [0, 1] (pixel / 16). Output: [N, 10] logits. It exercises conv + BatchNorm
(folded at build time), ReLU and ReLU6 (clamps), max pooling, a depthwise-separable block with a residual add,
global average pooling and a linear layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DigitsCNN(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        # Depthwise 3×3 then pointwise 1×1: the MobileNet block, added back onto its input (residual).
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
        self.bn_dw = nn.BatchNorm2d(32)
        self.pw = nn.Conv2d(32, 32, 1, bias=False)
        self.bn_pw = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))  # [N, 16, 8, 8]
        x = F.relu(self.bn2(self.conv2(x)))  # [N, 32, 8, 8]
        x = F.max_pool2d(x, 2)  # [N, 32, 4, 4]
        y = F.relu6(self.bn_dw(self.dw(x)))
        y = self.bn_pw(self.pw(y))
        x = F.relu(x + y)  # residual add
        x = F.adaptive_avg_pool2d(x, 1)  # [N, 32, 1, 1]
        return self.fc(torch.flatten(x, 1))  # [N, 10]
