"""Reference architectures written in code (there is no CPU build of torchvision on these machines), shared by the
tests (tests/zoo, tests/profile) and the benchmarks (bench/models.py re-exports them: tests never import bench/).

MobileNetV2 1.0 (Sandler et al. 2018) and ResNet-18 (He et al. 2016) with torchvision's layer layout, so their
MACs and tensor shapes match the models users ship. Weights are random but trained-like (`randomized`): every
weight is drawn from one seeded generator, and BatchNorm is fitted to the activations, so the float output depends on
the input, as a trained model's does (an accuracy or agreement figure on a model whose logits are the same for every
input says nothing). `width` and `resolution` shrink them for quick tests.
"""

from __future__ import annotations

import torch
from torch import nn


def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ConvBNReLU6(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=False),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(cin, hidden, 1))
        layers += [
            ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    # (expansion t, channels c, repeats n, stride s) from the paper's Table 2
    SETTING: tuple[tuple[int, int, int, int], ...] = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, num_classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()
        cin = _make_divisible(32 * width)
        last = _make_divisible(1280 * max(1.0, width))
        features: list[nn.Module] = [ConvBNReLU6(3, cin, 3, 2)]
        for t, c, n, s in self.SETTING:
            cout = _make_divisible(c * width)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvBNReLU6(cin, last, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()
        c = [int(64 * width), int(128 * width), int(256 * width), int(512 * width)]
        self.stem = nn.Sequential(
            nn.Conv2d(3, c[0], 7, 2, 3, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        blocks: list[nn.Module] = []
        cin = c[0]
        for i, cout in enumerate(c):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


def randomized(model: nn.Module, seed: int = 0, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> nn.Module:
    """Seeded, trained-like random weights, in eval mode; the same model for the same seed, whatever ran before.

    Convolutions and linear layers get He (fan-in) normal weights, the scale that keeps a ReLU network's activations
    at unit variance (He et al. 2015); biases are small. BatchNorm is fitted: its running statistics are the mean and
    variance of its input over a batch of 8 standard-normal inputs of `input_shape` (one pass, BatchNorm in training mode,
    float64 so the statistics do not depend on the CPU's float32 summation order), so every normalized activation is
    centred and of unit scale, as after training; its affine weights are then drawn around 1 and 0, so folding
    BatchNorm into the convolutions is exercised with non-trivial values. A convolution with a bias (in these models,
    one that no BatchNorm follows, as in SqueezeNet) is fitted the same way in the same pass: its weights and bias
    are rescaled so that each output channel is centred and of unit scale on that batch, then shifted by a small
    random bias. Without the fit, activations shrink or grow layer after layer (or keep a common offset that
    dominates them) and a deep random network outputs nearly the same logits for every input.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                gain = (
                    2.0 if isinstance(m, nn.Conv2d) else 1.0
                )  # ReLU-family after convs; logits after linear
                m.weight.copy_(
                    torch.randn(m.weight.shape, generator=g, dtype=torch.float64) * (gain / fan_in) ** 0.5
                )
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.bias.shape, generator=g, dtype=torch.float64) - 0.5) * 0.2)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for (
            m
        ) in bns:  # running statistics := this batch's (momentum None: a cumulative average over one batch)
            m.reset_running_stats()
            m.momentum = None
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.bias is not None]
        shifts = {
            m: (torch.rand(m.out_channels, generator=g, dtype=torch.float64) - 0.5) * 0.2 for m in convs
        }

        def fit(m: nn.Module, _inputs: object, y: torch.Tensor) -> torch.Tensor:
            mean, std = y.mean((0, 2, 3)), y.std((0, 2, 3)).clamp_min(1e-6)
            m.weight.div_(std.view(-1, 1, 1, 1))
            m.bias.sub_(mean).div_(std).add_(shifts[m])
            return (y - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1) + shifts[m].view(1, -1, 1, 1)

        hooks = [m.register_forward_hook(fit) for m in convs]
        model.double().eval()  # dropout off (it would draw from torch's global generator); BatchNorm alone trains
        for m in bns:
            m.train()
        model(torch.randn((8, *input_shape[1:]), generator=g, dtype=torch.float64))
        model.float()
        for h in hooks:
            h.remove()
        for m in bns:
            m.momentum = 0.1
            m.weight.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
            m.bias.copy_((torch.rand(m.num_features, generator=g) - 0.5) * 0.2)
    return model.eval()


def output_spread(model: nn.Module, input_shape: tuple[int, ...], n: int = 8, seed: int = 1) -> float:
    """Mean relative distance between the float outputs of `n` different standard-normal inputs:
    mean over pairs i < j of |y_i - y_j| / ((|y_i| + |y_j|) / 2). Near 0 when the output ignores the input."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ys = [model(torch.randn(input_shape, generator=g)).flatten().double() for _ in range(n)]
    d = [
        float((ys[i] - ys[j]).norm() / ((ys[i].norm() + ys[j].norm()) / 2))
        for i in range(n)
        for j in range(i + 1, n)
    ]
    return sum(d) / len(d)


def mobilenet_v2(
    resolution: int = 224, width: float = 1.0, seed: int = 0
) -> tuple[nn.Module, tuple[int, ...]]:
    shape = (1, 3, resolution, resolution)
    return randomized(MobileNetV2(width=width), seed, shape), shape


def resnet18(resolution: int = 224, width: float = 1.0, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    shape = (1, 3, resolution, resolution)
    return randomized(ResNet18(width=width), seed, shape), shape
