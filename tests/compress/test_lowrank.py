"""Low-rank factorization: each factorized layer computes exactly its factorized float reference (B (A x) + b), the
rank follows the energy / size rule, and the factorized graph quantizes and runs on the int8 path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.compress.lowrank import choose_rank, factorize_graph, factorize_matrix
from edgebuild.errors import EdgebuildError
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import run_native

# float32 matmuls of different association orders: a few ulps of the activations' magnitude (~1..10 here).
TOL = 1e-4


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 48, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(48, 48, 3, padding=1, groups=48)  # grouped: never factorized
        self.fc = nn.Linear(48 * 16, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.dw(F.relu(self.conv(x))))
        return self.out(F.relu(self.fc(torch.flatten(x, 1))))


def low_rank_weights(net: Net, rank: int) -> None:
    """Give conv and fc weights exact rank `rank` plus small noise, so energy picks a known rank."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in (net.conv, net.fc):
            w = layer.weight
            rows, cols = w.shape[0], w[0].numel()
            m = torch.randn(rows, rank, generator=g) @ torch.randn(rank, cols, generator=g) / cols**0.5
            w.copy_((m + 1e-4 * torch.randn(rows, cols, generator=g)).reshape(w.shape))


@pytest.fixture
def net() -> Net:
    torch.manual_seed(0)
    n = Net().eval()
    low_rank_weights(n, 6)
    return n


def test_factorized_layers_match_their_factorized_reference(net: Net) -> None:
    x = torch.rand(1, 8, 8, 8)
    gm = torch.export.export(net, (x,)).module()
    fact, done = factorize_graph(gm, (x,), energy=0.999)
    assert {f.layer for f in done} == {"conv.weight", "fc.weight"}
    assert all(f.rank == 6 for f in done)  # the planted rank, found by the energy rule
    # The factorized float reference, written by hand from the same SVD factors.
    ca, cb = factorize_matrix(net.conv.weight.detach().reshape(48, -1), 6)
    fa, fb = factorize_matrix(net.fc.weight.detach(), 6)
    with torch.no_grad():
        h = F.conv2d(x, ca.reshape(6, 8, 3, 3), None, 2, 1)
        h = F.relu(F.conv2d(h, cb.reshape(48, 6, 1, 1), net.conv.bias))
        h = F.relu(net.dw(h))
        h = F.relu(F.linear(F.linear(torch.flatten(h, 1), fa), fb, net.fc.bias))
        ref = net.out(h)
        got = fact(x)
        assert torch.allclose(got, ref, atol=TOL, rtol=0)
        # and, rank 6 holding all but 1e-4 noise, the original model within the noise's effect
        assert torch.allclose(got, net(x), atol=1e-2, rtol=0)
    names = {n for n, _ in fact.named_parameters()}
    assert "conv.weight" not in names and "fc.weight" not in names  # the full weights are gone
    before = sum(p.numel() for p in net.parameters())
    assert sum(p.numel() for p in fact.parameters()) < before


def test_choose_rank_by_energy_and_size() -> None:
    s = torch.tensor([4.0, 2.0, 1.0, 1.0])  # energies 16, 4, 1, 1 of 22
    assert choose_rank(s, 10, 10, 16 / 22, None) == 1
    assert choose_rank(s, 10, 10, 20 / 22, None) == 2
    assert choose_rank(s, 10, 10, 1.0, None) == 4
    assert choose_rank(s, 100, 300, None, 0.5) == 37  # largest r with r (100 + 300) <= 0.5 * 100 * 300
    with pytest.raises(EdgebuildError):
        choose_rank(s, 10, 10, 1.5, None)


def test_layers_that_would_grow_are_left_alone(net: Net) -> None:
    x = torch.rand(1, 8, 8, 8)
    gm = torch.export.export(net, (x,)).module()
    fact, done = factorize_graph(gm, (x,), energy=1.0)  # full rank: A and B would hold more than W
    assert done == [] and fact is gm


def test_factorized_graph_runs_int8(net: Net) -> None:
    calib = [torch.rand(1, 8, 8, 8) for _ in range(8)]
    gm = torch.export.export(net, (calib[0],)).module()
    fact, done = factorize_graph(gm, (calib[0],), size=0.3, layers={"conv.weight", "fc.weight"})
    assert [f.layer for f in done] == [
        "conv.weight",
        "fc.weight",
    ]  # `out` would qualify too, but is not asked for
    program = lower_graph(quantize_model(fact, [(c,) for c in calib]), "lr")
    counts = program.op_counts()
    # the factorized conv is two CONV2D; the grouped (depthwise) conv stays one DEPTHWISE_CONV2D
    assert counts["CONV2D"] == 2 and counts["DEPTHWISE_CONV2D"] == 1 and counts["FULLY_CONNECTED"] == 3, (
        counts
    )
    x = calib[0].numpy()
    got = run_native(program, [x])[0].ravel()
    with torch.no_grad():
        ref = fact(calib[0]).numpy().ravel()
    cos = float(got @ ref / np.linalg.norm(got) / np.linalg.norm(ref))
    assert cos > 0.99  # int8 vs its own float graph: quantization error only
