"""The CNN half of issue 8's test zoo, written in code (no downloads), with torchvision's layer layouts at small
widths and resolutions so CI stays fast. Weights are random but seeded, BatchNorm statistics are randomized so that
folding matters. MobileNetV2 and ResNet-18 come from tests/cnn_models.py.

Each entry of ZOO: name -> (constructor, input shape).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tests.cnn_models import MobileNetV2, ResNet18, _make_divisible


def conv_bn(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: nn.Module | None = None
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


# ---- MobileNetV3-small (Howard et al. 2019, Table 2): hardswish, squeeze-and-excitation with hardsigmoid ----


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        squeeze = _make_divisible(channels // 4, 8)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = self.fc2(F.relu(self.fc1(s)))
        return x * F.hardsigmoid(s)


class Bneck(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, hs: bool, stride: int) -> None:
        super().__init__()
        act = nn.Hardswish if hs else nn.ReLU
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(conv_bn(cin, exp, 1, act=act()))
        layers.append(conv_bn(exp, exp, k, stride, groups=exp, act=act()))
        if se:
            layers.append(SqueezeExcite(exp))
        layers.append(conv_bn(exp, cout, 1))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV3Small(nn.Module):
    # kernel, expansion, out, SE, hardswish, stride
    SETTING = (
        (3, 16, 16, True, False, 2),
        (3, 72, 24, False, False, 2),
        (3, 88, 24, False, False, 1),
        (5, 96, 40, True, True, 2),
        (5, 240, 40, True, True, 1),
        (5, 240, 40, True, True, 1),
        (5, 120, 48, True, True, 1),
        (5, 144, 48, True, True, 1),
        (5, 288, 96, True, True, 2),
        (5, 576, 96, True, True, 1),
        (5, 576, 96, True, True, 1),
    )

    def __init__(self, num_classes: int = 10, width: float = 0.5) -> None:
        super().__init__()

        def ch(c: int) -> int:
            return _make_divisible(c * width, 8)

        cin = ch(16)
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.Hardswish())]
        for k, exp, out, se, hs, s in self.SETTING:
            layers.append(Bneck(cin, k, ch(exp), ch(out), se, hs, s))
            cin = ch(out)
        last = ch(576)
        layers.append(conv_bn(cin, last, 1, act=nn.Hardswish()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(last, 128), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(128, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# ---- ShuffleNetV2 (Ma et al. 2018): channel split (chunk), channel shuffle (view/transpose/view) ----


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        branch = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                conv_bn(cin, cin, 3, stride, groups=cin), conv_bn(cin, branch, 1, act=nn.ReLU())
            )
        src = cin if stride > 1 else branch
        self.branch2 = nn.Sequential(
            conv_bn(src, branch, 1, act=nn.ReLU()),
            conv_bn(branch, branch, 3, stride, groups=branch),
            conv_bn(branch, branch, 1, act=nn.ReLU()),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, num_classes: int = 10, stages: tuple[int, ...] = (16, 32, 64, 128, 256)) -> None:
        super().__init__()
        self.conv1 = conv_bn(3, stages[0], 3, 2, act=nn.ReLU())
        layers: list[nn.Module] = []
        cin = stages[0]
        for cout, repeats in zip(stages[1:4], (4, 8, 4)):
            layers.append(ShuffleUnit(cin, cout, 2))
            layers += [ShuffleUnit(cout, cout, 1) for _ in range(repeats - 1)]
            cin = cout
        self.stages = nn.Sequential(*layers)
        self.conv5 = conv_bn(cin, stages[4], 1, act=nn.ReLU())
        self.fc = nn.Linear(stages[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv1(x), 3, 2, 1)
        x = self.conv5(self.stages(x))
        return self.fc(x.mean((2, 3)))


# ---- SqueezeNet 1.1 (Iandola et al. 2016): fire modules, ceil-mode max pooling ----


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1(s)), F.relu(self.expand3(s))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes: int = 10, width: float = 0.25) -> None:
        super().__init__()

        def ch(c: int) -> int:
            return max(4, int(c * width))

        fires = [
            (64, 16, 64),
            (128, 16, 64),
            (128, 32, 128),
            (256, 32, 128),
            (256, 48, 192),
            (384, 48, 192),
            (384, 64, 256),
            (512, 64, 256),
        ]
        self.conv1 = nn.Conv2d(3, ch(64), 3, 2)
        f = [Fire(ch(a) if i else ch(64), ch(b), ch(c)) for i, (a, b, c) in enumerate(fires)]
        self.stage1, self.stage2, self.stage3 = (
            nn.Sequential(*f[:2]),
            nn.Sequential(*f[2:4]),
            nn.Sequential(*f[4:]),
        )
        self.classifier = nn.Conv2d(ch(512), num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.stage1(x), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.stage2(x), 3, 2, ceil_mode=True)
        x = F.relu(self.classifier(F.dropout(self.stage3(x), 0.5, self.training)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


# ---- a tiny YOLO-style detector: leaky/SiLU backbone, FPN with upsample + concat, two detection outputs ----


class TinyYolo(nn.Module):
    def __init__(self, num_classes: int = 3, anchors: int = 3) -> None:
        super().__init__()
        out = anchors * (5 + num_classes)
        leaky = nn.LeakyReLU(0.1)
        self.stem = nn.Sequential(conv_bn(3, 8, 3, 2, act=leaky), conv_bn(8, 16, 3, 2, act=leaky))
        self.c3 = nn.Sequential(conv_bn(16, 24, 3, 2, act=nn.SiLU()), conv_bn(24, 24, 3, act=nn.SiLU()))
        self.c4 = nn.Sequential(nn.MaxPool2d(2, 2), conv_bn(24, 48, 3, act=nn.SiLU()))
        self.lateral = conv_bn(48, 24, 1, act=leaky)
        self.head_p4 = nn.Sequential(conv_bn(48, 48, 3, act=leaky), nn.Conv2d(48, out, 1))
        self.head_p3 = nn.Sequential(conv_bn(48, 32, 3, act=leaky), nn.Conv2d(32, out, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p3 = self.c3(self.stem(x))
        p4 = self.c4(p3)
        up = F.interpolate(self.lateral(p4), scale_factor=2, mode="nearest")
        p3 = torch.cat([up, p3], 1)  # inputs from different layers: different scales before sharing
        return torch.sigmoid(self.head_p4(p4)), self.head_p3(p3)


def _randomize_bn(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=g) * 0.4 - 0.2)
    return model.eval()


def make(name: str) -> nn.Module:
    torch.manual_seed(0)
    return _randomize_bn(ZOO[name][0](), 1)


ZOO: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mobilenet_v2": (lambda: MobileNetV2(num_classes=10, width=0.35), (1, 3, 32, 32)),
    "mobilenet_v3_small": (lambda: MobileNetV3Small(num_classes=10, width=0.5), (1, 3, 32, 32)),
    "resnet18": (lambda: ResNet18(num_classes=10, width=0.25), (1, 3, 32, 32)),
    "shufflenet_v2": (lambda: ShuffleNetV2(num_classes=10), (1, 3, 32, 32)),
    "squeezenet": (lambda: SqueezeNet(num_classes=10), (1, 3, 47, 47)),
    "tiny_yolo": (lambda: TinyYolo(), (1, 3, 32, 32)),
}
