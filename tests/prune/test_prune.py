"""Pruning: magnitude methods hit their targets in the runtime's K order; channel pruning keeps residual, concat and
depthwise graphs shape-valid (and buildable); the sensitivity scan meets its budget; distillation wins accuracy back
on the pruned digits CNN, deterministically."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.compress.prune import PruneSpec, find_targets, prune, prune_channels, sensitivity_scan
from edgebuild.errors import EdgebuildError
from tests.helpers import quantize_and_lower, run_native


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(8, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 16, 1)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.c2(F.relu(self.c1(x))))
        return self.fc2(F.relu(self.fc1(x.mean((2, 3)))))


def _small() -> Small:
    torch.manual_seed(0)
    return Small().eval()


def _k_order(w: torch.Tensor) -> torch.Tensor:
    return w.permute(0, 2, 3, 1).reshape(w.shape[0], -1) if w.dim() == 4 else w


def test_block_pruning_zeroes_whole_blocks_along_runtime_k() -> None:
    m = _small()
    layers, masks = prune(m, PruneSpec.parse("block16x4:0.75"))
    by = {x.name: x for x in layers}
    assert by["fc2.weight"].skipped  # the classifier stays dense
    for name in ("c1.weight", "c2.weight", "fc1.weight"):
        w = _k_order(dict(m.named_parameters())[name].detach())
        blocks = w.reshape(w.shape[0] // 16, 16, w.shape[1] // 4, 4).abs().sum((1, 3))
        assert float((blocks == 0).float().mean()) == pytest.approx(0.75, abs=1 / blocks.numel())
        assert by[name].block_sparsity == pytest.approx(0.75, abs=1 / blocks.numel())
        assert torch.equal(masks[name] == 0, dict(m.named_parameters())[name].detach() == 0)


def test_unstructured_nm_and_global() -> None:
    m = _small()
    layers, _ = prune(m, PruneSpec.parse("unstructured:0.6"))
    assert all(x.sparsity == pytest.approx(0.6, abs=0.01) for x in layers if not x.skipped)
    m = _small()
    prune(m, PruneSpec.parse("2:4"))
    for t in find_targets(m)[:-1]:
        groups = _k_order(t.param.detach()).reshape(-1, 4)
        assert int((groups != 0).sum(1).max()) <= 2
    m = _small()
    layers, _ = prune(m, PruneSpec.parse("unstructured:0.8", scope="global"))
    live = [x for x in layers if not x.skipped]
    sizes = [np.prod(x.shape) for x in live]
    overall = sum(x.sparsity * s for x, s in zip(live, sizes)) / sum(sizes)
    assert overall == pytest.approx(0.8, abs=0.01)
    assert all(x.sparsity < 1.0 for x in live)  # scores normalised per layer: no layer emptied


@pytest.mark.parametrize("text", ["block:1.5", "blocks:0.5", "4:2", "unstructured3x3:0.5", "channel"])
def test_bad_spec(text: str) -> None:
    with pytest.raises(EdgebuildError, match="--prune"):
        PruneSpec.parse(text)


class ResidualConcat(nn.Module):
    """A residual add, a concatenation and a depthwise conv: channel groups coupled across the graph."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.a = nn.Conv2d(16, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.b = nn.Conv2d(16, 8, 1)
        self.c = nn.Conv2d(16, 8, 1)
        self.head = nn.Conv2d(16, 16, 1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.stem(x))
        r = F.relu(s + self.a(s))  # residual: stem and a share their output channels
        r = F.relu(self.dw(r))  # depthwise: its channels are r's
        y = torch.cat([self.b(r), self.c(r)], 1)  # concat: head's input channels split across b and c
        y = F.relu(self.head(y))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def test_channel_pruning_keeps_residual_concat_depthwise_graphs_valid() -> None:
    torch.manual_seed(1)
    m = ResidualConcat().eval()
    x = torch.randn(1, 3, 12, 12)
    before = sum(p.numel() for p in m.parameters())
    prune_channels(m, 0.5, (x,))
    after = sum(p.numel() for p in m.parameters())
    assert after < 0.6 * before
    assert m.stem.out_channels == m.a.out_channels == m.dw.in_channels == m.dw.groups < 16
    assert m.head.in_channels == m.b.out_channels + m.c.out_channels
    assert m(x).shape == (1, 5)
    # The physically smaller model still builds and runs in int8.
    calib = [torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    q = quantize_and_lower(m, calib)
    out = run_native(q.program, [x.numpy()])[0]
    assert out.shape == (1, 5)


def test_sensitivity_scan_meets_budget() -> None:
    m = _small()
    samples = [(torch.randn(1, 8, 6, 6, generator=torch.Generator().manual_seed(i)),) for i in range(4)]
    spec = PruneSpec.parse("block16x4:0.7")
    sens = sensitivity_scan(m, samples, spec, 0.7)
    assert sens.achieved >= 0.7
    assert set(sens.chosen) == {"c1.weight", "c2.weight", "fc1.weight"}
    spec.per_layer = sens.chosen
    layers, _ = prune(m, spec)
    for x in layers:
        if x.name in sens.chosen:
            assert x.block_sparsity == pytest.approx(sens.chosen[x.name], abs=0.05)


def _digits() -> tuple[nn.Module, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from examples.digits.model import DigitsCNN
    from examples.digits.train import load_split

    m = DigitsCNN()
    m.load_state_dict(torch.load("examples/digits/state_dict.pt", weights_only=True))
    return (m.eval(), *load_split())


def _acc(m: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((m(torch.from_numpy(x)).argmax(1).numpy() == y).mean() * 100)


def test_distillation_improves_pruned_digits_deterministically() -> None:
    from edgebuild.compress.distill import DistillOptions, distill_module

    teacher, xtr, xte, ytr, yte = _digits()
    student = copy.deepcopy(teacher)
    _, masks = prune(student, PruneSpec.parse("block1x4:0.9"))
    pruned = _acc(student, xte, yte)
    twin = copy.deepcopy(student)
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr).long()
    distill_module(student, teacher, x, y, masks, DistillOptions(epochs=1, lr=3e-3))
    recovered = _acc(student, xte, yte)
    assert recovered > pruned + 30, (pruned, recovered)
    for name, mask in masks.items():  # pruned weights stayed zero
        assert torch.all(dict(student.named_parameters())[name].detach()[mask == 0] == 0)
    # Same seed, same data: the same weights, bit for bit.
    a, b = copy.deepcopy(twin), copy.deepcopy(twin)
    small = DistillOptions(epochs=1, lr=3e-3, batch_size=16)
    distill_module(a, teacher, x[:128], y[:128], masks, small)
    distill_module(b, teacher, x[:128], y[:128], masks, small)
    for (n, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), f"{n} differs between two runs with the same seed"
